#include "node/runtime/client_service.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "node/base/limits.h"

namespace ringchain::runtime {

namespace {

net::port_limits client_port_limits(const node_config& cfg) {
  net::port_limits l;
  l.name = "client";
  l.connections_max = cfg.client_connections_max;
  l.idle_timeout_ms = cfg.client_idle_timeout_ms;
  return l;
}

net::port_limits admin_port_limits(const node_config& cfg) {
  net::port_limits l = client_port_limits(cfg);
  l.name = "admin";
  l.connections_max = limits::admin_connections_max;
  return l;
}

}  // namespace

// One client request to submit transactions, until it is answered.
struct client_service::pending_submit {
  // Arrival number.
  std::uint64_t seq = 0;
  // Where the response goes: a client connection (null once it closed),
  // or a function for clients in the same process.
  net::framed_connection* conn = nullptr;
  reply_fn reply;
  // The connection's tag (its verifier queue and share; 0 in-process).
  std::uint64_t queue = 0;
  // Batches on the verifier; only on_verified may finish it meanwhile.
  int verifying = 0;
  std::uint64_t request_id = 0;
  nodepb::SubmitResponse response;
  // Transactions still waiting for their block.
  int remaining = 0;
};

client_service::client_service(node_parts parts, const node_env& env, net::node_budget& budget,
                               client_service_hooks hooks)
    : parts_(parts),
      hooks_(std::move(hooks)),
      budget_(budget),
      client_limits_(client_port_limits(parts.cfg)),
      admin_limits_(admin_port_limits(parts.cfg)) {
  verifier_ = std::make_unique<verifier>(
      parts_.reactor, [this](verify_job&& j) { on_verified(std::move(j)); },
      limits::verify_jobs_max, parts_.cfg.verify_threads, env);
}

client_service::~client_service() = default;

base::status client_service::listen(const std::string& address) {
  server_ = std::make_unique<net::frame_server>(
      parts_.reactor,
      net::connection_handler{
          [this](net::framed_connection& c, std::string_view body) { on_frame(c, body, false); },
          nullptr, [this](net::framed_connection& c, int) { on_closed(c); }},
      budget_, client_limits_);
  return server_->listen(address);
}

base::status client_service::listen_admin(const std::string& address) {
  admin_server_ = std::make_unique<net::frame_server>(
      parts_.reactor,
      net::connection_handler{
          [this](net::framed_connection& c, std::string_view body) { on_frame(c, body, true); },
          nullptr, [this](net::framed_connection& c, int) { on_closed(c); }},
      budget_, admin_limits_);
  return admin_server_->listen(address);
}

std::size_t client_service::connections() const {
  return server_ ? server_->connections() : 0;
}

void client_service::on_closed(net::framed_connection& c) {
  for (auto& [seq, submit] : submits_) {
    if (submit->conn == &c) submit->conn = nullptr;
  }
}

void client_service::reply(net::framed_connection& c, const nodepb::ClientResponse& r) {
  if (!c.send(r)) {
    c.refuse(net::refusal::not_reading, "client does not read its answers (" +
                                            std::to_string(c.queued_bytes()) + " bytes queued)");
  }
}

void client_service::on_frame(net::framed_connection& c, std::string_view body, bool admin) {
  // Connections are numbered as they send their first frame: the number
  // names their verifier queue.
  if (c.tag == 0) c.tag = ++connections_seen_;
  nodepb::ClientRequest req;
  if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    c.refuse(net::refusal::malformed, "client frame does not parse");
    return;
  }
  nodepb::ClientResponse resp;
  resp.set_id(req.id());
  switch (req.kind_case()) {
    case nodepb::ClientRequest::kSubmit: {
      if (static_cast<std::size_t>(req.submit().txs_size()) > limits::submit_txs_max) {
        c.refuse(net::refusal::too_many_txs, "a submit of " +
                                                 std::to_string(req.submit().txs_size()) +
                                                 " transactions, above submit_txs_max (" +
                                                 std::to_string(limits::submit_txs_max) + ")");
        return;
      }
      auto submit = std::make_unique<pending_submit>();
      submit->conn = &c;
      submit->queue = c.tag;
      handle_submit(std::move(submit), req);
      return;
    }
    case nodepb::ClientRequest::kStatus: hooks_.fill_status(resp.mutable_status()); break;
    case nodepb::ClientRequest::kAdmin:
      if (!admin) {
        c.refuse(net::refusal::admin_not_allowed,
                 "an admin request on the client port (admin requests go to the admin port)");
        return;
      }
      if (base::status s = hooks_.admin(req.admin()); !s.ok()) {
        resp.set_error(s.message());
      } else {
        hooks_.fill_status(resp.mutable_status());
      }
      break;
    case nodepb::ClientRequest::kBlock: {
      nodepb::BlockResponse* out = resp.mutable_block();
      if (base::result<chain::block> b = hooks_.find_block(req.block().height()); b.ok()) {
        out->set_found(true);
        *out->mutable_block() = std::move(*b);
      } else {
        out->set_reason(b.message());
      }
      break;
    }
    case nodepb::ClientRequest::kLookup: lookup(req.lookup(), &resp); break;
    default: c.refuse(net::refusal::unknown_request, "client request of no known kind"); return;
  }
  reply(c, resp);
}

