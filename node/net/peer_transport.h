// How a node's consensus messages reach its peers: the interface the node
// sends through (TCP in production, simulated in sim/dst), and the TCP
// transport.
//
// Over TCP each node dials one connection to each peer and sends its
// messages there, starting with a hello frame naming itself; it receives on
// the connections its peers dial to its peer port. A connection whose first
// frame is not a hello from a known peer, or that later carries a message
// from another node, does not parse, or is refused by the node, is closed
// with a logged reason and a counter; the node carries on.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "node/io/reactor.h"
#include "node/net/address.h"
#include "node/net/framed_connection.h"
#include "node/net/tls.h"
#include "proto/raft.pb.h"

namespace ringchain::net {

// Where a node's consensus messages go.
class peer_transport {
 public:
  virtual ~peer_transport() = default;
  // Sends m to node m.to(). May drop it (a peer that is down or too slow):
  // Raft resends what matters.
  virtual void send(const raftpb::Message& m) = 0;
};

// Settings of the TCP transport.
struct tcp_peers_config {
  // This node's id.
  std::uint64_t self = 0;
  // "host:port" to listen on for peers.
  std::string listen;
  // Every node of the cluster, this one included.
  std::vector<peer_address> peers;
  // Mutual TLS for every peer connection (null: plain TCP). Borrowed; it
  // outlives the transport.
  tls_context* tls = nullptr;
  // About an election timeout: a dial that has not connected within it is
  // abandoned and tried again, and a link whose sent bytes stay
  // unacknowledged this long is closed by the kernel (TCP_USER_TIMEOUT)
  // and re-dialled, instead of sitting in TCP's retransmission backoff
  // after a partition heals.
  std::uint32_t link_timeout_ms = 300;
};

// Network emulation on one link: what this node does to the messages it
// sends the peer. It lives in the transport, not the kernel (no netem
// needed), so process, container and simulated experiments mean the same
// thing. Off by default; set through the admin port.
struct link_emulation {
  // Each message is held for delay_ms plus a uniform draw in
  // [0, jitter_ms], and leaves in order (as TCP would deliver it).
  std::uint32_t delay_ms = 0;
  // The upper end of the uniform draw added to delay_ms.
  std::uint32_t jitter_ms = 0;
  // Messages dropped, per million.
  std::uint32_t loss_ppm = 0;
  // Every message dropped: a partition from this side.
  bool partitioned = false;
  // Whether it changes anything.
  bool active() const { return delay_ms || jitter_ms || loss_ppm || partitioned; }
  // "delay 50 ms, jitter 10 ms, loss 1%, partitioned" ("none" when off).
  std::string describe() const;
  // Whether the values are within their bounds.
  base::status validate() const;
};

// One peer's link, as the status and the metrics show it.
struct peer_link {
  // The peer's node id.
  std::uint64_t id = 0;
  // Whether this node's connection to it is up.
  bool connected = false;
  // When this node last received a frame from it (reactor clock, µs; 0:
  // never).
  std::uint64_t last_heard_us = 0;
  // When `connected` last changed (reactor clock, µs).
  std::uint64_t changed_us = 0;
};

// The bounds of the peer port.
port_limits peer_port_limits();

// The production transport: one dialled link to each peer, with its
// emulation, and the peer port for the links peers dial here (see the top
// of this file). Runs on the reactor thread.
class tcp_peers final : public peer_transport {
 public:
  // Hands a received message to the node; an error refuses it and closes
  // the connection it came on.
  using deliver_fn = std::function<base::status(const raftpb::Message&)>;

  // `budget` (the node's: counters, refusals, node-wide bounds) outlives
  // the transport.
  tcp_peers(io::reactor& reactor, tcp_peers_config cfg, deliver_fn deliver, node_budget& budget);
  // Destroys the links and the peer port (defined where `link` is
  // complete).
  ~tcp_peers() override;

  // Listens on the peer port and dials every peer.
  base::status start();
  // The peer port (the one the kernel chose for port 0).
  std::uint16_t local_port() const { return server_.local_port(); }
  // Every peer's link, by id.
  std::vector<peer_link> links() const;
  // A node joined the cluster (a membership change): dials it at
  // `address` ("host:port"), and takes its hello. For a known node, a new
  // address is used from the next dial on.
  void add_peer(std::uint64_t id, const std::string& address);
  // A node left the cluster: its link is closed and never re-dialled, and
  // its hellos are refused, until add_peer names it again.
  void remove_peer(std::uint64_t id);
  // Sets the network emulation of the link to `peer` (logged).
  base::status emulate(std::uint64_t peer, const link_emulation& e);
  // The emulation of each link that has one.
  std::map<std::uint64_t, link_emulation> emulation() const;
  // Sends through the link to m.to(), after its emulation (which may drop
  // or delay the message, counted); nothing for an unknown node.
  void send(const raftpb::Message& m) override;

 private:
  struct link;
  void dial(link& p);
  void link_up(link& p, framed_connection& c);
  void transmit(link& p, const raftpb::Message& m);
  void release_delayed(link& p);
  std::uint64_t next_random();
  void link_down(link& p);
  void on_frame(framed_connection& c, std::string_view body);

  io::reactor& reactor_;
  tcp_peers_config cfg_;
  deliver_fn deliver_;
  node_budget& budget_;
  port_limits limits_;
  frame_server server_;
  std::map<std::uint64_t, std::unique_ptr<link>> links_;
  // xorshift64 state of the emulation's draws (jitter, loss).
  std::uint64_t random_state_ = 0x9e3779b97f4a7c15ULL;
};

}  // namespace ringchain::net
