// The chain's state machine: a key-value store, the senders' last nonces,
// and the chain's tip, with a state hash after every block so that nodes
// can compare their states. Snapshots read the state in parts while blocks
// keep being applied (export, copy-on-write per key) and load it back
// (import), checked against the state hash.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "node/base/result.h"
#include "node/chain/block.h"
#include "node/chain/frozen_map.h"

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
  // The last applied block's header timestamp (0 before the first).
  std::uint64_t tip_timestamp_us() const { return tip_timestamp_us_; }

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

  // What a snapshot records of the ledger besides its pairs.
  struct summary {
    // The height of the last block applied.
    std::uint64_t height = 0;
    // That block's hash.
    hash tip{};
    // That block's timestamp.
    std::uint64_t tip_timestamp_us = 0;
    // The state hash after it.
    hash state_hash{};
  };
  // The summary of the ledger as it is now.
  summary summarize() const;

  // Starts reading the state as it is now, in parts, while blocks keep
  // being applied: a key written later is read with its value of now. One
  // export at a time. Returns the state's summary.
  summary begin_export();
  // Fills the next part of the export with about `bytes_max` bytes of
  // pairs (the kv pairs first, then the nonces); returns false once the
  // whole state was read (`out` may then hold the last pairs).
  bool export_part(std::uint64_t bytes_max, chainpb::StatePart* out);
  // Ends the export, finished or abandoned, and frees what it kept.
  void end_export();
  // Whether an export is under way.
  bool exporting() const { return kv_view_.active(); }

  // Loading a snapshot into a ledger that applied nothing: adds the pairs
  // of one part (a key or sender given twice is an error).
  base::status import_part(const chainpb::StatePart& part);
  // Ends a load: takes the snapshot's tip, and checks that the state hash
  // of what was loaded is the snapshot's.
  base::status finish_import(const summary& s);

#ifdef RINGCHAIN_PLANTED_BUGS
  // Test-only: every value written from now on gets this suffix, so the
  // simulator's tests can plant a state divergence (planted bugs only).
  void set_value_suffix_for_testing(std::string suffix) {
    value_suffix_ = std::move(suffix);
  }
  // Test-only: exports leave the nonces out and give the state hash of
  // what they hold (a snapshot that forgot part of the state, consistent
  // with itself; planted_bug::snapshot_drops_nonces).
  void set_export_drops_nonces_for_testing() {
    drop_nonces_ = true;
  }
#endif

 private:
  using lanes = std::array<std::uint64_t, 4>;
  static void account(lanes& sum, std::string_view tag, std::string_view a, std::string_view b,
                      bool add);
  void account(std::string_view tag, std::string_view a, std::string_view b, bool add) {
    account(sum_, tag, a, b, add);
  }
  hash hash_of(const lanes& sum) const;

  std::map<std::string, std::string> kv_;
  std::map<std::string, std::uint64_t> nonces_;
  lanes sum_{};
  std::uint64_t height_ = 0;
  std::uint64_t tip_timestamp_us_ = 0;
  hash tip_{};
  // The export in progress (copy-on-write views of both maps).
  frozen_map<std::string> kv_view_;
  frozen_map<std::uint64_t> nonces_view_;
#ifdef RINGCHAIN_PLANTED_BUGS
  std::string value_suffix_;
  bool drop_nonces_ = false;
#endif
};

}  // namespace ringchain::chain
