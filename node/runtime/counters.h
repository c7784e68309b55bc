// What the node's runtime counted, exported by its status and metrics.
#pragma once

#include <cstdint>

#include "node/base/counters.h"

namespace ringchain::runtime {

// What the node's runtime counts; one counter_set slot each.
enum class counter : std::uint8_t {
  // Blocks the leader proposed to the log.
  blocks_proposed,
  // Blocks the leader cut but the core refused (too much uncommitted).
  blocks_refused_busy,
  // Committed blocks applied to the ledger, and their transactions.
  blocks_applied,
  txs_applied,
  // Transactions of committed blocks skipped because their nonce no longer
  // rose (a leader change reordered one sender's transactions).
  txs_skipped_stale_nonce,
  // Submitted transactions refused: bad signature, replay, full mempool.
  txs_refused,
  // Times the leader this node knows of changed (to another node, or to
  // none).
  leader_changes,
  count_,
};
// The counter's name ("blocks_applied"), as status and metrics export it.
const char* to_string(counter c);
using counters = base::counter_set<counter>;

}  // namespace ringchain::runtime
