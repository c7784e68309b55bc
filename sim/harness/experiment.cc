#include "sim/harness/experiment.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "node/base/limits.h"
#include "node/chain/transaction.h"
#include "sim/harness/cluster.h"
#include "sim/harness/compose_cluster.h"
#include "sim/harness/membership.h"
#include "sim/harness/process_stats.h"

namespace ringchain::harness {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::uint64_t monotonic_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000 +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
}

// Each node's process watched over the measured window: CPU, context
// switches and io_uring workers from /proc, system calls counted by the
// kernel. Opened at the window's start, so that both backends' counts
// cover the same span.
struct node_watches {
  std::vector<std::optional<pid_t>> pids;
  std::vector<std::unique_ptr<process_watch>> watches;
  // Why system calls are not counted (the first node's reason), or "".
  std::string syscalls_unavailable;

  explicit node_watches(cluster_driver& cl) {
    for (std::size_t i = 0; i < cl.size(); ++i) {
      pids.push_back(cl.host_pid(i));
      watches.push_back(pids.back() ? std::make_unique<process_watch>(*pids.back()) : nullptr);
      if (!pids.back() && syscalls_unavailable.empty()) {
        syscalls_unavailable = "node " + std::to_string(i + 1) + " has no process on this host";
      }
      if (watches.back() && syscalls_unavailable.empty()) {
        syscalls_unavailable = watches.back()->syscalls_unavailable();
      }
    }
  }
};

// One sample of every node: /proc and the syscall count (zero when the
// process is gone or was replaced), and the node's own counters.
std::vector<node_resources> sample(cluster_driver& cl, const node_watches& w,
                                   std::vector<proc_times>* times) {
  std::vector<node_resources> out;
  times->assign(cl.size(), proc_times{});
  for (std::size_t i = 0; i < cl.size(); ++i) {
    node_resources r;
    r.id = i + 1;
    const bool same_process = w.watches[i] && cl.host_pid(i) == w.pids[i];
    if (same_process) {
      if (base::result<process_watch::sample> s = w.watches[i]->take(); s.ok()) {
        (*times)[i] = s->times;
        r.cpu_user_s = static_cast<double>(s->times.user_us) / 1e6;
        r.cpu_system_s = static_cast<double>(s->times.system_us) / 1e6;
        r.voluntary_switches = s->times.voluntary_switches;
        r.involuntary_switches = s->times.involuntary_switches;
        r.syscalls = s->syscalls;
        r.syscalls_counted = s->syscalls_ok;
      }
    }
    if (auto s = cl.status(i)) {
      const auto& m = s->counters();
      auto get = [&](const char* k) { return m.count(k) ? m.at(k) : 0; };
      r.fdatasyncs = get("fdatasyncs");
      r.bytes_written = get("bytes_written");
    }
    out.push_back(r);
  }
  return out;
}

// Pre-signed batches: signing happens before the clock starts, so it does
// not take CPU from the nodes in the measured window.
std::vector<std::vector<nodepb::SubmitRequest>> presign(const cell& c, std::uint32_t clients,
                                                        double seconds, std::size_t index) {
  const double per_tick = static_cast<double>(c.rate_tps) / 100.0 / clients;  // a batch every 10 ms
  const auto ticks = static_cast<std::size_t>(seconds * 100.0);
  std::vector<std::vector<nodepb::SubmitRequest>> out(clients);
  for (std::uint32_t k = 0; k < clients; ++k) {
    std::string seed = "harness-" + std::to_string(index) + "-" + std::to_string(k);
    seed.resize(32, '.');
    const chain::key_pair key = chain::key_pair_from_seed(seed);
    std::uint64_t nonce = 0;
    double carry = 0;
    const std::string value(c.tx_bytes > 120 ? c.tx_bytes - 120 : 1, 'v');
    for (std::size_t t = 0; t < ticks; ++t) {
      carry += per_tick;
      nodepb::SubmitRequest req;
      for (; carry >= 1; carry -= 1) {
        ++nonce;
        *req.add_txs() =
            chain::make_transaction(key, nonce, seed.substr(0, 12) + std::to_string(nonce), value);
      }
      out[k].push_back(std::move(req));
    }
  }
  return out;
}

struct load_totals {
  std::atomic<std::uint64_t> sent{0}, committed{0}, refused{0};
};

