// The client service: the client port (submit, status, block queries and
// lookups of a transaction, key or sender in the committed state),
// the admin port (operator requests; loopback by default) and in-process
// submissions. A submission's transactions are verified off the loop
// (verifier.h, in batches, fairly between connections), enter the mempool,
// and wait there until a committed block settles each of them; then the
// client is answered, once. Admin requests on the client port are refused:
// anything that changes the node's behaviour needs the admin port.
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
#include "node/runtime/tx_index.h"
#include "node/runtime/verifier.h"
#include "proto/node.pb.h"

namespace ringchain::runtime {

// What the client service asks of the rest of the node.
struct client_service_hooks {
  // Fills a status answer.
  std::function<void(nodepb::NodeStatus*)> fill_status;
  // Applies an admin request (experiment knobs: slow disk, network
  // emulation, clock error); an error refuses it.
  std::function<base::status(const nodepb::AdminRequest&)> admin;
  // The committed block at a height, or why the node does not hold it.
  std::function<base::result<chain::block>(std::uint64_t height)> find_block;
  // The index of recent transactions, which answers lookups by hash.
  std::function<const tx_index&()> recent_txs;
  // Verified transactions entered the mempool: cut full blocks and run
  // the Ready loop.
  std::function<void()> admitted;
};

// The node's client service (see the top of this file). It owns the client
// and admin ports and the verifier, and runs on the reactor thread.
class client_service {
 public:
  // Replies for in-process clients.
  using reply_fn = std::function<void(const nodepb::ClientResponse&)>;

  // A service that checks signatures as `env` says (its verify_tx, and
  // inline or on cfg.verify_threads workers), counts in `budget` (the
  // node's, which outlives it) and reaches the rest of the node through
  // `hooks`. No port is open until listen().
  client_service(node_parts parts, const node_env& env, net::node_budget& budget,
                 client_service_hooks hooks);
  // Closes the ports and stops the verifier (defined where pending_submit
  // is complete).
  ~client_service();
  client_service(const client_service&) = delete;
  client_service& operator=(const client_service&) = delete;

  // Opens the client port on "host:port".
  base::status listen(const std::string& address);
  // Opens the admin port on "host:port".
  base::status listen_admin(const std::string& address);
  // Connections open on the client port.
  std::size_t connections() const;
  // A submission from a client in the same process; `reply` gets its
  // response, once.
  void submit(nodepb::ClientRequest req, reply_fn reply);

  // Whether any submitted transaction waits for its block.
  bool waiting() const { return !waiting_txs_.empty(); }
  // A committed block at `height` settled the transaction whose hash is
  // `tx`: applied, or skipped as a stale nonce. Answers its client once
  // nothing of its submission waits.
  void settle(const chain::hash& tx, std::uint64_t height, bool applied);
  // The leader's block never entered the log (`why`): its transactions
  // are refused, and their clients answered.
  void refuse_block(const chain::block& b, const std::string& why);
  // This node stopped leading: waiting submissions may or may not commit,
  // and their clients are told so.
  void leadership_lost();

 private:
  struct pending_submit;
  void on_frame(net::framed_connection& c, std::string_view body, bool admin);
  void on_closed(net::framed_connection& c);
  void lookup(const nodepb::LookupRequest& req, nodepb::ClientResponse* resp) const;
  void handle_submit(std::unique_ptr<pending_submit> submit, nodepb::ClientRequest& req);
  bool start_verifying(pending_submit* submit, nodepb::ClientRequest& req);
  void refuse_all(pending_submit* submit, const std::string& why);
  void on_verified(verify_job&& job);
  void finish_if_done(pending_submit* submit);
  void respond(pending_submit& submit);
  void reply(net::framed_connection& c, const nodepb::ClientResponse& r);

  node_parts parts_;
  client_service_hooks hooks_;
  std::unique_ptr<verifier> verifier_;
  net::node_budget& budget_;
  net::port_limits client_limits_;
  net::port_limits admin_limits_;
  std::unique_ptr<net::frame_server> server_;
  std::unique_ptr<net::frame_server> admin_server_;
  // Signature-check batches waiting, by connection tag (its fair share).
  std::map<std::uint64_t, std::size_t> verifying_;
  // Submissions waiting for their transactions to commit, by tx hash: the
  // submission and the transaction's slot in it.
  std::unordered_map<std::string, std::pair<pending_submit*, int>> waiting_txs_;
  // Submissions by arrival number (an order that does not depend on
  // addresses, so the simulator replays them alike).
  std::map<std::uint64_t, std::unique_ptr<pending_submit>> submits_;
  std::uint64_t submits_seen_ = 0;
  // Client connections that sent a frame (their tags are 1, 2, ...).
  std::uint64_t connections_seen_ = 0;
};

}  // namespace ringchain::runtime
