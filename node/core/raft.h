// ringchain's consensus core: a pure Raft state machine in the shape of
// etcd-io/raft.
//
// The core never touches a socket, a file, a thread, a clock or a random
// generator of its own. It takes ticks, messages, proposals and storage
// completions, and hands back a `ready` batch of work. Time is counted in
// ticks given by the caller; randomness comes from config::random.
//
// # The Ready contract
//
// The caller drives the core in this loop, and the core asserts the order:
//
//     core.tick(); core.step(msg); core.propose(data);   // any number
//     if (core.has_ready()) {
//       ready rd = core.take_ready();
//       // 0. Install. If rd.snapshot is set, a snapshot from the leader
//       //    replaces this node's state and log: the runtime already holds
//       //    its file durably (it steps MSG_SNAPSHOT in only then); it
//       //    loads that state now and, with the write of step 1, records
//       //    that the log restarts after rd.snapshot->index().
//       // 1. Persist. If rd.persist_seq != 0, write rd.hard_state and
//       //    rd.entries as one write (entries replace any stored entries
//       //    from rd.entries.front().index on). The write may complete
//       //    later; when it is durable (after the barrier), feed back
//       //    MSG_STORAGE_DONE with persist_seq = rd.persist_seq. Writes
//       //    must be reported durable in persist_seq order.
//       // 2. Send rd.messages. They may leave before the write of step 1
//       //    is durable: none of them depends on unpersisted state. The
//       //    leader's appends go out in parallel with its own write (Raft
//       //    thesis §10.2.1); the leader counts itself toward a quorum only
//       //    once its own write is durable. Responses whose content depends
//       //    on unpersisted state (votes, append acknowledgements) are held
//       //    by the core and appear in a later Ready, after the
//       //    MSG_STORAGE_DONE that makes them true. A MSG_SNAPSHOT carries
//       //    only the snapshot's metadata: the runtime sends the file and,
//       //    if it cannot, reports MSG_SNAPSHOT_STATUS with reject.
//       // 3. Apply rd.committed_entries in order. They are committed on a
//       //    quorum and durable on this node.
//       // 4. Snapshot. If rd.snapshot_request is set, snapshot the state
//       //    as it is after step 3 (it is the state at
//       //    rd.snapshot_request->index()); once the snapshot is durable
//       //    feed back MSG_SNAPSHOT_DONE with it, and the core drops its
//       //    log up to there (keeping the catch-up entries). The core asks
//       //    for one snapshot at a time.
//       core.advance(rd);
//     }
//
// take_ready() asserts that the previous Ready was advanced; advance()
// asserts it gets the Ready last taken; a MSG_STORAGE_DONE asserts that its
// persist_seq was handed out and is reported in order.
//
// # Errors
//
// Everything that arrives from the network goes through step(), which
// returns an input_error for what it cannot accept (an unknown sender, a
// local-only type, an oversized entry, an index out of range) and changes
// nothing then. Stale messages are not errors: Raft ignores them by design.
// Broken invariants of the caller hit RC_ASSERT.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "node/base/counters.h"
#include "node/core/config.h"
#include "node/core/log.h"
#include "node/core/progress.h"
#include "proto/raft.pb.h"