// One client: a batch every 10 ms, pipelined, answers read in between. It
// follows redirects to the leader and moves to another node when its
// connection breaks (a killed leader).
void drive(cluster_driver& cl, std::size_t first, const std::vector<nodepb::SubmitRequest>& batches,
           std::uint64_t start_us, load_totals& totals) {
  net::client c;
  std::size_t target = first;
  std::string redirect;
  std::uint64_t retry_at = 0;
  auto reconnect = [&] {
    if (monotonic_us() < retry_at) return;
    const std::string address = !redirect.empty() ? redirect : cl.client_address(target);
    redirect.clear();
    if (!c.connect(address, 300ms).ok()) {
      target = (target + 1) % cl.size();
      retry_at = monotonic_us() + 50'000;
    }
  };
  auto count = [&](const nodepb::ClientResponse& r) {
    for (const auto& t : r.submit().results()) {
      if (t.code() == nodepb::TxResult::COMMITTED) {
        totals.committed += 1;
      } else {
        totals.refused += 1;
      }
    }
    if (r.submit().results_size() > 0 &&
        r.submit().results(0).code() == nodepb::TxResult::NOT_LEADER &&
        !r.submit().leader_client().empty()) {
      redirect = cl.reachable(r.submit().leader_client());
      c.close();
    }
  };
  reconnect();
  for (std::size_t t = 0; t < batches.size(); ++t) {
    const std::uint64_t due = start_us + t * 10'000;
    for (std::uint64_t now = monotonic_us(); now < due; now = monotonic_us()) {
      if (!c.connected()) {
        reconnect();
        std::this_thread::sleep_for(1ms);
        continue;
      }
      if (auto r = c.receive(std::chrono::milliseconds((due - now) / 1000 + 1)); r.ok()) count(*r);
    }
    if (batches[t].txs_size() == 0) continue;
    if (!c.connected()) reconnect();
    nodepb::ClientRequest req;
    *req.mutable_submit() = batches[t];
    if (c.connected() && c.send(req))
      totals.sent += static_cast<std::uint64_t>(batches[t].txs_size());
  }
  // Answers for what is still waiting, for a bounded time.
  const std::uint64_t drain_until = monotonic_us() + 3'000'000;
  while (c.connected() && monotonic_us() < drain_until) {
    if (auto r = c.receive(200ms); r.ok()) count(*r);
  }
}

// Runs the faults whose start or end is due; returns true while any is
// still to start or in progress.
struct fault_runner {
  cluster_driver& cl;
  const std::vector<fault>& faults;
  std::uint64_t window_from;
  std::vector<fault_window>& windows;
  std::vector<int> state;  // 0 pending, 1 active, 2 done
  std::vector<std::size_t> target;
  // The cell's nodes; spares follow them, and the next one a replace
  // fault brings in.
  std::size_t nodes;
  std::size_t next_spare;

  std::size_t resolve(const fault& f) {
    if (f.node != "leader" && f.node != "follower") return std::stoul(f.node) - 1;
    const auto leader = cl.wait_for_leader(2s).value_or(0);
    if (f.node == "leader") return leader;
    return (leader + 1) % nodes;
  }

  // The link emulation of a delay or loss fault (all zero: heals it).
  static nodepb::LinkEmulation emulation(const fault& f, bool on) {
    nodepb::LinkEmulation e;
    if (on && f.kind == "delay") {
      e.set_delay_ms(f.delay_ms);
      e.set_jitter_ms(f.jitter_ms);
    }
    if (on && f.kind == "loss") e.set_loss_ppm(static_cast<std::uint32_t>(f.loss_percent * 1e4));
    return e;
  }

  // Replaces node i with the next spare (a process cluster's; experiment
  // files allow replace faults with engine = "processes" only).
  void replace(std::size_t i) {
    auto* pc = dynamic_cast<process_cluster*>(&cl);
    if (pc == nullptr || next_spare >= pc->size()) return;
    const std::size_t spare = next_spare++;
    base::result<add_timings> done = replace_node(*pc, i, spare, 30s);
    if (!done.ok()) {
      std::cerr << "replacing node " << i + 1 << " with node " << spare + 1 << ": "
                << done.message() << "\n";
      return;
    }
    std::cerr << "node " << i + 1 << " replaced by node " << spare + 1 << ": caught up in "
              << static_cast<int>(done->catch_up_ms) << " ms, promoted in "
              << static_cast<int>(done->promote_ms) << " ms\n";
  }

