// Experiments: a TOML file of settings and a matrix of values to sweep,
// run cell by cell on local clusters of real ringchain-node processes.
//
//   name = "quickstart"
//   nodes = 3              # settings shared by every cell
//   duration_s = 4
//   [matrix]               # every combination is one cell
//   io = ["uring", "epoll"]
//   persistence = ["per_block", "per_tx"]
//
// Keys (scalars, or arrays under [matrix]): nodes, io, persistence,
// rate_tps, tx_bytes, block_txs_max, round_interval_ms, round_deadline_ms,
// election_ticks, barrier_delay_us, segment_mib, network, disk, machine;
// scalars only: name, description, engine, warmup_s, duration_s, clients,
// repetitions, seed, capacity_search, capacity_probe_s, capacity_max_tps.
//
// engine = "processes" (the default) runs real ringchain-node processes on
// this machine (up to 9 nodes). engine = "sim" runs each cell in the
// deterministic simulator (sim/dst) in simulated time: up to
// limits::sim_nodes_max nodes, a network and a disk profile per cell
// (network, disk), and a machine profile (machine = "FILE", relative to
// the experiment file; `ringchain-sim calibrate` writes one) whose CPU
// time the nodes spend, and whose disk and network they use unless the
// cell names others. engine = "compose" runs each cell as a Docker Compose
// project of the repository's docker-compose.yml (3, 5 or 7 node
// containers; the image from $RINGCHAIN_IMAGE, else ringchain:local), with
// the same load, faults and reports as "processes".
// Keys one engine would ignore are refused there: segment_mib and clients
// belong to "processes" and "compose"; network, disk, machine and seed to
// "sim".
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "node/base/result.h"
#include "sim/harness/cell.h"
#include "sim/report/writer.h"

namespace ringchain::harness {

// A fault scheduled in every cell:
//
//   [[faults]]
//   at_s = 1.0            # seconds into the measured window
//   kind = "kill"         # kill (-9, then restart) | pause (SIGSTOP, then
//                         # SIGCONT) | slow_disk (barrier delay, then none)
//   node = "leader"       # "leader", "follower" or a node number
//   duration_s = 1.5      # until the restart, resume or restore
//   barrier_delay_us = 5000   # slow_disk only
//
// kind = "replace" (processes only) replaces the node with a spare through
// membership changes: the spare joins as a learner, is promoted once it
// has caught up, and the node is removed and stopped (duration_s unused).
struct fault {
  // Seconds into the measured window.
  double at_s = 0;
  // "kill" (-9, then restart), "pause" (SIGSTOP, then SIGCONT), "slow_disk"
  // (a barrier delay), or through the nodes' own network emulation and
  // clock: "partition" (the node cut off from every other, both ways),
  // "delay" and "loss" (on the node's links, both ways), "clock_skew"; or
  // "replace" (membership changes: a spare in its place).
  std::string kind;
  // "leader", "follower", or a node number (1 to the cell's nodes).
  std::string node = "leader";
  // Until the restart, resume or restore.
  double duration_s = 1;
  // The barrier delay of a slow_disk fault.
  std::uint32_t barrier_delay_us = 5000;
  // A delay fault's delay.
  std::uint32_t delay_ms = 50;
  // A delay fault's jitter.
  std::uint32_t jitter_ms = 0;
  // A loss fault's share of messages dropped.
  double loss_percent = 10;
  // A clock_skew fault's offset of the node's wall clock.
  std::int64_t clock_offset_ms = 0;
  // A clock_skew fault's drift of the node's timers.
  std::int32_t clock_drift_ppm = 0;
};

// An experiment as its file describes it: the settings shared by every
// cell, and the cells (the matrix's combinations, times repetitions).
struct experiment {
  // The file's name without .toml, unless it sets one.
  std::string name;
  // One line for the report.
  std::string description;
  // "processes" (local ringchain-node processes) or "sim" (the simulator).
  std::string engine = "processes";
  // The simulator's seed (engine = "sim"); repetition r runs seed + r.
  std::uint64_t seed = 1;
  // Seconds of load before the measured window.
  double warmup_s = 1;
  // Seconds of the measured window.
  double duration_s = 4;
  // Client threads loading a process cluster.
  std::uint32_t clients = 4;
  // Deadline capacity: for each cell, a short search over offered rates
  // for the highest load that meets the deadline (capacity.h), then every
  // cell again at half the lowest capacity (latency at equal load).
  bool capacity_search = false;
  // Each probe's measured window.
  double capacity_probe_s = 2;
  // The highest offered rate the search tries.
  std::uint32_t capacity_max_tps = 20000;
  // The cells, in the order they run.
  std::vector<cell> cells;
  // Faults scheduled in every cell (engine = "processes" only).
  std::vector<fault> faults;
};

// Reads an experiment file; the error names the key at fault and why
// ("matrix.io: must be uring or epoll").
base::result<experiment> load_experiment(const std::filesystem::path& file);

// What a cell measured, its faults and its nodes' resources: the report's
// types, which the harness fills.
using report::cell_report;
using report::fault_window;
using report::node_resources;

// Where a process cell runs.
struct run_options {
  // The run directory; cell i keeps its nodes' data in cell-<i+1>.
  std::filesystem::path out_dir;
  // The ringchain-node to launch; empty: the one built with this tree.
  std::string node_binary;
};

// Runs one cell on local processes: cluster up, warm-up, measured window
// (with the experiment's faults), cluster down. `index` numbers the cell
// in the run (its directory and its clients' keys).
cell_report run_cell(const experiment& e, const cell& c, const run_options& opts,
                     std::size_t index);

}  // namespace ringchain::harness
