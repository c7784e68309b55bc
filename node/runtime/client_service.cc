#include "node/runtime/client_service.h"

#include <spdlog/spdlog.h>

namespace ringchain::runtime {

namespace {
// A send queue bound per client connection: a client that does not read
// costs at most this much memory, and then it is disconnected.
constexpr std::size_t client_send_bytes_max = 64 * limits::mib;
// Batches waiting for verification; more is back-pressure.
constexpr std::size_t verify_jobs_max = 64;
}  // namespace

// One client request to submit transactions, until it is answered.
struct client_service::pending_submit {
  // Arrival number.
  std::uint64_t seq = 0;
  // Where the response goes: a client connection (null once it closed),
  // or a function for clients in the same process.
  net::framed_connection* conn = nullptr;
  reply_fn reply;
  // Its batch is on the verifier's thread; only on_verified may finish it.
  bool verifying = false;
  std::uint64_t request_id = 0;
  nodepb::SubmitResponse response;
  // Transactions still waiting for their block.
  int remaining = 0;
};

client_service::client_service(node_parts parts, const node_env& env, net::counters& net_counts,
                               client_service_hooks hooks)
    : parts_(parts), hooks_(std::move(hooks)), net_counts_(net_counts) {
  verifier_ = std::make_unique<verifier>(
      parts_.reactor, [this](verify_job&& j) { on_verified(std::move(j)); }, verify_jobs_max,
      env.verify_inline ? verifier::mode::inline_ : verifier::mode::thread, env.verify_tx);
}

client_service::~client_service() = default;

base::status client_service::listen(const std::string& address) {
  server_ = std::make_unique<net::frame_server>(
      parts_.reactor,
      net::connection_handler{
          [this](net::framed_connection& c, std::string_view body) { on_frame(c, body); }, nullptr,
          [this](net::framed_connection& c, int) { on_closed(c); }},
      net_counts_, "client", client_send_bytes_max);
  return server_->listen(address);
}

void client_service::on_closed(net::framed_connection& c) {
  for (auto& [seq, submit] : submits_) {
    if (submit->conn == &c) submit->conn = nullptr;
  }
}

void client_service::reply(net::framed_connection& c, const nodepb::ClientResponse& r) {
  if (!c.send(r)) c.refuse("client does not read its responses");
}

void client_service::on_frame(net::framed_connection& c, std::string_view body) {
  nodepb::ClientRequest req;
  if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    c.refuse("client frame does not parse");
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
    case nodepb::ClientRequest::kStatus: hooks_.fill_status(resp.mutable_status()); break;
    case nodepb::ClientRequest::kAdmin:
      hooks_.admin(req.admin());
      hooks_.fill_status(resp.mutable_status());
      break;
    case nodepb::ClientRequest::kBlock: {
      nodepb::BlockResponse* out = resp.mutable_block();
      if (std::optional<chain::block> b = hooks_.find_block(req.block().height())) {
        out->set_found(true);
        *out->mutable_block() = std::move(*b);
      }
      break;
    }
    default: c.refuse("client request of no known kind"); return;
  }
  reply(c, resp);
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
  const int n = req.submit().txs_size();
  for (int i = 0; i < n; ++i) submit->response.add_results()->set_code(nodepb::TxResult::REFUSED);
  pending_submit* raw = submit.get();
  submits_[raw->seq] = std::move(submit);
  if (st.role != core::role::leader) {
    for (auto& r : *raw->response.mutable_results()) r.set_code(nodepb::TxResult::NOT_LEADER);
    finish_if_done(raw);
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
    finish_if_done(raw);
  }
}

void client_service::on_verified(verify_job&& job) {
  auto* submit = static_cast<pending_submit*>(job.owner);
  submit->verifying = false;
  const bool leader = parts_.raft.get_status().role == core::role::leader;
  for (std::size_t i = 0; i < job.txs.size(); ++i) {
    nodepb::TxResult* r = submit->response.mutable_results(static_cast<int>(i));
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
    waiting_txs_[std::move(hash)] = {submit, static_cast<int>(i)};
  }
  finish_if_done(submit);
  hooks_.admitted();
}

// Tells the client that a transaction committed at `height`, or that its
// block committed without it (its nonce was stale by then), if it waits.
void client_service::settle(const chain::transaction& tx, std::uint64_t height, bool applied) {
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
}

// Replies when no transaction of the submission waits any more.
void client_service::finish_if_done(pending_submit* submit) {
  if (submit->remaining > 0) return;
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
