#include "node/runtime/node.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "node/base/limits.h"
#include "node/chain/block.h"

namespace ringchain::runtime {

namespace fs = std::filesystem;
using net::parse_address;

namespace {

// A send queue bound per client connection: a client that does not read
// costs at most this much memory, and then it is disconnected.
constexpr std::size_t send_queue_bytes_max = 64 * limits::mib;

}  // namespace

// A client connection.
struct node::inbound {
  std::unique_ptr<io::stream> stream;
  net::frame_reader reader{limits::frame_size_max};
  bool closing = false;
};

struct node::pending_submit {
  std::uint64_t seq = 0;
  // Where the response goes: a client connection (null once it closed),
  // or a function for clients in the same process.
  inbound* conn = nullptr;
  std::function<void(const nodepb::ClientResponse&)> reply;
  // Its batch is on the verifier's thread; only on_verified may finish it.
  bool verifying = false;
  std::uint64_t request_id = 0;
  nodepb::SubmitResponse response;
  int remaining = 0;
};

struct node::block_timing {
  struct follower {
    std::uint64_t sent_us = 0;
    std::uint64_t acked_us = 0;
    std::uint64_t persist_us = 0;
  };
  std::uint64_t height = 0, term = 0, round = 0, txs = 0, bytes = 0;
  std::uint64_t round_start_us = 0, cut_us = 0, write_submitted_us = 0, barrier_done_us = 0;
  std::uint64_t committed_us = 0;
  std::uint64_t applied_us = 0;
  std::map<std::uint64_t, follower> followers;
};

node::node(const node_config& cfg, const node_env& env)
    : cfg_(cfg),
      env_(env),
      random_state_(0),
      mempool_(cfg.mempool_txs_max, limits::mempool_bytes_max),
      tick_timer_([this] { on_tick(); }),
      round_timer_([this] { on_round(); }) {}

node::~node() {
  if (client_listen_fd_ >= 0) ::close(client_listen_fd_);
}

std::unique_ptr<node> node::open(const node_config& cfg, std::string* error) {
  return open(cfg, node_env{}, error);
}

std::unique_ptr<node> node::open(const node_config& cfg, const node_env& env, std::string* error) {
  std::unique_ptr<node> n(new node(cfg, env));
  if (std::string err = n->start(); !err.empty()) {
    *error = err;
    return nullptr;
  }
  return n;
}

std::string node::start() {
  std::string err;
  reactor_ = env_.reactor;
  if (reactor_ == nullptr) {
    own_reactor_ = io::reactor::create(cfg_.io, {}, &err);
    if (!own_reactor_) return err;
    reactor_ = own_reactor_.get();
  }
  // xorshift64 state: never 0.
  random_state_ = env_.random_seed != 0 ? env_.random_seed
                                        : cfg_.id * 0x9e3779b97f4a7c15ULL ^ reactor_->now_us();
  if (random_state_ == 0) random_state_ = 1;
  spdlog::info("node {}: reactor {}", cfg_.id, reactor_->describe());
  storage::block_log_options lo;
  lo.dir = fs::path(cfg_.data_dir) / "log";
  lo.policy = cfg_.persistence;
  lo.segment_bytes = std::uint64_t{cfg_.segment_mib} * limits::mib;
  lo.barrier_delay = std::chrono::microseconds(cfg_.barrier_delay_us);
  log_ = storage::block_log::open(*reactor_, lo, &err);
  if (!log_) return err;
  const storage::recovered_log& rec = log_->recovered();
  if (rec.torn_bytes > 0) {
    spdlog::warn("node {}: dropped a torn final write of {} bytes at {} offset {}", cfg_.id,
                 rec.torn_bytes, rec.torn_file.string(), rec.torn_offset_bytes);
  }
  core::config cc;
  cc.id = cfg_.id;
  for (const auto& p : cfg_.peers) cc.voters.push_back(p.id);
  cc.election_ticks = cfg_.election_ticks;
  cc.heartbeat_ticks = cfg_.heartbeat_ticks;
  cc.bug = env_.bug;
  cc.random = [this](std::uint64_t bound) {
    random_state_ ^= random_state_ << 13;
    random_state_ ^= random_state_ >> 7;
    random_state_ ^= random_state_ << 17;
    return bound == 0 ? 0 : random_state_ % bound;
  };
  if (err = cc.validate(); !err.empty()) return "consensus config: " + err;
  raft_ = std::make_unique<core::raft>(cc);
  raft_->restore(rec.hard_state, rec.entries, 0);
  spdlog::info("node {}: recovered term {} and {} entries ({} committed)", cfg_.id,
               rec.hard_state.term(), rec.entries.size(), rec.hard_state.commit());

  transport_ = env_.transport;
  if (transport_ == nullptr) {
    tcp_ = std::make_unique<tcp_peers>(
        *reactor_, cfg_, [this](const core::message& m) { return receive(m); }, counters_);
    if (err = tcp_->start(); !err.empty()) return err;
    transport_ = tcp_.get();
    if ((client_listen_fd_ = listen_on(cfg_.listen_client, &err)) < 0) return err;
    client_listener_ = std::make_unique<io::listener>(
        [this](int fd) { accept(fd); },
        [](int e) { spdlog::error("client accept: {}", std::strerror(-e)); });
    reactor_->listen(*client_listener_, client_listen_fd_);
  }
  // Up to 64 batches wait for verification; more is back-pressure.
  verifier_ = std::make_unique<verifier>(
      *reactor_, [this](verify_job&& j) { on_verified(std::move(j)); }, 64,
      env_.verify_inline ? verifier::mode::inline_ : verifier::mode::thread, env_.verify_tx);
  trace_.open(fs::path(cfg_.data_dir) / "trace.jsonl", std::ios::app);
  if (!trace_) return "cannot open the block trace in " + cfg_.data_dir;
  reactor_->arm(tick_timer_, std::chrono::milliseconds(cfg_.tick_ms));
  reactor_->arm(round_timer_, std::chrono::milliseconds(cfg_.round_interval_ms));
  round_start_us_ = reactor_->now_us();
  return {};
}

int node::run() {
  spdlog::info("node {}: serving peers on {} and clients on {}", cfg_.id, cfg_.listen_peer,
               cfg_.listen_client);
  while (stopping_ == 0) iterate();
  // Let writes in flight finish, so a clean stop leaves no torn write.
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (log_->pending() > 0 && log_->failed() == 0 && std::chrono::steady_clock::now() < end) {
    reactor_->run_once(std::chrono::milliseconds(10));
  }
  flush_block_timings(true);
  trace_.flush();
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
  flush_block_timings(false);
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
    if (rd.persist_seq != 0) persist(rd);
    for (const core::message& m : rd.messages) send(m);
    for (const core::entry& e : rd.committed_entries) apply(e);
    raft_->advance(rd);
  }
}

