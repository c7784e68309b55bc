#include "sim/dst/world.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>

#include "node/base/assert.h"
#include "node/base/limits.h"
#include "node/storage/recovery.h"
#include "node/storage/snapshot_file.h"

namespace ringchain::dst {

namespace fs = std::filesystem;

namespace {

// The work between two samples of one node.
result::node_io minus(const result::node_io& a, const result::node_io& b) {
  result::node_io d;
  d.writes = a.writes - b.writes;
  d.fdatasyncs = a.fdatasyncs - b.fdatasyncs;
  d.bytes_written = a.bytes_written - b.bytes_written;
  d.cpu.loop_ns = a.cpu.loop_ns - b.cpu.loop_ns;
  d.cpu.verify_ns = a.cpu.verify_ns - b.cpu.verify_ns;
  d.cpu.wakeups = a.cpu.wakeups - b.cpu.wakeups;
  d.cpu.verify_jobs = a.cpu.verify_jobs - b.cpu.verify_jobs;
  return d;
}

// The options as the world runs them: the seed's fault mix in `faults`,
// the profiles resolved, and a submit interval.
options prepared(const options& given) {
  options o = given;
  if (o.swarm) o.faults = swarm_faults(o.seed);
  if (o.network.name.empty()) o.network = find_network_profile("same_rack").value();
  if (o.disk.name.empty()) {
    const char* name =
        o.faults.slow_disks ? (o.seed % 2 ? "consumer_ssd" : "spinning") : "this_machine";
    o.disk = find_disk_profile(name).value();
  }
  if (o.submit_interval_ms == 0) o.submit_interval_ms = o.round_interval_ms;
  return o;
}

// The least time between blocks: a block needs a round, and without empty
// blocks a submit too.
std::uint64_t block_interval_ms(const options& o) {
  return o.empty_blocks ? o.round_interval_ms : std::max(o.round_interval_ms, o.submit_interval_ms);
}

// A fresh directory for the run's files (orphaned runs removed first).
fs::path run_dir(const options& o) {
  remove_orphaned_runs(o.work_dir);
  static std::atomic<std::uint64_t> runs{0};
  return o.work_dir / ("seed-" + std::to_string(o.seed) + "-" + std::to_string(::getpid()) + "-" +
                       std::to_string(runs++));
}

// Slots in all: the cluster's nodes, and two spares when replacements
// are among the faults (each replacement brings one in).
std::uint32_t spare_slots(const options& o, std::uint32_t nodes) {
  const std::uint32_t spares = o.faults.membership_per_s > 0 ? 2 : 0;
  return std::min<std::uint32_t>(nodes + spares, limits::sim_nodes_max);
}

}  // namespace

world::world(const options& o)
    : o_(prepared(o)),
      n_(static_cast<std::uint32_t>(o_.nodes)),
      total_(spare_slots(o_, n_)),
      mix_(o_.faults),
      dir_(run_dir(o_)),
      block_ms_(block_interval_ms(o_)),
      core_(total_, o_.seed, o_.verbose, o_.cpu),
      network_(core_, total_, o_.network, mix_),
      slots_(total_),
      faults_(core_, network_, *this, mix_, injected_),
      safety_(total_, n_),
      liveness_(o_.blocks, block_ms_, o_.liveness_bound_s) {
  const base::status valid = validate(o_);
  RC_ASSERT_MSG(valid.ok(), "dst::run needs options that validate() accepts");
  core_.shared_disk = o_.shared_disk;
  if (o_.shared_cores > 0) core_.cpu.share_host(o_.shared_cores);
  // Load for the longest run: the safety phase, the liveness bound, and
  // the time allowed after it for the chain to reach `blocks`.
  const double run_ms = o_.run_for_s > 0 ? o_.run_for_s * 1000
                                         : static_cast<double>(o_.blocks * 4 * block_ms_ + 10'000) +
                                               o_.liveness_bound_s * 1000;
  const auto submits = static_cast<std::uint64_t>(run_ms / o_.submit_interval_ms) + 1;
  client_hooks hooks;
  hooks.node = [this](std::uint32_t i) { return slots_[i].node.get(); };
  hooks.after_event = [this](std::uint32_t i) { after_event(i); };
  client_ = std::make_unique<sim_client>(
      // The client may reach every slot: replacements move the cluster to
      // the spares (a slot that runs no node stays silent, and the client
      // moves on).
      core_, load_settings{total_, o_.txs_per_submit, o_.submit_interval_ms, o_.submit_tps},
      o_.network, tx_pool(submits * o_.txs_per_submit, o_.tx_bytes), std::move(hooks));
  network_hooks net;
  net.sending = [this](std::uint32_t from, const core::message& m) {
    safety_.check_sent(from + 1, *slots_[from].node, m);
  };
  net.up = [this](std::uint32_t i) { return slots_[i].node != nullptr; };
  net.deliver = [this](std::uint32_t to, const core::message& m) {
    core_.cpu.received(to, m);
    (void)slots_[to].node->receive(m);
    after_event(to);
  };
  network_.set_hooks(std::move(net));
}

world::~world() {
  for (auto& s : slots_) s.node.reset();
  core_.events.clear();
  if (!o_.keep_files) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  } else {
    // Kept on purpose: remove_orphaned_runs leaves it.
    std::ofstream(dir_ / "kept");
  }
}

// ------------------------------------------------------------- nodes --

// The slot's I/O, its node's settings, and its log's first segment.
void world::set_up_slot(std::uint32_t i) {
  node_slot& s = slots_[i];
  s.id = i + 1;
  s.reactor = std::make_unique<sim_reactor>(core_, i, o_.disk, mix_, o_.io == "epoll",
                                            [this, i] { after_event(i); });
  s.reactor->disk().set_hooks({[this, i](int result) { on_written(i, result); },
                               [this, i] {
                                 if (faults_.on()) crash_and_restart(i, "crashes during a write");
                               }});
  s.transport = std::make_unique<sim_transport>(network_, i);
  runtime::node_config& c = s.cfg;
  c.id = s.id;
  // The cluster's nodes start as its voters; a spare knows every slot and
  // joins (a replacement adds it).
  c.join = i >= n_;
  for (std::uint32_t k = 1; k <= (c.join ? total_ : n_); ++k) {
    c.peers.push_back({k, "node" + std::to_string(k), "node" + std::to_string(k)});
  }
  c.data_dir = (dir_ / ("node" + std::to_string(s.id))).string();
  RC_ASSERT_MSG(storage::parse_persistence(o_.persistence, &c.persistence),
                "validate() accepts only persistence the block log knows");
  c.round_interval_ms = o_.round_interval_ms;
  c.round_deadline_ms = o_.round_deadline_ms;
  c.election_ticks = o_.election_ticks;
  c.block_txs_max = o_.block_txs_max;
  c.empty_blocks = o_.empty_blocks;
  c.barrier_delay_us = o_.barrier_delay_us;
  RC_ASSERT_MSG(io::parse_backend(o_.io, &c.io), "validate() accepts only uring and epoll");
  // The node's cores but its loop check signatures.
  if (core_.cpu.on()) c.verify_threads = std::max<std::uint32_t>(o_.cpu.cores, 2) - 1;
  c.segment_mib = 16;
  c.snapshot_interval_blocks = o_.snapshot_interval_blocks;
  c.snapshot_catchup_blocks = o_.snapshot_catchup_blocks;
  if (!o_.tx_index) c.tx_index_txs = 0;
  // The first segment, sparse: reads as the zeros the node would write.
  const fs::path log_dir = fs::path(c.data_dir) / "log";
  fs::create_directories(log_dir);
  const fs::path seg = storage::segment_path(log_dir, 1);
  const int fd = ::open(seg.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  RC_ASSERT_MSG(fd >= 0, "cannot create the simulator's files");
  RC_ASSERT(::ftruncate(fd, static_cast<off_t>(c.segment_mib) * limits::mib) == 0);
  ::close(fd);
}

void world::start_node(std::uint32_t i, bool first) {
  node_slot& s = slots_[i];
  s.restart_pending = false;
  s.started = true;
  core_.events.next_incarnation(i);
  safety_.restart(i);
  s.reactor->disk().restart();
  const std::string corrupted = first ? std::string() : maybe_corrupt(i);
  runtime::node_env env;
  env.reactor = s.reactor.get();
  env.transport = s.transport.get();
  env.verify_inline = true;
  env.verify_tx = [pool = client_->pool()](const chain::transaction& tx) {
    return pool->verify(tx);
  };
  if (core_.cpu.on()) {
    env.verify_cost_ns = [this, i](std::size_t txs) { return core_.cpu.verify_ns(i, txs); };
  }
  env.random_seed = core_.random.next() | 1;
  env.bug = o_.bug;
  auto opened = runtime::node::open(s.cfg, env);
  const std::string err = opened.message();
  if (opened.ok()) s.node = std::move(*opened);
  core_.cpu.watch(i, s.node.get());
  const std::string who = "node " + std::to_string(s.id);
  if (!s.node) {
    if (!corrupted.empty()) {
      s.lost = true;
      core_.note(who + " refuses its corrupted log and stays down: " + err);
      return;
    }
    fail(who + " failed to restart: " + err);
  }
  if (!corrupted.empty()) check_started_despite(i, corrupted);
  core_.note(who + (first ? " starts" : " restarts"));
  after_event(i);
  end_event(i);
}

// At a restart, with probability mix.corrupt, flips a byte of an earlier
// write: recovery must refuse the log. At most one node is lost so, and
// only in clusters of 3 or more, which carry on without it. Returns the
// corrupted file's path (empty: nothing corrupted).
std::string world::maybe_corrupt(std::uint32_t i) {
  sim_disk& d = slots_[i].reactor->disk();
  if (mix_.corrupt <= 0 || !d.corruptible() || n_ < 3 || !core_.random.chance(mix_.corrupt)) {
    return {};
  }
  for (const auto& other : slots_) {
    if (other.lost) return {};
  }
  std::string what;
  const std::string path = d.corrupt(&what);
  if (path.empty()) return {};
  ++injected_[fault_kind::corrupt];
  core_.note("node " + std::to_string(slots_[i].id) + ": " + what);
  return path;
}

// A node started although a byte of `path` flipped: only a snapshot may be
// damaged so, and the node must have refused it (started from another).
void world::check_started_despite(std::uint32_t i, const std::string& path) {
  const std::string who = "node " + std::to_string(slots_[i].id);
  const fs::path p(path);
  // The block store is no consensus state: a damaged block shows when a
  // query reads it.
  if (p.parent_path().filename() == "blocks") return;
  if (p.parent_path().filename() != "snap") {
    fail(who + " restarted from a log with a corrupted record");
  }
  const std::uint64_t loaded = slots_[i].node->loaded_snapshot().index();
  if (storage::snapshot_path(p.parent_path(), loaded) == p) {
    fail(who + " restarted from a damaged snapshot (" + path + ")");
  }
}

void world::crash(std::uint32_t i, const char* why) {
  node_slot& s = slots_[i];
  if (!s.node) return;
  if (s.reactor->disk().crash()) ++injected_[fault_kind::torn_write];
  count_snapshots(*s.node);
  s.reactor->drop_blocking_writes();
  core_.cpu.reset(i);
  s.node.reset();
  core_.events.next_incarnation(i);  // drops its timers, disk completions and inbound messages
  s.paused_until = 0;
  core_.note("node " + std::to_string(s.id) + " " + why);
}

void world::crash_and_restart(std::uint32_t i, const char* why) {
  crash(i, why);
  restart_at(i, core_.events.now() + ms_ns * (100 + core_.random.below(3000)));
}

// Restarts the node at `at`, unless it restarted already or faults stopped
// (the heal restarts every node).
void world::restart_at(std::uint32_t i, time_ns at) {
  slots_[i].restart_pending = true;
  core_.events.schedule(world_slot, at, [this, i] {
    if (slots_[i].restart_pending && !slots_[i].retired && faults_.on()) start_node(i, false);
  });
}

// What the node's loop does after each callback: process what it was
// handed; then the checkers.
void world::after_event(std::uint32_t i) {
  node_slot& s = slots_[i];
  if (!s.node) return;
  s.node->process();
  if (s.node->stopped()) {
    on_stopped(i);
    return;
  }
  // Checked every 100 ms otherwise, a node is still checked as soon as
  // its commit index moves: a loaded node can commit entries and compact
  // them into a snapshot within 100 ms, and entries no checker saw leave
  // a gap in the committed chain the final check replays.
  if (o_.check_every_event || s.node->consensus().log().committed() != s.checked_commit) {
    check_node(i);
  }
}

// A write completed: a node whose write failed must stop.
void world::on_written(std::uint32_t i, int result) {
  node_slot& s = slots_[i];
  if (result != 0 && s.node && !s.node->stopped()) {
    s.node->process();
    if (!s.node->stopped()) {
      fail("node " + std::to_string(s.id) + " kept running after its write failed (" +
           std::strerror(-result) + ")");
    }
  }
  after_event(i);
}

// A node stops only after a disk fault; it restarts after 0.2-2 s.
void world::on_stopped(std::uint32_t i) {
  node_slot& s = slots_[i];
  if (!s.reactor->disk().fault_fired()) {
    fail("node " + std::to_string(s.id) + " stopped: " + s.node->failure());
  }
  crash(i, "stopped after its disk failed");
  restart_at(i, core_.events.now() + ms_ns * (200 + core_.random.below(1800)));
}

std::uint32_t world::random_up_node() {
  std::vector<std::uint32_t> up;
  for (std::uint32_t i = 0; i < total_; ++i) {
    if (slots_[i].node) up.push_back(i);
  }
  return up.empty() ? world_slot : up[core_.random.below(up.size())];
}

std::uint32_t world::leader_slot() const {
  std::uint32_t best = world_slot;
  std::uint64_t term = 0;
  for (std::uint32_t i = 0; i < total_; ++i) {
    if (!slots_[i].node) continue;
    const core::status st = slots_[i].node->consensus().get_status();
    if (st.role == core::role::leader && st.term >= term) {
      best = i;
      term = st.term;
    }
  }
  return best;
}

// ------------------------------------------------------------ phases --

// The client's first round, the faults, and the end of the safety phase
// (or of a fixed-length run).
void world::schedule_phases() {
  event_queue& q = core_.events;
  q.schedule(world_slot, o_.round_interval_ms * ms_ns / 2, [this] { client_->round(); });
  faults_.start();
  if (o_.run_for_s > 0) {
    q.schedule(world_slot, static_cast<time_ns>(o_.run_for_s * 1e9), [this] { done_ = true; });
  } else {
    q.schedule(world_slot, o_.blocks * block_ms_ * ms_ns, [this] {
      heal();
      if (o_.check_every_event) probe();
    });
  }
  if (!o_.check_every_event) q.schedule(world_slot, 100 * ms_ns, [this] { probe(); });
  if (o_.window_to_s > o_.window_from_s) {
    q.schedule(world_slot, static_cast<time_ns>(o_.window_from_s * 1e9),
               [this] { window_ = work(); });
    q.schedule(world_slot, static_cast<time_ns>(o_.window_to_s * 1e9), [this] {
      const std::vector<result::node_io> end = work();
      for (std::size_t i = 0; i < end.size(); ++i) window_[i] = minus(end[i], window_[i]);
    });
  }
}

// Runs events in order until the run is done. A down node's events are
// dropped, and those of a paused node, or of one whose loop is busy, wait.
void world::loop() {
  event_queue& q = core_.events;
  while (!done_ && !q.empty()) {
    event e = q.pop();
    if (e.slot != world_slot) {
      const node_slot& s = slots_[e.slot];
      if (e.incarnation != q.incarnation(e.slot) || !s.node) continue;
      const time_ns free =
          s.paused_until > e.at ? s.paused_until : core_.cpu.ready_at(e.slot, e.at, core_.random);
      if (free > e.at) {
        q.defer(std::move(e), free);
        continue;
      }
    }
    q.advance_to(e.at);
    ++events_;
    core_.hash.add(e.at);
    core_.hash.add(e.slot);
    if (e.slot == world_slot) {
      e.fn();
      continue;
    }
    e.fn();
    end_event(e.slot);
  }
}

// The node's event is over: its blocking writes start, and its loop stays
// busy for the work it did.
void world::end_event(std::uint32_t i) {
  slots_[i].reactor->run_blocking_writes();
  core_.cpu.settle(i);
}

// Faults stop: nodes restart (but a lost one), links heal, disks behave.
void world::heal() {
  faults_.heal();
  network_.heal();
  mix_.loss = mix_.duplicate = 0;
  mix_.torn_write = mix_.corrupt = 0;
  core_.note("faults stop");
  for (std::uint32_t i = 0; i < total_; ++i) {
    node_slot& s = slots_[i];
    s.paused_until = 0;
    s.reactor->disk().heal();
    if (!s.node && !s.lost && in_play(i)) start_node(i, false);
  }
  liveness_.heal(core_.events.now());
}

// Every 100 ms: the liveness check after the heal, and the other checkers
// when they do not run after every event.
void world::probe() {
  if (!faults_.on() && !done_) done_ = liveness_.check(core_, views());
  if (!o_.check_every_event) {
    for (std::uint32_t i = 0; i < total_; ++i) check_node(i);
  }
  if (!done_)
    core_.events.schedule(world_slot, core_.events.now() + 100 * ms_ns, [this] { probe(); });
}

// ---------------------------------------------------------- checkers --

void world::check_node(std::uint32_t i) {
  node_slot& s = slots_[i];
  if (!s.node) return;
  s.checked_commit = s.node->consensus().log().committed();
  safety_.check_node(i, s.id, *s.node);
}

std::vector<node_view> world::views() const {
  std::vector<node_view> out;
  out.reserve(slots_.size());
  // Spares not yet joined and retired nodes count as neither healthy nor
  // failed, as lost ones do.
  for (std::uint32_t i = 0; i < total_; ++i) {
    const node_slot& s = slots_[i];
    out.push_back({s.id, s.node.get(), s.lost || !in_play(i)});
  }
  return out;
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
  for (std::uint32_t i = 0; i < total_; ++i) set_up_slot(i);
  try {
    for (std::uint32_t i = 0; i < n_; ++i) start_node(i, true);
    schedule_phases();
    loop();
    for (std::uint32_t i = 0; i < total_; ++i) check_node(i);
    safety_.check_acked(views(), client_->acked(), o_.bug);
  } catch (const violation_found& v) {
    res.ok = false;
    res.violation = v.what;
    res.violation_at_s = static_cast<double>(core_.events.now()) / 1e9;
  }
  collect(res);
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return res;
}

void world::count_snapshots(const runtime::node& n) {
  const core::counters& c = n.consensus().get_counters();
  snapshots_taken_ += c.get(core::counter::compactions);
  snapshots_installed_ += c.get(core::counter::snapshots_installed);
}

// Each node's disk and CPU work so far.
std::vector<result::node_io> world::work() const {
  std::vector<result::node_io> out;
  out.reserve(total_);
  for (std::uint32_t i = 0; i < total_; ++i) {
    const io::counters& c = slots_[i].reactor->get_counters();
    out.push_back({c.completed[static_cast<std::size_t>(io::op_kind::write)], c.fdatasyncs,
                   c.bytes_written, core_.cpu.use(i)});
  }
  return out;
}

// What the run did: height, events, hash, load, faults, snapshots, disk
// and CPU work.
void world::collect(result& res) const {
  res.snapshots_taken = snapshots_taken_;
  res.snapshots_installed = snapshots_installed_;
  for (const auto& s : slots_) {
    if (s.node) {
      const core::counters& c = s.node->consensus().get_counters();
      res.snapshots_taken += c.get(core::counter::compactions);
      res.snapshots_installed += c.get(core::counter::snapshots_installed);
    }
    if (s.node) res.height = std::max(res.height, s.node->ledger().height());
  }
  res.io = work();
  res.window = window_;
  res.events = events_;
  res.simulated_s = static_cast<double>(core_.events.now()) / 1e9;
  res.trace_hash = core_.hash.h;
  res.acked_txs = client_->acked().size();
  res.injected = injected_;
}

}  // namespace ringchain::dst
