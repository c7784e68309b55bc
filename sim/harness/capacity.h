// Deadline capacity: the highest offered load at which a cell still meets
// its deadline (report::meets_deadline: at least 99% of blocks within it,
// at most 1% of rounds without a block, and no backlog). Comparing modes
// at their capacities, and at one equal load below both, compares the cost
// of a block rather than a queue that grows because one mode is
// overloaded.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "sim/report/writer.h"

namespace ringchain::harness {

// Runs the cell at an offered rate for a short window.
using probe_fn = std::function<report::cell_report(std::uint32_t rate_tps)>;

// What a search found: the highest rate that met the deadline (0 when
// even the first probe missed it) and every probe, in the order run.
struct capacity_found {
  // The highest offered rate that met the deadline; 0 when none did.
  double tps = 0;
  // Every probe, in the order run.
  std::vector<report::cell_report::probe> probes;
};

// Doubles the offered rate from `start_tps` while the cell meets its
// deadline (halves it while it misses, down to 1/16 of the start), up to
// `max_tps`; then halves the gap between the highest rate that met it and
// the lowest that did not, `refine` times.
capacity_found find_capacity(const probe_fn& run, std::uint32_t start_tps, std::uint32_t max_tps,
                             int refine);

}  // namespace ringchain::harness
