// ringchain-client: talk to a ringchain node.
//
//   ringchain-client --node 127.0.0.1:8001 status
//   ringchain-client --node 127.0.0.1:8001 block 5
//   ringchain-client --node 127.0.0.1:8001 submit --count 100 --size 64 --seed alice
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <map>

#include "node/chain/block.h"
#include "node/net/client.h"

namespace {

using namespace ringchain;
using namespace std::chrono_literals;

int status(net::client& c) {
  nodepb::ClientRequest req;
  req.mutable_status();
  std::string err;
  auto resp = c.call(req, 5s, &err);
  if (!resp) {
    std::cerr << "ringchain-client: " << err << "\n";
    return 1;
  }
  const auto& s = resp->status();
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
  return 0;
}

int block(net::client& c, std::uint64_t height) {
  nodepb::ClientRequest req;
  req.mutable_block()->set_height(height);
  std::string err;
  auto resp = c.call(req, 5s, &err);
  if (!resp) {
    std::cerr << "ringchain-client: " << err << "\n";
    return 1;
  }
  if (!resp->block().found()) {
    std::cerr << "ringchain-client: no committed block at height " << height << "\n";
    return 1;
  }
  const auto& h = resp->block().block().header();
  std::cout << "block " << h.height() << " (term " << h.term() << ", round " << h.round()
            << ", proposer " << h.proposer() << ")\nhash "
            << chain::to_hex(chain::as_bytes(chain::header_hash(h))) << "\nprev "
            << chain::to_hex(h.prev_hash()) << "\nmerkle root " << chain::to_hex(h.merkle_root())
            << "\ntransactions " << h.tx_count() << "\n";
  return 0;
}

int submit(net::client& c, const std::string& node, int count, int size, const std::string& seed) {
  std::string seed32 = seed;
  seed32.resize(32, '.');
  const chain::key_pair k = chain::key_pair_from_seed(seed32);
  // Nonces follow the wall clock so that repeated runs with one seed do
  // not replay each other.
  const auto base =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  nodepb::ClientRequest req;
  for (int i = 0; i < count; ++i) {
    *req.mutable_submit()->add_txs() =
        chain::make_transaction(k, base + static_cast<std::uint64_t>(i),
                                seed + "-" + std::to_string(base + i), std::string(size, 'v'));
  }
  std::string err;
  for (int hop = 0; hop < 3; ++hop) {
    auto resp = c.call(req, 30s, &err);
    if (!resp) break;
    const auto& r = resp->submit();
    if (r.results_size() > 0 && r.results(0).code() == nodepb::TxResult::NOT_LEADER &&
        !r.leader_client().empty()) {
      std::cerr << "redirected from " << node << " to the leader at " << r.leader_client() << "\n";
      if (std::string e = c.connect(r.leader_client(), 2s); !e.empty()) {
        err = e;
        break;
      }
      continue;
    }
    int committed = 0;
    for (const auto& t : r.results()) {
      if (t.code() == nodepb::TxResult::COMMITTED) {
        ++committed;
      } else {
        std::cerr << "refused: " << (t.reason().empty() ? "not the leader" : t.reason()) << "\n";
      }
    }
    std::cout << committed << " of " << count << " transactions committed\n";
    return committed == count ? 0 : 1;
  }
  std::cerr << "ringchain-client: " << (err.empty() ? "no leader" : err) << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "ringchain-client: submit transactions to a ringchain node, show its status or a block"};
  std::string node = "127.0.0.1:8001";
  app.add_option("--node", node, "the node's client address, host:port");
  app.require_subcommand(1);
  auto* st = app.add_subcommand("status", "show the node's consensus and chain status");
  std::uint64_t height = 1;
  auto* bl = app.add_subcommand("block", "show a committed block");
  bl->add_option("height", height, "block height")->required();
  int count = 1, size = 32;
  std::string seed = "ringchain-client";
  auto* sub =
      app.add_subcommand("submit", "generate, sign and submit transactions; wait for commit");
  sub->add_option("--count", count, "how many transactions")->check(CLI::Range(1, 100000));
  sub->add_option("--size", size, "value bytes per transaction")->check(CLI::Range(1, 60000));
  sub->add_option("--seed", seed, "the sender's key seed (same seed, same sender)");
  CLI11_PARSE(app, argc, argv);
  net::client c;
  if (std::string err = c.connect(node, 2s); !err.empty()) {
    std::cerr << "ringchain-client: " << err << "\n";
    return 1;
  }
  if (st->parsed()) return status(c);
  if (bl->parsed()) return block(c, height);
  return submit(c, node, count, size, seed);
}
