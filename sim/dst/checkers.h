// The simulator's checkers: what must hold of a cluster whatever faults it
// meets. Safety (checked after every event, or every 100 ms):
//
//   - at most one leader per term (election safety);
//   - entries with the same index and term hold the same data and follow
//     the same term (log matching);
//   - a committed entry never changes, and a leader holds every entry
//     committed in an earlier term (leader completeness);
//   - every node's chain and state hash agree at every height;
//   - a node restored from a snapshot (at start, or installed from the
//     leader) has the state hash the committed chain replayed to that
//     height has (snapshots);
//   - a node acknowledges only entries its disk holds (durability);
//   - membership: a leader's log never holds two uncommitted changes (one
//     change in flight at a time); each committed change's resulting
//     membership is the one before it with the change applied; and no
//     majority of one configuration can be disjoint from a majority of the
//     next (no two majorities of different configurations ever decide).
//
// Snapshots compact logs: the log checkers compare only what a node holds
// (its entries after its compacted index); what it compacted it holds in
// its state, which the chain, state and snapshot checkers watch. The
// checkers keep every committed block they saw, in order, and replay them
// as they come (the reference the snapshot checker compares with).
//
// At the end: the committed chain replays to the same state, and every
// transaction acknowledged to the client is in it at its height. After
// the heal: liveness (every healthy node applies a new block within the
// bound, then the chain reaches its length).
//
// A checker that fires calls fail(), which ends the run.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "node/chain/block.h"
#include "node/core/config.h"
#include "node/runtime/node.h"
#include "sim/dst/sim_core.h"

namespace ringchain::dst {

// A node as the run-wide checkers see it.
struct node_view {
  // The node's id (1..n).
  std::uint64_t id = 0;
  // The running node, or null while it is down.
  const runtime::node* node = nullptr;
  // Refused to start after a planted corruption: it stays down and counts
  // as neither healthy nor failed.
  bool lost = false;
};

// The safety checkers that watch each node's log, chain and messages.
// They keep what every node has shown so far (who led each term, each
// entry's fingerprint, the committed prefix, each height's hashes).
class safety_checkers {
 public:
  // Checkers for `nodes` node slots, of which the first `voters` are the
  // cluster's voters at the start (the rest join through changes).
  safety_checkers(std::uint32_t nodes, std::uint32_t voters);
  // The node in the slot restarted: what was checked of its log is
  // forgotten (a restarted node re-reads its log from disk).
  void restart(std::uint32_t slot) { seen_[slot] = {}; }
  // Checks the running node in the slot: leaders, its log, commits and
  // its chain.
  void check_node(std::uint32_t slot, std::uint64_t id, const runtime::node& n);
  // Durability: checks a message the node in slot `from` sends (an
  // acknowledgement of entries it does not hold durably fails).
  void check_sent(std::uint64_t from_id, const runtime::node& from, const core::message& m) const;
  // At the end of a run: replays the committed chain from scratch to the
  // tallest node's height (it must reach that node's state, unless `bug`
  // plants a divergence) and checks every acknowledged transaction (hash
  // -> height) is applied in it at the height it was acknowledged at.
  void check_acked(const std::vector<node_view>& nodes,
                   const std::map<std::string, std::uint64_t>& acked, core::planted_bug bug) const;

 private:
  // An entry's term and fingerprint (a hash of its data and type).
  using entry_mark = std::pair<std::uint64_t, std::uint64_t>;
  // What was checked of one node in its current incarnation.
  struct node_seen {
    // The marks of the entries it holds, from index mirror_first on, as
    // last checked.
    std::deque<entry_mark> mirror;
    std::uint64_t mirror_first = 1;
    std::uint64_t checked_commit = 0, checked_height = 0, led_term = 0;
    // The snapshot state last compared with the replayed chain.
    std::uint64_t checked_snapshot_height = 0;
    chain::hash checked_snapshot_hash{};
  };
  // One entry's data hash and the term of the entry before it.
  struct fingerprint {
    std::uint64_t data, prev_term;
  };
  // A committed entry: its mark, and the term it was first seen committed
  // in (at most the term it committed in).
  struct committed_entry {
    entry_mark mark;
    std::uint64_t term_seen;
  };
  void check_log(node_seen& s, std::uint64_t id, const core::raft_log& log);
  void check_leader(node_seen& s, std::uint64_t id, const core::raft& r);
  void check_commits(node_seen& s, std::uint64_t id, const core::raft& r);
  void check_snapshot(node_seen& s, std::uint64_t id, const runtime::node& n);
  void check_chain(node_seen& s, std::uint64_t id, const chain::ledger& l);
  void replay_committed();
  void check_membership(std::uint64_t index, const std::string& data);

  std::vector<node_seen> seen_;
  std::map<std::uint64_t, std::uint64_t> leaders_;                          // term -> node
  std::map<std::pair<std::uint64_t, std::uint64_t>, fingerprint> entries_;  // (index, term)
  std::map<std::uint64_t, committed_entry> committed_;                      // by index
  // The data of every committed block seen, by index.
  std::map<std::uint64_t, std::string> committed_blocks_;
  // The data of every committed membership change seen, by index, and the
  // membership the replay reached.
  std::map<std::uint64_t, std::string> committed_changes_;
  raftpb::ConfState membership_;
  std::map<std::uint64_t, std::pair<chain::hash, chain::hash>> chain_;  // height -> tip, state
  // The committed chain replayed as it is seen: the next index to replay,
  // and the state hash at each height.
  chain::ledger reference_;
  std::uint64_t reference_next_ = 1;
  std::map<std::uint64_t, chain::hash> reference_states_;
};

// Liveness after the heal: within `bound` every healthy node applies a
// block made after the heal; then, within a time the chain's length
// allows, every healthy node's chain reaches `blocks`.
class liveness_checker {
 public:
  // `block_ms` is the least time between blocks; `bound_s` the liveness
  // bound in seconds.
  liveness_checker(std::uint64_t blocks, std::uint64_t block_ms, double bound_s)
      : blocks_(blocks), block_ms_(block_ms), bound_s_(bound_s) {}
  // Faults stopped at `now`: the bound starts.
  void heal(time_ns now);
  // Checks the cluster at the core's time (its note() reports progress);
  // returns whether the run is over: every healthy node applied a new
  // block, and then reached `blocks`.
  bool check(const sim_core& core, const std::vector<node_view>& nodes);

 private:
  std::uint64_t blocks_, block_ms_;
  double bound_s_;
  time_ns heal_at_ = 0;
  time_ns live_by_ = 0;
  time_ns live_at_ = 0;
  time_ns end_by_ = 0;
};

// "node 1 leader term 6 commit 42/43 height 20; node 2 down; ...": for
// liveness failures (the first 9 nodes of a larger cluster, and a count
// of the others).
std::string cluster_state(const std::vector<node_view>& nodes);

}  // namespace ringchain::dst
