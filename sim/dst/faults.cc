#include "sim/dst/faults.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "sim/dst/sim_io.h"
#include "sim/dst/sim_network.h"

namespace ringchain::dst {

namespace {

// One fault kind: its name, where its setting lives in a mix, and the
// middling intensity a bare name sets. Switches (reorder, slow_disks)
// take no value.
struct kind_info {
  fault_kind kind;
  const char* name;
  double fault_mix::*rate;  // null for a switch
  bool fault_mix::*flag;    // null for a rate
  double middling;
  double max;  // probabilities stop at 1; rates per second at 100
};

// In fault_kind order: spec() prints kinds in this order.
const kind_info kinds_table[] = {
    {fault_kind::loss, "loss", &fault_mix::loss, nullptr, 0.02, 1},
    {fault_kind::duplicate, "duplicate", &fault_mix::duplicate, nullptr, 0.02, 1},
    {fault_kind::reorder, "reorder", nullptr, &fault_mix::reorder, 0, 0},
    {fault_kind::partition, "partition", &fault_mix::partition_per_s, nullptr, 0.2, 100},
    {fault_kind::asymmetric, "asymmetric", &fault_mix::asymmetric_per_s, nullptr, 0.2, 100},
    {fault_kind::isolate_leader, "isolate_leader", &fault_mix::isolate_leader_per_s, nullptr, 0.1,
     100},
    {fault_kind::clog, "clog", &fault_mix::clog_per_s, nullptr, 0.3, 100},
    {fault_kind::crash, "crash", &fault_mix::crash_per_s, nullptr, 0.2, 100},
    {fault_kind::pause, "pause", &fault_mix::pause_per_s, nullptr, 0.2, 100},
    {fault_kind::torn_write, "torn_write", &fault_mix::torn_write, nullptr, 0.5, 1},
    {fault_kind::barrier_error, "barrier_error", &fault_mix::barrier_error_per_s, nullptr, 0.05,
     100},
    {fault_kind::disk_full, "disk_full", &fault_mix::disk_full_per_s, nullptr, 0.05, 100},
    {fault_kind::corrupt, "corrupt", &fault_mix::corrupt, nullptr, 0.2, 1},
    {fault_kind::slow_disks, "slow_disks", nullptr, &fault_mix::slow_disks, 0, 0},
    {fault_kind::membership, "membership", &fault_mix::membership_per_s, nullptr, 0.2, 100},
};
static_assert(std::size(kinds_table) == fault_kind_count);

const kind_info& info(fault_kind k) {
  const kind_info& i = kinds_table[static_cast<std::size_t>(k)];
  RC_ASSERT_MSG(i.kind == k, "kinds_table is out of fault_kind order");
  return i;
}

// The error for an item of --faults that is not kind or kind=value.
base::error bad_value(const std::string& item, const kind_info& k) {
  std::ostringstream msg;
  msg << "\"" << item << "\": " << k.name << " takes a number above 0 and at most " << k.max
      << (k.max == 1 ? " (a probability)" : " (per second)");
  return base::fail(msg.str());
}

// Sets one item of --faults ("crash", "crash=0.5", "reorder") on `m`.
base::status parse_item(const std::string& item, fault_mix& m) {
  const auto eq = item.find('=');
  const std::string name = item.substr(0, eq);
  const std::optional<fault_kind> kind = parse_fault_kind(name);
  if (!kind) {
    std::string known;
    for (const auto& n : fault_mix::kinds()) known += " " + n;
    return base::fail("unknown fault kind \"" + name + "\"; known:" + known);
  }
  const kind_info& k = info(*kind);
  if (k.flag != nullptr) {
    if (eq != std::string::npos)
      return base::fail("\"" + name + "\" is a switch and takes no value");
    m.*(k.flag) = true;
    return {};
  }
  double v = k.middling;
  if (eq != std::string::npos) {
    const std::string value = item.substr(eq + 1);
    char* end = nullptr;
    v = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || !(v > 0) || v > k.max) return bad_value(item, k);
  }
  m.*(k.rate) = v;
  return {};
}

}  // namespace

std::string_view to_string(fault_kind k) {
  return info(k).name;
}

