// Framed connections and the frame server, over both reactor backends, on
// loopback: frames arrive whole whatever the TCP segmentation, bad input
// closes only its own connection and is counted.
#include "node/net/framed_connection.h"

#include <vector>

#include "proto/node.pb.h"
#include "tests/net/net_test_support.h"

namespace ringchain::net {
namespace {

using namespace std::chrono_literals;
using testing::frame_of;
using testing::raw_socket;

class framed_connection_test : public testing::reactor_fixture {
 protected:
  // Starts a server whose frames land in bodies_; a body "refuse" is
  // refused, "echo" is answered with a status response.
  void start_server() {
    connection_handler h;
    h.on_frame = [this](framed_connection& c, std::string_view body) {
      bodies_.emplace_back(body);
      if (body == "refuse") c.refuse(refusal::malformed, "the test refuses it");
      if (body == "echo") {
        nodepb::ClientResponse r;
        r.set_id(7);
        c.send(r);
      }
    };
    h.on_closed = [this](framed_connection&, int) { ++closed_; };
    limits_.name = "test";
    server_ = std::make_unique<frame_server>(*reactor_, h, budget_, limits_);
    ASSERT_TRUE(server_->listen("127.0.0.1:0").ok());
    port_ = server_->local_port();
    ASSERT_NE(port_, 0);
  }

  node_budget budget_;
  port_limits limits_;
  std::unique_ptr<frame_server> server_;
  std::uint16_t port_ = 0;
  std::vector<std::string> bodies_;
  int closed_ = 0;
};

TEST_P(framed_connection_test, frames_batched_or_split_arrive_whole_and_in_order) {
  start_server();
  raw_socket s(port_);
  ASSERT_TRUE(s.connected());
  ASSERT_TRUE(s.send(frame_of("one") + frame_of("two")));
  ASSERT_TRUE(run_until([&] { return bodies_.size() == 2; }));
  const std::string three = frame_of("three");
  for (char c : three) {
    ASSERT_TRUE(s.send(std::string_view(&c, 1)));
    reactor_->run_once(1ms);
  }
  ASSERT_TRUE(run_until([&] { return bodies_.size() == 3; }));
  EXPECT_EQ(bodies_, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(budget_.counts().get(counter::connections_accepted), 1u);
  EXPECT_EQ(server_->connections(), 1u);
}

TEST_P(framed_connection_test, an_answer_reaches_the_other_side) {
  start_server();
  raw_socket s(port_);
  ASSERT_TRUE(s.send(frame_of("echo")));
  std::string got;
  ASSERT_TRUE(run_until([&] {
    got += s.take();
    return got.size() >= frame_header_bytes;
  }));
  ASSERT_TRUE(run_until([&] {
    got += s.take();
    return got.size() >= frame_header_bytes + static_cast<unsigned char>(got[0]);
  }));
  nodepb::ClientResponse r;
  ASSERT_TRUE(r.ParseFromString(got.substr(frame_header_bytes)));
  EXPECT_EQ(r.id(), 7u);
}

TEST_P(framed_connection_test, an_oversized_frame_closes_only_its_connection) {
  start_server();
  raw_socket bad(port_);
  raw_socket good(port_);
  ASSERT_TRUE(run_until([&] { return server_->connections() == 2; }));
  // Only the header: the server refuses before the body would be buffered.
  ASSERT_TRUE(
      bad.send(frame_of("", static_cast<std::uint32_t>(limits::client_frame_bytes_max + 1))));
  ASSERT_TRUE(run_until([&] { return bad.closed(); }));
  EXPECT_TRUE(run_until([&] { return server_->connections() == 1; }));
  EXPECT_EQ(budget_.counts().get(counter::connections_closed_bad_input), 1u);
  ASSERT_TRUE(good.send(frame_of("still here")));
  ASSERT_TRUE(run_until([&] { return bodies_.size() == 1; }));
  EXPECT_EQ(bodies_[0], "still here");
  EXPECT_FALSE(good.closed());
}

TEST_P(framed_connection_test, a_refused_frame_stops_delivery_and_is_counted) {
  start_server();
  raw_socket s(port_);
  ASSERT_TRUE(s.send(frame_of("refuse") + frame_of("after")));
  ASSERT_TRUE(run_until([&] { return s.closed(); }));
  EXPECT_EQ(bodies_, std::vector<std::string>{"refuse"});
  EXPECT_EQ(budget_.counts().get(counter::connections_closed_bad_input), 1u);
  EXPECT_TRUE(run_until([&] { return closed_ == 1 && server_->connections() == 0; }));
}

TEST_P(framed_connection_test, a_dialled_connection_connects_sends_and_closes) {
  start_server();
  bool connected = false;
  int closed_err = 1;
  connection_handler h;
  h.on_frame = [](framed_connection&, std::string_view) {};
  h.on_connected = [&](framed_connection& c) {
    connected = true;
    nodepb::ClientRequest req;
    req.set_id(42);
    EXPECT_TRUE(c.send(req));
  };
  h.on_closed = [&](framed_connection&, int err) { closed_err = err; };
  framed_connection dialled(*reactor_, h, budget_, limits_);
  sockaddr_in a{};
  ASSERT_TRUE(parse_address("127.0.0.1:" + std::to_string(port_), &a));
  dialled.connect(a);
  ASSERT_TRUE(run_until([&] { return connected && bodies_.size() == 1; }));
  nodepb::ClientRequest got;
  ASSERT_TRUE(got.ParseFromString(bodies_[0]));
  EXPECT_EQ(got.id(), 42u);
  dialled.close();
  EXPECT_TRUE(run_until([&] { return closed_err == 0; }));
  EXPECT_TRUE(run_until([&] { return server_->connections() == 0; }));
}

TEST_P(framed_connection_test, dialling_a_closed_port_reports_the_error) {
  int closed_err = 0;
  connection_handler h;
  h.on_frame = [](framed_connection&, std::string_view) {};
  h.on_closed = [&](framed_connection&, int err) { closed_err = err; };
  framed_connection dialled(*reactor_, h, budget_, limits_);
  sockaddr_in a{};
  ASSERT_TRUE(parse_address("127.0.0.1:" + std::to_string(testing::free_port()), &a));
  dialled.connect(a);
  ASSERT_TRUE(run_until([&] { return closed_err != 0; }));
  EXPECT_EQ(closed_err, -ECONNREFUSED);
}

INSTANTIATE_TEST_SUITE_P(backends, framed_connection_test,
                         ::testing::Values(io::backend::uring, io::backend::epoll),
                         testing::backend_name);

}  // namespace
}  // namespace ringchain::net
