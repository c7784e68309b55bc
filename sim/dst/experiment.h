// Experiments on simulated clusters: the same cells and the same
// latency-budget report as experiments on local processes, for what one
// machine cannot host (up to peers_max nodes, WAN latencies, other disks).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "sim/report/writer.h"

namespace ringchain::dst {

struct cell_setup {
  std::string label;
  std::size_t nodes = 3;
  std::string persistence = "per_block";
  std::uint32_t rate_tps = 1000;
  std::uint32_t tx_bytes = 256;
  std::uint32_t block_txs_max = 256;
  std::uint32_t round_interval_ms = 100;
  std::uint32_t round_deadline_ms = 200;
  std::string network = "same_rack";
  std::string disk = "this_machine";
  double warmup_s = 1;
  double duration_s = 10;
  std::uint64_t seed = 1;
};

// Runs one cell in the simulator: a fault-free cluster under open-loop
// load for warmup_s + duration_s of simulated time, checked as in `dst`
// runs; the report covers the blocks whose round started in the measured
// window. The nodes' traces stay in `dir`.
report::cell_report run_cell(const cell_setup& c, const std::filesystem::path& dir);

}  // namespace ringchain::dst
