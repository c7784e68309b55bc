// Latency-budget arithmetic against hand-computed fixtures.
#include "sim/report/budget.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ringchain::report {
namespace {

// Round starts at 1000 us; the leader hands its write to storage at 1300.
block_record fixture(std::uint64_t barrier_done, std::uint64_t committed,
                     std::vector<block_record::follower> followers) {
  block_record b;
  b.txs = 256;
  b.round_start_us = 1000;
  b.cut_us = 1000;
  b.write_submitted_us = 1300;
  b.barrier_done_us = barrier_done;
  b.committed_us = committed;
  b.applied_us = committed + 50;
  b.deadline_us = 1000 + 200'000;
  b.followers = std::move(followers);
  return b;
}

TEST(split, follower_completes_the_quorum) {
  // Leader durable at 1500; follower 2 acks at 2300 after 600 us on disk.
  const phases p = split(fixture(1500, 2400, {{2, 1350, 2300, 600}, {3, 1360, 2600, 700}}), 2);
  EXPECT_DOUBLE_EQ(p.build_us, 300);
  EXPECT_DOUBLE_EQ(p.leader_persist_us, 0) << "overlapped by the follower path";
  EXPECT_DOUBLE_EQ(p.follower_persist_us, 600);
  EXPECT_DOUBLE_EQ(p.network_us, 400) << "(2300 - 1300) - 600";
  EXPECT_DOUBLE_EQ(p.quorum_wait_us, 100);
  EXPECT_DOUBLE_EQ(p.commit_us, 1400);
  EXPECT_DOUBLE_EQ(
      p.build_us + p.leader_persist_us + p.network_us + p.follower_persist_us + p.quorum_wait_us,
      p.commit_us);
  EXPECT_DOUBLE_EQ(p.apply_us, 50);
  EXPECT_DOUBLE_EQ(p.slack_us, 198'600);
  EXPECT_TRUE(p.deadline_met);
}

TEST(split, leader_disk_completes_the_quorum) {
  const phases p = split(fixture(3000, 3100, {{2, 1350, 2000, 500}}), 2);
  EXPECT_DOUBLE_EQ(p.leader_persist_us, 1700);
  EXPECT_DOUBLE_EQ(p.network_us, 0);
  EXPECT_DOUBLE_EQ(p.follower_persist_us, 0);
  EXPECT_DOUBLE_EQ(p.quorum_wait_us, 100);
  EXPECT_DOUBLE_EQ(p.commit_us, 2100);
}

TEST(split, five_nodes_wait_for_the_second_follower) {
  // Quorum 3: the leader and the two earliest followers (2000 and 2500).
  const phases p = split(
      fixture(1500, 2600,
              {{2, 1400, 2800, 900}, {3, 1400, 2000, 300}, {4, 1400, 2500, 800}, {5, 1400, 0, 0}}),
      3);
  EXPECT_DOUBLE_EQ(p.follower_persist_us, 800);
  EXPECT_DOUBLE_EQ(p.network_us, 400) << "(2500 - 1300) - 800";
  EXPECT_DOUBLE_EQ(p.quorum_wait_us, 100);
}

TEST(split, missed_deadline_has_negative_slack) {
  const phases p = split(fixture(1500, 250'000, {{2, 1350, 249'000, 600}}), 2);
  EXPECT_FALSE(p.deadline_met);
  EXPECT_DOUBLE_EQ(p.slack_us, 201'000.0 - 250'000.0);
}

TEST(percentile, nearest_rank) {
  const std::vector<double> v{10, 1, 9, 2, 8, 3, 7, 4, 6, 5};
  EXPECT_DOUBLE_EQ(percentile(v, 50), 5);
  EXPECT_DOUBLE_EQ(percentile(v, 90), 9);
  EXPECT_DOUBLE_EQ(percentile(v, 99), 10);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 10);
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(percentile({}, 50), 0);
}

TEST(summarize, counts_throughput_deadlines_and_mean_phases) {
  block_record a = fixture(1500, 2400, {{2, 1350, 2300, 600}});
  block_record b = fixture(3000, 3100, {{2, 1350, 2000, 500}});
  block_record late = fixture(1500, 251'000, {{2, 1350, 250'000, 600}});
  b.round_start_us += 100'000;  // the second round
  b.write_submitted_us += 100'000;
  b.barrier_done_us += 100'000;
  b.committed_us += 100'000;
  b.applied_us += 100'000;
  b.deadline_us += 100'000;
  const summary s = summarize({a, b, late}, 2);
  EXPECT_EQ(s.blocks, 3u);
  EXPECT_EQ(s.txs, 768u);
  EXPECT_DOUBLE_EQ(s.seconds, (251'000 - 1000) / 1e6);
  EXPECT_DOUBLE_EQ(s.txs_per_s, 768 / 0.25);
  EXPECT_DOUBLE_EQ(s.deadline_met_ratio, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.p50_ms, 2.1);
  EXPECT_DOUBLE_EQ(s.max_ms, 250.0);
  EXPECT_DOUBLE_EQ(s.mean.quorum_wait_us, (100 + 100 + 1000) / 3.0);
  EXPECT_DOUBLE_EQ(s.mean.commit_us, (1400 + 2100 + 250'000) / 3.0);
  // The leader's own write + barrier counts in every block, on the
  // critical path (b: 1700 us) or not (a and late: 200 us each), where
  // the leader_persist phase counts only b's.
  EXPECT_DOUBLE_EQ(s.leader_write_us, (200 + 1700 + 200) / 3.0);
  EXPECT_DOUBLE_EQ(s.mean.leader_persist_us, 1700 / 3.0);
}

TEST(parse_block_record, reads_a_trace_line_and_refuses_others) {
  const std::string line =
      R"({"applied_us":30,"barrier_done_us":20,"bytes":5,"committed_us":25,"cut_us":11,"deadline_met":true,)"
      R"("deadline_us":210,"followers":[{"acked_us":24,"id":2,"persist_us":3,"sent_us":15}],"height":1,)"
      R"("index":2,"node":1,"round":7,"round_start_us":10,"term":1,"txs":4,"write_submitted_us":12})";
  base::result<block_record> b = runtime::parse_block_record(line);
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(b->round, 7u);
  ASSERT_EQ(b->followers.size(), 1u);
  EXPECT_EQ(b->followers[0].persist_us, 3u);
  // What the node writes reads back the same.
  const nlohmann::json again = *b;
  EXPECT_EQ(again, nlohmann::json::parse(line));
  base::result<block_record> partial = runtime::parse_block_record("{\"height\": 1}");
  EXPECT_FALSE(partial.ok());
  EXPECT_FALSE(partial.message().empty());
  EXPECT_FALSE(runtime::parse_block_record("not json").ok());
}

}  // namespace
}  // namespace ringchain::report
