// Cluster benchmark: a 3-node cluster of real ringchain-node processes on
// this machine, 256-byte transactions, 256 per block, for both I/O backends
// and both persistence policies. Prints committed transactions per second
// and block commit latency (from the block's cut on the leader to durable
// on a quorum, read from the leader's block trace).
//
//   cluster_bench [--blocks N] [--clients K]
//
// Transactions are generated and signed before the clock starts; each
// client thread submits one block's worth (256) at a time and waits for the
// commit, so K clients keep up to K blocks in flight.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "node/chain/transaction.h"
#include "sim/harness/cluster.h"

namespace {

using namespace ringchain;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr int txs_per_block = 256;
constexpr std::size_t tx_bytes = 256;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5))];
}

// One request per block's worth of transactions, signed up front. The
// value fills the payload to about tx_bytes.
std::vector<nodepb::SubmitRequest> presign(int blocks, int clients) {
  std::vector<nodepb::SubmitRequest> out(static_cast<std::size_t>(blocks));
  std::vector<chain::key_pair> keys;
  for (int c = 0; c < clients; ++c)
    keys.push_back(chain::key_pair_from_seed(std::string(32, static_cast<char>('A' + c))));
  for (int b = 0; b < blocks; ++b) {
    const auto& k = keys[static_cast<std::size_t>(b % clients)];
    for (int t = 0; t < txs_per_block; ++t) {
      const std::uint64_t nonce = static_cast<std::uint64_t>(b / clients) * txs_per_block + t + 1;
      *out[static_cast<std::size_t>(b)].add_txs() =
          chain::make_transaction(k, nonce, "k" + std::to_string(b) + "-" + std::to_string(t),
                                  std::string(tx_bytes - 120, 'v'));
    }
  }
  return out;
}

struct cell {
  double tx_per_s = 0;
  double p50_ms = 0, p99_ms = 0, round_p99_ms = 0;
  std::size_t blocks = 0;
  std::string error;
};

cell run(const std::string& io, const std::string& policy, int blocks, int clients) {
  cell out;
  harness::process_cluster_options o;
  o.io = io;
  o.persistence = policy;
  o.round_interval_ms = 100;
  o.extra_args = {"--block_txs_max", std::to_string(txs_per_block), "--log_level", "warn"};
  harness::process_cluster c(o);
  c.start_all();
  auto leader = c.wait_for_leader(10s);
  if (!leader) {
    out.error = "no leader";
    return out;
  }
  const auto requests = presign(blocks, clients);
  std::atomic<int> committed{0};
  const auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    // Each client owns every clients-th request, so its nonces rise in order.
    threads.emplace_back([&, t] {
      for (int b = t; b < blocks; b += clients) {
        auto r = c.submit(*leader, requests[static_cast<std::size_t>(b)], 60s);
        if (!r) continue;
        for (const auto& res : r->results()) committed += res.code() == nodepb::TxResult::COMMITTED;
      }
    });
  }
  for (auto& th : threads) th.join();
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  out.tx_per_s = committed / seconds;
  c.stop(0);
  c.stop(1);
  c.stop(2);
  std::ifstream trace(c.data_dir(*leader) / "trace.jsonl");
  std::vector<double> lat, round_lat;
  for (std::string line; std::getline(trace, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["txs"].get<int>() == 0) continue;
    lat.push_back((j["committed_us"].get<double>() - j["cut_us"].get<double>()) / 1000.0);
    round_lat.push_back((j["committed_us"].get<double>() - j["round_start_us"].get<double>()) /
                        1000.0);
  }
  out.blocks = lat.size();
  out.p50_ms = percentile(lat, 50);
  out.p99_ms = percentile(lat, 99);
  out.round_p99_ms = percentile(round_lat, 99);
  if (committed != blocks * txs_per_block) {
    out.error = std::to_string(committed.load()) + " of " + std::to_string(blocks * txs_per_block) +
                " committed";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int blocks = 200, clients = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--blocks") == 0) blocks = std::max(4, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--clients") == 0) clients = std::max(1, std::atoi(argv[i + 1]));
  }
  std::printf(
      "cluster benchmark: 3 nodes on 127.0.0.1, %d-byte transactions, %d per block, %d client "
      "threads\n\n",
      static_cast<int>(tx_bytes), txs_per_block, clients);
  std::printf("%-6s %-9s %7s %10s %13s %13s %15s\n", "io", "policy", "blocks", "tx/s",
              "commit_p50_ms", "commit_p99_ms", "from_round_p99");
  for (const char* io : {"uring", "epoll"}) {
    for (const char* policy : {"per_block", "per_tx"}) {
      // per_tx makes 256 barriers per block on every node: fewer blocks.
      const int n = std::strcmp(policy, "per_tx") == 0 ? std::max(clients, blocks / 10) : blocks;
      const cell r = run(io, policy, n, clients);
      std::printf("%-6s %-9s %7zu %10.0f %13.2f %13.2f %15.2f %s\n", io, policy, r.blocks,
                  r.tx_per_s, r.p50_ms, r.p99_ms, r.round_p99_ms, r.error.c_str());
    }
  }
  std::printf(
      "\ncommit: from the block's cut on the leader to durable on a quorum (leader's trace).\n"
      "from_round: from the start of the block's round (what the round deadline counts).\n");
  return 0;
}
