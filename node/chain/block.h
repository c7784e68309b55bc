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
  // The block's place in the chain: its parent's height plus one; the first
  // block is 1.
  std::uint64_t height = 0;
  // The consensus term the block is proposed in.
  std::uint64_t term = 0;
  // The header hash of the parent block; all zeros for the first block.
  hash prev_hash{};
  // The id of the node that cuts the block.
  std::uint64_t proposer = 0;
  // The proposer's round counter: rounds its block producer started, a full
  // block starting one of its own.
  std::uint64_t round = 0;
  // The proposer's wall clock at the cut, microseconds since the epoch;
  // informative only, never checked.
  std::uint64_t timestamp_us = 0;
};

// A block of `txs`, in this order, under a header of `p`, with the transaction
// count and the Merkle root of the transactions' hashes filled in.
block make_block(const block_params& p, std::vector<transaction> txs);

// Why a block does not fit: its header against the chain (check_link) or
// against its own body (check_body).
enum class block_error { none, wrong_height, wrong_prev_hash, wrong_tx_count, wrong_merkle_root };
// A sentence for the error, "ok" for none.
const char* to_string(block_error e);

// Whether the header matches the body: the transaction count and the
// Merkle root of the transactions' hashes.
block_error check_body(const block& b);

// Whether `b` follows the block at height - 1 whose header hash is
// `prev_hash`, and its header matches its body.
block_error check_link(const block& b, std::uint64_t height, const hash& prev_hash);

}  // namespace ringchain::chain
