// Connections that carry frames (frame.h) over the reactor, and the
// listening side that accepts them. The peer port, the client port and the
// admin port are each a frame_server; a node's links to its peers are
// framed_connections it dials itself.
//
// Everything a remote party can make a connection hold is bounded: the
// frame it announces (port_limits::frame_bytes_max), the bytes of frames
// not yet complete (node_budget, across every connection), the answers
// queued for it (port_limits::send_bytes_max, and node_budget for clients
// altogether), how long it may stay silent, stalled mid-frame or idle, and
// how many connections a port and the node hold. Bad input is refused: a
// counted, rate-limited log line (refusals.h) and a closed connection.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "node/base/limits.h"
#include "node/base/result.h"
#include "node/io/reactor.h"
#include "node/net/address.h"
#include "node/net/counters.h"
#include "node/net/frame.h"
#include "node/net/refusals.h"

namespace google::protobuf {
class MessageLite;
}

namespace ringchain::net {

class framed_connection;
class tls_context;
class tls_session;

// The bounds of one port's connections.
struct port_limits {
  // What the port is, in log lines ("peer", "client", "admin").
  std::string name;
  // Connections the port holds at once.
  std::size_t connections_max = limits::client_connections_max;
  // One frame's body, at most.
  std::uint64_t frame_bytes_max = limits::client_frame_bytes_max;
  // Bytes queued to send on one connection.
  std::uint64_t send_bytes_max = limits::client_send_bytes_max;
  // Whether this port's queues count toward the node-wide bound for
  // queued answers (client and admin ports; a peer's queue has its own).
  bool counts_toward_send_total = true;
  // How long a new connection may stay silent before its first complete
  // frame.
  std::uint32_t first_frame_timeout_ms = limits::first_frame_timeout_ms_max;
  // How long a connection may hold an incomplete frame without progress.
  std::uint32_t frame_stall_timeout_ms = limits::frame_stall_timeout_ms_max;
  // How long a connection may stay without a frame in or out.
  std::uint32_t idle_timeout_ms = limits::client_idle_timeout_ms_max;
};

// What every connection of a node shares: the node-wide bounds, the
// counters and the refusal log.
class node_budget {
 public:
  node_budget() = default;
  node_budget(const node_budget&) = delete;
  node_budget& operator=(const node_budget&) = delete;

  // Counters of the node's connections.
  counters& counts() { return counts_; }
  // Counters of the node's connections, read-only.
  const counters& counts() const { return counts_; }
  // Refusals by reason, and their log.
  refusal_log& refusals() { return refusals_; }
  // Refusals by reason, read-only.
  const refusal_log& refusals() const { return refusals_; }

  // Accepted connections open now, of every port.
  std::size_t connections = 0;
  // Bytes of incomplete frames buffered, of every connection.
  std::uint64_t partial_bytes = 0;
  // The bound on partial_bytes: limits::partial_frame_bytes_total_max, or
  // lower by configuration (partial_frames_mib).
  std::uint64_t partial_bytes_max = limits::partial_frame_bytes_total_max;
  // Bytes queued for clients (their last known queue sizes).
  std::uint64_t client_send_bytes = 0;

 private:
  counters counts_;
  refusal_log refusals_;
};

// Callbacks of a framed connection; each runs on the reactor thread.
struct connection_handler {
  // One whole frame's body; valid only during the call. The handler may
  // close the connection from here; no later frame is delivered then.
  std::function<void(framed_connection& c, std::string_view body)> on_frame;
  // The connection is up (dialled connections: after the TLS handshake
  // when there is one).
  std::function<void(framed_connection& c)> on_connected;
  // The connection is closed and no operation is pending: the owner may
  // destroy it from here on. `err` is 0 after close() or an orderly
  // shutdown, -errno after a socket error.
  std::function<void(framed_connection& c, int err)> on_closed;
};

// One TCP connection carrying frames both ways, optionally inside TLS.
class framed_connection {
 public:
  // `limits` and `budget` outlive the connection. With `tls`, the
  // connection speaks TLS (as the server for accepted connections, as the
  // client for dialled ones).
  framed_connection(io::reactor& reactor, connection_handler handler, node_budget& budget,
                    const port_limits& limits, tls_context* tls = nullptr);
  // Gives back this connection's share of the node-wide partial-frame and
  // queued-answer bytes.
  ~framed_connection();
  framed_connection(const framed_connection&) = delete;
  framed_connection& operator=(const framed_connection&) = delete;