  // Starts (on) or ends a fault on node i.
  void apply(const fault& f, std::size_t i, bool on) {
    nodepb::AdminRequest a;
    if (f.kind == "kill") on ? cl.kill(i) : cl.start(i);
    if (f.kind == "pause") on ? cl.pause(i) : cl.resume(i);
    if (f.kind == "partition") cl.partition(i, on);
    if (f.kind == "delay" || f.kind == "loss") cl.emulate_around(i, emulation(f, on));
    if (f.kind == "slow_disk") a.set_barrier_delay_us(on ? f.barrier_delay_us : 0);
    if (f.kind == "replace" && on) replace(i);
    if (f.kind == "clock_skew") {
      a.set_clock_offset_ms(on ? f.clock_offset_ms : 0);
      a.set_clock_drift_ppm(on ? f.clock_drift_ppm : 0);
    }
    if (a.ByteSizeLong() > 0) (void)cl.admin(i, a);
  }

  void step(std::uint64_t now) {
    state.resize(faults.size(), 0);
    target.resize(faults.size(), 0);
    for (std::size_t k = 0; k < faults.size(); ++k) {
      const fault& f = faults[k];
      const auto start = window_from + static_cast<std::uint64_t>(f.at_s * 1e6);
      const auto end = start + static_cast<std::uint64_t>(f.duration_s * 1e6);
      if (state[k] == 0 && now >= start) {
        const std::size_t i = target[k] = resolve(f);
        apply(f, i, true);
        windows.push_back({f.kind, i + 1, monotonic_us(), 0});
        state[k] = 1;
      } else if (state[k] == 1 && now >= end) {
        const std::size_t i = target[k];
        apply(f, i, false);
        for (auto& w : windows) {
          if (w.node == i + 1 && w.kind == f.kind && w.end_us == 0) w.end_us = monotonic_us();
        }
        state[k] = 2;
      }
    }
  }
};

}  // namespace

namespace {

// The resources used between two samples of the same nodes. A node that
// did not answer at one edge (killed, partitioned) or restarted in between
// (its counters started over) shows 0 for what it could not report, not a
// negative difference.
std::vector<node_resources> used(const std::vector<node_resources>& before,
                                 const std::vector<node_resources>& after,
                                 const std::vector<proc_times>& times_before,
                                 const std::vector<proc_times>& times_after) {
  const auto delta = [](auto a, auto b) { return a >= b ? a - b : decltype(a){}; };
  std::vector<node_resources> out;
  for (std::size_t i = 0; i < after.size(); ++i) {
    node_resources d = after[i];
    d.cpu_user_s = delta(after[i].cpu_user_s, before[i].cpu_user_s);
    d.cpu_system_s = delta(after[i].cpu_system_s, before[i].cpu_system_s);
    d.voluntary_switches = delta(after[i].voluntary_switches, before[i].voluntary_switches);
    d.involuntary_switches = delta(after[i].involuntary_switches, before[i].involuntary_switches);
    d.fdatasyncs = delta(after[i].fdatasyncs, before[i].fdatasyncs);
    d.syscalls = delta(after[i].syscalls, before[i].syscalls);
    d.syscalls_counted = before[i].syscalls_counted && after[i].syscalls_counted;
    d.io_worker_cpu_s =
        static_cast<double>(times_after[i].since(times_before[i]).io_worker_total_us) / 1e6;
    d.bytes_written = delta(after[i].bytes_written, before[i].bytes_written);
    out.push_back(d);
  }
  return out;
}

// The cluster of a cell: its nodes' settings and where their data goes.
process_cluster_options cluster_options(const cell& c, const run_options& opts, std::size_t index,
                                        std::size_t spares) {
  process_cluster_options o;
  if (!opts.node_binary.empty()) o.node_binary = opts.node_binary;
  o.nodes = c.nodes;
  o.io = c.io;
  o.persistence = c.persistence;
  o.round_interval_ms = c.round_interval_ms;
  o.segment_mib = c.segment_mib;
  o.spares = spares;
  o.data_root = opts.out_dir / ("cell-" + std::to_string(index + 1));
  o.extra_args = {"--block_txs_max",     std::to_string(c.block_txs_max),
                  "--round_deadline_ms", std::to_string(c.round_deadline_ms),
                  "--election_ticks",    std::to_string(c.election_ticks),
                  "--barrier_delay_us",  std::to_string(c.barrier_delay_us),
                  "--log_level",         "warn"};
  return o;
}

// The cell's cluster in its engine: local processes, or a compose project.
base::result<std::unique_ptr<cluster_driver>> make_cluster(const experiment& e, const cell& c,
                                                           const run_options& opts,
                                                           std::size_t index) {
  // A spare for each replace fault.
  const auto spares = static_cast<std::size_t>(std::count_if(
      e.faults.begin(), e.faults.end(), [](const fault& f) { return f.kind == "replace"; }));
  const process_cluster_options o = cluster_options(c, opts, index, spares);
  if (e.engine != "compose") return std::unique_ptr<cluster_driver>(new process_cluster(o));
  compose_cluster_options co;
  co.nodes = c.nodes;
  co.dir = o.data_root;
  co.node_flags = {"--io",
                   c.io,
                   "--persistence",
                   c.persistence,
                   "--round_interval_ms",
                   std::to_string(c.round_interval_ms)};
  co.node_flags.insert(co.node_flags.end(), o.extra_args.begin(), o.extra_args.end());
  base::result<std::unique_ptr<compose_cluster>> made = compose_cluster::create(co);
  if (!made.ok()) return base::fail(made.message());
  return std::unique_ptr<cluster_driver>(std::move(*made));
}

}  // namespace

