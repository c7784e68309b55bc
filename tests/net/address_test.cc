// Addresses and peer lists: what parses, what is refused and why, and
// names resolved through the system resolver.
#include "node/net/address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace ringchain::net {
namespace {

TEST(address, split_checks_host_and_port_without_resolving) {
  std::string host;
  std::uint16_t port = 0;
  EXPECT_TRUE(split_address("node2:7001", &host, &port));
  EXPECT_EQ(host, "node2");
  EXPECT_EQ(port, 7001);
  EXPECT_FALSE(split_address("node2", &host, &port));
  EXPECT_FALSE(split_address(":7001", &host, &port));
  EXPECT_FALSE(split_address("node2:0", &host, &port));
  EXPECT_FALSE(split_address("node2:65536", &host, &port));
  EXPECT_FALSE(split_address("node2:70x", &host, &port));
}

TEST(address, numeric_addresses_parse_and_names_resolve) {
  sockaddr_in a{};
  EXPECT_TRUE(parse_address("127.0.0.1:8001", &a));
  EXPECT_EQ(ntohs(a.sin_port), 8001);
  EXPECT_FALSE(parse_address("localhost:8001", &a)) << "parse_address takes numbers only";
  base::result<sockaddr_in> r = resolve_address("localhost:8001");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(ntohl(r->sin_addr.s_addr), INADDR_LOOPBACK);
  EXPECT_EQ(ntohs(r->sin_port), 8001);
  base::result<sockaddr_in> bad = resolve_address("no-such-host.invalid:1");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("cannot resolve"), std::string::npos) << bad.message();
}

TEST(address, peer_lists_parse_and_bad_items_are_named) {
  base::result<std::vector<peer_address>> p =
      parse_peers("1@node1:7001/node1:8001,2@127.0.0.1:7002/127.0.0.1:8002");
  ASSERT_TRUE(p.ok()) << p.message();
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].peer, "node1:7001");
  EXPECT_EQ((*p)[1].client, "127.0.0.1:8002");
  EXPECT_NE(parse_peers("x@a:1/a:2").message().find("non-zero node id"), std::string::npos);
  EXPECT_NE(parse_peers("0@a:1/a:2").message().find("non-zero node id"), std::string::npos);
  EXPECT_NE(parse_peers("1@a:1").message().find("\"1@a:1\""), std::string::npos);
  EXPECT_FALSE(parse_peers("").ok());
}

TEST(address, listen_on_a_taken_port_names_it) {
  base::result<int> first = listen_on("127.0.0.1:0");
  ASSERT_TRUE(first.ok()) << first.message();
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(*first, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string taken = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  base::result<int> second = listen_on(taken);
  EXPECT_FALSE(second.ok());
  EXPECT_NE(second.message().find(taken), std::string::npos) << second.message();
  ::close(*first);
}

}  // namespace
}  // namespace ringchain::net
