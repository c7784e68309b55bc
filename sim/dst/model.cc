#include "sim/dst/model.h"

#include <algorithm>
#include <cmath>

namespace ringchain::dst {

double rng::normal() {
  // Two uniforms in (0, 1]: log(0) is never taken.
  const double u1 = 1.0 - unit();
  const double u2 = unit();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

double sample_quantiles(const std::vector<double>& quantiles, rng& r) {
  const double u = r.unit();
  std::size_t i = 0;
  while (i + 1 < quantiles.size() && quantile_points[i + 1] <= u) ++i;
  double v = quantiles[i];
  if (i + 1 < quantiles.size()) {
    const double f = (u - quantile_points[i]) / (quantile_points[i + 1] - quantile_points[i]);
    v += f * (quantiles[i + 1] - quantiles[i]);
  }
  return v;
}

std::uint64_t latency::sample_ns(rng& r) const {
  if (!quantiles_us.empty()) {
    return static_cast<std::uint64_t>(sample_quantiles(quantiles_us, r) * 1000);
  }
  if (p50_us <= 0) return 0;
  if (p99_us <= p50_us) return static_cast<std::uint64_t>(p50_us * 1000);
  // z(0.99) = 2.3263: sigma puts the 99th percentile at p99.
  const double sigma = (std::log(p99_us) - std::log(p50_us)) / 2.3263;
  const double us = p50_us * std::exp(sigma * r.normal());
  return static_cast<std::uint64_t>(us * 1000);
}

latency network_profile::between(std::uint64_t from, std::uint64_t to) const {
  const std::size_t a = region_of(from), b = region_of(to);
  if (a == b) return local;
  const double one_way_us = region_rtt_ms[a][b] * 1000 / 2;
  return {one_way_us, one_way_us * wan_jitter};
}

const sized_latency* disk_profile::nearest(std::uint64_t bytes) const {
  const sized_latency* best = nullptr;
  const auto gap = [bytes](const sized_latency& s) {
    return std::fabs(std::log(static_cast<double>(std::max<std::uint64_t>(bytes, 1))) -
                     std::log(static_cast<double>(std::max<std::uint64_t>(s.bytes, 1))));
  };
  for (const sized_latency& s : by_size) {
    if (best == nullptr || gap(s) < gap(*best)) best = &s;
  }
  return best;
}

std::uint64_t disk_profile::write_ns(rng& r, std::uint64_t bytes) const {
  if (const sized_latency* s = nearest(bytes)) return s->write.sample_ns(r);
  const double transfer_ns = mb_per_s > 0 ? static_cast<double>(bytes) / mb_per_s * 1e3 : 0;
  return barrier.sample_ns(r) + static_cast<std::uint64_t>(transfer_ns);
}

std::uint64_t disk_profile::parts_ns(rng& r, std::uint64_t bytes, std::uint64_t chunks) const {
  chunks = std::max<std::uint64_t>(chunks, 1);
  if (!by_size.empty()) {
    std::uint64_t d = 0;
    for (std::uint64_t c = 0; c < chunks; ++c) d += write_ns(r, bytes / chunks);
    return d;
  }
  // The first write moves every byte; the others add their barriers.
  std::uint64_t d = write_ns(r, bytes);
  for (std::uint64_t c = 1; c < chunks; ++c) d += barrier.sample_ns(r);
  return d;
}

namespace {

// Round trips between three regions, as between two nearby US regions and
// Europe: 30, 80 and 150 ms.
const std::vector<std::vector<double>> three_region_rtt = {
    {0, 30, 80},
    {30, 0, 150},
    {80, 150, 0},
};

const network_profile networks[] = {
    {"same_rack", "one rack: 50 us one way (p99 200 us), 25 Gbit/s", {50, 200}, {}, 1.1, 25},
    {"one_region",
     "one cloud region across zones: 500 us one way (p99 2 ms), 10 Gbit/s",
     {500, 2000},
     {},
     1.1,
     10},
    {"three_regions",
     "three regions with 30, 80 and 150 ms round trips, 10% jitter at p99; 500 us inside a "
     "region; 5 Gbit/s",
     {500, 2000},
     three_region_rtt,
     1.1,
     5},
    {"lossy_lan",
     "a LAN with 1 ms one way and a long tail (p99 20 ms), 1 Gbit/s",
     {1000, 20000},
     {},
     1.1,
     1},
};

// Write + fdatasync latencies. this_machine is measured here
// (block_log_bench: 64 KiB write + fdatasync, p50 0.14 ms, p99 0.6 ms);
// the others are typical published figures, to be replaced by
// measurements of the hardware in question.
const disk_profile disks[] = {
    {"this_machine", "measured on the development VM: p50 0.14 ms, p99 0.6 ms", {140, 600}, 2000},
    {"nvme_plp",
     "datacenter NVMe with power-loss protection (barrier absorbed by the cache): p50 30 us, "
     "p99 100 us, 2 GB/s",
     {30, 100},
     2000},
    {"consumer_ssd",
     "consumer NVMe without power-loss protection: p50 2 ms, p99 8 ms, 1 GB/s",
     {2000, 8000},
     1000},
    {"cloud_block",
     "network block storage (EBS-like): p50 1 ms, p99 5 ms, 250 MB/s",
     {1000, 5000},
     250},
    {"spinning", "7200 rpm disk: p50 8 ms, p99 25 ms, 150 MB/s", {8000, 25000}, 150},
};

}  // namespace

base::result<network_profile> find_network_profile(const std::string& name) {
  for (const auto& n : networks) {
    if (n.name == name) return n;
  }
  return base::fail("unknown network profile \"" + name + "\"");
}

base::result<disk_profile> find_disk_profile(const std::string& name) {
  for (const auto& d : disks) {
    if (d.name == name) return d;
  }
  return base::fail("unknown disk profile \"" + name + "\"");
}

std::vector<std::string> network_profile_names() {
  std::vector<std::string> out;
  for (const auto& n : networks) out.push_back(n.name);
  return out;
}

std::vector<std::string> disk_profile_names() {
  std::vector<std::string> out;
  for (const auto& d : disks) out.push_back(d.name);
  return out;
}

}  // namespace ringchain::dst
