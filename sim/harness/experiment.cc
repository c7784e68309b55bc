#include "sim/harness/experiment.h"

#include <signal.h>
#include <time.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "node/base/limits.h"
#include "node/chain/transaction.h"
#include "sim/dst/model.h"
#include "sim/harness/cluster.h"

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

// One matrix key: its name and the values it sweeps, as text.
struct axis {
  std::string key;
  std::vector<std::string> values;
};

// An integer value; a boolean is not one (toml++ would read true as 1).
std::optional<std::int64_t> integer(const toml::node& v) {
  if (v.is_boolean()) return std::nullopt;
  return v.value<std::int64_t>();
}

// Sets a non-negative integer field, refusing values it cannot hold.
template <class T>
base::status set_number(T* field, const std::string& key, const toml::node& v) {
  const auto x = integer(v);
  if (!x || *x < 0) return base::fail(key + ": expected a non-negative integer");
  if (static_cast<std::uint64_t>(*x) > std::numeric_limits<T>::max()) {
    return base::fail(key + ": " + std::to_string(*x) + " is too large");
  }
  *field = static_cast<T>(*x);
  return {};
}

// network or disk: a profile of sim/dst/model.h.
base::status set_profile(cell* c, const std::string& key, const toml::node& v) {
  auto s = v.value<std::string>();
  if (!s) return base::fail(key + ": expected a string");
  const bool network = key == "network";
  const bool known = network ? dst::find_network_profile(*s).ok() : dst::find_disk_profile(*s).ok();
  if (!known) {
    std::string names;
    for (const auto& x : network ? dst::network_profile_names() : dst::disk_profile_names())
      names += " " + x;
    return base::fail(key + ": unknown profile \"" + *s + "\"; known:" + names);
  }
  (network ? c->network : c->disk) = *s;
  return {};
}

// io or persistence: one of two names.
base::status set_choice(cell* c, const std::string& key, const toml::node& v) {
  auto s = v.value<std::string>();
  if (!s) return base::fail(key + ": expected a string");
  if (key == "io" && *s != "uring" && *s != "epoll")
    return base::fail("io: must be uring or epoll");
  if (key == "persistence" && *s != "per_block" && *s != "per_tx")
    return base::fail("persistence: must be per_block or per_tx");
  (key == "io" ? c->io : c->persistence) = *s;
  return {};
}

// Sets one of a cell's keys.
base::status set_key(cell* c, const std::string& key, const toml::node& v) {
  if (key == "nodes") {
    base::status e = set_number(&c->nodes, key, v);
    if (e.ok() && (c->nodes == 0 || c->nodes > limits::peers_max))
      e = base::fail("nodes: must be 1 to " + std::to_string(limits::peers_max));
    return e;
  }
  if (key == "network" || key == "disk") return set_profile(c, key, v);
  if (key == "io" || key == "persistence") return set_choice(c, key, v);
  if (key == "rate_tps") return set_number(&c->rate_tps, key, v);
  if (key == "tx_bytes") return set_number(&c->tx_bytes, key, v);
  if (key == "block_txs_max") return set_number(&c->block_txs_max, key, v);
  if (key == "round_interval_ms") return set_number(&c->round_interval_ms, key, v);
  if (key == "round_deadline_ms") return set_number(&c->round_deadline_ms, key, v);
  if (key == "barrier_delay_us") return set_number(&c->barrier_delay_us, key, v);
  if (key == "segment_mib") {
    base::status e = set_number(&c->segment_mib, key, v);
    if (e.ok() && (c->segment_mib < 16 || c->segment_mib > 256))
      e = base::fail("segment_mib: must be 16 to 256");
    return e;
  }
  return base::fail(key + ": unknown key");
}

std::string to_text(const toml::node& v) {
  if (auto s = v.value<std::string>()) return *s;
  if (auto i = v.value<std::int64_t>()) return std::to_string(*i);
  return "?";
}

// Sets one key of a [[faults]] table.
base::status set_fault_key(fault& f, const std::string& name, const toml::node& v) {
  if (name == "at_s" || name == "duration_s") {
    auto d = v.value<double>();
    if (!d || *d < 0) return base::fail("faults." + name + ": expected non-negative seconds");
    (name == "at_s" ? f.at_s : f.duration_s) = *d;
  } else if (name == "kind") {
    f.kind = v.value<std::string>().value_or("");
    if (f.kind != "kill" && f.kind != "pause" && f.kind != "slow_disk") {
      return base::fail("faults.kind: must be kill, pause or slow_disk");
    }
  } else if (name == "node") {
    if (auto n = integer(v)) {
      if (*n < 1) return base::fail("faults.node: node " + std::to_string(*n) + " does not exist");
      f.node = std::to_string(*n);
    } else {
      f.node = v.value<std::string>().value_or("");
      if (f.node != "leader" && f.node != "follower")
        return base::fail("faults.node: leader, follower or a number");
    }
  } else if (name == "barrier_delay_us") {
    return set_number(&f.barrier_delay_us, "faults.barrier_delay_us", v);
  } else {
    return base::fail("faults." + name + ": unknown key");
  }
  return {};
}

