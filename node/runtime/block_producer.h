// The leader's block producer: rounds on a fixed schedule, and blocks cut
// from the mempool at each round, or at once when the mempool holds a full
// block.
#pragma once

#include <cstdint>

#include "node/chain/block.h"
#include "node/runtime/block_trace.h"
#include "node/runtime/client_service.h"
#include "node/runtime/env.h"
#include "node/runtime/node_parts.h"

namespace ringchain::runtime {

class block_producer {
 public:
  // Proposed blocks are recorded in `trace`; clients of refused blocks are
  // told through `clients`.
  block_producer(node_parts parts, const node_env& env, block_trace& trace,
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
  // The height and header hash of the last block in the log.
  std::pair<std::uint64_t, chain::hash> last_block_in_log();

  node_parts parts_;
  const node_env& env_;
  block_trace& trace_;
  client_service& clients_;
  io::timer round_timer_;
  // Rounds started, when the current one started, and when the next is
  // due (rounds keep their schedule; late wake-ups do not drift it).
  std::uint64_t round_ = 0;
  std::uint64_t round_start_us_ = 0;
  std::uint64_t next_round_us_ = 0;
  // The last block found in (or proposed to) the log: its entry's index
  // and term, its height and header hash.
  struct last_block {
    std::uint64_t index = 0, term = 0, height = 0;
    chain::hash hash{};
  } last_block_;
};

}  // namespace ringchain::runtime