void node::persist(core::ready& rd) {
  const std::uint64_t now = reactor_->now_us();
  std::uint32_t txs = 0;
  for (const core::entry& e : rd.entries) {
    if (auto it = timings_.find(e.index()); it != timings_.end()) {
      it->second.write_submitted_us = now;
      txs += static_cast<std::uint32_t>(it->second.txs);
    } else if (cfg_.persistence == storage::persistence::per_tx &&
               e.type() == raftpb::ENTRY_NORMAL) {
      chain::block b;
      if (b.ParseFromString(e.data())) txs += static_cast<std::uint32_t>(b.txs_size());
    }
  }
  const std::uint64_t first = rd.entries.empty() ? 0 : rd.entries.front().index();
  const std::uint64_t last = rd.entries.empty() ? 0 : rd.entries.back().index();
  const std::uint64_t seq = rd.persist_seq;
  log_->append(rd.hard_state ? &*rd.hard_state : nullptr, rd.entries, txs,
               [this, seq, first, last, now](int result) {
                 if (result != 0) {
                   fatal(log_->failure_message());
                   return;
                 }
                 const std::uint64_t done = reactor_->now_us();
                 for (std::uint64_t i = first; i != 0 && i <= last; ++i) {
                   if (auto it = timings_.find(i); it != timings_.end())
                     it->second.barrier_done_us = done;
                 }
                 core::message m;
                 m.set_type(raftpb::MSG_STORAGE_DONE);
                 m.set_from(cfg_.id);
                 m.set_to(cfg_.id);
                 m.set_persist_seq(seq);
                 m.set_persist_us(done - now);
                 raft_->step(m);
               });
}

void node::send(const core::message& m) {
  if (m.type() == raftpb::MSG_APPEND) {
    const std::uint64_t now = reactor_->now_us();
    for (const core::entry& e : m.entries()) {
      if (auto t = timings_.find(e.index()); t != timings_.end()) {
        auto& f = t->second.followers[m.to()];
        if (f.sent_us == 0) f.sent_us = now;
      }
    }
  }
  transport_->send(m);
}

