// One cell of an experiment: the settings a matrix sweeps (the cluster,
// its nodes' settings, the load and, in the simulator, the network and
// disk). Both engines run from it: harness::run_cell on local processes,
// dst::run_cell in the simulator. Header only, depending on the report's
// types alone, so that either engine can use it (CMake target
// ringchain_cell).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "sim/report/writer.h"

namespace ringchain::harness {

// A cell's settings. load_experiment makes one per combination of the
// matrix's values (and per repetition); each is then run once.
struct cell {
  // Nodes in the cluster (at most 9 processes, or limits::sim_nodes_max
  // simulated).
  std::size_t nodes = 3;
  // The nodes' io backend, "uring" or "epoll" (simulated: epoll's loop
  // blocks in every write and barrier).
  std::string io = "uring";
  // The nodes' barrier policy, "per_block" or "per_tx".
  std::string persistence = "per_block";
  // Offered load, transactions per second over all clients.
  std::uint32_t rate_tps = 5000;
  // Each transaction's size.
  std::uint32_t tx_bytes = 256;
  // Most transactions in one block.
  std::uint32_t block_txs_max = 256;
  // The nodes' round length.
  std::uint32_t round_interval_ms = 100;
  // The nodes' commit deadline within a round.
  std::uint32_t round_deadline_ms = 200;
  // The nodes' election timeout in ticks of 10 ms (randomized up to
  // twice that). Large clusters over long round trips need more: with
  // many nodes timing out within one round trip, votes split.
  std::uint32_t election_ticks = 30;
  // Delay added after every barrier, a slow-disk knob.
  std::uint32_t barrier_delay_us = 0;
  // Block-log segment size of the nodes, 16 to 256 (processes only).
  std::uint32_t segment_mib = 64;
  // The network profile (simulator only; sim/dst/model.h); empty: the
  // machine's when one is named, else same_rack.
  std::string network;
  // The disk profile (simulator only; sim/dst/model.h); empty: the
  // machine's when one is named, else this_machine.
  std::string disk;
  // A machine profile file (simulator only; sim/dst/machine.h, written by
  // `ringchain-sim calibrate`), as an absolute path: simulated nodes then
  // spend its CPU time, on its disk and network unless named. Empty: no
  // CPU time.
  std::string machine;
  // Which repetition of the matrix this cell belongs to, from 0 (the
  // simulator adds it to the experiment's seed).
  std::uint32_t repetition = 0;
  // "io=uring persistence=per_tx": the matrix values that name this cell.
  std::string label;
};

// The report of a cell before it runs: the settings it describes, as both
// engines start it (the simulator then sets io to "sim").
inline report::cell_report start_report(const cell& c) {
  report::cell_report r;
  r.label = c.label;
  r.nodes = c.nodes;
  r.io = c.io;
  r.persistence = c.persistence;
  r.round_deadline_ms = c.round_deadline_ms;
  r.txs_per_block = c.block_txs_max;
  r.barrier_delay_us = c.barrier_delay_us;
  return r;
}

}  // namespace ringchain::harness
