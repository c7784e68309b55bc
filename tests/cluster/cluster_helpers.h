// What the process-cluster tests share: signed load and answer counting.
#pragma once

#include <string>

#include "node/chain/block.h"
#include "proto/node.pb.h"

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

inline int committed(const nodepb::SubmitResponse& r) {
  int n = 0;
  for (const auto& t : r.results()) n += t.code() == nodepb::TxResult::COMMITTED;
  return n;
}

}  // namespace ringchain::testing