namespace ringchain::core {

using message = raftpb::Message;
using hard_state = raftpb::HardState;

// A node's role in its current term. pre_candidate asks a pre-vote (Raft thesis
// §9.6) before it raises its term; candidate asks for real votes (Raft §5.2).
enum class role { follower, pre_candidate, candidate, leader };
// The role's name ("pre-candidate"), for status and logs.
const char* to_string(role r);

// Why step() refused a message. The message changed nothing.
enum class input_error {
  none,
  // The message is not addressed to this node.
  wrong_recipient,
  // An answer (to an append, a heartbeat or a vote) from a node that is
  // not a member of this cluster, or a message that claims to come from
  // this node or from node 0.
  unknown_sender,
  // MSG_STORAGE_DONE and other local types are never valid from a peer.
  local_only_type,
  unknown_type,
  // Entries not consecutive after `index`, terms out of order, an index
  // beyond this node's log in a response, too many entries.
  malformed,
  // An entry above config::entry_bytes.
  oversized_entry,
  // An append that would overwrite a committed entry; only a faulty peer
  // sends one.
  conflicts_committed,
};
// A sentence for the error, for logs ("none" for none).
const char* to_string(input_error e);

// A batch of work for the caller; see "The Ready contract" above.
struct ready {
  // Non-zero when hard_state and entries must be persisted.
  std::uint64_t persist_seq = 0;
  // A snapshot from the leader to install (step 0); persist_seq is then
  // set, and the write records that the log restarts after it.
  std::optional<raftpb::SnapshotMeta> snapshot;
  // The hard state (term, vote, commit) to persist with the entries; set
  // exactly when persist_seq is non-zero.
  std::optional<raftpb::HardState> hard_state;
  // Entries to persist: every entry not yet handed to storage, consecutive.
  // They replace any stored entries from the first one's index on.
  std::vector<entry> entries;
  // Messages to send; see step 2 of the contract for why they may leave before
  // the write is durable.
  std::vector<message> messages;
  // Entries to apply, in index order: committed on a quorum and durable on this
  // node.
  std::vector<entry> committed_entries;
  // Snapshot the state after committed_entries (step 4).
  std::optional<raftpb::SnapshotMeta> snapshot_request;
};

// Outcome of propose().
struct proposal {
  // The outcomes of propose().
  enum class code {
    accepted,
    // This node is not the leader; `leader` names the known one, or 0.
    not_leader,
    // The payload is above config::entry_bytes.
    too_large,
    // The uncommitted tail of the log is at its bound; retry later.
    busy,
    // propose_conf_change: a membership change is still being applied
    // (one at a time, Raft thesis §4.1), or the leader has not yet applied
    // every entry of earlier terms; retry later.
    change_in_progress,
    // propose_conf_change: the change does not fit the membership (adds a
    // member, promotes a voter, removes the last voter, names node 0).
    change_invalid,
    // propose_conf_change: the learner to promote is more than
    // limits::promote_lag_entries_max entries behind the leader's log.
    learner_behind,
  };
  // What became of the proposal; index, term and leader are set as the code
  // says.
  code result = code::accepted;
  // When accepted: the index the entry got in the leader's log.
  std::uint64_t index = 0;
  // When accepted: the term the entry was proposed in.
  std::uint64_t term = 0;
  // The leader: this node when accepted, the known leader (or 0) when
  // not_leader.
  std::uint64_t leader = 0;
};

// A snapshot of the node's consensus state, for status queries and tests.
struct status {
  // This node's id.
  std::uint64_t id = 0;
  // Its current role.
  core::role role = core::role::follower;
  // Its current term.
  std::uint64_t term = 0;
  // The node it voted for in the current term; 0 for none.
  std::uint64_t vote = 0;
  // The leader it knows for the current term; 0 for none.
  std::uint64_t leader = 0;
  // The index of its last log entry.
  std::uint64_t last_index = 0;
  // Its commit index.
  std::uint64_t committed = 0;
  // The highest index handed to the application.
  std::uint64_t applied = 0;
  // The highest index storage reported durable.
  std::uint64_t durable = 0;
  // The last index dropped from memory.
  std::uint64_t compacted = 0;
  // The index of the last durable snapshot.
  std::uint64_t snapshot_index = 0;
};

// Things worth counting that are not errors of the caller.
// What the core counted, exported by the node's status and metrics.
enum class counter : std::uint8_t {
  // Campaigns for a real vote (after a won pre-vote, or without pre-vote).
  elections_started,
  // Pre-vote rounds started (Raft thesis §9.6).
  pre_votes_started,
  // Terms in which this node became leader.
  terms_led,
  // Messages refused by step() as malformed or impossible (input_error).
  inputs_refused,
  // Messages dropped because the outbox held outbox_messages_max.
  messages_dropped_outbox_full,
  // Responses dropped because held_messages_max were waiting for storage.
  responses_dropped_held_full,
  // Snapshots asked of the application, sent to followers, installed from
  // a leader; log compactions.
  snapshots_requested,
  snapshots_sent,
  snapshots_installed,
  compactions,
  // Proposals refused and appends cut short at the in-memory log bound.
  log_full,
  // Membership changes applied, and committed ones that did not fit the
  // membership they met (only a faulty leader writes one) and were skipped.
  conf_changes_applied,
  conf_changes_skipped,
  count_,
};
// The counter's name ("terms_led"), as status and metrics export it.
const char* to_string(counter c);
using counters = base::counter_set<counter>;

// One node's Raft consensus state machine; see the top of this file for how the
// caller drives it (the Ready contract) and how it refuses input. It owns its
// log and the leader's progress of each follower, and changes only in the calls
// below.
class raft {
 public:
  // `cfg` must have passed config::validate(); the node starts as a
  // follower in term 0 with an empty log, unless restore() follows.
  explicit raft(config cfg);

  // Restarts from what storage recovered: the hard state, the snapshot the
  // application state was loaded from (index 0: none), every durable entry
  // after it, and how far the application has applied (at least the
  // snapshot's index). Call before anything else.
  void restore(const hard_state& hs, std::vector<entry> entries, std::uint64_t applied,
               const raftpb::SnapshotMeta& snapshot = {});

