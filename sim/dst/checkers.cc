#include "sim/dst/checkers.h"

#include <algorithm>
#include <functional>
#include <set>

namespace ringchain::dst {

namespace {

std::string str(std::uint64_t v) {
  return std::to_string(v);
}

}  // namespace

// ------------------------------------------------------------ safety --

safety_checkers::safety_checkers(std::uint32_t nodes, std::uint32_t voters) : seen_(nodes) {
  for (std::uint64_t v = 1; v <= voters; ++v) membership_.add_voters(v);
}

namespace {

std::string ids(const google::protobuf::RepeatedField<std::uint64_t>& list) {
  std::string out;
  for (std::uint64_t id : list) out += (out.empty() ? "" : " ") + std::to_string(id);
  return "{" + out + "}";
}

// The membership `c` with the change applied, computed here on its own
// (the checker does not trust the core's arithmetic).
raftpb::ConfState apply_change(const raftpb::ConfState& c, const raftpb::ConfChange& cc) {
  std::set<std::uint64_t> voters(c.voters().begin(), c.voters().end());
  std::set<std::uint64_t> learners(c.learners().begin(), c.learners().end());
  switch (cc.type()) {
    case raftpb::ConfChange::ADD_LEARNER: learners.insert(cc.node()); break;
    case raftpb::ConfChange::PROMOTE:
      learners.erase(cc.node());
      voters.insert(cc.node());
      break;
    case raftpb::ConfChange::REMOVE:
      learners.erase(cc.node());
      voters.erase(cc.node());
      break;
    default: break;
  }
  raftpb::ConfState out;
  for (std::uint64_t v : voters) out.add_voters(v);
  for (std::uint64_t l : learners) out.add_learners(l);
  return out;
}

// Whether some majority of voters `a` and some majority of voters `b` can
// be disjoint: the shared voters cannot serve both.
bool majorities_can_be_disjoint(const google::protobuf::RepeatedField<std::uint64_t>& a,
                                const google::protobuf::RepeatedField<std::uint64_t>& b) {
  const std::set<std::uint64_t> sa(a.begin(), a.end()), sb(b.begin(), b.end());
  std::size_t shared = 0;
  for (std::uint64_t v : sa) shared += sb.count(v);
  const std::size_t only_a = sa.size() - shared, only_b = sb.size() - shared;
  const std::size_t need_a = sa.size() / 2 + 1, need_b = sb.size() / 2 + 1;
  const std::size_t from_shared =
      (need_a > only_a ? need_a - only_a : 0) + (need_b > only_b ? need_b - only_b : 0);
  return from_shared <= shared;
}

}  // namespace

// A committed membership change, in log order: its resulting membership
// must follow from the one before it, and the two must share a voter in
// every pair of their majorities.
void safety_checkers::check_membership(std::uint64_t index, const std::string& data) {
  raftpb::ConfChange cc;
  if (!cc.ParseFromString(data))
    fail("committed entry " + str(index) + " is a membership change that does not parse");
  const raftpb::ConfState& got = cc.result();
  const raftpb::ConfState want = apply_change(membership_, cc);
  const std::string what = "the membership change at index " + str(index) + " (" +
                           raftpb::ConfChange::Type_Name(cc.type()) + " node " + str(cc.node()) +
                           ")";
  if (!std::equal(got.voters().begin(), got.voters().end(), want.voters().begin(),
                  want.voters().end()) ||
      !std::equal(got.learners().begin(), got.learners().end(), want.learners().begin(),
                  want.learners().end())) {
    fail("membership: " + what + " gives voters " + ids(got.voters()) + " and learners " +
         ids(got.learners()) + ", but the membership before it (voters " +
         ids(membership_.voters()) + ", learners " + ids(membership_.learners()) +
         ") with the change is voters " + ids(want.voters()) + " and learners " +
         ids(want.learners()) + ": two changes were in flight at once");
  }
  if (majorities_can_be_disjoint(membership_.voters(), got.voters())) {
    fail("membership: " + what + " goes from voters " + ids(membership_.voters()) + " to voters " +
         ids(got.voters()) +
         ": a majority of each can be disjoint, so two majorities of different configurations "
         "could decide");
  }
  membership_ = got;
}

void safety_checkers::check_node(std::uint32_t slot, std::uint64_t id, const runtime::node& n) {
  node_seen& s = seen_[slot];
  const core::raft& r = n.consensus();
  check_log(s, id, r.log());
  check_leader(s, id, r);
  check_commits(s, id, r);
  check_snapshot(s, id, n);
  check_chain(s, id, n.ledger());
}

// Log matching: entries with the same index and term hold the same data
// and follow the same term. Each node's log is compared from where it
// last changed, and only what it holds: entries it compacted, or that a
// snapshot replaced, are forgotten.
void safety_checkers::check_log(node_seen& s, std::uint64_t id, const core::raft_log& log) {
  const std::uint64_t first = log.first_index();
  const std::uint64_t last = log.last_index();
  while (!s.mirror.empty() && s.mirror_first < first) {
    s.mirror.pop_front();
    ++s.mirror_first;
  }
  if (s.mirror.empty()) s.mirror_first = first;
  std::uint64_t end = std::min(last + 1, s.mirror_first + s.mirror.size());
  while (end > s.mirror_first &&
         s.mirror[end - 1 - s.mirror_first].first != log.at(end - 1).term()) {
    --end;
  }
  s.mirror.resize(end - s.mirror_first);
  for (std::uint64_t i = end; i <= last; ++i) {
    const core::entry& e = log.at(i);
    const std::uint64_t data =
        std::hash<std::string>{}(e.data()) ^ static_cast<std::uint64_t>(e.type());
    const std::uint64_t prev = log.term(i - 1).value();
    auto [it, fresh] = entries_.emplace(std::make_pair(i, e.term()), fingerprint{data, prev});
    if (!fresh && (it->second.data != data || it->second.prev_term != prev)) {
      fail("log matching: entry " + str(i) + " of term " + str(e.term()) + " on node " + str(id) +
           " differs from the same entry on another node");
    }
    s.mirror.emplace_back(e.term(), data);
  }
}

// Election safety: at most one leader per term. Leader completeness: a
// leader holds every entry committed in an earlier term (in its log, or
// below its compacted index, in its state). (A leader of an earlier term
// than the commit's may lack it: it can still win its old term from nodes
// that never heard of the later one.)
void safety_checkers::check_leader(node_seen& s, std::uint64_t id, const core::raft& r) {
  const core::status st = r.get_status();
  if (st.role != core::role::leader) return;
  auto [it, fresh] = leaders_.emplace(st.term, id);
  if (!fresh && it->second != id) {
    fail("two leaders in term " + str(st.term) + ": nodes " + str(it->second) + " and " + str(id));
  }
  // One membership change in flight at a time: a leader's log never holds
  // two changes above its commit index (the membership in force and the
  // committed one then differ by one server, and their majorities meet).
  std::uint64_t in_flight = 0;
  for (std::uint64_t k = r.log().last_index(); k > r.log().committed(); --k) {
    if (r.log().at(k).type() != raftpb::ENTRY_CONF_CHANGE) continue;
    if (in_flight != 0) {
      fail("membership: leader " + str(id) + " of term " + str(st.term) +
           " holds uncommitted membership changes at indexes " + str(k) + " and " + str(in_flight) +
           ": two changes were in flight at once");
    }
    in_flight = k;
  }
  if (s.led_term == st.term) return;
  s.led_term = st.term;
  const core::raft_log& log = r.log();
  for (auto c = committed_.lower_bound(log.first_index()); c != committed_.end(); ++c) {
    const std::uint64_t k = c->first;
    if (c->second.term_seen >= st.term) continue;
    if (k > log.last_index() || s.mirror[k - s.mirror_first] != c->second.mark) {
      fail("committed entry " + str(k) + " (term " + str(c->second.mark.first) +
           ") is missing from node " + str(id) + ", leader of term " + str(st.term));
    }
  }
}

// Committed entries never change. (Entries a node got through a snapshot
// it never held; the snapshot checker covers them.)
void safety_checkers::check_commits(node_seen& s, std::uint64_t id, const core::raft& r) {
  const core::raft_log& log = r.log();
  const std::uint64_t c = log.committed();
  for (std::uint64_t k = std::max(s.checked_commit, log.compacted_index()) + 1; k <= c; ++k) {
    const entry_mark& mark = s.mirror[k - s.mirror_first];
    auto [it, fresh] = committed_.emplace(k, committed_entry{mark, r.get_status().term});
    if (!fresh && it->second.mark != mark) {
      fail("committed entry " + str(k) + " differs on node " + str(id) + " (term " +
           str(mark.first) + ", committed elsewhere with term " + str(it->second.mark.first) + ")");
    }
    if (fresh && log.at(k).type() == raftpb::ENTRY_NORMAL) committed_blocks_[k] = log.at(k).data();
    if (fresh && log.at(k).type() == raftpb::ENTRY_CONF_CHANGE) {
      committed_changes_[k] = log.at(k).data();
    }
  }
  s.checked_commit = std::max(s.checked_commit, c);
  replay_committed();
}

// Replays committed blocks in order as far as they were seen.
void safety_checkers::replay_committed() {
  for (auto it = committed_.find(reference_next_);
       it != committed_.end() && it->first == reference_next_; ++it, ++reference_next_) {
    if (auto change = committed_changes_.find(reference_next_);
        change != committed_changes_.end()) {
      check_membership(change->first, change->second);
      continue;
    }
    auto block = committed_blocks_.find(reference_next_);
    if (block == committed_blocks_.end()) continue;
    chain::block b;
    if (!b.ParseFromString(block->second)) fail("a committed entry does not hold a block");
    if (base::status st = reference_.apply(b); !st.ok()) {
      fail("replaying the committed chain: " + st.message());
    }
    reference_states_[reference_.height()] = reference_.state_hash();
  }
}

// A node restored from a snapshot has the state the committed chain has
// at the snapshot's height, replayed block by block.
void safety_checkers::check_snapshot(node_seen& s, std::uint64_t id, const runtime::node& n) {
  const chain::ledger::summary& snap = n.snapshot_state();
  if (snap.height == 0) return;
  if (snap.height == s.checked_snapshot_height && snap.state_hash == s.checked_snapshot_hash) {
    return;
  }
  auto it = reference_states_.find(snap.height);
  if (it == reference_states_.end()) return;  // the replay is behind: later
  s.checked_snapshot_height = snap.height;
  s.checked_snapshot_hash = snap.state_hash;
  if (it->second != snap.state_hash) {
    fail("node " + str(id) + " restored from a snapshot at height " + str(snap.height) +
         " holds another state than the committed chain replayed to that height");
  }
}

// Every node's chain and state agree at every height.
void safety_checkers::check_chain(node_seen& s, std::uint64_t id, const chain::ledger& l) {
  if (l.height() != s.checked_height && l.height() > 0) {
    const std::pair<chain::hash, chain::hash> here{l.tip(), l.state_hash()};
    auto [it, fresh] = chain_.emplace(l.height(), here);
    if (!fresh && it->second.first != here.first) {
      fail("block hashes differ at height " + str(l.height()) + " on node " + str(id));
    }
    if (!fresh && it->second.second != here.second) {
      fail("state hashes differ at height " + str(l.height()) + " on node " + str(id));
    }
  }
  s.checked_height = l.height();
}

// A node acknowledges only entries its disk holds. (An acknowledgement
// made in an earlier term may leave after a new leader replaced the
// entries it speaks of; it was true when made, and the old leader it goes
// to has lost its term.)
void safety_checkers::check_sent(std::uint64_t from_id, const runtime::node& from,
                                 const core::message& m) const {
  if (m.type() != raftpb::MSG_APPEND_RESPONSE || m.reject()) return;
  const core::raft& r = from.consensus();
  const std::uint64_t durable = r.log().durable();
  if (m.term() == r.get_status().term && m.index() > durable) {
    fail("node " + str(from_id) + " acknowledged entries up to " + str(m.index()) + " with only " +
         str(durable) + " durable");
  }
}

// ---------------------------------------------------------- liveness --

void liveness_checker::heal(time_ns now) {
  heal_at_ = now;
  live_by_ = now + static_cast<time_ns>(bound_s_ * 1e9);
}

namespace {

// Whether the last block the node applied was made at or after `wall_us`.
bool applied_block_since(const runtime::node& n, std::uint64_t wall_us) {
  return n.ledger().height() > 0 && n.ledger().tip_timestamp_us() >= wall_us;
}

}  // namespace

bool liveness_checker::check(const sim_core& core, const std::vector<node_view>& nodes) {
  const time_ns now = core.events.now();
  const std::uint64_t heal_wall = epoch_us + heal_at_ / 1000;
  bool all_new = true, all_tall = true;
  std::size_t healthy = 0;
  for (const node_view& v : nodes) {
    if (v.lost) continue;
    ++healthy;
    if (v.node == nullptr) {
      all_new = all_tall = false;
      continue;
    }
    all_new &= applied_block_since(*v.node, heal_wall);
    all_tall &= v.node->ledger().height() >= blocks_;
  }
  if (live_at_ == 0) {
    if (all_new) {
      live_at_ = now;
      end_by_ = now + (blocks_ * block_ms_ * ms_ns) * 3 + 10 * s_ns;
      core.note("liveness: every healthy node applied a new block");
    } else if (now >= live_by_) {
      fail("liveness: " + str(healthy) + " healthy nodes did not all apply a new block within " +
           std::to_string(static_cast<int>(bound_s_)) + " s of the heal (" + cluster_state(nodes) +
           ")");
    }
  }
  if (live_at_ != 0 && all_tall) return true;
  if (live_at_ != 0 && now >= end_by_) {
    fail("the chain stalled below " + str(blocks_) + " blocks after the heal (" +
         cluster_state(nodes) + ")");
  }
  return false;
}

std::string cluster_state(const std::vector<node_view>& nodes) {
  // Large clusters: the first nodes, and how many more.
  constexpr std::size_t shown_max = 9;
  std::string out;
  for (const node_view& v : nodes) {
    if (v.id > shown_max) {
      out += "; and " + str(nodes.size() - shown_max) + " more nodes";
      break;
    }
    if (!out.empty()) out += "; ";
    out += "node " + str(v.id);
    if (v.lost) {
      out += " lost";
      continue;
    }
    if (v.node == nullptr) {
      out += " down";
      continue;
    }
    const core::status st = v.node->consensus().get_status();
    out += std::string(" ") + core::to_string(st.role) + " term " + str(st.term) + " leader " +
           str(st.leader) + " commit " + str(st.committed) + "/" + str(st.last_index) +
           " durable " + str(st.durable) + " height " + str(v.node->ledger().height());
  }
  return out;
}

// ------------------------------------------------------------- acked --

void safety_checkers::check_acked(const std::vector<node_view>& nodes,
                                  const std::map<std::string, std::uint64_t>& acked,
                                  [[maybe_unused]] core::planted_bug bug) const {
  const node_view* best = nullptr;
  for (const node_view& v : nodes) {
    if (v.node != nullptr &&
        (best == nullptr || v.node->ledger().height() > best->node->ledger().height())) {
      best = &v;
    }
  }
  if (best == nullptr) return;
  // The committed chain from scratch, to the tallest node's height; which
  // transactions it applied (a block may carry some with stale nonces,
  // which every node skips): hash -> height.
  const std::uint64_t height = best->node->ledger().height();
  chain::ledger replayed;
  std::map<std::string, std::uint64_t> chain_txs;
  for (auto it = committed_blocks_.begin();
       it != committed_blocks_.end() && replayed.height() < height; ++it) {
    chain::block b;
    if (!b.ParseFromString(it->second)) fail("a committed entry does not hold a block");
    std::vector<int> skipped;
    if (base::status applied = replayed.apply(b, &skipped); !applied.ok()) {
      fail("replaying the committed chain: " + applied.message());
    }
    std::size_t next_skip = 0;
    for (int k = 0; k < b.txs_size(); ++k) {
      if (next_skip < skipped.size() && skipped[next_skip] == k) {
        ++next_skip;
        continue;
      }
      chain_txs[std::string(chain::as_bytes(chain::tx_hash(b.txs(k))))] = b.header().height();
    }
  }
  if (!RC_PLANTED(bug, diverge_state) &&
      replayed.state_hash() != best->node->ledger().state_hash()) {
    fail("replaying the committed chain gives another state than node " + str(best->id) + "'s");
  }
  for (const auto& [h, at] : acked) {
    auto it = chain_txs.find(h);
    if (it == chain_txs.end()) {
      fail("a transaction acknowledged as committed at height " + str(at) +
           " is not applied in the final chain");
    }
    if (it->second != at) {
      fail("a transaction acknowledged at height " + str(at) + " is in the final chain at height " +
           str(it->second));
    }
  }
}

}  // namespace ringchain::dst
