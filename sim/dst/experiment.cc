#include "sim/dst/experiment.h"

#include <cmath>

#include "sim/dst/dst.h"

namespace ringchain::dst {

namespace fs = std::filesystem;

namespace {

// The simulator's options for a cell, or the error that stops it.
base::result<options> cell_options(const harness::cell& c, const cell_run& timing,
                                   const fs::path& dir) {
  options o;
  o.seed = timing.seed;
  o.nodes = c.nodes;
  o.persistence = c.persistence;
  o.round_interval_ms = c.round_interval_ms;
  o.round_deadline_ms = c.round_deadline_ms;
  o.block_txs_max = c.block_txs_max;
  o.tx_bytes = c.tx_bytes;
  // Submissions every 10 ms, as the process harness's clients.
  o.submit_interval_ms = 10;
  o.txs_per_submit = static_cast<std::uint32_t>(std::lround(c.rate_tps / 100.0));
  auto network = find_network_profile(c.network);
  if (!network.ok()) return base::fail(network.message());
  o.network = std::move(network).value();
  auto disk = find_disk_profile(c.disk);
  if (!disk.ok()) return base::fail(disk.message());
  o.disk = std::move(disk).value();
  o.swarm = false;
  o.run_for_s =
      timing.warmup_s + timing.duration_s + 1;  // a second to commit the window's last blocks
  o.check_every_event = false;
  o.work_dir = dir;
  o.keep_files = true;
  if (base::status s = validate(o); !s.ok()) return base::fail(s.message());
  return o;
}

}  // namespace

report::cell_report run_cell(const harness::cell& c, const cell_run& timing, const fs::path& dir) {
  report::cell_report res = harness::start_report(c);
  res.io = "sim";
  res.barrier_delay_us = 0;  // simulated disks have no barrier delay knob
  const base::result<options> o = cell_options(c, timing, dir);
  if (!o.ok()) {
    res.error = o.message();
    return res;
  }
  const result r = dst::run(*o);
  if (!r.ok) {
    res.error = "simulation checker fired at " + std::to_string(r.violation_at_s) +
                " s: " + r.violation + " (replay: " + replay_command(*o) + ")";
    return res;
  }
  const std::uint64_t from = static_cast<std::uint64_t>(timing.warmup_s * 1e6);
  const std::uint64_t to = from + static_cast<std::uint64_t>(timing.duration_s * 1e6);
  std::vector<fs::path> traces;
  for (std::size_t i = 1; i <= c.nodes; ++i) {
    const fs::path node_dir = r.dir / ("node" + std::to_string(i));
    traces.push_back(node_dir / "trace.jsonl");
    std::error_code ec;
    fs::remove_all(node_dir / "log", ec);  // the block logs; the traces stay
  }
  res.blocks = report::read_traces(traces, from, to);
  for (std::size_t i = 0; i < r.io.size(); ++i) {
    report::node_resources n;
    n.id = i + 1;
    n.fdatasyncs = r.io[i].fdatasyncs;
    n.bytes_written = r.io[i].bytes_written;
    res.resources.push_back(n);
  }
  std::uint64_t committed = 0;
  for (const auto& b : res.blocks) committed += b.txs;
  res.offered_tps = c.rate_tps;
  res.accepted_tps = static_cast<double>(committed) / timing.duration_s;
  report::measure_window(&res, from, to, std::uint64_t{c.round_interval_ms} * 1000);
  if (!res.blocks.empty()) res.leader = res.blocks.front().node;
  return res;
}

}  // namespace ringchain::dst
