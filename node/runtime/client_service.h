// The client service: the client port (submit, status, block queries and
// admin requests) and in-process submissions. A submission's transactions
// are verified off the loop (verifier.h), enter the mempool, and wait there
// until a committed block settles each of them; then the client is
// answered, once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "node/chain/block.h"
#include "node/net/framed_connection.h"
#include "node/runtime/env.h"
#include "node/runtime/node_parts.h"
#include "node/runtime/verifier.h"
#include "proto/node.pb.h"

namespace ringchain::runtime {

// What the client service asks of the rest of the node.
struct client_service_hooks {
  // Fills a status answer.
  std::function<void(nodepb::NodeStatus*)> fill_status;
  // Applies an admin request (a slow-disk knob for experiments).
  std::function<void(const nodepb::AdminRequest&)> admin;
  // The committed block at a height, if the node holds it.
  std::function<std::optional<chain::block>(std::uint64_t height)> find_block;
  // Verified transactions entered the mempool: cut full blocks and run
  // the Ready loop.
  std::function<void()> admitted;
};

class client_service {
 public:
  // Replies for in-process clients.
  using reply_fn = std::function<void(const nodepb::ClientResponse&)>;

  client_service(node_parts parts, const node_env& env, net::counters& net_counts,
                 client_service_hooks hooks);
  ~client_service();
  client_service(const client_service&) = delete;
  client_service& operator=(const client_service&) = delete;

  // Opens the client port on "host:port".
  base::status listen(const std::string& address);
  // A submission from a client in the same process; `reply` gets its
  // response, once.
  void submit(nodepb::ClientRequest req, reply_fn reply);

  // Whether any submitted transaction waits for its block.
  bool waiting() const { return !waiting_txs_.empty(); }
  // A committed block at `height` settled `tx`: applied, or skipped as a
  // stale nonce. Answers its client once nothing of its submission waits.
  void settle(const chain::transaction& tx, std::uint64_t height, bool applied);
  // The leader's block never entered the log (`why`): its transactions
  // are refused, and their clients answered.
  void refuse_block(const chain::block& b, const std::string& why);
  // This node stopped leading: waiting submissions may or may not commit,
  // and their clients are told so.
  void leadership_lost();

 private:
  struct pending_submit;
  void on_frame(net::framed_connection& c, std::string_view body);
  void on_closed(net::framed_connection& c);
  void handle_submit(std::unique_ptr<pending_submit> submit, nodepb::ClientRequest& req);
  void on_verified(verify_job&& job);
  void finish_if_done(pending_submit* submit);
  void respond(pending_submit& submit);
  void reply(net::framed_connection& c, const nodepb::ClientResponse& r);

  node_parts parts_;
  client_service_hooks hooks_;
  std::unique_ptr<verifier> verifier_;
  std::unique_ptr<net::frame_server> server_;
  net::counters& net_counts_;
  // Submissions waiting for their transactions to commit, by tx hash: the
  // submission and the transaction's slot in it.
  std::unordered_map<std::string, std::pair<pending_submit*, int>> waiting_txs_;
  // Submissions by arrival number (an order that does not depend on
  // addresses, so the simulator replays them alike).
  std::map<std::uint64_t, std::unique_ptr<pending_submit>> submits_;
  std::uint64_t submits_seen_ = 0;
};

}  // namespace ringchain::runtime
