// A chain block from arbitrary bytes, through every check the chain offers
// (fuzz_support.h: check_block): the header hash, check_link against a
// fixed tip and against the block's own claims, the Merkle root recomputed,
// make_block over its transactions, each transaction's shape and (for at
// most 8 per input) signature, and ledger::apply on a scratch ledger, with
// the answers cross-checked. A block is also the payload of an entry: the
// encoding must round-trip.
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ringchain;
  chain::block b;
  if (!b.ParseFromArray(data, static_cast<int>(size))) return 0;
  (void)fuzz::check_block(b, 8);
  chain::block again;
  FUZZ_CHECK(again.ParseFromString(b.SerializeAsString()), "a parsed block re-encodes");
  FUZZ_CHECK(chain::header_hash(again.header()) == chain::header_hash(b.header()),
             "the header hash survives re-encoding");
  return 0;
}
