#include "sim/dst/experiment.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "sim/dst/dst.h"

namespace ringchain::dst {

namespace fs = std::filesystem;

namespace {

// The cell's machine profile, network and disk into `o`.
base::status set_profiles(const harness::cell& c, bool colocated, options* o) {
  std::optional<machine_profile> machine;
  if (!c.machine.empty()) {
    auto m = load_machine(c.machine);
    if (!m.ok()) return m.to_status();
    machine = std::move(m).value();
    o->cpu = machine->cpu;
    o->cpu.node = machine->node_for(c.io);
  }
  if (!c.network.empty() || !machine) {
    auto network = find_network_profile(c.network.empty() ? "same_rack" : c.network);
    if (!network.ok()) return network.to_status();
    o->network = std::move(network).value();
  } else {
    o->network = machine->network();
  }
  if (!c.disk.empty() || !machine) {
    auto disk = find_disk_profile(c.disk.empty() ? "this_machine" : c.disk);
    if (!disk.ok()) return disk.to_status();
    o->disk = std::move(disk).value();
  } else {
    o->disk = machine->disk_for(c.io, 1);
  }
  if (colocated) {
    // Local processes share this machine's disk: a write takes what
    // calibration measured with as many writers at once as are writing
    // (its latency, tail and so its throughput).
    if (!machine) return base::fail("a cell of co-located nodes needs a machine profile");
    o->disk = machine->disk_for(c.io, 1);
    o->shared_disk.clear();
    for (std::uint32_t k = 1; k <= std::min<std::size_t>(machine->writers_max(), c.nodes); ++k) {
      o->shared_disk.push_back(machine->disk_for(c.io, k));
    }
    // And its cores.
    o->shared_cores = machine->cpu.cores;
  }
  return {};
}

// The simulator's options for a cell, or the error that stops it.
base::result<options> cell_options(const harness::cell& c, const cell_run& timing) {
  options o;
  o.seed = timing.seed;
  o.nodes = c.nodes;
  o.persistence = c.persistence;
  o.io = c.io;
  o.barrier_delay_us = c.barrier_delay_us;
  o.round_interval_ms = c.round_interval_ms;
  o.round_deadline_ms = c.round_deadline_ms;
  o.election_ticks = c.election_ticks;
  o.block_txs_max = c.block_txs_max;
  o.tx_bytes = c.tx_bytes;
  // Submissions every 10 ms, as the process harness's clients.
  o.submit_interval_ms = 10;
  // The offered load exactly: whole transactions each time, the fraction
  // carried (937 tx/s: 9 or 10 a submission, not 9).
  o.txs_per_submit = static_cast<std::uint32_t>(std::ceil(c.rate_tps / 100.0));
  o.submit_tps = c.rate_tps;
  if (base::status s = set_profiles(c, timing.colocated, &o); !s.ok())
    return base::fail(s.message());
  o.swarm = false;
  o.run_for_s =
      timing.warmup_s + timing.duration_s + 1;  // a second to commit the window's last blocks
  o.window_from_s = timing.warmup_s;
  o.window_to_s = timing.warmup_s + timing.duration_s;
  o.check_every_event = false;
  // The nodes' files in memory when there is room (the block logs go after
  // the run; the traces are copied to `dir`).
  o.work_dir = default_work_dir(4e9);
  o.tx_index = false;
  o.keep_files = true;
  if (base::status s = validate(o); !s.ok()) return base::fail(s.message());
  return o;
}

// A node's work over the window, as a report's resource row.
report::node_resources resources(std::uint64_t id, const result::node_io& w) {
  report::node_resources n;
  n.id = id;
  n.fdatasyncs = w.fdatasyncs;
  n.bytes_written = w.bytes_written;
  n.cpu_user_s = static_cast<double>(w.cpu.loop_ns + w.cpu.verify_ns) / 1e9;
  n.voluntary_switches = w.cpu.wakeups + w.cpu.verify_jobs;
  return n;
}

}  // namespace

report::cell_report run_cell(const harness::cell& c, const cell_run& timing, const fs::path& dir) {
  report::cell_report res = harness::start_report(c);
  res.engine = "sim";
  const base::result<options> o = cell_options(c, timing);
  if (!o.ok()) {
    res.error = o.message();
    return res;
  }
  if (o->cpu.on()) res.machine = fs::path(c.machine).stem().string();
  const result r = dst::run(*o);
  if (!r.ok) {
    res.error = "simulation checker fired at " + std::to_string(r.violation_at_s) +
                " s: " + r.violation + " (replay: " + replay_command(*o) +
                "; the nodes' files are kept in " + r.dir.string() + ")";
    return res;
  }
  const std::uint64_t from = static_cast<std::uint64_t>(timing.warmup_s * 1e6);
  const std::uint64_t to = from + static_cast<std::uint64_t>(timing.duration_s * 1e6);
  std::vector<fs::path> traces;
  std::error_code ec;
  for (std::size_t i = 1; i <= c.nodes; ++i) {
    const std::string node = "node" + std::to_string(i);
    fs::create_directories(dir / node, ec);
    fs::copy_file(r.dir / node / "trace.jsonl", dir / node / "trace.jsonl",
                  fs::copy_options::overwrite_existing, ec);
    if (ec) {
      res.error = "cannot copy " + node + "'s trace into " + dir.string() + ": " + ec.message();
      std::error_code rm;
      fs::remove_all(r.dir, rm);
      return res;
    }
    traces.push_back(dir / node / "trace.jsonl");
  }
  fs::remove_all(r.dir, ec);  // the block logs and the rest
  res.blocks = report::read_traces(traces, from, to);
  for (std::size_t i = 0; i < r.window.size(); ++i)
    res.resources.push_back(resources(i + 1, r.window[i]));
  std::uint64_t committed = 0;
  for (const auto& b : res.blocks) committed += b.txs;
  res.offered_tps = c.rate_tps;
  res.accepted_tps = static_cast<double>(committed) / timing.duration_s;
  report::measure_window(&res, from, to, std::uint64_t{c.round_interval_ms} * 1000);
  if (!res.blocks.empty()) res.leader = res.blocks.front().node;
  return res;
}

}  // namespace ringchain::dst
