#include "node/net/framed_connection.h"

#include <arpa/inet.h>
#include <google/protobuf/message_lite.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace ringchain::net {

const char* to_string(counter c) {
  switch (c) {
    case counter::connections_accepted: return "connections_accepted";
    case counter::connections_closed_bad_input: return "connections_closed_bad_input";
    case counter::messages_dropped_peer_down: return "messages_dropped_peer_down";
    case counter::messages_dropped_peer_slow: return "messages_dropped_peer_slow";
    case counter::count_: break;
  }
  return "?";
}

framed_connection::framed_connection(io::reactor& reactor, connection_handler handler,
                                     counters& counts, std::string name, std::size_t send_bytes_max)
    : reactor_(reactor),
      handler_(std::move(handler)),
      counts_(counts),
      name_(std::move(name)),
      stream_(io::stream_handler{[this] {
                                   if (handler_.on_connected) handler_.on_connected(*this);
                                 },
                                 [this](std::span<const char> bytes) { on_data(bytes); },
                                 [this](int err) {
                                   if (handler_.on_closed) handler_.on_closed(*this, err);
                                 }},
              send_bytes_max) {}

void framed_connection::open(int fd) {
  reactor_.open(stream_, fd);
}

void framed_connection::connect(const sockaddr_in& addr) {
  reactor_.connect(stream_, addr);
}

bool framed_connection::send(const google::protobuf::MessageLite& msg) {
  std::string bytes;
  return append_frame(msg, limits::frame_size_max, &bytes) && send_bytes(bytes);
}

bool framed_connection::send_bytes(std::string_view framed) {
  return !closing_ && stream_.send(framed);
}

void framed_connection::on_data(std::span<const char> bytes) {
  if (closing_) return;
  reader_.feed({bytes.data(), bytes.size()});
  std::string_view body;
  frame_reader::status st = frame_reader::status::need_more;
  while (!closing_ && (st = reader_.next(&body)) == frame_reader::status::frame) {
    handler_.on_frame(*this, body);
  }
  if (!closing_ && st == frame_reader::status::too_large) {
    refuse("frame of " + std::to_string(reader_.announced_bytes()) +
           " bytes is above frame_size_max");
  }
}

void framed_connection::refuse(const std::string& why) {
  if (closing_) return;
  counts_.add(counter::connections_closed_bad_input);
  spdlog::warn("closing {} connection: {}", name_, why);
  close();
}

void framed_connection::close() {
  if (closing_) return;
  closing_ = true;
  reactor_.close(stream_);
}

frame_server::frame_server(io::reactor& reactor, connection_handler handler, counters& counts,
                           std::string name, std::size_t send_bytes_max)
    : reactor_(reactor),
      handler_(std::move(handler)),
      counts_(counts),
      name_(std::move(name)),
      send_bytes_max_(send_bytes_max) {}

frame_server::~frame_server() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

base::status frame_server::listen(const std::string& address) {
  base::result<int> fd = listen_on(address);
  if (!fd.ok()) return fd.to_status();
  listen_fd_ = *fd;
  listener_ = std::make_unique<io::listener>(
      [this](int conn_fd) { accept(conn_fd); },
      [this](int e) { spdlog::error("{} port: accept failed: {}", name_, std::strerror(-e)); });
  reactor_.listen(*listener_, listen_fd_);
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

void frame_server::accept(int fd) {
  counts_.add(counter::connections_accepted);
  connection_handler h{handler_.on_frame, nullptr, [this](framed_connection& c, int err) {
                         if (handler_.on_closed) handler_.on_closed(c, err);
                         connections_.erase(&c);
                       }};
  auto c =
      std::make_unique<framed_connection>(reactor_, std::move(h), counts_, name_, send_bytes_max_);
  framed_connection* raw = c.get();
  connections_[raw] = std::move(c);
  raw->open(fd);
}

}  // namespace ringchain::net
