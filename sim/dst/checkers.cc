#include "sim/dst/checkers.h"

#include <algorithm>
#include <functional>

namespace ringchain::dst {

namespace {

std::string str(std::uint64_t v) {
  return std::to_string(v);
}

}  // namespace

// ------------------------------------------------------------ safety --

void safety_checkers::check_node(std::uint32_t slot, std::uint64_t id, const runtime::node& n) {
  node_seen& s = seen_[slot];
  const core::raft& r = n.consensus();
  check_log(s, id, r.log());
  check_leader(s, id, r);
  check_commits(s, id, r);
  check_chain(s, id, n.ledger());
}

// Log matching: entries with the same index and term hold the same data
// and follow the same term. Each node's log is compared from where it
// last changed.
void safety_checkers::check_log(node_seen& s, std::uint64_t id, const core::raft_log& log) {
  const std::uint64_t last = log.last_index();
  std::uint64_t k = std::min<std::uint64_t>(last, s.mirror.size());
  while (k > 0 && s.mirror[k - 1].first != log.at(k).term()) --k;
  s.mirror.resize(k);
  for (std::uint64_t i = k + 1; i <= last; ++i) {
    const core::entry& e = log.at(i);
    const std::uint64_t data =
        std::hash<std::string>{}(e.data()) ^ static_cast<std::uint64_t>(e.type());
    const std::uint64_t prev = i > 1 ? log.at(i - 1).term() : 0;
    auto [it, fresh] = entries_.emplace(std::make_pair(i, e.term()), fingerprint{data, prev});
    if (!fresh && (it->second.data != data || it->second.prev_term != prev)) {
      fail("log matching: entry " + str(i) + " of term " + str(e.term()) + " on node " + str(id) +
           " differs from the same entry on another node");
    }
    s.mirror.emplace_back(e.term(), data);
  }
}

// Election safety: at most one leader per term. Leader completeness: a
// leader holds every entry committed in an earlier term. (A leader of an
// earlier term than the commit's may lack it: it can still win its old
// term from nodes that never heard of the later one.)
void safety_checkers::check_leader(node_seen& s, std::uint64_t id, const core::raft& r) {
  const core::status st = r.get_status();
  if (st.role != core::role::leader) return;
  auto [it, fresh] = leaders_.emplace(st.term, id);
  if (!fresh && it->second != id) {
    fail("two leaders in term " + str(st.term) + ": nodes " + str(it->second) + " and " + str(id));
  }
  if (s.led_term == st.term) return;
  s.led_term = st.term;
  const core::raft_log& log = r.log();
  for (std::uint64_t k = 1; k <= committed_.size(); ++k) {
    if (commit_terms_[k - 1] >= st.term) continue;
    if (k > log.last_index() || s.mirror[k - 1] != committed_[k - 1]) {
      fail("committed entry " + str(k) + " (term " + str(committed_[k - 1].first) +
           ") is missing from node " + str(id) + ", leader of term " + str(st.term));
    }
  }
}

// Committed entries never change.
void safety_checkers::check_commits(node_seen& s, std::uint64_t id, const core::raft& r) {
  const std::uint64_t c = r.log().committed();
  for (std::uint64_t k = s.checked_commit + 1; k <= c; ++k) {
    if (k <= committed_.size()) {
      if (committed_[k - 1] != s.mirror[k - 1]) {
        fail("committed entry " + str(k) + " differs on node " + str(id) + " (term " +
             str(s.mirror[k - 1].first) + ", committed elsewhere with term " +
             str(committed_[k - 1].first) + ")");
      }
    } else {
      committed_.push_back(s.mirror[k - 1]);
      // The term it committed in, at most: the term of the first node seen
      // to hold it committed.
      commit_terms_.push_back(r.get_status().term);
    }
  }
  s.checked_commit = std::max(s.checked_commit, c);
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
  const core::raft_log& log = n.consensus().log();
  for (std::uint64_t i = log.applied(); i >= 1; --i) {
    if (log.at(i).type() != raftpb::ENTRY_NORMAL) continue;
    chain::block b;
    return b.ParseFromString(log.at(i).data()) && b.header().timestamp_us() >= wall_us;
  }
  return false;
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

namespace {

// Replays the node's committed chain from scratch: it tells which
// transactions were applied (a block may carry some with stale nonces,
// which every node skips), hash -> height. The replayed ledger is left in
// `replayed`.
std::map<std::string, std::uint64_t> replay_chain(const runtime::node& n, chain::ledger& replayed) {
  std::map<std::string, std::uint64_t> chain_txs;
  const core::raft_log& log = n.consensus().log();
  for (std::uint64_t i = 1; i <= log.applied(); ++i) {
    if (log.at(i).type() != raftpb::ENTRY_NORMAL) continue;
    chain::block b;
    if (!b.ParseFromString(log.at(i).data())) continue;
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
  return chain_txs;
}

}  // namespace

void check_acked(const std::vector<node_view>& nodes,
                 const std::map<std::string, std::uint64_t>& acked,
                 [[maybe_unused]] core::planted_bug bug) {
  const node_view* best = nullptr;
  for (const node_view& v : nodes) {
    if (v.node != nullptr &&
        (best == nullptr || v.node->ledger().height() > best->node->ledger().height())) {
      best = &v;
    }
  }
  if (best == nullptr) return;
  chain::ledger replayed;
  const std::map<std::string, std::uint64_t> chain_txs = replay_chain(*best->node, replayed);
  if (!RC_PLANTED(bug, diverge_state) &&
      replayed.state_hash() != best->node->ledger().state_hash()) {
    fail("replaying the committed chain gives another state than node " + str(best->id) + "'s");
  }
  for (const auto& [h, height] : acked) {
    auto it = chain_txs.find(h);
    if (it == chain_txs.end()) {
      fail("a transaction acknowledged as committed at height " + str(height) +
           " is not applied in the final chain");
    }
    if (it->second != height) {
      fail("a transaction acknowledged at height " + str(height) +
           " is in the final chain at height " + str(it->second));
    }
  }
}

}  // namespace ringchain::dst
