// Where the blocks are in the log: for each log index that holds a block,
// its term, height and header hash. It answers "which block comes last
// before this index" (a new block chains after it; a leader's append must
// chain after it) and "where is the block at this height" (block queries,
// without walking or parsing the log), and it checks what a leader's
// append carries before the consensus core sees it.
//
// Records are kept optimistically: an append is recorded when it is
// checked, before the core decides to take it. A record counts only while
// the log holds an entry of the same term at its index, so records of
// entries the core refused or later replaced are never used.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "node/base/result.h"
#include "node/chain/block.h"
#include "node/core/log.h"
#include "node/core/raft.h"

namespace ringchain::runtime {

// The node's index of the blocks in its consensus log (see the top of this
// file). The node records blocks as it checks appends, proposes blocks or
// restarts, and asks it where blocks are.
class chain_index {
 public:
  // One block in the log.
  struct block_ref {
    // The entry's log index and term.
    std::uint64_t index = 0, term = 0;
    // The block's height.
    std::uint64_t height = 0;
    // The block's header hash.
    chain::hash hash{};
  };

  // Records the block of an entry.
  void record(const block_ref& ref);
  // Parses and records every block among `entries` (a restart's log);
  // entries that hold no block are skipped.
  void record_log(const std::vector<core::entry>& entries);

  // The last block the log holds at or before `index`, if any.
  std::optional<block_ref> at_or_before(const core::raft_log& log, std::uint64_t index) const;
  // The block at `height` that the log holds at or before `index_max`.
  std::optional<block_ref> by_height(const core::raft_log& log, std::uint64_t height,
                                     std::uint64_t index_max) const;

  // Checks a leader's append before the core sees it: every normal entry
  // holds a block that parses, whose header matches its body (count,
  // Merkle root) and that chains after the block before it (in the append,
  // or in this node's log when the log agrees with the append up to its
  // start); an empty entry carries nothing. Records the blocks when all
  // pass. Cheap checks only: signatures are the leader's job (see
  // node_config::verify_follower_signatures).
  base::status check_append(const core::message& m, const core::raft_log& log);

 private:
  bool holds(const core::raft_log& log, const block_ref& r) const;

  std::map<std::uint64_t, block_ref> by_index_;
  // Height -> the indexes recorded for it (a height can appear at several
  // indexes when leaders' blocks were replaced).
  std::multimap<std::uint64_t, std::uint64_t> by_height_;
};

}  // namespace ringchain::runtime
