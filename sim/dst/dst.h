// The deterministic simulator: a whole cluster of real nodes (core, chain,
// block log, runtime) in one process and one thread, over a simulated
// network, simulated disks and a simulated clock. Every choice is drawn
// from one seed, so a run replays exactly; checkers watch every step.
//
// A run has two phases. The safety phase lasts `blocks` rounds and injects
// the seed's mix of faults. Then faults stop for a majority: down nodes
// restart (except one whose log was corrupted on purpose: it must refuse
// to start and stays down), partitions heal, disks behave. Within
// liveness_bound_s every healthy node must apply a block made after the
// heal, and the run goes on until the chain holds `blocks` blocks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "node/core/config.h"
#include "sim/dst/model.h"

namespace ringchain::dst {

// Which faults a run injects and how often. With swarm testing each seed
// draws its own mix (swarm_faults); rates are per second of simulated time
// over the whole cluster.
struct fault_mix {
  // Network.
  double loss = 0;                  // probability a message is dropped
  double duplicate = 0;             // probability a message is delivered twice
  bool reorder = false;             // messages of one link may overtake each other
  double partition_per_s = 0;       // a random split into two sides
  double asymmetric_per_s = 0;      // some directed links cut
  double isolate_leader_per_s = 0;  // the leader cut from everyone
  double clog_per_s = 0;            // one directed link slowed by 10 ms-1 s
  // Processes.
  double crash_per_s = 0;  // kill and later restart; unsynced writes lost
  double pause_per_s = 0;  // stop for 50 ms to 2 s
  // Disks.
  double torn_write = 0;           // at a crash, the in-flight write lands in part
  double barrier_error_per_s = 0;  // a node's next fdatasync fails (EIO)
  double disk_full_per_s = 0;      // a node's next write fails (ENOSPC)
  double corrupt = 0;              // at a restart, a byte of an earlier write flips
  bool slow_disks = false;         // disks draw from slower profiles

  // "crash=0.2,loss=0.02,reorder" (what parse_faults reads), "none" when
  // empty: rounded for summaries, or exact for replay commands.
  std::string spec(bool exact = false) const;
  // The names swarm_faults and parse_faults use.
  static std::vector<std::string> kinds();
};

// The seed's own fault mix: each kind is on with probability 1/2, at an
// intensity drawn from its range.
fault_mix swarm_faults(std::uint64_t seed);
// A mix of the named kinds (comma separated, from fault_mix::kinds()) at
// middling intensities; an error sentence, or "".
std::string parse_faults(const std::string& text, fault_mix* out);

struct options {
  std::uint64_t seed = 1;
  std::size_t nodes = 3;
  std::uint64_t blocks = 200;
  // Settings of the nodes.
  std::string persistence = "per_block";
  std::uint32_t round_interval_ms = 100;
  std::uint32_t round_deadline_ms = 200;
  std::uint32_t block_txs_max = 256;
  // Load: the client submits txs_per_submit transactions of tx_bytes every
  // submit_interval_ms (0: once a round).
  std::uint32_t txs_per_submit = 4;
  std::uint32_t submit_interval_ms = 0;
  std::uint32_t tx_bytes = 128;
  // Whether leaders cut a block every round even with no transactions.
  // Without them a new leader appends nothing of its own term until load
  // arrives, which leaves room for schedules that empty blocks would hide
  // (the Raft paper's Figure 8).
  bool empty_blocks = true;
  network_profile network;  // empty name: same_rack, or the swarm's choice
  disk_profile disk;        // empty name: this_machine, or the swarm's choice
  // Faults: the seed's swarm mix unless `faults_given`.
  bool swarm = true;
  fault_mix faults;
  // Test-only: a bug to plant (core::planted_bug).
  core::planted_bug bug = core::planted_bug::none;
  double liveness_bound_s = 20;
  // Experiment mode: run this many simulated seconds and stop, with no
  // liveness phase (0: the two phases above).
  double run_for_s = 0;
  // Run the log checkers after every event (else every 100 ms).
  bool check_every_event = true;
  // Where nodes keep their files; a fresh directory under it per run.
  std::filesystem::path work_dir;
  bool keep_files = false;
  // Print every fault as it happens.
  bool verbose = false;
};

struct result {
  std::uint64_t seed = 0;
  bool ok = true;
  std::string violation;  // which checker fired and what it saw
  double violation_at_s = 0;
  fault_mix faults;
  std::string network, disk;
  std::uint64_t height = 0;  // blocks in the chain at the end
  std::uint64_t events = 0;
  double simulated_s = 0;
  double wall_s = 0;
  std::uint64_t trace_hash = 0;  // of every event, in order
  std::uint64_t acked_txs = 0;
  std::map<std::string, std::uint64_t> injected;  // faults by kind
  // Where the nodes' files are (kept only with keep_files).
  std::filesystem::path dir;
  // Each node's disk work.
  struct node_io {
    std::uint64_t writes = 0, fdatasyncs = 0, bytes_written = 0;
  };
  std::vector<node_io> io;
};

// Runs one seed.
result run(const options& o);

// The command that replays a run of these options.
std::string replay_command(const options& o);

}  // namespace ringchain::dst
