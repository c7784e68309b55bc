// The node probe's fit: lines through the medians of a light and a heavy
// run, residuals against the profile's disk and network.
#include "sim/calibrate/node_probe.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "sim/calibrate/calibrate.h"

namespace ringchain::calibrate {
namespace {

dst::machine_profile machine() {
  dst::machine_profile m;
  m.rtt_p50_us = 50;
  m.cpu.cores = 2;
  m.gbit_per_s = 8;  // a byte a nanosecond: 1,024 bytes take 1.024 us
  m.disk = {{"uring", 2, 65536, 200, 0, 0, 200, {}},
            {"uring", 1, 65536, 100, 0, 0, 100, {}},
            {"uring", 2, 512, 150, 0, 0, 150, {}}};
  return m;
}

// A run of `blocks` blocks of `txs` transactions each (plus one slow block
// the medians ignore), timed by the lines the test expects back. Its
// three nodes apply 10 rounds' worth of blocks a second: on the profile's
// 2 cores, a load of 0.015 per transaction of a block (thousands of tx/s
// per core).
report::cell_report run(std::uint64_t txs, int blocks) {
  report::cell_report c;
  c.label = "probe " + std::to_string(txs);
  c.nodes = 3;
  c.accepted_tps = 10.0 * static_cast<double>(txs);
  const double load = 3 * c.accepted_tps / 1000 / 2;
  for (int i = 0; i <= blocks; ++i) {
    const bool slow = i == blocks;
    report::block_record b;
    b.txs = txs;
    b.bytes = txs * 256;
    b.round_start_us = 1'000'000;
    b.write_submitted_us = b.round_start_us + 100 + 2 * txs + (slow ? 50'000 : 0);
    b.committed_us = 2'000'000;
    b.applied_us = b.committed_us + 40 + 3 * txs;
    const double kib = static_cast<double>(b.bytes) / 1024;
    // persist: the disk's 200 us (2 writers, 64 KiB) + 300 + 400 per unit
    // of load.
    const auto persist = static_cast<std::uint64_t>(200 + 300 + 400 * load);
    // network: round trip + the wire + two messages of 70 us + 5 us/KiB.
    const auto network =
        static_cast<std::uint64_t>(50 + static_cast<double>(b.bytes) / 1000 + 140 + 5 * kib + 0.5);
    const std::uint64_t sent = b.write_submitted_us;
    // The leader's own write: the disk's 100 us (1 writer, 64 KiB) + 600 +
    // 800 per unit of load.
    b.barrier_done_us = sent + static_cast<std::uint64_t>(100 + 600 + 800 * load);
    // A slower follower: its write counts, its network does not (the
    // budget's network phase is the first acknowledgement's).
    b.followers.push_back({2, sent, sent + network + persist + 500, persist});
    b.followers.push_back({3, sent, sent + network + persist, persist});
    b.followers.push_back({4, sent, 0, 0});  // never acknowledged: left out
    c.blocks.push_back(b);
  }
  return c;
}

TEST(node_probe, lines_come_back_from_a_light_and_a_heavy_run) {
  const auto fit = fit_node_costs({run(60, 20), run(240, 20)}, machine(), "uring", 2);
  ASSERT_TRUE(fit.ok()) << fit.message();
  EXPECT_EQ(fit->io, "uring");
  EXPECT_EQ(fit->blocks, 42u);
  EXPECT_NEAR(fit->build_us, 100, 1e-6);
  EXPECT_NEAR(fit->build_tx_us, 2, 1e-6);
  EXPECT_NEAR(fit->apply_us, 40, 1e-6);
  EXPECT_NEAR(fit->apply_tx_us, 3, 1e-6);
  // Writes: lines in the runs' loads (0.9 and 3.6), none in KiB.
  EXPECT_NEAR(fit->write_us, 300, 1.0);
  EXPECT_NEAR(fit->write_load_us, 400, 1.0);
  EXPECT_EQ(fit->write_kib_us, 0);
  EXPECT_NEAR(fit->leader_write_us, 600, 1.0);
  EXPECT_NEAR(fit->leader_write_load_us, 800, 1.0);
  EXPECT_EQ(fit->leader_write_kib_us, 0);
  EXPECT_NEAR(fit->message_us, 70, 1.0);
  EXPECT_NEAR(fit->message_kib_us, 5, 0.05);
}

// The write lines keep how writes vary about their run's median: a third
// of the followers' writes take half the median's time beyond the disk,
// a third the median's, a third one and a half times it. One write that
// took 50 times the median does not stretch the tail: above the 90th
// percentile the spread holds its 90th percentile's ratio.
TEST(node_probe, the_write_lines_keep_their_spread) {
  std::vector<report::cell_report> runs = {run(60, 30), run(240, 30)};
  for (report::cell_report& c : runs) {
    for (std::size_t i = 0; i < c.blocks.size(); ++i) {
      const bool stalled = &c == &runs[0] && i == 1;
      const double factor = stalled ? 50 : 0.5 + 0.5 * static_cast<double>(i % 3);
      for (auto& f : c.blocks[i].followers) {
        if (f.persist_us == 0) continue;
        // The disk's 200 us, then the time beyond it scaled.
        const auto persist =
            static_cast<std::uint64_t>(200 + factor * (static_cast<double>(f.persist_us) - 200));
        f.acked_us -= f.persist_us - persist;
        f.persist_us = persist;
      }
    }
  }
  const auto fit = fit_node_costs(runs, machine(), "uring", 2);
  ASSERT_TRUE(fit.ok()) << fit.message();
  ASSERT_EQ(fit->write_spread.size(), dst::quantile_count);
  for (std::size_t i = 0; i < dst::quantile_count; ++i) {
    const double q = dst::quantile_points[i];
    // Near a third's edge, the group a quantile falls in depends on the
    // runs' block counts.
    if (std::abs(q - 1.0 / 3) < 0.05 || std::abs(q - 2.0 / 3) < 0.05) continue;
    const double expected = q < 1.0 / 3 ? 0.5 : q < 2.0 / 3 ? 1.0 : 1.5;
    EXPECT_NEAR(fit->write_spread[i], expected, 0.01) << "at quantile " << q;
  }
  // The leader's writes did not vary: its spread is flat at 1.
  ASSERT_EQ(fit->leader_write_spread.size(), dst::quantile_count);
  EXPECT_NEAR(fit->leader_write_spread[1], 1, 0.01);
  EXPECT_NEAR(fit->leader_write_spread[19], 1, 0.01);
}

TEST(node_probe, one_load_cannot_make_a_line) {
  const auto fit = fit_node_costs({run(60, 20)}, machine(), "uring", 2);
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.message().find("two loads"), std::string::npos) << fit.message();
}

TEST(node_probe, a_failed_run_is_named) {
  report::cell_report bad = run(240, 5);
  bad.error = "node 1 did not start";
  const auto fit = fit_node_costs({run(60, 5), bad}, machine(), "uring", 2);
  ASSERT_FALSE(fit.ok());
  EXPECT_NE(fit.message().find("node 1 did not start"), std::string::npos) << fit.message();
}

TEST(node_probe, costs_are_never_negative) {
  // Phases shorter than the disk and the network alone: residuals below
  // zero become zero, not a negative cost.
  report::cell_report light = run(60, 5), heavy = run(240, 5);
  for (report::cell_report* c : {&light, &heavy}) {
    for (report::block_record& b : c->blocks) {
      for (int f : {0, 1}) {
        b.followers[f].persist_us = 10;
        b.followers[f].acked_us = b.followers[f].sent_us + 20;
      }
    }
  }
  const auto fit = fit_node_costs({light, heavy}, machine(), "uring", 2);
  ASSERT_TRUE(fit.ok()) << fit.message();
  EXPECT_EQ(fit->write_us, 0);
  EXPECT_EQ(fit->write_load_us, 0);
  EXPECT_EQ(fit->message_us, 0);
  EXPECT_EQ(fit->message_kib_us, 0);
}

// per_tx: 20 blocks of 40 transactions of 256 bytes (parts at the 512-byte
// disk figure, 150 us with two writers), each follower write the write
// line (300 + 4/KiB + 100 per unit of load, at the run's load of 0.6:
// three nodes applying 400 tx/s on 2 cores) plus 40 parts of 150 + 60 us;
// one slow write the median ignores, one that never landed left out.
TEST(node_probe, a_part_costs_the_per_tx_writes_residual_over_its_parts) {
  dst::node_costs line;
  line.write_us = 300;
  line.write_kib_us = 4;
  line.write_load_us = 100;
  report::cell_report c;
  c.label = "per_tx";
  c.nodes = 3;
  c.accepted_tps = 400;
  for (int i = 0; i < 20; ++i) {
    report::block_record b;
    b.txs = 40;
    b.bytes = 40 * 256;
    const auto persist = static_cast<std::uint64_t>(300 + 4 * 10.0 + 100 * 0.6 + 40 * (150 + 60));
    b.followers.push_back({2, 1000, 1000 + persist + 100, persist + (i == 0 ? 90'000 : 0)});
    b.followers.push_back({3, 1000, 0, 0});
    c.blocks.push_back(b);
  }
  const auto part = fit_part_cost({c}, machine(), "uring", 2, line);
  ASSERT_TRUE(part.ok()) << part.message();
  EXPECT_NEAR(*part, 60, 1e-6);
  c.blocks.clear();
  EXPECT_FALSE(fit_part_cost({c}, machine(), "uring", 2, line).ok()) << "no blocks";
}

// A disk check measures io_uring writes of a part and of a block, with one
// writer and with the count asked for, in a scratch directory it removes;
// between two checks, each p50 is their geometric mean.
TEST(disk_check, measures_parts_and_blocks_with_one_and_more_writers) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("ringchain-disk-check-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto checked = check_disk(dir, 3, 50);
  const bool empty_after = std::filesystem::is_empty(dir);
  std::filesystem::remove_all(dir);
  if (!checked.ok() && checked.message().find("reactor could not start") != std::string::npos) {
    GTEST_SKIP() << "io_uring unavailable here: " << checked.message();
  }
  ASSERT_TRUE(checked.ok()) << checked.message();
  EXPECT_TRUE(empty_after) << "the check left its scratch directory behind";
  ASSERT_EQ(checked->size(), 4u);
  const std::pair<std::uint32_t, std::uint64_t> expected[] = {
      {1, 512}, {1, 65536}, {3, 512}, {3, 65536}};
  for (std::size_t i = 0; i < 4; ++i) {
    const dst::disk_sample& d = (*checked)[i];
    EXPECT_EQ(d.io, "uring");
    EXPECT_EQ(d.writers, expected[i].first);
    EXPECT_EQ(d.bytes, expected[i].second);
    EXPECT_GT(d.p50_us, 0);
  }
  std::vector<dst::disk_sample> after = *checked;
  for (dst::disk_sample& d : after) d.p50_us = 400;
  after.pop_back();
  std::vector<dst::disk_sample> before = *checked;
  for (dst::disk_sample& d : before) d.p50_us = 100;
  const auto mean = between(before, after);
  ASSERT_EQ(mean.size(), 4u);
  EXPECT_DOUBLE_EQ(mean[0].p50_us, 200);
  EXPECT_DOUBLE_EQ(mean[2].p50_us, 200);
  EXPECT_DOUBLE_EQ(mean[3].p50_us, 100) << "a sample only the first check has stays as it was";
}

}  // namespace
}  // namespace ringchain::calibrate