core::input_error node::receive(const core::message& m) {
  if (m.type() == raftpb::MSG_APPEND_RESPONSE) record_ack(m);
  return raft_->step(m);
}

void node::apply(const core::entry& e) {
  const std::uint64_t committed_us = reactor_->now_us();
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
  if (std::string err = ledger_.apply(b, &skipped); !err.empty()) {
    fatal("committed " + err);
    return;
  }
  ++counters_["blocks_applied"];
  counters_["txs_applied"] += static_cast<std::uint64_t>(b.txs_size());
  counters_["txs_skipped_stale_nonce"] += skipped.size();
  // Followers have no clients waiting: skip hashing every transaction.
  if (!waiting_txs_.empty()) {
    std::size_t next_skip = 0;
    for (int i = 0; i < b.txs_size(); ++i) {
      const bool skip = next_skip < skipped.size() && skipped[next_skip] == i;
      if (skip) ++next_skip;
      settle(b.txs(i), b.header().height(), !skip);
    }
  }
  if (auto it = timings_.find(e.index()); it != timings_.end()) {
    it->second.committed_us = committed_us;
    it->second.applied_us = reactor_->now_us();
  }
}

// Tells the client that a transaction committed at `height`, or that its
// block committed without it (its nonce was stale by then), if it waits.
void node::settle(const chain::transaction& tx, std::uint64_t height, bool applied) {
  auto it = waiting_txs_.find(std::string(chain::as_bytes(chain::tx_hash(tx))));
  if (it == waiting_txs_.end()) return;
  auto [submit, slot] = it->second;
  waiting_txs_.erase(it);
  nodepb::TxResult* r = submit->response.mutable_results(slot);
  if (applied) {
    r->set_code(nodepb::TxResult::COMMITTED);
    r->set_height(height);
  } else {
    r->set_reason(std::string(chain::to_string(chain::tx_error::replay)) +
                  ": a transaction of this sender with this nonce or a later one committed first");
  }
  --submit->remaining;
  finish_submit_if_done(submit);
}

// Writes the trace lines of committed blocks once every follower has
// acknowledged them, or a second after commit for a follower that is slow
// or down (its acknowledgement then reads 0).
void node::flush_block_timings(bool all) {
  const std::uint64_t now = reactor_->now_us();
  for (auto it = timings_.begin(); it != timings_.end() && it->second.committed_us != 0;) {
    const block_timing& t = it->second;
    bool acked = t.followers.size() + 1 >= cfg_.peers.size();
    for (const auto& [id, f] : t.followers) acked &= f.acked_us != 0;
    if (!all && !acked && now < t.committed_us + 1'000'000) break;
    write_block_timing(it->first, t);
    it = timings_.erase(it);
  }
}

// Writes the leader's record of one block to the block trace (JSON lines;
// docs/ARCHITECTURE.md lists the fields).
void node::write_block_timing(std::uint64_t index, const block_timing& t) {
  nlohmann::json j;
  j["node"] = cfg_.id;
  j["index"] = index;
  j["height"] = t.height;
  j["term"] = t.term;
  j["round"] = t.round;
  j["txs"] = t.txs;
  j["bytes"] = t.bytes;
  j["round_start_us"] = t.round_start_us;
  j["cut_us"] = t.cut_us;
  j["write_submitted_us"] = t.write_submitted_us;
  j["barrier_done_us"] = t.barrier_done_us;
  j["committed_us"] = t.committed_us;
  j["applied_us"] = t.applied_us;
  j["deadline_us"] = t.round_start_us + std::uint64_t{cfg_.round_deadline_ms} * 1000;
  j["deadline_met"] =
      t.committed_us <= t.round_start_us + std::uint64_t{cfg_.round_deadline_ms} * 1000;
  nlohmann::json fs = nlohmann::json::array();
  for (const auto& [id, f] : t.followers) {
    fs.push_back({{"id", id},
                  {"sent_us", f.sent_us},
                  {"acked_us", f.acked_us},
                  {"persist_us", f.persist_us}});
  }
  j["followers"] = fs;
  trace_ << j.dump() << '\n';
  trace_.flush();
}

