// Blocks: Merkle roots, header hashes, construction and the chain link.
#pragma once

#include <span>
#include <vector>

#include "node/chain/transaction.h"

namespace ringchain::chain {

using block = chainpb::Block;

// The Merkle root of transaction hashes, as RFC 6962 (Certificate
// Transparency) defines it: leaves hashed as H(0x00 || leaf), inner nodes
// as H(0x01 || left || right), the split at the largest power of two below
// the count. The domain bytes keep a leaf from passing for an inner node.
// The root of no leaves is H("").
hash merkle_root(std::span<const hash> leaves);

// SHA-256 of the header's canonical encoding (fixed-width fields, then the
// two hashes); what the next block's prev_hash names.
hash header_hash(const chainpb::BlockHeader& h);

// What a block's proposer fills in.
struct block_params {
  std::uint64_t height = 0;
  std::uint64_t term = 0;
  hash prev_hash{};
  std::uint64_t proposer = 0;
  std::uint64_t round = 0;
  std::uint64_t timestamp_us = 0;
};

block make_block(const block_params& p, std::vector<transaction> txs);

enum class block_error { none, wrong_height, wrong_prev_hash, wrong_tx_count, wrong_merkle_root };
const char* to_string(block_error e);

// Whether the header matches the body: the transaction count and the
// Merkle root of the transactions' hashes.
block_error check_body(const block& b);

// Whether `b` follows the block at height - 1 whose header hash is
// `prev_hash`, and its header matches its body.
block_error check_link(const block& b, std::uint64_t height, const hash& prev_hash);

}  // namespace ringchain::chain
