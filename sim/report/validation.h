// Validation arithmetic: a simulated cell's figures against the same
// cell measured on local processes, with the error of each
// (`ringchain-sim validate`).
#pragma once

#include <string>
#include <vector>

#include "sim/report/writer.h"

namespace ringchain::report {

// One figure, predicted by the simulator and measured on processes. Over
// repeated runs, each side is the median of its runs (nearest rank), and
// the measured runs' range is kept: a prediction can be no closer to the
// truth than the runs are to each other.
struct comparison {
  // What it is: "p50 ms", "tx/s", "build ms", ...
  std::string figure;
  // The simulator's figure, and the processes' figure.
  double predicted = 0, measured = 0;
  // The lowest and highest measured run (both `measured` for one run).
  double measured_min = 0, measured_max = 0;
  // (predicted - measured) / measured; 0 when both are 0, and no error
  // (has_error false) when only the measurement is 0.
  double error = 0;
  // Whether `error` means anything (the measurement is not 0).
  bool has_error = true;
};

// The error of a prediction against its measurement, as in comparison.
comparison compare(const std::string& figure, double predicted, double measured);

// A cell's figures side by side: commit latency p50, p90, p99,
// throughput, the share of blocks within the deadline, leader changes,
// and the mean of each phase of the budget.
std::vector<comparison> compare_cells(const cell_report& predicted, const cell_report& measured);

// The same over repeated runs of one cell (as many of each, at least
// one): every figure's median on each side, and the measured range.
std::vector<comparison> compare_repeats(const std::vector<cell_report>& predicted,
                                        const std::vector<cell_report>& measured);

// Whether p50 and p99 are both within `tolerance` (0.15 for 15%).
bool within(const std::vector<comparison>& figures, double tolerance);

// How far apart the measured runs were: (max - min) / median of the
// figure (0 for one run, or a median of 0).
double spread(const comparison& c);

// Whether the prediction lies inside the measured runs' range.
bool inside_range(const comparison& c);

// Markdown: one table per cell (figure, simulated, measured, the measured
// range when there are repeats, error), then a line per cell saying
// whether p50 and p99 are within `tolerance` and inside the measured
// range. `predicted[i]` and `measured[i]` are the repeats of cell i.
std::string validation_markdown(const std::vector<std::vector<cell_report>>& predicted,
                                const std::vector<std::vector<cell_report>>& measured,
                                double tolerance);

// A cell's deadline capacity, simulated and measured (tx/s; 0: even the
// lowest rate tried missed the deadline).
struct capacity_comparison {
  // The cell's label.
  std::string label;
  // The simulator's capacity and the processes'.
  double predicted_tps = 0, measured_tps = 0;
};

// Markdown: a table of capacities with the error of each, then a line per
// cell saying whether it is within `tolerance`.
std::string capacity_markdown(const std::vector<capacity_comparison>& cells, double tolerance);

}  // namespace ringchain::report
