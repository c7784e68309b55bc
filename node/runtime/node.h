// The node: drives the consensus core's Ready loop with the block log, the
// peer and client connections, the chain and the clock, on one reactor.
//
// Per loop iteration: run the reactor once (network, disk and timer
// completions), then hand every Ready to its owners in the core's order:
// start the block log write (entries and hard state, one barrier), send the
// messages (the leader's appends leave in parallel with its own write),
// apply committed blocks to the ledger, advance. The block log's
// completion is fed back to the core as MSG_STORAGE_DONE; responses that
// depend on it leave in a later Ready.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "node/chain/ledger.h"
#include "node/chain/mempool.h"
#include "node/core/raft.h"
#include "node/io/reactor.h"
#include "node/net/frame.h"
#include "node/runtime/config.h"
#include "node/runtime/env.h"
#include "node/runtime/tcp_peers.h"
#include "node/runtime/verifier.h"
#include "node/storage/block_log.h"
#include "proto/node.pb.h"

namespace ringchain::runtime {

class node {
 public:
  // Opens the block log and recovers; on failure returns nullptr and sets
  // *error to a sentence for the operator.
  static std::unique_ptr<node> open(const node_config& cfg, std::string* error);
  // The same over the given seams (env.h); the simulator's entry point.
  static std::unique_ptr<node> open(const node_config& cfg, const node_env& env,
                                    std::string* error);
  ~node();

  // Runs until stop() or a fatal error; returns the process exit code.
  int run();
  // Asks run() to return after the current iteration (signal-safe).
  void stop() { stopping_ = 1; }

  // For a loop driven from outside (the simulator), which runs the
  // reactor's callbacks itself: what run() does after each reactor
  // iteration (hand out every Ready, notice leadership changes, write the
  // block trace).
  void process();
  // A consensus message from a peer; an error when it is refused.
  core::input_error receive(const core::message& m);
  // A client's submit request; `reply` gets its response, once.
  void submit(nodepb::ClientRequest req, std::function<void(const nodepb::ClientResponse&)> reply);
  // True once stop() was called or a fatal error stopped the node.
  bool stopped() const { return stopping_ != 0; }
  int exit_code() const { return exit_code_; }
  // Why a fatal error stopped the node; empty otherwise.
  const std::string& failure() const { return failure_; }
  const core::raft& consensus() const { return *raft_; }
  const chain::ledger& ledger() const { return ledger_; }

 private:
  struct inbound;
  struct pending_submit;
  struct block_timing;

  node(const node_config& cfg, const node_env& env);
  std::string start();
  void iterate();
  void handle_ready();
  void persist(core::ready& rd);
  void send(const core::message& m);
  void apply(const core::entry& e);
  void settle(const chain::transaction& tx, std::uint64_t height, bool applied);
  void on_tick();
  void on_round();
  bool propose_block();
  std::pair<std::uint64_t, chain::hash> last_block_in_log();
  void on_leader_change();

  void accept(int fd);
  void read_frames(inbound& c, std::span<const char> bytes);
  void on_client_frame(inbound& c, std::string_view body);
  void handle_submit(std::unique_ptr<pending_submit> submit, nodepb::ClientRequest& req);
  void respond(pending_submit& submit);
  void on_verified(verify_job&& job);
  void finish_submit_if_done(pending_submit* submit);
  void reply(inbound& c, const nodepb::ClientResponse& r);
  void close_inbound(inbound& c, const std::string& why);
  void fill_status(nodepb::NodeStatus* s) const;
  void record_ack(const core::message& m);
  void flush_block_timings(bool all);
  void write_block_timing(std::uint64_t index, const block_timing& t);
  void fatal(const std::string& message);

  node_config cfg_;
  node_env env_;
  std::unique_ptr<io::reactor> own_reactor_;
  io::reactor* reactor_ = nullptr;
  std::unique_ptr<storage::block_log> log_;
  std::unique_ptr<core::raft> raft_;
  std::uint64_t random_state_;
  chain::ledger ledger_;
  chain::mempool mempool_;
  std::unique_ptr<verifier> verifier_;

  io::timer tick_timer_;
  io::timer round_timer_;
  std::unique_ptr<tcp_peers> tcp_;
  peer_transport* transport_ = nullptr;
  int client_listen_fd_ = -1;
  std::unique_ptr<io::listener> client_listener_;
  std::map<inbound*, std::unique_ptr<inbound>> inbound_;

  // Submissions waiting for their transactions to commit, by tx hash.
  std::unordered_map<std::string, std::pair<pending_submit*, int>> waiting_txs_;
  // Submissions by arrival number (an order that does not depend on
  // addresses, so the simulator replays them alike).
  std::map<std::uint64_t, std::unique_ptr<pending_submit>> submits_;
  std::uint64_t submits_seen_ = 0;

  // Persist bookkeeping: when each write was handed to the log.
  std::uint64_t leader_seen_ = 0;
  std::uint64_t round_ = 0;
  std::uint64_t round_start_us_ = 0;
  std::uint64_t next_round_us_ = 0;
  // The last block found in (or proposed to) the log: its entry's index and
  // term, its height and header hash.
  struct last_block {
    std::uint64_t index = 0, term = 0, height = 0;
    chain::hash hash{};
  } last_block_;
  std::map<std::uint64_t, block_timing> timings_;
  std::ofstream trace_;
  std::map<std::string, std::uint64_t> counters_;
  volatile int stopping_ = 0;
  int exit_code_ = 0;
  std::string failure_;
};

}  // namespace ringchain::runtime