cell_report run_cell(const experiment& e, const cell& c, const run_options& opts,
                     std::size_t index) {
  cell_report res = start_report(c);
  const auto batches = presign(c, e.clients, e.warmup_s + e.duration_s, index);
  base::result<std::unique_ptr<cluster_driver>> made = make_cluster(e, c, opts, index);
  if (!made.ok()) {
    res.error = made.message();
    return res;
  }
  cluster_driver& cl = **made;
  cl.start_all();
  const auto leader = cl.wait_for_leader(e.engine == "compose" ? 90s : 15s);
  if (!leader) {
    res.error = "no leader within the start-up bound";
    return res;
  }
  res.leader = *leader + 1;
  load_totals totals;
  const std::uint64_t start_us = monotonic_us() + 20'000;
  const std::uint64_t window_from = start_us + static_cast<std::uint64_t>(e.warmup_s * 1e6);
  const std::uint64_t window_to = window_from + static_cast<std::uint64_t>(e.duration_s * 1e6);
  std::vector<std::thread> threads;
  for (std::uint32_t k = 0; k < e.clients; ++k) {
    threads.emplace_back([&, k] { drive(cl, *leader, batches[k], start_us, totals); });
  }
  // Resources at the window's edges; faults in between, on this thread.
  while (monotonic_us() < window_from) std::this_thread::sleep_for(5ms);
  const node_watches watches(cl);
  std::vector<proc_times> times_before, times_after;
  const auto before = sample(cl, watches, &times_before);
  fault_runner faults{cl, e.faults, window_from, res.faults, {}, {}, c.nodes, c.nodes};
  while (monotonic_us() < window_to) {
    faults.step(monotonic_us());
    std::this_thread::sleep_for(5ms);
  }
  // Faults that outlast the window end with it (a fault still waiting to
  // start starts and ends at once).
  faults.step(std::numeric_limits<std::uint64_t>::max());
  faults.step(std::numeric_limits<std::uint64_t>::max());
  const auto after = sample(cl, watches, &times_after);
  for (auto& t : threads) t.join();
  cl.stop_all();
  res.resources = used(before, after, times_before, times_after);
  res.syscalls_unavailable = watches.syscalls_unavailable;
  const double total_s = e.warmup_s + e.duration_s;
  res.offered_tps = static_cast<double>(totals.sent) / total_s;
  res.accepted_tps = static_cast<double>(totals.committed) / total_s;
  res.refused = totals.refused;
  std::vector<fs::path> traces;
  for (std::size_t i = 0; i < cl.size(); ++i) traces.push_back(cl.trace_file(i));
  res.blocks = report::read_traces(traces, window_from, window_to);
  report::measure_window(&res, window_from, window_to, std::uint64_t{c.round_interval_ms} * 1000);
  return res;
}

}  // namespace ringchain::harness
