// The TCP peer transport over both reactor backends, on loopback: messages
// flow between two transports, a peer that comes up late is reached by
// re-dialling, and peer-port input that claims the wrong identity is
// refused, counted, and closes only its connection.
#include <vector>

#include "node/net/peer_transport.h"
#include "proto/node.pb.h"
#include "tests/net/net_test_support.h"

namespace ringchain::net {
namespace {

using testing::frame_of;
using testing::raw_socket;

raftpb::Message heartbeat(std::uint64_t from, std::uint64_t to, std::uint64_t term) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_HEARTBEAT);
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  return m;
}

std::string peer_frame(const nodepb::PeerFrame& f) {
  return frame_of(f.SerializeAsString());
}

class tcp_peers_test : public testing::reactor_fixture {
 protected:
  void SetUp() override {
    reactor_fixture::SetUp();
    if (IsSkipped()) return;
    for (std::uint64_t id : {1, 2}) {
      const std::string a = "127.0.0.1:" + std::to_string(testing::free_port());
      peers_.push_back({id, a, a});
    }
  }
  // A transport for node `id`; what it receives lands in got_[id].
  std::unique_ptr<tcp_peers> make(std::uint64_t id) {
    tcp_peers_config cfg{id, peers_[id - 1].peer, peers_};
    return std::make_unique<tcp_peers>(
        *reactor_, cfg,
        [this, id](const raftpb::Message& m) -> base::status {
          if (m.term() == 666) return base::fail("the test refuses term 666");
          got_[id].push_back(m);
          return {};
        },
        budgets_[id]);
  }
  std::uint16_t port_of(std::uint64_t id) const {
    return static_cast<std::uint16_t>(std::stoi(peers_[id - 1].peer.substr(10)));
  }

  std::vector<peer_address> peers_;
  std::map<std::uint64_t, std::vector<raftpb::Message>> got_;
  std::map<std::uint64_t, node_budget> budgets_;
};

TEST_P(tcp_peers_test, messages_flow_both_ways) {
  auto a = make(1);
  auto b = make(2);
  ASSERT_TRUE(a->start().ok());
  ASSERT_TRUE(b->start().ok());
  // Links come up asynchronously: send until one arrives.
  ASSERT_TRUE(run_until([&] {
    a->send(heartbeat(1, 2, 3));
    b->send(heartbeat(2, 1, 4));
    return !got_[2].empty() && !got_[1].empty();
  }));
  EXPECT_EQ(got_[2][0].from(), 1u);
  EXPECT_EQ(got_[2][0].term(), 3u);
  EXPECT_EQ(got_[1][0].from(), 2u);
}

TEST_P(tcp_peers_test, a_peer_that_comes_up_late_is_reached_by_redialling) {
  auto a = make(1);
  ASSERT_TRUE(a->start().ok());
  a->send(heartbeat(1, 2, 1));
  EXPECT_GE(budgets_[1].counts().get(counter::messages_dropped_peer_down), 1u);
  reactor_->run_once(std::chrono::milliseconds(100));
  auto b = make(2);
  ASSERT_TRUE(b->start().ok());
  EXPECT_TRUE(run_until([&] {
    a->send(heartbeat(1, 2, 2));
    return !got_[2].empty();
  }));
}

TEST_P(tcp_peers_test, a_hello_from_an_unknown_node_is_refused) {
  auto b = make(2);
  ASSERT_TRUE(b->start().ok());
  raw_socket s(port_of(2));
  nodepb::PeerFrame hello;
  hello.set_hello_from(9);
  ASSERT_TRUE(s.send(peer_frame(hello)));
  EXPECT_TRUE(run_until([&] { return s.closed(); }));
  EXPECT_EQ(budgets_[2].counts().get(counter::connections_closed_bad_input), 1u);
}

TEST_P(tcp_peers_test, a_message_from_another_node_than_the_hello_is_refused) {
  auto b = make(2);
  ASSERT_TRUE(b->start().ok());
  raw_socket s(port_of(2));
  nodepb::PeerFrame hello;
  hello.set_hello_from(1);
  nodepb::PeerFrame spoofed;
  *spoofed.mutable_raft() = heartbeat(3, 2, 1);
  ASSERT_TRUE(s.send(peer_frame(hello) + peer_frame(spoofed)));
  EXPECT_TRUE(run_until([&] { return s.closed(); }));
  EXPECT_TRUE(got_[2].empty());
  EXPECT_EQ(budgets_[2].counts().get(counter::connections_closed_bad_input), 1u);
}

TEST_P(tcp_peers_test, a_message_the_node_refuses_closes_its_connection) {
  auto b = make(2);
  ASSERT_TRUE(b->start().ok());
  raw_socket s(port_of(2));
  nodepb::PeerFrame hello;
  hello.set_hello_from(1);
  nodepb::PeerFrame ok, refused;
  *ok.mutable_raft() = heartbeat(1, 2, 1);
  *refused.mutable_raft() = heartbeat(1, 2, 666);
  ASSERT_TRUE(s.send(peer_frame(hello) + peer_frame(ok) + peer_frame(refused)));
  EXPECT_TRUE(run_until([&] { return s.closed(); }));
  ASSERT_EQ(got_[2].size(), 1u);
  EXPECT_EQ(budgets_[2].counts().get(counter::connections_closed_bad_input), 1u);
}

TEST_P(tcp_peers_test, bytes_that_do_not_parse_are_refused) {
  auto b = make(2);
  ASSERT_TRUE(b->start().ok());
  raw_socket s(port_of(2));
  ASSERT_TRUE(s.send(frame_of("\xff\xff\xff garbage")));
  EXPECT_TRUE(run_until([&] { return s.closed(); }));
  EXPECT_EQ(budgets_[2].counts().get(counter::connections_closed_bad_input), 1u);
}

INSTANTIATE_TEST_SUITE_P(backends, tcp_peers_test,
                         ::testing::Values(io::backend::uring, io::backend::epoll),
                         testing::backend_name);

}  // namespace
}  // namespace ringchain::net
