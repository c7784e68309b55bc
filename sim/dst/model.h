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
#include <utility>
#include <vector>

#include "node/base/result.h"

namespace ringchain::dst {

// The simulator's random numbers: a 64-bit Mersenne Twister with the
// transforms below. One per run (and one per swarm mix), seeded from the
// seed; draws happen in event order, so a seed replays exactly.
class rng {
 public:
  // A stream seeded with `seed`.
  explicit rng(std::uint64_t seed) : g_(seed) {}
  // The next 64 random bits.
  std::uint64_t next() { return g_(); }
  // Uniform in [0, n); 0 when n is 0.
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double between(double lo, double hi) { return lo + (hi - lo) * unit(); }
  // True with probability p (no draw when p <= 0).
  bool chance(double p) { return p > 0 && unit() < p; }
  // Standard normal (Box-Muller).
  double normal();

 private:
  std::mt19937_64 g_;
};

// The probabilities at which a measured distribution is kept
// (latency::quantiles_us): the minimum, every 5%, the 99th and the 99.9th
// percentile.
inline constexpr double quantile_points[] = {0,   0.05, 0.1, 0.15, 0.2,  0.25, 0.3, 0.35,
                                             0.4, 0.45, 0.5, 0.55, 0.6,  0.65, 0.7, 0.75,
                                             0.8, 0.85, 0.9, 0.95, 0.99, 0.999};
// How many quantile_points there are.
inline constexpr std::size_t quantile_count = sizeof quantile_points / sizeof quantile_points[0];

// A draw from the distribution given by its values at quantile_points
// (non-decreasing, at least one): the inverse of the distribution, linear
// between quantiles.
double sample_quantiles(const std::vector<double>& quantiles, rng& r);

// A latency distribution given by its median and 99th percentile, in
// microseconds: log-normal through both points (a constant when p99 <= p50).
// Measured figures (block_log_bench, cluster_bench) plug in directly. Or,
// measured (a machine profile), as quantiles, which keep a distribution's
// shape (a disk whose barriers take either 0.2 or 4 ms is no log-normal).
struct latency {
  // No delay at all.
  latency() = default;
  // A distribution of median `p50`, 99th percentile `p99` and, when
  // measured, the latency at each of quantile_points (`quantiles`). A
  // constructor rather than an aggregate: GCC 12 at -O3 misreads the
  // destruction of an aggregate's defaulted vector as reading it
  // uninitialized (-Wmaybe-uninitialized).
  latency(double p50, double p99, std::vector<double> quantiles = {})
      : p50_us(p50), p99_us(p99), quantiles_us(std::move(quantiles)) {}
  // The median; 0 for no delay at all.
  double p50_us = 0;
  // The 99th percentile; at most p50_us for a constant delay.
  double p99_us = 0;
  // The latency at each of quantile_points, non-decreasing; when set,
  // samples interpolate between them (and p50_us, p99_us only describe).
  std::vector<double> quantiles_us;
  // A sample in nanoseconds.
  std::uint64_t sample_ns(rng& r) const;
};

// A network: one-way delays inside a region and between regions, and each
// node's outgoing bandwidth (a message occupies its sender's link for
// bytes / bandwidth before it travels). Fixed per run.
struct network_profile {
  // What experiments and --network call it; empty for "not chosen".
  std::string name;
  // One line for people.
  std::string description;
  // One way, within a region.
  latency local;
  // Round trips between regions in milliseconds (regions x regions; the
  // diagonal unused); empty for one region.
  std::vector<std::vector<double>> region_rtt_ms;
  // Jitter between regions: the p99 / p50 ratio of the one-way delay.
  double wan_jitter = 1.1;
  // Each node's outgoing bandwidth.
  double gbit_per_s = 10;
  // How many regions nodes are spread over.
  std::size_t regions() const { return region_rtt_ms.empty() ? 1 : region_rtt_ms.size(); }
  // Nodes are placed in regions round-robin: node i in region (i-1) % regions.
  std::size_t region_of(std::uint64_t node) const { return (node - 1) % regions(); }
  // The one-way delay from node `from` to node `to` (ids).
  latency between(std::uint64_t from, std::uint64_t to) const;
};

// A measured write + barrier latency for writes of one size.
struct sized_latency {
  // The size of the writes measured.
  std::uint64_t bytes = 0;
  // Their latency, write and barrier together.
  latency write;
};

// A disk: the latency of one write and its barrier (fdatasync), plus the
// time to move the bytes. Fixed per run.
struct disk_profile {
  // What experiments and --disk call it; empty for "not chosen".
  std::string name;
  // One line for people.
  std::string description;
  // A write's barrier.
  latency barrier;
  // The transfer rate of the bytes written.
  double mb_per_s = 1000;
  // Measured (a machine profile): write + barrier by write size; a write
  // draws from the size nearest its own (on a log scale), and `barrier`
  // and mb_per_s are unused. Empty: barrier plus bytes / mb_per_s.
  std::vector<sized_latency> by_size{};
  // A write of `bytes` with its barrier, in nanoseconds.
  std::uint64_t write_ns(rng& r, std::uint64_t bytes) const;
  // The measured size nearest `bytes` on a log scale; null without
  // by_size.
  const sized_latency* nearest(std::uint64_t bytes) const;
  // `bytes` written as `chunks` equal parts, each with its barrier, in
  // turn (the per-transaction model), in nanoseconds.
  std::uint64_t parts_ns(rng& r, std::uint64_t bytes, std::uint64_t chunks) const;
};

// The named network profile; the error says `unknown network profile "x"`.
base::result<network_profile> find_network_profile(const std::string& name);
// The named disk profile; the error says `unknown disk profile "x"`.
base::result<disk_profile> find_disk_profile(const std::string& name);
// The names of the network profiles, in a fixed order.
std::vector<std::string> network_profile_names();
// The names of the disk profiles, in a fixed order.
std::vector<std::string> disk_profile_names();

}  // namespace ringchain::dst
