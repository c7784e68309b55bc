// The node's peer transport over TCP: one outgoing connection per peer
// (reconnected with backoff), inbound connections on the peer port, each
// opened by a hello frame naming the sender; consensus messages travel as
// frames (node/net/frame.h) of nodepb::PeerFrame.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "node/io/reactor.h"
#include "node/net/frame.h"
#include "node/runtime/config.h"
#include "node/runtime/env.h"

namespace ringchain::runtime {

class tcp_peers final : public peer_transport {
 public:
  // Hands a received message to the node; an error closes the connection.
  using deliver_fn = std::function<core::input_error(const core::message&)>;

  // `counters` (the node's) receives the transport's counts.
  tcp_peers(io::reactor& reactor, const node_config& cfg, deliver_fn deliver,
            std::map<std::string, std::uint64_t>& counters);
  ~tcp_peers() override;

  // Listens on cfg.listen_peer and connects to every peer; an error
  // sentence, or "".
  std::string start();
  void send(const core::message& m) override;

 private:
  struct link;
  struct inbound;
  void connect(link& p);
  void accept(int fd);
  void read_frames(inbound& c, std::span<const char> bytes);
  void on_frame(inbound& c, std::string_view body);
  void close_inbound(inbound& c, const std::string& why);

  io::reactor& reactor_;
  const node_config& cfg_;
  deliver_fn deliver_;
  std::map<std::string, std::uint64_t>& counters_;
  int listen_fd_ = -1;
  std::unique_ptr<io::listener> listener_;
  std::map<std::uint64_t, std::unique_ptr<link>> links_;
  std::map<inbound*, std::unique_ptr<inbound>> inbound_;
};

// Listens on "host:port"; the socket's fd, or -1 with *error set.
int listen_on(const std::string& address, std::string* error);

}  // namespace ringchain::runtime