  // Starts receiving on an accepted socket.
  void open(int fd);
  // Dials `addr`; on_connected or on_closed follows.
  void connect(const sockaddr_in& addr);

  // Frames `msg` and queues it; false (nothing queued) when it is above
  // the port's frame bound or its send queue is full (the other side does
  // not read fast enough): the caller decides whether to drop or close.
  bool send(const google::protobuf::MessageLite& msg);

  // Closes the connection because of what the other side did: counts and
  // logs the reason, and delivers no further frame.
  void refuse(refusal why, const std::string& detail);
  // Closes the connection without blame (shutdown, a link re-dialled).
  void close();

  // Whether the connection is open and not closing.
  bool is_open() const { return stream_.open() && !closing_; }
  // Whether close() or refuse() was called.
  bool closing() const { return closing_; }
  // Bytes queued to send and not yet taken by the kernel.
  std::size_t queued_bytes() const { return stream_.queued_bytes(); }
  // The socket (for socket options); -1 before open() or connect().
  int fd() const { return stream_.fd(); }
  // The node id the TLS peer certificate names (0: no TLS, or none yet).
  std::uint64_t certified_node() const { return certified_node_; }

  // Called by the frame server about once every 100 ms: closes the
  // connection when it timed out, and refreshes its share of the
  // node-wide queued bytes. now_us: the reactor's clock.
  void check_timeouts(std::uint64_t now_us);
  // Whether a complete frame has arrived yet.
  bool heard() const { return frames_in_ > 0; }
  // When the connection opened (reactor clock, µs).
  std::uint64_t opened_us() const { return opened_us_; }

  // The owner's tag for this connection (for the peer port: the node id
  // its hello named; 0 until then).
  std::uint64_t tag = 0;

 private:
  void on_data(std::span<const char> bytes);
  void on_plaintext(std::string_view bytes);
  void on_stream_connected();
  bool queue_bytes(std::string_view bytes);
  void account_partial();
  void account_queued();

  io::reactor& reactor_;
  connection_handler handler_;
  node_budget& budget_;
  const port_limits& limits_;
  tls_context* tls_ctx_;
  frame_reader reader_;
  std::unique_ptr<tls_session> tls_;
  bool closing_ = false;
  std::uint64_t certified_node_ = 0;
  std::uint64_t opened_us_ = 0;
  std::uint64_t frames_in_ = 0;
  // Last frame in or out, and when the buffered partial frame last grew.
  std::uint64_t last_activity_us_ = 0;
  std::uint64_t partial_progress_us_ = 0;
  // This connection's share of budget_.partial_bytes and
  // budget_.client_send_bytes.
  std::uint64_t partial_held_ = 0;
  std::uint64_t queued_counted_ = 0;
  io::stream stream_;
};

// A listening port whose connections carry frames. It owns each accepted
// connection from accept to close, holds at most the port's and the
// node's connection bounds (a full port first closes its oldest
// connection that never sent a frame, so a flood of silent connections
// cannot lock clients out), closes connections that time out, and keeps
// accepting after accept errors (EMFILE, ENFILE, ENOBUFS, ENOMEM) by
// backing off and re-arming.
class frame_server {
 public:
  // on_frame and on_closed of `handler` get every connection's events;
  // on_closed runs just before the server destroys the connection. With
  // `tls`, every connection speaks TLS as the server.
  frame_server(io::reactor& reactor, connection_handler handler, node_budget& budget,
               port_limits limits, tls_context* tls = nullptr);
  // Disarms the server's timers and closes the listening socket; the
  // connections it owns go with it.
  ~frame_server();
  frame_server(const frame_server&) = delete;
  frame_server& operator=(const frame_server&) = delete;

  // Binds and starts accepting on "host:port".
  base::status listen(const std::string& address);
  // Connections open now.
  std::size_t connections() const { return connections_.size(); }
  // The port it listens on (the one the kernel chose for port 0).
  std::uint16_t local_port() const;
  // The port's bounds.
  const port_limits& limits() const { return limits_; }

 private:
  void accept(int fd);
  bool make_room(std::uint64_t now_us);
  void on_accept_error(int err);
  void housekeeping();

  io::reactor& reactor_;
  connection_handler handler_;
  node_budget& budget_;
  port_limits limits_;
  tls_context* tls_;
  int listen_fd_ = -1;
  std::unique_ptr<io::listener> listener_;
  std::map<framed_connection*, std::unique_ptr<framed_connection>> connections_;
  io::timer housekeeping_timer_;
  io::timer accept_retry_;
  std::uint32_t accept_backoff_ms_ = 0;
};

}  // namespace ringchain::net