  // Advances logical time by one tick.
  void tick();

  // Feeds one message from a peer, or a local MSG_STORAGE_DONE.
  input_error step(const message& m);

  // Proposes a payload to append to the log; only the leader accepts.
  proposal propose(std::string data);

  // Proposes a membership change (Raft thesis §4.1, one server at a time):
  // only the leader accepts, one change at a time, and only once the last
  // change and its own term's first entry are committed. The change takes
  // effect on each node as soon as the entry is in its log, committed or
  // not (the thesis's rule; a truncated entry takes it back); a node
  // removed from the voters stops campaigning, and a leader removed steps
  // down once its removal is committed.
  proposal propose_conf_change(const raftpb::ConfChange& cc);

  // Starts an election now, as if the election timeout had elapsed.
  void campaign();

  // Whether there is work for the caller: messages, entries or a term or vote
  // to persist, or entries to apply.
  bool has_ready() const;
  // Takes the batch of work; asserts that the previous one was advanced.
  ready take_ready();
  // Tells the core that `rd`, the Ready last taken, is handled: its committed
  // entries count as applied. Persisting is reported separately
  // (MSG_STORAGE_DONE).
  void advance(const ready& rd);

  // A snapshot of the consensus state.
  status get_status() const;
  // What the core counted since it started.
  const counters& get_counters() const { return counters_; }
  // The log, read-only (the runtime finds its blocks there).
  const raft_log& log() const { return log_; }
  // This node's id.
  std::uint64_t id() const { return id_; }
  // The leader's view of a follower's replication; nullptr when not leader
  // or for an unknown id.
  const progress* progress_of(std::uint64_t id) const;
  // The last durable snapshot (index 0: none yet).
  const raftpb::SnapshotMeta& last_snapshot() const { return snapshot_; }
  // The membership as this node knows it: voters, learners and the
  // addresses of the members that joined through a change.
  raftpb::ConfState conf() const;
  // The voters, sorted.
  const std::vector<std::uint64_t>& voters() const { return voters_; }
  // The learners, sorted.
  const std::vector<std::uint64_t>& learners() const { return learners_; }
  // Whether `node` is a voter.
  bool is_voter(std::uint64_t node) const;
  // Whether `node` is a member: a voter or a learner.
  bool is_member(std::uint64_t node) const;
  // Leader: nodes removed from the membership that are still sent the log
  // until they hold their removal (so that they learn it and stop
  // campaigning), by id, with the index of the change that removed them.
  const std::map<std::uint64_t, std::uint64_t>& departing() const { return departing_; }
  // The index of the log entry whose membership is in force (0: the
  // snapshot's, or the configured one). The membership is committed once
  // the commit index reaches it.
  std::uint64_t conf_index() const { return conf_index_; }
  // The membership in force at `index` (at most the last index; not below
  // the compacted index unless it is the snapshot's).
  raftpb::ConfState conf_at(std::uint64_t index) const;
  // Counts every change of the membership in force (the runtime follows
  // it: links to new members, none to removed ones).
  std::uint64_t conf_generation() const { return conf_generation_; }

 private:
  // The durable-before-send ordering of one response.
  struct held_message {
    std::uint64_t seq;
    message msg;
  };

  input_error validate(const message& m) const;
  void step_checked(const message& m);
  bool step_term(const message& m);
  void step_leader(const message& m);
  void step_candidate(const message& m);
  void step_follower(const message& m);
  void storage_done(const message& m);

  void handle_vote_request(const message& m);
  void handle_append(const message& m);
  void handle_heartbeat(const message& m);
  void handle_append_response(const message& m);
  void handle_heartbeat_response(const message& m);
  void handle_snapshot(const message& m);
  void snapshot_done(const message& m);
  void snapshot_status(const message& m);
  void record_vote(const message& m);

