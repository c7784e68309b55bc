// The simulated client: the load a world puts on its cluster. Once per
// submit interval it sends a batch of pre-signed transactions to the node
// it takes for the leader, follows redirects, and remembers every
// transaction acknowledged as committed (the checkers hold the cluster to
// those acknowledgements).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "node/chain/transaction.h"
#include "node/runtime/node.h"
#include "sim/dst/model.h"
#include "sim/dst/sim_core.h"

namespace ringchain::dst {

// Transactions for the simulated clients, signed and verified once per
// process and shared by every run (a run is a fresh cluster, so reusing
// them is not a replay). Their content depends only on their number and
// size.
struct signed_pool {
  // The transactions, in the order clients submit them.
  std::vector<chain::transaction> txs;
  // Each transaction's index by its signature; every one verified.
  std::unordered_map<std::string, std::size_t> by_signature;

  // The nodes' signature check: a transaction of the pool, unchanged, was
  // verified when the pool was made; anything else is verified now.
  chain::tx_error verify(const chain::transaction& tx) const;
};

// A pool of at least `n` transactions of `tx_bytes`; grows the process's
// shared pool for that size when it holds fewer. Thread-safe.
std::shared_ptr<const signed_pool> tx_pool(std::size_t n, std::uint32_t tx_bytes);

// What the client asks of the world around it.
struct client_hooks {
  // The running node in the slot, or null while it is down.
  std::function<runtime::node*(std::uint32_t slot)> node;
  // The node in the slot ran (its loop, then the checkers).
  std::function<void(std::uint32_t slot)> after_event;
};

// How the client loads the cluster.
struct load_settings {
  // Nodes in the cluster (ids 1..nodes).
  std::uint32_t nodes = 3;
  // Transactions per submission.
  std::uint32_t txs_per_submit = 4;
  // Between submissions (set: the world turns 0 into a round).
  std::uint32_t submit_interval_ms = 100;
  // Transactions a second on average, at most txs_per_submit at a time
  // (0: txs_per_submit each time; options::submit_tps).
  double submit_tps = 0;
};

// The one simulated client of a world.
class sim_client {
 public:
  // A client of `s` drawing transactions from `pool`, with the network
  // profile's local delay to and from the nodes.
  sim_client(sim_core& core, const load_settings& s, const network_profile& network,
             std::shared_ptr<const signed_pool> pool, client_hooks hooks);
  // Submits the next batch now and schedules the next submission.
  void round();
  // Transactions acknowledged as committed: hash -> the height it was
  // acknowledged at.
  const std::map<std::string, std::uint64_t>& acked() const { return acked_; }
  // The transactions it submits (the nodes' signature check trusts them).
  const std::shared_ptr<const signed_pool>& pool() const { return pool_; }

 private:
  void reply(const nodepb::ClientResponse& r, const std::vector<std::string>& hashes);

  sim_core& core_;
  load_settings settings_;
  const network_profile& network_;
  std::shared_ptr<const signed_pool> pool_;
  client_hooks hooks_;
  std::size_t next_tx_ = 0;
  // What submit_tps owes beyond the whole transactions submitted.
  double owed_ = 0;
  std::uint64_t target_ = 1;  // the node id it takes for the leader
  std::uint64_t gen_ = 0;     // request ids
  time_ns last_reply_ = 0;
  std::map<std::string, std::uint64_t> acked_;
};

}  // namespace ringchain::dst
