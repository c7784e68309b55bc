#include "sim/dst/load.h"

#include <mutex>
#include <thread>

#include "node/base/assert.h"

namespace ringchain::dst {

chain::tx_error signed_pool::verify(const chain::transaction& tx) const {
  const auto it = by_signature.find(tx.signature());
  if (it != by_signature.end()) {
    const chain::transaction& known = txs[it->second];
    if (tx.sender() == known.sender() && tx.nonce() == known.nonce() &&
        tx.payload() == known.payload()) {
      return chain::tx_error::none;
    }
  }
  return chain::verify(tx);
}

namespace {

constexpr std::size_t senders = 64;

// The senders' keys, made once; callers hold tx_pool's lock.
const std::vector<chain::key_pair>& sender_keys() {
  static std::vector<chain::key_pair> keys;
  while (keys.size() < senders) {
    std::string seed = "dst-sender-" + std::to_string(keys.size());
    seed.resize(32, '.');
    keys.push_back(chain::key_pair_from_seed(seed));
  }
  return keys;
}

// Signs transactions [from, n) of `pool`. Signing and verifying are the
// cost of a large pool (50,000 transactions for 100 s at 500 tx/s): two
// threads share them. Signatures are deterministic, so the pool is the
// same however it is split.
void sign(signed_pool& pool, std::size_t from, std::size_t n, std::uint32_t tx_bytes) {
  const std::vector<chain::key_pair>& keys = sender_keys();
  const std::string value(tx_bytes > 120 ? tx_bytes - 120 : 1, 'v');
  pool.txs.resize(n);
  auto sign_range = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const std::uint64_t nonce = i / senders + 1;
      chain::transaction& tx = pool.txs[i];
      tx = chain::make_transaction(keys[i % senders], nonce, "k" + std::to_string(i % 1000), value);
      RC_ASSERT_MSG(chain::verify(tx) == chain::tx_error::none,
                    "a transaction the simulator signed does not verify");
    }
  };
  const std::size_t middle = from + (n - from) / 2;
  std::thread helper(sign_range, middle, n);
  sign_range(from, middle);
  helper.join();
  for (std::size_t i = from; i < n; ++i) pool.by_signature.emplace(pool.txs[i].signature(), i);
}

}  // namespace

std::shared_ptr<const signed_pool> tx_pool(std::size_t n, std::uint32_t tx_bytes) {
  static std::mutex mu;
  static std::map<std::uint32_t, std::shared_ptr<const signed_pool>> pools;
  std::lock_guard<std::mutex> lock(mu);
  auto& pool = pools[tx_bytes];
  if (pool && pool->txs.size() >= n) return pool;
  auto next = std::make_shared<signed_pool>();
  if (pool) *next = *pool;
  sign(*next, next->txs.size(), n, tx_bytes);
  pool = next;
  return pool;
}

sim_client::sim_client(sim_core& core, const load_settings& s, const network_profile& network,
                       std::shared_ptr<const signed_pool> pool, client_hooks hooks)
    : core_(core),
      settings_(s),
      network_(network),
      pool_(std::move(pool)),
      hooks_(std::move(hooks)) {}

// The client submits the next transactions to the node it takes for the
// leader; a refusal naming the leader redirects it, silence for a second
// makes it try another node.
void sim_client::round() {
  event_queue& q = core_.events;
  const time_ns now = q.now();
  q.schedule(world_slot, now + settings_.submit_interval_ms * ms_ns, [this] { round(); });
  std::uint32_t count = settings_.txs_per_submit;
  if (settings_.submit_tps > 0) {
    owed_ += settings_.submit_tps * settings_.submit_interval_ms / 1000.0;
    count = std::min(count, static_cast<std::uint32_t>(owed_));
    owed_ -= count;
  }
  if (count == 0 || next_tx_ + count > pool_->txs.size()) return;
  if (last_reply_ + s_ns < now) {
    target_ = 1 + core_.random.below(settings_.nodes);
    last_reply_ = now;
  }
  nodepb::ClientRequest req;
  req.set_id(++gen_);
  std::vector<std::string> hashes;
  for (std::uint32_t k = 0; k < count; ++k) {
    const chain::transaction& tx = pool_->txs[next_tx_++];
    hashes.emplace_back(chain::as_bytes(chain::tx_hash(tx)));
    *req.mutable_submit()->add_txs() = tx;
  }
  const auto to = static_cast<std::uint32_t>(target_ - 1);
  if (hooks_.node(to) == nullptr) return;
  const time_ns d = network_.local.sample_ns(core_.random);
  q.schedule(to, now + d, [this, to, req = std::move(req), hashes = std::move(hashes)]() mutable {
    core_.cpu.submitted(to, static_cast<std::size_t>(req.submit().txs_size()));
    hooks_.node(to)->submit(std::move(req), [this, to, hashes](const nodepb::ClientResponse& r) {
      const time_ns back = core_.cpu.now(to) + network_.local.sample_ns(core_.random);
      core_.events.schedule(world_slot, back, [this, r, hashes] { reply(r, hashes); });
    });
    hooks_.after_event(to);
  });
}

void sim_client::reply(const nodepb::ClientResponse& r, const std::vector<std::string>& hashes) {
  last_reply_ = core_.events.now();
  core_.hash.add(0x63);
  for (int k = 0; k < r.submit().results_size() && k < static_cast<int>(hashes.size()); ++k) {
    const nodepb::TxResult& res = r.submit().results(k);
    core_.hash.add(static_cast<std::uint64_t>(res.code()));
    if (res.code() == nodepb::TxResult::COMMITTED) {
      acked_[hashes[static_cast<std::size_t>(k)]] = res.height();
    } else if (res.code() == nodepb::TxResult::NOT_LEADER) {
      // leader_client reads "node<id>" in the simulator.
      const std::string& l = r.submit().leader_client();
      target_ = l.size() > 4 ? std::stoull(l.substr(4)) : 1 + core_.random.below(settings_.nodes);
    }
  }
}

}  // namespace ringchain::dst
