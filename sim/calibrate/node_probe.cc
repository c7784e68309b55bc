#include "sim/calibrate/node_probe.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "sim/calibrate/calibrate.h"
#include "sim/harness/experiment.h"
#include "sim/report/budget.h"

namespace ringchain::calibrate {

namespace fs = std::filesystem;

namespace {

// A block's figure: x (transactions or KiB), y (microseconds), and its
// size class (blocks of one run and class are alike).
struct point {
  double x = 0, y = 0;
  std::uint64_t size_class = 0;
};
// The points of one run.
using points = std::vector<point>;

// A line y = at_zero + per_x * x.
struct line {
  double at_zero = 0, per_x = 0;
};

double median_of(const points& p, double point::*field) {
  std::vector<double> v;
  v.reserve(p.size());
  for (const point& q : p) v.push_back(q.*field);
  return report::percentile(std::move(v), 50);
}

// The least-squares line through the medians of each run's size classes
// (see the top of node_probe.h), never below zero. Medians make it robust
// to the few blocks a slow barrier or a scheduling delay holds up.
line fit_line(const std::vector<points>& runs) {
  std::vector<std::pair<double, double>> medians;
  for (const points& run : runs) {
    std::map<std::uint64_t, points> classes;
    for (const point& q : run) classes[q.size_class].push_back(q);
    for (const auto& [size_class, p] : classes) {
      // A class of one or two blocks is a run's edge (its first or last
      // round), not a size it ran at.
      if (p.size() < 3 && classes.size() > 1) continue;
      medians.emplace_back(median_of(p, &point::x), median_of(p, &point::y));
    }
  }
  if (medians.empty()) return {};
  double sx = 0, sy = 0;
  for (const auto& [x, y] : medians) {
    sx += x;
    sy += y;
  }
  const auto n = static_cast<double>(medians.size());
  const double mx = sx / n, my = sy / n;
  double sxx = 0, sxy = 0, xx0 = 0, xy0 = 0;
  for (const auto& [x, y] : medians) {
    sxx += (x - mx) * (x - mx);
    sxy += (x - mx) * (y - my);
    xx0 += x * x;
    xy0 += x * y;
  }
  const double flat = std::max(0.0, my);
  if (sxx < 1e-9) return {flat, 0};
  const double slope = sxy / sxx;
  if (slope <= 0) return {flat, 0};
  const double at_zero = my - slope * mx;
  // Below zero at no transactions: the line through the origin instead.
  if (at_zero < 0) return {0, xx0 > 0 ? std::max(0.0, xy0 / xx0) : 0};
  return {at_zero, slope};
}

// The write + fdatasync p50 of disk `d` (machine_profile::disk_for) for
// `bytes`: the size measured nearest on a log scale.
double disk_p50_us(const dst::disk_profile& d, std::uint64_t bytes) {
  const dst::sized_latency* s = d.nearest(bytes);
  return s == nullptr ? 0 : s->write.p50_us;
}

// A run's load on the machine, as sim_cpu::host_load defines it: the
// transactions every node applied per second, in thousands, per core.
double run_load(const report::cell_report& run, const dst::machine_profile& m) {
  return static_cast<double>(run.nodes) * run.accepted_tps / 1000.0 /
         static_cast<double>(std::max<std::uint32_t>(m.cpu.cores, 1));
}

// How the points of a line in load vary about their run's median: each
// point's y over its run's median y (runs whose median is not above
// zero left out; ratios never below zero), pooled, at quantile_points up
// to the 90th percentile, which stands for the quantiles above it;
// empty for fewer than 20 points. Above the 90th percentile, a node's
// measured writes hold waiting behind an earlier slow write (its block
// log has one write in flight): the simulator makes that wait itself
// when it draws a slow write, and a tail drawn for every write would
// count it again for each write queued behind it. Drawn independently,
// the measured tail (22 and 235 times the median at the 99th and 99.9th
// percentile, on one machine) made simulated p99 19 times the measured.
std::vector<double> spread_of(const std::vector<points>& runs) {
  std::vector<double> ratios;
  for (const points& run : runs) {
    if (run.empty()) continue;
    const double median = median_of(run, &point::y);
    if (median <= 0) continue;
    for (const point& q : run) ratios.push_back(std::max(0.0, q.y / median));
  }
  if (ratios.size() < 20) return {};
  std::sort(ratios.begin(), ratios.end());
  std::vector<double> out;
  for (double q : dst::quantile_points) {
    out.push_back(ratios[std::min(ratios.size() - 1,
                                  static_cast<std::size_t>(std::min(q, 0.9) * ratios.size()))]);
  }
  return out;
}

}  // namespace

base::result<dst::node_costs> fit_node_costs(const std::vector<report::cell_report>& runs,
                                             const dst::machine_profile& m, const std::string& io,
                                             std::uint32_t followers) {
  if (m.disk.empty()) return base::fail("the node probe needs the profile's disk measured first");
  // The disk as the simulator takes it: this backend (or the other when
  // it was not measured), the writer count measured nearest.
  const dst::disk_profile disk_of = m.disk_for(io, followers);
  // The leader writes first, alone: the simulator draws its write from the
  // disk with one writer.
  const dst::disk_profile leader_disk = m.disk_for(io, 1);
  std::vector<points> build, write, leader_write, apply, message;
  std::uint32_t blocks = 0;
  // Microseconds per byte on the wire.
  const double wire_us_per_byte = m.gbit_per_s > 0 ? 8.0 / (m.gbit_per_s * 1000.0) : 0;
  for (const report::cell_report& run : runs) {
    if (!run.error.empty()) return base::fail("probe run " + run.label + ": " + run.error);
    build.emplace_back();
    write.emplace_back();
    leader_write.emplace_back();
    apply.emplace_back();
    message.emplace_back();
    // Writes are fitted on the machine's load, not on their size: beyond
    // the disk's time (which the disk profile has by size), a write waits
    // for cores, for io_uring's worker and for the loop, and that wait
    // grows with the work the machine's nodes do.
    const double load = run_load(run, m);
    for (const report::block_record& b : run.blocks) {
      if (b.txs == 0) continue;
      const auto txs = static_cast<double>(b.txs);
      const std::uint64_t size_class = b.txs / 32;
      const double kib = static_cast<double>(b.bytes) / 1024.0;
      bool used = false;
      if (b.round_start_us > 0 && b.write_submitted_us >= b.round_start_us) {
        build.back().push_back(
            {txs, static_cast<double>(b.write_submitted_us - b.round_start_us), size_class});
        used = true;
      }
      if (b.committed_us > 0 && b.applied_us >= b.committed_us) {
        apply.back().push_back(
            {txs, static_cast<double>(b.applied_us - b.committed_us), size_class});
      }
      if (b.write_submitted_us > 0 && b.barrier_done_us >= b.write_submitted_us) {
        leader_write.back().push_back(
            {load,
             static_cast<double>(b.barrier_done_us - b.write_submitted_us) -
                 disk_p50_us(leader_disk, b.bytes),
             0});
      }
      const double disk = disk_p50_us(disk_of, b.bytes);
      // Writes: every follower's. The network: as the budget splits it,
      // the first acknowledgement's, from the leader's write handed to
      // storage, less that follower's write.
      const report::block_record::follower* first = nullptr;
      for (const report::block_record::follower& f : b.followers) {
        if (f.sent_us == 0 || f.acked_us < f.sent_us + f.persist_us) continue;
        write.back().push_back({load, static_cast<double>(f.persist_us) - disk, 0});
        if (first == nullptr || f.acked_us < first->acked_us) first = &f;
      }
      if (first != nullptr && b.write_submitted_us > 0 &&
          first->acked_us >= b.write_submitted_us + first->persist_us) {
        const double network =
            static_cast<double>(first->acked_us - b.write_submitted_us - first->persist_us) -
            m.rtt_p50_us - wire_us_per_byte * static_cast<double>(b.bytes);
        message.back().push_back({kib, network, size_class});
      }
      if (used) ++blocks;
    }
  }
  std::size_t with_blocks = 0;
  for (const points& p : build) with_blocks += p.empty() ? 0 : 1;
  if (with_blocks < 2) {
    return base::fail("the node probe through " + io +
                      " needs traced blocks at two loads at least, got " +
                      std::to_string(with_blocks));
  }
  dst::node_costs c;
  c.io = io;
  c.blocks = blocks;
  const line b = fit_line(build), wr = fit_line(write), lw = fit_line(leader_write),
             ay = fit_line(apply), ms = fit_line(message);
  c.build_us = b.at_zero;
  c.build_tx_us = b.per_x;
  c.write_us = wr.at_zero;
  c.write_load_us = wr.per_x;
  c.leader_write_us = lw.at_zero;
  c.leader_write_load_us = lw.per_x;
  c.write_spread = spread_of(write);
  c.leader_write_spread = spread_of(leader_write);
  c.apply_us = ay.at_zero;
  c.apply_tx_us = ay.per_x;
  // Two messages (the append and its acknowledgement) make the network
  // phase; only the append carries the block's bytes.
  c.message_us = ms.at_zero / 2;
  c.message_kib_us = ms.per_x;
  return c;
}

base::result<double> fit_part_cost(const std::vector<report::cell_report>& runs,
                                   const dst::machine_profile& m, const std::string& io,
                                   std::uint32_t followers, const dst::node_costs& c) {
  if (m.disk.empty()) return base::fail("the node probe needs the profile's disk measured first");
  const dst::disk_profile disk_of = m.disk_for(io, followers);
  std::vector<double> per_part;
  for (const report::cell_report& run : runs) {
    if (!run.error.empty()) return base::fail("probe run " + run.label + ": " + run.error);
    const dst::node_costs::line l = c.write_line(false);
    const double at_load = l.at_zero + run_load(run, m) * l.per_load;
    for (const report::block_record& b : run.blocks) {
      if (b.txs < 2) continue;
      const auto parts = static_cast<double>(b.txs);
      const double line = at_load + static_cast<double>(b.bytes) / 1024.0 * l.per_kib;
      const double disk = parts * disk_p50_us(disk_of, b.bytes / b.txs);
      for (const report::block_record::follower& f : b.followers) {
        if (f.sent_us == 0 || f.persist_us == 0) continue;
        per_part.push_back((static_cast<double>(f.persist_us) - line - disk) / parts);
      }
    }
  }
  if (per_part.empty()) {
    return base::fail("the per_tx probe through " + io + " traced no follower write of a block");
  }
  auto mid = per_part.begin() + static_cast<std::ptrdiff_t>(per_part.size() / 2);
  std::nth_element(per_part.begin(), mid, per_part.end());
  return std::max(*mid, 0.0);
}

base::result<std::vector<dst::node_costs>> probe_node(const dst::machine_profile& m,
                                                      const probe_options& o) {
  harness::experiment e;
  e.name = "node-probe";
  e.warmup_s = 1;
  e.duration_s = o.duration_s;
  // The disk as checked before each backend's runs (and after the last):
  // each backend's writes are fitted against the disk of their own time,
  // since this machine's disk moves within minutes.
  auto checked = check_disk(o.dir, m.writers_max());
  if (!checked.ok()) return base::fail("disk check: " + checked.message());
  std::vector<dst::disk_sample> last = std::move(checked).value();
  const fs::path scratch = o.dir / ("ringchain-node-probe-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::create_directories(scratch, ec);
  if (ec) return base::fail("cannot make " + scratch.string() + ": " + ec.message());
  std::vector<dst::node_costs> out;
  std::size_t index = 0;
  base::status failed;
  for (const std::string io : {"uring", "epoll"}) {
    std::vector<report::cell_report> runs;
    // One 3-node run of this backend, reported as it ends.
    const auto probe = [&](const std::string& persistence, std::uint32_t rate) {
      harness::cell c;
      c.nodes = 3;
      c.io = io;
      c.persistence = persistence;
      c.rate_tps = rate;
      c.tx_bytes = m.cpu.tx_bytes > 0 ? m.cpu.tx_bytes : 256;
      c.label = "io=" + io + (persistence == "per_block" ? "" : " persistence=" + persistence) +
                " rate_tps=" + std::to_string(rate);
      report::cell_report r = harness::run_cell(e, c, {scratch, o.node_binary}, index++);
      if (o.progress) {
        // The followers' writes as measured, beside what the fit makes of
        // them.
        std::vector<double> writes;
        for (const report::block_record& b : r.blocks) {
          for (const report::block_record::follower& f : b.followers) {
            if (f.persist_us > 0) writes.push_back(static_cast<double>(f.persist_us));
          }
        }
        o.progress("node probe " + c.label + ": " + std::to_string(r.blocks.size()) + " blocks" +
                   (writes.empty()
                        ? ""
                        : ", follower writes p50 " +
                              report::fixed(report::percentile(writes, 50), 0) + " us, p90 " +
                              report::fixed(report::percentile(writes, 90), 0) + " us") +
                   (r.error.empty() ? "" : ", " + r.error));
      }
      return r;
    };
    for (const std::uint32_t rate : o.rates_tps) runs.push_back(probe("per_block", rate));
    const report::cell_report per_tx =
        o.per_tx_rate_tps > 0 ? probe("per_tx", o.per_tx_rate_tps) : report::cell_report{};
    auto after = check_disk(o.dir, m.writers_max());
    if (!after.ok()) {
      failed = base::fail("disk check: " + after.message());
      break;
    }
    const std::vector<dst::disk_sample> checked_now = between(last, *after);
    const dst::machine_profile now = dst::with_disk_now(m, checked_now);
    if (o.progress) {
      o.progress("disk during the " + io +
                 " runs: " + report::fixed(dst::disk_factor(m, checked_now, 1, 512), 2) +
                 "x the profile's (one writer, per_tx parts), " +
                 report::fixed(dst::disk_factor(m, checked_now, 2, 65536), 2) +
                 "x (two writers, blocks)");
    }
    last = std::move(after).value();
    auto fit = fit_node_costs(runs, now, io, 2);
    if (!fit.ok()) {
      failed = fit.to_status();
      break;
    }
    dst::node_costs& n = *fit;
    // per_tx: one run, below the disk's per-transaction capacity, for the
    // cost of a write's parts.
    if (o.per_tx_rate_tps > 0) {
      auto part = fit_part_cost({per_tx}, now, io, 2, n);
      if (!part.ok()) {
        failed = part.to_status();
        break;
      }
      n.part_us = *part;
    }
    if (o.progress) {
      char line[320];
      std::snprintf(line, sizeof line,
                    "node %s: build %.0f + %.2f/tx us, write %.0f + %.2f per unit of load us "
                    "(the leader's %.0f + %.2f; per_tx: + %.1f us a part), apply %.0f + %.2f/tx "
                    "us, message %.0f + %.2f/KiB us (load: thousands of tx/s applied per core)",
                    io.c_str(), n.build_us, n.build_tx_us, n.write_us, n.write_load_us,
                    n.leader_write_us, n.leader_write_load_us, n.part_us, n.apply_us, n.apply_tx_us,
                    n.message_us, n.message_kib_us);
      o.progress(line);
    }
    out.push_back(n);
  }
  fs::remove_all(scratch, ec);
  if (!failed.ok()) return base::fail(failed.message());
  return out;
}

}  // namespace ringchain::calibrate