  // Starts the real election once pre-vote (if enabled) has succeeded.
  void start_election();
  void become_follower(std::uint64_t term, std::uint64_t leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void reset(std::uint64_t term);
  void reset_election_timeout();
  void tick_leader();

  bool send_append(std::uint64_t to, bool send_empty);
  void send_snapshot(std::uint64_t to);
  // Whether applying up to `index` makes a snapshot due.
  bool snapshot_due(std::uint64_t index) const;
  void broadcast_append();
  void broadcast_heartbeat();
  void broadcast_vote_requests(raftpb::MessageType type, std::uint64_t term);
  bool maybe_commit();
  bool quorum_active() const;
  void append_own(entry e);

  // Queues a message that depends on nothing unpersisted.
  void send(message m);
  // Queues a response that may leave only when every state change made so
  // far is durable.
  void respond(message m);
  // The persist_seq that makes every state change so far durable.
  std::uint64_t seq_for_current_state() const;
  bool term_or_vote_unhanded() const;

  std::size_t quorum() const { return voters_.size() / 2 + 1; }
  // Replaces the membership, keeping the progress of members that stay.
  void set_membership(std::vector<std::uint64_t> voters, std::vector<std::uint64_t> learners);
  // Takes the membership from a snapshot's ConfState.
  void set_membership(const raftpb::ConfState& c);
  // Takes the membership of the ENTRY_CONF_CHANGE at `index` (appended to
  // this node's log).
  void adopt_conf(std::uint64_t index);
  // Finds the membership in force from the log, after entries were
  // replaced, restored or installed.
  void refresh_membership();
  // After entries (first..last) entered the log: the latest change among
  // them takes effect, and a change that was replaced is taken back.
  void note_appended(std::uint64_t first, std::uint64_t last);
  // A leader whose removal is committed steps down.
  void step_down_if_removed();
  // Whether this node may run for leader: a voter, or a voter of the
  // committed membership whose removal is not committed yet.
  bool may_campaign() const;
  // The membership before any entry of the log: the snapshot's, or the
  // configured voters.
  raftpb::ConfState base_conf() const;
  // The membership once `cc` (which check_conf_change admitted) applies.
  raftpb::ConfState changed(const raftpb::ConfChange& cc) const;
  // Whether a change's resulting membership is possible: voters, bounded
  // counts and address lengths, no node 0.
  static bool fits(const raftpb::ConfState& c);
  // Why `cc` does not fit the current membership (change_invalid), or none.
  proposal::code check_conf_change(const raftpb::ConfChange& cc) const;
  progress& progress_for(std::uint64_t id) { return progress_[slot_.at(id)]; }
  message make(raftpb::MessageType type, std::uint64_t to) const;

  config cfg_;
  std::uint64_t id_;
  // Voters and learners, each sorted; slot_ indexes both (voters first)
  // into progress_ and votes_.
  std::vector<std::uint64_t> voters_;
  std::vector<std::uint64_t> learners_;
  // Voters, learners, then departing nodes: members_[i] owns progress_[i]
  // and votes_[i].
  std::vector<std::uint64_t> members_;
  std::unordered_map<std::uint64_t, std::size_t> slot_;
  // Addresses of the members that joined through a change.
  std::map<std::uint64_t, raftpb::MemberAddress> addresses_;
  // Leader: no new change may be proposed until this index (the last
  // change, or the term's first entry) is committed.
  std::uint64_t pending_conf_ = 0;
  // The entry whose membership is in force, and its term (0: base_conf).
  std::uint64_t conf_index_ = 0;
  std::uint64_t conf_term_ = 0;
  std::uint64_t conf_generation_ = 0;
  // See departing().
  std::map<std::uint64_t, std::uint64_t> departing_;
  std::vector<progress> progress_;
  // Per voter slot: 0 no answer, 1 granted, -1 rejected.
  std::vector<std::int8_t> votes_;

  role role_ = role::follower;
  std::uint64_t term_ = 0;
  std::uint64_t vote_ = 0;
  std::uint64_t leader_ = 0;
  raft_log log_;

  std::uint32_t election_elapsed_ = 0;
  std::uint32_t heartbeat_elapsed_ = 0;
  std::uint32_t randomized_election_ticks_ = 0;

  std::vector<message> outbox_;
  std::deque<held_message> held_;
  // Persist sequence numbers: the last handed to storage, the last
  // reported durable.
  std::uint64_t seq_handed_ = 0;
  std::uint64_t seq_durable_ = 0;
  // Term and vote as last handed to storage.
  std::uint64_t term_handed_ = 0;
  std::uint64_t vote_handed_ = 0;
  // Started from a recovered hard state (planted_bug::no_campaign_after_restart).
  bool restored_ = false;

  // The last durable snapshot (taken here or installed from a leader).
  raftpb::SnapshotMeta snapshot_;
  // The index of the snapshot asked of the application and not yet
  // reported durable (0: none).
  std::uint64_t snapshot_requested_ = 0;
  // A snapshot installed from the leader, not yet handed to the caller.
  std::optional<raftpb::SnapshotMeta> pending_install_;

  bool ready_outstanding_ = false;
  std::uint64_t ready_seq_ = 0;
  std::uint64_t ready_applied_to_ = 0;

  counters counters_;
};

}  // namespace ringchain::core
