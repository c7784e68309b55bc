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
// barrier_delay_us, segment_mib, network, disk; scalars only: name,
// description, engine, warmup_s, duration_s, clients, repetitions, seed.
//
// engine = "processes" (the default) runs real ringchain-node processes on
// this machine (up to 9 nodes). engine = "sim" runs each cell in the
// deterministic simulator (sim/dst) in simulated time: up to 128 nodes, a
// network and a disk profile per cell (network, disk), no io backend.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "sim/report/writer.h"

namespace ringchain::harness {

struct cell {
  std::size_t nodes = 3;
  std::string io = "uring";
  std::string persistence = "per_block";
  std::uint32_t rate_tps = 5000;
  std::uint32_t tx_bytes = 256;
  std::uint32_t block_txs_max = 256;
  std::uint32_t round_interval_ms = 100;
  std::uint32_t round_deadline_ms = 200;
  std::uint32_t barrier_delay_us = 0;
  // Block-log segment size of the nodes (16 to 256).
  std::uint32_t segment_mib = 64;
  // engine = "sim" only: profiles from sim/dst/model.h.
  std::string network = "same_rack";
  std::string disk = "this_machine";
  std::uint32_t repetition = 0;
  // "io=uring persistence=per_tx": the matrix values that name this cell.
  std::string label;
};

// A fault scheduled in every cell:
//
//   [[faults]]
//   at_s = 1.0            # seconds into the measured window
//   kind = "kill"         # kill (-9, then restart) | pause (SIGSTOP, then
//                         # SIGCONT) | slow_disk (barrier delay, then none)
//   node = "leader"       # "leader", "follower" or a node number
//   duration_s = 1.5      # until the restart, resume or restore
//   barrier_delay_us = 5000   # slow_disk only
struct fault {
  double at_s = 0;
  std::string kind;
  std::string node = "leader";
  double duration_s = 1;
  std::uint32_t barrier_delay_us = 5000;
};

struct experiment {
  std::string name;
  std::string description;
  std::string engine = "processes";
  // The simulator's seed (engine = "sim").
  std::uint64_t seed = 1;
  double warmup_s = 1;
  double duration_s = 4;
  std::uint32_t clients = 4;
  std::vector<cell> cells;
  std::vector<fault> faults;
};

// Reads an experiment; returns an error sentence naming the key, or "".
std::string load_experiment(const std::filesystem::path& file, experiment* out);

using report::cell_report;
using report::fault_window;
using report::node_resources;

struct run_options {
  std::filesystem::path out_dir;
  std::string node_binary;  // empty: the one built with this tree
};

// Runs one cell: cluster up, warm-up, measured window, cluster down.
cell_report run_cell(const experiment& e, const cell& c, const run_options& opts,
                     std::size_t index);

}  // namespace ringchain::harness
