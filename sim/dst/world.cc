// The simulated world: event queue, clock, network, disks, clients, faults
// and checkers around N real nodes. dst.h describes a run.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "node/base/assert.h"
#include "node/base/limits.h"
#include "node/chain/block.h"
#include "node/chain/transaction.h"
#include "node/runtime/node.h"
#include "node/storage/recovery.h"
#include "sim/dst/dst.h"

namespace ringchain::dst {

namespace fs = std::filesystem;

namespace {

using time_ns = std::uint64_t;
constexpr time_ns ms_ns = 1'000'000;
constexpr time_ns s_ns = 1'000'000'000;
// Simulated wall clock at time 0: 2026-01-01T00:00:00Z.
constexpr std::uint64_t epoch_us = 1'767'225'600'000'000ULL;
constexpr std::uint32_t world_slot = ~0U;

// ------------------------------------------------------ signed load --

// Transactions for the simulated clients, signed and verified once per
// process and shared by every run (a run is a fresh cluster, so reusing them
// is not a replay). Their content depends only on their number and size.
struct signed_pool {
  std::vector<chain::transaction> txs;
  // Each transaction's index by its signature; every one verified.
  std::unordered_map<std::string, std::size_t> by_signature;

  // The nodes' signature check: a transaction of the pool, unchanged, was
  // verified when the pool was made; anything else is verified now.
  chain::tx_error verify(const chain::transaction& tx) const {
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
};

std::shared_ptr<const signed_pool> tx_pool(std::size_t n, std::uint32_t tx_bytes) {
  static std::mutex mu;
  static std::map<std::uint32_t, std::shared_ptr<const signed_pool>> pools;
  constexpr std::size_t senders = 64;
  std::lock_guard<std::mutex> lock(mu);
  auto& pool = pools[tx_bytes];
  if (pool && pool->txs.size() >= n) return pool;
  auto next = std::make_shared<signed_pool>();
  if (pool) *next = *pool;
  static std::vector<chain::key_pair> keys;
  while (keys.size() < senders) {
    std::string seed = "dst-sender-" + std::to_string(keys.size());
    seed.resize(32, '.');
    keys.push_back(chain::key_pair_from_seed(seed));
  }
  const std::string value(tx_bytes > 120 ? tx_bytes - 120 : 1, 'v');
  // Signing and verifying are the cost of a large pool (50,000 transactions
  // for 100 s at 500 tx/s): two threads share them. Signatures are
  // deterministic, so the pool is the same however it is split.
  const std::size_t from = next->txs.size();
  next->txs.resize(n);
  auto sign_range = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const std::uint64_t nonce = i / senders + 1;
      chain::transaction& tx = next->txs[i];
      tx = chain::make_transaction(keys[i % senders], nonce, "k" + std::to_string(i % 1000), value);
      RC_ASSERT_MSG(chain::verify(tx) == chain::tx_error::none,
                    "a transaction the simulator signed does not verify");
    }
  };
  const std::size_t middle = from + (n - from) / 2;
  std::thread helper(sign_range, middle, n);
  sign_range(from, middle);
  helper.join();
  for (std::size_t i = from; i < n; ++i) next->by_signature.emplace(next->txs[i].signature(), i);
  pool = next;
  return pool;
}

// FNV-1a over 64-bit words: the event trace's hash.
struct trace_hash {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  void add(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 0x100000001b3ULL;
    }
  }
};

class world;

// The state the simulator's reactor keeps in a timer.
struct timer_state : io::detail::backend_state {
  std::uint64_t generation = 0;
};

// A node's reactor: timers on the simulated clock, durable writes on the
// simulated disk, no sockets (peers and clients go through the world).
class sim_reactor final : public io::reactor {
 public:
  sim_reactor(world& w, std::uint32_t slot) : world_(w), slot_(slot) {}
  io::backend kind() const override { return io::backend::sim; }
  std::string describe() const override { return "sim (deterministic simulator)"; }
  void run_once(std::chrono::microseconds) override {
    RC_ASSERT_MSG(false, "the simulator drives its nodes; run_once is never called");
  }
  std::uint64_t now_us() const override;
  std::uint64_t wall_us() const override { return epoch_us + now_us(); }
  void arm(io::timer& t, std::chrono::nanoseconds after) override;
  void disarm(io::timer& t) override {
    t.armed_ = false;
    if (t.state_) ++static_cast<timer_state&>(*t.state_).generation;
  }
  void submit(io::file_write& w) override;
  void listen(io::listener&, int) override { no_sockets(); }
  void open(io::stream&, int) override { no_sockets(); }
  void connect(io::stream&, const sockaddr_in&) override { no_sockets(); }
  void close(io::stream&) override { no_sockets(); }
  io::counters& counts() { return counters_; }

 protected:
  void wants_flush(io::stream&) override { no_sockets(); }

 private:
  [[noreturn]] static void no_sockets() {
    RC_ASSERT_MSG(false, "a simulated node opens no sockets (node_env::transport is set)");
    __builtin_unreachable();
  }
  world& world_;
  std::uint32_t slot_;
};

class sim_transport final : public runtime::peer_transport {
 public:
  sim_transport(world& w, std::uint32_t slot) : world_(w), slot_(slot) {}
  void send(const core::message& m) override;

 private:
  world& world_;
  std::uint32_t slot_;
};

// A completed write on a node's disk, kept to corrupt later.
struct write_record {
  std::string path;
  std::uint64_t offset = 0, bytes = 0;
};

struct slot_state {
  std::uint64_t id = 0;
  runtime::node_config cfg;
  std::unique_ptr<sim_reactor> reactor;
  std::unique_ptr<sim_transport> transport;
  std::unique_ptr<runtime::node> node;  // null while down
  std::uint32_t incarnation = 0;
  bool lost = false;  // refused to start after a planted corruption
  bool restart_pending = false;
  time_ns paused_until = 0;
  // Disk.
  io::file_write* in_flight = nullptr;
  bool fail_next_barrier = false;
  bool full = false;
  bool disk_fault_fired = false;  // a stop is expected
  bool crash_in_next_write = false;
  std::vector<write_record> writes;
  time_ns egress_free = 0;
  // Checkers: each entry's term and fingerprint, as last checked.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> mirror;
  std::uint64_t checked_commit = 0, checked_height = 0, led_term = 0;
};

