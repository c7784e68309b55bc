#include "node/runtime/tx_index.h"

#include "node/base/assert.h"
#include "node/base/limits.h"

namespace ringchain::runtime {

tx_index::tx_index(std::size_t txs_max) : txs_max_(txs_max) {
  RC_ASSERT(txs_max_ <= limits::tx_index_txs_max);
}

void tx_index::reset(std::uint64_t height) {
  heights_.clear();
  blocks_.clear();
  first_height_ = height + 1;
  last_height_ = height;
}

void tx_index::record(std::uint64_t height, const std::vector<chain::hash>& applied) {
  // The node applies blocks in order of height, so this happens only when
  // a caller skipped a reset; the index then covers what it saw.
  if (height != last_height_ + 1) reset(height - 1);
  last_height_ = height;
  // Without room (txs_max 0) the run stays empty. A block larger than the
  // whole index (a leader configured with larger blocks than this node's
  // index) empties it: the run starts after it.
  if (txs_max_ == 0 || applied.size() > txs_max_) {
    reset(height);
    return;
  }
  if (applied.empty()) return;
  while (heights_.size() + applied.size() > txs_max_) evict_oldest();
  for (const chain::hash& h : applied) heights_.emplace(h, height);
  blocks_.push_back({height, applied});
}

void tx_index::evict_oldest() {
  RC_ASSERT(!blocks_.empty());
  const block_txs& oldest = blocks_.front();
  for (const chain::hash& h : oldest.hashes) {
    // A hash recorded twice (not possible for applied transactions, whose
    // nonces rise) keeps its first height, and leaves with that block.
    if (auto it = heights_.find(h); it != heights_.end() && it->second == oldest.height) {
      heights_.erase(it);
    }
  }
  first_height_ = oldest.height + 1;
  blocks_.pop_front();
}

std::optional<std::uint64_t> tx_index::find(const chain::hash& tx) const {
  if (auto it = heights_.find(tx); it != heights_.end()) return it->second;
  return std::nullopt;
}

}  // namespace ringchain::runtime
