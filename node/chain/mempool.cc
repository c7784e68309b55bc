#include "node/chain/mempool.h"

namespace ringchain::chain {

std::string mempool::key_of(const transaction& tx) {
  std::string k = tx.sender();
  for (int i = 0; i < 8; ++i) k.push_back(static_cast<char>((tx.nonce() >> (8 * i)) & 0xff));
  return k;
}

tx_error mempool::add(transaction tx, const ledger& l) {
  if (tx.nonce() <= l.last_nonce(tx.sender())) return tx_error::replay;
  std::string key = key_of(tx);
  if (pending_.count(key) != 0) return tx_error::replay;
  const std::uint64_t size = static_cast<std::uint64_t>(tx.ByteSizeLong());
  if (queue_.size() >= txs_max_ || bytes_ + size > bytes_max_) return tx_error::mempool_full;
  pending_.insert(std::move(key));
  bytes_ += size;
  queue_.push_back(std::move(tx));
  return tx_error::none;
}

std::vector<transaction> mempool::take(std::size_t txs_max, std::uint64_t bytes_max,
                                       const ledger& l) {
  std::vector<transaction> out;
  std::uint64_t bytes = 0;
  while (!queue_.empty() && out.size() < txs_max) {
    transaction& tx = queue_.front();
    const std::uint64_t size = static_cast<std::uint64_t>(tx.ByteSizeLong());
    const bool stale = tx.nonce() <= l.last_nonce(tx.sender());
    if (!stale && !out.empty() && bytes + size > bytes_max) break;
    pending_.erase(key_of(tx));
    bytes_ -= size;
    if (!stale) {
      bytes += size;
      out.push_back(std::move(tx));
    }
    queue_.pop_front();
  }
  return out;
}

}  // namespace ringchain::chain
