#include "node/runtime/node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "node/base/limits.h"
#include "node/chain/block.h"
#include "node/runtime/block_producer.h"
#include "node/runtime/block_trace.h"
#include "node/runtime/client_service.h"

namespace ringchain::runtime {

namespace fs = std::filesystem;

namespace {

// "1 2 3" ("none" for no ids).
std::string join_ids(const std::vector<std::uint64_t>& ids) {
  std::string out;
  for (std::uint64_t id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  return out.empty() ? "none" : out;
}

}  // namespace

const char* to_string(counter c) {
  switch (c) {
    case counter::blocks_proposed: return "blocks_proposed";
    case counter::blocks_refused_busy: return "blocks_refused_busy";
    case counter::blocks_applied: return "blocks_applied";
    case counter::txs_applied: return "txs_applied";
    case counter::txs_skipped_stale_nonce: return "txs_skipped_stale_nonce";
    case counter::txs_refused: return "txs_refused";
    case counter::leader_changes: return "leader_changes";
    case counter::snapshots_taken: return "snapshots_taken";
    case counter::snapshots_installed: return "snapshots_installed";
    case counter::count_: break;
  }
  return "?";
}

node::node(const node_config& cfg, const node_env& env)
    : cfg_(cfg),
      env_(env),
      txs_(cfg.tx_index_txs),
      mempool_(cfg.mempool_txs_max, limits::mempool_bytes_max),
      tick_timer_([this] { on_tick(); }),
      flush_timer_([this] { on_flush_timer(); }) {}

node::~node() {
  // The snapshot parts hold the ledger (an export under way ends in the
  // snapshots' destructor), and members go in reverse order of
  // declaration, the ledger before them: they go first.
  sender_.reset();
  receiver_.reset();
  snapshots_.reset();
}

base::result<std::unique_ptr<node>> node::open(const node_config& cfg, const node_env& env) {
  std::unique_ptr<node> n(new node(cfg, env));
  if (base::status s = n->start(); !s.ok()) return base::fail(s.message());
  return n;
}

base::status node::start() {
  reactor_ = env_.reactor;
  if (reactor_ == nullptr) {
    io::reactor_options opts;
    opts.sqpoll = cfg_.uring_sqpoll;
    base::result<std::unique_ptr<io::reactor>> r = io::reactor::create(cfg_.io, opts);
    if (!r.ok()) return r.to_status();
    own_reactor_ = std::move(*r);
    reactor_ = own_reactor_.get();
  }
  random_state_ = env_.random_seed != 0 ? env_.random_seed
                                        : cfg_.id * 0x9e3779b97f4a7c15ULL ^ reactor_->now_us();
  if (random_state_ == 0) random_state_ = 1;
  spdlog::info("node {}: reactor {}", cfg_.id, reactor_->describe());
  if (base::status s = open_log(); !s.ok()) return s;
  if (base::status s = start_consensus(); !s.ok()) return s;
  if (base::status s = start_network(); !s.ok()) return s;
  trace_ = std::make_unique<block_trace>(cfg_.id, cfg_.peers.size(), cfg_.round_deadline_ms);
  if (base::status s = trace_->open(fs::path(cfg_.data_dir) / "trace.jsonl"); !s.ok()) return s;
  if (base::status s = start_metrics(); !s.ok()) return s;
  node_parts parts{cfg_, *reactor_, *raft_, ledger_, mempool_, counters_, skew_};
  producer_ = std::make_unique<block_producer>(parts, env_, index_, *trace_, *clients_);
  reactor_->arm(tick_timer_, std::chrono::milliseconds(cfg_.tick_ms));
  reactor_->arm(flush_timer_, block_flush_interval);
  producer_->start();
  return {};
}

base::status node::open_log() {
  if (base::status s = start_snapshots(); !s.ok()) return s;
  storage::block_log_options lo;
  lo.dir = fs::path(cfg_.data_dir) / "log";
  lo.policy = cfg_.persistence;
  lo.segment_bytes = std::uint64_t{cfg_.segment_mib} * limits::mib;
  lo.barrier_delay = std::chrono::microseconds(cfg_.barrier_delay_us);
  lo.snapshot_index = loaded_snapshot_.index();
  lo.snapshot_term = loaded_snapshot_.term();
  base::result<std::unique_ptr<storage::block_log>> opened =
      storage::block_log::open(*reactor_, lo);
  if (!opened.ok()) return opened.to_status();
  log_ = std::move(*opened);
  const storage::recovered_log& rec = log_->recovered();
  if (rec.torn_bytes > 0) {
    spdlog::warn("node {}: dropped a torn final write of {} bytes at {} offset {}", cfg_.id,
                 rec.torn_bytes, rec.torn_file.string(), rec.torn_offset_bytes);
  }
  if (rec.dropped_entries > 0) {
    spdlog::warn(
        "node {}: dropped {} log entries after snapshot {} that do not follow it (the node "
        "stopped while installing it)",
        cfg_.id, rec.dropped_entries, loaded_snapshot_.index());
  }
  return {};
}

base::status node::start_consensus() {
  core::config cc;
  cc.id = cfg_.id;
  // A joining node learns the membership from the leader.
  if (!cfg_.join) {
    for (const auto& p : cfg_.peers) cc.voters.push_back(p.id);
  }
  cc.election_ticks = cfg_.election_ticks;
  cc.heartbeat_ticks = cfg_.heartbeat_ticks;
  node::set_snapshot_bounds(cfg_, &cc);
  cc.bug = env_.bug;
  cc.random = [this](std::uint64_t bound) { return next_random(bound); };
  if (base::status s = cc.validate(); !s.ok()) return s.with_context("consensus config");
  const storage::recovered_log& rec = log_->recovered();
  // (A recovered vote may name a node the configuration does not list: one
  // that joined through a membership change.)
  raft_ = std::make_unique<core::raft>(cc);
  const raftpb::SnapshotMeta& snap = loaded_snapshot_;
  index_.reset({snap.index(), snap.term(), ledger_.height(), ledger_.tip()});
  index_.record_log(rec.entries);
  // Blocks up to the snapshot were never applied here: the index starts
  // after it (committed entries after it are applied again).
  txs_.reset(ledger_.height());
  raft_->restore(rec.hard_state, rec.entries, snap.index(), snap);
  start_transfers();
  spdlog::info("node {}: recovered term {}, snapshot {} and {} entries after it ({} committed)",
               cfg_.id, rec.hard_state.term(), snap.index(), rec.entries.size(),
               rec.hard_state.commit());
  return {};
}

base::status node::start_network() {
  node_parts parts{cfg_, *reactor_, *raft_, ledger_, mempool_, counters_, skew_};
  client_service_hooks hooks;
  hooks.fill_status = [this](nodepb::NodeStatus* s) { fill_status(s); };
  hooks.admin = [this](const nodepb::AdminRequest& a) { return admin(a); };
  hooks.find_block = [this](std::uint64_t height) { return find_block(height); };
  hooks.recent_txs = [this]() -> const tx_index& { return txs_; };
  hooks.admitted = [this] {
    producer_->cut_full_blocks();
    handle_ready();
  };
  budget_.partial_bytes_max = std::uint64_t{cfg_.partial_frames_mib} * limits::mib;
  clients_ = std::make_unique<client_service>(parts, env_, budget_, std::move(hooks));
  if (cfg_.verify_follower_signatures) {
    append_verifier_ = std::make_unique<verifier>(
        *reactor_, [this](verify_job&& j) { on_append_verified(std::move(j)); },
        limits::verify_jobs_max, cfg_.verify_threads, env_);
  }
  transport_ = env_.transport;
  if (transport_ != nullptr) return {};
  if (cfg_.tls_enabled()) {
    auto tls = net::tls_context::load({cfg_.tls_ca, cfg_.tls_cert, cfg_.tls_key}, true);
    if (!tls.ok()) return tls.to_status();
    peer_tls_ = std::move(*tls);
    if (peer_tls_->own_node() != cfg_.id) {
      return base::fail("TLS: the certificate " + cfg_.tls_cert + " does not name this node (" +
                        net::certificate_name(cfg_.id) + ")");
    }
  } else {
    spdlog::warn(
        "node {}: the peer port runs without TLS: any process that reaches it can "
        "speak for a peer (set tls_ca, tls_cert and tls_key; scripts/make-certs.sh)",
        cfg_.id);
  }
  net::tcp_peers_config pc{cfg_.id, cfg_.listen_peer, cfg_.peers, peer_tls_.get(),
                           2 * cfg_.election_ticks * cfg_.tick_ms};
  // Members that joined through a change (from the snapshot this node
  // restored) are dialled too; changes applied later add theirs.
  const raftpb::ConfState conf = raft_->conf();
  for (const raftpb::MemberAddress& a : conf.addresses()) {
    const bool listed = std::any_of(pc.peers.begin(), pc.peers.end(),
                                    [&a](const peer_address& p) { return p.id == a.node(); });
    if (!listed) pc.peers.push_back({a.node(), a.peer_address(), a.client_address()});
  }
  tcp_ = std::make_unique<net::tcp_peers>(
      *reactor_, std::move(pc), [this](const core::message& m) { return receive(m); }, budget_);
  if (base::status s = tcp_->start(); !s.ok()) return s;
  follow_membership(conf);
  transport_ = tcp_.get();
  if (base::status s = clients_->listen(cfg_.listen_client); !s.ok()) return s;
  return clients_->listen_admin(cfg_.listen_admin);
}

// xorshift64: the election timeouts' randomness, seeded per node.
std::uint64_t node::next_random(std::uint64_t bound) {
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  return bound == 0 ? 0 : random_state_ % bound;
}

int node::run() {
  spdlog::info("node {}: serving peers on {}{}, clients on {} and the admin port on {}", cfg_.id,
               cfg_.listen_peer, peer_tls_ ? " (mutual TLS)" : "", cfg_.listen_client,
               cfg_.listen_admin);
  while (stopping_ == 0) iterate();
  // Let writes in flight finish, so a clean stop leaves no torn write.
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (log_->pending() > 0 && log_->failed() == 0 && std::chrono::steady_clock::now() < end) {
    reactor_->run_once(std::chrono::milliseconds(10));
  }
  trace_->flush(reactor_->now_us(), true);
  spdlog::info("node {}: stopped", cfg_.id);
  return exit_code_;
}

void node::iterate() {
  reactor_->run_once(std::chrono::milliseconds(cfg_.tick_ms));
  process();
}

void node::process() {
  handle_ready();
  on_leader_change();
  trace_->flush(reactor_->now_us(), false);
}

void node::fatal(const std::string& message) {
  spdlog::critical("node {}: {}", cfg_.id, message);
  if (failure_.empty()) failure_ = message;
  exit_code_ = 1;
  stopping_ = 1;
}

// ------------------------------------------------------------ the loop --

void node::handle_ready() {
  while (stopping_ == 0 && raft_->has_ready()) {
    core::ready rd = raft_->take_ready();
    // Links follow the membership in force before the Ready's messages
    // leave: a new learner's first append finds its link.
    if (raft_->conf_generation() != conf_generation_seen_) {
      conf_generation_seen_ = raft_->conf_generation();
      follow_membership(raft_->conf());
    }
    if (rd.snapshot) install(*rd.snapshot);
    if (rd.persist_seq != 0) persist(rd);
    for (const core::message& m : rd.messages) send(m);
    for (const core::entry& e : rd.committed_entries) apply(e);
    if (rd.snapshot_request) {
#ifdef RINGCHAIN_PLANTED_BUGS
      if (RC_PLANTED(env_.bug, snapshot_drops_nonces))
        ledger_.set_export_drops_nonces_for_testing();
#endif
      receiver_->drop_through(rd.snapshot_request->index());
      // The blocks the snapshot covers start to the block store now, so
      // that they are most likely durable before the snapshot is (a crash
      // between the two leaves them out of the store: "never held").
      flush_blocks();
      snapshots_->take(*rd.snapshot_request);
    }
    raft_->advance(rd);
  }
}

void node::persist(core::ready& rd) {
  const std::uint64_t now = reactor_->now_us();
  std::uint32_t txs = 0;
  for (const core::entry& e : rd.entries) {
    if (std::optional<std::uint64_t> n = trace_->write_submitted(e.index(), now)) {
      txs += static_cast<std::uint32_t>(*n);
    } else if (cfg_.persistence == storage::persistence::per_tx &&
               e.type() == raftpb::ENTRY_NORMAL) {
      // The per-transaction model needs the count to split the write.
      chain::block b;
      if (b.ParseFromString(e.data())) txs += static_cast<std::uint32_t>(b.txs_size());
    }
  }
  const std::uint64_t first = rd.entries.empty() ? 0 : rd.entries.front().index();
  const std::uint64_t last = rd.entries.empty() ? 0 : rd.entries.back().index();
  const std::uint64_t seq = rd.persist_seq;
  std::uint64_t bytes = 0;
  for (const core::entry& e : rd.entries) bytes += e.data().size();
  log_->append(
      rd.hard_state ? &*rd.hard_state : nullptr, rd.entries, txs,
      [this, seq, first, last, now, bytes](int result) {
        if (result != 0) {
          fatal(log_->failure_message());
          return;
        }
        const std::uint64_t done = reactor_->now_us();
        if (first != 0) trace_->barrier_done(first, last, done);
        if (metrics_) metrics_->observe_write(done - now, bytes);
        core::message m;
        m.set_type(raftpb::MSG_STORAGE_DONE);
        m.set_from(cfg_.id);
        m.set_to(cfg_.id);
        m.set_persist_seq(seq);
        m.set_persist_us(done - now);
        raft_->step(m);
      },
      rd.snapshot ? &*rd.snapshot : nullptr);
}

void node::send(const core::message& m) {
  if (m.type() == raftpb::MSG_SNAPSHOT) {
    // Only its metadata: the sender moves the file.
    sender_->start(m);
    return;
  }
  if (m.type() == raftpb::MSG_APPEND) {
    const std::uint64_t now = reactor_->now_us();
    for (const core::entry& e : m.entries()) trace_->sent(e.index(), m.to(), now);
  }
  transport_->send(m);
}

base::status node::receive(const core::message& m) {
  // Snapshot transfers go to their own modules, not the core.
  switch (m.type()) {
    case raftpb::MSG_SNAPSHOT_CHUNK: receiver_->on_chunk(m); return {};
    case raftpb::MSG_SNAPSHOT_ACK: sender_->on_ack(m); return {};
    case raftpb::MSG_SNAPSHOT:
      // A snapshot is stepped in by the receiver once its file is here.
      return base::fail("MSG_SNAPSHOT from node " + std::to_string(m.from()) +
                        " without its file (snapshots travel as chunks)");
    default: break;
  }
  // What a leader appends must be blocks that chain, checked before the
  // core or the chain sees them: a malformed entry is refused input, never
  // a process exit at apply.
  const bool append = m.type() == raftpb::MSG_APPEND && m.entries_size() > 0;
  if (append && m.term() >= raft_->get_status().term) {
    if (base::status s = index_.check_append(m, raft_->log()); !s.ok()) {
      return s.with_context("append from node " + std::to_string(m.from()));
    }
    if (append_verifier_) return hold_for_signatures(m);
  }
  if (!held_inputs_.empty()) return hold_for_signatures(m);
  return step(m);
}

base::status node::step(const core::message& m) {
  if (const core::input_error err = raft_->step(m); err != core::input_error::none) {
    return base::fail(core::to_string(err));
  }
  // Only an acknowledgement the core took marks the blocks acknowledged in
  // the trace.
  if (m.type() == raftpb::MSG_APPEND_RESPONSE && !m.reject()) {
    trace_->acked(m.from(), m.index(), m.persist_us(), reactor_->now_us());
  }
  return {};
}

// With verify_follower_signatures, an append waits for its signatures to be
// checked on the verifier's threads, and every peer message after it waits
// behind it, so the core sees them in arrival order.
base::status node::hold_for_signatures(const core::message& m) {
  if (held_inputs_.size() >= limits::held_inputs_max) {
    return base::fail("more than held_inputs_max messages wait for signature checks");
  }
  const bool check = append_verifier_ && m.type() == raftpb::MSG_APPEND && m.entries_size() > 0;
  held_inputs_.push_back({m, check, true});
  if (!check) return {};
  verify_job job;
  job.owner = &held_inputs_.back();
  for (const core::entry& e : m.entries()) {
    chain::block b;
    if (e.type() != raftpb::ENTRY_NORMAL || !b.ParseFromString(e.data())) continue;
    for (auto& tx : *b.mutable_txs()) job.txs.push_back(std::move(tx));
  }
  if (!append_verifier_->submit(std::move(job))) {
    held_inputs_.pop_back();
    return base::fail("the signature checks of appends are full");
  }
  return {};
}

void node::on_append_verified(verify_job&& job) {
  auto* held = static_cast<held_input*>(job.owner);
  held->verifying = false;
  for (chain::tx_error e : job.results) held->ok &= e == chain::tx_error::none;
  while (!held_inputs_.empty() && !held_inputs_.front().verifying) {
    const held_input& h = held_inputs_.front();
    if (!h.ok) {
      budget_.refusals().note(net::refusal::bad_signature,
                              "an append from node " + std::to_string(h.m.from()) +
                                  " carries a transaction whose signature does not verify",
                              reactor_->now_us());
    } else if (base::status s = step(h.m); !s.ok()) {
      budget_.refusals().note(
          net::refusal::bad_consensus_input,
          "a message from node " + std::to_string(h.m.from()) + " refused: " + s.message(),
          reactor_->now_us());
    }
    held_inputs_.pop_front();
  }
  handle_ready();
}

void node::apply(const core::entry& e) {
  const std::uint64_t committed_us = reactor_->now_us();
  if (e.type() == raftpb::ENTRY_CONF_CHANGE) {
    apply_conf_change(e);
    return;
  }
  if (e.type() != raftpb::ENTRY_NORMAL) return;
  chain::block b;
  if (!b.ParseFromString(e.data())) {
    fatal("committed entry " + std::to_string(e.index()) + " does not hold a block");
    return;
  }
#ifdef RINGCHAIN_PLANTED_BUGS
  if (RC_PLANTED(env_.bug, diverge_state) && cfg_.id == 2) {
    ledger_.set_value_suffix_for_testing("!");
  }
#endif
  std::vector<int> skipped;
  if (base::status s = ledger_.apply(b, &skipped); !s.ok()) {
    fatal("committed " + s.message());
    return;
  }
  blocks_->append(e.index(), b.header().height(), e.data());
  counters_.add(counter::blocks_applied);
  counters_.add(counter::txs_applied, static_cast<std::uint64_t>(b.txs_size()));
  counters_.add(counter::txs_skipped_stale_nonce, skipped.size());
  settle_and_index(b, skipped);
  trace_->applied(e.index(), committed_us, reactor_->now_us());
}

// Hashes every transaction of an applied block once, for the clients
// waiting for it (the leader's) and for the index of recent transactions
// (applied ones only). With neither, nothing is hashed.
void node::settle_and_index(const chain::block& b, const std::vector<int>& skipped) {
  const std::uint64_t height = b.header().height();
  const bool waiting = clients_->waiting();
  std::vector<chain::hash> applied;
  if (waiting || cfg_.tx_index_txs > 0) {
    applied.reserve(static_cast<std::size_t>(b.txs_size()));
    std::size_t next_skip = 0;
    for (int i = 0; i < b.txs_size(); ++i) {
      const bool skip = next_skip < skipped.size() && skipped[next_skip] == i;
      if (skip) ++next_skip;
      const chain::hash h = chain::tx_hash(b.txs(i));
      if (waiting) clients_->settle(h, height, !skip);
      if (!skip) applied.push_back(h);
    }
  }
  txs_.record(height, applied);
}

// A membership change is committed (it took effect on this node when it
// entered the log; the links followed then): the info log says it.
void node::apply_conf_change(const core::entry& e) {
  raftpb::ConfChange cc;
  if (!cc.ParseFromString(e.data())) return;
  const std::uint64_t n = cc.node();
  switch (cc.type()) {
    case raftpb::ConfChange::ADD_LEARNER:
      spdlog::info("node {}: membership: node {} joined as a learner (peers {}, clients {})",
                   cfg_.id, n, cc.peer_address(), cc.client_address());
      break;
    case raftpb::ConfChange::PROMOTE:
      spdlog::info("node {}: membership: node {} is a voter", cfg_.id, n);
      break;
    case raftpb::ConfChange::REMOVE:
      if (n == cfg_.id) {
        spdlog::info("node {}: membership: the removal of this node is committed", cfg_.id);
      } else {
        spdlog::info("node {}: membership: node {} left the cluster", cfg_.id, n);
      }
      break;
    default: break;
  }
}

// The peer links follow the membership: every member that joined through
// a change is dialled (a node that just joined learns them all from the
// change or snapshot that told it), and links to nodes that are no longer
// members close. Until this node knows a membership, it keeps every link
// its configuration lists, to answer the leader that adds it.
void node::follow_membership(const raftpb::ConfState& conf) {
  const bool member = raft_->is_member(cfg_.id);
  if (member_ && !member) {
    spdlog::warn(
        "node {}: membership: this node was removed from the cluster; it takes no part any more "
        "and may be stopped",
        cfg_.id);
  }
  member_ = member;
  if (!tcp_) return;
  for (const raftpb::MemberAddress& m : conf.addresses()) {
    if (!m.peer_address().empty()) tcp_->add_peer(m.node(), m.peer_address());
  }
  if (conf.voters_size() == 0) return;
  // A leader still sends departing nodes the log up to their removal.
  const auto listed = [this, &conf](std::uint64_t id) {
    return std::find(conf.voters().begin(), conf.voters().end(), id) != conf.voters().end() ||
           std::find(conf.learners().begin(), conf.learners().end(), id) != conf.learners().end() ||
           raft_->departing().count(id) != 0;
  };
  for (const net::peer_link& l : tcp_->links()) {
    if (!listed(l.id)) tcp_->remove_peer(l.id);
  }
}

void node::submit(nodepb::ClientRequest req,
                  std::function<void(const nodepb::ClientResponse&)> reply) {
  clients_->submit(std::move(req), std::move(reply));
}

void node::on_tick() {
  raft_->tick();
  sender_->tick();
  receiver_->tick();
  reactor_->arm(tick_timer_, skew_.interval(std::chrono::milliseconds(cfg_.tick_ms)));
}

// An operator's request from the admin port: each field present changes
// its setting, and the change is logged.
base::status node::admin(const nodepb::AdminRequest& a) {
  if (a.has_clock_drift_ppm() &&
      (a.clock_drift_ppm() > clock_drift_ppm_max || a.clock_drift_ppm() < -clock_drift_ppm_max)) {
    return base::fail("clock drift is within ±" + std::to_string(clock_drift_ppm_max) + " ppm");
  }
  for (const nodepb::LinkEmulation& l : a.links()) {
    if (!tcp_) return base::fail("this node has no TCP peer links to emulate");
    const net::link_emulation e{l.delay_ms(), l.jitter_ms(), l.loss_ppm(), l.partitioned()};
    if (base::status s = tcp_->emulate(l.peer(), e); !s.ok()) return s;
  }
  if (a.has_barrier_delay_us()) {
    log_->set_barrier_delay(std::chrono::microseconds(a.barrier_delay_us()));
    spdlog::info("node {}: barrier delay set to {} us", cfg_.id, a.barrier_delay_us());
  }
  if (a.has_membership()) {
    if (base::status s = propose_membership(a.membership()); !s.ok()) return s;
  }
  if (a.has_clock_offset_ms()) skew_.offset_ms = a.clock_offset_ms();
  if (a.has_clock_drift_ppm()) skew_.drift_ppm = a.clock_drift_ppm();
  if (a.has_clock_offset_ms() || a.has_clock_drift_ppm()) {
    spdlog::info("node {}: clock error set: offset {} ms, drift {} ppm", cfg_.id, skew_.offset_ms,
                 skew_.drift_ppm);
  }
  return {};
}

base::status node::propose_membership(const raftpb::ConfChange& cc) {
  if (cc.type() == raftpb::ConfChange::ADD_LEARNER) {
    // The form only: resolving a name would block the loop, and a node
    // not up yet is dialled again until it is.
    std::string host;
    std::uint16_t port = 0;
    if (!net::split_address(cc.peer_address(), &host, &port)) {
      return base::fail(
          "membership: --add-learner needs the node's peer address (host:port), got '" +
          cc.peer_address() + "'");
    }
    // A real node dials every member: the cluster stays within peers_max.
    const std::size_t members = raft_->voters().size() + raft_->learners().size();
    if (tcp_ && members >= limits::peers_max) {
      return base::fail("membership: the cluster has " + std::to_string(members) +
                        " members, the most a node connects to (peers_max)");
    }
  }
  const core::proposal p = raft_->propose_conf_change(cc);
  const std::string n = std::to_string(cc.node());
  switch (p.result) {
    case core::proposal::code::accepted:
      spdlog::info("node {}: membership change proposed at index {}: {} node {}", cfg_.id, p.index,
                   raftpb::ConfChange::Type_Name(cc.type()), cc.node());
      handle_ready();
      return {};
    case core::proposal::code::not_leader:
      return base::fail(
          "membership changes are proposed by the leader; this node is not it (the "
          "leader is node " +
          std::to_string(p.leader) + ", 0: unknown)");
    case core::proposal::code::change_in_progress:
      return base::fail(
          "a membership change is still being applied (one at a time); retry "
          "once the status shows it");
    case core::proposal::code::learner_behind:
      return base::fail("node " + n + " is more than " +
                        std::to_string(limits::promote_lag_entries_max) +
                        " entries behind the leader; promote it once it has caught up");
    case core::proposal::code::change_invalid:
      return base::fail("the change does not fit the membership (voters " +
                        join_ids(raft_->voters()) + ", learners " + join_ids(raft_->learners()) +
                        "): only a new node can be added, a learner promoted, a member other "
                        "than the last voter removed");
    case core::proposal::code::busy:
    case core::proposal::code::too_large:
      return base::fail("the leader's log is full; retry later");
  }
  return base::fail("membership change refused");
}

void node::on_leader_change() {
  const core::status s = raft_->get_status();
  if (s.leader != known_leader_) {
    counters_.add(counter::leader_changes);
    known_leader_ = s.leader;
  }
  const std::uint64_t leader = s.role == core::role::leader ? cfg_.id : 0;
  if (leader == leader_seen_) return;
  if (leader_seen_ == cfg_.id) {
    clients_->leadership_lost();
    trace_->drop_pending(reactor_->now_us());
  }
  if (leader == cfg_.id) spdlog::info("node {}: leader in term {}", cfg_.id, s.term);
  leader_seen_ = leader;
}

// ------------------------------------------------------------- queries --

// A committed block: from the log through the index (one lookup and one
// parse, whatever the height asked for), or, once the log dropped it,
// from the block store (two reads). Heights the node does not hold are
// answered with the reason: compacted (with the oldest height kept), never
// held, or damaged on disk (with the file and offset).
base::result<chain::block> node::find_block(std::uint64_t height) const {
  const std::string h = std::to_string(height);
  if (height == 0 || height > ledger_.height()) {
    return base::fail("no committed block at height " + h + " (this node's height is " +
                      std::to_string(ledger_.height()) + ")");
  }
  const core::raft_log& log = raft_->log();
  const auto ref = index_.by_height(log, height, log.applied());
  chain::block b;
  if (ref && ref->index > log.compacted_index() && b.ParseFromString(log.at(ref->index).data())) {
    return b;
  }
  base::result<std::string> stored = blocks_->read(height);
  if (!stored.ok()) return base::fail(stored.message());
  if (!b.ParseFromString(*stored)) {
    return base::fail("block " + h + " in the block store does not parse");
  }
  return b;
}

void node::fill_status(nodepb::NodeStatus* s) const {
  const core::status st = raft_->get_status();
  s->set_id(cfg_.id);
  s->set_role(core::to_string(st.role));
  s->set_term(st.term);
  s->set_leader(st.leader);
  s->set_height(ledger_.height());
  s->set_commit_index(st.committed);
  s->set_last_index(st.last_index);
  s->set_state_hash(std::string(chain::as_bytes(ledger_.state_hash())));
  s->set_tip_hash(std::string(chain::as_bytes(ledger_.tip())));
  s->set_mempool_txs(mempool_.size());
  s->set_io(io::to_string(cfg_.io));
  s->set_persistence(storage::to_string(cfg_.persistence));
  s->set_clock_offset_ms(skew_.offset_ms);
  s->set_conf_index(raft_->conf_index());
  for (std::uint64_t v : raft_->voters()) s->add_voters(v);
  for (std::uint64_t l : raft_->learners()) s->add_learners(l);
  if (st.role == core::role::leader) {
    for (std::uint64_t m : raft_->voters()) add_progress(s, m, true);
    for (std::uint64_t m : raft_->learners()) add_progress(s, m, false);
  }
  s->set_clock_drift_ppm(skew_.drift_ppm);
  if (tcp_) {
    for (const auto& [peer, e] : tcp_->emulation()) {
      nodepb::LinkEmulation* l = s->add_emulation();
      l->set_peer(peer);
      l->set_delay_ms(e.delay_ms);
      l->set_jitter_ms(e.jitter_ms);
      l->set_loss_ppm(e.loss_ppm);
      l->set_partitioned(e.partitioned);
    }
  }
  std::map<std::string, std::uint64_t> all;
  fill_counters(&all);
  s->mutable_counters()->insert(all.begin(), all.end());
  if (tcp_) {
    const std::uint64_t now = reactor_->now_us();
    const auto ago = [now](std::uint64_t t) {
      return t == 0 ? std::int64_t{-1} : static_cast<std::int64_t>((now - t) / 1000);
    };
    for (const net::peer_link& l : tcp_->links()) {
      nodepb::PeerLink* p = s->add_peers();
      p->set_id(l.id);
      p->set_connected(l.connected);
      p->set_last_heard_ms_ago(ago(l.last_heard_us));
      p->set_changed_ms_ago(ago(l.changed_us));
    }
  }
}

void node::add_progress(nodepb::NodeStatus* s, std::uint64_t member, bool voter) const {
  const core::progress* pr = raft_->progress_of(member);
  if (pr == nullptr) return;
  nodepb::MemberProgress* p = s->add_progress();
  p->set_id(member);
  p->set_voter(voter);
  p->set_match(member == cfg_.id ? raft_->get_status().durable : pr->match);
  p->set_last_index(raft_->get_status().last_index);
}

// Every counter of the node by name: the runtime's, the connections', the
// refusals by reason, the core's and the reactor's.
void node::fill_counters(std::map<std::string, std::uint64_t>* out) const {
  auto& m = *out;
  auto put = [&m](const char* name, std::uint64_t v) { m[name] = v; };
  counters_.for_each(put);
  budget_.counts().for_each(put);
  budget_.refusals().counts().for_each(
      [&m](const char* name, std::uint64_t v) { m[std::string("refused_") + name] = v; });
  raft_->get_counters().for_each(put);
  m["snapshot_chunks_sent"] = transfer_counts_.chunks_sent;
  m["snapshot_chunks_received"] = transfer_counts_.chunks_received;
  m["snapshot_chunks_refused"] = transfer_counts_.chunks_refused;
  m["snapshot_transfers_failed"] = transfer_counts_.transfers_failed;
  m["snapshots_received"] = transfer_counts_.snapshots_received;
  m["log_entries_in_memory"] = raft_->log().size();
  m["log_bytes_in_memory"] = raft_->log().size_bytes();
  m["log_segments"] = log_->segments();
  const io::counters& rc = reactor_->get_counters();
  m["loop_iterations"] = rc.loop_iterations;
  m["io_enter_calls"] = rc.enter_calls;
  m["early_submits"] = rc.early_submits;
  m["fdatasyncs"] = rc.fdatasyncs;
  m["bytes_written"] = rc.bytes_written;
  for (std::size_t k = 0; k < io::op_kinds; ++k) {
    const std::string name = io::to_string(static_cast<io::op_kind>(k));
    m["submitted_" + name] = rc.submitted[k];
    m["completed_" + name] = rc.completed[k];
  }
}

// ------------------------------------------------------------- metrics --

base::status node::start_metrics() {
  if (cfg_.listen_metrics.empty() || env_.transport != nullptr) return {};
  metrics_ =
      std::make_unique<node_metrics>(cfg_.id, cfg_.peers.size() / 2 + 1, cfg_.round_deadline_ms);
  trace_->on_written([this](const block_record& r) { metrics_->observe_block(r); });
  metrics_http_ = std::make_unique<net::http_server>(
      *reactor_,
      [this](const std::string& path) -> std::optional<net::http_answer> {
        if (path != "/metrics") return std::nullopt;
        return net::http_answer{"text/plain; version=0.0.4; charset=utf-8", scrape_metrics()};
      },
      budget_);
  return metrics_http_->listen(cfg_.listen_metrics);
}

std::string node::scrape_metrics() {
  const core::status st = raft_->get_status();
  metrics_snapshot s;
  s.has_leader = st.leader != 0;
  s.is_leader = st.role == core::role::leader;
  s.term = st.term;
  s.height = ledger_.height();
  s.commit_index = st.committed;
  s.mempool_txs = mempool_.size();
  fill_counters(&s.counters);
  budget_.refusals().counts().for_each(
      [&s](const char* name, std::uint64_t v) { s.refusals[name] = v; });
  const io::counters& rc = reactor_->get_counters();
  for (std::size_t k = 0; k < io::op_kinds; ++k) {
    const std::string name = io::to_string(static_cast<io::op_kind>(k));
    s.submitted[name] = rc.submitted[k];
    s.completed[name] = rc.completed[k];
  }
  if (tcp_) s.links = tcp_->links();
  s.connections["client"] = clients_->connections();
  s.now_us = reactor_->now_us();
  return metrics_->scrape(s);
}

}  // namespace ringchain::runtime
