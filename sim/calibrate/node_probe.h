// The node probe of `ringchain-sim calibrate`: what the node's own phases
// cost on this machine, beyond the per-function CPU figures. It runs a
// 3-node cluster of ringchain-node processes (per_block, for each io
// backend, at a light and a heavier load), reads the leader's block trace,
// and fits each phase as a line in the block's transactions
// (dst::node_costs):
//
//   build    round start -> the leader's write handed to storage
//   write    a follower's write + barrier (its block log's append until
//            durable) less its disk's: the profile's write + fdatasync p50
//            for the block's size, with as many writers as followers; a
//            line in the write's KiB
//   apply    commit -> applied on the leader
//   message  the network phase less the loopback round trip and the
//            bytes' time on the wire, halved over the append and its
//            acknowledgement; a line in the append's KiB
//
// Each line goes through the medians of the light and the heavy run
// (robust to the few blocks a slow barrier or a scheduling delay holds
// up), never below zero.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "node/base/result.h"
#include "sim/dst/machine.h"
#include "sim/report/writer.h"

namespace ringchain::calibrate {

// Fits one backend's node costs from probe runs of that backend at
// different loads (at least two runs, each with traced blocks), against
// the disk and network of `m` (measured beforehand). `followers` wrote at
// once in the probe (nodes - 1). The error says what was missing.
base::result<dst::node_costs> fit_node_costs(const std::vector<report::cell_report>& runs,
                                             const dst::machine_profile& m, const std::string& io,
                                             std::uint32_t followers);

// What the probe runs.
struct probe_options {
  // Where the nodes keep their data (a directory made in it, then
  // removed).
  std::filesystem::path dir = ".";
  // The ringchain-node to launch; empty: the one built with this tree.
  std::string node_binary;
  // The offered loads, tx/s: blocks of about a tenth of each in 100 ms
  // rounds.
  std::vector<std::uint32_t> rates_tps = {600, 2400};
  // Seconds of each run's measured window, after a second of warm-up.
  double duration_s = 6;
  // Called with a line for each run and fit.
  std::function<void(const std::string&)> progress;
};

// Runs the probe for both io backends and fits their costs against `m`;
// the error names the run that failed.
base::result<std::vector<dst::node_costs>> probe_node(const dst::machine_profile& m,
                                                      const probe_options& o);

}  // namespace ringchain::calibrate
