// The chain's state machine: a key-value store, the senders' last nonces,
// and the chain's tip, with a state hash after every block so that nodes
// can compare their states.
#pragma once

#include <array>
#include <string>
#include <unordered_map>
#include <vector>

#include "node/base/result.h"
#include "node/chain/block.h"

namespace ringchain::chain {

// The state every node builds by applying committed blocks in order. It changes
// only through apply(); two nodes that applied the same blocks hold equal
// states and equal state_hash().
class ledger {
 public:
  // The height and header hash of the last applied block (0 and zeros
  // before the first).
  std::uint64_t height() const { return height_; }
  // The header hash of the last applied block; all zeros before the first.
  const hash& tip() const { return tip_; }

  // Checks that `b` links to the tip and applies it. Returns the problem
  // and changes nothing when it does not link. A transaction whose nonce
  // does not rise for its sender (one with that nonce or a later one came
  // first, in an earlier block or earlier in this one) is skipped: a block
  // is ordered before it is executed, and leaders cut blocks from their
  // mempools without seeing other leaders' blocks that are not yet
  // committed, so such a block can commit; every node skips the same
  // transactions. Their indices go to *skipped when given.
  base::status apply(const block& b, std::vector<int>* skipped = nullptr);

  // The last nonce applied for a sender; 0 when none.
  std::uint64_t last_nonce(const std::string& sender) const;
  // The value of a key, or nothing.
  const std::string* get(const std::string& key) const;
  // How many keys hold a value.
  std::size_t keys() const { return kv_.size(); }

  // A hash of the whole state (keys, values, nonces) and the height; equal
  // on two nodes exactly when they applied the same writes. Updated
  // incrementally: the sum, lane by lane modulo 2^64, of the hash of every
  // (key, value) and (sender, nonce) pair, hashed with the height.
  hash state_hash() const;

#ifdef RINGCHAIN_PLANTED_BUGS
  // Test-only: every value written from now on gets this suffix, so the
  // simulator's tests can plant a state divergence (planted bugs only).
  void set_value_suffix_for_testing(std::string suffix) {
    value_suffix_ = std::move(suffix);
  }
#endif

 private:
  void account(std::string_view tag, std::string_view a, std::string_view b, bool add);

  std::unordered_map<std::string, std::string> kv_;
  std::unordered_map<std::string, std::uint64_t> nonces_;
  std::array<std::uint64_t, 4> sum_{};
  std::uint64_t height_ = 0;
#ifdef RINGCHAIN_PLANTED_BUGS
  std::string value_suffix_;
#endif
  hash tip_{};
};

}  // namespace ringchain::chain
