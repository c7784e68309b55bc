// Replication: proposals, appends and heartbeats, their answers, and
// advancing the commit index.
#include <algorithm>

#include "node/base/assert.h"
#include "node/core/raft.h"

namespace ringchain::core {

using raftpb::MessageType;

void raft::handle_append(const message& m) {
  message r = make(raftpb::MSG_APPEND_RESPONSE, m.from());
  if (m.index() < log_.committed()) {
    // Everything up to our commit index matches any leader's log; say so
    // and let the leader move on.
    r.set_index(log_.committed());
    respond(std::move(r));
    return;
  }
  // (The planted bug takes any previous entry as matching.)
  const std::uint64_t prev_term =
      RC_PLANTED(cfg_.bug, skip_prev_check) && m.index() <= log_.last_index()
          ? log_.term(m.index()).value_or(0)
          : m.log_term();
  const auto result = log_.maybe_append(m.index(), prev_term, m.entries(),
                                        cfg_.log_entries_in_memory, cfg_.log_bytes_in_memory);
  if (result.outcome == raft_log::append_result::code::appended) {
    // The memory bound may have cut the append short: acknowledge what was
    // taken, and the leader sends the rest later.
    const std::uint64_t last_new = result.last_match;
    if (last_new < m.index() + static_cast<std::uint64_t>(m.entries_size())) {
      counters_.add(counter::log_full);
    }
    // Raft §5.3: commit up to the leader's commit, but only within what is
    // known to match the leader.
    log_.commit_to(std::min(m.commit(), last_new));
    // Membership changes take effect as they enter the log.
    if (m.entries_size() > 0) note_appended(m.index() + 1, last_new);
    r.set_index(last_new);
    respond(std::move(r));
    return;
  }
  // step() refuses appends that conflict with a committed entry, and the
  // early return above covers appends below the commit index.
  RC_ASSERT(result.outcome == raft_log::append_result::code::mismatch);
  // Raft §5.3 with fast backtracking: point the leader at the last entry
  // that can match, skipping whole terms that cannot.
  const std::uint64_t hint =
      log_.find_conflict_by_term(std::min(m.index(), log_.last_index()), m.log_term());
  r.set_index(m.index());
  r.set_reject(true);
  r.set_reject_hint(hint);
  r.set_hint_term(log_.term(hint).value_or(0));
  respond(std::move(r));
}

void raft::handle_heartbeat(const message& m) {
  // The leader sends commit = min(its commit, our match), which lies in
  // the prefix known to match.
  log_.commit_to(std::min(m.commit(), log_.last_index()));
  // A heartbeat response claims nothing about durable state (no vote, no
  // entries), so it leaves at once, as in etcd-io/raft. Holding it behind
  // a slow write would make the leader's check-quorum see silence and step
  // down while the follower is only busy with its disk.
  send(make(raftpb::MSG_HEARTBEAT_RESPONSE, m.from()));
}

void raft::append_own(entry e) {
  const std::uint64_t index = e.index();
  log_.append(std::move(e));
  // The leader acknowledges its own entries like a follower would: only
  // after its storage reports them durable.
  message self = make(raftpb::MSG_APPEND_RESPONSE, id_);
  self.set_index(index);
  respond(std::move(self));
}

proposal raft::propose(std::string data) {
  proposal p;
  if (role_ != role::leader) {
    p.result = proposal::code::not_leader;
    p.leader = leader_;
    return p;
  }
  if (data.size() > cfg_.entry_bytes) {
    p.result = proposal::code::too_large;
    return p;
  }
  const std::uint64_t last = log_.last_index();
  const std::uint64_t committed = log_.committed();
  if (last - committed >= cfg_.uncommitted_entries ||
      log_.bytes_between(committed, last) + data.size() > cfg_.uncommitted_bytes) {
    p.result = proposal::code::busy;
    return p;
  }
  if (log_.size() >= cfg_.log_entries_in_memory ||
      log_.size_bytes() + data.size() > cfg_.log_bytes_in_memory) {
    // Until a snapshot lets the log be compacted.
    counters_.add(counter::log_full);
    p.result = proposal::code::busy;
    return p;
  }
  entry e;
  e.set_term(term_);
  e.set_index(last + 1);
  e.set_type(raftpb::ENTRY_NORMAL);
  e.set_data(std::move(data));
  append_own(std::move(e));
  broadcast_append();
  p.index = last + 1;
  p.term = term_;
  p.leader = id_;
  return p;
}

bool raft::send_append(std::uint64_t to, bool send_empty) {
  progress& pr = progress_for(to);
  if (pr.paused()) return false;
  if (pr.next <= log_.compacted_index()) {
    // The entries it needs are compacted: only a snapshot helps (Raft §7).
    send_snapshot(to);
    return false;
  }
  const std::uint64_t prev = pr.next - 1;
  message m = make(raftpb::MSG_APPEND, to);
  m.set_index(prev);
  m.set_log_term(log_.term(prev).value());
  m.set_commit(log_.committed());
  log_.slice(pr.next, cfg_.append_entries, cfg_.append_bytes, m.mutable_entries());
  if (m.entries_size() == 0 && !send_empty) return false;
  const std::uint64_t last = prev + m.entries_size();
  pr.sent(last, log_.bytes_between(prev, last));
  send(std::move(m));
  return true;
}

void raft::broadcast_append() {
  for (std::uint64_t peer : members_) {
    if (peer != id_) send_append(peer, true);
  }
}

void raft::broadcast_heartbeat() {
  for (std::size_t slot = 0; slot < members_.size(); ++slot) {
    const std::uint64_t peer = members_[slot];
    if (peer == id_) continue;
    message m = make(raftpb::MSG_HEARTBEAT, peer);
    m.set_commit(std::min(progress_[slot].match, log_.committed()));
    send(std::move(m));
  }
}

bool raft::maybe_commit() {
  std::vector<std::uint64_t> matches;
  // A leader that is not a voter (its removal is committed, not yet
  // applied) commits with the voters' matches alone.
  if (voters_.empty()) return false;
  matches.reserve(voters_.size());
  for (std::uint64_t v : voters_) matches.push_back(progress_[slot_.at(v)].match);
  std::nth_element(matches.begin(), matches.begin() + (quorum() - 1), matches.end(),
                   std::greater<>());
  const std::uint64_t q = matches[quorum() - 1];
  // Raft §5.4.2 (Figure 8): only an entry of the current term is committed
  // by counting replicas; earlier entries commit with it.
  if (q <= log_.committed()) return false;
  if (log_.term(q) != term_ && !RC_PLANTED(cfg_.bug, commit_stale_term)) return false;
  log_.commit_to(q);
  return true;
}

void raft::handle_append_response(const message& m) {
  progress& pr = progress_for(m.from());
  pr.recent_active = true;
  if (m.reject()) {
    std::uint64_t next = m.reject_hint() + 1;
    if (m.hint_term() > 0) {
      next = log_.find_conflict_by_term(m.reject_hint(), m.hint_term()) + 1;
    }
    if (pr.back_off(m.index(), next)) send_append(m.from(), true);
    return;
  }
  const bool was_paused = pr.paused();
  const bool moved = pr.acknowledge(m.index());
  // A departing node that holds its removal needs nothing more.
  if (auto d = departing_.find(m.from());
      d != departing_.end() && m.from() != id_ && pr.match >= d->second) {
    departing_.erase(d);
    set_membership(voters_, learners_);
    return;
  }
  if (pr.state == progress_state::snapshot) {
    // An answer to an append sent before the snapshot: keep waiting.
    if (pr.match < pr.pending_snapshot) return;
    pr.become_probe();
  }
  const bool probe_answered = pr.state == progress_state::probe && pr.match == m.index();
  if (!moved && !probe_answered) return;
  if (pr.state == progress_state::probe && m.from() != id_) {
    pr.become_replicate();
  }
  if (maybe_commit()) {
    // Followers learn the new commit index at once, so they apply without
    // waiting for the next heartbeat.
    broadcast_append();
  } else if (m.from() != id_) {
    bool sent = false;
    while (send_append(m.from(), false)) sent = true;
    // A follower that was paused may have missed the latest commit index
    // while it was; an empty append tells it.
    if (!sent && was_paused) send_append(m.from(), true);
  }
}

void raft::handle_heartbeat_response(const message& m) {
  progress& pr = progress_for(m.from());
  pr.recent_active = true;
  pr.probe_sent = false;
  // The follower is alive; if the window is full, an append was probably
  // lost, so make room for one more.
  if (pr.window.full()) pr.window.free_first();
  // Send even when nothing new is due: an empty append at `next` makes a
  // follower that lost appends (a restart, a dropped message) reject, and
  // the rejection starts the repair.
  if (pr.match < log_.last_index()) send_append(m.from(), true);
}

}  // namespace ringchain::core
