// The leader's block producer: rounds on a fixed schedule, and blocks cut
// from the mempool at each round, or at once when the mempool holds a full
// block.
#pragma once

#include <cstdint>

#include "node/chain/block.h"
#include "node/runtime/block_trace.h"
#include "node/runtime/chain_index.h"
#include "node/runtime/client_service.h"
#include "node/runtime/env.h"
#include "node/runtime/node_parts.h"

namespace ringchain::runtime {

// The node's block producer (see the top of this file). It runs on every
// node, but only the leader cuts blocks; it runs on the reactor thread.
class block_producer {
 public:
  // Blocks chain after the last one `index` knows, and are recorded there
  // and in `trace`; clients of refused blocks are told through `clients`.
  block_producer(node_parts parts, const node_env& env, chain_index& index, block_trace& trace,
                 client_service& clients);
  block_producer(const block_producer&) = delete;
  block_producer& operator=(const block_producer&) = delete;

  // Starts the round schedule.
  void start();
  // Cuts blocks while the mempool holds a full one (by count or bytes),
  // each starting a round of its own.
  void cut_full_blocks();

 private:
  void on_round();
  bool propose();

  node_parts parts_;
  const node_env& env_;
  chain_index& index_;
  block_trace& trace_;
  client_service& clients_;
  io::timer round_timer_;
  // Rounds started, when the current one started, and when the next is
  // due (rounds keep their schedule; late wake-ups do not drift it).
  std::uint64_t round_ = 0;
  std::uint64_t round_start_us_ = 0;
  std::uint64_t next_round_us_ = 0;
};

}  // namespace ringchain::runtime
