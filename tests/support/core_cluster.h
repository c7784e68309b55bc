// An in-memory cluster of consensus cores for tests and benchmarks.
//
// Each node is a core::raft with a simulated disk: writes from a Ready stay
// pending until persist() makes them durable, and crash() loses whatever is
// pending. A node's application state is the list of entries it applied;
// a snapshot is that list up to the snapshot's index. Snapshots the core
// asks for become durable with the node's next persist(); a MSG_SNAPSHOT
// delivered carries the sender's durable snapshot, as the runtime's
// transfer would (a dropped one is reported failed to the sender's core). Messages wait in one
// network queue until deliver() hands them over, unless a partition or a dropped link discards
// them. Every step can be traced as text, which the scripted interaction tests compare with golden
// files.
//
// The cluster records what it observes (leaders per term, every committed
// entry) and check_invariants() verifies Raft's safety properties against
// those records; test fixtures call it on teardown.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "node/core/raft.h"

namespace ringchain::testing {

// A deterministic generator for the cores' injected randomness.
class splitmix64 {
 public:
  explicit splitmix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  std::uint64_t uniform(std::uint64_t bound) { return bound == 0 ? 0 : next() % bound; }

 private:
  std::uint64_t state_;
};

struct cluster_options {
  bool pre_vote = true;
  bool check_quorum = true;
  std::uint32_t election_ticks = 10;
  std::uint32_t heartbeat_ticks = 1;
  std::uint64_t seed = 1;
  // Lowers config bounds, to exercise the pipeline in tests.
  std::size_t inflight_appends = limits::inflight_appends_max;
  // Keeps disks, applied entries and the observations the invariant
  // checker needs. Benchmarks turn it off to measure the cores alone;
  // crash, restart and check_invariants need it on.
  bool record = true;
  // Snapshots every this many applied entries, keeping this many behind
  // (by default, never in a test's length), and the in-memory log bound.
  std::uint64_t snapshot_interval = limits::snapshot_interval_entries_max;
  std::uint64_t snapshot_catchup = limits::snapshot_catchup_entries_max;
  std::uint64_t log_entries_in_memory = limits::log_entries_in_memory_max;
};

// A snapshot: its metadata and the application state (the entries applied
// up to its index).
struct snapshot_data {
  raftpb::SnapshotMeta meta;
  std::vector<core::entry> state;
};

// What one node's disk holds durably: the hard state, the last snapshot,
// and the log entries by index.
struct durable_state {
  core::hard_state hard_state;
  snapshot_data snapshot;
  std::map<std::uint64_t, core::entry> entries;
};

struct pending_write {
  std::uint64_t seq = 0;
  // A snapshot install: the log restarts after it.
  bool reset = false;
  std::optional<core::hard_state> hard_state;
  std::vector<core::entry> entries;
};

struct cluster_node {
  std::unique_ptr<core::raft> raft;
  std::unique_ptr<splitmix64> random;
  durable_state disk;
  std::deque<pending_write> writes;
  // The snapshot asked for, durable at the next persist().
  std::optional<snapshot_data> taking;
  // The snapshot a delivered MSG_SNAPSHOT carried.
  snapshot_data received;
  // The application state: every entry applied, in order from index 1.
  std::vector<core::entry> applied;
  bool up = true;
};

class core_cluster {
 public:
  explicit core_cluster(cluster_options opts = {});

  // Adds n nodes; ids continue from the last one. All nodes know the full
  // voter set, so add every node before the cluster starts working.
  void add_nodes(std::size_t n);
  // Adds a node that joins the running cluster: it starts with no
  // membership and learns it from the leader once a change adds it.
  // Returns its id.
  std::uint64_t add_joining_node();

  std::vector<std::uint64_t> ids() const;
  cluster_node& node(std::uint64_t id) { return nodes_.at(id); }
  core::raft& raft(std::uint64_t id) { return *nodes_.at(id).raft; }

  void tick(std::uint64_t id);
  void campaign(std::uint64_t id);
  core::proposal propose(std::uint64_t id, std::string data);
  // Proposes a membership change at node `id`.
  core::proposal propose_conf_change(std::uint64_t id, raftpb::ConfChange::Type type,
                                     std::uint64_t node);

  // Takes and handles one Ready of a node: queues its write, puts its
  // messages on the network, applies its committed entries. Returns false
  // when the node had nothing ready.
  bool process_ready(std::uint64_t id);
  // Makes every pending write of a node durable and reports it.
  bool persist(std::uint64_t id);
  // Delivers every queued message addressed to `id` (all nodes when 0).
  bool deliver(std::uint64_t id = 0);
  // Repeats process_ready, persist and deliver on all nodes until nothing
  // moves.
  void stabilize();

  // Cuts links: nodes in different groups cannot talk.
  void partition(const std::vector<std::set<std::uint64_t>>& groups);
  void drop_link(std::uint64_t from, std::uint64_t to);
  void heal();

  // Stops a node, losing pending writes and queued messages to it.
  void crash(std::uint64_t id);
  // Starts a crashed node from its disk.
  void restart(std::uint64_t id);

  // Returns one line per violated safety property; empty when all hold.
  std::vector<std::string> check_invariants();

  // Receives a line per traced event; nothing is traced when unset.
  std::function<void(const std::string&)> trace;

  static std::string describe(const core::message& m);
  static std::string describe(const core::entry& e);

  std::uint64_t messages_delivered() const { return delivered_; }

 private:
  core::config make_config(std::uint64_t id, splitmix64* random) const;
  void emit(const std::string& line);
  void handle_snapshots(std::uint64_t id, cluster_node& n, const core::ready& rd);
  void persist_write(std::uint64_t id, cluster_node& n, pending_write& w);
  void persist_snapshot(std::uint64_t id, cluster_node& n);
  bool deliver_snapshot(const core::message& m);
  bool link_up(std::uint64_t from, std::uint64_t to) const;
  void deliver_one(const core::message& m);
  void observe(std::uint64_t id);
  void check_log_matching(std::vector<std::string>& out) const;
  void check_committed(std::vector<std::string>& out) const;

  cluster_options opts_;
  std::map<std::uint64_t, cluster_node> nodes_;
  // Nodes added by add_joining_node (they start with no membership).
  std::set<std::uint64_t> joining_;
  // For each committed index, the voters of the node that first saw it
  // committed: the entry must be durable on a majority of them.
  std::map<std::uint64_t, std::vector<std::uint64_t>> committed_voters_;
  std::vector<core::message> network_;
  std::set<std::pair<std::uint64_t, std::uint64_t>> cut_;
  std::uint64_t delivered_ = 0;

  // Observations for the invariant checker.
  std::map<std::uint64_t, std::uint64_t> leader_of_term_;
  std::vector<std::string> leader_violations_;
  std::map<std::uint64_t, core::entry> committed_;
  std::vector<std::string> commit_violations_;
};

}  // namespace ringchain::testing
