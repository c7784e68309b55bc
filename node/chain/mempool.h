// Transactions waiting for a block, bounded in count and bytes.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>
#include <vector>

#include "node/chain/ledger.h"

namespace ringchain::chain {

// The node's queue of verified transactions waiting for a block, in arrival
// order. A (sender, nonce) pair waits at most once, and the queue is bounded by
// transactions and by their encoded bytes (limits::mempool_txs_max and
// mempool_bytes_max bound the configured values).
class mempool {
 public:
  // An empty mempool that holds at most `txs_max` transactions and `bytes_max`
  // encoded bytes.
  mempool(std::size_t txs_max, std::uint64_t bytes_max)
      : txs_max_(txs_max), bytes_max_(bytes_max) {}

  // Queues a verified transaction. Refuses a replay (a nonce the ledger
  // has passed, or one already waiting) and, when full, asks the client to
  // back off.
  tx_error add(transaction tx, const ledger& l);

  // Takes transactions in arrival order for the next block, at most
  // `txs_max` and `bytes_max` of encoded transactions (a first transaction
  // above `bytes_max` still goes alone), dropping any whose nonce the
  // ledger has passed meanwhile.
  std::vector<transaction> take(std::size_t txs_max, std::uint64_t bytes_max, const ledger& l);

  // Transactions waiting.
  std::size_t size() const { return queue_.size(); }
  // Encoded bytes of the transactions waiting.
  std::uint64_t bytes() const { return bytes_; }

 private:
  static std::string key_of(const transaction& tx);

  std::size_t txs_max_;
  std::uint64_t bytes_max_;
  std::deque<transaction> queue_;
  std::unordered_set<std::string> pending_;
  std::uint64_t bytes_ = 0;
};

}  // namespace ringchain::chain