// Answers from the committed state only: the ledger (applied blocks) and
// the index of the transactions those blocks applied. A lookup that names
// nothing, or a hash, key or sender of the wrong size, gets an error that
// says what was expected; the connection stays open.
void client_service::lookup(const nodepb::LookupRequest& req, nodepb::ClientResponse* resp) const {
  const auto size_error = [resp](const char* what, std::size_t expected, std::size_t got) {
    resp->set_error(std::string("a lookup's ") + what + " is " + std::to_string(expected) +
                    " bytes; this one is " + std::to_string(got));
  };
  nodepb::LookupResponse* out = resp->mutable_lookup();
  out->set_height(parts_.ledger.height());
  switch (req.what_case()) {
    case nodepb::LookupRequest::kTxHash: {
      if (req.tx_hash().size() != chain::hash_bytes) {
        return size_error("transaction hash", chain::hash_bytes, req.tx_hash().size());
      }
      chain::hash h;
      std::memcpy(h.data(), req.tx_hash().data(), h.size());
      const tx_index& txs = hooks_.recent_txs();
      out->set_indexed_from(txs.first_height());
      out->set_indexed_through(txs.last_height());
      if (std::optional<std::uint64_t> at = txs.find(h)) {
        out->set_found(true);
        out->set_tx_height(*at);
      }
      return;
    }
    case nodepb::LookupRequest::kKey: {
      if (req.key().empty() || req.key().size() > limits::lookup_key_bytes_max) {
        resp->set_error("a lookup's key is 1 to " + std::to_string(limits::lookup_key_bytes_max) +
                        " bytes; this one is " + std::to_string(req.key().size()));
        return;
      }
      if (const std::string* v = parts_.ledger.get(req.key())) {
        out->set_found(true);
        out->set_value(*v);
      }
      return;
    }
    case nodepb::LookupRequest::kSender:
      if (req.sender().size() != chain::public_key_bytes) {
        return size_error("sender (a public key)", chain::public_key_bytes, req.sender().size());
      }
      out->set_nonce(parts_.ledger.last_nonce(req.sender()));
      return;
    case nodepb::LookupRequest::WHAT_NOT_SET: break;
  }
  resp->set_error("a lookup names a transaction hash, a key or a sender; this one names none");
}

void client_service::submit(nodepb::ClientRequest req, reply_fn reply) {
  auto submit = std::make_unique<pending_submit>();
  submit->reply = std::move(reply);
  handle_submit(std::move(submit), req);
}

void client_service::handle_submit(std::unique_ptr<pending_submit> submit,
                                   nodepb::ClientRequest& req) {
  submit->seq = ++submits_seen_;
  submit->request_id = req.id();
  const core::status st = parts_.raft.get_status();
  for (const auto& p : parts_.cfg.peers) {
    if (p.id == st.leader) submit->response.set_leader_client(p.client);
  }
  if (submit->response.leader_client().empty() && st.leader != 0) {
    // A leader that joined through a membership change.
    const raftpb::ConfState conf = parts_.raft.conf();
    for (const raftpb::MemberAddress& m : conf.addresses()) {
      if (m.node() == st.leader) submit->response.set_leader_client(m.client_address());
    }
  }
  const int n = req.submit().txs_size();
  for (int i = 0; i < n; ++i) submit->response.add_results()->set_code(nodepb::TxResult::REFUSED);
  pending_submit* raw = submit.get();
  submits_[raw->seq] = std::move(submit);
  if (st.role != core::role::leader) {
    for (auto& r : *raw->response.mutable_results()) r.set_code(nodepb::TxResult::NOT_LEADER);
    finish_if_done(raw);
    return;
  }
  raw->remaining = n;
  if (!start_verifying(raw, req)) finish_if_done(raw);
}

