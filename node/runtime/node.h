// The node: drives the consensus core's Ready loop with the block log, the
// peer transport, the chain and the clock, on one reactor.
//
// Per loop iteration: run the reactor once (network, disk and timer
// completions), then hand every Ready to its owners in the core's order:
// start the block log write (entries and hard state, one barrier), send the
// messages (the leader's appends leave in parallel with its own write),
// apply committed blocks to the ledger, advance. The block log's
// completion is fed back to the core as MSG_STORAGE_DONE; responses that
// depend on it leave in a later Ready.
//
// The node owns its services: the client service (client_service.h: the
// client port, verification, answers), the block producer
// (block_producer.h: rounds and blocks), the block trace (block_trace.h:
// the leader's timing of each block), its snapshots (snapshots.h: loading,
// taking and keeping them) and their transfers to and from peers
// (snapshot_transfer.h).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "node/base/result.h"
#include "node/chain/ledger.h"
#include "node/chain/mempool.h"
#include "node/core/raft.h"
#include "node/io/reactor.h"
#include "node/net/framed_connection.h"
#include "node/net/http_server.h"
#include "node/net/tls.h"
#include "node/runtime/chain_index.h"
#include "node/runtime/clock_skew.h"
#include "node/runtime/config.h"
#include "node/runtime/counters.h"
#include "node/runtime/env.h"
#include "node/runtime/metrics.h"
#include "node/runtime/snapshot_transfer.h"
#include "node/runtime/snapshots.h"
#include "node/runtime/tx_index.h"
#include "node/runtime/verifier.h"
#include "node/storage/block_log.h"
#include "node/storage/block_store.h"
#include "proto/node.pb.h"

namespace ringchain::runtime {

class block_producer;
class block_trace;
class client_service;

// One ringchain node: the consensus core, the ledger and mempool, the
// block log, and the services around them, all on one reactor thread.
// Created by open(), driven by run() (or, in the simulator, by process()
// after the events the simulator runs).
class node {
 public:
  // Opens the block log, recovers, and starts listening (or, with a
  // simulated transport in `env`, only recovers).
  static base::result<std::unique_ptr<node>> open(const node_config& cfg, const node_env& env = {});
  // Destroys the node's parts and services (defined where their types are
  // complete).
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // Runs until stop() or a fatal error; returns the process exit code.
  int run();
  // Asks run() to return after the current iteration (signal-safe).
  void stop() { stopping_ = 1; }

  // For a loop driven from outside (the simulator), which runs the
  // reactor's callbacks itself: what run() does after each reactor
  // iteration (hand out every Ready, notice leadership changes, write the
  // block trace).
  void process();
  // A consensus message from a peer; an error when it is refused (the
  // core's input_error, or an append whose entries are not well-formed
  // blocks that chain).
  base::status receive(const core::message& m);
  // A client's submit request; `reply` gets its response, once.
  void submit(nodepb::ClientRequest req, std::function<void(const nodepb::ClientResponse&)> reply);
  // Proposes a membership change, as the admin port's request does (the
  // simulator drives changes so); the error says why it was refused.
  base::status change_membership(const raftpb::ConfChange& cc) { return propose_membership(cc); }
  // True once stop() was called or a fatal error stopped the node.
  bool stopped() const { return stopping_ != 0; }
  // 0, or 1 after a fatal error.
  int exit_code() const { return exit_code_; }
  // Why a fatal error stopped the node; empty otherwise.
  const std::string& failure() const { return failure_; }
  // The consensus core, for checkers.
  const core::raft& consensus() const { return *raft_; }
  // The state committed blocks built, for checkers.
  const chain::ledger& ledger() const { return ledger_; }
  // The snapshot the state was loaded from at start (index 0: none), for
  // checkers.
  const raftpb::SnapshotMeta& loaded_snapshot() const { return loaded_snapshot_; }
  // The last snapshot installed from a leader since start (index 0: none),
  // for checkers.
  const raftpb::SnapshotMeta& installed_snapshot() const { return installed_snapshot_; }
  // The state hash of the last snapshot loaded or installed, at its height
  // (what the snapshot checker compares with a replay of the chain).
  const chain::ledger::summary& snapshot_state() const { return snapshot_state_; }

