// Latency-budget arithmetic over the leaders' block traces: percentiles
// and summaries of many blocks. The split of one block's time into phases
// (phases, split) is the node's own (node/runtime/latency_budget.h), so its
// metrics and these reports share one definition.
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

#include "node/runtime/block_trace.h"
#include "node/runtime/latency_budget.h"

namespace ringchain::report {

using runtime::block_record;
using runtime::phases;
using runtime::split;

// `v` with `decimals` digits after the point ("%.*f"), as the reports
// print figures.
std::string fixed(double v, int decimals);

// The p-th percentile by nearest rank: the smallest value with at least p%
// of the values at or below it. 0 for no values.
double percentile(std::vector<double> values, double p);

// What a set of blocks adds up to.
struct summary {
  // Blocks summarized.
  std::size_t blocks = 0;
  // Their transactions.
  std::uint64_t txs = 0;
  double seconds = 0;  // first round start -> last commit
  // txs over seconds; 0 when seconds is.
  double txs_per_s = 0;
  // The share of blocks that met their deadline, from 0 to 1.
  double deadline_met_ratio = 0;
  // Percentiles of the commit latency (round start -> committed), and its
  // maximum.
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  double slack_p50_ms = 0, slack_p1_ms = 0;  // typical slack, and the worst 1%
  phases mean;                               // mean of each phase over the blocks
  // The mean time of the leader's own write + barriers (write submitted to
  // barrier done), whether or not it was on the block's critical path: the
  // cost of a block's persistence, which `mean.leader_persist_us` counts
  // only when the leader's disk decided the commit.
  double leader_write_us = 0;
};

// Splits every block (`quorum` counts the leader) and adds them up; all
// zeros for no blocks.
summary summarize(const std::vector<block_record>& blocks, std::size_t quorum);

}  // namespace ringchain::report
