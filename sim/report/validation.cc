#include "sim/report/validation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace ringchain::report {

namespace {

std::string percent(const comparison& c) {
  if (!c.has_error) return "-";
  return (c.error >= 0 ? "+" : "") + fixed(100 * c.error, 1) + "%";
}

}  // namespace

comparison compare(const std::string& figure, double predicted, double measured) {
  comparison c{figure, predicted, measured, measured, measured, 0, true};
  if (measured != 0) {
    c.error = (predicted - measured) / measured;
  } else if (predicted != 0) {
    c.has_error = false;
  }
  return c;
}

std::vector<comparison> compare_cells(const cell_report& predicted, const cell_report& measured) {
  const summary& p = predicted.summary;
  const summary& m = measured.summary;
  std::vector<comparison> out = {
      compare("p50 ms", p.p50_ms, m.p50_ms),
      compare("p90 ms", p.p90_ms, m.p90_ms),
      compare("p99 ms", p.p99_ms, m.p99_ms),
      compare("tx/s", p.txs_per_s, m.txs_per_s),
      compare("deadline met %", 100 * p.deadline_met_ratio, 100 * m.deadline_met_ratio),
      compare("leader changes", static_cast<double>(predicted.leader_changes),
              static_cast<double>(measured.leader_changes)),
  };
  const phases& a = p.mean;
  const phases& b = m.mean;
  const std::pair<const char*, double phases::*> phase_figures[] = {
      {"build ms", &phases::build_us},
      {"leader persist ms", &phases::leader_persist_us},
      {"network ms", &phases::network_us},
      {"follower persist ms", &phases::follower_persist_us},
      {"quorum wait ms", &phases::quorum_wait_us},
      {"commit ms (mean)", &phases::commit_us},
      {"then apply ms", &phases::apply_us},
  };
  for (const auto& [name, field] : phase_figures) {
    out.push_back(compare(name, a.*field / 1000, b.*field / 1000));
  }
  return out;
}

std::vector<comparison> compare_repeats(const std::vector<cell_report>& predicted,
                                        const std::vector<cell_report>& measured) {
  const std::size_t runs = std::min(predicted.size(), measured.size());
  if (runs == 0) return {};
  std::vector<std::vector<comparison>> each;
  for (std::size_t k = 0; k < runs; ++k) each.push_back(compare_cells(predicted[k], measured[k]));
  std::vector<comparison> out;
  for (std::size_t f = 0; f < each[0].size(); ++f) {
    std::vector<double> p, m;
    for (const auto& run : each) {
      p.push_back(run[f].predicted);
      m.push_back(run[f].measured);
    }
    comparison c = compare(each[0][f].figure, percentile(p, 50), percentile(m, 50));
    c.measured_min = *std::min_element(m.begin(), m.end());
    c.measured_max = *std::max_element(m.begin(), m.end());
    out.push_back(c);
  }
  return out;
}

double spread(const comparison& c) {
  if (c.measured == 0) return 0;
  return (c.measured_max - c.measured_min) / c.measured;
}

bool inside_range(const comparison& c) {
  return c.predicted >= c.measured_min && c.predicted <= c.measured_max;
}

bool within(const std::vector<comparison>& figures, double tolerance) {
  for (const comparison& c : figures) {
    if (c.figure != "p50 ms" && c.figure != "p99 ms") continue;
    if (!c.has_error || std::fabs(c.error) > tolerance) return false;
  }
  return true;
}

std::string validation_markdown(const std::vector<std::vector<cell_report>>& predicted,
                                const std::vector<std::vector<cell_report>>& measured,
                                double tolerance) {
  std::ostringstream out;
  std::ostringstream verdicts;
  for (std::size_t i = 0; i < predicted.size() && i < measured.size(); ++i) {
    const std::vector<cell_report>& ps = predicted[i];
    const std::vector<cell_report>& ms = measured[i];
    if (ps.empty() || ms.empty()) continue;
    const std::string& label = ms.front().label;
    out << "### " << label << "\n\n";
    std::string failed;
    for (const cell_report& c : ms) {
      if (failed.empty() && !c.error.empty()) failed = "measured: " + c.error;
    }
    for (const cell_report& c : ps) {
      if (failed.empty() && !c.error.empty()) failed = "simulated: " + c.error;
    }
    if (!failed.empty()) {
      out << "not compared: " << failed << "\n\n";
      verdicts << "- " << label << ": not compared\n";
      continue;
    }
    const bool repeated = ms.size() > 1;
    const std::vector<comparison> rows = compare_repeats(ps, ms);
    if (repeated) {
      out << "Medians of " << ms.size() << " runs each; the measured runs' range beside them.\n\n"
          << "| figure | simulated | measured | measured range | error |\n"
          << "| --- | ---: | ---: | ---: | ---: |\n";
    } else {
      out << "| figure | simulated | measured | error |\n| --- | ---: | ---: | ---: |\n";
    }
    for (const comparison& c : rows) {
      out << "| " << c.figure << " | " << fixed(c.predicted, 2) << " | " << fixed(c.measured, 2);
      if (repeated) out << " | " << fixed(c.measured_min, 2) << " to " << fixed(c.measured_max, 2);
      out << " | " << percent(c) << " |\n";
    }
    out << '\n';
    const comparison& p50 = rows[0];
    const comparison& p99 = rows[2];
    verdicts << "- " << label << ": p50 " << percent(p50) << ", p99 " << percent(p99)
             << (within(rows, tolerance) ? ": within " : ": NOT within ")
             << fixed(100 * tolerance, 0) << "%";
    if (repeated) {
      verdicts << "; the measured runs spread " << fixed(100 * spread(p50), 0) << "% (p50) and "
               << fixed(100 * spread(p99), 0) << "% (p99), and the prediction is "
               << (inside_range(p50) ? "inside" : "outside") << " their p50 range and "
               << (inside_range(p99) ? "inside" : "outside") << " their p99 range";
    }
    verdicts << "\n";
  }
  return out.str() + "### Verdicts\n\n" + verdicts.str();
}

std::string capacity_markdown(const std::vector<capacity_comparison>& cells, double tolerance) {
  std::ostringstream out;
  out << "| cell | simulated tx/s | measured tx/s | error |\n| --- | ---: | ---: | ---: |\n";
  std::ostringstream verdicts;
  for (const capacity_comparison& c : cells) {
    const comparison e = compare("capacity", c.predicted_tps, c.measured_tps);
    out << "| " << c.label << " | " << fixed(c.predicted_tps, 0) << " | "
        << fixed(c.measured_tps, 0) << " | " << percent(e) << " |\n";
    verdicts << "- " << c.label << ": capacity " << percent(e)
             << (e.has_error && std::fabs(e.error) <= tolerance ? ": within " : ": NOT within ")
             << fixed(100 * tolerance, 0) << "%\n";
  }
  return out.str() + "\n" + verdicts.str();
}

}  // namespace ringchain::report
