#include "sim/harness/capacity.h"

#include <algorithm>

namespace ringchain::harness {

capacity_found find_capacity(const probe_fn& run, std::uint32_t start_tps, std::uint32_t max_tps,
                             int refine) {
  capacity_found out;
  std::uint32_t good = 0, bad = 0;
  auto probe = [&](std::uint32_t rate) {
    const report::cell_report r = run(rate);
    const bool met = report::meets_deadline(r);
    out.probes.push_back(
        {static_cast<double>(rate), r.accepted_tps, r.summary.deadline_met_ratio, met});
    (met ? good : bad) = rate;
    return met;
  };
  std::uint32_t rate = std::clamp<std::uint32_t>(start_tps, 1, max_tps);
  if (probe(rate)) {
    while (bad == 0 && rate < max_tps) probe(rate = std::min(max_tps, rate * 2));
  } else {
    const std::uint32_t floor = std::max<std::uint32_t>(1, start_tps / 16);
    while (good == 0 && rate > floor) probe(rate = std::max(floor, rate / 2));
  }
  for (int i = 0; i < refine && good != 0 && bad != 0 && bad - good > good / 20; ++i) {
    probe(good + (bad - good) / 2);
  }
  out.tps = good;
  return out;
}

}  // namespace ringchain::harness
