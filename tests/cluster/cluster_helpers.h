// What the process-cluster tests share: signed load and answer counting.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
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

inline int committed(const nodepb::SubmitResponse& r) {
  int n = 0;
  for (const auto& t : r.results()) n += t.code() == nodepb::TxResult::COMMITTED;
  return n;
}

}  // namespace ringchain::testing
