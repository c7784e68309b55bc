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
#include <string>
#include <vector>

#include "node/base/result.h"
#include "node/core/config.h"
#include "sim/dst/faults.h"
#include "sim/dst/machine.h"
#include "sim/dst/model.h"
#include "sim/dst/sim_cpu.h"

namespace ringchain::dst {

// How to run one seed: the cluster, its nodes' settings, the load, the
// faults and the checking. Made by the command line (ringchain-sim dst),
// by experiments (run_cell) and by tests; replay_command prints it back.
struct options {
  // The seed every random choice of the run is drawn from.
  std::uint64_t seed = 1;
  // Nodes in the cluster, 1 to limits::sim_nodes_max.
  std::size_t nodes = 3;
  // The chain's length: the safety phase lasts this many blocks' time, and
  // the run ends when every healthy node holds this many.
  std::uint64_t blocks = 200;
  // The nodes' barrier policy: "per_block" or "per_tx".
  std::string persistence = "per_block";
  // The nodes' round length.
  std::uint32_t round_interval_ms = 100;
  // The nodes' commit deadline within a round.
  std::uint32_t round_deadline_ms = 200;
  // The nodes' election timeout, in ticks.
  std::uint32_t election_ticks = 30;
  // Most transactions in one block.
  std::uint32_t block_txs_max = 256;
  // Load: transactions the client submits at a time (at most, with
  // submit_tps).
  std::uint32_t txs_per_submit = 4;
  // Load: when above 0, the client submits this many transactions a
  // second on average, the fraction a submission cannot hold carried to
  // the next (9.37 a submission: 9, 9, 10, ...); 0: txs_per_submit each.
  double submit_tps = 0;
  // Load: how often the client submits (0: once a round).
  std::uint32_t submit_interval_ms = 0;
  // Load: each transaction's size.
  std::uint32_t tx_bytes = 128;
  // The nodes snapshot their state every this many blocks and keep this
  // many behind a snapshot in their logs: small, so that compaction runs
  // often and a node that was down or cut off for a few seconds needs a
  // snapshot from the leader.
  std::uint32_t snapshot_interval_blocks = 20;
  // Blocks the nodes keep in their logs behind a snapshot.
  std::uint32_t snapshot_catchup_blocks = 5;
  // Whether leaders cut a block every round even with no transactions.
  // Without them a new leader appends nothing of its own term until load
  // arrives, which leaves room for schedules that empty blocks would hide
  // (the Raft paper's Figure 8).
  bool empty_blocks = true;
  // The network; an empty name means same_rack.
  network_profile network;
  // The disks; an empty name means this_machine, or a slow profile when
  // the fault mix has slow_disks.
  disk_profile disk;
  // CPU time of the nodes' work (sim_cpu.h); cores 0: none, as in `dst`
  // sweeps.
  cpu_profile cpu;
  // The nodes' io backend: "uring", or "epoll", whose loop blocks in
  // every write and barrier.
  std::string io = "uring";
  // A delay after every barrier (the nodes' barrier_delay_us).
  std::uint32_t barrier_delay_us = 0;
  // The nodes share one disk, as calibration measured it with 1, 2, ...
  // writers at once (entry k-1: k writers): a write that starts while k-1
  // others are in flight on it takes what entry k (the last, beyond them)
  // draws. Its throughput is then what the machine's disk did with that
  // many writers; no queue is modelled beyond it. Empty: every node has a
  // disk of its own (`disk`). Validation runs set it: local processes
  // share this machine's disk.
  std::vector<disk_profile> shared_disk;
  // The nodes share one machine of this many cores (with a machine
  // profile): every node's loop and signature checks wait for a free one;
  // 0: every node has the profile's cores to itself.
  std::uint32_t shared_cores = 0;
  // Whether the seed draws its own fault mix (swarm testing); false: `faults`.
  bool swarm = true;
  // The faults to inject when not `swarm`.
  fault_mix faults;
  // Test-only: a bug to plant (core::planted_bug).
  core::planted_bug bug = core::planted_bug::none;
  // How long after the heal every healthy node has to apply a new block.
  double liveness_bound_s = 20;
  // Experiment mode: run this many simulated seconds and stop, with no
  // liveness phase (0: the two phases above).
  double run_for_s = 0;
  // Whether nodes keep their index of transaction hashes (lookups).
  // Sweeps keep it, so that crashes and snapshot installs exercise it;
  // experiments drop it: nothing looks transactions up there, and a
  // hundred nodes' indexes cost more host time than the rest of their work.
  bool tx_index = true;
  // Run the log checkers after every event (else every 100 ms).
  bool check_every_event = true;
  // Experiments: the measured window, in simulated seconds, over which
  // result::window counts each node's work (both 0: none).
  double window_from_s = 0, window_to_s = 0;
  // Where nodes keep their files; a fresh directory under it per run.
  std::filesystem::path work_dir;
  // Keep the run's files afterwards (else they are removed).
  bool keep_files = false;
  // Print every fault as it happens.
  bool verbose = false;
};

// What one run did, and whether every checker held.
struct result {
  // The seed run.
  std::uint64_t seed = 0;
  // Whether every checker held.
  bool ok = true;
  // Which checker fired and what it saw; empty when ok.
  std::string violation;
  // When the checker fired, in simulated seconds.
  double violation_at_s = 0;
  // The fault mix the run injected (the seed's own with swarm testing).
  fault_mix faults;
  // The network profile's name.
  std::string network;
  // The disk profile's name.
  std::string disk;
  // Blocks in the tallest chain at the end.
  std::uint64_t height = 0;
  // Events run.
  std::uint64_t events = 0;
  // Simulated time at the end.
  double simulated_s = 0;
  // Wall-clock time the run took.
  double wall_s = 0;
  // The hash of every event, in order: equal for equal runs.
  std::uint64_t trace_hash = 0;
  // Transactions acknowledged to the client as committed.
  std::uint64_t acked_txs = 0;
  // Faults injected, by kind.
  fault_counts injected;
  // Snapshots the nodes took (made durable and compacted their logs
  // after), and installed from a leader, over every incarnation.
  std::uint64_t snapshots_taken = 0;
  // Snapshots installed from a leader, over every incarnation.
  std::uint64_t snapshots_installed = 0;
  // Where the nodes' files are (kept only with keep_files).
  std::filesystem::path dir;
  // One node's work: over the run, or over the measured window.
  struct node_io {
    // Writes completed.
    std::uint64_t writes = 0;
    // Barriers of completed writes.
    std::uint64_t fdatasyncs = 0;
    // Bytes of completed writes.
    std::uint64_t bytes_written = 0;
    // Its CPU (all zero without a CPU profile).
    cpu_use cpu;
  };
  // Each node's work over the run, by node slot.
  std::vector<node_io> io;
  // Each node's work over options::window_from_s..window_to_s (empty
  // without a window).
  std::vector<node_io> window;
};

// Whether options can run: what a command line may get wrong (the node
// count, the persistence, a load that cuts no block). The error is a
// sentence naming the option as `ringchain-sim dst` spells it, and the
// value.
base::status validate(const options& o);

// Where simulated disks keep their files: /dev/shm/ringchain-dst when
// /dev/shm has `min_free_bytes` free (the files are written without
// barriers and deleted after each run, and a container's /dev/shm may have
// 64 MiB), else ringchain-dst in the system's temporary directory.
std::filesystem::path default_work_dir(double min_free_bytes);

// Removes the run directories in `work_dir` ("seed-<seed>-<pid>-<n>")
// whose process is gone and that were not kept on purpose (a run that ends
// keeping its files leaves a file "kept" in them; a run killed before it
// ended has none, --keep or not): what a killed run left behind,
// which in /dev/shm holds memory until the machine restarts. Returns how
// many it removed. Every run calls it on its work directory first.
std::size_t remove_orphaned_runs(const std::filesystem::path& work_dir);

// Runs one seed; the options must validate.
result run(const options& o);

// The command that replays a run of these options.
std::string replay_command(const options& o);

}  // namespace ringchain::dst
