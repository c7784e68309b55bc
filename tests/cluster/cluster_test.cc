// Real ringchain-node processes on loopback, for both I/O backends.
#include "sim/harness/cluster.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "node/base/limits.h"
#include "node/chain/block.h"
#include "node/net/frame.h"
#include "tests/cluster/cluster_helpers.h"

namespace ringchain::testing {
namespace {

using harness::http_get;
using harness::process_cluster;
using harness::process_cluster_options;

using namespace std::chrono_literals;

// Every transaction key in node i's chain, from block 1 to its height.
std::set<std::string> chain_keys(process_cluster& c, std::size_t i) {
  std::set<std::string> keys;
  auto s = c.status(i);
  if (!s) return keys;
  net::client cl;
  if (!cl.connect(c.client_address(i), 1s).ok()) return keys;
  for (std::uint64_t h = 1; h <= s->height(); ++h) {
    nodepb::ClientRequest req;
    req.mutable_block()->set_height(h);
    auto resp = cl.call(req, 2s);
    if (!resp.ok() || !resp->block().found()) continue;
    for (const auto& tx : resp->block().block().txs()) {
      chainpb::KvWrite w;
      w.ParseFromString(tx.payload());
      keys.insert(w.key());
    }
  }
  return keys;
}

// All running nodes reach the leader's height with identical state.
void expect_agreement(process_cluster& c) {
  auto leader = c.wait_for_leader(10s);
  ASSERT_TRUE(leader.has_value());
  auto ls = c.status(*leader);
  ASSERT_TRUE(ls.has_value());
  ASSERT_TRUE(c.wait_for_height(ls->height(), 10s)) << "followers did not catch up";
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!c.running(i)) continue;
    auto s = c.status(i);
    ASSERT_TRUE(s.has_value());
    if (s->height() != ls->height()) continue;  // a newer block arrived meanwhile
    EXPECT_EQ(s->state_hash(), ls->state_hash()) << "node " << i + 1;
    EXPECT_EQ(s->tip_hash(), ls->tip_hash()) << "node " << i + 1;
  }
}

class cluster : public ::testing::TestWithParam<std::string> {
 protected:
  process_cluster_options opts() {
    process_cluster_options o;
    o.io = GetParam();
    // Small segments: less zero-filling for many nodes on one test disk.
    o.segment_mib = 16;
    return o;
  }
};

TEST_P(cluster, three_nodes_elect_commit_and_agree) {
  process_cluster c(opts());
  c.start_all();
  auto leader = c.wait_for_leader(10s);
  ASSERT_TRUE(leader.has_value()) << c.log_of(0);
  int total = 0;
  for (int batch = 0; batch < 3; ++batch) {
    auto r = c.submit((*leader + 1) % 3, make_txs("s" + std::to_string(batch), 1, 200), 10s);
    ASSERT_TRUE(r.has_value());
    total += committed(*r);
  }
  EXPECT_EQ(total, 600);
  expect_agreement(c);
  EXPECT_EQ(chain_keys(c, 2).size(), 600u);
  // A replay is refused with its reason.
  auto replay = c.submit(*leader, make_txs("s0", 1, 1), 5s);
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ(replay->results(0).code(), nodepb::TxResult::REFUSED);
  EXPECT_NE(replay->results(0).reason().find("replay"), std::string::npos);
  // Block traces exist on the leader.
  EXPECT_TRUE(std::filesystem::file_size(c.data_dir(*leader) / "trace.jsonl") > 0);
}

TEST_P(cluster, leader_killed_under_load_loses_nothing_acknowledged) {
  process_cluster c(opts());
  c.start_all();
  auto leader = c.wait_for_leader(10s);
  ASSERT_TRUE(leader.has_value());
  std::atomic<bool> done{false};
  std::mutex mu;
  std::set<std::string> acked;
  std::thread load([&] {
    std::uint64_t nonce = 1;
    for (std::size_t node = 0; !done; node = (node + 1) % 3) {
      const auto req = make_txs("load", nonce, 20);
      auto r = c.submit(node, req, 3s);
      nonce += 20;
      if (!r) continue;
      std::lock_guard<std::mutex> lock(mu);
      for (int i = 0; i < r->results_size(); ++i) {
        if (r->results(i).code() != nodepb::TxResult::COMMITTED) continue;
        chainpb::KvWrite w;
        w.ParseFromString(req.txs(i).payload());
        acked.insert(w.key());
      }
    }
  });
  std::this_thread::sleep_for(1s);
  c.kill(*leader);
  auto next = c.wait_for_leader(10s);
  ASSERT_TRUE(next.has_value()) << "no new leader after kill -9";
  EXPECT_NE(*next, *leader);
  std::this_thread::sleep_for(1s);
  c.start(*leader);  // the old leader restarts and catches up
  std::this_thread::sleep_for(1500ms);
  done = true;
  load.join();
  ASSERT_GT(acked.size(), 0u);
  expect_agreement(c);
  const std::set<std::string> keys = chain_keys(c, *leader);
  for (const auto& k : acked) {
    EXPECT_TRUE(keys.count(k)) << "acknowledged " << k << " is missing";
  }
}

