#include "sim/dst/machine.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ringchain::dst {

namespace {

// The [cpu] keys, with the field each sets and the comment it gets.
struct cpu_key {
  const char* name;
  double cpu_profile::*field;
  const char* comment;
};

const cpu_key cpu_keys[] = {
    {"verify_us", &cpu_profile::verify_us, "Ed25519 check of one transaction's signature"},
    {"sha256_us", &cpu_profile::sha256_us, "a transaction's hash (SHA-256)"},
    {"merkle_us", &cpu_profile::merkle_us, "per leaf: the Merkle tree's inner hashes"},
    {"encode_us", &cpu_profile::encode_us, "per transaction: encoding a block"},
    {"decode_us", &cpu_profile::decode_us, "per transaction: decoding a block"},
    {"apply_us", &cpu_profile::apply_us, "per transaction: the ledger's apply"},
    {"message_us", &cpu_profile::message_us,
     "per consensus message: encode, decode, a send and a receive"},
    {"message_kib_us", &cpu_profile::message_kib_us, "per KiB of a message: its bytes' copies"},
    {"stretch", &cpu_profile::stretch,
     "wall time / CPU time of a short burst of work after a wake-up"},
};

// The [[node]] keys, as cpu_keys.
struct node_key {
  const char* name;
  double node_costs::*field;
  const char* comment;
  // Whether a profile may lack it (0 then): keys added since the first
  // node probe.
  bool optional = false;
};

const node_key node_keys[] = {
    {"build_us", &node_costs::build_us, "the leader's build, per block"},
    {"build_tx_us", &node_costs::build_tx_us, "... and per transaction"},
    {"write_us", &node_costs::write_us, "a log write beyond the disk's time, per write"},
    {"write_kib_us", &node_costs::write_kib_us, "... and per KiB"},
    {"write_load_us", &node_costs::write_load_us,
     "... and per 1,000 tx/s applied on the machine, per core", true},
    {"leader_write_us", &node_costs::leader_write_us, "the leader's log write beyond the disk's",
     true},
    {"leader_write_kib_us", &node_costs::leader_write_kib_us, "... and per KiB", true},
    {"leader_write_load_us", &node_costs::leader_write_load_us,
     "... and per 1,000 tx/s applied on the machine, per core", true},
    {"part_us", &node_costs::part_us, "a per_tx write's part beyond the disk's time", true},
    {"apply_us", &node_costs::apply_us, "the apply, per block"},
    {"apply_tx_us", &node_costs::apply_tx_us, "... and per transaction"},
    {"message_us", &node_costs::message_us, "a consensus message, sender and receiver"},
    {"message_kib_us", &node_costs::message_kib_us, "... and per KiB"},
};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// `v` as the profile file holds it: printed by number() and read back.
double as_written(double v) {
  return std::strtod(number(v).c_str(), nullptr);
}

std::string numbers(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i == 0 ? "" : ", ") + number(v[i]);
  return out + "]";
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// A non-negative number at `key` of table `t` (integers read as numbers).
base::status read_number(const toml::table& t, const std::string& where, const char* key,
                         double* out) {
  const toml::node* v = t.get(key);
  if (v == nullptr) return base::fail(where + key + ": missing");
  const auto d = v->value<double>();
  if (!d || !std::isfinite(*d) || *d < 0) {
    return base::fail(where + key + ": expected a non-negative number");
  }
  *out = *d;
  return {};
}

// An array of quantile_count non-decreasing, non-negative numbers (of
// `unit`).
base::status read_quantiles(const toml::table& t, const std::string& key, std::vector<double>* out,
                            const std::string& unit = "microseconds") {
  const toml::array* a = t[key].as_array();
  const std::string shape =
      key + ": expected " + std::to_string(quantile_count) + " non-decreasing " + unit;
  if (a == nullptr || a->size() != quantile_count) return base::fail(shape);
  for (const toml::node& n : *a) {
    const auto v = n.value<double>();
    if (!v || *v < 0 || (!out->empty() && *v < out->back())) return base::fail(shape);
    out->push_back(*v);
  }
  return {};
}

base::status read_cpu(const toml::table& t, cpu_profile* c) {
  double cores = 0, tx_bytes = 0;
  if (base::status s = read_number(t, "cpu.", "cores", &cores); !s.ok()) return s;
  if (base::status s = read_number(t, "cpu.", "tx_bytes", &tx_bytes); !s.ok()) return s;
  if (cores < 1 || cores > 1024) return base::fail("cpu.cores: expected 1 to 1024");
  c->cores = static_cast<std::uint32_t>(cores);
  c->tx_bytes = static_cast<std::uint32_t>(tx_bytes);
  for (const cpu_key& k : cpu_keys) {
    if (base::status s = read_number(t, "cpu.", k.name, &(c->*k.field)); !s.ok()) return s;
  }
  if (c->stretch < 1) return base::fail("cpu.stretch: expected at least 1");
  if (base::status s = read_quantiles(t, "wakeup_quantiles_us", &c->wakeup.quantiles_us); !s.ok())
    return base::fail("cpu." + s.message());
  c->wakeup.p50_us = c->wakeup.quantiles_us[quantile_count / 2];
  return {};
}

base::status read_disk(const toml::array& a, std::vector<disk_sample>* out) {
  for (const toml::node& n : a) {
    const toml::table* t = n.as_table();
    if (t == nullptr) return base::fail("disk: expected an array of tables ([[disk]])");
    disk_sample d;
    d.io = (*t)["io"].value_or(std::string());
    if (d.io != "uring" && d.io != "epoll") return base::fail("disk.io: must be uring or epoll");
    double writers = 0, bytes = 0;
    base::status s = read_number(*t, "disk.", "writers", &writers);
    if (s.ok()) s = read_number(*t, "disk.", "bytes", &bytes);
    if (s.ok()) s = read_number(*t, "disk.", "p50_us", &d.p50_us);
    if (s.ok()) s = read_number(*t, "disk.", "p90_us", &d.p90_us);
    if (s.ok()) s = read_number(*t, "disk.", "p99_us", &d.p99_us);
    if (s.ok()) s = read_number(*t, "disk.", "mean_us", &d.mean_us);
    if (s.ok()) s = read_quantiles(*t, "quantiles_us", &d.quantiles_us);
    if (!s.ok()) return s;
    if (writers < 1 || bytes < 1) return base::fail("disk: writers and bytes must be at least 1");
    d.writers = static_cast<std::uint32_t>(writers);
    d.bytes = static_cast<std::uint64_t>(bytes);
    out->push_back(d);
  }
  if (out->empty()) return base::fail("disk: no measurement");
  return {};
}

base::status read_node(const toml::array& a, std::vector<node_costs>* out) {
  for (const toml::node& n : a) {
    const toml::table* t = n.as_table();
    if (t == nullptr) return base::fail("node: expected an array of tables ([[node]])");
    node_costs c;
    c.io = (*t)["io"].value_or(std::string());
    if (c.io != "uring" && c.io != "epoll") return base::fail("node.io: must be uring or epoll");
    double blocks = 0;
    if (base::status s = read_number(*t, "node.", "blocks", &blocks); !s.ok()) return s;
    if (blocks < 1) return base::fail("node.blocks: expected at least 1");
    c.blocks = static_cast<std::uint32_t>(std::min(blocks, 1e9));
    for (const node_key& k : node_keys) {
      if (k.optional && t->get(k.name) == nullptr) continue;
      if (base::status s = read_number(*t, "node.", k.name, &(c.*k.field)); !s.ok()) return s;
    }
    for (const auto& [key, spread] : {std::pair{"write_spread", &c.write_spread},
                                      std::pair{"leader_write_spread", &c.leader_write_spread}}) {
      if (t->get(key) == nullptr) continue;
      if (base::status s = read_quantiles(*t, key, spread, "ratios"); !s.ok()) {
        return base::fail("node." + s.message());
      }
    }
    out->push_back(c);
  }
  return {};
}

}  // namespace

