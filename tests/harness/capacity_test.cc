// The deadline-capacity search against a cell whose capacity is known.
#include "sim/harness/capacity.h"

#include <gtest/gtest.h>

namespace ringchain::harness {
namespace {

// A cell that meets its deadline up to `capacity` tx/s offered.
report::cell_report cell_at(std::uint32_t rate, std::uint32_t capacity) {
  report::cell_report r;
  r.blocks.resize(1);
  r.rounds = 100;
  r.offered_tps = rate;
  r.accepted_tps = std::min(rate, capacity);
  r.summary.deadline_met_ratio = rate <= capacity ? 1.0 : 0.4;
  return r;
}

TEST(capacity, finds_the_capacity_within_the_refinement) {
  std::vector<std::uint32_t> tried;
  const capacity_found f = find_capacity(
      [&](std::uint32_t rate) {
        tried.push_back(rate);
        return cell_at(rate, 5000);
      },
      1000, 20000, 3);
  // 1000, 2000, 4000 met; 8000 missed; then 6000 (no), 5000 (yes), 5500 (no).
  EXPECT_EQ(tried, (std::vector<std::uint32_t>{1000, 2000, 4000, 8000, 6000, 5000, 5500}));
  EXPECT_EQ(f.tps, 5000);
  ASSERT_EQ(f.probes.size(), tried.size());
  EXPECT_TRUE(f.probes[2].met);
  EXPECT_FALSE(f.probes[3].met);
}

TEST(capacity, a_cell_past_its_capacity_at_the_start_searches_down) {
  const capacity_found f =
      find_capacity([](std::uint32_t rate) { return cell_at(rate, 700); }, 4000, 20000, 2);
  EXPECT_GT(f.tps, 0);
  EXPECT_LE(f.tps, 700);
  EXPECT_GE(f.tps, 500);
}

TEST(capacity, a_backlog_is_not_capacity) {
  // Every block meets the deadline, but clients see only half the load
  // committed: a queue grows.
  report::cell_report r = cell_at(4000, 4000);
  r.accepted_tps = 2000;
  EXPECT_FALSE(report::meets_deadline(r));
  r.accepted_tps = 3900;
  EXPECT_TRUE(report::meets_deadline(r));
  r.rounds_without_block = 5;
  EXPECT_FALSE(report::meets_deadline(r)) << "5% of rounds without a block";
}

}  // namespace
}  // namespace ringchain::harness
