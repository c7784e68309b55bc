// The latency budget of one block, from its leader's trace record: where
// its time went, and whether it met its round's deadline. The node's
// metrics and the reports (sim/report) both split blocks with split().
//
// A block's commit latency runs from its round's start to the moment the
// leader saw it durable on a quorum. It splits into phases that add up to
// exactly that latency:
//
//   build          round start -> the leader hands its own write to storage
//   then the critical path to a durable quorum, whichever came last:
//     leader_persist   the leader's own write + barrier, when its disk was
//                      the last piece of the quorum; or
//     network          send delay + round trip to the follower that
//                      completed the quorum, minus that follower's disk time
//     follower_persist that follower's receive-to-durable time (reported in
//                      its acknowledgement)
//   quorum_wait    quorum durable -> the leader marks the block committed
//
// and `apply` (commit -> applied to the leader's ledger) follows commit.
#pragma once

#include <cstddef>

#include "node/runtime/block_trace.h"

namespace ringchain::runtime {

// The phases of one block, in microseconds; they sum to commit_us.
struct phases {
  // Round start -> the leader hands its own write to storage.
  double build_us = 0;
  // The leader's own write + barrier; 0 unless its disk completed the quorum.
  double leader_persist_us = 0;
  // Send delay + round trip to the follower that completed the quorum,
  // minus that follower's disk time; 0 when the leader's disk completed it.
  double network_us = 0;
  // That follower's receive-to-durable time, from its acknowledgement.
  double follower_persist_us = 0;
  // Quorum durable -> the leader marks the block committed.
  double quorum_wait_us = 0;
  // Commit -> applied to the leader's ledger; after commit_us, not in it.
  double apply_us = 0;
  double commit_us = 0;  // round start -> committed
  double slack_us = 0;   // deadline - committed; negative when missed
  // Whether the block committed by its deadline (slack_us >= 0).
  bool deadline_met = false;
};

// Splits a block's time; `quorum` counts the leader (2 of 3 nodes, 3 of 5).
phases split(const block_record& b, std::size_t quorum);

}  // namespace ringchain::runtime
