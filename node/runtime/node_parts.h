// The parts of a node that its services share. The node owns them and
// outlives every service it hands this to.
#pragma once

#include "node/chain/ledger.h"
#include "node/chain/mempool.h"
#include "node/core/raft.h"
#include "node/io/reactor.h"
#include "node/runtime/clock_skew.h"
#include "node/runtime/config.h"
#include "node/runtime/counters.h"

namespace ringchain::runtime {

// References to the node's shared parts, handed by value to each service
// (block producer, client service) when the node builds it.
struct node_parts {
  // The node's settings.
  const node_config& cfg;
  // The loop everything runs on, and the only clock.
  io::reactor& reactor;
  // The consensus core.
  core::raft& raft;
  // The state committed blocks built.
  chain::ledger& ledger;
  // Verified transactions waiting for a block.
  chain::mempool& mempool;
  // The runtime's counters.
  counters& counts;
  // This node's clock error (experiments; none by default).
  const clock_skew& skew;
};

}  // namespace ringchain::runtime
