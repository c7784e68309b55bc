#include "node/net/framed_connection.h"

#include <arpa/inet.h>
#include <google/protobuf/message_lite.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "node/net/tls.h"

namespace ringchain::net {

namespace {
// How often a server checks its connections' timeouts.
constexpr std::chrono::milliseconds housekeeping_interval{100};
// Accept errors back off from 10 ms, doubling up to 1 s.
constexpr std::uint32_t accept_backoff_first_ms = 10;
constexpr std::uint32_t accept_backoff_ms_max = 1000;
}  // namespace

const char* to_string(counter c) {
  switch (c) {
    case counter::connections_accepted: return "connections_accepted";
    case counter::connections_closed_bad_input: return "connections_closed_bad_input";
    case counter::messages_dropped_peer_down: return "messages_dropped_peer_down";
    case counter::messages_dropped_peer_slow: return "messages_dropped_peer_slow";
    case counter::accept_errors: return "accept_errors";
    case counter::messages_dropped_emulated: return "messages_dropped_emulated";
    case counter::count_: break;
  }
  return "?";
}

framed_connection::framed_connection(io::reactor& reactor, connection_handler handler,
                                     node_budget& budget, const port_limits& limits,
                                     tls_context* tls)
    : reactor_(reactor),
      handler_(std::move(handler)),
      budget_(budget),
      limits_(limits),
      tls_ctx_(tls),
      reader_(limits.frame_bytes_max),
      stream_(io::stream_handler{[this] { on_stream_connected(); },
                                 [this](std::span<const char> bytes) { on_data(bytes); },
                                 [this](int err) {
                                   budget_.partial_bytes -= partial_held_;
                                   budget_.client_send_bytes -= queued_counted_;
                                   partial_held_ = queued_counted_ = 0;
                                   if (handler_.on_closed) handler_.on_closed(*this, err);
                                 }},
              limits.send_bytes_max) {
  (void)tls;
}

framed_connection::~framed_connection() {
  budget_.partial_bytes -= partial_held_;
  budget_.client_send_bytes -= queued_counted_;
}

void framed_connection::open(int fd) {
  opened_us_ = last_activity_us_ = reactor_.now_us();
  // An accepted connection is the TLS server.
  if (tls_ctx_ != nullptr) tls_ = std::make_unique<tls_session>(*tls_ctx_, /*server=*/true);
  reactor_.open(stream_, fd);
}

void framed_connection::connect(const sockaddr_in& addr) {
  opened_us_ = last_activity_us_ = reactor_.now_us();
  if (tls_ctx_ != nullptr) tls_ = std::make_unique<tls_session>(*tls_ctx_, /*server=*/false);
  reactor_.connect(stream_, addr);
}

void framed_connection::on_stream_connected() {
  if (tls_ == nullptr) {
    if (handler_.on_connected) handler_.on_connected(*this);
    return;
  }
  // The client's first flight; on_connected waits for the handshake.
  if (base::status s = tls_->start(); !s.ok()) {
    refuse(refusal::tls, s.message());
    return;
  }
  std::string out;
  tls_->drain(&out);
  if (!out.empty()) stream_.send(out);
}

bool framed_connection::send(const google::protobuf::MessageLite& msg) {
  std::string bytes;
  if (closing_ || !append_frame(msg, limits_.frame_bytes_max, &bytes)) return false;
  if (tls_ != nullptr) {
    if (!tls_->established() || !tls_->write(bytes).ok()) return false;
    bytes.clear();
    tls_->drain(&bytes);
  }
  return queue_bytes(bytes);
}

bool framed_connection::queue_bytes(std::string_view bytes) {
  if (limits_.counts_toward_send_total &&
      budget_.client_send_bytes + bytes.size() > limits::client_send_bytes_total_max) {
    return false;
  }
  if (!stream_.send(bytes)) return false;
  last_activity_us_ = reactor_.now_us();
  account_queued();
  return true;
}

void framed_connection::account_queued() {
  if (!limits_.counts_toward_send_total) return;
  const std::uint64_t now = stream_.queued_bytes();
  budget_.client_send_bytes = budget_.client_send_bytes - queued_counted_ + now;
  queued_counted_ = now;
}

void framed_connection::on_data(std::span<const char> bytes) {
  if (closing_) return;
  if (tls_ == nullptr) {
    on_plaintext({bytes.data(), bytes.size()});
    return;
  }
  const bool was_established = tls_->established();
  std::string plain, out;
  base::status s = tls_->feed(bytes, &plain);
  tls_->drain(&out);
  if (!out.empty()) stream_.send(out);
  if (!s.ok()) {
    refuse(refusal::tls, s.message());
    return;
  }
  if (!was_established && tls_->established()) {
    certified_node_ = tls_->peer_node();
    if (handler_.on_connected) handler_.on_connected(*this);
  }
  if (!plain.empty() && !closing_) on_plaintext(plain);
}

void framed_connection::on_plaintext(std::string_view bytes) {
  reader_.feed(bytes);
  std::string_view body;
  frame_reader::status st = frame_reader::status::need_more;
  const std::uint64_t now = reactor_.now_us();
  while (!closing_ && (st = reader_.next(&body)) == frame_reader::status::frame) {
    ++frames_in_;
    last_activity_us_ = now;
    handler_.on_frame(*this, body);
  }
  if (closing_) return;
  if (st == frame_reader::status::too_large) {
    refuse(refusal::frame_too_large, "frame of " + std::to_string(reader_.announced_bytes()) +
                                         " bytes on the " + limits_.name + " port, above " +
                                         std::to_string(limits_.frame_bytes_max));
    return;
  }
  partial_progress_us_ = now;
  account_partial();
}

void framed_connection::account_partial() {
  const std::uint64_t held = reader_.buffered_bytes();
  budget_.partial_bytes = budget_.partial_bytes - partial_held_ + held;
  partial_held_ = held;
  if (held > 0 && budget_.partial_bytes > budget_.partial_bytes_max) {
    refuse(refusal::buffers_full, "the node's buffers for incomplete frames are full (" +
                                      std::to_string(budget_.partial_bytes) + " bytes)");
  }
}

void framed_connection::check_timeouts(std::uint64_t now_us) {
  if (closing_) return;
  account_queued();
  const auto ms = [](std::uint32_t v) { return std::uint64_t{v} * 1000; };
  if (frames_in_ == 0 && now_us > opened_us_ + ms(limits_.first_frame_timeout_ms)) {
    refuse(refusal::first_frame_timeout, "no frame within " +
                                             std::to_string(limits_.first_frame_timeout_ms) +
                                             " ms on the " + limits_.name + " port");
  } else if (partial_held_ > 0 &&
             now_us > partial_progress_us_ + ms(limits_.frame_stall_timeout_ms)) {
    refuse(refusal::frame_stall, "a frame stalled for " +
                                     std::to_string(limits_.frame_stall_timeout_ms) +
                                     " ms on the " + limits_.name + " port");
  } else if (now_us > last_activity_us_ + ms(limits_.idle_timeout_ms)) {
    refuse(refusal::idle, "idle for " + std::to_string(limits_.idle_timeout_ms) + " ms on the " +
                              limits_.name + " port");
  }
}

void framed_connection::refuse(refusal why, const std::string& detail) {
  if (closing_) return;
  budget_.counts().add(counter::connections_closed_bad_input);
  budget_.refusals().note(why, "closing " + limits_.name + " connection: " + detail,
                          reactor_.now_us());
  close();
}

void framed_connection::close() {
  if (closing_) return;
  closing_ = true;
  reactor_.close(stream_);
}

frame_server::frame_server(io::reactor& reactor, connection_handler handler, node_budget& budget,
                           port_limits limits, tls_context* tls)
    : reactor_(reactor),
      handler_(std::move(handler)),
      budget_(budget),
      limits_(std::move(limits)),
      tls_(tls),
      housekeeping_timer_([this] { housekeeping(); }),
      accept_retry_([this] { reactor_.resume_accept(*listener_); }) {}

frame_server::~frame_server() {
  if (housekeeping_timer_.armed()) reactor_.disarm(housekeeping_timer_);
  if (accept_retry_.armed()) reactor_.disarm(accept_retry_);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

base::status frame_server::listen(const std::string& address) {
  base::result<int> fd = listen_on(address);
  if (!fd.ok()) return fd.to_status();
  listen_fd_ = *fd;
  listener_ = std::make_unique<io::listener>([this](int conn_fd) { accept(conn_fd); },
                                             [this](int e) { on_accept_error(e); });
  reactor_.listen(*listener_, listen_fd_);
  reactor_.arm(housekeeping_timer_, housekeeping_interval);
  return {};
}

std::uint16_t frame_server::local_port() const {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return 0;
  }
  return ntohs(a.sin_port);
}

// Accept errors stop the listener. Running out of descriptors or memory
// clears only as connections close, so accepting resumes after a backoff;
// other errors (a connection aborted before it was accepted) at once.
void frame_server::on_accept_error(int err) {
  budget_.counts().add(counter::accept_errors);
  const bool exhausted = err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM;
  if (!exhausted) {
    reactor_.resume_accept(*listener_);
    return;
  }
  accept_backoff_ms_ = accept_backoff_ms_ == 0
                           ? accept_backoff_first_ms
                           : std::min(accept_backoff_ms_ * 2, accept_backoff_ms_max);
  spdlog::error("{} port: accept failed ({}); accepting again in {} ms", limits_.name,
                std::strerror(-err), accept_backoff_ms_);
  reactor_.arm(accept_retry_, std::chrono::milliseconds(accept_backoff_ms_));
}

// At the port's bound, the oldest connection that has not sent a whole
// frame within 100 ms makes room; false when there is none.
bool frame_server::make_room(std::uint64_t now_us) {
  constexpr std::uint64_t grace_us = 100'000;
  framed_connection* oldest = nullptr;
  for (const auto& [raw, c] : connections_) {
    if (c->closing() || c->heard() || now_us < c->opened_us() + grace_us) continue;
    if (oldest == nullptr || c->opened_us() < oldest->opened_us()) oldest = raw;
  }
  if (oldest == nullptr) return false;
  oldest->refuse(refusal::port_full, "the " + limits_.name +
                                         " port is full; closing its oldest connection that "
                                         "sent nothing");
  return true;
}

void frame_server::accept(int fd) {
  accept_backoff_ms_ = 0;
  budget_.counts().add(counter::connections_accepted);
  const std::uint64_t now = reactor_.now_us();
  const bool port_full = connections_.size() >= limits_.connections_max && !make_room(now);
  const bool node_full = budget_.connections >= limits::connections_max;
  if (port_full || node_full) {
    ::close(fd);
    budget_.refusals().note(
        port_full ? refusal::port_full : refusal::node_full,
        "refusing a connection on the " + limits_.name + " port: " +
            (port_full ? "the port holds " + std::to_string(limits_.connections_max)
                       : "the node holds " + std::to_string(limits::connections_max)) +
            " connections",
        now);
    return;
  }
  connection_handler h{handler_.on_frame, handler_.on_connected,
                       [this](framed_connection& c, int err) {
                         if (handler_.on_closed) handler_.on_closed(c, err);
                         --budget_.connections;
                         connections_.erase(&c);
                       }};
  auto c = std::make_unique<framed_connection>(reactor_, std::move(h), budget_, limits_, tls_);
  framed_connection* raw = c.get();
  connections_[raw] = std::move(c);
  ++budget_.connections;
  raw->open(fd);
}

void frame_server::housekeeping() {
  const std::uint64_t now = reactor_.now_us();
  std::vector<framed_connection*> all;
  all.reserve(connections_.size());
  for (const auto& [raw, c] : connections_) all.push_back(raw);
  for (framed_connection* c : all) c->check_timeouts(now);
  reactor_.arm(housekeeping_timer_, housekeeping_interval);
}

}  // namespace ringchain::net
