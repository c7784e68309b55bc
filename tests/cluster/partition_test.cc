// Real partitions: nodes in network namespaces joined by veth pairs to a
// bridge the test makes and removes itself (sim/harness/netns.h). A cut
// follower's link goes down, so packets are lost and TCP backs off as
// between hosts; once the link is back the follower must catch up quickly
// (links re-dial instead of waiting out TCP's retransmission backoff).
// Needs root; skips with the reason otherwise.
#include <gtest/gtest.h>

#include <thread>

#include "sim/harness/cluster.h"
#include "sim/harness/netns.h"
#include "tests/cluster/cluster_helpers.h"

namespace ringchain::testing {
namespace {

using harness::netns_lab;
using harness::process_cluster;
using harness::process_cluster_options;
using namespace std::chrono_literals;

class partition : public ::testing::TestWithParam<std::string> {};

TEST_P(partition, a_follower_cut_off_catches_up_once_its_link_returns) {
  auto lab = netns_lab::create(3);
  if (!lab.ok()) GTEST_SKIP() << "no network namespaces here: " << lab.message();
  process_cluster_options o;
  o.io = GetParam();
  o.segment_mib = 16;
  o.lab = lab->get();
  process_cluster c(o);
  c.start_all();
  auto leader = c.wait_for_leader(15s);
  ASSERT_TRUE(leader.has_value());
  const std::size_t follower = (*leader + 1) % 3;
  ASSERT_TRUE((*lab)->cut(follower, true).ok());
  // The majority commits while the follower is away, long enough for its
  // connections to back off.
  for (int batch = 0; batch < 5; ++batch) {
    auto r = c.submit(*leader, make_txs("cut" + std::to_string(batch), 1, 50), 10s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(committed(*r), 50);
    std::this_thread::sleep_for(1s);
  }
  const std::uint64_t height = c.status(*leader)->height();
  ASSERT_TRUE((*lab)->cut(follower, false).ok());
  const auto healed = std::chrono::steady_clock::now();
  bool caught_up = false;
  while (!caught_up && std::chrono::steady_clock::now() < healed + 10s) {
    auto s = c.status(follower);
    caught_up = s && s->height() >= height;
    if (!caught_up) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(caught_up) << "the follower did not catch up within 10 s of its link returning";
  RecordProperty("catch_up_ms",
                 static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - healed)
                                      .count()));
}

INSTANTIATE_TEST_SUITE_P(io, partition, ::testing::Values("uring", "epoll"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace ringchain::testing