// The [[faults]] array.
base::result<std::vector<fault>> read_faults(const toml::node& v) {
  const auto* arr = v.as_array();
  const std::string shape = "faults: expected an array of tables ([[faults]])";
  if (arr == nullptr) return base::fail(shape);
  std::vector<fault> out;
  for (const auto& item : *arr) {
    const auto* ft = item.as_table();
    if (ft == nullptr) return base::fail(shape);
    fault f;
    for (const auto& [k, fv] : *ft) {
      if (base::status s = set_fault_key(f, std::string(k.str()), fv); !s.ok())
        return base::fail(s.message());
    }
    if (f.kind.empty()) return base::fail("faults: every fault needs a kind");
    out.push_back(f);
  }
  return out;
}

// The experiment's own keys, which apply to every cell.
bool is_experiment_key(const std::string& key) {
  static const std::set<std::string> keys = {"engine",   "seed",       "name",    "description",
                                             "warmup_s", "duration_s", "clients", "repetitions"};
  return keys.count(key) > 0;
}

// Sets one of the experiment's own keys.
base::status set_experiment_key(experiment& e, std::uint32_t& repetitions, const std::string& key,
                                const toml::node& v) {
  if (key == "engine") {
    e.engine = v.value<std::string>().value_or("");
    if (e.engine != "processes" && e.engine != "sim")
      return base::fail("engine: must be processes or sim");
  } else if (key == "seed") {
    auto n = integer(v);
    if (!n || *n < 1) return base::fail("seed: expected a positive integer");
    e.seed = static_cast<std::uint64_t>(*n);
  } else if (key == "name" || key == "description") {
    auto s = v.value<std::string>();
    if (!s) return base::fail(key + ": expected a string");
    (key == "name" ? e.name : e.description) = *s;
  } else if (key == "warmup_s" || key == "duration_s") {
    auto d = v.value<double>();
    if (!d || *d <= 0 || *d > 3600) return base::fail(key + ": expected seconds in (0, 3600]");
    (key == "warmup_s" ? e.warmup_s : e.duration_s) = *d;
  } else {
    auto n = integer(v);
    if (!n || *n < 1 || *n > 64) return base::fail(key + ": expected 1 to 64");
    (key == "clients" ? e.clients : repetitions) = static_cast<std::uint32_t>(*n);
  }
  return {};
}

// The [matrix] table's axes, each value checked on a copy of `shared`.
base::result<std::vector<axis>> read_axes(const toml::table& matrix, const cell& shared) {
  std::vector<axis> axes;
  for (const auto& [k, v] : matrix) {
    const auto* arr = v.as_array();
    if (arr == nullptr || arr->empty())
      return base::fail("matrix." + std::string(k.str()) + ": expected a non-empty array");
    axis a{std::string(k.str()), {}};
    for (const auto& x : *arr) {
      cell probe = shared;
      if (base::status s = set_key(&probe, a.key, x); !s.ok())
        return base::fail("matrix." + s.message());
      a.values.push_back(to_text(x));
    }
    axes.push_back(std::move(a));
  }
  return axes;
}

// The cartesian product of the axes over `shared`, the first axis varying
// slowest, times the repetitions.
std::vector<cell> expand(const cell& shared, const std::vector<axis>& axes,
                         std::uint32_t repetitions) {
  std::vector<cell> cells{shared};
  for (const axis& a : axes) {
    std::vector<cell> next;
    for (const cell& c : cells) {
      for (const std::string& val : a.values) {
        cell n = c;
        toml::table tmp;
        if (a.key == "io" || a.key == "persistence" || a.key == "network" || a.key == "disk") {
          tmp.insert("v", val);
        } else {
          tmp.insert("v", std::stoll(val));
        }
        const base::status s = set_key(&n, a.key, *tmp.get("v"));
        RC_ASSERT_MSG(s.ok(), "read_axes checked every value");
        n.label += (n.label.empty() ? "" : " ") + a.key + "=" + val;
        next.push_back(n);
      }
    }
    cells = std::move(next);
  }
  std::vector<cell> out;
  for (std::uint32_t r = 0; r < repetitions; ++r) {
    for (cell c : cells) {
      c.repetition = r;
      if (c.label.empty()) c.label = "default";
      if (repetitions > 1) c.label += " rep=" + std::to_string(r + 1);
      out.push_back(c);
    }
  }
  return out;
}

