// Latency-budget arithmetic over the leader's block trace: where each
// block's time went, and whether it met its round's deadline.
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

#include <cstdint>
#include <string>
#include <vector>

namespace ringchain::report {

// One line of a node's trace.jsonl (docs/ARCHITECTURE.md, "The block trace").
struct block_record {
  std::uint64_t node = 0, index = 0, height = 0, term = 0, round = 0, txs = 0, bytes = 0;
  std::uint64_t round_start_us = 0, cut_us = 0, write_submitted_us = 0, barrier_done_us = 0;
  std::uint64_t committed_us = 0, applied_us = 0, deadline_us = 0;
  struct follower {
    std::uint64_t id = 0, sent_us = 0, acked_us = 0, persist_us = 0;
  };
  std::vector<follower> followers;
};

// Parses one trace line; false (and *error set) when it is not one.
bool parse_block_record(const std::string& line, block_record* out, std::string* error);

// The phases of one block, in microseconds; they sum to commit_us.
struct phases {
  double build_us = 0;
  double leader_persist_us = 0;
  double network_us = 0;
  double follower_persist_us = 0;
  double quorum_wait_us = 0;
  double apply_us = 0;
  double commit_us = 0;  // round start -> committed
  double slack_us = 0;   // deadline - committed; negative when missed
  bool deadline_met = false;
};

// Splits a block's time; `quorum` counts the leader (2 of 3 nodes, 3 of 5).
phases split(const block_record& b, std::size_t quorum);

// The p-th percentile by nearest rank: the smallest value with at least p%
// of the values at or below it. 0 for no values.
double percentile(std::vector<double> values, double p);

// What a set of blocks adds up to.
struct summary {
  std::size_t blocks = 0;
  std::uint64_t txs = 0;
  double seconds = 0;  // first round start -> last commit
  double txs_per_s = 0;
  double deadline_met_ratio = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  double slack_p50_ms = 0, slack_p1_ms = 0;  // typical slack, and the worst 1%
  phases mean;                               // mean of each phase over the blocks
};

summary summarize(const std::vector<block_record>& blocks, std::size_t quorum);

}  // namespace ringchain::report
