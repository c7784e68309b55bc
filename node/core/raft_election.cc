// Elections: pre-votes, votes, and becoming a candidate or the leader.
#include <algorithm>

#include "node/base/assert.h"
#include "node/core/raft.h"

namespace ringchain::core {

using raftpb::MessageType;

void raft::become_pre_candidate() {
  // Pre-vote changes neither term nor vote (Raft thesis §9.6).
  RC_ASSERT(role_ != role::leader);
  std::fill(votes_.begin(), votes_.end(), 0);
  leader_ = 0;
  election_elapsed_ = 0;
  reset_election_timeout();
  role_ = role::pre_candidate;
  counters_.add(counter::pre_votes_started);
}

void raft::become_candidate() {
  RC_ASSERT(role_ != role::leader);
  reset(term_ + 1);
  vote_ = id_;
  role_ = role::candidate;
  counters_.add(counter::elections_started);
}

void raft::become_leader() {
  RC_ASSERT(role_ == role::candidate);
  reset(term_);
  role_ = role::leader;
  leader_ = id_;
  counters_.add(counter::terms_led);
  for (progress& pr : progress_) {
    pr.match = 0;
    pr.next = log_.last_index() + 1;
    pr.become_probe();
    pr.recent_active = true;
  }
  // The leader's own match counts only what its storage made durable.
  progress_for(id_).match = log_.durable();
  // An entry of the new term lets the leader commit entries of earlier
  // terms by counting replicas of a current-term entry (Raft §5.4.2, §8).
  // (The planted Figure-8 bug goes without it: the entry would mask it.)
  if (RC_PLANTED(cfg_.bug, commit_stale_term)) {
    pending_conf_ = log_.last_index();
    broadcast_append();
    return;
  }
  entry e;
  e.set_term(term_);
  e.set_index(log_.last_index() + 1);
  e.set_type(raftpb::ENTRY_EMPTY);
  append_own(std::move(e));
  // No membership change until every entry up to this one is applied: a
  // change left uncommitted by an earlier leader may still be in the log,
  // and single-server changes are safe only one at a time (and after the
  // leader commits an entry of its own term; Ongaro's fix of §4.1).
  pending_conf_ = log_.last_index();
  broadcast_append();
}

void raft::campaign() {
  if (role_ == role::leader || !may_campaign()) return;
  if (!cfg_.pre_vote) {
    start_election();
    return;
  }
  become_pre_candidate();
  broadcast_vote_requests(raftpb::MSG_PRE_VOTE, term_ + 1);
  // A pre-vote for oneself changes no state, so it counts at once.
  message self = make(raftpb::MSG_PRE_VOTE_RESPONSE, id_);
  self.set_term(term_ + 1);
  record_vote(self);
}

void raft::start_election() {
  become_candidate();
  broadcast_vote_requests(raftpb::MSG_VOTE, term_);
  // A vote for oneself counts only once term and vote are durable.
  respond(make(raftpb::MSG_VOTE_RESPONSE, id_));
}

void raft::broadcast_vote_requests(MessageType type, std::uint64_t term) {
  for (std::uint64_t peer : voters_) {
    if (peer == id_) continue;
    message m = make(type, peer);
    m.set_term(term);
    m.set_index(log_.last_index());
    m.set_log_term(log_.last_term());
    send(std::move(m));
  }
}

void raft::handle_vote_request(const message& m) {
  const bool is_pre = m.type() == raftpb::MSG_PRE_VOTE;
  // Raft §5.2: at most one vote per term, first come first served. A
  // pre-vote for a later term commits to nothing.
  const bool can_vote = vote_ == m.from() || (vote_ == 0 && leader_ == 0) ||
                        (is_pre && m.term() > term_) || RC_PLANTED(cfg_.bug, vote_twice);
  // Raft §5.4.1: only for a candidate whose log is at least as up-to-date.
  const bool grant = can_vote && (log_.is_up_to_date(m.index(), m.log_term()) ||
                                  RC_PLANTED(cfg_.bug, vote_without_log_check));
  message r = make(is_pre ? raftpb::MSG_PRE_VOTE_RESPONSE : raftpb::MSG_VOTE_RESPONSE, m.from());
  if (grant) {
    r.set_term(m.term());
    if (!is_pre) {
      vote_ = m.from();
      election_elapsed_ = 0;
    }
  } else {
    r.set_reject(true);
  }
  respond(std::move(r));
}

void raft::record_vote(const message& m) {
  const bool pre = role_ == role::pre_candidate;
  if (m.type() != (pre ? raftpb::MSG_PRE_VOTE_RESPONSE : raftpb::MSG_VOTE_RESPONSE)) {
    return;
  }
  std::int8_t& v = votes_[slot_.at(m.from())];
  if (v == 0) v = m.reject() ? -1 : 1;
  // Only voters count: a learner's answer is recorded and ignored.
  std::size_t granted = 0;
  std::size_t rejected = 0;
  for (std::uint64_t voter : voters_) {
    const std::int8_t answer = votes_[slot_.at(voter)];
    granted += answer == 1 ? 1 : 0;
    rejected += answer == -1 ? 1 : 0;
  }
  if (granted >= quorum()) {
    if (pre) {
      start_election();
    } else {
      become_leader();
    }
  } else if (rejected >= quorum()) {
    become_follower(term_, 0);
  }
}

void raft::step_candidate(const message& m) {
  switch (m.type()) {
    case raftpb::MSG_APPEND:
      become_follower(m.term(), m.from());
      handle_append(m);
      break;
    case raftpb::MSG_HEARTBEAT:
      become_follower(m.term(), m.from());
      handle_heartbeat(m);
      break;
    case raftpb::MSG_SNAPSHOT:
      become_follower(m.term(), m.from());
      handle_snapshot(m);
      break;
    case raftpb::MSG_PRE_VOTE_RESPONSE:
    case raftpb::MSG_VOTE_RESPONSE: record_vote(m); break;
    default: break;
  }
}

}  // namespace ringchain::core