void node::record_ack(const core::message& m) {
  if (m.reject()) return;
  const std::uint64_t now = reactor_->now_us();
  for (auto it = timings_.begin(); it != timings_.end() && it->first <= m.index(); ++it) {
    auto f = it->second.followers.find(m.from());
    if (f == it->second.followers.end() || f->second.acked_us != 0) continue;
    f->second.acked_us = now;
    f->second.persist_us = m.persist_us();
  }
}

// --------------------------------------------------------------- rounds --

void node::on_tick() {
  raft_->tick();
  reactor_->arm(tick_timer_, std::chrono::milliseconds(cfg_.tick_ms));
}

// A round starts when its timer fires: the leader cuts the block of what
// arrived since the last cut, and the round's deadline counts from here.
void node::on_round() {
  // Rounds keep their schedule: the next starts one interval after this
  // one was due, not after the timer fired, so late wake-ups do not drift.
  const std::uint64_t now = reactor_->now_us();
  const std::uint64_t interval = std::uint64_t{cfg_.round_interval_ms} * 1000;
  next_round_us_ = next_round_us_ == 0 ? now + interval : next_round_us_ + interval;
  if (next_round_us_ <= now) next_round_us_ = now + interval;  // fell behind a whole round
  reactor_->arm(round_timer_, std::chrono::microseconds(next_round_us_ - now));
  ++round_;
  round_start_us_ = now;
  if (raft_->get_status().role == core::role::leader) propose_block();
}

// The height and header hash of the last block in the log (committed or
// not): a new block chains after it. The last block found is remembered
// with its index and term, so the leader does not parse a whole block from
// its log for every proposal; a remembered entry still counts only while
// the log holds it with the same term.
std::pair<std::uint64_t, chain::hash> node::last_block_in_log() {
  const core::raft_log& log = raft_->log();
  for (std::uint64_t i = log.last_index(); i >= 1; --i) {
    const core::entry& e = log.at(i);
    if (e.type() != raftpb::ENTRY_NORMAL) continue;
    if (i == last_block_.index && e.term() == last_block_.term)
      return {last_block_.height, last_block_.hash};
    chain::block b;
    if (!b.ParseFromString(e.data())) continue;
    last_block_ = {i, e.term(), b.header().height(), chain::header_hash(b.header())};
    return {last_block_.height, last_block_.hash};
  }
  return {0, chain::hash{}};
}

bool node::propose_block() {
  if (mempool_.size() == 0 && !cfg_.empty_blocks) return false;
  const std::uint64_t cut = reactor_->now_us();
  std::vector<chain::transaction> txs =
      mempool_.take(cfg_.block_txs_max, cfg_.block_bytes_max, ledger_);
  if (txs.empty() && !cfg_.empty_blocks) return false;
  const auto [height, prev] = last_block_in_log();
  chain::block_params p;
  p.height = height + 1;
  p.term = raft_->get_status().term;
  p.prev_hash = prev;
  p.proposer = cfg_.id;
  p.round = round_;
  p.timestamp_us = reactor_->wall_us();
  const std::size_t n = txs.size();
  chain::block b = chain::make_block(p, std::move(txs));
  std::string data = b.SerializeAsString();
  const std::uint64_t bytes = data.size();
  const core::proposal r = raft_->propose(std::move(data));
  if (r.result != core::proposal::code::accepted) {
    // The transactions are gone from the mempool: tell their clients.
    for (const auto& tx : b.txs()) {
      auto it = waiting_txs_.find(std::string(chain::as_bytes(chain::tx_hash(tx))));
      if (it == waiting_txs_.end()) continue;
      it->second.first->response.mutable_results(it->second.second)
          ->set_reason("consensus busy, retry");
    }
    ++counters_["blocks_refused_busy"];
    return false;
  }
  last_block_ = {r.index, r.term, p.height, chain::header_hash(b.header())};
  if (RC_PLANTED(env_.bug, ack_before_commit)) {
    for (const auto& tx : b.txs()) settle(tx, p.height, true);
  }
  block_timing& t = timings_[r.index];
  t.height = p.height;
  t.term = p.term;
  t.round = p.round;
  t.txs = n;
  t.bytes = bytes;
  t.round_start_us = round_start_us_;
  t.cut_us = cut;
  ++counters_["blocks_proposed"];
  return true;
}