std::optional<fault_kind> parse_fault_kind(std::string_view name) {
  for (const kind_info& k : kinds_table) {
    if (name == k.name) return k.kind;
  }
  return std::nullopt;
}

std::vector<std::string> fault_mix::kinds() {
  std::vector<std::string> out;
  for (const kind_info& k : kinds_table) out.emplace_back(k.name);
  return out;
}

// Every kind that is on, in the table's order; values rounded to two
// digits, or exact (shortest round trip) for a replay command.
std::string fault_mix::spec(bool exact) const {
  std::string out;
  for (const kind_info& k : kinds_table) {
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
  if (on()) m.membership_per_s = r.between(0.05, 0.5);
  return m;
}

base::result<fault_mix> parse_faults(const std::string& text) {
  fault_mix m;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty() || item == "none") continue;
    if (base::status s = parse_item(item, m); !s.ok()) return base::fail(s.message());
  }
  return m;
}

// ------------------------------------------------------------ counts --

fault_counts& fault_counts::operator+=(const fault_counts& o) {
  for (std::size_t k = 0; k < fault_kind_count; ++k) n_[k] += o.n_[k];
  return *this;
}

bool fault_counts::empty() const {
  return std::all_of(n_.begin(), n_.end(), [](std::uint64_t v) { return v == 0; });
}

std::string fault_counts::summary() const {
  std::vector<std::pair<std::string_view, std::uint64_t>> named;
  for (const kind_info& k : kinds_table) {
    if ((*this)[k.kind] > 0) named.emplace_back(k.name, (*this)[k.kind]);
  }
  std::sort(named.begin(), named.end());
  std::string out;
  for (const auto& [name, n] : named) {
    out += " " + std::string(name) + " " + std::to_string(n) + ",";
  }
  if (!out.empty()) out.pop_back();
  return out;
}

// ---------------------------------------------------------- schedule --

fault_schedule::fault_schedule(sim_core& core, sim_network& network, fault_target& target,
                               const fault_mix& mix, fault_counts& counts)
    : core_(core), network_(network), target_(target), mix_(mix), counts_(counts) {}

void fault_schedule::start() {
  // This order is part of every seed's trace: each draws its first gap.
  schedule(fault_kind::crash, mix_.crash_per_s);
  schedule(fault_kind::pause, mix_.pause_per_s);
  schedule(fault_kind::partition, mix_.partition_per_s);
  schedule(fault_kind::asymmetric, mix_.asymmetric_per_s);
  schedule(fault_kind::isolate_leader, mix_.isolate_leader_per_s);
  schedule(fault_kind::clog, mix_.clog_per_s);
  schedule(fault_kind::barrier_error, mix_.barrier_error_per_s);
  schedule(fault_kind::disk_full, mix_.disk_full_per_s);
  schedule(fault_kind::membership, mix_.membership_per_s);
}

void fault_schedule::heal() {
  on_ = false;
  ++epoch_;
}

void fault_schedule::schedule(fault_kind kind, double per_s) {
  if (per_s <= 0) return;
  // Exponential gaps: a Poisson process at per_s.
  const double gap_s = -std::log(1.0 - core_.random.unit()) / per_s;
  const time_ns at = core_.events.now() + static_cast<time_ns>(gap_s * 1e9);
  core_.events.schedule(world_slot, at, [this, kind, per_s] {
    if (!on_) return;
    inject(kind);
    schedule(kind, per_s);
  });
}

void fault_schedule::later(time_ns dur, std::function<void()> undo) {
  core_.events.schedule(world_slot, core_.events.now() + dur,
                        [this, epoch = epoch_, undo = std::move(undo)] {
                          if (epoch_ == epoch) undo();
                        });
}

