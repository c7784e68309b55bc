// Closed-loop client load for the cluster benchmark: many client
// connections on one thread, each with one submit outstanding at a time,
// from pre-signed transactions.
//
// Each connection has its own sender key and sends its batches in nonce
// order, so connections never conflict. What the nodes answer is counted
// as it is: committed transactions, refusals by reason, batches resent
// after "retry later" (a busy verifier or a full mempool), redirects to a
// new leader, batches that got no answer. Nothing is hidden as a failure
// of the whole run.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "proto/node.pb.h"

namespace ringchain::bench {

// Pre-signed batches: one list per connection, in nonce order.
struct load_plan {
  std::vector<std::vector<nodepb::SubmitRequest>> batches;
  // Transactions in one batch.
  std::size_t batch_txs = 0;
};

// Signs `txs_total` transactions of `tx_bytes` bytes (rounded up to whole
// batches), spread evenly over `connections`, `batch_txs` a batch.
load_plan presign(std::size_t connections, std::size_t txs_total, std::size_t batch_txs,
                  std::size_t tx_bytes);

// How a load went.
struct load_outcome {
  // Transactions sent (each once, however often their batch was resent)
  // and answered COMMITTED.
  std::uint64_t sent_txs = 0, committed_txs = 0;
  // Transactions not committed, by what happened: the node's refusal
  // reason, "no answer within N s", "connection lost", "not sent (time
  // limit)".
  std::map<std::string, std::uint64_t> lost;
  // Batches resent after a "retry later" refusal, and after a redirect
  // (NOT_LEADER) or a lost connection to another node.
  std::uint64_t retries = 0, redirects = 0;
  // Connections refused or dropped when opening.
  std::uint64_t connect_failures = 0;
  // Milliseconds from a batch's first send to its final answer, for every
  // batch with a committed transaction.
  std::vector<double> batch_ms;
  // Wall-clock seconds the load ran.
  double seconds = 0;
};

// Bounds of one load.
struct load_limits {
  // Batches of each connection to send (a prefix of the plan's).
  std::size_t batches_per_connection = 0;
  // Giving up on one batch's answer, and on the whole load.
  std::chrono::milliseconds answer_timeout{60'000};
  std::chrono::milliseconds total_timeout{600'000};
};

// Runs `plan` against the cluster whose client addresses are `nodes`,
// starting every connection at nodes[first]; returns when every batch was
// answered or given up.
load_outcome drive(const std::vector<std::string>& nodes, std::size_t first, const load_plan& plan,
                   const load_limits& limits);

}  // namespace ringchain::bench
