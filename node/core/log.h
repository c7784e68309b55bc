// The Raft log of one node, with the bookkeeping of what is durable.
//
// The log keeps every entry in memory (snapshots and compaction come later).
// Index 1 is the first entry; index 0 with term 0 stands for the empty log.
// Four positions move through it, and the log keeps them ordered:
//
//   applied <= min(committed, durable),  durable <= handed <= last_index
//
//  - handed:    entries up to here were given to storage in a Ready.
//  - durable:   storage reported entries up to here as durable.
//  - committed: known committed on a quorum (may run ahead of durable on a
//               follower, which applies only what it holds durably).
//  - applied:   handed to the application in a Ready.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "proto/raft.pb.h"

namespace ringchain::core {

using entry = raftpb::Entry;

// One node's Raft log and its four positions (see above). The core owns it;
// the node's runtime reads it (through raft::log()) to find the blocks it
// holds.
class raft_log {
 public:
  // Starts from a log recovered from storage; all of it is durable.
  // `committed` and `applied` come from the recovered hard state and the
  // application; they are clamped to what the log holds.
  void restore(std::vector<entry> entries, std::uint64_t committed, std::uint64_t applied);

  // The index of the last entry; 0 for the empty log.
  std::uint64_t last_index() const { return entries_.size(); }
  // The term of the last entry; 0 for the empty log.
  std::uint64_t last_term() const { return term(last_index()).value_or(0); }
  // The highest index known committed on a quorum (see the positions above).
  std::uint64_t committed() const { return committed_; }
  // The highest index handed to the application.
  std::uint64_t applied() const { return applied_; }
  // The highest index storage reported durable.
  std::uint64_t durable() const { return durable_; }

  // The term of the entry at `index`, 0 for index 0, nothing when the log
  // does not reach `index`.
  std::optional<std::uint64_t> term(std::uint64_t index) const;
  // Whether the log holds an entry at `index` with term `term` (index 0
  // matches term 0): the consistency check of AppendEntries (Raft §5.3).
  bool match_term(std::uint64_t index, std::uint64_t term) const;

  // Whether a log ending at (last_index, last_term) is at least as
  // up-to-date as this one (Raft §5.4.1).
  bool is_up_to_date(std::uint64_t last_index, std::uint64_t last_term) const;

  // The largest index at or below `index` whose term is at most `term`
  // (fast backtracking, as in etcd-io/raft's findConflictByTerm).
  std::uint64_t find_conflict_by_term(std::uint64_t index, std::uint64_t term) const;

  // Appends entries that follow the last one (the leader's own proposals).
  void append(entry e);

  // Outcome of maybe_append().
  enum class append_outcome {
    appended,
    // The entry at prev_index does not have prev_term: nothing changed.
    mismatch,
    // The entries would replace a committed entry: nothing changed. Only a
    // faulty peer sends such an append (Leader Completeness, Raft §5.4).
    conflicts_committed,
  };

  // Follower side of AppendEntries (Raft §5.3): when the entry at
  // prev_index has prev_term, deletes any conflicting suffix and appends
  // what is new. The caller has validated that `entries` are consecutive
  // from prev_index + 1 with terms in order.
  append_outcome maybe_append(std::uint64_t prev_index, std::uint64_t prev_term,
                              const google::protobuf::RepeatedPtrField<entry>& entries);

  // Moves the commit index forward (never back); asserts it is in the log.
  void commit_to(std::uint64_t index);

  // Entries [lo, last_index], at most max_count and max_bytes of payload,
  // but always at least one when lo <= last_index.
  void slice(std::uint64_t lo, std::size_t max_count, std::uint64_t max_bytes,
             google::protobuf::RepeatedPtrField<entry>* out) const;

  // Payload bytes of entries (lo, hi].
  std::uint64_t bytes_between(std::uint64_t lo, std::uint64_t hi) const;

  // Whether some entries are not yet handed to storage.
  bool has_unhanded() const { return handed_ < last_index(); }
  // The index of the first entry not yet handed to storage.
  std::uint64_t first_unhanded() const { return handed_ + 1; }
  // Marks every entry handed to storage as part of the Ready with sequence
  // number `seq`; sequence numbers rise from one call to the next.
  void mark_handed(std::uint64_t seq);

  // Storage reports the Ready `seq` durable (reports arrive in order).
  void mark_durable(std::uint64_t seq);

  // Whether entries committed and durable here are not yet applied.
  bool has_unapplied() const;
  // The highest index that may be applied: min(committed, durable), since a
  // follower applies only what it holds durably.
  std::uint64_t apply_bound() const;
  // Marks entries up to `index` applied; asserts that `index` moves forward
  // and stays within apply_bound().
  void mark_applied(std::uint64_t index);

  // The entry at `index`; asserts that the log holds it (1 <= index <=
  // last_index()).
  const entry& at(std::uint64_t index) const;

 private:
  // Drops entries after `index` (a conflicting suffix, Raft §5.3).
  void truncate_after(std::uint64_t index);

  // A Ready whose entries are on their way to disk.
  struct persist_record {
    std::uint64_t seq;
    // Highest index that this write makes durable; lowered when a later
    // truncation removes part of what it wrote.
    std::uint64_t last_index;
  };

  std::vector<entry> entries_;
  // bytes_[i] is the payload size of entries 1..i; bytes_[0] is 0.
  std::vector<std::uint64_t> bytes_{0};
  std::deque<persist_record> persisting_;
  std::uint64_t committed_ = 0;
  std::uint64_t applied_ = 0;
  std::uint64_t durable_ = 0;
  std::uint64_t handed_ = 0;
};

}  // namespace ringchain::core
