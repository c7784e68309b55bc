// What the process-cluster tests share: signed load and answer counting.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>

#include "node/chain/block.h"
#include "proto/node.pb.h"
#include "sim/harness/cluster.h"

namespace ringchain::testing {

// `count` signed key-value writes from one sender; keys are "<tag>-<n>".
inline nodepb::SubmitRequest make_txs(const std::string& tag, std::uint64_t first_nonce,
                                      int count) {
  std::string seed = tag;
  seed.resize(32, '#');
  const chain::key_pair k = chain::key_pair_from_seed(seed);
  nodepb::SubmitRequest req;
  for (int i = 0; i < count; ++i) {
    const std::uint64_t nonce = first_nonce + static_cast<std::uint64_t>(i);
    *req.add_txs() =
        chain::make_transaction(k, nonce, tag + "-" + std::to_string(nonce), std::string(200, 'v'));
  }
  return req;
}

// All running nodes reach the leader's height with identical state.
inline void expect_agreement(harness::process_cluster& c) {
  using namespace std::chrono_literals;
  auto leader = c.wait_for_leader(10s);
  ASSERT_TRUE(leader.has_value());
  auto ls = c.status(*leader);
  ASSERT_TRUE(ls.has_value());
  ASSERT_TRUE(c.wait_for_height(ls->height(), 10s)) << "followers did not catch up";
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!c.running(i)) continue;
    auto s = c.status(i);
    ASSERT_TRUE(s.has_value());
    if (s->height() != ls->height()) continue;  // a newer block arrived meanwhile
    EXPECT_EQ(s->state_hash(), ls->state_hash()) << "node " << i + 1;
    EXPECT_EQ(s->tip_hash(), ls->tip_hash()) << "node " << i + 1;
  }
}

// What ringchain-client printed (stdout and stderr together) and its exit
// code (-1: it did not exit normally).
struct client_answer {
  std::string output;
  int code = -1;
};

// Runs `ringchain-client --node <address> <args>` (args as the shell reads
// them) and waits for it.
inline client_answer run_client(const std::string& address, const std::string& args) {
  const std::string cmd =
      std::string(RINGCHAIN_CLIENT_BINARY) + " --node " + address + " " + args + " 2>&1";
  client_answer a;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return a;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) a.output.append(buf.data(), n);
  const int st = ::pclose(p);
  a.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return a;
}

inline int committed(const nodepb::SubmitResponse& r) {
  int n = 0;
  for (const auto& t : r.results()) n += t.code() == nodepb::TxResult::COMMITTED;
  return n;
}

}  // namespace ringchain::testing
