#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "node/chain/ledger.h"

namespace ringchain::fuzz {

void check_failed(const char* cond, const char* file, int line, const char* what) {
  std::fprintf(stderr, "fuzz check failed: %s at %s:%d: %s\n", cond, file, line, what);
  std::fflush(stderr);
  std::abort();
}

bool check_block(const chain::block& b, int signatures_max) {
  const chainpb::BlockHeader& h = b.header();
  const chain::hash header = chain::header_hash(h);
  FUZZ_CHECK(header == chain::header_hash(h), "the header hash is a function of the header");

  // The Merkle root and count, recomputed, against what the header claims.
  std::vector<chain::hash> leaves;
  leaves.reserve(static_cast<std::size_t>(b.txs_size()));
  int signatures = 0;
  for (const chain::transaction& tx : b.txs()) {
    leaves.push_back(chain::tx_hash(tx));
    const chain::tx_error shape = chain::check_shape(tx);
    if (shape == chain::tx_error::none && signatures < signatures_max) {
      ++signatures;
      const chain::tx_error full = chain::verify(tx);
      FUZZ_CHECK(full == chain::tx_error::none || full == chain::tx_error::bad_signature,
                 "verify adds only the signature to check_shape");
    } else if (shape != chain::tx_error::none) {
      FUZZ_CHECK(chain::verify(tx) == shape, "verify starts with check_shape");
    }
  }
  const chain::hash root = chain::merkle_root(leaves);
  chain::hash claimed_prev{};
  const bool prev_well_formed = h.prev_hash().size() == chain::hash_bytes;
  if (prev_well_formed) std::copy(h.prev_hash().begin(), h.prev_hash().end(), claimed_prev.begin());
  const chain::block_error self = chain::check_link(b, h.height(), claimed_prev);
  const bool consistent = h.tx_count() == static_cast<std::uint32_t>(b.txs_size()) &&
                          h.merkle_root() == chain::as_bytes(root);
  if (prev_well_formed) {
    FUZZ_CHECK((self == chain::block_error::none) == consistent,
               "check_link accepts exactly a matching count and Merkle root");
  }
  if (consistent && prev_well_formed) {
    // Rebuilt from its transactions, the block has the same header.
    chain::block_params p;
    p.height = h.height();
    p.term = h.term();
    p.prev_hash = claimed_prev;
    p.proposer = h.proposer();
    p.round = h.round();
    p.timestamp_us = h.timestamp_us();
    const chain::block rebuilt =
        chain::make_block(p, std::vector<chain::transaction>(b.txs().begin(), b.txs().end()));
    FUZZ_CHECK(chain::header_hash(rebuilt.header()) == header,
               "make_block over the same transactions gives the same header");
  }

  // The fixed tip, and a scratch ledger at it.
  const chain::block_error link = chain::check_link(b, first_height, chain::hash{});
  chain::ledger l;
  const chain::hash empty_state = l.state_hash();
  std::vector<int> skipped;
  const base::status applied = l.apply(b, &skipped);
  FUZZ_CHECK(applied.ok() == (link == chain::block_error::none),
             "the ledger applies exactly the blocks that link");
  if (!applied.ok()) {
    FUZZ_CHECK(l.height() == 0 && l.state_hash() == empty_state && l.keys() == 0,
               "a refused block changes nothing");
    return false;
  }
  FUZZ_CHECK(l.height() == first_height && l.tip() == header, "the tip is the applied block");
  for (std::size_t i = 0; i < skipped.size(); ++i) {
    FUZZ_CHECK(skipped[i] >= 0 && skipped[i] < b.txs_size(), "skipped indices are in the block");
    FUZZ_CHECK(i == 0 || skipped[i - 1] < skipped[i], "skipped indices ascend");
  }
  FUZZ_CHECK(!l.apply(b).ok(), "a block does not apply twice");
  chain::ledger again;
  FUZZ_CHECK(again.apply(b).ok() && again.state_hash() == l.state_hash(),
             "applying a block is deterministic");
  return true;
}

const chain::key_pair& test_key() {
  static const chain::key_pair k = chain::key_pair_from_seed(std::string(32, 'f'));
  return k;
}

chain::block test_block(std::uint64_t height, const chain::hash& prev, int txs,
                        std::uint64_t first_nonce) {
  std::vector<chain::transaction> body;
  for (int i = 0; i < txs; ++i) {
    body.push_back(chain::make_transaction(test_key(), first_nonce + static_cast<std::uint64_t>(i),
                                           "key-" + std::to_string(i), "value"));
  }
  chain::block_params p;
  p.height = height;
  p.term = 1;
  p.prev_hash = prev;
  p.proposer = 1;
  p.round = height;
  p.timestamp_us = 1'700'000'000'000'000;
  return chain::make_block(p, std::move(body));
}

}  // namespace ringchain::fuzz
