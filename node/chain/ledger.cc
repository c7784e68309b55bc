#include "node/chain/ledger.h"

#include <cstring>

#include "node/base/assert.h"

namespace ringchain::chain {
namespace {

std::string nonce_bytes(std::uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out;
}

}  // namespace

void ledger::account(lanes& sum, std::string_view tag, std::string_view a, std::string_view b,
                     bool add) {
  const hash h = sha256({tag, nonce_bytes(a.size()), a, b});
  for (std::size_t lane = 0; lane < sum.size(); ++lane) {
    std::uint64_t v;
    std::memcpy(&v, h.data() + 8 * lane, 8);
    sum[lane] = add ? sum[lane] + v : sum[lane] - v;
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
    kv_view_.before_write(kv_, w.key());
    auto [it, inserted] = kv_.try_emplace(w.key(), w.value());
    if (!inserted) {
      account("kv", it->first, it->second, false);
      it->second = w.value();
    }
    account("kv", it->first, it->second, true);
  }
  for (const auto& [sender, nonce] : seen) {
    nonces_view_.before_write(nonces_, sender);
    auto [it, inserted] = nonces_.try_emplace(sender, nonce);
    if (!inserted) {
      account("nonce", sender, nonce_bytes(it->second), false);
      it->second = nonce;
    }
    account("nonce", sender, nonce_bytes(nonce), true);
  }
  height_ = b.header().height();
  tip_ = header_hash(b.header());
  tip_timestamp_us_ = b.header().timestamp_us();
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

hash ledger::hash_of(const lanes& sum) const {
  std::string bytes;
  for (std::uint64_t lane : sum) bytes += nonce_bytes(lane);
  return sha256({"ringchain-state-v1", nonce_bytes(height_), bytes});
}

hash ledger::state_hash() const {
  return hash_of(sum_);
}

ledger::summary ledger::summarize() const {
  return {height_, tip_, tip_timestamp_us_, state_hash()};
}

// ------------------------------------------------------------ snapshots --

ledger::summary ledger::begin_export() {
  kv_view_.begin();
  nonces_view_.begin();
  summary s = summarize();
#ifdef RINGCHAIN_PLANTED_BUGS
  if (drop_nonces_) {
    lanes kv_only{};
    for (const auto& [k, v] : kv_) account(kv_only, "kv", k, v, true);
    s.state_hash = hash_of(kv_only);
  }
#endif
  return s;
}

bool ledger::export_part(std::uint64_t bytes_max, chainpb::StatePart* out) {
  RC_ASSERT_MSG(exporting(), "export_part() needs begin_export()");
  std::uint64_t room = bytes_max;
  if (!kv_view_.done()) {
    kv_view_.read(kv_, room, [&](const std::string& k, const std::string& v) {
      chainpb::KvWrite* w = out->add_kv();
      w->set_key(k);
      w->set_value(v);
      const std::uint64_t n = k.size() + v.size() + 8;
      room -= std::min(room, n);
      return n;
    });
    if (!kv_view_.done()) return true;
  }
#ifdef RINGCHAIN_PLANTED_BUGS
  if (drop_nonces_) return false;
#endif
  return !nonces_view_.read(nonces_, room, [&](const std::string& sender, std::uint64_t nonce) {
    chainpb::SenderNonce* n = out->add_nonces();
    n->set_sender(sender);
    n->set_nonce(nonce);
    return std::uint64_t{sender.size() + 16};
  });
}

void ledger::end_export() {
  kv_view_.end();
  nonces_view_.end();
}

base::status ledger::import_part(const chainpb::StatePart& part) {
  RC_ASSERT_MSG(height_ == 0, "import into a ledger that applied nothing");
  for (const chainpb::KvWrite& w : part.kv()) {
    if (!kv_.try_emplace(w.key(), w.value()).second) {
      return base::fail("the snapshot holds a key twice");
    }
    account("kv", w.key(), w.value(), true);
  }
  for (const chainpb::SenderNonce& n : part.nonces()) {
    if (!nonces_.try_emplace(n.sender(), n.nonce()).second) {
      return base::fail("the snapshot holds a sender's nonce twice");
    }
    account("nonce", n.sender(), nonce_bytes(n.nonce()), true);
  }
  return {};
}

base::status ledger::finish_import(const summary& s) {
  RC_ASSERT_MSG(height_ == 0, "import into a ledger that applied nothing");
  height_ = s.height;
  tip_ = s.tip;
  tip_timestamp_us_ = s.tip_timestamp_us;
  if (state_hash() != s.state_hash) {
    return base::fail("the state loaded from the snapshot does not have the snapshot's state hash");
  }
  return {};
}

}  // namespace ringchain::chain