// What holds across cells: process counts, fault targets, the engine's
// faults.
base::status check_cells(const experiment& e) {
  for (const cell& c : e.cells) {
    if (e.engine == "processes" && c.nodes > 9) {
      return base::fail("nodes: " + std::to_string(c.nodes) +
                        " processes are too many for one machine (at most 9); engine = \"sim\" "
                        "simulates up to " +
                        std::to_string(limits::peers_max));
    }
    for (const fault& f : e.faults) {
      if (f.node == "leader" || f.node == "follower" || std::stoul(f.node) <= c.nodes) continue;
      return base::fail("faults.node: node " + f.node + " is not in a cell of " +
                        std::to_string(c.nodes) + " nodes");
    }
  }
  if (e.engine == "sim" && !e.faults.empty()) {
    return base::fail(
        "faults: [[faults]] apply to engine = \"processes\"; simulated faults are tested "
        "with ringchain-sim dst");
  }
  return {};
}

}  // namespace

base::result<experiment> load_experiment(const fs::path& file) {
  toml::table t;
  try {
    t = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    return base::fail(file.string() + ": " + std::string(e.description()) + " at line " +
                      std::to_string(e.source().begin.line));
  }
  experiment e;
  e.name = file.stem().string();
  cell shared;  // the scalar keys: every cell's settings before the matrix
  std::uint32_t repetitions = 1;
  const toml::table* matrix = nullptr;
  for (const auto& [k, v] : t) {
    const std::string key(k.str());
    base::status s;
    if (key == "matrix") {
      matrix = v.as_table();
      if (matrix == nullptr) s = base::fail("matrix: expected a table");
    } else if (key == "faults") {
      auto faults = read_faults(v);
      if (faults.ok()) e.faults = std::move(faults).value();
      s = faults.to_status();
    } else if (is_experiment_key(key)) {
      s = set_experiment_key(e, repetitions, key, v);
    } else {
      s = set_key(&shared, key, v);
    }
    if (!s.ok()) return base::fail(s.message());
  }
  std::vector<axis> axes;
  if (matrix != nullptr) {
    auto read = read_axes(*matrix, shared);
    if (!read.ok()) return base::fail(read.message());
    axes = std::move(read).value();
  }
  e.cells = expand(shared, axes, repetitions);
  if (base::status s = check_cells(e); !s.ok()) return base::fail(s.message());
  return e;
}

namespace {

// CPU seconds and context switches of a process, from /proc.
node_resources read_proc(pid_t pid) {
  node_resources r;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(stat)), {});
  const auto close = s.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(s.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; in >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) {
        stime = std::stod(field);
        break;
      }
    }
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    r.cpu_user_s = utime / hz;
    r.cpu_system_s = stime / hz;
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
      r.voluntary_switches = std::stoull(line.substr(24));
    if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
      r.involuntary_switches = std::stoull(line.substr(27));
  }
  return r;
}