struct event {
  time_ns at;
  std::uint64_t seq;
  std::uint32_t slot;
  std::uint32_t incarnation;
  std::function<void()> fn;
  bool operator>(const event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

struct violation_found {
  std::string what;
};

class world {
 public:
  explicit world(const options& o);
  ~world();
  result run();

  time_ns now() const { return now_; }
  void submit_write(std::uint32_t slot, io::file_write& w);
  void send_message(std::uint32_t from, const core::message& m);
  void schedule(std::uint32_t slot, time_ns at, std::function<void()> fn);
  // What the node's loop does after each reactor callback; then checks.
  void after_event(std::uint32_t i);

 private:
  // Nodes.
  void start_node(std::uint32_t i, bool first);
  void crash(std::uint32_t i, const char* why);
  void crash_and_restart(std::uint32_t i, const char* why);
  void on_stopped(std::uint32_t i);
  void complete_write(std::uint32_t i, io::file_write& w);
  void corrupt(std::uint32_t i);
  // Faults.
  void schedule_fault(const std::string& kind, double per_s);
  void inject(const std::string& kind);
  void cut(std::uint32_t from, std::uint32_t to, int delta) { cuts_[from * n_ + to] += delta; }
  std::uint32_t random_up_node();
  std::uint32_t leader_slot() const;
  void heal();
  // Clients.
  void client_round();
  void client_reply(const nodepb::ClientResponse& r, const std::vector<std::string>& hashes);
  // Checkers.
  void check_node(std::uint32_t i);
  void check_log(slot_state& s);
  void probe();
  void check_liveness();
  void check_acked();
  std::string cluster_state() const;
  [[noreturn]] void fail(const std::string& what) { throw violation_found{what}; }
  void note(const std::string& what);

  options o_;
  std::uint32_t n_;
  rng rng_;
  fault_mix mix_;
  fs::path dir_;
  std::vector<slot_state> slots_;
  std::priority_queue<event, std::vector<event>, std::greater<>> queue_;
  time_ns now_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t events_ = 0;
  trace_hash hash_;
  bool faults_on_ = true;
  std::uint64_t fault_epoch_ = 0;
  std::vector<int> cuts_;              // n x n: > 0 when the directed link is cut
  std::vector<time_ns> clogs_;         // n x n: extra delay
  std::vector<time_ns> last_arrival_;  // n x n: for links that keep order
  std::map<std::string, std::uint64_t> injected_;
  // Load.
  std::shared_ptr<const signed_pool> pool_;
  std::size_t next_tx_ = 0;
  std::uint64_t client_target_ = 1;
  std::uint64_t client_gen_ = 0;
  time_ns client_last_reply_ = 0;
  std::map<std::string, std::uint64_t> acked_;  // tx hash -> height
  // Checkers.
  std::map<std::uint64_t, std::uint64_t> leaders_;  // term -> node
  struct fingerprint {
    std::uint64_t data, prev_term;
  };
  std::map<std::pair<std::uint64_t, std::uint64_t>, fingerprint> entries_;  // (index, term)
  std::vector<std::pair<std::uint64_t, std::uint64_t>> committed_;          // term, fingerprint
  std::vector<std::uint64_t> commit_terms_;
  std::map<std::uint64_t, std::pair<chain::hash, chain::hash>> chain_;  // height -> tip, state
  time_ns heal_at_ = 0;
  time_ns live_by_ = 0;
  time_ns live_at_ = 0;
  time_ns end_by_ = 0;
  std::uint64_t block_ms_ = 0;  // the least time between blocks
  bool done_ = false;
};

// ------------------------------------------------------------ reactor --

std::uint64_t sim_reactor::now_us() const {
  return world_.now() / 1000;
}

void sim_reactor::arm(io::timer& t, std::chrono::nanoseconds after) {
  if (!t.state_) t.state_ = std::make_unique<timer_state>();
  auto& st = static_cast<timer_state&>(*t.state_);
  const std::uint64_t gen = ++st.generation;
  t.armed_ = true;
  ++counters_.submitted[static_cast<std::size_t>(io::op_kind::timeout)];
  world_.schedule(slot_,
                  world_.now() + static_cast<time_ns>(std::max<std::int64_t>(after.count(), 0)),
                  [this, &t, &st, gen] {
                    if (!t.armed_ || st.generation != gen) return;
                    t.armed_ = false;
                    ++counters_.completed[static_cast<std::size_t>(io::op_kind::timeout)];
                    t.on_fire_();
                    world_.after_event(slot_);
                  });
}

void sim_reactor::submit(io::file_write& w) {
  RC_ASSERT_MSG(!w.busy_, "a file_write is reused before its on_done");
  w.busy_ = true;
  ++counters_.submitted[static_cast<std::size_t>(io::op_kind::write)];
  world_.submit_write(slot_, w);
}

void sim_transport::send(const core::message& m) {
  world_.send_message(slot_, m);
}

// -------------------------------------------------------------- world --

world::world(const options& o)
    : o_(o), n_(static_cast<std::uint32_t>(o.nodes)), rng_(o.seed * 0x9e3779b97f4a7c15ULL + 1) {
  mix_ = o.swarm ? swarm_faults(o.seed) : o.faults;
  if (o_.network.name.empty()) find_network_profile("same_rack", &o_.network);
  if (o_.disk.name.empty()) {
    find_disk_profile(mix_.slow_disks ? (o.seed % 2 ? "consumer_ssd" : "spinning") : "this_machine",
                      &o_.disk);
  }
  static std::atomic<std::uint64_t> runs{0};
  dir_ = o.work_dir / ("seed-" + std::to_string(o.seed) + "-" + std::to_string(::getpid()) + "-" +
                       std::to_string(runs++));
  cuts_.assign(n_ * n_, 0);
  clogs_.assign(n_ * n_, 0);
  last_arrival_.assign(n_ * n_, 0);
  if (o_.submit_interval_ms == 0) o_.submit_interval_ms = o_.round_interval_ms;
  // A block needs a round, and without empty blocks a submit too.
  block_ms_ = o_.empty_blocks ? o_.round_interval_ms
                              : std::max(o_.round_interval_ms, o_.submit_interval_ms);
  // Load for the longest run: the safety phase, the liveness bound, and
  // the time allowed after it for the chain to reach `blocks`.
  const double run_ms = o.run_for_s > 0 ? o.run_for_s * 1000
                                        : static_cast<double>(o.blocks * 4 * block_ms_ + 10'000) +
                                              o.liveness_bound_s * 1000;
  const auto submits = static_cast<std::uint64_t>(run_ms / o_.submit_interval_ms) + 1;
  pool_ = tx_pool(submits * o.txs_per_submit, o.tx_bytes);
}

world::~world() {
  for (auto& s : slots_) s.node.reset();
  while (!queue_.empty()) queue_.pop();
  if (!o_.keep_files) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

void world::schedule(std::uint32_t slot, time_ns at, std::function<void()> fn) {
  const std::uint32_t inc = slot == world_slot ? 0 : slots_[slot].incarnation;
  queue_.push({at, ++seq_, slot, inc, std::move(fn)});
}

void world::note(const std::string& what) {
  if (o_.verbose) {
    std::fprintf(stderr, "  %10.3f s  %s\n", static_cast<double>(now_) / 1e9, what.c_str());
  }
}

void world::start_node(std::uint32_t i, bool first) {
  slot_state& s = slots_[i];
  s.restart_pending = false;
  ++s.incarnation;
  s.mirror.clear();
  s.checked_commit = s.checked_height = s.led_term = 0;
  s.in_flight = nullptr;
  s.fail_next_barrier = s.full = s.disk_fault_fired = s.crash_in_next_write = false;
  bool corrupted = false;
  if (!first && mix_.corrupt > 0 && s.writes.size() >= 2 && n_ >= 3 && rng_.chance(mix_.corrupt)) {
    bool other_lost = false;
    for (const auto& o : slots_) other_lost |= o.lost;
    if (!other_lost) {
      corrupt(i);
      corrupted = true;
    }
  }
  runtime::node_env env;
  env.reactor = s.reactor.get();
  env.transport = s.transport.get();
  env.verify_inline = true;
  env.verify_tx = [pool = pool_](const chain::transaction& tx) { return pool->verify(tx); };
  env.random_seed = rng_.next() | 1;
  env.bug = o_.bug;
  auto opened = runtime::node::open(s.cfg, env);
  const std::string err = opened.message();
  if (opened.ok()) s.node = std::move(*opened);
  if (!s.node) {
    if (corrupted) {
      s.lost = true;
      note("node " + std::to_string(s.id) + " refuses its corrupted log and stays down: " + err);
      return;
    }
    fail("node " + std::to_string(s.id) + " failed to restart: " + err);
  }
  if (corrupted) {
    fail("node " + std::to_string(s.id) + " restarted from a log with a corrupted record");
  }
  note("node " + std::to_string(s.id) + (first ? " starts" : " restarts"));
  after_event(i);
}

// Flips one byte inside a completed write other than the last: recovery
// must refuse the log (a torn final write is the only damage it may drop).
void world::corrupt(std::uint32_t i) {
  slot_state& s = slots_[i];
  const write_record& w = s.writes[rng_.below(s.writes.size() - 1)];
  const std::uint64_t at = w.offset + rng_.below(w.bytes);
  const int fd = ::open(w.path.c_str(), O_RDWR | O_CLOEXEC);
  RC_ASSERT(fd >= 0);
  unsigned char b = 0;
  RC_ASSERT(::pread(fd, &b, 1, static_cast<off_t>(at)) == 1);
  b ^= static_cast<unsigned char>(1u << rng_.below(8));
  RC_ASSERT(::pwrite(fd, &b, 1, static_cast<off_t>(at)) == 1);
  ::close(fd);
  ++injected_["corrupt"];
  note("node " + std::to_string(s.id) + ": byte flipped at " + w.path + " offset " +
       std::to_string(at));
}

void world::crash(std::uint32_t i, const char* why) {
  slot_state& s = slots_[i];
  if (!s.node) return;
  if (s.in_flight != nullptr && mix_.torn_write > 0 && rng_.chance(mix_.torn_write)) {
    // Part of the write in flight reaches the platter before the power goes.
    const io::file_write& w = *s.in_flight;
    const std::uint64_t part = 1 + rng_.below(w.data.size() - 1);
    RC_ASSERT(::pwrite(w.fd, w.data.data(), part, static_cast<off_t>(w.offset)) ==
              static_cast<ssize_t>(part));
    ++injected_["torn_write"];
  }
  s.in_flight = nullptr;
  s.node.reset();
  ++s.incarnation;  // drops its timers, disk completions and inbound messages
  s.paused_until = 0;
  note("node " + std::to_string(s.id) + " " + why);
}

void world::crash_and_restart(std::uint32_t i, const char* why) {
  crash(i, why);
  slots_[i].restart_pending = true;
  schedule(world_slot, now_ + ms_ns * (100 + rng_.below(3000)), [this, i] {
    if (slots_[i].restart_pending && faults_on_) start_node(i, false);
  });
}

void world::after_event(std::uint32_t i) {
  slot_state& s = slots_[i];
  if (!s.node) return;
  s.node->process();
  if (s.node->stopped()) {
    on_stopped(i);
    return;
  }
  if (o_.check_every_event) check_node(i);
}

void world::on_stopped(std::uint32_t i) {
  slot_state& s = slots_[i];
  if (!s.disk_fault_fired) {
    fail("node " + std::to_string(s.id) + " stopped: " + s.node->failure());
  }
  crash(i, "stopped after its disk failed");
  s.restart_pending = true;
  const time_ns at = now_ + ms_ns * (200 + rng_.below(1800));
  schedule(world_slot, at, [this, i] {
    if (slots_[i].restart_pending && faults_on_) start_node(i, false);
  });
}

// ------------------------------------------------------------- disks --

void world::submit_write(std::uint32_t i, io::file_write& w) {
  slot_state& s = slots_[i];
  s.in_flight = &w;
  const std::uint64_t chunks = std::max<std::uint32_t>(w.chunks, 1);
  time_ns d = o_.disk.write_ns(rng_, w.data.size());
  for (std::uint64_t c = 1; c < chunks; ++c) d += o_.disk.barrier.sample_ns(rng_);
  d += static_cast<time_ns>(w.barrier_delay.count()) * chunks;
  schedule(i, now_ + d, [this, i, &w] {
    complete_write(i, w);
    after_event(i);
  });
  if (s.crash_in_next_write) {
    s.crash_in_next_write = false;
    const std::uint32_t inc = s.incarnation;
    schedule(world_slot, now_ + rng_.below(d), [this, i, inc] {
      if (slots_[i].incarnation == inc && faults_on_)
        crash_and_restart(i, "crashes during a write");
    });
  }
}

void world::complete_write(std::uint32_t i, io::file_write& w) {
  slot_state& s = slots_[i];
  s.in_flight = nullptr;
  auto& c = s.reactor->counts();
  int result = 0;
  if (s.full) {
    result = -ENOSPC;
  } else if (s.fail_next_barrier) {
    // The write may have landed in part; the barrier reports the error.
    const std::uint64_t part = rng_.below(w.data.size());
    if (part > 0) (void)::pwrite(w.fd, w.data.data(), part, static_cast<off_t>(w.offset));
    result = -EIO;
  } else {
    std::uint64_t done = 0;
    while (done < w.data.size()) {
      const ssize_t k = ::pwrite(w.fd, w.data.data() + done, w.data.size() - done,
                                 static_cast<off_t>(w.offset + done));
      RC_ASSERT_MSG(k > 0, "the simulator's backing files must be writable");
      done += static_cast<std::uint64_t>(k);
    }
    c.bytes_written += done;
    c.fdatasyncs += std::max<std::uint32_t>(w.chunks, 1);
    if (mix_.corrupt > 0) {
      char path[64];
      std::snprintf(path, sizeof path, "/proc/self/fd/%d", w.fd);
      std::error_code ec;
      s.writes.push_back({fs::read_symlink(path, ec).string(), w.offset, w.data.size()});
    }
  }
  hash_.add(0x77);
  hash_.add(w.offset);
  hash_.add(w.data.size());
  hash_.add(static_cast<std::uint64_t>(-result));
  ++c.completed[static_cast<std::size_t>(io::op_kind::write)];
  w.busy_ = false;
  if (result != 0) s.disk_fault_fired = true;
  w.on_done(result);
  if (result != 0 && s.node && !s.node->stopped()) {
    s.node->process();
    if (!s.node->stopped()) {
      fail("node " + std::to_string(s.id) + " kept running after its write failed (" +
           std::strerror(-result) + ")");
    }
  }
}

// ----------------------------------------------------------- network --

void world::send_message(std::uint32_t from, const core::message& m) {
  const std::uint64_t to_id = m.to();
  if (to_id == 0 || to_id > n_) return;
  const std::uint32_t to = static_cast<std::uint32_t>(to_id - 1);
  // Durability: a node acknowledges only entries its disk holds. (An
  // acknowledgement made in an earlier term may leave after a new leader
  // replaced the entries it speaks of; it was true when made, and the old
  // leader it goes to has lost its term.)
  if (m.type() == raftpb::MSG_APPEND_RESPONSE && !m.reject()) {
    const core::raft& r = slots_[from].node->consensus();
    const std::uint64_t durable = r.log().durable();
    if (m.term() == r.get_status().term && m.index() > durable) {
      fail("node " + std::to_string(from + 1) + " acknowledged entries up to " +
           std::to_string(m.index()) + " with only " + std::to_string(durable) + " durable");
    }
  }
  if (!slots_[to].node || cuts_[from * n_ + to] > 0) return;
  if (rng_.chance(mix_.loss)) return;
  const int copies = rng_.chance(mix_.duplicate) ? 2 : 1;
  // The message occupies its sender's link for bytes / bandwidth.
  const double bytes = static_cast<double>(m.ByteSizeLong() + 64);
  slot_state& s = slots_[from];
  const time_ns start = std::max(now_, s.egress_free);
  s.egress_free = start + static_cast<time_ns>(bytes * 8 / o_.network.gbit_per_s);
  for (int k = 0; k < copies; ++k) {
    time_ns at = s.egress_free + o_.network.between(from + 1, to_id).sample_ns(rng_) +
                 clogs_[from * n_ + to];
    time_ns& last = last_arrival_[from * n_ + to];
    if (!mix_.reorder) at = std::max(at, last);
    last = std::max(last, at);
    schedule(to, at, [this, to, m] {
      hash_.add(0x6d);
      hash_.add(static_cast<std::uint64_t>(m.type()));
      hash_.add(m.from());
      hash_.add(m.term());
      hash_.add(m.index());
      (void)slots_[to].node->receive(m);
      after_event(to);
    });
  }
}

// ------------------------------------------------------------ faults --

std::uint32_t world::random_up_node() {
  std::vector<std::uint32_t> up;
  for (std::uint32_t i = 0; i < n_; ++i) {
    if (slots_[i].node) up.push_back(i);
  }
  return up.empty() ? world_slot : up[rng_.below(up.size())];
}

std::uint32_t world::leader_slot() const {
  std::uint32_t best = world_slot;
  std::uint64_t term = 0;
  for (std::uint32_t i = 0; i < n_; ++i) {
    if (!slots_[i].node) continue;
    const core::status st = slots_[i].node->consensus().get_status();
    if (st.role == core::role::leader && st.term >= term) {
      best = i;
      term = st.term;
    }
  }
  return best;
}

void world::schedule_fault(const std::string& kind, double per_s) {
  if (per_s <= 0) return;
  // Exponential gaps: a Poisson process at per_s.
  const double gap_s = -std::log(1.0 - rng_.unit()) / per_s;
  schedule(world_slot, now_ + static_cast<time_ns>(gap_s * 1e9), [this, kind, per_s] {
    if (!faults_on_) return;
    inject(kind);
    schedule_fault(kind, per_s);
  });
}

void world::inject(const std::string& kind) {
  const std::uint64_t epoch = fault_epoch_;
  const time_ns dur = ms_ns * (50 + rng_.below(kind == "pause" ? 2000 : 4000));
  auto later = [&](std::function<void()> undo) {
    schedule(world_slot, now_ + dur, [this, epoch, undo = std::move(undo)] {
      if (fault_epoch_ == epoch) undo();
    });
  };
  hash_.add(std::hash<std::string>{}(kind));
  if (kind == "crash") {
    const std::uint32_t i = random_up_node();
    if (i == world_slot) return;
    if (mix_.torn_write > 0 && rng_.chance(0.5)) {
      // Half the crashes of a seed with torn writes strike during a write.
      slots_[i].crash_in_next_write = true;
    } else {
      crash_and_restart(i, "crashes");
    }
  } else if (kind == "pause") {
    const std::uint32_t i = random_up_node();
    if (i == world_slot) return;
    slots_[i].paused_until = now_ + dur;
    note("node " + std::to_string(i + 1) + " pauses");
  } else if (kind == "partition") {
    std::vector<bool> side(n_);
    for (std::uint32_t i = 0; i < n_; ++i) side[i] = rng_.chance(0.5);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> links;
    for (std::uint32_t a = 0; a < n_; ++a)
      for (std::uint32_t b = 0; b < n_; ++b)
        if (side[a] != side[b]) links.emplace_back(a, b);
    for (auto [a, b] : links) cut(a, b, 1);
    later([this, links] {
      for (auto [a, b] : links) cut(a, b, -1);
    });
    note("partition");
  } else if (kind == "asymmetric") {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> links;
    for (std::uint32_t k = 0; k < n_; ++k) {
      const auto a = static_cast<std::uint32_t>(rng_.below(n_));
      const auto b = static_cast<std::uint32_t>(rng_.below(n_));
      if (a != b) links.emplace_back(a, b);
    }
    for (auto [a, b] : links) cut(a, b, 1);
    later([this, links] {
      for (auto [a, b] : links) cut(a, b, -1);
    });
    note("asymmetric partition of " + std::to_string(links.size()) + " links");
  } else if (kind == "isolate_leader") {
    const std::uint32_t l = leader_slot();
    if (l == world_slot) return;
    for (std::uint32_t b = 0; b < n_; ++b) {
      if (b == l) continue;
      cut(l, b, 1);
      cut(b, l, 1);
    }
    later([this, l] {
      for (std::uint32_t b = 0; b < n_; ++b) {
        if (b == l) continue;
        cut(l, b, -1);
        cut(b, l, -1);
      }
    });
    note("leader " + std::to_string(l + 1) + " isolated");
  } else if (kind == "clog") {
    const auto a = static_cast<std::uint32_t>(rng_.below(n_));
    const auto b = static_cast<std::uint32_t>(rng_.below(n_));
    if (a == b) return;
    const time_ns extra = ms_ns * (10 + rng_.below(1000));
    clogs_[a * n_ + b] += extra;
    later([this, a, b, extra] { clogs_[a * n_ + b] -= extra; });
    note("link " + std::to_string(a + 1) + "->" + std::to_string(b + 1) + " clogged");
  } else if (kind == "barrier_error" || kind == "disk_full") {
    const std::uint32_t i = random_up_node();
    if (i == world_slot) return;
    (kind == "disk_full" ? slots_[i].full : slots_[i].fail_next_barrier) = true;
    note("node " + std::to_string(i + 1) + ": " + kind);
  }
  ++injected_[kind];
}

// Faults stop: nodes restart (but a lost one), links heal, disks behave.
void world::heal() {
  faults_on_ = false;
  ++fault_epoch_;
  std::fill(cuts_.begin(), cuts_.end(), 0);
  std::fill(clogs_.begin(), clogs_.end(), 0);
  mix_.loss = mix_.duplicate = 0;
  mix_.torn_write = mix_.corrupt = 0;
  heal_at_ = now_;
  note("faults stop");
  for (std::uint32_t i = 0; i < n_; ++i) {
    slot_state& s = slots_[i];
    s.paused_until = 0;
    s.full = s.fail_next_barrier = false;
    if (!s.node && !s.lost) start_node(i, false);
  }
  live_by_ = now_ + static_cast<time_ns>(o_.liveness_bound_s * 1e9);
}

// ----------------------------------------------------------- clients --

// Once a round the client submits the next transactions to the node it
// takes for the leader; a refusal naming the leader redirects it, silence
// for a second makes it try another node.
void world::client_round() {
  schedule(world_slot, now_ + o_.submit_interval_ms * ms_ns, [this] { client_round(); });
  if (next_tx_ + o_.txs_per_submit > pool_->txs.size()) return;
  if (client_last_reply_ + s_ns < now_) {
    client_target_ = 1 + rng_.below(n_);
    client_last_reply_ = now_;
  }
  nodepb::ClientRequest req;
  req.set_id(++client_gen_);
  std::vector<std::string> hashes;
  for (std::uint32_t k = 0; k < o_.txs_per_submit; ++k) {
    const chain::transaction& tx = pool_->txs[next_tx_++];
    hashes.emplace_back(chain::as_bytes(chain::tx_hash(tx)));
    *req.mutable_submit()->add_txs() = tx;
  }
  const auto to = static_cast<std::uint32_t>(client_target_ - 1);
  if (!slots_[to].node) return;
  const time_ns d = o_.network.local.sample_ns(rng_);
  schedule(to, now_ + d, [this, to, req = std::move(req), hashes = std::move(hashes)]() mutable {
    slots_[to].node->submit(std::move(req), [this, hashes](const nodepb::ClientResponse& r) {
      schedule(world_slot, now_ + o_.network.local.sample_ns(rng_),
               [this, r, hashes] { client_reply(r, hashes); });
    });
    after_event(to);
  });
}

void world::client_reply(const nodepb::ClientResponse& r, const std::vector<std::string>& hashes) {
  client_last_reply_ = now_;
  hash_.add(0x63);
  for (int k = 0; k < r.submit().results_size() && k < static_cast<int>(hashes.size()); ++k) {
    const nodepb::TxResult& res = r.submit().results(k);
    hash_.add(static_cast<std::uint64_t>(res.code()));
    if (res.code() == nodepb::TxResult::COMMITTED) {
      acked_[hashes[static_cast<std::size_t>(k)]] = res.height();
    } else if (res.code() == nodepb::TxResult::NOT_LEADER) {
      // leader_client reads "node<id>" in the simulator.
      const std::string& l = r.submit().leader_client();
      client_target_ = l.size() > 4 ? std::stoull(l.substr(4)) : 1 + rng_.below(n_);
    }
  }
}

// ---------------------------------------------------------- checkers --

void world::check_node(std::uint32_t i) {
  slot_state& s = slots_[i];
  if (!s.node) return;
  const core::raft& r = s.node->consensus();
  const core::status st = r.get_status();
  check_log(s);
  // Election safety: at most one leader per term.
  if (st.role == core::role::leader) {
    auto [it, fresh] = leaders_.emplace(st.term, s.id);
    if (!fresh && it->second != s.id) {
      fail("two leaders in term " + std::to_string(st.term) + ": nodes " +
           std::to_string(it->second) + " and " + std::to_string(s.id));
    }
    // Leader completeness: a leader holds every entry committed in an
    // earlier term. (A leader of an earlier term than the commit's may
    // lack it: it can still win its old term from nodes that never heard
    // of the later one.)
    if (s.led_term != st.term) {
      s.led_term = st.term;
      const core::raft_log& log = r.log();
      for (std::uint64_t k = 1; k <= committed_.size(); ++k) {
        if (commit_terms_[k - 1] >= st.term) continue;
        if (k > log.last_index() || s.mirror[k - 1] != committed_[k - 1]) {
          fail("committed entry " + std::to_string(k) + " (term " +
               std::to_string(committed_[k - 1].first) + ") is missing from node " +
               std::to_string(s.id) + ", leader of term " + std::to_string(st.term));
        }
      }
    }
  }
  // Committed entries never change.
  const std::uint64_t c = r.log().committed();
  for (std::uint64_t k = s.checked_commit + 1; k <= c; ++k) {
    if (k <= committed_.size()) {
      if (committed_[k - 1] != s.mirror[k - 1]) {
        fail("committed entry " + std::to_string(k) + " differs on node " + std::to_string(s.id) +
             " (term " + std::to_string(s.mirror[k - 1].first) +
             ", committed elsewhere with term " + std::to_string(committed_[k - 1].first) + ")");
      }
    } else {
      committed_.push_back(s.mirror[k - 1]);
      // The term it committed in, at most: the term of the first node seen
      // to hold it committed.
      commit_terms_.push_back(st.term);
    }
  }
  s.checked_commit = std::max(s.checked_commit, c);
  // Every node's chain and state agree at every height.
  const chain::ledger& l = s.node->ledger();
  if (l.height() != s.checked_height && l.height() > 0) {
    const std::pair<chain::hash, chain::hash> here{l.tip(), l.state_hash()};
    auto [it, fresh] = chain_.emplace(l.height(), here);
    if (!fresh && it->second.first != here.first) {
      fail("block hashes differ at height " + std::to_string(l.height()) + " on node " +
           std::to_string(s.id));
    }
    if (!fresh && it->second.second != here.second) {
      fail("state hashes differ at height " + std::to_string(l.height()) + " on node " +
           std::to_string(s.id));
    }
  }
  s.checked_height = l.height();
}

// Log matching: entries with the same index and term hold the same data
// and follow the same term. Each node's log is compared from where it
// last changed.
void world::check_log(slot_state& s) {
  const core::raft_log& log = s.node->consensus().log();
  const std::uint64_t last = log.last_index();
  std::uint64_t k = std::min<std::uint64_t>(last, s.mirror.size());
  while (k > 0 && s.mirror[k - 1].first != log.at(k).term()) --k;
  s.mirror.resize(k);
  for (std::uint64_t i = k + 1; i <= last; ++i) {
    const core::entry& e = log.at(i);
    const std::uint64_t data =
        std::hash<std::string>{}(e.data()) ^ static_cast<std::uint64_t>(e.type());
    const std::uint64_t prev = i > 1 ? log.at(i - 1).term() : 0;
    auto [it, fresh] = entries_.emplace(std::make_pair(i, e.term()), fingerprint{data, prev});
    if (!fresh && (it->second.data != data || it->second.prev_term != prev)) {
      fail("log matching: entry " + std::to_string(i) + " of term " + std::to_string(e.term()) +
           " on node " + std::to_string(s.id) + " differs from the same entry on another node");
    }
    s.mirror.emplace_back(e.term(), data);
  }
}

// Within the bound after the heal, every healthy node applies a block
// made after it; then the chain must reach `blocks`.
// Every 100 ms: the liveness check after the heal, and the other checkers
// when they do not run after every event.
void world::probe() {
  if (!faults_on_) check_liveness();
  if (!o_.check_every_event) {
    for (std::uint32_t i = 0; i < n_; ++i) check_node(i);
  }
  if (!done_) schedule(world_slot, now_ + 100 * ms_ns, [this] { probe(); });
}

void world::check_liveness() {
  if (done_) return;
  const std::uint64_t heal_wall = epoch_us + heal_at_ / 1000;
  bool all_new = true, all_tall = true;
  std::size_t healthy = 0;
  for (auto& s : slots_) {
    if (s.lost) continue;
    ++healthy;
    if (!s.node) {
      all_new = all_tall = false;
      continue;
    }
    const core::raft_log& log = s.node->consensus().log();
    bool fresh = false;
    for (std::uint64_t i = log.applied(); i >= 1; --i) {
      if (log.at(i).type() != raftpb::ENTRY_NORMAL) continue;
      chain::block b;
      fresh = b.ParseFromString(log.at(i).data()) && b.header().timestamp_us() >= heal_wall;
      break;
    }
    all_new &= fresh;
    all_tall &= s.node->ledger().height() >= o_.blocks;
  }
  if (live_at_ == 0) {
    if (all_new) {
      live_at_ = now_;
      end_by_ = now_ + (o_.blocks * block_ms_ * ms_ns) * 3 + 10 * s_ns;
      note("liveness: every healthy node applied a new block");
    } else if (now_ >= live_by_) {
      fail("liveness: " + std::to_string(healthy) +
           " healthy nodes did not all apply a new block within " +
           std::to_string(static_cast<int>(o_.liveness_bound_s)) + " s of the heal (" +
           cluster_state() + ")");
    }
  }
  if (live_at_ != 0 && all_tall) {
    done_ = true;
    return;
  }
  if (live_at_ != 0 && now_ >= end_by_) {
    fail("the chain stalled below " + std::to_string(o_.blocks) + " blocks after the heal (" +
         cluster_state() + ")");
  }
}

// "node 1 leader term 6 commit 42/43 height 20; node 2 down; ...": for
// liveness failures.
std::string world::cluster_state() const {
  std::string out;
  for (const auto& s : slots_) {
    if (!out.empty()) out += "; ";
    out += "node " + std::to_string(s.id);
    if (s.lost) {
      out += " lost";
      continue;
    }
    if (!s.node) {
      out += " down";
      continue;
    }
    const core::status st = s.node->consensus().get_status();
    out += std::string(" ") + core::to_string(st.role) + " term " + std::to_string(st.term) +
           " leader " + std::to_string(st.leader) + " commit " + std::to_string(st.committed) +
           "/" + std::to_string(st.last_index) + " durable " + std::to_string(st.durable) +
           " height " + std::to_string(s.node->ledger().height());
  }
  return out;
}

// Every transaction acknowledged to the client is in the final chain, at
// the height it was acknowledged at.
void world::check_acked() {
  const slot_state* best = nullptr;
  for (const auto& s : slots_) {
    if (s.node && (!best || s.node->ledger().height() > best->node->ledger().height())) best = &s;
  }
  if (!best) return;
  // Replay the committed chain from scratch: it must reach the node's
  // state, and it tells which transactions were applied (a block may carry
  // some with stale nonces, which every node skips).
  std::map<std::string, std::uint64_t> chain_txs;
  const core::raft_log& log = best->node->consensus().log();
  chain::ledger replayed;
  for (std::uint64_t i = 1; i <= log.applied(); ++i) {
    if (log.at(i).type() != raftpb::ENTRY_NORMAL) continue;
    chain::block b;
    if (!b.ParseFromString(log.at(i).data())) continue;
    std::vector<int> skipped;
    if (base::status applied = replayed.apply(b, &skipped); !applied.ok()) {
      const std::string& err = applied.message();
      fail("replaying the committed chain: " + err);
    }
    std::size_t next_skip = 0;
    for (int k = 0; k < b.txs_size(); ++k) {
      if (next_skip < skipped.size() && skipped[next_skip] == k) {
        ++next_skip;
        continue;
      }
      chain_txs[std::string(chain::as_bytes(chain::tx_hash(b.txs(k))))] = b.header().height();
    }
  }
  if (!RC_PLANTED(o_.bug, diverge_state) &&
      replayed.state_hash() != best->node->ledger().state_hash()) {
    fail("replaying the committed chain gives another state than node " + std::to_string(best->id) +
         "'s");
  }
  for (const auto& [h, height] : acked_) {
    auto it = chain_txs.find(h);
    if (it == chain_txs.end()) {
      fail("a transaction acknowledged as committed at height " + std::to_string(height) +
           " is not applied in the final chain");
    }
    if (it->second != height) {
      fail("a transaction acknowledged at height " + std::to_string(height) +
           " is in the final chain at height " + std::to_string(it->second));
    }
  }
}

// --------------------------------------------------------------- run --

result world::run() {
  result res;
  res.seed = o_.seed;
  res.faults = mix_;
  res.network = o_.network.name;
  res.disk = o_.disk.name;
  res.dir = dir_;
  const auto wall_start = std::chrono::steady_clock::now();
  slots_.resize(n_);
  for (std::uint32_t i = 0; i < n_; ++i) {
    slot_state& s = slots_[i];
    s.id = i + 1;
    s.reactor = std::make_unique<sim_reactor>(*this, i);
    s.transport = std::make_unique<sim_transport>(*this, i);
    runtime::node_config& c = s.cfg;
    c.id = s.id;
    for (std::uint32_t k = 1; k <= n_; ++k) {
      c.peers.push_back({k, "node" + std::to_string(k), "node" + std::to_string(k)});
    }
    c.data_dir = (dir_ / ("node" + std::to_string(s.id))).string();
    storage::parse_persistence(o_.persistence, &c.persistence);
    c.round_interval_ms = o_.round_interval_ms;
    c.round_deadline_ms = o_.round_deadline_ms;
    c.block_txs_max = o_.block_txs_max;
    c.empty_blocks = o_.empty_blocks;
    c.segment_mib = 16;
    // The first segment, sparse: reads as the zeros the node would write.
    const fs::path log_dir = fs::path(c.data_dir) / "log";
    fs::create_directories(log_dir);
    const fs::path seg = storage::segment_path(log_dir, 1);
    const int fd = ::open(seg.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    RC_ASSERT_MSG(fd >= 0, "cannot create the simulator's files");
    RC_ASSERT(::ftruncate(fd, static_cast<off_t>(c.segment_mib) * limits::mib) == 0);
    ::close(fd);
  }
  const time_ns safety_end = o_.blocks * block_ms_ * ms_ns;
  try {
    for (std::uint32_t i = 0; i < n_; ++i) start_node(i, true);
    schedule(world_slot, o_.round_interval_ms * ms_ns / 2, [this] { client_round(); });
    schedule_fault("crash", mix_.crash_per_s);
    schedule_fault("pause", mix_.pause_per_s);
    schedule_fault("partition", mix_.partition_per_s);
    schedule_fault("asymmetric", mix_.asymmetric_per_s);
    schedule_fault("isolate_leader", mix_.isolate_leader_per_s);
    schedule_fault("clog", mix_.clog_per_s);
    schedule_fault("barrier_error", mix_.barrier_error_per_s);
    schedule_fault("disk_full", mix_.disk_full_per_s);
    if (o_.run_for_s > 0) {
      schedule(world_slot, static_cast<time_ns>(o_.run_for_s * 1e9), [this] { done_ = true; });
    } else {
      schedule(world_slot, safety_end, [this] {
        heal();
        if (o_.check_every_event) probe();
      });
    }
    if (!o_.check_every_event) schedule(world_slot, 100 * ms_ns, [this] { probe(); });
    while (!done_ && !queue_.empty()) {
      event e = std::move(const_cast<event&>(queue_.top()));
      queue_.pop();
      if (e.slot != world_slot) {
        slot_state& s = slots_[e.slot];
        if (e.incarnation != s.incarnation || !s.node) continue;
        if (s.paused_until > e.at) {
          // A paused process does nothing; its work waits for the resume.
          queue_.push({s.paused_until, ++seq_, e.slot, e.incarnation, std::move(e.fn)});
          continue;
        }
      }
      now_ = e.at;
      ++events_;
      hash_.add(e.at);
      hash_.add(e.slot);
      e.fn();
    }
    for (std::uint32_t i = 0; i < n_; ++i) check_node(i);
    check_acked();
  } catch (const violation_found& v) {
    res.ok = false;
    res.violation = v.what;
    res.violation_at_s = static_cast<double>(now_) / 1e9;
  }
  for (const auto& s : slots_) {
    if (s.node) res.height = std::max(res.height, s.node->ledger().height());
    const io::counters& c = s.reactor->get_counters();
    res.io.push_back(
        {c.completed[static_cast<std::size_t>(io::op_kind::write)], c.fdatasyncs, c.bytes_written});
  }
  res.events = events_;
  res.simulated_s = static_cast<double>(now_) / 1e9;
  res.trace_hash = hash_.h;
  res.acked_txs = acked_.size();
  res.injected = injected_;
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return res;
}

}  // namespace

// ------------------------------------------------------------- faults --

fault_mix swarm_faults(std::uint64_t seed) {
  rng r(seed ^ 0x5eed5eed5eed5eedULL);
  fault_mix m;
  auto on = [&] { return r.chance(0.5); };
  if (on()) m.loss = r.between(0.001, 0.1);
  if (on()) m.duplicate = r.between(0.001, 0.1);
  m.reorder = on();
  if (on()) m.partition_per_s = r.between(0.02, 0.5);
  if (on()) m.asymmetric_per_s = r.between(0.02, 0.5);
  if (on()) m.isolate_leader_per_s = r.between(0.02, 0.3);
  if (on()) m.clog_per_s = r.between(0.05, 1);
  if (on()) m.crash_per_s = r.between(0.02, 0.5);
  if (on()) m.pause_per_s = r.between(0.02, 0.5);
  if (on()) m.torn_write = r.between(0.2, 1);
  if (on()) m.barrier_error_per_s = r.between(0.01, 0.1);
  if (on()) m.disk_full_per_s = r.between(0.01, 0.1);
  if (on()) m.corrupt = r.between(0.05, 0.3);
  m.slow_disks = r.chance(0.25);
  return m;
}

namespace {

// One fault kind as parse_faults knows it: where its setting lives and the
// middling intensity a bare name sets. Switches (reorder, slow_disks) take
// no value.
struct fault_kind {
  const char* name;
  double fault_mix::*rate;  // null for a switch
  bool fault_mix::*flag;    // null for a rate
  double middling;
  double max;  // probabilities stop at 1; rates per second at 100
};

const fault_kind fault_kinds[] = {
    {"loss", &fault_mix::loss, nullptr, 0.02, 1},
    {"duplicate", &fault_mix::duplicate, nullptr, 0.02, 1},
    {"reorder", nullptr, &fault_mix::reorder, 0, 0},
    {"partition", &fault_mix::partition_per_s, nullptr, 0.2, 100},
    {"asymmetric", &fault_mix::asymmetric_per_s, nullptr, 0.2, 100},
    {"isolate_leader", &fault_mix::isolate_leader_per_s, nullptr, 0.1, 100},
    {"clog", &fault_mix::clog_per_s, nullptr, 0.3, 100},
    {"crash", &fault_mix::crash_per_s, nullptr, 0.2, 100},
    {"pause", &fault_mix::pause_per_s, nullptr, 0.2, 100},
    {"torn_write", &fault_mix::torn_write, nullptr, 0.5, 1},
    {"barrier_error", &fault_mix::barrier_error_per_s, nullptr, 0.05, 100},
    {"disk_full", &fault_mix::disk_full_per_s, nullptr, 0.05, 100},
    {"corrupt", &fault_mix::corrupt, nullptr, 0.2, 1},
    {"slow_disks", nullptr, &fault_mix::slow_disks, 0, 0},
};

}  // namespace

std::vector<std::string> fault_mix::kinds() {
  std::vector<std::string> out;
  for (const fault_kind& k : fault_kinds) out.emplace_back(k.name);
  return out;
}

// "crash=0.2,loss=0.02,reorder": every kind that is on, in the table's
// order; values rounded to two digits, or exact (shortest round trip) for
// a replay command.
std::string fault_mix::spec(bool exact) const {
  std::string out;
  for (const fault_kind& k : fault_kinds) {
    if (k.flag != nullptr ? !(this->*(k.flag)) : this->*(k.rate) <= 0) continue;
    if (!out.empty()) out += ',';
    out += k.name;
    if (k.rate == nullptr) continue;
    char buf[32];
    const double v = this->*(k.rate);
    if (exact) {
      const auto r = std::to_chars(buf, buf + sizeof buf, v);
      out += '=' + std::string(buf, r.ptr);
    } else {
      std::snprintf(buf, sizeof buf, "=%.2g", v);
      out += buf;
    }
  }
  return out.empty() ? "none" : out;
}

std::string parse_faults(const std::string& text, fault_mix* out) {
  fault_mix m;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty() || item == "none") continue;
    const auto eq = item.find('=');
    const std::string name = item.substr(0, eq);
    const fault_kind* kind = nullptr;
    for (const fault_kind& k : fault_kinds) {
      if (name == k.name) kind = &k;
    }
    if (kind == nullptr) {
      std::string known;
      for (const auto& n : fault_mix::kinds()) known += " " + n;
      return "unknown fault kind \"" + name + "\"; known:" + known;
    }
    if (kind->flag != nullptr) {
      if (eq != std::string::npos) return "\"" + name + "\" is a switch and takes no value";
      m.*(kind->flag) = true;
      continue;
    }
    double v = kind->middling;
    if (eq != std::string::npos) {
      const std::string value = item.substr(eq + 1);
      char* end = nullptr;
      v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(v > 0) || v > kind->max) {
        std::ostringstream msg;
        msg << "\"" << item << "\": " << name << " takes a number above 0 and at most " << kind->max
            << (kind->max == 1 ? " (a probability)" : " (per second)");
        return msg.str();
      }
    }
    m.*(kind->rate) = v;
  }
  *out = m;
  return {};
}

std::string replay_command(const options& o) {
  std::string cmd = "ringchain-sim dst --seed " + std::to_string(o.seed) + " --nodes " +
                    std::to_string(o.nodes) + " --blocks " + std::to_string(o.blocks);
  if (!o.swarm) cmd += " --faults " + o.faults.spec(true);
  if (!o.network.name.empty() && o.network.name != "same_rack")
    cmd += " --network " + o.network.name;
  if (!o.disk.name.empty()) cmd += " --disk " + o.disk.name;
  if (o.bug != core::planted_bug::none)
    cmd += std::string(" --plant-bug ") + core::to_string(o.bug);
  if (o.persistence != "per_block") cmd += " --persistence " + o.persistence;
  const options defaults;
  if (o.txs_per_submit != defaults.txs_per_submit)
    cmd += " --txs-per-submit " + std::to_string(o.txs_per_submit);
  if (o.submit_interval_ms != defaults.submit_interval_ms)
    cmd += " --submit-every-ms " + std::to_string(o.submit_interval_ms);
  if (!o.empty_blocks) cmd += " --no-empty-blocks";
  return cmd;
}

result run(const options& o) {
  world w(o);
  return w.run();
}

}  // namespace ringchain::dst
