// The report's plots: commit-latency CDFs, where the time went, latency
// over the window (faults shaded) and throughput against p99, drawn by
// gnuplot when it is installed.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "sim/report/writer.h"

namespace ringchain::report {

// Renders the plots of a run into dir/plots (data, gnuplot script, SVG
// files) and returns each plot's name and SVG text, for report.html;
// nothing when gnuplot is missing or no cell has blocks.
std::vector<std::pair<std::string, std::string>> render_plots(const run_report& r,
                                                              const std::filesystem::path& dir);

}  // namespace ringchain::report