void node::on_leader_change() {
  const core::status s = raft_->get_status();
  const std::uint64_t leader = s.role == core::role::leader ? cfg_.id : 0;
  if (leader == leader_seen_) return;
  if (leader_seen_ == cfg_.id) {
    // Lost leadership: waiting submissions may or may not commit. Those
    // still being verified are answered by on_verified.
    for (auto it = submits_.begin(); it != submits_.end();) {
      pending_submit* submit = it->second.get();
      if (submit->verifying) {
        ++it;
        continue;
      }
      for (auto& r : *submit->response.mutable_results()) {
        if (r.code() == nodepb::TxResult::REFUSED && r.reason().empty()) {
          r.set_reason("leadership lost before commit; check the chain before resending");
        }
      }
      respond(*submit);
      it = submits_.erase(it);
    }
    waiting_txs_.clear();
    flush_block_timings(true);
    timings_.clear();
  }
  if (leader == cfg_.id) spdlog::info("node {}: leader in term {}", cfg_.id, s.term);
  leader_seen_ = leader;
}

// -------------------------------------------------------------- clients --

// A connection accepted on the client port.
void node::accept(int fd) {
  auto c = std::make_unique<inbound>();
  inbound* raw = c.get();
  c->stream = std::make_unique<io::stream>(
      io::stream_handler{nullptr,
                         [this, raw](std::span<const char> bytes) { read_frames(*raw, bytes); },
                         [this, raw](int) {
                           for (auto& [seq, submit] : submits_) {
                             if (submit->conn == raw) submit->conn = nullptr;
                           }
                           inbound_.erase(raw);
                         }},
      send_queue_bytes_max);
  inbound_[raw] = std::move(c);
  reactor_->open(*raw->stream, fd);
}

void node::read_frames(inbound& c, std::span<const char> bytes) {
  c.reader.feed({bytes.data(), bytes.size()});
  std::string_view body;
  net::frame_reader::status st = net::frame_reader::status::need_more;
  while (!c.closing && (st = c.reader.next(&body)) == net::frame_reader::status::frame) {
    on_client_frame(c, body);
  }
  if (!c.closing && st == net::frame_reader::status::too_large) {
    close_inbound(c, "frame of " + std::to_string(c.reader.announced_bytes()) +
                         " bytes is above frame_size_max");
  }
}

void node::close_inbound(inbound& c, const std::string& why) {
  if (c.closing) return;
  c.closing = true;
  ++counters_["connections_closed_bad_input"];
  spdlog::warn("node {}: closing client connection: {}", cfg_.id, why);
  reactor_->close(*c.stream);
}

void node::reply(inbound& c, const nodepb::ClientResponse& r) {
  std::string bytes;
  if (!net::append_frame(r, limits::frame_size_max, &bytes) || !c.stream->send(bytes)) {
    close_inbound(c, "client does not read its responses");
  }
}

void node::on_client_frame(inbound& c, std::string_view body) {
  nodepb::ClientRequest req;
  if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    close_inbound(c, "client frame does not parse");
    return;
  }
  nodepb::ClientResponse resp;
  resp.set_id(req.id());
  switch (req.kind_case()) {
    case nodepb::ClientRequest::kSubmit: {
      auto submit = std::make_unique<pending_submit>();
      submit->conn = &c;
      handle_submit(std::move(submit), req);
      return;
    }
    case nodepb::ClientRequest::kStatus: fill_status(resp.mutable_status()); break;
    case nodepb::ClientRequest::kAdmin:
      log_->set_barrier_delay(std::chrono::microseconds(req.admin().barrier_delay_us()));
      spdlog::info("node {}: barrier delay set to {} us", cfg_.id, req.admin().barrier_delay_us());
      fill_status(resp.mutable_status());
      break;
    case nodepb::ClientRequest::kBlock: {
      const core::raft_log& log = raft_->log();
      nodepb::BlockResponse* out = resp.mutable_block();
      for (std::uint64_t i = log.applied(); i >= 1 && !out->found(); --i) {
        if (log.at(i).type() != raftpb::ENTRY_NORMAL) continue;
        chain::block b;
        if (b.ParseFromString(log.at(i).data()) && b.header().height() == req.block().height()) {
          out->set_found(true);
          *out->mutable_block() = std::move(b);
        }
      }
      break;
    }
    default: close_inbound(c, "client request of no known kind"); return;
  }
  reply(c, resp);
}

void node::submit(nodepb::ClientRequest req,
                  std::function<void(const nodepb::ClientResponse&)> reply) {
  auto submit = std::make_unique<pending_submit>();
  submit->reply = std::move(reply);
  handle_submit(std::move(submit), req);
}

