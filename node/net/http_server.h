// A small HTTP/1.1 server on the reactor, for GET requests only (the
// Prometheus /metrics endpoint). Each connection carries one request and
// one answer, then closes. Everything is bounded: connections at once, the
// request's bytes, and how long a request may take to arrive.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "node/base/result.h"
#include "node/io/reactor.h"
#include "node/net/framed_connection.h"

namespace ringchain::net {

// An answer to a GET: a content type and a body.
struct http_answer {
  // The Content-Type header's value.
  std::string content_type = "text/plain; charset=utf-8";
  // The body, sent with its Content-Length.
  std::string body;
};

// The node's metrics endpoint: answers each GET through the handler, on the
// reactor thread. See the top of this file for its bounds.
class http_server {
 public:
  // Answers GET `path`; nothing for an unknown path (404).
  using handler_fn = std::function<std::optional<http_answer>(const std::string& path)>;

  // A server that answers through `handler`; accept errors and refused
  // connections count in `budget` (the node's), which outlives it. listen()
  // starts it.
  http_server(io::reactor& reactor, handler_fn handler, node_budget& budget);
  // Disarms the server's timers and closes the listening socket; the
  // connections it owns go with it.
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Binds and starts accepting on "host:port".
  base::status listen(const std::string& address);
  // The port it listens on (the one the kernel chose for port 0).
  std::uint16_t local_port() const;

 private:
  struct connection;
  void accept(int fd);
  void on_data(connection& c, std::span<const char> bytes);
  void answer(connection& c, int code, const std::string& reason, const http_answer& a);
  void housekeeping();

  io::reactor& reactor_;
  handler_fn handler_;
  node_budget& budget_;
  int listen_fd_ = -1;
  std::unique_ptr<io::listener> listener_;
  std::map<connection*, std::unique_ptr<connection>> connections_;
  io::timer housekeeping_timer_;
  io::timer accept_retry_;
};

}  // namespace ringchain::net
