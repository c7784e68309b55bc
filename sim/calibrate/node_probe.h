// The node probe of `ringchain-sim calibrate`: what the node's own phases
// cost on this machine, beyond the per-function CPU figures. It runs a
// 3-node cluster of ringchain-node processes (per_block, for each io
// backend, at five loads from light to blocks cut full before their round
// ends), reads the leader's block trace, and fits each phase as a line in
// the block's transactions or KiB, or in the machine's load
// (dst::node_costs):
//
//   build    round start -> the leader's write handed to storage
//   write    a follower's write + barrier (its block log's append until
//            durable) less its disk's: the profile's write + fdatasync p50
//            for the block's size, with as many writers as followers, as
//            checked before and after the backend's runs (check_disk,
//            dst::with_disk_now); a line in the run's load: the
//            transactions its nodes applied per second, in thousands, per
//            core (sim_cpu::host_load). Beyond the disk's time, which the
//            profile has by size, a write waits for cores, for io_uring's
//            worker and for the loop, and that wait grows with the
//            machine's work: on one machine, 600 to 3,600 tx/s took a
//            follower's io_uring write from 1.1 to 2.4 ms (0.3 ms of disk),
//            and from 2,400 to 3,600 tx/s, blocks of 60 and 64 KiB, it
//            still grew by 0.37 ms
//   leader write  the leader's own write + barrier, less the disk's with
//            one writer (it writes first); the same kind of line. Both
//            write lines keep their spread: each write's time beyond the
//            disk's over its run's median, at the quantiles up to the
//            90th percentile (above it, measured writes hold waiting
//            behind an earlier slow one, which the simulator makes
//            itself), so that simulated writes vary as the node's did
//   apply    commit -> applied on the leader
//   message  the network phase (as the budget splits it: the leader's
//            write handed to storage until the first acknowledgement, less
//            that follower's write) less the loopback round trip and the
//            bytes' time on the wire, halved over the append and its
//            acknowledgement; a line in the append's KiB
//
// A per_tx run then gives the cost of a write's parts (part_us): each
// follower's write less the write line and its parts' disk p50 (at the
// part's size), over its parts; the median of the blocks.
//
// Each line is the least-squares line through the medians of each run's
// blocks of like size (a run at a load past a block per round has two
// sizes; a line in load takes one median a run), never below zero. Medians make it robust to the
// few blocks a slow barrier or a scheduling delay holds up; several loads keep it from following
// one load's quirks (a block cut by the round's timer costs more than one cut full by a
// submission).
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

// Fits one backend's part_us (node_costs) from per_tx probe runs, given
// its write line in `c` (fit_node_costs) and the disk of `m` with
// `followers` writers at once.
base::result<double> fit_part_cost(const std::vector<report::cell_report>& runs,
                                   const dst::machine_profile& m, const std::string& io,
                                   std::uint32_t followers, const dst::node_costs& c);

// What the probe runs.
struct probe_options {
  // Where the nodes keep their data (a directory made in it, then
  // removed).
  std::filesystem::path dir = ".";
  // The ringchain-node to launch; empty: the one built with this tree.
  std::string node_binary;
  // The offered loads, tx/s: blocks of about a tenth of each in 100 ms
  // rounds, at most 256 (3,600: a full block and one of about 100). The
  // lightest anchors the write lines where experiments run at a fraction
  // of capacity.
  std::vector<std::uint32_t> rates_tps = {200, 600, 1200, 2400, 3600};
  // The offered load of the per_tx run (0: none, part_us stays 0): below
  // the disk's per-transaction capacity.
  std::uint32_t per_tx_rate_tps = 600;
  // Seconds of each run's measured window, after a second of warm-up.
  double duration_s = 6;
  // Called with a line for each run and fit.
  std::function<void(const std::string&)> progress;
};

// Runs the probe for both io backends and fits their costs against `m`'s
// disk as checked around each backend's runs (in o.dir) and `m`'s
// network; the error names the run or the disk check that failed.
base::result<std::vector<dst::node_costs>> probe_node(const dst::machine_profile& m,
                                                      const probe_options& o);

}  // namespace ringchain::calibrate
