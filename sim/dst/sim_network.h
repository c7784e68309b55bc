// The simulated network between a world's nodes: each node's transport,
// and the links between them, with delays drawn from a network profile,
// each sender's bandwidth, and the network faults (loss, duplication,
// reordering, cut links for partitions, clogged links).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "node/core/raft.h"
#include "node/runtime/env.h"
#include "sim/dst/faults.h"
#include "sim/dst/model.h"
#include "sim/dst/sim_core.h"

namespace ringchain::dst {

// What the network asks of the world around it.
struct network_hooks {
  // Every message a node hands its transport for a peer, before the
  // network decides its fate (the durability checker reads it).
  std::function<void(std::uint32_t from, const core::message& m)> sending;
  // Whether the node in the slot runs (messages to a down node are lost).
  std::function<bool(std::uint32_t slot)> up;
  // Hands a message to the node in slot `to` (it runs then; the world
  // charges its CPU for it).
  std::function<void(std::uint32_t to, const core::message& m)> deliver;
};

// The links between `nodes` nodes. Directed links are cut by a count (a
// link under two partitions stays cut until both heal) and clogged by an
// extra delay; links keep their order unless the mix reorders.
class sim_network {
 public:
  // A network of `profile` between `nodes` nodes, lossy as `mix` says.
  sim_network(sim_core& core, std::uint32_t nodes, const network_profile& profile,
              const fault_mix& mix);
  // Sets what the network tells its world; before the first message.
  void set_hooks(network_hooks hooks) { hooks_ = std::move(hooks); }
  // Sends a consensus message from the node in slot `from` to node m.to():
  // it takes the sender's CPU (sim_cpu::sent), occupies the sender's link
  // for its bytes, then travels the link's delay (plus any clog); it may
  // be lost or arrive twice.
  void send(std::uint32_t from, const core::message& m);
  // Cuts the directed link (delta 1) or restores it (delta -1).
  void cut(std::uint32_t from, std::uint32_t to, int delta) { cuts_[from * n_ + to] += delta; }
  // Adds `extra` delay to the directed link, or takes it off again (add
  // false).
  void clog(std::uint32_t from, std::uint32_t to, time_ns extra, bool add);
  // Faults stop: every link restored, no clog.
  void heal();
  // How many nodes the network joins.
  std::uint32_t nodes() const { return n_; }

 private:
  void deliver(std::uint32_t to, const core::message& m);

  sim_core& core_;
  std::uint32_t n_;
  const network_profile& profile_;
  const fault_mix& mix_;
  network_hooks hooks_;
  std::vector<int> cuts_;              // n x n: > 0 when the directed link is cut
  std::vector<time_ns> clogs_;         // n x n: extra delay
  std::vector<time_ns> last_arrival_;  // n x n: for links that keep order
  std::vector<time_ns> egress_free_;   // per sender: when its link is free
};

// A node's transport: what it sends goes into the simulated network.
class sim_transport final : public runtime::peer_transport {
 public:
  // The transport of the node in `slot`.
  sim_transport(sim_network& network, std::uint32_t slot) : network_(network), slot_(slot) {}
  // Sends m to node m.to() through the network.
  void send(const core::message& m) override { network_.send(slot_, m); }

 private:
  sim_network& network_;
  std::uint32_t slot_;
};

}  // namespace ringchain::dst
