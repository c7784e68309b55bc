#include "node/chain/ledger.h"

#include <cstring>

namespace ringchain::chain {
namespace {

std::string nonce_bytes(std::uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out;
}

}  // namespace

void ledger::account(std::string_view tag, std::string_view a, std::string_view b, bool add) {
  const hash h = sha256({tag, nonce_bytes(a.size()), a, b});
  for (std::size_t lane = 0; lane < sum_.size(); ++lane) {
    std::uint64_t v;
    std::memcpy(&v, h.data() + 8 * lane, 8);
    sum_[lane] = add ? sum_[lane] + v : sum_[lane] - v;
  }
}

base::status ledger::apply(const block& b, std::vector<int>* skipped) {
  if (block_error e = check_link(b, height_ + 1, tip_); e != block_error::none) {
    return base::fail("block " + std::to_string(b.header().height()) + ": " + to_string(e));
  }
  // Nonces must rise per sender, within the block too; a transaction whose
  // nonce does not is skipped.
  std::unordered_map<std::string, std::uint64_t> seen;
  std::vector<int> skip;
  for (int i = 0; i < b.txs_size(); ++i) {
    const auto& tx = b.txs(i);
    auto it = seen.find(tx.sender());
    const std::uint64_t last = it != seen.end() ? it->second : last_nonce(tx.sender());
    if (tx.nonce() <= last) {
      skip.push_back(i);
      continue;
    }
    seen[tx.sender()] = tx.nonce();
  }
  std::size_t next_skip = 0;
  for (int i = 0; i < b.txs_size(); ++i) {
    if (next_skip < skip.size() && skip[next_skip] == i) {
      ++next_skip;
      continue;
    }
    const auto& tx = b.txs(i);
    chainpb::KvWrite w;
    w.ParseFromString(tx.payload());
#ifdef RINGCHAIN_PLANTED_BUGS
    if (!value_suffix_.empty()) w.mutable_value()->append(value_suffix_);
#endif
    auto [it, inserted] = kv_.try_emplace(w.key(), w.value());
    if (!inserted) {
      account("kv", it->first, it->second, false);
      it->second = w.value();
    }
    account("kv", it->first, it->second, true);
  }
  for (const auto& [sender, nonce] : seen) {
    auto [it, inserted] = nonces_.try_emplace(sender, nonce);
    if (!inserted) {
      account("nonce", sender, nonce_bytes(it->second), false);
      it->second = nonce;
    }
    account("nonce", sender, nonce_bytes(nonce), true);
  }
  height_ = b.header().height();
  tip_ = header_hash(b.header());
  if (skipped != nullptr) *skipped = std::move(skip);
  return {};
}

std::uint64_t ledger::last_nonce(const std::string& sender) const {
  auto it = nonces_.find(sender);
  return it == nonces_.end() ? 0 : it->second;
}

const std::string* ledger::get(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

hash ledger::state_hash() const {
  std::string sum;
  for (std::uint64_t lane : sum_) sum += nonce_bytes(lane);
  return sha256({"ringchain-state-v1", nonce_bytes(height_), sum});
}

}  // namespace ringchain::chain
