#include "node/core/raft.h"

#include <algorithm>

#include "node/base/assert.h"

namespace ringchain::core {

using raftpb::MessageType;

const char* to_string(role r) {
  switch (r) {
    case role::follower: return "follower";
    case role::pre_candidate: return "pre-candidate";
    case role::candidate: return "candidate";
    case role::leader: return "leader";
  }
  return "?";
}

const char* to_string(counter c) {
  switch (c) {
    case counter::elections_started: return "elections_started";
    case counter::pre_votes_started: return "pre_votes_started";
    case counter::terms_led: return "terms_led";
    case counter::inputs_refused: return "inputs_refused";
    case counter::messages_dropped_outbox_full: return "messages_dropped_outbox_full";
    case counter::responses_dropped_held_full: return "responses_dropped_held_full";
    case counter::snapshots_requested: return "snapshots_requested";
    case counter::snapshots_sent: return "snapshots_sent";
    case counter::snapshots_installed: return "snapshots_installed";
    case counter::compactions: return "compactions";
    case counter::log_full: return "log_full";
    case counter::conf_changes_applied: return "conf_changes_applied";
    case counter::conf_changes_skipped: return "conf_changes_skipped";
    case counter::count_: break;
  }
  return "?";
}

const char* to_string(input_error e) {
  switch (e) {
    case input_error::none: return "none";
    case input_error::wrong_recipient: return "message addressed to another node";
    case input_error::unknown_sender: return "sender is not a member of this cluster";
    case input_error::local_only_type: return "local-only message type from the network";
    case input_error::unknown_type: return "unknown message type";
    case input_error::malformed: return "malformed message";
    case input_error::oversized_entry: return "entry above the size limit";
    case input_error::conflicts_committed: return "append conflicts with a committed entry";
  }
  return "?";
}

raft::raft(config cfg) : cfg_(std::move(cfg)), id_(cfg_.id) {
  const base::status valid = cfg_.validate();
  RC_ASSERT_MSG(valid.ok(), valid.message().c_str());
  set_membership(cfg_.voters, {});
  reset_election_timeout();
}

void raft::restore(const hard_state& hs, std::vector<entry> entries, std::uint64_t applied,
                   const raftpb::SnapshotMeta& snapshot) {
  RC_ASSERT(log_.last_index() == 0 && term_ == 0 && seq_handed_ == 0);
  term_ = term_handed_ = hs.term();
  vote_ = vote_handed_ = hs.vote();
  // A snapshot installed from a leader is durable before the hard state of
  // the term it came in: a crash between the two leaves a snapshot of a
  // later term. Adopting that term (without a vote) is what the lost
  // hard state said.
  if (snapshot.term() > term_) {
    term_ = snapshot.term();
    vote_ = 0;
  }
  snapshot_ = snapshot;
  log_.restore(snapshot.index(), snapshot.term(), std::move(entries), hs.commit(),
               std::max(applied, snapshot.index()));
  // The membership in force: the last change in the log, or the
  // snapshot's. (A recovered vote may name a node that is no longer, or
  // not yet, a member.)
  refresh_membership();
  RC_ASSERT(log_.last_term() <= term_);
  restored_ = hs.term() > 0;
}

// ---------------------------------------------------------------- ticks --

void raft::reset_election_timeout() {
  randomized_election_ticks_ =
      cfg_.election_ticks + static_cast<std::uint32_t>(cfg_.random(cfg_.election_ticks));
}

void raft::tick() {
  if (role_ == role::leader) {
    tick_leader();
    return;
  }
  if (++election_elapsed_ >= randomized_election_ticks_) {
    election_elapsed_ = 0;
    if (RC_PLANTED(cfg_.bug, no_campaign_after_restart) && restored_) return;
    // Learners and nodes outside the membership never campaign.
    if (may_campaign()) campaign();
  }
}

void raft::tick_leader() {
  ++heartbeat_elapsed_;
  if (++election_elapsed_ >= cfg_.election_ticks) {
    election_elapsed_ = 0;
    // Raft thesis §6.2: a leader that has not heard from a quorum within an
    // election timeout steps down, so that clients find the real leader.
    if (cfg_.check_quorum) {
      if (!quorum_active()) {
        become_follower(term_, 0);
        return;
      }
      for (std::size_t i = 0; i < members_.size(); ++i) {
        progress_[i].recent_active = members_[i] == id_;
      }
    }
  }
  if (heartbeat_elapsed_ >= cfg_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat();
  }
}

bool raft::quorum_active() const {
  std::size_t active = 0;
  for (std::uint64_t v : voters_) {
    if (v == id_ || progress_[slot_.at(v)].recent_active) ++active;
  }
  return active >= quorum();
}

// ----------------------------------------------------- role transitions --

void raft::reset(std::uint64_t term) {
  if (term != term_) {
    term_ = term;
    vote_ = 0;
  }
  leader_ = 0;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_election_timeout();
  std::fill(votes_.begin(), votes_.end(), 0);
  // Only a leader sends the log to departing nodes.
  if (!departing_.empty()) {
    departing_.clear();
    set_membership(voters_, learners_);
  }
}

void raft::become_follower(std::uint64_t term, std::uint64_t leader) {
  reset(term);
  role_ = role::follower;
  leader_ = leader;
}

// ------------------------------------------------------------- messages --

message raft::make(MessageType type, std::uint64_t to) const {
  message m;
  m.set_type(type);
  m.set_from(id_);
  m.set_to(to);
  m.set_term(term_);
  return m;
}

void raft::send(message m) {
  if (outbox_.size() >= limits::outbox_messages_max) {
    counters_.add(counter::messages_dropped_outbox_full);
    return;
  }
  outbox_.push_back(std::move(m));
}

bool raft::term_or_vote_unhanded() const {
  return term_ != term_handed_ || vote_ != vote_handed_;
}

std::uint64_t raft::seq_for_current_state() const {
  const bool unhanded =
      log_.has_unhanded() || term_or_vote_unhanded() || pending_install_.has_value();
  return unhanded ? seq_handed_ + 1 : seq_handed_;
}

void raft::respond(message m) {
  const std::uint64_t seq = seq_for_current_state();
  const bool early = RC_PLANTED(cfg_.bug, ack_before_durable) && m.to() != id_ &&
                     m.type() == raftpb::MSG_APPEND_RESPONSE;
  if (seq <= seq_durable_ || early) {
    if (m.to() == id_) {
      step_checked(m);
    } else {
      send(std::move(m));
    }
    return;
  }
  // Successive acknowledgements to oneself waiting for the same write
  // collapse into the last one: it acknowledges everything before it.
  if (!held_.empty() && held_.back().seq == seq && m.to() == id_ && held_.back().msg.to() == id_ &&
      held_.back().msg.type() == raftpb::MSG_APPEND_RESPONSE &&
      m.type() == raftpb::MSG_APPEND_RESPONSE && held_.back().msg.term() == m.term()) {
    held_.back().msg.set_index(std::max(held_.back().msg.index(), m.index()));
    return;
  }
  if (held_.size() >= limits::held_messages_max) {
    counters_.add(counter::responses_dropped_held_full);
    return;
  }
  held_.push_back({seq, std::move(m)});
}

input_error raft::validate(const message& m) const {
  const MessageType t = m.type();
  if (t == raftpb::MSG_STORAGE_DONE) {
    return m.from() == id_ && m.to() == id_ ? input_error::none : input_error::local_only_type;
  }
  if (t == raftpb::MSG_SNAPSHOT_DONE || t == raftpb::MSG_SNAPSHOT_STATUS) {
    if (m.from() != id_ || m.to() != id_) return input_error::local_only_type;
    if (t == raftpb::MSG_SNAPSHOT_DONE && m.snapshot().index() == 0) return input_error::malformed;
    return input_error::none;
  }
  if (t < raftpb::MSG_PRE_VOTE || t > raftpb::MSG_SNAPSHOT) {
    return input_error::unknown_type;
  }
  if (m.to() != id_) return input_error::wrong_recipient;
  // A leader's messages and vote requests are taken from any node: a node
  // that has not yet applied the change that added the sender (or itself)
  // learns it from the leader, and must not refuse its vote to a voter its
  // membership does not list yet (the cluster could then never elect a
  // leader; the simulator found it). Granting such a vote is safe: a
  // candidate counts the votes of its own voters only. Answers must come
  // from a member: a leader keeps the progress of members only, and a
  // candidate counts their votes only.
  const bool open_to_all = t == raftpb::MSG_APPEND || t == raftpb::MSG_HEARTBEAT ||
                           t == raftpb::MSG_SNAPSHOT || t == raftpb::MSG_VOTE ||
                           t == raftpb::MSG_PRE_VOTE;
  if (m.from() == 0 || m.from() == id_ || (!open_to_all && slot_.count(m.from()) == 0)) {
    return input_error::unknown_sender;
  }
  if (t != raftpb::MSG_APPEND && m.entries_size() != 0) {
    return input_error::malformed;
  }
  if (t == raftpb::MSG_SNAPSHOT && (m.snapshot().index() == 0 || m.snapshot().term() > m.term() ||
                                    m.snapshot().conf().voters_size() == 0)) {
    return input_error::malformed;
  }
  if (t == raftpb::MSG_APPEND) {
    if (static_cast<std::size_t>(m.entries_size()) > limits::append_entries_max ||
        m.log_term() > m.term()) {
      return input_error::malformed;
    }
    std::uint64_t prev_term = m.log_term();
    for (int i = 0; i < m.entries_size(); ++i) {
      const entry& e = m.entries(i);
      if (e.index() != m.index() + 1 + static_cast<std::uint64_t>(i) || e.term() < prev_term ||
          e.term() > m.term()) {
        return input_error::malformed;
      }
      if (e.data().size() > cfg_.entry_bytes) return input_error::oversized_entry;
      prev_term = e.term();
    }
  }
  if (t == raftpb::MSG_APPEND_RESPONSE && m.term() == term_ && role_ == role::leader) {
    // Responses may only name indexes this leader has; the rejected index
    // of a rejection likewise.
    if (m.index() > log_.last_index() || m.reject_hint() > log_.last_index()) {
      return input_error::malformed;
    }
  }
  return input_error::none;
}

input_error raft::step(const message& m) {
  const input_error err = validate(m);
  if (err != input_error::none) {
    counters_.add(counter::inputs_refused);
    return err;
  }
  switch (m.type()) {
    case raftpb::MSG_STORAGE_DONE: storage_done(m); return input_error::none;
    case raftpb::MSG_SNAPSHOT_DONE: snapshot_done(m); return input_error::none;
    case raftpb::MSG_SNAPSHOT_STATUS: snapshot_status(m); return input_error::none;
    default: break;
  }
  if (m.type() == raftpb::MSG_APPEND && m.term() == term_ && role_ == role::leader) {
    // Two leaders in one term: only a faulty peer can cause it.
    counters_.add(counter::inputs_refused);
    return input_error::malformed;
  }
  if (m.type() == raftpb::MSG_APPEND && m.term() >= term_) {
    // An append that would overwrite a committed entry is refused whole
    // before it can change the term or the log.
    for (const entry& e : m.entries()) {
      if (e.index() > log_.committed()) break;
      // Compacted entries are committed here, and the snapshot holds them.
      if (e.index() <= log_.compacted_index()) continue;
      if (!log_.match_term(e.index(), e.term())) {
        counters_.add(counter::inputs_refused);
        return input_error::conflicts_committed;
      }
    }
  }
  step_checked(m);
  return input_error::none;
}

void raft::storage_done(const message& m) {
  RC_ASSERT_MSG(m.persist_seq() > seq_durable_ && m.persist_seq() <= seq_handed_,
                "storage completions must follow the Ready order");
  seq_durable_ = m.persist_seq();
  log_.mark_durable(seq_durable_);
  while (!held_.empty() && held_.front().seq <= seq_durable_) {
    message out = std::move(held_.front().msg);
    held_.pop_front();
    if (out.type() == raftpb::MSG_APPEND_RESPONSE && !out.reject()) {
      out.set_persist_us(m.persist_us());
    }
    if (out.to() == id_) {
      step_checked(out);
    } else {
      send(std::move(out));
    }
  }
}

// Applies the term rules of Raft §5.1 and the pre-vote / check-quorum
// refinements; returns false when the message is to be ignored.
bool raft::step_term(const message& m) {
  const MessageType t = m.type();
  const bool vote_request = t == raftpb::MSG_VOTE || t == raftpb::MSG_PRE_VOTE;
  if (m.term() > term_) {
    // Raft thesis §6.2 / §9.6: a node that heard from a leader within the
    // minimum election timeout ignores requests to replace it, so a node
    // rejoining from a partition cannot depose a working leader.
    if (vote_request && cfg_.check_quorum && leader_ != 0 &&
        election_elapsed_ < cfg_.election_ticks) {
      return false;
    }
    if (t == raftpb::MSG_PRE_VOTE) return true;
    if (t == raftpb::MSG_PRE_VOTE_RESPONSE && !m.reject()) return true;
    const bool from_leader =
        t == raftpb::MSG_APPEND || t == raftpb::MSG_HEARTBEAT || t == raftpb::MSG_SNAPSHOT;
    become_follower(m.term(), from_leader ? m.from() : 0);
    return true;
  }
  if (m.term() < term_) {
    if ((cfg_.check_quorum || cfg_.pre_vote) &&
        (t == raftpb::MSG_APPEND || t == raftpb::MSG_HEARTBEAT || t == raftpb::MSG_SNAPSHOT)) {
      // A stale leader (say, back from a partition) learns the new term
      // from this answer and steps down; without it, with pre-vote, the
      // cluster could wait on it forever.
      send(make(raftpb::MSG_APPEND_RESPONSE, m.from()));
    } else if (t == raftpb::MSG_PRE_VOTE) {
      message r = make(raftpb::MSG_PRE_VOTE_RESPONSE, m.from());
      r.set_reject(true);
      send(std::move(r));
    }
    return false;
  }
  return true;
}

void raft::step_checked(const message& m) {
  if (!step_term(m)) return;
  const MessageType t = m.type();
  if (t == raftpb::MSG_VOTE || t == raftpb::MSG_PRE_VOTE) {
    handle_vote_request(m);
    return;
  }
  switch (role_) {
    case role::leader: step_leader(m); break;
    case role::candidate:
    case role::pre_candidate: step_candidate(m); break;
    case role::follower: step_follower(m); break;
  }
}

void raft::step_follower(const message& m) {
  switch (m.type()) {
    case raftpb::MSG_APPEND:
      election_elapsed_ = 0;
      leader_ = m.from();
      handle_append(m);
      break;
    case raftpb::MSG_HEARTBEAT:
      election_elapsed_ = 0;
      leader_ = m.from();
      handle_heartbeat(m);
      break;
    case raftpb::MSG_SNAPSHOT:
      election_elapsed_ = 0;
      leader_ = m.from();
      handle_snapshot(m);
      break;
    default: break;
  }
}

void raft::step_leader(const message& m) {
  switch (m.type()) {
    case raftpb::MSG_APPEND_RESPONSE: handle_append_response(m); break;
    case raftpb::MSG_HEARTBEAT_RESPONSE: handle_heartbeat_response(m); break;
    default: break;
  }
}

// ------------------------------------------------------------- follower --

// --------------------------------------------------------------- leader --

// ---------------------------------------------------------------- ready --

bool raft::has_ready() const {
  return !outbox_.empty() || log_.has_unhanded() || term_or_vote_unhanded() ||
         log_.has_unapplied() || pending_install_.has_value();
}

ready raft::take_ready() {
  RC_ASSERT_MSG(!ready_outstanding_, "advance() the previous Ready first");
  ready rd;
  if (log_.has_unhanded() || term_or_vote_unhanded() || pending_install_) {
    rd.persist_seq = ++seq_handed_;
    rd.snapshot = std::move(pending_install_);
    pending_install_.reset();
    hard_state hs;
    hs.set_term(term_);
    hs.set_vote(vote_);
    hs.set_commit(log_.committed());
    rd.hard_state = hs;
    for (std::uint64_t i = log_.first_unhanded(); i <= log_.last_index(); ++i) {
      rd.entries.push_back(log_.at(i));
    }
    log_.mark_handed(rd.persist_seq);
    term_handed_ = term_;
    vote_handed_ = vote_;
  }
  rd.messages = std::move(outbox_);
  outbox_.clear();
  // A typical Ready carries a message or two per peer; reserving avoids
  // regrowing (and moving every message) on each Ready.
  outbox_.reserve(2 * progress_.size());
  const std::uint64_t bound = log_.apply_bound();
  for (std::uint64_t i = log_.applied() + 1; i <= bound; ++i) {
    rd.committed_entries.push_back(log_.at(i));
  }
  // A leader whose removal is now committed steps down (it told the
  // others the commit index in the messages above).
  step_down_if_removed();
  if (!rd.committed_entries.empty() && snapshot_requested_ == 0 && snapshot_due(bound)) {
    raftpb::SnapshotMeta& req = rd.snapshot_request.emplace();
    req.set_index(bound);
    req.set_term(log_.term(bound).value());
    *req.mutable_conf() = conf_at(bound);
    snapshot_requested_ = bound;
    counters_.add(counter::snapshots_requested);
  }
  ready_outstanding_ = true;
  ready_seq_ = rd.persist_seq;
  ready_applied_to_ = bound;
  return rd;
}

void raft::advance(const ready& rd) {
  RC_ASSERT_MSG(ready_outstanding_ && rd.persist_seq == ready_seq_,
                "advance() takes the Ready last taken");
  ready_outstanding_ = false;
  if (ready_applied_to_ > log_.applied()) log_.mark_applied(ready_applied_to_);
}

// --------------------------------------------------------------- status --

status raft::get_status() const {
  status s;
  s.id = id_;
  s.role = role_;
  s.term = term_;
  s.vote = vote_;
  s.leader = leader_;
  s.last_index = log_.last_index();
  s.committed = log_.committed();
  s.applied = log_.applied();
  s.durable = log_.durable();
  s.compacted = log_.compacted_index();
  s.snapshot_index = snapshot_.index();
  return s;
}

const progress* raft::progress_of(std::uint64_t id) const {
  if (role_ != role::leader) return nullptr;
  auto it = slot_.find(id);
  return it == slot_.end() ? nullptr : &progress_[it->second];
}

}  // namespace ringchain::core
