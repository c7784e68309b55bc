// The simulator's models: its random numbers, latency distributions, and
// the network and disk profiles experiments choose from.
//
// Every random choice of a simulation is drawn from one rng seeded by the
// run's seed, with transforms written here (the standard library's
// distributions differ between implementations; these do not).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ringchain::dst {

class rng {
 public:
  explicit rng(std::uint64_t seed) : g_(seed) {}
  std::uint64_t next() { return g_(); }
  // Uniform in [0, n); 0 when n is 0.
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double between(double lo, double hi) { return lo + (hi - lo) * unit(); }
  bool chance(double p) { return p > 0 && unit() < p; }
  // Standard normal (Box-Muller).
  double normal();

 private:
  std::mt19937_64 g_;
};

// A latency distribution given by its median and 99th percentile, in
// microseconds: log-normal through both points (a constant when p99 <= p50).
// Measured figures (block_log_bench, cluster_bench) plug in directly.
struct latency {
  double p50_us = 0;
  double p99_us = 0;
  // A sample in nanoseconds.
  std::uint64_t sample_ns(rng& r) const;
};

// A network: one-way delays inside a region and between regions, and each
// node's outgoing bandwidth (a message occupies its sender's link for
// bytes / bandwidth before it travels).
struct network_profile {
  std::string name;
  std::string description;
  latency local;  // one way, within a region
  // Round trips between regions in milliseconds (regions x regions; the
  // diagonal unused), and jitter as the p99 / p50 ratio of the one-way
  // delay between regions.
  std::vector<std::vector<double>> region_rtt_ms;
  double wan_jitter = 1.1;
  double gbit_per_s = 10;
  std::size_t regions() const { return region_rtt_ms.empty() ? 1 : region_rtt_ms.size(); }
  // Nodes are placed in regions round-robin: node i in region (i-1) % regions.
  std::size_t region_of(std::uint64_t node) const { return (node - 1) % regions(); }
  latency between(std::uint64_t from, std::uint64_t to) const;
};

// A disk: the latency of one write and its barrier (fdatasync), plus the
// time to move the bytes.
struct disk_profile {
  std::string name;
  std::string description;
  latency barrier;
  double mb_per_s = 1000;
  std::uint64_t write_ns(rng& r, std::uint64_t bytes) const;
};

// The named profiles; false when the name is unknown.
bool find_network_profile(const std::string& name, network_profile* out);
bool find_disk_profile(const std::string& name, disk_profile* out);
std::vector<std::string> network_profile_names();
std::vector<std::string> disk_profile_names();

}  // namespace ringchain::dst