// Signatures are checked once, here where the transactions enter the
// cluster, on the verifier's threads, in batches of verify_batch_txs_max.
// A connection may have verify_jobs_per_connection_max batches waiting:
// past its share (or when the verifier is full) the submission is refused
// as busy, and the client retries later.
bool client_service::start_verifying(pending_submit* submit, nodepb::ClientRequest& req) {
  auto& txs = *req.mutable_submit()->mutable_txs();
  const std::size_t n = static_cast<std::size_t>(txs.size());
  const std::size_t jobs = (n + limits::verify_batch_txs_max - 1) / limits::verify_batch_txs_max;
  const std::size_t share = verifying_.count(submit->queue) ? verifying_[submit->queue] : 0;
  const bool over_share =
      submit->queue != 0 && share + jobs > limits::verify_jobs_per_connection_max;
  if (over_share || verifier_->queued() + jobs > limits::verify_jobs_max) {
    refuse_all(submit, over_share ? "busy: this connection's earlier submissions are still "
                                    "being verified; retry later"
                                  : "busy: the node's signature checks are full; retry later");
    return false;
  }
  for (std::size_t first = 0; first < n; first += limits::verify_batch_txs_max) {
    verify_job job;
    job.owner = submit;
    job.queue = submit->queue;
    job.first = first;
    const std::size_t last = std::min(n, first + limits::verify_batch_txs_max);
    job.txs.assign(std::make_move_iterator(txs.begin() + static_cast<int>(first)),
                   std::make_move_iterator(txs.begin() + static_cast<int>(last)));
    RC_ASSERT(verifier_->submit(std::move(job)));
    ++submit->verifying;
    ++verifying_[submit->queue];
  }
  return true;
}

void client_service::refuse_all(pending_submit* submit, const std::string& why) {
  for (auto& r : *submit->response.mutable_results()) r.set_reason(why);
  parts_.counts.add(counter::txs_refused,
                    static_cast<std::uint64_t>(submit->response.results_size()));
  submit->remaining = 0;
}

void client_service::on_verified(verify_job&& job) {
  auto* submit = static_cast<pending_submit*>(job.owner);
  --submit->verifying;
  if (auto it = verifying_.find(submit->queue); it != verifying_.end() && --it->second == 0) {
    verifying_.erase(it);
  }
  const bool leader = parts_.raft.get_status().role == core::role::leader;
  for (std::size_t i = 0; i < job.txs.size(); ++i) {
    const int slot = static_cast<int>(job.first + i);
    nodepb::TxResult* r = submit->response.mutable_results(slot);
    chain::tx_error err = job.results[i];
    if (!leader) {
      r->set_code(nodepb::TxResult::NOT_LEADER);
      --submit->remaining;
      continue;
    }
    std::string hash(chain::as_bytes(chain::tx_hash(job.txs[i])));
    if (err == chain::tx_error::none)
      err = parts_.mempool.add(std::move(job.txs[i]), parts_.ledger);
    if (err != chain::tx_error::none) {
      r->set_reason(chain::to_string(err));
      parts_.counts.add(counter::txs_refused);
      --submit->remaining;
      continue;
    }
    waiting_txs_[std::move(hash)] = {submit, slot};
  }
  finish_if_done(submit);
  hooks_.admitted();
}

// Tells the client that a transaction committed at `height`, or that its
// block committed without it (its nonce was stale by then), if it waits.
void client_service::settle(const chain::hash& tx, std::uint64_t height, bool applied) {
  auto it = waiting_txs_.find(std::string(chain::as_bytes(tx)));
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
  finish_if_done(submit);
}

void client_service::refuse_block(const chain::block& b, const std::string& why) {
  for (const auto& tx : b.txs()) {
    auto it = waiting_txs_.find(std::string(chain::as_bytes(chain::tx_hash(tx))));
    if (it == waiting_txs_.end()) continue;
    auto [submit, slot] = it->second;
    waiting_txs_.erase(it);
    submit->response.mutable_results(slot)->set_reason(why);
    --submit->remaining;
    finish_if_done(submit);
  }
}

void client_service::leadership_lost() {
  // Those still being verified are answered by on_verified.
  for (auto it = submits_.begin(); it != submits_.end();) {
    pending_submit* submit = it->second.get();
    if (submit->verifying > 0) {
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
}

// Replies when no transaction of the submission waits any more.
void client_service::finish_if_done(pending_submit* submit) {
  if (submit->remaining > 0 || submit->verifying > 0) return;
  respond(*submit);
  submits_.erase(submit->seq);
}

void client_service::respond(pending_submit& submit) {
  nodepb::ClientResponse resp;
  resp.set_id(submit.request_id);
  *resp.mutable_submit() = submit.response;
  if (submit.conn != nullptr) {
    reply(*submit.conn, resp);
  } else if (submit.reply) {
    submit.reply(resp);
  }
}

}  // namespace ringchain::runtime
