#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <deque>

#include "node/net/peer_transport.h"
#include "proto/node.pb.h"

namespace ringchain::net {

namespace {
// Re-dial backoff: 50 ms, doubling up to 1 s.
constexpr std::uint32_t redial_backoff_first_ms = 50;
constexpr std::uint32_t redial_backoff_ms_max = 1000;
}  // namespace

port_limits peer_port_limits() {
  port_limits l;
  l.name = "peer";
  l.connections_max = limits::peer_connections_max;
  l.frame_bytes_max = limits::frame_size_max;
  // A slow or dead peer costs at most this much memory, and then its
  // messages are dropped (Raft resends).
  l.send_bytes_max = limits::peer_send_bytes_max;
  l.counts_toward_send_total = false;
  // Followers send nothing to each other between elections: a quiet peer
  // connection is normal, so only a long silence closes it (its node
  // re-dials).
  l.idle_timeout_ms = limits::client_idle_timeout_ms_max;
  return l;
}

// The connection this node dials to one peer, for its own messages.
struct tcp_peers::link {
  std::uint64_t id = 0;
  std::string address;
  std::unique_ptr<framed_connection> conn;
  bool connected = false;
  std::uint64_t last_heard_us = 0;
  std::uint64_t changed_us = 0;
  // Abandons a dial that has not connected in time.
  std::unique_ptr<io::timer> connect_timeout;
  // Network emulation, and the messages its delay holds (in order, with
  // the time each may leave).
  link_emulation emulation;
  std::deque<std::pair<std::uint64_t, raftpb::Message>> delayed;
  std::unique_ptr<io::timer> release;
  std::uint32_t backoff_ms = redial_backoff_first_ms;
  // Whether the last attempt failed to resolve the address (logged once
  // per run of failures).
  bool unresolved = false;
  std::unique_ptr<io::timer> retry;
  // Removed from the cluster: closed, never re-dialled, sends dropped
  // (until a change adds the node again).
  bool retired = false;
};

tcp_peers::tcp_peers(io::reactor& reactor, tcp_peers_config cfg, deliver_fn deliver,
                     node_budget& budget)
    : reactor_(reactor),
      cfg_(std::move(cfg)),
      deliver_(std::move(deliver)),
      budget_(budget),
      limits_(peer_port_limits()),
      server_(reactor,
              connection_handler{
                  [this](framed_connection& c, std::string_view body) { on_frame(c, body); },
                  nullptr, nullptr},
              budget, limits_, cfg_.tls) {}

tcp_peers::~tcp_peers() = default;

base::status tcp_peers::start() {
  if (base::status s = server_.listen(cfg_.listen); !s.ok()) return s;
  for (const auto& p : cfg_.peers) {
    if (p.id != cfg_.self) add_peer(p.id, p.peer);
  }
  return {};
}

void tcp_peers::add_peer(std::uint64_t id, const std::string& address) {
  if (id == cfg_.self) return;
  if (auto it = links_.find(id); it != links_.end()) {
    link& p = *it->second;
    const bool moved = p.address != address;
    p.address = address;
    if (p.retired) {
      p.retired = false;
      p.backoff_ms = redial_backoff_first_ms;
      dial(p);
    } else if (moved && p.conn) {
      // The next dial goes to the new address.
      p.conn->close();
    }
    return;
  }
  auto l = std::make_unique<link>();
  l->id = id;
  l->address = address;
  link* raw = l.get();
  l->retry = std::make_unique<io::timer>([this, raw] { dial(*raw); });
  l->connect_timeout = std::make_unique<io::timer>([raw] {
    if (!raw->connected && raw->conn) raw->conn->close();
  });
  l->release = std::make_unique<io::timer>([this, raw] { release_delayed(*raw); });
  links_[id] = std::move(l);
  dial(*raw);
}

void tcp_peers::remove_peer(std::uint64_t id) {
  auto it = links_.find(id);
  if (it == links_.end() || it->second->retired) return;
  link& p = *it->second;
  p.retired = true;
  p.delayed.clear();
  for (io::timer* t : {p.retry.get(), p.connect_timeout.get(), p.release.get()}) {
    if (t->armed()) reactor_.disarm(*t);
  }
  // The link stays (its connection's callbacks refer to it) but is never
  // dialled again.
  p.connected = false;
  p.changed_us = reactor_.now_us();
  if (p.conn) p.conn->close();
  spdlog::info("node {}: link to node {} closed: the node left the cluster", cfg_.self, id);
}

void tcp_peers::send(const raftpb::Message& m) {
  auto it = links_.find(m.to());
  if (it == links_.end() || it->second->retired) return;
  link& p = *it->second;
  const link_emulation& e = p.emulation;
  if (!e.active()) {
    transmit(p, m);
    return;
  }
  if (e.partitioned || (e.loss_ppm > 0 && next_random() % 1'000'000 < e.loss_ppm) ||
      p.delayed.size() >= limits::emulated_messages_max) {
    budget_.counts().add(counter::messages_dropped_emulated);
    return;
  }
  if (e.delay_ms == 0 && e.jitter_ms == 0) {
    transmit(p, m);
    return;
  }
  const std::uint64_t jitter_us =
      e.jitter_ms == 0 ? 0 : next_random() % (std::uint64_t{e.jitter_ms} * 1000 + 1);
  std::uint64_t due = reactor_.now_us() + std::uint64_t{e.delay_ms} * 1000 + jitter_us;
  if (!p.delayed.empty()) due = std::max(due, p.delayed.back().first);  // in order, as TCP
  p.delayed.emplace_back(due, m);
  if (!p.release->armed()) release_delayed(p);
}

// Sends what the emulated delay has held long enough, and waits for the
// next.
void tcp_peers::release_delayed(link& p) {
  const std::uint64_t now = reactor_.now_us();
  while (!p.delayed.empty() && p.delayed.front().first <= now) {
    transmit(p, p.delayed.front().second);
    p.delayed.pop_front();
  }
  if (!p.delayed.empty()) {
    reactor_.arm(*p.release, std::chrono::microseconds(p.delayed.front().first - now));
  }
}

std::uint64_t tcp_peers::next_random() {
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  return random_state_;
}

base::status tcp_peers::emulate(std::uint64_t peer, const link_emulation& e) {
  auto it = links_.find(peer);
  if (it == links_.end()) return base::fail("no link to node " + std::to_string(peer));
  if (base::status s = e.validate(); !s.ok()) return s;
  it->second->emulation = e;
  spdlog::info("node {}: network emulation on the link to node {}: {}", cfg_.self, peer,
               e.describe());
  return {};
}

std::map<std::uint64_t, link_emulation> tcp_peers::emulation() const {
  std::map<std::uint64_t, link_emulation> out;
  for (const auto& [id, l] : links_) {
    if (l->emulation.active()) out[id] = l->emulation;
  }
  return out;
}

std::string link_emulation::describe() const {
  if (!active()) return "none";
  std::string out;
  const auto add = [&out](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (delay_ms) add("delay " + std::to_string(delay_ms) + " ms");
  if (jitter_ms) add("jitter " + std::to_string(jitter_ms) + " ms");
  if (loss_ppm) add("loss " + std::to_string(loss_ppm / 10'000.0).substr(0, 6) + "%");
  if (partitioned) add("partitioned");
  return out;
}

base::status link_emulation::validate() const {
  if (delay_ms > limits::emulated_delay_ms_max || jitter_ms > limits::emulated_delay_ms_max) {
    return base::fail("emulated delay and jitter are at most " +
                      std::to_string(limits::emulated_delay_ms_max) + " ms");
  }
  if (loss_ppm > 1'000'000) return base::fail("loss is at most 1,000,000 per million");
  return {};
}

void tcp_peers::transmit(link& p, const raftpb::Message& m) {
  if (!p.connected) {
    budget_.counts().add(counter::messages_dropped_peer_down);
    return;
  }
  nodepb::PeerFrame frame;
  *frame.mutable_raft() = m;
  if (!p.conn->send(frame)) budget_.counts().add(counter::messages_dropped_peer_slow);
}

void tcp_peers::dial(link& p) {
  if (p.retired) return;
  auto retry_later = [this, &p] {
    if (p.retired) return;
    reactor_.arm(*p.retry, std::chrono::milliseconds(p.backoff_ms));
    p.backoff_ms = std::min(p.backoff_ms * 2, redial_backoff_ms_max);
  };
  base::result<sockaddr_in> addr = resolve_address(p.address);
  if (!addr.ok()) {
    if (!p.unresolved) spdlog::warn("peer {}: {}; retrying", p.id, addr.message());
    p.unresolved = true;
    retry_later();
    return;
  }
  p.unresolved = false;
  connection_handler h{
      // Peers answer on the connections they dial themselves, so nothing
      // is expected here.
      [](framed_connection&, std::string_view) {},
      [this, &p](framed_connection& c) {
        // With TLS, the node answering must be the one dialled.
        if (cfg_.tls != nullptr && c.certified_node() != p.id) {
          c.refuse(refusal::bad_hello, "dialled node " + std::to_string(p.id) + " at " + p.address +
                                           " but its certificate names node " +
                                           std::to_string(c.certified_node()));
          return;
        }
        link_up(p, c);
      },
      [this, &p, retry_later](framed_connection&, int) {
        link_down(p);
        retry_later();
      }};
  p.conn = std::make_unique<framed_connection>(reactor_, std::move(h), budget_, limits_, cfg_.tls);
  p.conn->connect(*addr);
  reactor_.arm(*p.connect_timeout, std::chrono::milliseconds(cfg_.link_timeout_ms));
}

void tcp_peers::link_up(link& p, framed_connection& c) {
  if (p.connect_timeout->armed()) reactor_.disarm(*p.connect_timeout);
  // Sent bytes unacknowledged for a link timeout close the connection (the
  // kernel's TCP_USER_TIMEOUT), and keepalive probes find a silent dead
  // peer: either way the link is re-dialled instead of waiting out TCP's
  // retransmission backoff.
  const int user_timeout = static_cast<int>(cfg_.link_timeout_ms);
  const int one = 1, idle = 1, interval = 1, count = 3;
  ::setsockopt(c.fd(), IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
  ::setsockopt(c.fd(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  ::setsockopt(c.fd(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(c.fd(), IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(c.fd(), IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  p.connected = true;
  p.changed_us = reactor_.now_us();
  p.backoff_ms = redial_backoff_first_ms;
  spdlog::info("node {}: link to node {} at {} is up", cfg_.self, p.id, p.address);
  nodepb::PeerFrame hello;
  hello.set_hello_from(cfg_.self);
  c.send(hello);
}

void tcp_peers::link_down(link& p) {
  if (p.connect_timeout->armed()) reactor_.disarm(*p.connect_timeout);
  if (p.connected) {
    spdlog::info("node {}: link to node {} at {} is down; re-dialling", cfg_.self, p.id, p.address);
    p.changed_us = reactor_.now_us();
  }
  p.connected = false;
}

std::vector<peer_link> tcp_peers::links() const {
  std::vector<peer_link> out;
  for (const auto& [id, l] : links_) {
    if (!l->retired) out.push_back({id, l->connected, l->last_heard_us, l->changed_us});
  }
  return out;
}

void tcp_peers::on_frame(framed_connection& c, std::string_view body) {
  nodepb::PeerFrame f;
  if (!f.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    c.refuse(refusal::malformed, "peer frame does not parse");
    return;
  }
  if (c.tag == 0) {
    const auto known = links_.find(f.hello_from());
    if (!f.has_hello_from() || f.hello_from() == cfg_.self || known == links_.end() ||
        known->second->retired) {
      c.refuse(refusal::bad_hello, "first peer frame is not a hello from a known peer");
      return;
    }
    if (cfg_.tls != nullptr && c.certified_node() != f.hello_from()) {
      c.refuse(refusal::bad_hello, "hello from node " + std::to_string(f.hello_from()) +
                                       " over TLS with the certificate of node " +
                                       std::to_string(c.certified_node()));
      return;
    }
    c.tag = f.hello_from();
    return;
  }
  if (auto it = links_.find(c.tag); it != links_.end())
    it->second->last_heard_us = reactor_.now_us();
  if (!f.has_raft() || f.raft().from() != c.tag) {
    c.refuse(refusal::wrong_sender,
             "peer frame is not a consensus message from node " + std::to_string(c.tag));
    return;
  }
  if (base::status s = deliver_(f.raft()); !s.ok()) {
    c.refuse(refusal::bad_consensus_input, "consensus message refused: " + s.message());
  }
}

}  // namespace ringchain::net