std::vector<node_resources> sample(process_cluster& cl) {
  std::vector<node_resources> out;
  for (std::size_t i = 0; i < cl.size(); ++i) {
    node_resources r = cl.running(i) ? read_proc(cl.pid(i)) : node_resources{};
    r.id = i + 1;
    if (auto s = cl.status(i)) {
      const auto& m = s->counters();
      auto get = [&](const char* k) { return m.count(k) ? m.at(k) : 0; };
      r.fdatasyncs = get("fdatasyncs");
      r.io_enter_calls = get("io_enter_calls");
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
void drive(process_cluster& cl, std::size_t first,
           const std::vector<nodepb::SubmitRequest>& batches, std::uint64_t start_us,
           load_totals& totals) {
  net::client c;
  std::size_t target = first;
  std::string redirect;
  std::uint64_t retry_at = 0;
  auto reconnect = [&] {
    if (monotonic_us() < retry_at) return;
    const std::string address = !redirect.empty() ? redirect : cl.client_address(target);
    redirect.clear();
    if (!c.connect(address, 300ms).empty()) {
      target = (target + 1) % cl.size();
      retry_at = monotonic_us() + 50'000;
    }
  };
  std::string err;
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
      redirect = r.submit().leader_client();
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
      if (auto r = c.receive(std::chrono::milliseconds((due - now) / 1000 + 1), &err)) count(*r);
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
    if (auto r = c.receive(200ms, &err)) count(*r);
  }
}

// Runs the faults whose start or end is due; returns true while any is
// still to start or in progress.
struct fault_runner {
  process_cluster& cl;
  const std::vector<fault>& faults;
  std::uint64_t window_from;
  std::vector<fault_window>& windows;
  std::vector<int> state;  // 0 pending, 1 active, 2 done
  std::vector<std::size_t> target;

  std::size_t resolve(const fault& f) {
    if (f.node != "leader" && f.node != "follower") return std::stoul(f.node) - 1;
    const auto leader = cl.wait_for_leader(2s).value_or(0);
    if (f.node == "leader") return leader;
    return (leader + 1) % cl.size();
  }

  void admin_delay(std::size_t i, std::uint32_t us) {
    net::client c;
    if (!c.connect(cl.client_address(i), 500ms).empty()) return;
    nodepb::ClientRequest req;
    req.mutable_admin()->set_barrier_delay_us(us);
    std::string err;
    c.call(req, 1s, &err);
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
        if (f.kind == "kill") cl.kill(i);
        if (f.kind == "pause") ::kill(cl.pid(i), SIGSTOP);
        if (f.kind == "slow_disk") admin_delay(i, f.barrier_delay_us);
        windows.push_back({f.kind, i + 1, monotonic_us(), 0});
        state[k] = 1;
      } else if (state[k] == 1 && now >= end) {
        const std::size_t i = target[k];
        if (f.kind == "kill") cl.start(i);
        if (f.kind == "pause") ::kill(cl.pid(i), SIGCONT);
        if (f.kind == "slow_disk") admin_delay(i, 0);
        for (auto& w : windows) {
          if (w.node == i + 1 && w.kind == f.kind && w.end_us == 0) w.end_us = monotonic_us();
        }
        state[k] = 2;
      }
    }
  }
};

}  // namespace

cell_report run_cell(const experiment& e, const cell& c, const run_options& opts,
                     std::size_t index) {
  cell_report res;
  res.label = c.label;
  res.nodes = c.nodes;
  res.io = c.io;
  res.persistence = c.persistence;
  res.round_deadline_ms = c.round_deadline_ms;
  res.txs_per_block = c.block_txs_max;
  res.barrier_delay_us = c.barrier_delay_us;
  process_cluster_options o;
  if (!opts.node_binary.empty()) o.node_binary = opts.node_binary;
  o.nodes = c.nodes;
  o.io = c.io;
  o.persistence = c.persistence;
  o.round_interval_ms = c.round_interval_ms;
  o.segment_mib = c.segment_mib;
  o.data_root = opts.out_dir / ("cell-" + std::to_string(index + 1));
  o.extra_args = {"--block_txs_max",     std::to_string(c.block_txs_max),
                  "--round_deadline_ms", std::to_string(c.round_deadline_ms),
                  "--barrier_delay_us",  std::to_string(c.barrier_delay_us),
                  "--log_level",         "warn"};
  const auto batches = presign(c, e.clients, e.warmup_s + e.duration_s, index);
  process_cluster cl(o);
  cl.start_all();
  const auto leader = cl.wait_for_leader(15s);
  if (!leader) {
    res.error = "no leader within 15 s";
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
  const auto before = sample(cl);
  fault_runner faults{cl, e.faults, window_from, res.faults, {}, {}};
  while (monotonic_us() < window_to) {
    faults.step(monotonic_us());
    std::this_thread::sleep_for(5ms);
  }
  // Faults that outlast the window end with it.
  faults.step(std::numeric_limits<std::uint64_t>::max());
  const auto after = sample(cl);
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < cl.size(); ++i) cl.stop(i);
  for (std::size_t i = 0; i < after.size(); ++i) {
    node_resources d = after[i];
    d.cpu_user_s -= before[i].cpu_user_s;
    d.cpu_system_s -= before[i].cpu_system_s;
    d.voluntary_switches -= before[i].voluntary_switches;
    d.involuntary_switches -= before[i].involuntary_switches;
    d.fdatasyncs -= before[i].fdatasyncs;
    d.io_enter_calls -= before[i].io_enter_calls;
    d.bytes_written -= before[i].bytes_written;
    res.resources.push_back(d);
  }
  const double total_s = e.warmup_s + e.duration_s;
  res.offered_tps = static_cast<double>(totals.sent) / total_s;
  res.accepted_tps = static_cast<double>(totals.committed) / total_s;
  res.refused = totals.refused;
  std::vector<fs::path> traces;
  for (std::size_t i = 0; i < cl.size(); ++i) traces.push_back(cl.data_dir(i) / "trace.jsonl");
  res.blocks = report::read_traces(traces, window_from, window_to);
  report::measure_window(&res, window_from, window_to, std::uint64_t{c.round_interval_ms} * 1000);
  return res;
}

}  // namespace ringchain::harness
