// The index of recent transactions: for each transaction that the newest
// applied blocks applied, the height of its block. It answers clients who
// ask whether a transaction committed (a lookup by hash), typically after
// an ambiguous answer such as "leadership lost before commit".
//
// The index covers a run of consecutive heights, from the first block the
// node applied since it started (or since it installed a snapshot) to the
// last. It is bounded by a count of transactions: when a new block would
// pass the bound, the oldest blocks leave, whole, and the run starts after
// them. A hash not found is therefore "not among heights A..B", never "not
// committed": the node does not know about heights outside the run.
//
// Only applied transactions are indexed. A transaction skipped for a stale
// nonce is in its block but did not commit there; a transaction's hash is
// applied at most once (its nonce must rise), so each hash has one height.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "node/chain/crypto.h"

namespace ringchain::runtime {

// The node's index of recent transactions (see the top of this file). The
// node records every block it applies and resets the index when its state
// jumps (a snapshot installed from the leader); the client service reads
// it to answer lookups by hash.
class tx_index {
 public:
  // An index of at most `txs_max` transactions (0: none; every lookup
  // then finds nothing and the run of heights is empty) whose state is at
  // height 0.
  explicit tx_index(std::size_t txs_max);

  // The state is now at `height` without the blocks up to it having been
  // recorded (at start, after a snapshot was loaded; after a snapshot was
  // installed): forgets every transaction, and the run starts after it.
  void reset(std::uint64_t height);
  // The block at `height` was applied, with the transactions whose hashes
  // are `applied` (those skipped left out). A height that does not follow
  // the run's last starts a new run.
  void record(std::uint64_t height, const std::vector<chain::hash>& applied);

  // The height of the block that applied the transaction, if the index
  // holds it.
  std::optional<std::uint64_t> find(const chain::hash& tx) const;
  // The first height of the run (above last_height() when the run is
  // empty).
  std::uint64_t first_height() const { return first_height_; }
  // The last height of the run: the last block recorded or the height of
  // the last reset.
  std::uint64_t last_height() const { return last_height_; }
  // Transactions held.
  std::size_t size() const { return heights_.size(); }

 private:
  // Hashes are uniformly distributed: their first bytes make a good hash.
  struct prefix_hasher {
    std::size_t operator()(const chain::hash& h) const noexcept {
      std::size_t v = 0;
      std::memcpy(&v, h.data(), sizeof v);
      return v;
    }
  };
  // One recorded block that applied transactions, in the order of heights.
  struct block_txs {
    std::uint64_t height = 0;
    std::vector<chain::hash> hashes;
  };
  void evict_oldest();

  std::size_t txs_max_;
  std::uint64_t first_height_ = 1;
  std::uint64_t last_height_ = 0;
  // Transaction hash -> height, for every transaction of `blocks_`.
  std::unordered_map<chain::hash, std::uint64_t, prefix_hasher> heights_;
  // The blocks held, oldest first (blocks without applied transactions are
  // covered by the run but not kept).
  std::deque<block_txs> blocks_;
};

}  // namespace ringchain::runtime
