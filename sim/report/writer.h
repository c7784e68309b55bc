// Report writers: report.json, blocks.csv, report.md and report.html (with
// plots) in a run directory.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sim/report/budget.h"

namespace ringchain::report {

// Resource use of one node over a cell's measured window.
struct node_resources {
  std::uint64_t id = 0;
  double cpu_user_s = 0, cpu_system_s = 0;
  std::uint64_t voluntary_switches = 0, involuntary_switches = 0;
  std::uint64_t fdatasyncs = 0, io_enter_calls = 0, bytes_written = 0;
};

// A fault injected during a cell, on the monotonic clock of the traces.
struct fault_window {
  std::string kind;
  std::uint64_t node = 0;
  std::uint64_t start_us = 0, end_us = 0;
};

// One cell of an experiment, as measured.
struct cell_report {
  std::string label;
  std::size_t nodes = 0;
  std::string io, persistence;
  std::uint32_t round_deadline_ms = 0, txs_per_block = 0, barrier_delay_us = 0;
  std::string error;  // empty when the cell ran
  std::uint64_t leader = 0;
  double offered_tps = 0;   // sent per second
  double accepted_tps = 0;  // committed per second, as clients saw it
  std::uint64_t refused = 0;
  std::vector<block_record> blocks;  // the leader's blocks in the window
  report::summary summary;
  std::vector<node_resources> resources;
  std::vector<fault_window> faults;
  // Distinct leaders' terms among the measured blocks, less one.
  std::size_t leader_changes = 0;
  // Round-length slots of the window in which no block's round started
  // (an election, a stalled leader), and all slots.
  std::size_t rounds_without_block = 0;
  std::size_t rounds = 0;
};

struct run_report {
  std::string experiment;
  std::string description;
  double duration_s = 0;
  std::vector<cell_report> cells;
};

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

// Writes every report file into `dir`; returns an error sentence or "".
std::string write_reports(const run_report& r, const std::filesystem::path& dir);

// Reads report.json back (for re-rendering); an error sentence or "".
std::string read_report(const std::filesystem::path& dir, run_report* out);

}  // namespace ringchain::report
