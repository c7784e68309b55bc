// Report writers: report.json, blocks.csv, report.md and report.html (with
// plots) in a run directory.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "node/base/result.h"
#include "sim/report/budget.h"

namespace ringchain::report {

// Resource use of one node over a cell's measured window (the difference
// of samples at its edges). The simulator fills the disk figures, and the
// others too when it simulates CPU time (a machine profile): CPU time as
// modelled, voluntary switches as wake-ups of the loop and the verifier
// threads; no involuntary ones, no syscalls and no io_uring workers.
struct node_resources {
  // The node's id.
  std::uint64_t id = 0;
  // CPU time in user and in system mode, of every thread of the process
  // (io_uring's workers included).
  double cpu_user_s = 0, cpu_system_s = 0;
  // Context switches: voluntary (waits) and involuntary (preemptions).
  std::uint64_t voluntary_switches = 0, involuntary_switches = 0;
  // Barriers and bytes written, as the node counted them.
  std::uint64_t fdatasyncs = 0, bytes_written = 0;
  // System calls entered by every thread of the process, counted by the
  // kernel (the raw_syscalls:sys_enter tracepoint); valid when
  // syscalls_counted.
  std::uint64_t syscalls = 0;
  // Whether `syscalls` was counted (see cell_report::syscalls_unavailable).
  bool syscalls_counted = false;
  // CPU time of io_uring's worker threads (io-wq) alive at the window's
  // end; part of cpu_user_s + cpu_system_s, and 0 under epoll.
  double io_worker_cpu_s = 0;
};

// A fault injected during a cell, on the monotonic clock of the traces.
struct fault_window {
  // "kill", "pause" or "slow_disk".
  std::string kind;
  // The node it struck.
  std::uint64_t node = 0;
  // When it started and ended (0: not yet).
  std::uint64_t start_us = 0, end_us = 0;
};

// One cell of an experiment, as measured.
struct cell_report {
  // The matrix values that name the cell.
  std::string label;
  // Nodes in the cluster.
  std::size_t nodes = 0;
  // "processes" or "sim": which engine ran the cell.
  std::string engine = "processes";
  // Simulated cells: the machine profile whose CPU time the nodes spent;
  // empty when CPU time was not simulated.
  std::string machine;
  // The io backend and the barrier policy.
  std::string io, persistence;
  // The cell's deadline, block size and barrier delay, as set.
  std::uint32_t round_deadline_ms = 0, txs_per_block = 0, barrier_delay_us = 0;
  // Why the cell failed; empty when it ran.
  std::string error;
  // A simulated cell runs in ringchain-sim's own process: that process's
  // peak resident memory (getrusage) when the cell ended, MiB (cells run
  // before it in the same process count in it); 0 on processes.
  double sim_peak_mib = 0;
  // The leader's id at the start (or of the first measured block).
  std::uint64_t leader = 0;
  // Transactions sent per second.
  double offered_tps = 0;
  // Transactions committed per second, as clients saw it.
  double accepted_tps = 0;
  // Transactions refused (not leader, full pool...).
  std::uint64_t refused = 0;
  // The leader's blocks in the window.
  std::vector<block_record> blocks;
  // What the window's blocks add up to.
  report::summary summary;
  // Each node's resource use in the window.
  std::vector<node_resources> resources;
  // Why system calls were not counted, when they were not (perf_event_open
  // refused, say); empty when they were or nothing was measured.
  std::string syscalls_unavailable;
  // The faults injected.
  std::vector<fault_window> faults;
  // Distinct leaders' terms among the measured blocks, less one.
  std::size_t leader_changes = 0;
  // Round-length slots of the window in which no block's round started
  // (an election, a stalled leader).
  std::size_t rounds_without_block = 0;
  // All round-length slots of the window.
  std::size_t rounds = 0;
  // Deadline capacity (experiments with capacity_search): the highest
  // offered load found to meet the deadline (0: not searched), the probes
  // that found it, and the cell measured again at the run's equal load.
  double capacity_tps = 0;
  // One run of the capacity search.
  struct probe {
    // The rate offered, the rate clients saw committed, and the share of
    // blocks within the deadline.
    double offered_tps = 0, committed_tps = 0, deadline_met_ratio = 0;
    // Whether the probe met the deadline (meets_deadline).
    bool met = false;
  };
  // The search's probes, in the order run.
  std::vector<probe> capacity_probes;
  // The run's equal load: half the lowest capacity of its cells (0: not
  // measured).
  double equal_load_tps = 0;
  // The cell's blocks measured again at equal_load_tps.
  report::summary equal_load;
};

// Whether a cell met its deadline: at least 99% of its blocks committed
// within it, at most 1% of its rounds produced no block, and (so that a
// backlog does not pass for a block's cost) clients saw at least 95% of
// the offered load committed.
bool meets_deadline(const cell_report& c);

// A whole run of an experiment: what report.json holds.
struct run_report {
  // The experiment's name.
  std::string experiment;
  // Its description.
  std::string description;
  // The measured window of each cell.
  double duration_s = 0;
  // The cells, in the experiment's order.
  std::vector<cell_report> cells;
};

// Whether a cell's CPU and context switch figures mean anything: measured
// on processes, or simulated with a machine profile.
bool cpu_figures(const cell_report& c);

// Every leader's blocks with transactions whose round started in
// [from_us, to_us] and that committed, one per height, in height order,
// from the nodes' trace files.
std::vector<block_record> read_traces(const std::vector<std::filesystem::path>& files,
                                      std::uint64_t from_us, std::uint64_t to_us);

// Fills r's summary, rounds, rounds without a block and leader changes
// from r->blocks (the window's blocks) and the window's bounds; sets
// r->error when no block committed.
void measure_window(cell_report* r, std::uint64_t from_us, std::uint64_t to_us,
                    std::uint64_t round_us);

// The summary tables as Markdown: what the terminal shows and report.md
// holds.
std::string markdown(const run_report& r);

// Writes every report file into `dir`; fails when it cannot create `dir`.
base::status write_reports(const run_report& r, const std::filesystem::path& dir);

// Reads report.json back from a run directory (for re-rendering and
// comparing); fails when it is missing or does not read.
base::result<run_report> read_report(const std::filesystem::path& dir);

}  // namespace ringchain::report
