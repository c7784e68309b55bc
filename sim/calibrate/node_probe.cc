#include "sim/calibrate/node_probe.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "sim/harness/experiment.h"
#include "sim/report/budget.h"

namespace ringchain::calibrate {

namespace fs = std::filesystem;

namespace {

// Points (x, y) of one run.
using points = std::vector<std::pair<double, double>>;

// A line y = at_zero + per_x * x.
struct line {
  double at_zero = 0, per_x = 0;
};

double median_of(const points& p, bool x) {
  std::vector<double> v;
  v.reserve(p.size());
  for (const auto& [px, py] : p) v.push_back(x ? px : py);
  return report::percentile(std::move(v), 50);
}

// The line through the medians of the run of least and of most x (see the
// top of node_probe.h), never below zero.
line through_medians(const std::vector<points>& runs) {
  const points* low = nullptr;
  const points* high = nullptr;
  points all;
  for (const points& p : runs) {
    if (p.empty()) continue;
    all.insert(all.end(), p.begin(), p.end());
    if (low == nullptr || median_of(p, true) < median_of(*low, true)) low = &p;
    if (high == nullptr || median_of(p, true) > median_of(*high, true)) high = &p;
  }
  if (all.empty()) return {};
  const double flat = std::max(0.0, median_of(all, false));
  if (low == high) return {flat, 0};
  const double x1 = median_of(*low, true), y1 = median_of(*low, false);
  const double x2 = median_of(*high, true), y2 = median_of(*high, false);
  if (x2 - x1 < 1e-9) return {flat, 0};
  const double slope = (y2 - y1) / (x2 - x1);
  if (slope <= 0) return {flat, 0};
  const double at_zero = y1 - slope * x1;
  if (at_zero < 0) return {0, std::max(0.0, y2) / x2};
  return {at_zero, slope};
}

// The profile's write + fdatasync p50 for `bytes` through `io` with
// `writers` at once: the nearest writer count, then the nearest size on a
// log scale.
double disk_p50_us(const dst::machine_profile& m, const std::string& io, std::uint32_t writers,
                   std::uint64_t bytes) {
  const dst::disk_sample* best = nullptr;
  const auto score = [&](const dst::disk_sample& d) {
    const double w = std::fabs(static_cast<double>(d.writers) - static_cast<double>(writers));
    const double size =
        std::fabs(std::log(static_cast<double>(std::max<std::uint64_t>(d.bytes, 1))) -
                  std::log(static_cast<double>(std::max<std::uint64_t>(bytes, 1))));
    return w * 100 + size;
  };
  for (const dst::disk_sample& d : m.disk) {
    if (d.io != io) continue;
    if (best == nullptr || score(d) < score(*best)) best = &d;
  }
  return best == nullptr ? 0 : best->p50_us;
}

}  // namespace

base::result<dst::node_costs> fit_node_costs(const std::vector<report::cell_report>& runs,
                                             const dst::machine_profile& m, const std::string& io,
                                             std::uint32_t followers) {
  std::vector<points> build, write, apply, message;
  std::uint32_t blocks = 0;
  // Microseconds per byte on the wire.
  const double wire_us_per_byte = m.gbit_per_s > 0 ? 8.0 / (m.gbit_per_s * 1000.0) : 0;
  for (const report::cell_report& run : runs) {
    if (!run.error.empty()) return base::fail("probe run " + run.label + ": " + run.error);
    build.emplace_back();
    write.emplace_back();
    apply.emplace_back();
    message.emplace_back();
    for (const report::block_record& b : run.blocks) {
      if (b.txs == 0) continue;
      const auto txs = static_cast<double>(b.txs);
      bool used = false;
      if (b.round_start_us > 0 && b.write_submitted_us >= b.round_start_us) {
        build.back().emplace_back(txs,
                                  static_cast<double>(b.write_submitted_us - b.round_start_us));
        used = true;
      }
      if (b.committed_us > 0 && b.applied_us >= b.committed_us) {
        apply.back().emplace_back(txs, static_cast<double>(b.applied_us - b.committed_us));
      }
      const double disk = disk_p50_us(m, io, followers, b.bytes);
      for (const report::block_record::follower& f : b.followers) {
        if (f.sent_us == 0 || f.acked_us < f.sent_us + f.persist_us) continue;
        write.back().emplace_back(static_cast<double>(b.bytes) / 1024.0,
                                  static_cast<double>(f.persist_us) - disk);
        const double network = static_cast<double>(f.acked_us - f.sent_us - f.persist_us) -
                               m.rtt_p50_us - wire_us_per_byte * static_cast<double>(b.bytes);
        message.back().emplace_back(static_cast<double>(b.bytes) / 1024.0, network);
      }
      if (used) ++blocks;
    }
  }
  std::size_t with_blocks = 0;
  for (const points& p : build) with_blocks += p.empty() ? 0 : 1;
  if (with_blocks < 2) {
    return base::fail("the node probe through " + io + " needs traced blocks at two loads, got " +
                      std::to_string(with_blocks));
  }
  dst::node_costs c;
  c.io = io;
  c.blocks = blocks;
  const line b = through_medians(build), wr = through_medians(write), ay = through_medians(apply),
             ms = through_medians(message);
  c.build_us = b.at_zero;
  c.build_tx_us = b.per_x;
  c.write_us = wr.at_zero;
  c.write_kib_us = wr.per_x;
  c.apply_us = ay.at_zero;
  c.apply_tx_us = ay.per_x;
  // Two messages (the append and its acknowledgement) make the network
  // phase; only the append carries the block's bytes.
  c.message_us = ms.at_zero / 2;
  c.message_kib_us = ms.per_x;
  return c;
}

base::result<std::vector<dst::node_costs>> probe_node(const dst::machine_profile& m,
                                                      const probe_options& o) {
  harness::experiment e;
  e.name = "node-probe";
  e.warmup_s = 1;
  e.duration_s = o.duration_s;
  const fs::path scratch = o.dir / ("ringchain-node-probe-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::create_directories(scratch, ec);
  if (ec) return base::fail("cannot make " + scratch.string() + ": " + ec.message());
  std::vector<dst::node_costs> out;
  std::size_t index = 0;
  base::status failed;
  for (const std::string io : {"uring", "epoll"}) {
    std::vector<report::cell_report> runs;
    for (const std::uint32_t rate : o.rates_tps) {
      harness::cell c;
      c.nodes = 3;
      c.io = io;
      c.persistence = "per_block";
      c.rate_tps = rate;
      c.tx_bytes = m.cpu.tx_bytes > 0 ? m.cpu.tx_bytes : 256;
      c.label = "io=" + io + " rate_tps=" + std::to_string(rate);
      runs.push_back(harness::run_cell(e, c, {scratch, o.node_binary}, index++));
      if (o.progress) {
        o.progress("node probe " + c.label + ": " + std::to_string(runs.back().blocks.size()) +
                   " blocks" + (runs.back().error.empty() ? "" : ", " + runs.back().error));
      }
    }
    auto fit = fit_node_costs(runs, m, io, 2);
    if (!fit.ok()) {
      failed = fit.to_status();
      break;
    }
    const dst::node_costs& n = *fit;
    if (o.progress) {
      char line[256];
      std::snprintf(line, sizeof line,
                    "node %s: build %.0f + %.2f/tx us, write %.0f + %.2f/KiB us, apply %.0f + "
                    "%.2f/tx us, message %.0f + %.2f/KiB us",
                    io.c_str(), n.build_us, n.build_tx_us, n.write_us, n.write_kib_us, n.apply_us,
                    n.apply_tx_us, n.message_us, n.message_kib_us);
      o.progress(line);
    }
    out.push_back(n);
  }
  fs::remove_all(scratch, ec);
  if (!failed.ok()) return base::fail(failed.message());
  return out;
}

}  // namespace ringchain::calibrate
