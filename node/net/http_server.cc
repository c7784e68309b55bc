#include "node/net/http_server.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace ringchain::net {

namespace {
// Bounds of the endpoint: connections at once, a request's bytes (a GET
// with ordinary headers), how long its bytes may take, and how long an
// answer may take to leave.
constexpr std::size_t http_connections_max = 16;
constexpr std::size_t http_request_bytes_max = 8 * 1024;
constexpr std::uint64_t http_request_timeout_us = 5'000'000;
constexpr std::size_t http_answer_bytes_max = 16 * 1024 * 1024;
constexpr std::chrono::milliseconds housekeeping_interval{10};
constexpr std::chrono::milliseconds accept_retry_interval{100};
}  // namespace

// One connection: the request read so far, then the answer leaving.
struct http_server::connection {
  explicit connection(http_server& s)
      : stream(io::stream_handler{
                   nullptr, [this, &s](std::span<const char> bytes) { s.on_data(*this, bytes); },
                   [this, &s](int) { s.connections_.erase(this); }},
               http_answer_bytes_max) {}
  io::stream stream;
  std::string request;
  std::uint64_t opened_us = 0;
  // The answer is queued; close once it has left.
  bool answered = false;
  bool closing = false;
};

http_server::http_server(io::reactor& reactor, handler_fn handler, node_budget& budget)
    : reactor_(reactor),
      handler_(std::move(handler)),
      budget_(budget),
      housekeeping_timer_([this] { housekeeping(); }),
      accept_retry_([this] { reactor_.resume_accept(*listener_); }) {}

http_server::~http_server() {
  if (housekeeping_timer_.armed()) reactor_.disarm(housekeeping_timer_);
  if (accept_retry_.armed()) reactor_.disarm(accept_retry_);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

base::status http_server::listen(const std::string& address) {
  base::result<int> fd = listen_on(address);
  if (!fd.ok()) return fd.to_status();
  listen_fd_ = *fd;
  listener_ = std::make_unique<io::listener>([this](int conn_fd) { accept(conn_fd); },
                                             [this](int) {
                                               budget_.counts().add(counter::accept_errors);
                                               reactor_.arm(accept_retry_, accept_retry_interval);
                                             });
  reactor_.listen(*listener_, listen_fd_);
  reactor_.arm(housekeeping_timer_, housekeeping_interval);
  return {};
}

std::uint16_t http_server::local_port() const {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return 0;
  }
  return ntohs(a.sin_port);
}

void http_server::accept(int fd) {
  if (connections_.size() >= http_connections_max) {
    ::close(fd);
    budget_.refusals().note(refusal::port_full, "refusing a metrics connection: 16 are open",
                            reactor_.now_us());
    return;
  }
  auto c = std::make_unique<connection>(*this);
  connection* raw = c.get();
  raw->opened_us = reactor_.now_us();
  connections_[raw] = std::move(c);
  reactor_.open(raw->stream, fd);
}

void http_server::on_data(connection& c, std::span<const char> bytes) {
  if (c.answered || c.closing) return;
  c.request.append(bytes.data(), bytes.size());
  if (c.request.size() > http_request_bytes_max) {
    answer(c, 431, "Request Header Fields Too Large", {});
    return;
  }
  if (c.request.find("\r\n\r\n") == std::string::npos) return;
  const std::size_t line_end = c.request.find("\r\n");
  const std::string line = c.request.substr(0, line_end);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) {
    answer(c, 400, "Bad Request", {});
    return;
  }
  if (line.substr(0, sp1) != "GET") {
    answer(c, 405, "Method Not Allowed", {});
    return;
  }
  std::optional<http_answer> a = handler_(line.substr(sp1 + 1, sp2 - sp1 - 1));
  if (!a) {
    answer(c, 404, "Not Found", {});
    return;
  }
  answer(c, 200, "OK", *a);
}

void http_server::answer(connection& c, int code, const std::string& reason, const http_answer& a) {
  std::string out =
      "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + a.content_type +
      "\r\nContent-Length: " + std::to_string(a.body.size()) + "\r\nConnection: close\r\n\r\n";
  out += a.body;
  c.answered = true;
  if (!c.stream.send(out)) {
    c.closing = true;
    reactor_.close(c.stream);
  }
}

// Closes connections whose answer has left, and those whose request is
// late.
void http_server::housekeeping() {
  const std::uint64_t now = reactor_.now_us();
  std::vector<connection*> all;
  for (const auto& [raw, c] : connections_) all.push_back(raw);
  for (connection* c : all) {
    if (c->closing) continue;
    const bool sent = c->answered && c->stream.queued_bytes() == 0;
    const bool late = !c->answered && now > c->opened_us + http_request_timeout_us;
    if (sent || late) {
      c->closing = true;
      reactor_.close(c->stream);
    }
  }
  reactor_.arm(housekeeping_timer_, housekeeping_interval);
}

}  // namespace ringchain::net
