// Reading experiment files (experiment.h): keys, the matrix, faults.
#include <toml++/toml.h>

#include <limits>
#include <optional>
#include <set>

#include "node/base/assert.h"
#include "node/base/limits.h"
#include "sim/dst/machine.h"
#include "sim/dst/model.h"
#include "sim/harness/experiment.h"

namespace ringchain::harness {

namespace fs = std::filesystem;

namespace {

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
    if (e.ok() && (c->nodes == 0 || c->nodes > limits::sim_nodes_max))
      e = base::fail("nodes: must be 1 to " + std::to_string(limits::sim_nodes_max));
    return e;
  }
  if (key == "network" || key == "disk") return set_profile(c, key, v);
  if (key == "machine") {
    auto file = v.value<std::string>();
    if (!file || file->empty()) return base::fail("machine: expected a file name");
    c->machine = *file;
    return {};
  }
  if (key == "io" || key == "persistence") return set_choice(c, key, v);
  if (key == "rate_tps") return set_number(&c->rate_tps, key, v);
  if (key == "tx_bytes") return set_number(&c->tx_bytes, key, v);
  if (key == "block_txs_max") return set_number(&c->block_txs_max, key, v);
  if (key == "round_interval_ms") return set_number(&c->round_interval_ms, key, v);
  if (key == "round_deadline_ms") return set_number(&c->round_deadline_ms, key, v);
  if (key == "election_ticks") {
    base::status e = set_number(&c->election_ticks, key, v);
    if (e.ok() && (c->election_ticks < 2 || c->election_ticks > limits::election_ticks_max))
      e = base::fail("election_ticks: must be 2 to " + std::to_string(limits::election_ticks_max));
    return e;
  }
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
    static const std::set<std::string> kinds = {"kill",  "pause", "slow_disk",  "partition",
                                                "delay", "loss",  "clock_skew", "replace"};
    if (!kinds.count(f.kind)) {
      return base::fail(
          "faults.kind: must be kill, pause, slow_disk, partition, delay, loss, clock_skew or "
          "replace");
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
  } else if (name == "delay_ms" || name == "jitter_ms") {
    return set_number(name == "delay_ms" ? &f.delay_ms : &f.jitter_ms, "faults." + name, v);
  } else if (name == "loss_percent") {
    auto d = v.value<double>();
    if (!d || *d < 0 || *d > 100) return base::fail("faults.loss_percent: 0 to 100");
    f.loss_percent = *d;
  } else if (name == "clock_offset_ms" || name == "clock_drift_ppm") {
    auto n = integer(v);
    if (!n) return base::fail("faults." + name + ": expected a whole number");
    if (name == "clock_offset_ms") f.clock_offset_ms = *n;
    if (name == "clock_drift_ppm") f.clock_drift_ppm = static_cast<std::int32_t>(*n);
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
  static const std::set<std::string> keys = {
      "engine",          "seed",    "name",        "description",     "warmup_s",
      "duration_s",      "clients", "repetitions", "capacity_search", "capacity_probe_s",
      "capacity_max_tps"};
  return keys.count(key) > 0;
}

// Sets one of the experiment's own keys.
base::status set_experiment_key(experiment& e, std::uint32_t& repetitions, const std::string& key,
                                const toml::node& v) {
  if (key == "engine") {
    e.engine = v.value<std::string>().value_or("");
    if (e.engine != "processes" && e.engine != "sim" && e.engine != "compose")
      return base::fail("engine: must be processes, sim or compose");
  } else if (key == "seed") {
    auto n = integer(v);
    if (!n || *n < 1) return base::fail("seed: expected a positive integer");
    e.seed = static_cast<std::uint64_t>(*n);
  } else if (key == "name" || key == "description") {
    auto s = v.value<std::string>();
    if (!s) return base::fail(key + ": expected a string");
    (key == "name" ? e.name : e.description) = *s;
  } else if (key == "warmup_s" || key == "duration_s" || key == "capacity_probe_s") {
    auto d = v.value<double>();
    if (!d || *d <= 0 || *d > 3600) return base::fail(key + ": expected seconds in (0, 3600]");
    (key == "warmup_s" ? e.warmup_s : key == "duration_s" ? e.duration_s : e.capacity_probe_s) = *d;
  } else if (key == "capacity_search") {
    auto b = v.value_exact<bool>();
    if (!b) return base::fail("capacity_search: expected true or false");
    e.capacity_search = *b;
  } else if (key == "capacity_max_tps") {
    auto n = integer(v);
    if (!n || *n < 100 || *n > 1'000'000) return base::fail(key + ": expected 100 to 1000000");
    e.capacity_max_tps = static_cast<std::uint32_t>(*n);
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
        if (a.key == "io" || a.key == "persistence" || a.key == "network" || a.key == "disk" ||
            a.key == "machine") {
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
    if (e.engine == "compose" && c.nodes != 3 && c.nodes != 5 && c.nodes != 7) {
      return base::fail("nodes: engine = \"compose\" runs 3, 5 or 7 nodes (the compose files)");
    }
    if (e.engine == "processes" && c.nodes > 9) {
      return base::fail("nodes: " + std::to_string(c.nodes) +
                        " processes are too many for one machine (at most 9); engine = \"sim\" "
                        "simulates up to " +
                        std::to_string(limits::sim_nodes_max));
    }
    for (const fault& f : e.faults) {
      if (f.node == "leader" || f.node == "follower" || std::stoul(f.node) <= c.nodes) continue;
      return base::fail("faults.node: node " + f.node + " is not in a cell of " +
                        std::to_string(c.nodes) + " nodes");
    }
  }
  const bool replaces = std::any_of(e.faults.begin(), e.faults.end(),
                                    [](const fault& f) { return f.kind == "replace"; });
  if (replaces && e.engine != "processes") {
    return base::fail(
        "faults: kind = \"replace\" runs on engine = \"processes\" only (it starts spare "
        "nodes next to the cluster)");
  }
  if (e.engine == "sim" && !e.faults.empty()) {
    return base::fail(
        "faults: [[faults]] apply to engine = \"processes\" and \"compose\"; simulated "
        "faults are tested with ringchain-sim dst");
  }
  return {};
}

// Refuses keys the experiment's engine would ignore: run as given, they
// would silently not apply.
base::status check_engine_keys(const experiment& e, const std::set<std::string>& given) {
  static const std::set<std::string> processes_only = {"segment_mib", "clients"};
  static const std::set<std::string> sim_only = {"network", "disk", "seed", "machine"};
  const bool sim = e.engine == "sim";
  for (const std::string& key : given) {
    if ((sim ? processes_only : sim_only).count(key) > 0) {
      return base::fail(key + ": applies to engine = \"" + (sim ? "processes" : "sim") +
                        "\" only, not \"" + e.engine + "\"");
    }
  }
  return {};
}

// Each cell's machine profile, named relative to the experiment file:
// made absolute, and read once to check it.
base::status resolve_machines(experiment& e, const fs::path& file) {
  for (cell& c : e.cells) {
    if (c.machine.empty()) continue;
    fs::path m = c.machine;
    if (m.is_relative()) m = file.parent_path() / m;
    std::error_code ec;
    const fs::path absolute = fs::absolute(m, ec);
    c.machine = (ec ? m : absolute).lexically_normal().string();
    if (auto loaded = dst::load_machine(c.machine); !loaded.ok())
      return base::fail("machine: " + loaded.message());
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
  std::set<std::string> given;  // every key set, scalar or in the matrix
  for (const auto& [k, v] : t) {
    const std::string key(k.str());
    given.insert(key);
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
    for (const axis& a : axes) given.insert(a.key);
  }
  if (base::status s = check_engine_keys(e, given); !s.ok()) return base::fail(s.message());
  e.cells = expand(shared, axes, repetitions);
  if (base::status s = check_cells(e); !s.ok()) return base::fail(s.message());
  if (base::status s = resolve_machines(e, file); !s.ok()) return base::fail(s.message());
  return e;
}

}  // namespace ringchain::harness
