// Validation arithmetic: errors against the measured median, and the
// measured runs' range.
#include "sim/report/validation.h"

#include <gtest/gtest.h>

namespace ringchain::report {
namespace {

cell_report cell(double p50, double p99, const std::string& label = "io=uring") {
  cell_report c;
  c.label = label;
  c.summary.p50_ms = p50;
  c.summary.p90_ms = p50;
  c.summary.p99_ms = p99;
  c.summary.txs_per_s = 1000;
  return c;
}

const comparison& figure(const std::vector<comparison>& rows, const std::string& name) {
  for (const comparison& c : rows) {
    if (c.figure == name) return c;
  }
  ADD_FAILURE() << "no figure " << name;
  return rows.front();
}

TEST(validation, one_run_compares_the_two_figures) {
  const auto rows = compare_cells(cell(1.1, 2.0), cell(1.0, 4.0));
  EXPECT_NEAR(figure(rows, "p50 ms").error, 0.10, 1e-9);
  EXPECT_NEAR(figure(rows, "p99 ms").error, -0.50, 1e-9);
  EXPECT_DOUBLE_EQ(figure(rows, "p50 ms").measured_min, 1.0);
  EXPECT_DOUBLE_EQ(spread(figure(rows, "p50 ms")), 0);
  EXPECT_FALSE(within(rows, 0.15));
}

TEST(validation, repeats_compare_medians_and_keep_the_measured_range) {
  const std::vector<cell_report> predicted = {cell(1.0, 5.0), cell(3.0, 5.2), cell(2.0, 4.8)};
  const std::vector<cell_report> measured = {cell(2.0, 4.0), cell(8.0, 6.0), cell(2.2, 5.0)};
  const auto rows = compare_repeats(predicted, measured);
  const comparison& p50 = figure(rows, "p50 ms");
  EXPECT_DOUBLE_EQ(p50.predicted, 2.0);
  EXPECT_DOUBLE_EQ(p50.measured, 2.2);
  EXPECT_DOUBLE_EQ(p50.measured_min, 2.0);
  EXPECT_DOUBLE_EQ(p50.measured_max, 8.0);
  EXPECT_NEAR(spread(p50), 6.0 / 2.2, 1e-9);
  EXPECT_TRUE(inside_range(p50));  // the range includes its ends
  const comparison& p99 = figure(rows, "p99 ms");
  EXPECT_DOUBLE_EQ(p99.predicted, 5.0);
  EXPECT_DOUBLE_EQ(p99.measured, 5.0);
  EXPECT_TRUE(inside_range(p99));
  EXPECT_TRUE(within(rows, 0.15));
}

TEST(validation, the_markdown_gives_the_range_and_both_verdicts) {
  const std::vector<std::vector<cell_report>> predicted = {{cell(1.0, 2.0), cell(1.0, 2.0)}};
  const std::vector<std::vector<cell_report>> measured = {{cell(1.0, 2.0), cell(2.0, 3.0)}};
  const std::string md = validation_markdown(predicted, measured, 0.15);
  EXPECT_NE(md.find("Medians of 2 runs"), std::string::npos) << md;
  EXPECT_NE(md.find("| p50 ms | 1.00 | 1.00 | 1.00 to 2.00 | +0.0% |"), std::string::npos) << md;
  EXPECT_NE(md.find("within 15%"), std::string::npos) << md;
  EXPECT_NE(md.find("inside their p50 range"), std::string::npos) << md;
}

TEST(validation, a_failed_run_is_not_compared) {
  cell_report bad = cell(1.0, 2.0);
  bad.error = "node 2 did not start";
  const std::string md =
      validation_markdown({{cell(1.0, 2.0), cell(1.0, 2.0)}}, {{cell(1.0, 2.0), bad}}, 0.15);
  EXPECT_NE(md.find("not compared: measured: node 2 did not start"), std::string::npos) << md;
}

TEST(validation, capacities_are_compared_cell_by_cell) {
  const std::string md = capacity_markdown(
      {{"io=uring", 5200, 5000}, {"io=epoll", 1000, 2000}, {"io=none", 800, 0}}, 0.15);
  EXPECT_NE(md.find("| io=uring | 5200 | 5000 | +4.0% |"), std::string::npos) << md;
  EXPECT_NE(md.find("- io=uring: capacity +4.0%: within 15%"), std::string::npos) << md;
  EXPECT_NE(md.find("- io=epoll: capacity -50.0%: NOT within 15%"), std::string::npos) << md;
  // A measured capacity of 0 (every probe missed): no error to give.
  EXPECT_NE(md.find("- io=none: capacity -: NOT within 15%"), std::string::npos) << md;
}

}  // namespace
}  // namespace ringchain::report
