// Membership changes on a running process cluster (TLS on, both I/O
// backends): a spare node joins under load as a learner, is promoted once
// it has caught up, and then counts toward the quorum; the leader itself
// is replaced by a spare. Commits never stop for long while it happens.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "sim/harness/cluster.h"
#include "sim/harness/membership.h"
#include "tests/cluster/cluster_helpers.h"

namespace ringchain::testing {
namespace {

using harness::process_cluster;
using harness::process_cluster_options;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Submits batches to whichever node leads, one after another, and records
// the longest time between two committed batches.
class steady_load {
 public:
  explicit steady_load(process_cluster& c) : c_(c), thread_([this] { run(); }) {}
  ~steady_load() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int batches() const { return batches_; }
  double longest_gap_ms() const { return longest_gap_ms_; }

 private:
  void run() {
    auto last = clock_type::now();
    for (std::uint64_t nonce = 1; !stop_; nonce += 20) {
      const std::optional<std::size_t> leader = c_.wait_for_leader(2s);
      if (!leader) continue;
      auto r = c_.submit(*leader, make_txs("steady", nonce, 20), 5s);
      if (!r || committed(*r) != 20) continue;
      const auto now = clock_type::now();
      longest_gap_ms_ = std::max(longest_gap_ms_.load(),
                                 std::chrono::duration<double, std::milli>(now - last).count());
      last = now;
      ++batches_;
    }
  }
  process_cluster& c_;
  std::atomic<bool> stop_{false};
  std::atomic<int> batches_{0};
  std::atomic<double> longest_gap_ms_{0};
  std::thread thread_;
};

bool lists(const google::protobuf::RepeatedField<std::uint64_t>& ids, std::uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

class membership_cluster : public ::testing::TestWithParam<std::string> {
 protected:
  process_cluster_options options() {
    process_cluster_options o;
    o.io = GetParam();
    o.spares = 1;
    o.segment_mib = 16;
    return o;
  }
};

TEST_P(membership_cluster, a_spare_joins_under_load_and_then_counts_toward_the_quorum) {
  process_cluster c(options());
  c.start_all();
  ASSERT_TRUE(c.wait_for_leader(15s).has_value());
  steady_load load(c);
  std::this_thread::sleep_for(1s);
  base::result<harness::add_timings> added = harness::add_node(c, 3, 30s);
  ASSERT_TRUE(added.ok()) << added.message();
  std::this_thread::sleep_for(500ms);
  load.stop();
  EXPECT_GT(load.batches(), 0);
  EXPECT_LT(load.longest_gap_ms(), 3000) << "commits stopped while the node joined";
  RecordProperty("catch_up_ms", static_cast<int>(added->catch_up_ms));
  RecordProperty("longest_commit_gap_ms", static_cast<int>(load.longest_gap_ms()));
  for (std::size_t i = 0; i < 4; ++i) {
    auto s = c.status(i);
    ASSERT_TRUE(s.has_value());
    EXPECT_TRUE(lists(s->voters(), 4)) << "node " << i + 1;
  }
  expect_agreement(c);
  // Four voters: with two of the first three down, nothing commits; with
  // one down, the new node makes the quorum.
  const std::size_t leader = *c.wait_for_leader(10s);
  const std::size_t down = leader == 0 ? 1 : 0;
  c.kill(down);
  auto r = c.submit(leader, make_txs("three-of-four", 1, 10), 10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(committed(*r), 10);
  const std::size_t second = 3 - leader - down == 3 ? 2 : 3 - leader - down;
  ASSERT_NE(second, leader);
  c.kill(second);
  r = c.submit(leader, make_txs("two-of-four", 1, 1), 3s);
  EXPECT_TRUE(!r.has_value() || committed(*r) == 0) << "two of four voters committed";
}

TEST_P(membership_cluster, the_leader_is_replaced_by_a_spare) {
  process_cluster c(options());
  c.start_all();
  auto leader = c.wait_for_leader(15s);
  ASSERT_TRUE(leader.has_value());
  auto r = c.submit(*leader, make_txs("before", 1, 50), 10s);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(committed(*r), 50);
  base::result<harness::add_timings> replaced = harness::replace_node(c, *leader, 3, 30s);
  ASSERT_TRUE(replaced.ok()) << replaced.message();
  EXPECT_FALSE(c.running(*leader));
  auto next = c.wait_for_leader(15s);
  ASSERT_TRUE(next.has_value());
  EXPECT_NE(*next, *leader);
  auto s = c.status(*next);
  ASSERT_TRUE(s.has_value());
  EXPECT_FALSE(lists(s->voters(), *leader + 1));
  EXPECT_TRUE(lists(s->voters(), 4));
  EXPECT_EQ(s->voters_size(), 3);
  r = c.submit(*next, make_txs("after", 1, 50), 10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(committed(*r), 50);
  expect_agreement(c);
  EXPECT_NE(c.log_of(*leader).find("this node was removed from the cluster"), std::string::npos);
}

// A spare that cannot start (its data directory is a file) is reported at
// once, with how it ended, instead of being waited for until the timeout.
TEST_P(membership_cluster, a_spare_that_exits_is_named_at_once) {
  process_cluster c(options());
  c.start_all();
  ASSERT_TRUE(c.wait_for_leader(15s).has_value());
  std::filesystem::create_directories(c.data_dir(3).parent_path());
  std::ofstream(c.data_dir(3)) << "not a directory";
  const auto start = clock_type::now();
  base::result<harness::add_timings> added = harness::add_node(c, 3, 30s);
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.message().find("learner 4 exited with code"), std::string::npos)
      << added.message();
  EXPECT_LT(clock_type::now() - start, 20s) << "the timeout was waited out";
  EXPECT_FALSE(c.running(3));
}

INSTANTIATE_TEST_SUITE_P(io, membership_cluster, ::testing::Values("uring", "epoll"),
                         [](const auto& param) { return param.param; });

}  // namespace
}  // namespace ringchain::testing
