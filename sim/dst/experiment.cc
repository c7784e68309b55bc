#include "sim/dst/experiment.h"

#include <cmath>

#include "sim/dst/dst.h"

namespace ringchain::dst {

namespace fs = std::filesystem;

report::cell_report run_cell(const cell_setup& c, const fs::path& dir) {
  report::cell_report res;
  res.label = c.label;
  res.nodes = c.nodes;
  res.io = "sim";
  res.persistence = c.persistence;
  res.round_deadline_ms = c.round_deadline_ms;
  res.txs_per_block = c.block_txs_max;
  options o;
  o.seed = c.seed;
  o.nodes = c.nodes;
  o.persistence = c.persistence;
  o.round_interval_ms = c.round_interval_ms;
  o.round_deadline_ms = c.round_deadline_ms;
  o.block_txs_max = c.block_txs_max;
  o.tx_bytes = c.tx_bytes;
  // Submissions every 10 ms, as the process harness's clients.
  o.submit_interval_ms = 10;
  o.txs_per_submit = static_cast<std::uint32_t>(std::lround(c.rate_tps / 100.0));
  if (!find_network_profile(c.network, &o.network)) {
    res.error = "unknown network profile \"" + c.network + "\"";
    return res;
  }
  if (!find_disk_profile(c.disk, &o.disk)) {
    res.error = "unknown disk profile \"" + c.disk + "\"";
    return res;
  }
  o.swarm = false;
  o.run_for_s = c.warmup_s + c.duration_s + 1;  // a second to commit the window's last blocks
  o.check_every_event = false;
  o.work_dir = dir;
  o.keep_files = true;
  const result r = run(o);
  if (!r.ok) {
    res.error = "simulation checker fired at " + std::to_string(r.violation_at_s) +
                " s: " + r.violation + " (replay: " + replay_command(o) + ")";
    return res;
  }
  const std::uint64_t from = static_cast<std::uint64_t>(c.warmup_s * 1e6);
  const std::uint64_t to = from + static_cast<std::uint64_t>(c.duration_s * 1e6);
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
  res.accepted_tps = static_cast<double>(committed) / c.duration_s;
  report::measure_window(&res, from, to, std::uint64_t{c.round_interval_ms} * 1000);
  if (!res.blocks.empty()) res.leader = res.blocks.front().node;
  return res;
}

}  // namespace ringchain::dst
