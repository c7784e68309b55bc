#include "node/chain/block.h"

#include <bit>

namespace ringchain::chain {
namespace {

void put_u64(std::string* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

hash tree_hash(std::span<const hash> leaves) {
  if (leaves.size() == 1) return sha256({std::string_view("\0", 1), as_bytes(leaves[0])});
  const std::size_t k = std::bit_floor(leaves.size() - 1);
  const hash left = tree_hash(leaves.first(k));
  const hash right = tree_hash(leaves.subspan(k));
  return sha256({std::string_view("\1", 1), as_bytes(left), as_bytes(right)});
}

}  // namespace

hash merkle_root(std::span<const hash> leaves) {
  if (leaves.empty()) return sha256({""});
  return tree_hash(leaves);
}

hash header_hash(const chainpb::BlockHeader& h) {
  std::string enc = "ringchain-block-v1";
  put_u64(&enc, h.height());
  put_u64(&enc, h.term());
  put_u64(&enc, h.proposer());
  put_u64(&enc, h.round());
  put_u64(&enc, h.timestamp_us());
  put_u64(&enc, h.tx_count());
  enc += h.prev_hash();
  enc += h.merkle_root();
  return sha256({enc});
}

block make_block(const block_params& p, std::vector<transaction> txs) {
  std::vector<hash> leaves;
  leaves.reserve(txs.size());
  for (const auto& tx : txs) leaves.push_back(tx_hash(tx));
  block b;
  chainpb::BlockHeader* h = b.mutable_header();
  h->set_height(p.height);
  h->set_term(p.term);
  h->set_prev_hash(std::string(as_bytes(p.prev_hash)));
  h->set_merkle_root(std::string(as_bytes(merkle_root(leaves))));
  h->set_proposer(p.proposer);
  h->set_round(p.round);
  h->set_timestamp_us(p.timestamp_us);
  h->set_tx_count(static_cast<std::uint32_t>(txs.size()));
  for (auto& tx : txs) *b.add_txs() = std::move(tx);
  return b;
}

const char* to_string(block_error e) {
  switch (e) {
    case block_error::none: return "ok";
    case block_error::wrong_height: return "block height does not follow the chain";
    case block_error::wrong_prev_hash: return "previous-block hash does not match the chain";
    case block_error::wrong_tx_count: return "transaction count does not match the body";
    case block_error::wrong_merkle_root: return "Merkle root does not match the transactions";
  }
  return "?";
}

block_error check_link(const block& b, std::uint64_t height, const hash& prev_hash) {
  const auto& h = b.header();
  if (h.height() != height) return block_error::wrong_height;
  if (h.prev_hash() != as_bytes(prev_hash)) return block_error::wrong_prev_hash;
  return check_body(b);
}

block_error check_body(const block& b) {
  const auto& h = b.header();
  if (h.tx_count() != static_cast<std::uint32_t>(b.txs_size())) return block_error::wrong_tx_count;
  std::vector<hash> leaves;
  leaves.reserve(static_cast<std::size_t>(b.txs_size()));
  for (const auto& tx : b.txs()) leaves.push_back(tx_hash(tx));
  if (h.merkle_root() != as_bytes(merkle_root(leaves))) return block_error::wrong_merkle_root;
  return block_error::none;
}

}  // namespace ringchain::chain