node_costs machine_profile::node_for(const std::string& io) const {
  for (const node_costs& c : node) {
    if (c.io == io) return c;
  }
  return {};
}

std::uint32_t machine_profile::writers_max() const {
  std::uint32_t w = 1;
  for (const disk_sample& d : disk) w = std::max(w, d.writers);
  return w;
}

double disk_factor(const machine_profile& m, const std::vector<disk_sample>& now,
                   std::uint32_t writers, std::uint64_t bytes) {
  // By writer count measured now: the ratio at the size nearest `bytes`.
  std::vector<std::pair<double, double>> by_writers;
  for (const disk_sample& n : now) {
    if (n.p50_us <= 0 || n.bytes == 0) continue;
    const disk_sample* nearest = nullptr;
    for (const disk_sample& o : now) {
      if (o.writers != n.writers || o.io != n.io || o.p50_us <= 0 || o.bytes == 0) continue;
      const auto gap = [bytes](std::uint64_t b) {
        return std::fabs(std::log(static_cast<double>(b) / static_cast<double>(bytes)));
      };
      if (nearest == nullptr || gap(o.bytes) < gap(nearest->bytes)) nearest = &o;
    }
    if (nearest != &n) continue;
    for (const disk_sample& p : m.disk) {
      if (p.io == n.io && p.writers == n.writers && p.bytes == n.bytes && p.p50_us > 0) {
        by_writers.emplace_back(n.writers, n.p50_us / p.p50_us);
      }
    }
  }
  if (by_writers.empty()) return 1;
  std::sort(by_writers.begin(), by_writers.end());
  const auto w = static_cast<double>(writers);
  if (w <= by_writers.front().first) return by_writers.front().second;
  if (w >= by_writers.back().first) return by_writers.back().second;
  for (std::size_t i = 1; i < by_writers.size(); ++i) {
    const auto [w1, f1] = by_writers[i];
    const auto [w0, f0] = by_writers[i - 1];
    if (w > w1) continue;
    const double t = (std::log(w) - std::log(w0)) / (std::log(w1) - std::log(w0));
    return std::exp(std::log(f0) + t * (std::log(f1) - std::log(f0)));
  }
  return by_writers.back().second;
}