TEST_P(cluster, full_cluster_restart_keeps_everything_acknowledged) {
  process_cluster c(opts());
  c.start_all();
  auto leader = c.wait_for_leader(10s);
  ASSERT_TRUE(leader.has_value());
  auto r = c.submit(*leader, make_txs("before", 1, 300), 10s);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(committed(*r), 300);
  auto before = c.status(*leader);
  for (std::size_t i = 0; i < 3; ++i) {
    const int status = c.stop(i);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "node " << i + 1 << " did not stop cleanly";
  }
  c.start_all();
  ASSERT_TRUE(c.wait_for_leader(10s).has_value());
  ASSERT_TRUE(c.wait_for_height(before->height(), 10s));
  for (std::size_t i = 0; i < 3; ++i) {
    auto s = c.status(i);
    ASSERT_TRUE(s.has_value());
    if (s->height() == before->height()) {
      EXPECT_EQ(s->state_hash(), before->state_hash());
    }
  }
  EXPECT_EQ(chain_keys(c, 0).size(), 300u);
  auto after = c.submit(0, make_txs("after", 1, 50), 10s);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(committed(*after), 50);
}

TEST_P(cluster, bad_input_closes_only_that_connection) {
  // Plain TCP, so that the frames below reach the peer port's checks
  // (under TLS they would be refused before; hostile_test covers that).
  process_cluster_options o = opts();
  o.tls = false;
  process_cluster c(o);
  c.start_all();
  ASSERT_TRUE(c.wait_for_leader(10s).has_value());
  auto expect_closed = [&](const std::string& address, const std::string& bytes, const char* what) {
    net::client raw;
    ASSERT_TRUE(raw.connect(address, 1s).ok());
    raw.send_raw(bytes);
    EXPECT_TRUE(raw.closed_by_peer(3s)) << what << " on " << address;
  };
  auto frame = [](const google::protobuf::MessageLite& m) {
    std::string out;
    net::append_frame(m, limits::frame_size_max, &out);
    return out;
  };
  const std::string garbage = std::string("\x05\x00\x00\x00", 4) + "\xff\xff\xff\xff\xff";
  const std::string oversized = std::string("\xff\xff\xff\xff", 4);
  for (const std::string& address : {c.client_address(0), c.peer_address(0)}) {
    expect_closed(address, garbage, "garbage");
    expect_closed(address, oversized, "oversized length prefix");
  }
  // Valid frames with the wrong content.
  nodepb::ClientRequest empty_request;
  expect_closed(c.client_address(0), frame(empty_request), "request of no kind");
  nodepb::PeerFrame hello_unknown;
  hello_unknown.set_hello_from(99);
  expect_closed(c.peer_address(0), frame(hello_unknown), "hello from an unknown node");
  nodepb::PeerFrame hello;
  hello.set_hello_from(2);
  nodepb::PeerFrame spoofed;
  spoofed.mutable_raft()->set_type(raftpb::MSG_HEARTBEAT);
  spoofed.mutable_raft()->set_from(3);
  spoofed.mutable_raft()->set_to(1);
  expect_closed(c.peer_address(0), frame(hello) + frame(spoofed), "message from another node");
  nodepb::PeerFrame local;
  local.mutable_raft()->set_type(raftpb::MSG_STORAGE_DONE);
  local.mutable_raft()->set_from(2);
  local.mutable_raft()->set_to(1);
  expect_closed(c.peer_address(0), frame(hello) + frame(local), "local-only message type");
  // A truncated frame just waits; meanwhile the node serves everyone else.
  net::client truncated;
  ASSERT_TRUE(truncated.connect(c.client_address(0), 1s).ok());
  truncated.send_raw(std::string("\x64\x00\x00\x00", 4) + "abc");
  auto s = c.status(0);
  ASSERT_TRUE(s.has_value()) << "node stopped serving";
  EXPECT_GE(s->counters().at("connections_closed_bad_input"), 7u);
  auto r = c.submit(0, make_txs("still", 1, 10), 10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(committed(*r), 10);
}

TEST_P(cluster, metrics_and_status_show_the_cluster) {
  process_cluster c(opts());
  c.start_all();
  auto leader = c.wait_for_leader(10s);
  ASSERT_TRUE(leader.has_value());
  auto r = c.submit(*leader, make_txs("metrics", 1, 50), 10s);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(committed(*r), 50);
  std::this_thread::sleep_for(1500ms);  // trace records are written once acknowledged
  const std::string m = http_get(c.metrics_address(*leader), "/metrics");
  EXPECT_NE(m.find("HTTP/1.1 200 OK"), std::string::npos) << m.substr(0, 200);
  EXPECT_NE(m.find("ringchain_blocks_committed_total{"), std::string::npos);
  EXPECT_NE(m.find("ringchain_block_commit_seconds_bucket{"), std::string::npos);
  EXPECT_NE(m.find("ringchain_is_leader{node=\"" + std::to_string(*leader + 1) + "\"} 1"),
            std::string::npos);
  EXPECT_NE(m.find("ringchain_peer_link_up{"), std::string::npos);
  EXPECT_NE(http_get(c.metrics_address(*leader), "/nope").find("404"), std::string::npos);
  auto s = c.status((*leader + 1) % 3);
  ASSERT_TRUE(s.has_value());
  ASSERT_EQ(s->peers_size(), 2);
  for (const auto& p : s->peers()) EXPECT_TRUE(p.connected()) << "node " << p.id();
  for (const char* name :
       {"pre_votes_started", "messages_dropped_outbox_full", "responses_dropped_held_full"}) {
    EXPECT_TRUE(s->counters().count(name)) << name << " is not exported";
  }
}

// The node's own network emulation, through the admin port: a delay on the
// leader's links slows commits by at least that much; a partition of a
// follower leaves the majority committing, and the follower catches up
// once healed.
TEST_P(cluster, emulated_delay_and_partition_act_and_heal) {
  process_cluster c(opts());
  c.start_all();
  auto leader = c.wait_for_leader(10s);
  ASSERT_TRUE(leader.has_value());
  const std::size_t follower = (*leader + 1) % 3;
  auto admin = [&](std::size_t i, const nodepb::AdminRequest& a) {
    net::client cl;
    EXPECT_TRUE(cl.connect(c.admin_address(i), 1s).ok());
    nodepb::ClientRequest req;
    *req.mutable_admin() = a;
    auto r = cl.call(req, 2s);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? *r : nodepb::ClientResponse{};
  };
  // 100 ms on each of the leader's links: no quorum within 100 ms.
  nodepb::AdminRequest slow;
  for (std::size_t j = 0; j < 3; ++j) {
    if (j == *leader) continue;
    nodepb::LinkEmulation* l = slow.add_links();
    l->set_peer(j + 1);
    l->set_delay_ms(100);
  }
  ASSERT_EQ(admin(*leader, slow).status().emulation_size(), 2);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.submit(*leader, make_txs("delayed", 1, 5), 10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(committed(*r), 5);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  for (auto& l : *slow.mutable_links()) l.set_delay_ms(0);
  EXPECT_EQ(admin(*leader, slow).status().emulation_size(), 0);
  // The follower cut off both ways.
  auto cut = [&](bool on) {
    for (std::size_t j = 0; j < 3; ++j) {
      if (j == follower) continue;
      nodepb::AdminRequest a, b;
      a.add_links()->set_peer(follower + 1);
      a.mutable_links(0)->set_partitioned(on);
      b.add_links()->set_peer(j + 1);
      b.mutable_links(0)->set_partitioned(on);
      admin(j, a);
      admin(follower, b);
    }
  };
  cut(true);
  auto during = c.submit(*leader, make_txs("during", 1, 20), 10s);
  ASSERT_TRUE(during.has_value());
  EXPECT_EQ(committed(*during), 20);
  const std::uint64_t height = c.status(*leader)->height();
  EXPECT_LT(c.status(follower)->height(), height) << "the partitioned follower kept up";
  cut(false);
  EXPECT_TRUE(c.wait_for_height(height, 10s)) << "the follower did not catch up after the heal";
  // Bounds are checked.
  nodepb::AdminRequest bad;
  bad.add_links()->set_peer(follower + 1);
  bad.mutable_links(0)->set_delay_ms(10'000'000);
  EXPECT_TRUE(admin(*leader, bad).has_error());
}

INSTANTIATE_TEST_SUITE_P(io, cluster, ::testing::Values("uring", "epoll"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace ringchain::testing
