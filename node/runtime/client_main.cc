// ringchain-client: talk to a ringchain node.
//
//   ringchain-client --node 127.0.0.1:8001 status
//   ringchain-client --node 127.0.0.1:8001 block 5
//   ringchain-client --node 127.0.0.1:8001 submit --count 100 --size 64 --seed alice
//   ringchain-client --node 127.0.0.1:8001 lookup --tx 3f0c...   # or --key KEY, --sender PUBKEY
//   ringchain-client --node 127.0.0.1:9001 admin --barrier-delay-us 5000   # the admin port
//   ringchain-client --node 127.0.0.1:9001 admin --add-learner 4 --peer-address 127.0.0.1:7004
//   ringchain-client --node 127.0.0.1:9001 admin --promote 4
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include "node/chain/block.h"
#include "node/net/client.h"

namespace {

using namespace ringchain;
using namespace std::chrono_literals;

int fail(const std::string& why) {
  std::cerr << "ringchain-client: " << why << "\n";
  return 1;
}

void print_status(const nodepb::NodeStatus& s) {
  std::cout << "node " << s.id() << ": " << s.role() << ", term " << s.term() << ", leader "
            << s.leader() << "\nheight " << s.height() << ", commit index " << s.commit_index()
            << ", last index " << s.last_index() << ", mempool " << s.mempool_txs()
            << "\nstate hash " << chain::to_hex(s.state_hash()) << "\ntip "
            << chain::to_hex(s.tip_hash()) << "\nio " << s.io() << ", persistence "
            << s.persistence() << "\n";
  // Every counter, by name: the same lines in the same order every time.
  const std::map<std::string, std::uint64_t> sorted(s.counters().begin(), s.counters().end());
  std::cout << "counters:\n";
  for (const auto& [k, v] : sorted) std::cout << "  " << k << " " << v << "\n";
  if (s.clock_offset_ms() != 0 || s.clock_drift_ppm() != 0) {
    std::cout << "clock error: offset " << s.clock_offset_ms() << " ms, drift "
              << s.clock_drift_ppm() << " ppm\n";
  }
  for (const auto& e : s.emulation()) {
    std::cout << "network emulation to node " << e.peer() << ": delay " << e.delay_ms()
              << " ms, jitter " << e.jitter_ms() << " ms, loss " << e.loss_ppm() << " ppm"
              << (e.partitioned() ? ", partitioned" : "") << "\n";
  }
  const auto ids = [](const auto& list) {
    std::string out;
    for (std::uint64_t id : list) out += (out.empty() ? "" : " ") + std::to_string(id);
    return out.empty() ? std::string("none") : out;
  };
  std::cout << "members: voters " << ids(s.voters()) << "; learners " << ids(s.learners()) << "\n";
  for (const auto& p : s.progress()) {
    std::cout << "  node " << p.id() << " (" << (p.voter() ? "voter" : "learner") << "): match "
              << p.match() << " of " << p.last_index() << "\n";
  }
  if (s.peers_size() > 0) std::cout << "peers:\n";
  const auto ago = [](std::int64_t ms) {
    return ms < 0 ? std::string("never") : std::to_string(ms) + " ms ago";
  };
  for (const auto& p : s.peers()) {
    std::cout << "  node " << p.id() << ": link " << (p.connected() ? "up" : "down") << " since "
              << ago(p.changed_ms_ago()) << ", last heard " << ago(p.last_heard_ms_ago()) << "\n";
  }
}

int status(net::client& c) {
  nodepb::ClientRequest req;
  req.mutable_status();
  auto resp = c.call(req, 5s);
  if (!resp.ok()) return fail(resp.message());
  print_status(resp->status());
  return 0;
}

// Whether the status shows a membership change in force and committed.
bool change_in_force(const nodepb::NodeStatus& s, const raftpb::ConfChange& cc) {
  if (s.commit_index() < s.conf_index()) return false;
  const auto has = [](const auto& list, std::uint64_t id) {
    return std::find(list.begin(), list.end(), id) != list.end();
  };
  switch (cc.type()) {
    case raftpb::ConfChange::ADD_LEARNER: return has(s.learners(), cc.node());
    case raftpb::ConfChange::PROMOTE: return has(s.voters(), cc.node());
    case raftpb::ConfChange::REMOVE:
      return !has(s.voters(), cc.node()) && !has(s.learners(), cc.node());
    default: return false;
  }
}

int admin(net::client& c, const nodepb::AdminRequest& a, int timeout_s) {
  nodepb::ClientRequest req;
  *req.mutable_admin() = a;
  auto resp = c.call(req, 5s);
  if (!resp.ok()) {
    return fail(resp.message() + " (admin requests are taken on the node's admin port, " +
                "listen_admin, only)");
  }
  if (resp->has_error()) return fail(resp->error());
  if (!a.has_membership()) {
    print_status(resp->status());
    return 0;
  }
  // A membership change is proposed: wait until it is committed.
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  nodepb::ClientRequest status_req;
  status_req.mutable_status();
  while (true) {
    auto st = c.call(status_req, 5s);
    if (!st.ok()) return fail(st.message());
    if (change_in_force(st->status(), a.membership())) {
      std::cout << "membership change in force: "
                << raftpb::ConfChange::Type_Name(a.membership().type()) << " node "
                << a.membership().node() << "\n";
      print_status(st->status());
      return 0;
    }
    if (std::chrono::steady_clock::now() > end) {
      return fail("the change was proposed but is not in force after " + std::to_string(timeout_s) +
                  " s (no quorum, or the leader changed); check the status before proposing it "
                  "again");
    }
    std::this_thread::sleep_for(50ms);
  }
}

int block(net::client& c, std::uint64_t height) {
  nodepb::ClientRequest req;
  req.mutable_block()->set_height(height);
  auto resp = c.call(req, 5s);
  if (!resp.ok()) return fail(resp.message());
  if (!resp->block().found()) {
    return fail(resp->block().reason().empty()
                    ? "no committed block at height " + std::to_string(height)
                    : resp->block().reason());
  }
  const auto& h = resp->block().block().header();
  std::cout << "block " << h.height() << " (term " << h.term() << ", round " << h.round()
            << ", proposer " << h.proposer() << ")\nhash "
            << chain::to_hex(chain::as_bytes(chain::header_hash(h))) << "\nprev "
            << chain::to_hex(h.prev_hash()) << "\nmerkle root " << chain::to_hex(h.merkle_root())
            << "\ntransactions " << h.tx_count() << "\n";
  return 0;
}

struct submit_options {
  int count = 1;
  int size = 32;
  std::string seed = "ringchain-client";
  int timeout_s = 30;
};

nodepb::ClientRequest make_submit(const submit_options& o) {
  std::string seed32 = o.seed;
  seed32.resize(32, '.');
  const chain::key_pair k = chain::key_pair_from_seed(seed32);
  // Nonces follow the wall clock so that repeated runs with one seed do
  // not replay each other.
  const auto base =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  nodepb::ClientRequest req;
  for (int i = 0; i < o.count; ++i) {
    const std::uint64_t nonce = base + static_cast<std::uint64_t>(i);
    *req.mutable_submit()->add_txs() = chain::make_transaction(
        k, nonce, o.seed + "-" + std::to_string(nonce), std::string(o.size, 'v'));
  }
  return req;
}

// Prints each transaction's hash and outcome: the height it committed at,
// or why it was refused.
int report(const nodepb::ClientRequest& req, const nodepb::SubmitResponse& r) {
  int committed = 0;
  const auto& txs = req.submit().txs();
  if (!txs.empty()) {
    std::cout << "sender " << chain::to_hex(txs[0].sender()) << ", nonces " << txs[0].nonce()
              << ".." << txs[txs.size() - 1].nonce() << "\n";
  }
  for (int i = 0; i < r.results_size(); ++i) {
    const auto& t = r.results(i);
    const std::string hash = chain::to_hex(chain::as_bytes(chain::tx_hash(req.submit().txs(i))));
    if (t.code() == nodepb::TxResult::COMMITTED) {
      ++committed;
      std::cout << hash << " committed at height " << t.height() << "\n";
    } else {
      std::cout << hash << " refused: " << (t.reason().empty() ? "not the leader" : t.reason())
                << "\n";
    }
  }
  std::cout << committed << " of " << req.submit().txs_size() << " transactions committed\n";
  return committed == req.submit().txs_size() ? 0 : 1;
}

int submit(net::client& c, const std::string& node, const submit_options& o) {
  const nodepb::ClientRequest req = make_submit(o);
  for (int hop = 0; hop < 3; ++hop) {
    auto resp = c.call(req, std::chrono::seconds(o.timeout_s));
    if (!resp.ok()) {
      return fail(resp.message() + "; the transactions may still commit: check the chain " +
                  "(lookup --tx or --sender) before resending");
    }
    const auto& r = resp->submit();
    if (r.results_size() > 0 && r.results(0).code() == nodepb::TxResult::NOT_LEADER &&
        !r.leader_client().empty()) {
      std::cerr << "redirected from " << node << " to the leader at " << r.leader_client() << "\n";
      if (base::status s = c.connect(r.leader_client(), 2s); !s.ok()) return fail(s.message());
      continue;
    }
    return report(req, r);
  }
  return fail("no leader");
}

// What to look up: exactly one of a transaction hash, a key or a sender
// (hexadecimal on the command line), and for a sender, a nonce to judge.
struct lookup_options {
  std::string tx_hex;
  std::string key;
  std::string sender_hex;
  std::optional<std::uint64_t> nonce;
};

// A value as text when it is printable, else as hexadecimal.
std::string printable(const std::string& v) {
  for (unsigned char ch : v) {
    if (ch < 0x20 || ch > 0x7e) return "hex:" + chain::to_hex(v);
  }
  return v;
}

// Builds the request, or says what is wrong with the options.
base::result<nodepb::LookupRequest> make_lookup(const lookup_options& o) {
  const int named = !o.tx_hex.empty() + !o.key.empty() + !o.sender_hex.empty();
  if (named != 1) return base::fail("lookup takes exactly one of --tx, --key and --sender");
  if (o.nonce && o.sender_hex.empty()) return base::fail("--nonce goes with --sender");
  nodepb::LookupRequest req;
  const auto bytes_of = [](const std::string& hex, const char* what,
                           std::size_t n) -> base::result<std::string> {
    std::optional<std::string> b = chain::from_hex(hex);
    if (!b || b->size() != n) {
      return base::fail(std::string(what) + " is " + std::to_string(2 * n) +
                        " hexadecimal digits, not \"" + hex + "\"");
    }
    return *b;
  };
  if (!o.tx_hex.empty()) {
    base::result<std::string> b =
        bytes_of(o.tx_hex, "--tx (a transaction hash)", chain::hash_bytes);
    if (!b.ok()) return base::fail(b.message());
    req.set_tx_hash(std::move(*b));
  } else if (!o.sender_hex.empty()) {
    base::result<std::string> b =
        bytes_of(o.sender_hex, "--sender (a public key)", chain::public_key_bytes);
    if (!b.ok()) return base::fail(b.message());
    req.set_sender(std::move(*b));
  } else {
    req.set_key(o.key);
  }
  return req;
}

// Prints the node's answer; exit code 0 when it found what was asked (for
// a sender: always), 1 otherwise.
int print_lookup(const lookup_options& o, const nodepb::LookupResponse& r) {
  const std::string at = " (this node's state is at height " + std::to_string(r.height()) + ")";
  if (!o.tx_hex.empty()) {
    if (r.found()) {
      std::cout << o.tx_hex << " committed at height " << r.tx_height() << at << "\n";
      return 0;
    }
    std::cout << o.tx_hex << " not found in the blocks this node indexes ";
    if (r.indexed_from() > r.indexed_through()) {
      std::cout << "(none yet: it indexes blocks from height " << r.indexed_from() << " on)";
    } else {
      std::cout << "(heights " << r.indexed_from() << ".." << r.indexed_through() << ")";
    }
    std::cout << "; it may have committed outside them: its sender's last nonce (lookup "
                 "--sender KEY --nonce N) says whether it can still commit\n";
    return 1;
  }
  if (!o.key.empty()) {
    if (!r.found()) {
      std::cout << "key " << o.key << " holds no value" << at << "\n";
      return 1;
    }
    std::cout << "key " << o.key << " = " << printable(r.value()) << at << "\n";
    return 0;
  }
  std::cout << "sender " << o.sender_hex << ": last committed nonce " << r.nonce() << at << "\n";
  if (o.nonce) {
    if (r.nonce() >= *o.nonce) {
      std::cout << "nonce " << *o.nonce << ": committed, or can no longer commit (a transaction "
                << "with this nonce or a later one committed)\n";
    } else {
      std::cout << "nonce " << *o.nonce << ": not committed as of height " << r.height()
                << "; it may still commit\n";
    }
  }
  return 0;
}

int lookup(net::client& c, const lookup_options& o, const nodepb::LookupRequest& lr) {
  nodepb::ClientRequest req;
  *req.mutable_lookup() = lr;
  auto resp = c.call(req, 5s);
  if (!resp.ok()) return fail(resp.message());
  if (resp->has_error()) return fail(resp->error());
  return print_lookup(o, resp->lookup());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "ringchain-client: submit transactions to a ringchain node, show its status or a block, "
      "look up a transaction, key or sender in its committed state, or send operator requests "
      "to its admin port"};
  std::string node = "127.0.0.1:8001";
  app.add_option("--node", node, "the node's client (or, for admin, admin) address, host:port");
  app.require_subcommand(1);
  auto* st = app.add_subcommand("status", "show the node's consensus and chain status");
  std::uint64_t height = 1;
  auto* bl = app.add_subcommand("block", "show a committed block");
  bl->add_option("height", height, "block height")->required();
  submit_options so;
  auto* sub =
      app.add_subcommand("submit", "generate, sign and submit transactions; wait for commit");
  sub->add_option("--count", so.count, "how many transactions")->check(CLI::Range(1, 1024));
  sub->add_option("--size", so.size, "value bytes per transaction")->check(CLI::Range(1, 60000));
  sub->add_option("--seed", so.seed, "the sender's key seed (same seed, same sender)");
  sub->add_option("--timeout", so.timeout_s, "seconds to wait for the commit")
      ->check(CLI::Range(1, 3600));
  lookup_options lo;
  auto* lk = app.add_subcommand(
      "lookup", "what this node's committed state says of a transaction, key or sender");
  lk->add_option("--tx", lo.tx_hex, "a transaction's hash (hex, as submit prints it)");
  lk->add_option("--key", lo.key, "a ledger key: its value");
  lk->add_option("--sender", lo.sender_hex,
                 "a sender's public key (hex, as submit prints it): its last committed nonce");
  lk->add_option_function<std::uint64_t>(
      "--nonce", [&lo](std::uint64_t v) { lo.nonce = v; },
      "with --sender: whether a transaction with this nonce committed or still may");
  nodepb::AdminRequest ar;
  auto* adm = app.add_subcommand("admin", "operator requests, sent to the node's admin port");
  adm->add_option_function<std::uint32_t>(
      "--barrier-delay-us", [&ar](std::uint32_t v) { ar.set_barrier_delay_us(v); },
      "delay added after every fdatasync (slow-disk experiments; 0: none)");
  nodepb::LinkEmulation link;
  adm->add_option_function<std::uint64_t>(
      "--link", [&link](std::uint64_t v) { link.set_peer(v); },
      "network emulation on the link to this peer (with the options below)");
  adm->add_option_function<std::uint32_t>(
      "--delay-ms", [&link](std::uint32_t v) { link.set_delay_ms(v); }, "--link: added delay");
  adm->add_option_function<std::uint32_t>(
      "--jitter-ms", [&link](std::uint32_t v) { link.set_jitter_ms(v); },
      "--link: uniform jitter on top");
  adm->add_option_function<double>(
      "--loss", [&link](double v) { link.set_loss_ppm(static_cast<std::uint32_t>(v * 1e4)); },
      "--link: percent of messages dropped");
  adm->add_flag_function(
      "--partition", [&link](std::int64_t) { link.set_partitioned(true); },
      "--link: drop every message (all emulation options zero heal the link)");
  adm->add_option_function<std::int64_t>(
      "--clock-offset-ms", [&ar](std::int64_t v) { ar.set_clock_offset_ms(v); },
      "this node's wall clock error");
  adm->add_option_function<std::int32_t>(
      "--clock-drift-ppm", [&ar](std::int32_t v) { ar.set_clock_drift_ppm(v); },
      "this node's timer rate error");
  // Membership changes (sent to the leader's admin port).
  raftpb::ConfChange change;
  int change_timeout_s = 30;
  auto* add = adm->add_option_function<std::uint64_t>(
      "--add-learner",
      [&change](std::uint64_t v) {
        change.set_type(raftpb::ConfChange::ADD_LEARNER);
        change.set_node(v);
      },
      "add this node id as a learner (with --peer-address; start the node with join = true)");
  auto* promote = adm->add_option_function<std::uint64_t>(
      "--promote",
      [&change](std::uint64_t v) {
        change.set_type(raftpb::ConfChange::PROMOTE);
        change.set_node(v);
      },
      "make this learner a voter, once it has caught up");
  auto* remove = adm->add_option_function<std::uint64_t>(
      "--remove",
      [&change](std::uint64_t v) {
        change.set_type(raftpb::ConfChange::REMOVE);
        change.set_node(v);
      },
      "remove this node (a voter or a learner) from the cluster");
  add->excludes(promote)->excludes(remove);
  promote->excludes(remove);
  adm->add_option_function<std::string>(
         "--peer-address", [&change](const std::string& v) { change.set_peer_address(v); },
         "--add-learner: the new node's peer address, host:port")
      ->needs(add);
  adm->add_option_function<std::string>(
         "--client-address", [&change](const std::string& v) { change.set_client_address(v); },
         "--add-learner: the new node's client address, host:port (for redirects)")
      ->needs(add);
  adm->add_option("--change-timeout", change_timeout_s,
                  "seconds to wait for a membership change to be in force")
      ->check(CLI::Range(1, 3600));
  CLI11_PARSE(app, argc, argv);
  // Bad lookup options are refused before any connection.
  base::result<nodepb::LookupRequest> lr = nodepb::LookupRequest{};
  if (lk->parsed()) lr = make_lookup(lo);
  if (!lr.ok()) return fail(lr.message());
  net::client c;
  if (base::status s = c.connect(node, 2s); !s.ok()) return fail(s.message());
  if (st->parsed()) return status(c);
  if (bl->parsed()) return block(c, height);
  if (lk->parsed()) return lookup(c, lo, *lr);
  if (adm->parsed()) {
    if (link.peer() != 0) *ar.add_links() = link;
    if (change.node() != 0) *ar.mutable_membership() = change;
    return admin(c, ar, change_timeout_s);
  }
  return submit(c, node, so);
}