 private:
  node(const node_config& cfg, const node_env& env);
  base::status start();
  base::status open_log();
  base::status start_consensus();
  base::status start_network();
  base::status hold_for_signatures(const core::message& m);
  void on_append_verified(verify_job&& job);
  base::status step(const core::message& m);
  void iterate();
  void handle_ready();
  void persist(core::ready& rd);
  void send(const core::message& m);
  void apply(const core::entry& e);
  void apply_conf_change(const core::entry& e);
  void follow_membership(const raftpb::ConfState& conf);
  // The core's conf_generation() the links last followed, and whether this
  // node was a member then.
  std::uint64_t conf_generation_seen_ = 0;
  bool member_ = false;
  base::status propose_membership(const raftpb::ConfChange& cc);
  void add_progress(nodepb::NodeStatus* s, std::uint64_t member, bool voter) const;
  void settle_and_index(const chain::block& b, const std::vector<int>& skipped);
  void install(const raftpb::SnapshotMeta& meta);
  void on_snapshot_taken(const raftpb::SnapshotMeta& meta);
  void compact_storage();
  base::status start_snapshots();
  void start_transfers();
  static const std::chrono::milliseconds block_flush_interval;
  // The core's snapshot settings and in-memory log bounds, from the node's.
  static void set_snapshot_bounds(const node_config& cfg, core::config* cc);
  void on_tick();
  void on_leader_change();
  void fill_status(nodepb::NodeStatus* s) const;
  void fill_counters(std::map<std::string, std::uint64_t>* out) const;
  base::status admin(const nodepb::AdminRequest& a);
  std::string scrape_metrics();
  base::status start_metrics();
  base::result<chain::block> find_block(std::uint64_t height) const;
  void on_flush_timer();
  // Starts writing the blocks applied since the last flush to the block
  // store (a failed write stops the node).
  void flush_blocks();
  void fatal(const std::string& message);
  std::uint64_t next_random(std::uint64_t bound);

  node_config cfg_;
  node_env env_;
  std::unique_ptr<io::reactor> own_reactor_;
  io::reactor* reactor_ = nullptr;
  std::unique_ptr<storage::block_log> log_;
  std::unique_ptr<core::raft> raft_;
  // Snapshots: this node's, and the transfers to and from its peers.
  std::unique_ptr<snapshots> snapshots_;
  std::unique_ptr<snapshot_sender> sender_;
  std::unique_ptr<snapshot_receiver> receiver_;
  // Committed blocks on disk, for queries after compaction; written in
  // batches on flush_timer_.
  std::unique_ptr<storage::block_store> blocks_;
  transfer_counts transfer_counts_;
  raftpb::SnapshotMeta loaded_snapshot_;
  raftpb::SnapshotMeta installed_snapshot_;
  chain::ledger::summary snapshot_state_;
  // xorshift64 state of the election randomness; never 0.
  std::uint64_t random_state_ = 1;
  chain::ledger ledger_;
  // Where the log's blocks are.
  chain_index index_;
  // The transactions of the newest applied blocks, by hash (lookups).
  tx_index txs_;
  chain::mempool mempool_;
  counters counters_;
  clock_skew skew_;
  // The connections' node-wide bounds, counters and refusals.
  net::node_budget budget_;
  // With verify_follower_signatures: the checks of appends' signatures,
  // and the peer messages held in arrival order behind them.
  std::unique_ptr<verifier> append_verifier_;
  struct held_input {
    core::message m;
    bool verifying = false;
    bool ok = true;
  };
  std::deque<held_input> held_inputs_;
  // Mutual TLS of the peer port (null: plain TCP).
  std::unique_ptr<net::tls_context> peer_tls_;
  std::unique_ptr<block_trace> trace_;
  std::unique_ptr<client_service> clients_;
  std::unique_ptr<block_producer> producer_;
  std::unique_ptr<net::tcp_peers> tcp_;
  std::unique_ptr<node_metrics> metrics_;
  std::unique_ptr<net::http_server> metrics_http_;
  peer_transport* transport_ = nullptr;
  io::timer tick_timer_;
  // Writes the blocks applied since the last flush to the block store.
  io::timer flush_timer_;
  // Who led when on_leader_change last looked (this node's id, or 0), and
  // the leader this node knew of then (any node's id, or 0).
  std::uint64_t leader_seen_ = 0;
  std::uint64_t known_leader_ = 0;
  volatile int stopping_ = 0;
  int exit_code_ = 0;
  std::string failure_;
};

}  // namespace ringchain::runtime
