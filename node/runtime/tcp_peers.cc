#include "node/runtime/tcp_peers.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "node/base/limits.h"
#include "node/net/address.h"
#include "proto/node.pb.h"

namespace ringchain::runtime {

namespace {
// A send queue bound per connection: a slow or dead peer costs at most
// this much memory, and then its messages are dropped (Raft resends).
constexpr std::size_t send_queue_bytes_max = 64 * limits::mib;
}  // namespace

int listen_on(const std::string& address, std::string* error) {
  sockaddr_in a{};
  net::parse_address(address, &a);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, 128) != 0) {
    *error = "cannot listen on " + address + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

struct tcp_peers::link {
  std::uint64_t id = 0;
  sockaddr_in addr{};
  std::unique_ptr<io::stream> stream;
  bool connected = false;
  std::uint32_t backoff_ms = 50;
  std::unique_ptr<io::timer> retry;
};

struct tcp_peers::inbound {
  std::unique_ptr<io::stream> stream;
  net::frame_reader reader{limits::frame_size_max};
  std::uint64_t peer_id = 0;
  bool closing = false;
};

tcp_peers::tcp_peers(io::reactor& reactor, const node_config& cfg, deliver_fn deliver,
                     std::map<std::string, std::uint64_t>& counters)
    : reactor_(reactor), cfg_(cfg), deliver_(std::move(deliver)), counters_(counters) {}

tcp_peers::~tcp_peers() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::string tcp_peers::start() {
  std::string err;
  if ((listen_fd_ = listen_on(cfg_.listen_peer, &err)) < 0) return err;
  listener_ = std::make_unique<io::listener>(
      [this](int fd) { accept(fd); },
      [](int e) { spdlog::error("peer accept: {}", std::strerror(-e)); });
  reactor_.listen(*listener_, listen_fd_);
  for (const auto& p : cfg_.peers) {
    if (p.id == cfg_.id) continue;
    auto l = std::make_unique<link>();
    l->id = p.id;
    net::parse_address(p.peer, &l->addr);
    link* raw = l.get();
    l->retry = std::make_unique<io::timer>([this, raw] { connect(*raw); });
    links_[p.id] = std::move(l);
    connect(*raw);
  }
  return {};
}

void tcp_peers::send(const core::message& m) {
  auto it = links_.find(m.to());
  if (it == links_.end()) return;
  link& p = *it->second;
  if (!p.connected) {
    ++counters_["messages_dropped_peer_down"];
    return;
  }
  nodepb::PeerFrame frame;
  *frame.mutable_raft() = m;
  std::string bytes;
  if (!net::append_frame(frame, limits::frame_size_max, &bytes) || !p.stream->send(bytes)) {
    ++counters_["messages_dropped_peer_slow"];
  }
}

void tcp_peers::connect(link& p) {
  p.stream = std::make_unique<io::stream>(
      io::stream_handler{[this, &p] {
                           p.connected = true;
                           p.backoff_ms = 50;
                           nodepb::PeerFrame hello;
                           hello.set_hello_from(cfg_.id);
                           std::string bytes;
                           net::append_frame(hello, limits::frame_size_max, &bytes);
                           p.stream->send(bytes);
                         },
                         [](std::span<const char>) {},
                         [this, &p](int) {
                           p.connected = false;
                           // Bounded exponential backoff: 50 ms doubling up to 1 s.
                           reactor_.arm(*p.retry, std::chrono::milliseconds(p.backoff_ms));
                           p.backoff_ms = std::min<std::uint32_t>(p.backoff_ms * 2, 1000);
                         }},
      send_queue_bytes_max);
  reactor_.connect(*p.stream, p.addr);
}

void tcp_peers::accept(int fd) {
  auto c = std::make_unique<inbound>();
  inbound* raw = c.get();
  c->stream = std::make_unique<io::stream>(
      io::stream_handler{nullptr,
                         [this, raw](std::span<const char> bytes) { read_frames(*raw, bytes); },
                         [this, raw](int) { inbound_.erase(raw); }},
      send_queue_bytes_max);
  inbound_[raw] = std::move(c);
  reactor_.open(*raw->stream, fd);
}

void tcp_peers::read_frames(inbound& c, std::span<const char> bytes) {
  c.reader.feed({bytes.data(), bytes.size()});
  std::string_view body;
  net::frame_reader::status st = net::frame_reader::status::need_more;
  while (!c.closing && (st = c.reader.next(&body)) == net::frame_reader::status::frame) {
    on_frame(c, body);
  }
  if (!c.closing && st == net::frame_reader::status::too_large) {
    close_inbound(c, "frame of " + std::to_string(c.reader.announced_bytes()) +
                         " bytes is above frame_size_max");
  }
}

void tcp_peers::on_frame(inbound& c, std::string_view body) {
  nodepb::PeerFrame f;
  if (!f.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    close_inbound(c, "peer frame does not parse");
    return;
  }
  if (c.peer_id == 0) {
    if (!f.has_hello_from() || f.hello_from() == cfg_.id || !links_.count(f.hello_from())) {
      close_inbound(c, "first peer frame is not a hello from a known peer");
      return;
    }
    c.peer_id = f.hello_from();
    return;
  }
  if (!f.has_raft() || f.raft().from() != c.peer_id) {
    close_inbound(c,
                  "peer frame is not a consensus message from node " + std::to_string(c.peer_id));
    return;
  }
  if (const core::input_error err = deliver_(f.raft()); err != core::input_error::none) {
    close_inbound(c, std::string("consensus message refused: ") + core::to_string(err));
  }
}

void tcp_peers::close_inbound(inbound& c, const std::string& why) {
  if (c.closing) return;
  c.closing = true;
  ++counters_["connections_closed_bad_input"];
  spdlog::warn("node {}: closing peer connection: {}", cfg_.id, why);
  reactor_.close(*c.stream);
}

}  // namespace ringchain::runtime