machine_profile with_disk_now(const machine_profile& m, const std::vector<disk_sample>& now) {
  machine_profile out = m;
  out.disk_checked = now;
  for (disk_sample& d : out.disk_checked) {
    for (double* v : {&d.p50_us, &d.p90_us, &d.p99_us, &d.mean_us}) *v = as_written(*v);
    for (double& q : d.quantiles_us) q = as_written(q);
  }
  const std::vector<disk_sample>& checked = out.disk_checked;
  for (disk_sample& d : out.disk) {
    const double f = disk_factor(m, checked, d.writers, d.bytes);
    for (double* v : {&d.p50_us, &d.p90_us, &d.p99_us, &d.mean_us}) *v *= f;
    for (double& q : d.quantiles_us) q *= f;
  }
  return out;
}

disk_profile machine_profile::disk_for(const std::string& io, std::uint32_t writers) const {
  bool measured = false;
  for (const disk_sample& d : disk) measured |= d.io == io;
  const std::string& backend = measured ? io : disk.front().io;
  // The nearest writer count measured, the fewer on a tie.
  std::uint32_t best = 0;
  for (const disk_sample& d : disk) {
    if (d.io != backend) continue;
    const auto gap = [writers](std::uint32_t w) { return w > writers ? w - writers : writers - w; };
    if (best == 0 || gap(d.writers) < gap(best) ||
        (gap(d.writers) == gap(best) && d.writers < best))
      best = d.writers;
  }
  disk_profile p;
  p.name = name + "/" + backend + (writers > 1 ? "/" + std::to_string(best) + "_writers" : "");
  p.description = "calibrated: write + fdatasync through " + backend + ", " + std::to_string(best) +
                  " writer(s) at once";
  for (const disk_sample& d : disk) {
    if (d.io != backend || d.writers != best) continue;
    p.by_size.push_back({d.bytes, {d.p50_us, d.p99_us, d.quantiles_us}});
    if (p.by_size.size() == 1 || d.bytes < 8192) p.barrier = p.by_size.back().write;
  }
  return p;
}

std::uint32_t machine_profile::disk_parallelism(const std::string& io) const {
  bool measured = false;
  for (const disk_sample& d : disk) measured |= d.io == io;
  const std::string& backend = measured ? io : disk.front().io;
  std::uint64_t bytes = 0;
  for (const disk_sample& d : disk) {
    if (d.io == backend) bytes = std::max(bytes, d.bytes);
  }
  const disk_sample* one = nullptr;
  const disk_sample* most = nullptr;
  for (const disk_sample& d : disk) {
    if (d.io != backend || d.bytes != bytes) continue;
    if (d.writers == 1) one = &d;
    if (most == nullptr || d.writers > most->writers) most = &d;
  }
  if (one == nullptr || most == nullptr || most->mean_us <= 0) return 1;
  const double parallel = static_cast<double>(most->writers) * one->mean_us / most->mean_us;
  return std::max<std::uint32_t>(1, static_cast<std::uint32_t>(std::lround(parallel)));
}

network_profile machine_profile::network() const {
  network_profile n;
  n.name = name;
  n.description = "calibrated: loopback TCP";
  n.local = {rtt_p50_us / 2, rtt_p99_us / 2};
  n.gbit_per_s = gbit_per_s > 0 ? gbit_per_s : 10;
  return n;
}

