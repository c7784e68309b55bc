// Small helpers shared by the chain's tests.
#pragma once

#include <string>
#include <vector>

#include "node/chain/block.h"

namespace ringchain::chain {

// A key pair derived from 32 copies of `c`: the same for the same letter.
inline key_pair seeded(char c) {
  return key_pair_from_seed(std::string(32, c));
}

// A block at `height` after `prev`, of term 1, proposed by node 1.
inline block chain_block(std::uint64_t height, const hash& prev, std::vector<transaction> txs) {
  block_params p;
  p.height = height;
  p.term = 1;
  p.prev_hash = prev;
  p.proposer = 1;
  p.round = height;
  return make_block(p, std::move(txs));
}

}  // namespace ringchain::chain