void node::handle_submit(std::unique_ptr<pending_submit> submit, nodepb::ClientRequest& req) {
  submit->seq = ++submits_seen_;
  submit->request_id = req.id();
  const std::uint64_t leader_id = raft_->get_status().leader;
  for (const auto& p : cfg_.peers) {
    if (p.id == leader_id) submit->response.set_leader_client(p.client);
  }
  const int n = req.submit().txs_size();
  for (int i = 0; i < n; ++i) submit->response.add_results()->set_code(nodepb::TxResult::REFUSED);
  pending_submit* raw = submit.get();
  submits_[raw->seq] = std::move(submit);
  if (raft_->get_status().role != core::role::leader) {
    for (auto& r : *raw->response.mutable_results()) r.set_code(nodepb::TxResult::NOT_LEADER);
    finish_submit_if_done(raw);
    return;
  }
  // Signatures are checked once, here where the transactions enter the
  // cluster, on the verifier's thread.
  verify_job job;
  job.owner = raw;
  job.txs.assign(std::make_move_iterator(req.mutable_submit()->mutable_txs()->begin()),
                 std::make_move_iterator(req.mutable_submit()->mutable_txs()->end()));
  raw->remaining = n;
  raw->verifying = true;
  if (!verifier_->submit(std::move(job))) {
    raw->verifying = false;
    for (auto& r : *raw->response.mutable_results())
      r.set_reason(chain::to_string(chain::tx_error::mempool_full));
    raw->remaining = 0;
    finish_submit_if_done(raw);
  }
}

void node::on_verified(verify_job&& job) {
  auto* submit = static_cast<pending_submit*>(job.owner);
  submit->verifying = false;
  const bool leader = raft_->get_status().role == core::role::leader;
  for (std::size_t i = 0; i < job.txs.size(); ++i) {
    nodepb::TxResult* r = submit->response.mutable_results(static_cast<int>(i));
    chain::tx_error err = job.results[i];
    if (!leader) {
      r->set_code(nodepb::TxResult::NOT_LEADER);
      --submit->remaining;
      continue;
    }
    std::string hash(chain::as_bytes(chain::tx_hash(job.txs[i])));
    if (err == chain::tx_error::none) err = mempool_.add(std::move(job.txs[i]), ledger_);
    if (err != chain::tx_error::none) {
      r->set_reason(chain::to_string(err));
      ++counters_["txs_refused"];
      --submit->remaining;
      continue;
    }
    waiting_txs_[std::move(hash)] = {submit, static_cast<int>(i)};
  }
  finish_submit_if_done(submit);
  // A full block (by count or by bytes) is cut at once, within the
  // current round, and handed to storage and the network before anything
  // else.
  while (mempool_.size() >= cfg_.block_txs_max || mempool_.bytes() >= cfg_.block_bytes_max) {
    round_start_us_ = reactor_->now_us();
    ++round_;
    if (!propose_block()) break;
  }
  handle_ready();
}

// Replies when no transaction of the submission waits any more.
void node::finish_submit_if_done(pending_submit* submit) {
  if (submit->remaining > 0) return;
  respond(*submit);
  submits_.erase(submit->seq);
}

void node::respond(pending_submit& submit) {
  nodepb::ClientResponse resp;
  resp.set_id(submit.request_id);
  *resp.mutable_submit() = submit.response;
  if (submit.conn != nullptr) {
    reply(*submit.conn, resp);
  } else if (submit.reply) {
    submit.reply(resp);
  }
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
  auto& m = *s->mutable_counters();
  for (const auto& [k, v] : counters_) m[k] = v;
  const io::counters& rc = reactor_->get_counters();
  m["loop_iterations"] = rc.loop_iterations;
  m["io_enter_calls"] = rc.enter_calls;
  m["fdatasyncs"] = rc.fdatasyncs;
  m["bytes_written"] = rc.bytes_written;
  for (std::size_t k = 0; k < io::op_kinds; ++k) {
    const std::string name = io::to_string(static_cast<io::op_kind>(k));
    m["submitted_" + name] = rc.submitted[k];
    m["completed_" + name] = rc.completed[k];
  }
  const core::counters& cc = raft_->get_counters();
  m["elections_started"] = cc.elections_started;
  m["terms_led"] = cc.terms_led;
  m["inputs_refused"] = cc.inputs_refused;
}

}  // namespace ringchain::runtime