std::string to_toml(const machine_profile& m) {
  std::ostringstream o;
  o << "# A machine profile (ringchain-sim calibrate). Experiments name it with\n"
       "# machine = \"FILE\"; sim/dst/machine.h describes every key.\n"
    << "name = " << quoted(m.name) << "\n"
    << "description = " << quoted(m.description) << "\n\n"
    << "# CPU time on one core, microseconds, for transactions of tx_bytes.\n[cpu]\n"
    << "cores = " << m.cpu.cores << "\ntx_bytes = " << m.cpu.tx_bytes << "\n";
  for (const cpu_key& k : cpu_keys) {
    o << k.name << " = " << number(m.cpu.*k.field) << "  # " << k.comment << "\n";
  }
  o << "# a sleeping thread's wake-up latency: the minimum, every 5%, p99 and p99.9\n"
    << "wakeup_quantiles_us = " << numbers(m.cpu.wakeup.quantiles_us) << "\n";
  o << "\n# Loopback TCP: a small message's round trip, and one stream's bandwidth.\n"
    << "[network]\nrtt_p50_us = " << number(m.rtt_p50_us)
    << "\nrtt_p99_us = " << number(m.rtt_p99_us) << "\ngbit_per_s = " << number(m.gbit_per_s)
    << "\n\n# write + fdatasync of `bytes` into zero-filled space through the `io` reactor,\n"
       "# `writers` threads at once (512 bytes: parts of per-transaction chains);\n"
       "# quantiles_us: the minimum, every 5%, p99 and p99.9.\n";
  for (const disk_sample& d : m.disk) {
    o << "[[disk]]\nio = " << quoted(d.io) << "\nwriters = " << d.writers << "\nbytes = " << d.bytes
      << "\np50_us = " << number(d.p50_us) << "\np90_us = " << number(d.p90_us)
      << "\np99_us = " << number(d.p99_us) << "\nmean_us = " << number(d.mean_us)
      << "\nquantiles_us = " << numbers(d.quantiles_us) << "\n";
  }
  if (!m.node.empty()) {
    o << "\n# The node's own phases, fitted from a cluster of its processes on this\n"
         "# machine: microseconds per block and per transaction of the block.\n";
  }
  for (const node_costs& c : m.node) {
    o << "[[node]]\nio = " << quoted(c.io) << "\nblocks = " << c.blocks << "\n";
    for (const node_key& k : node_keys) {
      o << k.name << " = " << number(c.*k.field) << "  # " << k.comment << "\n";
    }
    if (!c.write_spread.empty()) {
      o << "# A write's time beyond the disk's over its run's median, at the quantiles.\n"
        << "write_spread = " << numbers(c.write_spread) << "\n";
    }
    if (!c.leader_write_spread.empty()) {
      o << "leader_write_spread = " << numbers(c.leader_write_spread) << "\n";
    }
  }
  if (!m.disk_checked.empty()) {
    o << "\n# The disk as checked around one cell's run of a validation: the figures\n"
         "# above are scaled to it (ringchain-sim validate; --again scales alike).\n";
  }
  for (const disk_sample& d : m.disk_checked) {
    o << "[[disk_checked]]\nio = " << quoted(d.io) << "\nwriters = " << d.writers
      << "\nbytes = " << d.bytes << "\np50_us = " << number(d.p50_us)
      << "\np90_us = " << number(d.p90_us) << "\np99_us = " << number(d.p99_us)
      << "\nmean_us = " << number(d.mean_us) << "\nquantiles_us = " << numbers(d.quantiles_us)
      << "\n";
  }
  return o.str();
}

base::result<machine_profile> parse_machine(const std::string& text) {
  toml::table t;
  try {
    t = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return base::fail(std::string(e.description()) + " at line " +
                      std::to_string(e.source().begin.line));
  }
  machine_profile m;
  m.name = t["name"].value_or(std::string("calibrated"));
  m.description = t["description"].value_or(std::string());
  const toml::table* cpu = t["cpu"].as_table();
  const toml::table* net = t["network"].as_table();
  const toml::array* disk = t["disk"].as_array();
  if (cpu == nullptr) return base::fail("cpu: missing table [cpu]");
  if (net == nullptr) return base::fail("network: missing table [network]");
  if (disk == nullptr) return base::fail("disk: missing tables [[disk]]");
  base::status s = read_cpu(*cpu, &m.cpu);
  if (s.ok()) s = read_number(*net, "network.", "rtt_p50_us", &m.rtt_p50_us);
  if (s.ok()) s = read_number(*net, "network.", "rtt_p99_us", &m.rtt_p99_us);
  if (s.ok()) s = read_number(*net, "network.", "gbit_per_s", &m.gbit_per_s);
  if (s.ok()) s = read_disk(*disk, &m.disk);
  if (const toml::array* node = t["node"].as_array(); s.ok() && node != nullptr) {
    s = read_node(*node, &m.node);
  } else if (s.ok() && t.contains("node")) {
    s = base::fail("node: expected an array of tables ([[node]])");
  }
  if (const toml::array* checked = t["disk_checked"].as_array(); s.ok() && checked != nullptr) {
    s = read_disk(*checked, &m.disk_checked);
    if (!s.ok()) s = base::fail("disk_checked: " + s.message());
  }
  if (!s.ok()) return base::fail(s.message());
  return m;
}

base::result<machine_profile> load_machine(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return base::fail("cannot read machine profile " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  base::result<machine_profile> m = parse_machine(text.str());
  if (!m.ok()) return base::fail(file.string() + ": " + m.message());
  return m;
}

}  // namespace ringchain::dst
