// Snapshots and log compaction (Raft §7), in etcd-io/raft's shape: the core
// asks the application for snapshots through the Ready and compacts its log
// when one is durable; a leader whose follower needs compacted entries sends
// MSG_SNAPSHOT (metadata only; the runtime moves the file); a follower that
// gets one installs it through the Ready.
#include <algorithm>

#include "node/base/assert.h"
#include "node/core/raft.h"

namespace ringchain::core {

bool raft::snapshot_due(std::uint64_t index) const {
  const std::uint64_t since = snapshot_.index();
  if (index <= since) return false;
  return index - since >= cfg_.snapshot_interval_entries ||
         log_.bytes_between(since, index) >= cfg_.snapshot_interval_bytes;
}

// The application made the requested snapshot durable: drop the log up to
// it, but for the catch-up entries a follower a little behind still reads.
void raft::snapshot_done(const message& m) {
  const raftpb::SnapshotMeta& s = m.snapshot();
  if (s.index() == snapshot_requested_) snapshot_requested_ = 0;
  // An install from the leader overtook it: its state is older.
  if (s.index() <= snapshot_.index()) return;
  RC_ASSERT_MSG(s.index() <= log_.applied() && log_.match_term(s.index(), s.term()),
                "MSG_SNAPSHOT_DONE names a snapshot the core asked for");
  snapshot_ = s;
  const std::uint64_t keep = std::min(cfg_.snapshot_catchup_entries, s.index());
  std::uint64_t to = std::max(log_.compacted_index(), s.index() - keep);
  while (to < s.index() && log_.bytes_between(to, s.index()) > cfg_.snapshot_catchup_bytes) ++to;
  if (to > log_.compacted_index()) {
    log_.compact(to);
    counters_.add(counter::compactions);
  }
  // A change in force that left the log is the snapshot's membership now.
  if (conf_index_ != 0 && conf_index_ <= log_.compacted_index()) conf_index_ = conf_term_ = 0;
}

// The runtime could not deliver (or finished delivering) the snapshot to a
// follower: probe it again once it answers a heartbeat (etcd-io/raft's
// ReportSnapshot).
void raft::snapshot_status(const message& m) {
  if (role_ != role::leader || slot_.count(m.peer()) == 0) return;
  progress& pr = progress_for(m.peer());
  if (pr.state != progress_state::snapshot) return;
  if (m.reject()) pr.pending_snapshot = 0;
  pr.become_probe();
  pr.probe_sent = true;
}

void raft::send_snapshot(std::uint64_t to) {
  RC_ASSERT_MSG(snapshot_.index() >= log_.compacted_index() && snapshot_.index() > 0,
                "a compacted log has a snapshot behind it");
  progress& pr = progress_for(to);
  message m = make(raftpb::MSG_SNAPSHOT, to);
  *m.mutable_snapshot() = snapshot_;
  pr.become_snapshot(snapshot_.index());
  counters_.add(counter::snapshots_sent);
  send(std::move(m));
}

// A snapshot from the leader (Raft §7, receiver): the runtime already
// holds its file durably.
void raft::handle_snapshot(const message& m) {
  const raftpb::SnapshotMeta& s = m.snapshot();
  message r = make(raftpb::MSG_APPEND_RESPONSE, m.from());
  if (s.index() <= log_.committed()) {
    // Nothing new: say how far this node is committed, as for an append.
    r.set_index(log_.committed());
    respond(std::move(r));
    return;
  }
  if (log_.match_term(s.index(), s.term())) {
    // The log holds the snapshot's last entry, so it matches the leader's
    // up to there (Log Matching): keep the entries after it and commit.
    log_.commit_to(s.index());
    r.set_index(s.index());
    respond(std::move(r));
    return;
  }
  // Otherwise the snapshot replaces the whole log.
  log_.install(s.index(), s.term());
  snapshot_ = s;
  conf_index_ = conf_term_ = 0;
  set_membership(s.conf());
  snapshot_requested_ = 0;
  pending_install_ = s;
  counters_.add(counter::snapshots_installed);
  r.set_index(s.index());
  respond(std::move(r));
}

}  // namespace ringchain::core
