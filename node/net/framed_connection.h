// Connections that carry frames (frame.h) over the reactor, and the
// listening side that accepts them. The peer port and the client port are
// both a frame_server; a node's links to its peers are framed_connections
// it dials itself.
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

namespace google::protobuf {
class MessageLite;
}

namespace ringchain::net {

class framed_connection;

// Callbacks of a framed connection; each runs on the reactor thread.
struct connection_handler {
  // One whole frame's body; valid only during the call. The handler may
  // close the connection from here; no later frame is delivered then.
  std::function<void(framed_connection& c, std::string_view body)> on_frame;
  // The connection is up (dialled connections only).
  std::function<void(framed_connection& c)> on_connected;
  // The connection is closed and no operation is pending: the owner may
  // destroy it from here on. `err` is 0 after close() or an orderly
  // shutdown, -errno after a socket error.
  std::function<void(framed_connection& c, int err)> on_closed;
};

// One TCP connection carrying frames both ways. Frames arriving are
// reassembled and handed to on_frame; a frame announced above
// frame_size_max closes the connection before its body is buffered.
class framed_connection {
 public:
  // `name` says what the connection is in log lines ("client", "peer").
  framed_connection(io::reactor& reactor, connection_handler handler, counters& counts,
                    std::string name, std::size_t send_bytes_max);
  framed_connection(const framed_connection&) = delete;
  framed_connection& operator=(const framed_connection&) = delete;

  // Starts receiving on an accepted socket.
  void open(int fd);
  // Dials `addr`; on_connected or on_closed follows.
  void connect(const sockaddr_in& addr);

  // Frames `msg` and queues it; false (nothing queued) when it is above
  // frame_size_max or the send queue is full (the other side does not
  // read fast enough): the caller decides whether to drop or close.
  bool send(const google::protobuf::MessageLite& msg);
  // Queues bytes that are already framed; false as send().
  bool send_bytes(std::string_view framed);

  // Closes the connection because of what the other side did: logs the
  // reason (with `name`), counts it, and delivers no further frame.
  void refuse(const std::string& why);
  // Closes the connection without blame (shutdown, a link being re-dialled).
  void close();

  // Whether the connection is open and not closing.
  bool is_open() const { return stream_.open() && !closing_; }
  // Whether close() or refuse() was called.
  bool closing() const { return closing_; }
  // Bytes queued to send and not yet taken by the kernel.
  std::size_t queued_bytes() const { return stream_.queued_bytes(); }

  // The owner's tag for this connection (for the peer port: the node id
  // its hello named; 0 until then).
  std::uint64_t tag = 0;

 private:
  void on_data(std::span<const char> bytes);

  io::reactor& reactor_;
  connection_handler handler_;
  counters& counts_;
  std::string name_;
  frame_reader reader_{limits::frame_size_max};
  bool closing_ = false;
  io::stream stream_;
};

// A listening port whose connections carry frames. It owns each accepted
// connection from accept to close.
class frame_server {
 public:
  // on_frame and on_closed of `handler` get every connection's events;
  // on_closed runs just before the server destroys the connection.
  frame_server(io::reactor& reactor, connection_handler handler, counters& counts, std::string name,
               std::size_t send_bytes_max);
  ~frame_server();
  frame_server(const frame_server&) = delete;
  frame_server& operator=(const frame_server&) = delete;

  // Binds and starts accepting on "host:port".
  base::status listen(const std::string& address);
  // Connections open now.
  std::size_t connections() const { return connections_.size(); }
  // The port it listens on (the one the kernel chose for port 0).
  std::uint16_t local_port() const;

 private:
  void accept(int fd);

  io::reactor& reactor_;
  connection_handler handler_;
  counters& counts_;
  std::string name_;
  std::size_t send_bytes_max_;
  int listen_fd_ = -1;
  std::unique_ptr<io::listener> listener_;
  std::map<framed_connection*, std::unique_ptr<framed_connection>> connections_;
};

}  // namespace ringchain::net
