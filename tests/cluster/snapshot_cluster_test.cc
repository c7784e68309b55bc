// Snapshots between real ringchain-node processes, over TCP with mutual TLS
// and both I/O backends: a node that was down while the others compacted
// their logs installs a snapshot from the leader; a restarted node starts
// from its own snapshot. Old blocks after compaction: an archive node
// answers every height from its block store; a node that keeps the newest
// blocks_kept says which heights it keeps.
#include <gtest/gtest.h>

#include "sim/harness/cluster.h"
#include "tests/cluster/cluster_helpers.h"

namespace ringchain::testing {
namespace {

using harness::process_cluster;
using harness::process_cluster_options;
using namespace std::chrono_literals;

std::uint64_t counter(const nodepb::NodeStatus& s, const std::string& name) {
  auto it = s.counters().find(name);
  return it == s.counters().end() ? 0 : it->second;
}

class snapshot_cluster : public ::testing::TestWithParam<std::string> {
 protected:
  process_cluster_options opts() {
    process_cluster_options o;
    o.io = GetParam();
    o.segment_mib = 16;
    // Snapshots every 10 blocks, 2 kept behind: a node down for 40 blocks
    // is far behind the others' compacted logs.
    o.extra_args = {"--snapshot_interval_blocks", "10", "--snapshot_catchup_blocks", "2"};
    return o;
  }
};

TEST_P(snapshot_cluster, a_node_behind_the_compacted_log_installs_a_snapshot) {
  process_cluster c(opts());
  c.start_all();
  auto leader = c.wait_for_leader(10s);
  ASSERT_TRUE(leader.has_value()) << c.log_of(0);
  const std::size_t down = (*leader + 1) % 3;
  c.kill(down);
  for (int batch = 0; batch < 40; ++batch) {
    auto r = c.submit(*leader, make_txs("b" + std::to_string(batch), 1, 20), 10s);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(committed(*r), 20) << "batch " << batch;
  }
  auto ls = c.status(*leader);
  ASSERT_TRUE(ls.has_value());
  EXPECT_GE(counter(*ls, "snapshots_taken"), 3u);
  EXPECT_LE(counter(*ls, "log_entries_in_memory"), 2u + 10 + 10) << "the log was compacted";
  c.start(down);
  ASSERT_TRUE(c.wait_for_height(ls->height(), 20s)) << c.log_of(down);
  auto ds = c.status(down);
  ASSERT_TRUE(ds.has_value());
  EXPECT_EQ(counter(*ds, "snapshots_installed"), 1u) << c.log_of(down);
  EXPECT_GT(counter(*ds, "snapshot_chunks_received"), 0u);
  expect_agreement(c);
  // The leader restarts from its own snapshot and the log after it.
  c.kill(*leader);
  c.start(*leader);
  auto again = c.wait_for_leader(10s);
  ASSERT_TRUE(again.has_value());
  auto r = c.submit(*again, make_txs("after", 1, 10), 10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(committed(*r), 10);
  expect_agreement(c);
  EXPECT_NE(c.log_of(*leader).find("loaded snapshot"), std::string::npos);
}

// What `ringchain-client --node <address> block <height>` printed.
client_answer query_block(const std::string& address, std::uint64_t height) {
  return run_client(address, "block " + std::to_string(height));
}

// The block query after compaction, in each mode: "archive" keeps every
// block, "kept" the newest 20 (files of 5 blocks).
class old_blocks_cluster : public ::testing::TestWithParam<std::string> {};

TEST_P(old_blocks_cluster, an_old_block_is_answered_after_compaction_as_the_mode_says) {
  const bool archive = GetParam() == "archive";
  process_cluster_options o;
  o.segment_mib = 16;
  o.extra_args = {"--snapshot_interval_blocks",
                  "10",
                  "--snapshot_catchup_blocks",
                  "2",
                  "--archive",
                  archive ? "true" : "false",
                  "--blocks_kept",
                  "20"};
  process_cluster c(o);
  c.start_all();
  auto leader = c.wait_for_leader(10s);
  ASSERT_TRUE(leader.has_value()) << c.log_of(0);
  for (int batch = 0; batch < 60; ++batch) {
    auto r = c.submit(*leader, make_txs("b" + std::to_string(batch), 1, 10), 10s);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(committed(*r), 10) << "batch " << batch;
  }
  auto ls = c.status(*leader);
  ASSERT_TRUE(ls.has_value());
  ASSERT_GE(ls->height(), 60u);
  EXPECT_GE(counter(*ls, "snapshots_taken"), 4u);
  EXPECT_LE(counter(*ls, "log_entries_in_memory"), 2u + 10 + 10) << "the log was compacted";
  ASSERT_TRUE(c.wait_for_height(ls->height(), 10s));
  // Every node, and the leader again after a restart (from its own
  // snapshot and block store), answers block 2 as its mode says, and the
  // newest blocks in both modes.
  auto check = [&](std::size_t i) {
    const client_answer newest = query_block(c.client_address(i), ls->height());
    EXPECT_EQ(newest.code, 0) << newest.output;
    EXPECT_NE(newest.output.find("block " + std::to_string(ls->height()) + " (term"),
              std::string::npos)
        << newest.output;
    const client_answer old = query_block(c.client_address(i), 2);
    if (archive) {
      EXPECT_EQ(old.code, 0) << "node " << i + 1 << ": " << old.output;
      EXPECT_NE(old.output.find("block 2 (term"), std::string::npos) << old.output;
    } else {
      EXPECT_EQ(old.code, 1) << old.output;
      EXPECT_NE(old.output.find("block 2 was compacted; this node keeps blocks from "),
                std::string::npos)
          << "node " << i + 1 << ": " << old.output;
    }
  };
  for (std::size_t i = 0; i < 3; ++i) check(i);
  c.kill(*leader);
  c.start(*leader);
  ASSERT_TRUE(c.wait_for_height(ls->height(), 20s)) << c.log_of(*leader);
  check(*leader);
  // An unknown height is still "no committed block".
  const client_answer future = query_block(c.client_address(*leader), ls->height() + 1000);
  EXPECT_EQ(future.code, 1);
  EXPECT_NE(future.output.find("no committed block at height"), std::string::npos) << future.output;
}

INSTANTIATE_TEST_SUITE_P(mode, old_blocks_cluster, ::testing::Values("archive", "kept"),
                         [](const auto& p) { return p.param; });

INSTANTIATE_TEST_SUITE_P(io, snapshot_cluster, ::testing::Values("uring", "epoll"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace ringchain::testing
