// Configuration of one consensus node.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "node/base/limits.h"
#include "node/base/result.h"

namespace ringchain::core {

// A source of uniform random numbers in [0, bound). The core owns no random
// generator: the caller injects one, seeded, so that every run can be
// replayed (tests and the deterministic simulator rely on it).
using random_source = std::function<std::uint64_t(std::uint64_t bound)>;

// Test-only: a known bug planted on purpose, so that tests can show the
// deterministic simulator's checkers catch it. Never set outside tests;
// `none` is the only value a real node runs with.
enum class planted_bug : std::uint8_t {
  none,
  // Core: commit an earlier term's entry by counting replicas (the Raft
  // paper's Figure 8); a new leader also skips its empty entry, which would
  // otherwise commit first and mask the bug.
  commit_stale_term,
  // Core: send append acknowledgements before the entries are durable.
  ack_before_durable,
  // Core: a follower appends without checking the previous entry's term.
  skip_prev_check,
  // Core: grant votes without the election restriction (Raft §5.4.1): a
  // candidate missing committed entries can win.
  vote_without_log_check,
  // Core: grant a second vote in a term.
  vote_twice,
  // Core: a node that restarted never campaigns again.
  no_campaign_after_restart,
  // Node: tell the client a transaction committed when it is proposed.
  ack_before_commit,
  // Node: node 2 applies every block's writes with a changed value.
  diverge_state,
  // Node: snapshots leave the senders' nonces out, and record the state
  // hash of what they hold (consistent with themselves, so loading them
  // passes its own check; a node restored from one holds another state).
  snapshot_drops_nonces,
  // Core: a leader proposes a membership change while the last one is
  // still being applied (two changes in flight at once).
  conf_changes_at_once,
};
// The bug's name, as the simulator's --plant-bug flag and its replay
// commands spell it.
const char* to_string(planted_bug b);
// Parses a bug's name; false for a name it does not know.
bool parse_planted_bug(std::string_view text, planted_bug* out);

// Whether this build holds the planted bugs at all. They are compiled only
// with the CMake option RINGCHAIN_PLANTED_BUGS (on in the test build of
// scripts/test.sh, off by default): a production binary holds none of them.
#ifdef RINGCHAIN_PLANTED_BUGS
inline constexpr bool planted_bugs_built = true;
#define RC_PLANTED(configured, name) ((configured) == ::ringchain::core::planted_bug::name)
#else
inline constexpr bool planted_bugs_built = false;
#define RC_PLANTED(configured, name) false
#endif

// Settings of one node. Every bound may only be lowered from its limit in
// node/base/limits.h; validate() refuses anything else.
struct config {
  // This node's id; ids are non-zero.
  std::uint64_t id = 0;
  // Every voter of the cluster the node starts with, this node included;
  // empty for a node that joins a running cluster: it learns the
  // membership from the leader's log or snapshot, and until a change makes
  // it a voter it never campaigns. A snapshot's membership replaces this
  // list when the node restores one.
  std::vector<std::uint64_t> voters;

  // Ticks without hearing from a leader before a follower campaigns. The
  // actual timeout is drawn from [election_ticks, 2 * election_ticks) at
  // every reset (Raft §5.2, randomized election timeouts).
  std::uint32_t election_ticks = 10;
  // Ticks between the leader's heartbeats; less than election_ticks.
  std::uint32_t heartbeat_ticks = 1;

  // Pre-vote (Raft thesis §9.6): a node first asks whether it could win
  // before it disrupts the cluster by raising its term.
  bool pre_vote = true;
  // Check-quorum (Raft thesis §6.2): a leader that has not heard from a
  // quorum within an election timeout steps down, and a node that heard
  // from a leader within the timeout ignores vote requests.
  bool check_quorum = true;

  // Appends in flight to one follower before the leader waits for
  // acknowledgements (at most limits::inflight_appends_max).
  std::size_t inflight_appends = limits::inflight_appends_max;
  // Payload bytes in flight to one follower (at most
  // limits::inflight_bytes_max, and at least append_bytes).
  std::uint64_t inflight_bytes = limits::inflight_bytes_max;
  // Payload bytes of entries in one MSG_APPEND; one larger entry still travels
  // alone (at most limits::append_bytes_max, and at least entry_bytes).
  std::uint64_t append_bytes = limits::append_bytes_max;
  // Entries in one MSG_APPEND (at most limits::append_entries_max).
  std::size_t append_entries = limits::append_entries_max;
  // Payload bytes of one entry: larger proposals are refused as too_large and
  // larger incoming entries as oversized_entry (at most
  // limits::entry_bytes_max).
  std::uint64_t entry_bytes = limits::entry_bytes_max;
  // Uncommitted entries the leader holds before it refuses proposals as busy
  // (at most limits::uncommitted_entries_max).
  std::size_t uncommitted_entries = limits::uncommitted_entries_max;
  // Payload bytes of the uncommitted entries the leader holds before it refuses
  // proposals as busy (at most limits::uncommitted_bytes_max).
  std::uint64_t uncommitted_bytes = limits::uncommitted_bytes_max;

  // Snapshots (Raft §7): the core asks for one (Ready::snapshot_request)
  // every snapshot_interval_entries applied entries or
  // snapshot_interval_bytes of their payload, whichever comes first, and
  // once it is durable drops its log up to it but for the last
  // snapshot_catchup_entries (at most snapshot_catchup_bytes).
  std::uint64_t snapshot_interval_entries = 10'000;
  // Payload bytes applied between two snapshot requests, at most.
  std::uint64_t snapshot_interval_bytes = 64 * limits::mib;
  // Entries kept in the log behind a durable snapshot, for followers a
  // little behind (they then need no snapshot).
  std::uint64_t snapshot_catchup_entries = 1'000;
  // Payload bytes of those catch-up entries, at most.
  std::uint64_t snapshot_catchup_bytes = 16 * limits::mib;
  // Entries held in memory, at most (see limits::log_entries_in_memory_max):
  // room for the catch-up entries, an interval and the uncommitted tail.
  std::uint64_t log_entries_in_memory = limits::log_entries_in_memory_max;
  // Payload bytes held in memory, at most (limits::log_bytes_in_memory_max).
  std::uint64_t log_bytes_in_memory = limits::log_bytes_in_memory_max;

  // The injected random source (see random_source); it draws the randomized
  // election timeouts. Required: validate() refuses a config without one.
  random_source random;

  // Test-only (see planted_bug).
  planted_bug bug = planted_bug::none;

  // Whether the config is usable; the error names the setting and the
  // problem.
  base::status validate() const;
};

}  // namespace ringchain::core
