#include "sim/report/validation.h"

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
  comparison c{figure, predicted, measured, 0, true};
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

bool within(const std::vector<comparison>& figures, double tolerance) {
  for (const comparison& c : figures) {
    if (c.figure != "p50 ms" && c.figure != "p99 ms") continue;
    if (!c.has_error || std::fabs(c.error) > tolerance) return false;
  }
  return true;
}

std::string validation_markdown(const std::vector<cell_report>& predicted,
                                const std::vector<cell_report>& measured, double tolerance) {
  std::ostringstream out;
  std::ostringstream verdicts;
  for (std::size_t i = 0; i < predicted.size() && i < measured.size(); ++i) {
    const cell_report& p = predicted[i];
    const cell_report& m = measured[i];
    out << "### " << m.label << "\n\n";
    if (!p.error.empty() || !m.error.empty()) {
      out << "not compared: "
          << (m.error.empty() ? "simulated: " + p.error : "measured: " + m.error) << "\n\n";
      verdicts << "- " << m.label << ": not compared\n";
      continue;
    }
    out << "| figure | simulated | measured | error |\n| --- | ---: | ---: | ---: |\n";
    const std::vector<comparison> rows = compare_cells(p, m);
    for (const comparison& c : rows) {
      out << "| " << c.figure << " | " << fixed(c.predicted, 2) << " | " << fixed(c.measured, 2)
          << " | " << percent(c) << " |\n";
    }
    out << '\n';
    verdicts << "- " << m.label << ": p50 " << percent(rows[0]) << ", p99 " << percent(rows[2])
             << (within(rows, tolerance) ? ": within " : ": NOT within ")
             << fixed(100 * tolerance, 0) << "%\n";
  }
  return out.str() + "### Verdicts\n\n" + verdicts.str();
}

}  // namespace ringchain::report
