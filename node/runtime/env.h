// The seams a node runs on: its reactor (clock, timers, disk writes), its
// peer transport and its signature checks. The defaults are the real ones;
// the deterministic simulator (sim/dst) runs the same node over simulated
// time, disks and network by filling them in.
#pragma once

#include <cstdint>
#include <functional>

#include "node/chain/transaction.h"
#include "node/core/config.h"
#include "node/io/reactor.h"
#include "node/net/peer_transport.h"

namespace ringchain::runtime {

// Where a node's consensus messages go (net/peer_transport.h). Received
// messages come back in through node::receive().
using peer_transport = net::peer_transport;

// The seams of one node (see the top of this file). Default-constructed, a
// node runs on its own reactor, TCP and worker threads.
struct node_env {
  // Borrowed, and outlives the node: run on this reactor instead of
  // creating one of the configured backend.
  io::reactor* reactor = nullptr;
  // Borrowed: send consensus messages through this transport. The node
  // then opens no sockets at all; clients call node::submit(). Null: TCP
  // on the configured peer and client addresses.
  peer_transport* transport = nullptr;
  // Check signatures on the reactor thread instead of a worker thread.
  bool verify_inline = false;
  // With verify_inline: the time, in nanoseconds, one verifier thread
  // takes to check `txs` signatures (the simulator's CPU model). Results
  // then come back when node_config::verify_threads threads would have
  // checked them; null: at once.
  std::function<std::uint64_t(std::size_t txs)> verify_cost_ns;
  // Checks one transaction's signature; null: chain::verify. The simulator
  // answers from the transactions it signed and verified once per process,
  // instead of verifying the same ones again in every run.
  std::function<chain::tx_error(const chain::transaction&)> verify_tx;
  // Seed of the election-timeout randomness; 0 draws one from the clock.
  std::uint64_t random_seed = 0;
  // Test-only (core::planted_bug; compiled only with planted bugs).
  core::planted_bug bug = core::planted_bug::none;
};

}  // namespace ringchain::runtime