// Injects one fault of the kind; a fault with nothing to act on (no node
// up, no leader) is not counted.
void fault_schedule::inject(fault_kind kind) {
  rng& r = core_.random;
  const time_ns dur = ms_ns * (50 + r.below(kind == fault_kind::pause ? 2000 : 4000));
  const std::string_view name = to_string(kind);
  // The name's hash, as when kinds were strings: pinned traces keep it.
  core_.hash.add(std::hash<std::string_view>{}(name));
  bool injected = true;
  switch (kind) {
    case fault_kind::crash: {
      injected = inject_crash();
      break;
    }
    case fault_kind::pause: {
      const std::uint32_t i = target_.random_up_node();
      if ((injected = i != world_slot)) {
        target_.pause(i, core_.events.now() + dur);
        core_.note("node " + std::to_string(i + 1) + " pauses");
      }
      break;
    }
    case fault_kind::partition: inject_partition(dur); break;
    case fault_kind::asymmetric: inject_asymmetric(dur); break;
    case fault_kind::isolate_leader: injected = inject_isolate_leader(dur); break;
    case fault_kind::clog: injected = inject_clog(dur); break;
    case fault_kind::barrier_error:
    case fault_kind::disk_full: {
      const std::uint32_t i = target_.random_up_node();
      if ((injected = i != world_slot)) {
        sim_disk& d = target_.disk(i);
        kind == fault_kind::disk_full ? d.fill() : d.fail_next_barrier();
        core_.note("node " + std::to_string(i + 1) + ": " + std::string(name));
      }
      break;
    }
    case fault_kind::membership: injected = target_.replace_node(); break;
    default: break;
  }
  if (injected) ++counts_[kind];
}

bool fault_schedule::inject_crash() {
  const std::uint32_t i = target_.random_up_node();
  if (i == world_slot) return false;
  if (mix_.torn_write > 0 && core_.random.chance(0.5)) {
    // Half the crashes of a seed with torn writes strike during a write.
    target_.disk(i).crash_in_next_write();
  } else {
    target_.crash_and_restart(i, "crashes");
  }
  return true;
}

void fault_schedule::cut_for(time_ns dur,
                             std::vector<std::pair<std::uint32_t, std::uint32_t>> links) {
  for (auto [a, b] : links) network_.cut(a, b, 1);
  later(dur, [this, links] {
    for (auto [a, b] : links) network_.cut(a, b, -1);
  });
}

void fault_schedule::inject_partition(time_ns dur) {
  const std::uint32_t n = network_.nodes();
  std::vector<bool> side(n);
  for (std::uint32_t i = 0; i < n; ++i) side[i] = core_.random.chance(0.5);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> links;
  for (std::uint32_t a = 0; a < n; ++a)
    for (std::uint32_t b = 0; b < n; ++b)
      if (side[a] != side[b]) links.emplace_back(a, b);
  cut_for(dur, std::move(links));
  core_.note("partition");
}

void fault_schedule::inject_asymmetric(time_ns dur) {
  const std::uint32_t n = network_.nodes();
  std::vector<std::pair<std::uint32_t, std::uint32_t>> links;
  for (std::uint32_t k = 0; k < n; ++k) {
    const auto a = static_cast<std::uint32_t>(core_.random.below(n));
    const auto b = static_cast<std::uint32_t>(core_.random.below(n));
    if (a != b) links.emplace_back(a, b);
  }
  const std::size_t count = links.size();
  cut_for(dur, std::move(links));
  core_.note("asymmetric partition of " + std::to_string(count) + " links");
}

bool fault_schedule::inject_isolate_leader(time_ns dur) {
  const std::uint32_t l = target_.leader_slot();
  if (l == world_slot) return false;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> links;
  for (std::uint32_t b = 0; b < network_.nodes(); ++b) {
    if (b == l) continue;
    links.emplace_back(l, b);
    links.emplace_back(b, l);
  }
  cut_for(dur, std::move(links));
  core_.note("leader " + std::to_string(l + 1) + " isolated");
  return true;
}

bool fault_schedule::inject_clog(time_ns dur) {
  const std::uint32_t n = network_.nodes();
  const auto a = static_cast<std::uint32_t>(core_.random.below(n));
  const auto b = static_cast<std::uint32_t>(core_.random.below(n));
  if (a == b) return false;
  const time_ns extra = ms_ns * (10 + core_.random.below(1000));
  network_.clog(a, b, extra, true);
  later(dur, [this, a, b, extra] { network_.clog(a, b, extra, false); });
  core_.note("link " + std::to_string(a + 1) + "->" + std::to_string(b + 1) + " clogged");
  return true;
}

}  // namespace ringchain::dst
