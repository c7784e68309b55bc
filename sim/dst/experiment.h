// Experiments on simulated clusters: the same cells and the same
// latency-budget report as experiments on local processes, for what one
// machine cannot host (up to sim_nodes_max nodes, WAN latencies, other disks).
#pragma once

#include <cstdint>
#include <filesystem>

#include "sim/harness/cell.h"
#include "sim/report/writer.h"

namespace ringchain::dst {

// What a simulated cell takes from its experiment besides the cell's own
// settings.
struct cell_run {
  // Simulated seconds of load before the measured window.
  double warmup_s = 1;
  // Simulated seconds of the measured window.
  double duration_s = 10;
  // The simulation's seed (the experiment's seed plus the repetition).
  std::uint64_t seed = 1;
  // The nodes share one machine's disk, as local processes do
  // (`ringchain-sim validate`): writes take the machine profile's latency
  // with as many writers at once as there are nodes (they write the same
  // blocks at about the same time). Needs a machine profile.
  bool colocated = false;
};

// Runs one cell in the simulator: a fault-free cluster under open-loop
// load for warmup_s + duration_s of simulated time, checked as in `dst`
// runs; the report covers the blocks whose round started in the measured
// window. The nodes' traces stay in `dir`. Errors (an unknown profile, a
// machine profile that does not read, a checker that fired) go to the
// report's `error`.
report::cell_report run_cell(const harness::cell& c, const cell_run& timing,
                             const std::filesystem::path& dir);

}  // namespace ringchain::dst
