#include "tests/support/core_cluster.h"

#include <algorithm>
#include <sstream>

#include "node/base/assert.h"

namespace ringchain::testing {

using core::entry;
using core::message;

std::uint64_t splitmix64::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

core_cluster::core_cluster(cluster_options opts) : opts_(opts) {}

core::config core_cluster::make_config(std::uint64_t id, splitmix64* random) const {
  core::config cfg;
  cfg.id = id;
  if (joining_.count(id) == 0) {
    for (const auto& [other, n] : nodes_) {
      if (joining_.count(other) == 0) cfg.voters.push_back(other);
    }
  }
  cfg.election_ticks = opts_.election_ticks;
  cfg.heartbeat_ticks = opts_.heartbeat_ticks;
  cfg.pre_vote = opts_.pre_vote;
  cfg.check_quorum = opts_.check_quorum;
  cfg.inflight_appends = opts_.inflight_appends;
  cfg.snapshot_interval_entries = opts_.snapshot_interval;
  cfg.snapshot_catchup_entries = opts_.snapshot_catchup;
  cfg.log_entries_in_memory = opts_.log_entries_in_memory;
  cfg.random = [random](std::uint64_t bound) { return random->uniform(bound); };
  return cfg;
}

void core_cluster::add_nodes(std::size_t n) {
  const std::uint64_t first = nodes_.empty() ? 1 : nodes_.rbegin()->first + 1;
  for (std::uint64_t id = first; id < first + n; ++id) nodes_[id];
  // Every node is (re)built so that all know the full voter set.
  for (auto& [id, node] : nodes_) {
    node.random = std::make_unique<splitmix64>(opts_.seed * 1000003 + id);
    node.raft = std::make_unique<core::raft>(make_config(id, node.random.get()));
  }
}

std::uint64_t core_cluster::add_joining_node() {
  const std::uint64_t id = nodes_.empty() ? 1 : nodes_.rbegin()->first + 1;
  joining_.insert(id);
  cluster_node& node = nodes_[id];
  node.random = std::make_unique<splitmix64>(opts_.seed * 1000003 + id);
  node.raft = std::make_unique<core::raft>(make_config(id, node.random.get()));
  return id;
}

core::proposal core_cluster::propose_conf_change(std::uint64_t id, raftpb::ConfChange::Type type,
                                                 std::uint64_t node) {
  raftpb::ConfChange cc;
  cc.set_type(type);
  cc.set_node(node);
  cc.set_peer_address("127.0.0.1:" + std::to_string(9000 + node));
  return raft(id).propose_conf_change(cc);
}

std::vector<std::uint64_t> core_cluster::ids() const {
  std::vector<std::uint64_t> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

void core_cluster::emit(const std::string& line) {
  if (trace) trace(line);
}

void core_cluster::tick(std::uint64_t id) {
  if (!nodes_.at(id).up) return;
  raft(id).tick();
  observe(id);
}

void core_cluster::campaign(std::uint64_t id) {
  raft(id).campaign();
  observe(id);
}

core::proposal core_cluster::propose(std::uint64_t id, std::string data) {
  core::proposal p = raft(id).propose(std::move(data));
  observe(id);
  return p;
}

std::string core_cluster::describe(const entry& e) {
  std::ostringstream s;
  s << e.term() << "/" << e.index();
  if (e.type() == raftpb::ENTRY_EMPTY) {
    s << " empty";
  } else {
    s << " \"" << e.data() << "\"";
  }
  return s.str();
}

std::string core_cluster::describe(const message& m) {
  std::ostringstream s;
  std::string type = raftpb::MessageType_Name(m.type());
  s << m.from() << "->" << m.to() << " " << type.substr(4) << " term=" << m.term();
  switch (m.type()) {
    case raftpb::MSG_APPEND:
      s << " log_term=" << m.log_term() << " index=" << m.index() << " commit=" << m.commit()
        << " entries=[";
      for (int i = 0; i < m.entries_size(); ++i) {
        s << (i ? ", " : "") << describe(m.entries(i));
      }
      s << "]";
      break;
    case raftpb::MSG_APPEND_RESPONSE:
      s << " index=" << m.index();
      if (m.reject()) {
        s << " reject hint=" << m.reject_hint() << " hint_term=" << m.hint_term();
      }
      break;
    case raftpb::MSG_VOTE:
    case raftpb::MSG_PRE_VOTE: s << " log_term=" << m.log_term() << " index=" << m.index(); break;
    case raftpb::MSG_HEARTBEAT: s << " commit=" << m.commit(); break;
    case raftpb::MSG_SNAPSHOT:
      s << " index=" << m.snapshot().index() << " snap_term=" << m.snapshot().term();
      break;
    default:
      if (m.reject()) s << " reject";
      break;
  }
  return s.str();
}

bool core_cluster::process_ready(std::uint64_t id) {
  cluster_node& n = nodes_.at(id);
  if (!n.up || !n.raft->has_ready()) return false;
  core::ready rd = n.raft->take_ready();
  if (rd.snapshot) {
    // The transfer made the snapshot durable before the core saw it.
    RC_ASSERT(n.received.meta.index() == rd.snapshot->index());
    if (trace)
      emit(std::to_string(id) + " install snapshot index=" + std::to_string(rd.snapshot->index()));
    n.applied = n.received.state;
    if (opts_.record) n.disk.snapshot = n.received;
  }
  if (rd.persist_seq != 0) {
    if (trace) {
      std::ostringstream s;
      s << id << " write seq=" << rd.persist_seq << " term=" << rd.hard_state->term()
        << " vote=" << rd.hard_state->vote() << " commit=" << rd.hard_state->commit();
      for (const entry& e : rd.entries) s << "\n  " << describe(e);
      emit(s.str());
    }
    n.writes.push_back({rd.persist_seq, rd.snapshot.has_value(), rd.hard_state,
                        opts_.record ? std::move(rd.entries) : std::vector<entry>{}});
  }
  for (message& m : rd.messages) {
    if (trace) emit("  send " + describe(m));
    network_.push_back(std::move(m));
  }
  for (const entry& e : rd.committed_entries) {
    if (trace) emit(std::to_string(id) + " apply " + describe(e));
    if (opts_.record) n.applied.push_back(e);
  }
  handle_snapshots(id, n, rd);
  n.raft->advance(rd);
  observe(id);
  return true;
}

// A snapshot the core asks for: the applied entries up to its index.
void core_cluster::handle_snapshots(std::uint64_t id, cluster_node& n, const core::ready& rd) {
  if (!rd.snapshot_request) return;
  const raftpb::SnapshotMeta& req = *rd.snapshot_request;
  if (trace) emit(std::to_string(id) + " snapshot index=" + std::to_string(req.index()));
  RC_ASSERT(!opts_.record || n.applied.size() == req.index());
  n.taking = snapshot_data{req, n.applied};
}

void core_cluster::persist_snapshot(std::uint64_t id, cluster_node& n) {
  if (!n.taking) return;
  snapshot_data snap = std::move(*n.taking);
  n.taking.reset();
  const std::uint64_t index = snap.meta.index();
  if (trace) emit(std::to_string(id) + " snapshot durable index=" + std::to_string(index));
  if (opts_.record && index > n.disk.snapshot.meta.index()) {
    // The log up to it leaves the disk (its segments, in a real node).
    n.disk.entries.erase(n.disk.entries.begin(), n.disk.entries.upper_bound(index));
    n.disk.snapshot = snap;
  }
  message done;
  done.set_type(raftpb::MSG_SNAPSHOT_DONE);
  done.set_from(id);
  done.set_to(id);
  *done.mutable_snapshot() = snap.meta;
  const core::input_error err = n.raft->step(done);
  if (err != core::input_error::none) {
    emit("snapshot completion refused: " + std::string(core::to_string(err)));
  }
}

void core_cluster::persist_write(std::uint64_t id, cluster_node& n, pending_write& w) {
  (void)id;
  if (w.reset) n.disk.entries.clear();
  if (w.hard_state) n.disk.hard_state = *w.hard_state;
  if (!w.entries.empty()) {
    n.disk.entries.erase(n.disk.entries.lower_bound(w.entries.front().index()),
                         n.disk.entries.end());
    for (entry& e : w.entries) n.disk.entries.emplace(e.index(), std::move(e));
  }
}

bool core_cluster::persist(std::uint64_t id) {
  cluster_node& n = nodes_.at(id);
  if (!n.up || (n.writes.empty() && !n.taking)) return false;
  persist_snapshot(id, n);
  while (!n.writes.empty()) {
    pending_write w = std::move(n.writes.front());
    n.writes.pop_front();
    persist_write(id, n, w);
    message done;
    done.set_type(raftpb::MSG_STORAGE_DONE);
    done.set_from(id);
    done.set_to(id);
    done.set_persist_seq(w.seq);
    done.set_persist_us(100);
    if (trace) emit(std::to_string(id) + " durable seq=" + std::to_string(w.seq));
    const core::input_error err = n.raft->step(done);
    if (err != core::input_error::none) {
      emit("storage completion refused: " + std::string(core::to_string(err)));
    }
  }
  observe(id);
  return true;
}

bool core_cluster::link_up(std::uint64_t from, std::uint64_t to) const {
  return cut_.count({from, to}) == 0 && nodes_.at(from).up && nodes_.at(to).up;
}

bool core_cluster::deliver(std::uint64_t id) {
  // Messages sent while delivering wait for the next call.
  std::vector<message> now;
  now.swap(network_);
  bool moved = false;
  for (message& m : now) {
    if (id != 0 && m.to() != id) {
      network_.push_back(std::move(m));
      continue;
    }
    moved = true;
    deliver_one(m);
  }
  return moved;
}

// A MSG_SNAPSHOT carries the sender's durable snapshot, as the runtime's
// transfer does; one that cannot arrive is reported failed to the sender.
bool core_cluster::deliver_snapshot(const message& m) {
  cluster_node& from = nodes_.at(m.from());
  if (!link_up(m.from(), m.to())) {
    if (from.up) {
      message status;
      status.set_type(raftpb::MSG_SNAPSHOT_STATUS);
      status.set_from(m.from());
      status.set_to(m.from());
      status.set_peer(m.to());
      status.set_reject(true);
      (void)from.raft->step(status);
    }
    return false;
  }
  RC_ASSERT(from.disk.snapshot.meta.index() == m.snapshot().index());
  nodes_.at(m.to()).received = from.disk.snapshot;
  return true;
}

void core_cluster::deliver_one(const message& m) {
  const bool snapshot_ok = m.type() != raftpb::MSG_SNAPSHOT || deliver_snapshot(m);
  if (!link_up(m.from(), m.to()) || !snapshot_ok) {
    if (trace) emit("  drop " + describe(m));
    return;
  }
  if (trace) emit("  recv " + describe(m));
  ++delivered_;
  const core::input_error err = raft(m.to()).step(m);
  if (err != core::input_error::none) {
    emit("  refused: " + std::string(core::to_string(err)));
  }
  observe(m.to());
}

void core_cluster::stabilize() {
  const std::vector<std::uint64_t> all = ids();
  for (bool moved = true; moved;) {
    moved = false;
    for (const auto id : all) moved |= process_ready(id);
    for (const auto id : all) moved |= persist(id);
    moved |= deliver();
  }
}

void core_cluster::partition(const std::vector<std::set<std::uint64_t>>& groups) {
  cut_.clear();
  for (std::size_t a = 0; a < groups.size(); ++a) {
    for (std::size_t b = 0; b < groups.size(); ++b) {
      if (a == b) continue;
      for (auto x : groups[a]) {
        for (auto y : groups[b]) cut_.insert({x, y});
      }
    }
  }
}

void core_cluster::drop_link(std::uint64_t from, std::uint64_t to) {
  cut_.insert({from, to});
}

void core_cluster::heal() {
  cut_.clear();
}

void core_cluster::crash(std::uint64_t id) {
  cluster_node& n = nodes_.at(id);
  n.up = false;
  n.writes.clear();
  n.taking.reset();
  std::erase_if(network_, [id](const message& m) { return m.to() == id; });
}

void core_cluster::restart(std::uint64_t id) {
  RC_ASSERT_MSG(opts_.record, "restart needs the recorded disks");
  cluster_node& n = nodes_.at(id);
  n.up = true;
  n.applied.clear();
  n.raft = std::make_unique<core::raft>(make_config(id, n.random.get()));
  // The application state is the snapshot's, then rebuilt from the log.
  // The entries after the snapshot count if they follow it (recovery.h).
  const raftpb::SnapshotMeta& snap = n.disk.snapshot.meta;
  std::vector<entry> after;
  auto at = n.disk.entries.find(snap.index());
  if (snap.index() == 0 || at == n.disk.entries.end() || at->second.term() == snap.term()) {
    for (auto it = n.disk.entries.upper_bound(snap.index());
         it != n.disk.entries.end() && it->first == snap.index() + after.size() + 1; ++it) {
      after.push_back(it->second);
    }
  }
  n.applied = n.disk.snapshot.state;
  n.raft->restore(n.disk.hard_state, std::move(after), snap.index(), snap);
  observe(id);
}

// Records leaders per term and every entry a node knows committed, and
// flags at once a second leader in a term or a committed entry that
// changed.
void core_cluster::observe(std::uint64_t id) {
  if (!opts_.record) return;
  const core::raft& r = raft(id);
  const core::status st = r.get_status();
  if (st.role == core::role::leader) {
    auto [it, inserted] = leader_of_term_.emplace(st.term, id);
    if (!inserted && it->second != id) {
      leader_violations_.push_back("two leaders in term " + std::to_string(st.term) + ": " +
                                   std::to_string(it->second) + " and " + std::to_string(id));
    }
  }
  // Records newly committed entries from the top down; the first one
  // already recorded is compared, and Log Matching (checked separately)
  // covers the entries below it.
  for (std::uint64_t i = st.committed; i > r.log().compacted_index(); --i) {
    const entry& e = r.log().at(i);
    auto [it, inserted] = committed_.emplace(i, e);
    if (inserted) {
      committed_voters_[i] = r.voters();
      continue;
    }
    if (it->second.term() != e.term() || it->second.data() != e.data()) {
      commit_violations_.push_back("node " + std::to_string(id) +
                                   " holds a different committed entry at " + std::to_string(i) +
                                   ": " + describe(e) + " instead of " + describe(it->second));
    }
    break;
  }
}

void core_cluster::check_log_matching(std::vector<std::string>& out) const {
  for (auto a = nodes_.begin(); a != nodes_.end(); ++a) {
    for (auto b = std::next(a); b != nodes_.end(); ++b) {
      const core::raft_log& la = a->second.raft->log();
      const core::raft_log& lb = b->second.raft->log();
      // Only what both hold: compacted entries are in their states.
      const std::uint64_t floor = std::max(la.compacted_index(), lb.compacted_index());
      std::uint64_t i = std::min(la.last_index(), lb.last_index());
      while (i > floor && la.at(i).term() != lb.at(i).term()) --i;
      // Raft §5.3 Log Matching: same index and term means identical
      // entries up to there.
      for (; i > floor; --i) {
        if (la.at(i).term() != lb.at(i).term() || la.at(i).data() != lb.at(i).data()) {
          out.push_back("log matching broken between " + std::to_string(a->first) + " and " +
                        std::to_string(b->first) + " at " + std::to_string(i));
          break;
        }
      }
    }
  }
}

void core_cluster::check_committed(std::vector<std::string>& out) const {
  for (const auto& [index, e] : committed_) {
    // A committed entry never vanishes: a quorum (of the voters of the
    // node that first saw it committed) holds it on disk.
    const std::vector<std::uint64_t>& voters = committed_voters_.at(index);
    const std::size_t quorum = voters.size() / 2 + 1;
    std::size_t holders = 0;
    const auto same = [&e](const entry& x) { return x.term() == e.term() && x.data() == e.data(); };
    for (const auto& [id, n] : nodes_) {
      if (std::find(voters.begin(), voters.end(), id) == voters.end()) continue;
      const auto it = n.disk.entries.find(index);
      const auto& snap = n.disk.snapshot;
      if ((it != n.disk.entries.end() && same(it->second)) ||
          (index <= snap.meta.index() && same(snap.state[index - 1]))) {
        ++holders;
      }
    }
    if (holders < quorum) {
      out.push_back("committed entry " + describe(e) + " is durable on only " +
                    std::to_string(holders) + " nodes");
    }
  }
  // Every node applies the same entries in the same order.
  for (const auto& [id, n] : nodes_) {
    for (std::size_t k = 0; k < n.applied.size(); ++k) {
      const entry& e = n.applied[k];
      auto it = committed_.find(k + 1);
      if (e.index() != k + 1 || it == committed_.end() || it->second.term() != e.term() ||
          it->second.data() != e.data()) {
        out.push_back("node " + std::to_string(id) + " applied " + describe(e) +
                      " as its entry number " + std::to_string(k + 1));
        break;
      }
    }
  }
}

std::vector<std::string> core_cluster::check_invariants() {
  RC_ASSERT_MSG(opts_.record, "the invariant checker needs recorded observations");
  for (const auto& id : ids()) observe(id);
  std::vector<std::string> out = leader_violations_;
  out.insert(out.end(), commit_violations_.begin(), commit_violations_.end());
  check_log_matching(out);
  check_committed(out);
  return out;
}

}  // namespace ringchain::testing
