// A client request, decoded and checked the way the client service does.
//
// Input: the bytes of one nodepb::ClientRequest (the frame layer is
// fuzz_frame_reader's). As client_service::on_frame: a request that does
// not parse, or of no known kind, closes the connection; status, admin and
// block requests are answered (a block request looks the height up in a
// small committed chain); a submission's transactions are verified
// (chain::verify, as the verifier thread does; at most 32 signatures per
// input, to keep runs fast, the rest by shape only), hashed, and added to
// a mempool against the ledger. The mempool then cuts a block as the block
// producer does, which must link, fit in an entry, and apply.
//
// Forged signatures never verify, so a second mempool takes every
// transaction whose shape is right, as if its signature were good: the
// mempool, block and ledger paths then see what the fuzzer makes.
#include <vector>

#include "node/base/limits.h"
#include "node/chain/ledger.h"
#include "node/chain/mempool.h"
#include "node/net/frame.h"
#include "proto/node.pb.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace ringchain;

constexpr int signatures_max = 32;

struct committed_chain {
  std::vector<chain::block> blocks;
  chain::ledger ledger;
};

// Two committed blocks, as a node would hold them.
const committed_chain& chain_so_far() {
  static const committed_chain c = [] {
    committed_chain out;
    for (std::uint64_t h = 1; h <= 2; ++h) {
      out.blocks.push_back(fuzz::test_block(h, out.ledger.tip(), 2, 2 * h));
      FUZZ_CHECK(out.ledger.apply(out.blocks.back()).ok(), "the seed chain applies");
    }
    return out;
  }();
  return c;
}

// The block producer's step: a block from the mempool, after the tip.
void cut_block(chain::mempool& pool, const chain::ledger& tip_ledger) {
  const std::size_t before = pool.size();
  std::vector<chain::transaction> txs =
      pool.take(limits::block_txs_max, limits::block_bytes_max, tip_ledger);
  FUZZ_CHECK(txs.size() <= before && pool.size() + txs.size() <= before,
             "the mempool hands out only what it holds");
  chain::block_params p;
  p.height = tip_ledger.height() + 1;
  p.term = 3;
  p.prev_hash = tip_ledger.tip();
  p.proposer = 1;
  const chain::block b = chain::make_block(p, std::move(txs));
  FUZZ_CHECK(chain::check_link(b, p.height, p.prev_hash) == chain::block_error::none,
             "a block the producer makes links");
  FUZZ_CHECK(b.ByteSizeLong() <= limits::entry_bytes_max, "a produced block fits in an entry");
  chain::ledger l = tip_ledger;
  // (Transactions of one sender may still be skipped: the mempool takes
  // nonces out of order, and the ledger skips those that do not rise.)
  FUZZ_CHECK(l.apply(b).ok(), "a produced block applies");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const committed_chain& committed = chain_so_far();
  nodepb::ClientRequest req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return 0;  // connection refused
  nodepb::ClientResponse resp;
  resp.set_id(req.id());
  switch (req.kind_case()) {
    case nodepb::ClientRequest::kStatus:
    case nodepb::ClientRequest::kAdmin: resp.mutable_status()->set_id(1); break;
    case nodepb::ClientRequest::kBlock: {
      nodepb::BlockResponse* out = resp.mutable_block();
      for (const chain::block& b : committed.blocks) {
        if (b.header().height() == req.block().height()) {
          out->set_found(true);
          *out->mutable_block() = b;
        }
      }
      break;
    }
    case nodepb::ClientRequest::kSubmit: {
      chain::mempool pool(limits::mempool_txs_max, limits::mempool_bytes_max);
      chain::mempool shaped(limits::mempool_txs_max, limits::mempool_bytes_max);
      int signatures = 0;
      nodepb::SubmitResponse* out = resp.mutable_submit();
      for (const chain::transaction& tx : req.submit().txs()) {
        const chain::tx_error shape = chain::check_shape(tx);
        chain::tx_error err = shape;
        if (shape == chain::tx_error::none && signatures < signatures_max) {
          ++signatures;
          err = chain::verify(tx);
        }
        const chain::hash h = chain::tx_hash(tx);
        FUZZ_CHECK(h == chain::tx_hash(tx), "a transaction's hash is a function of it");
        if (err == chain::tx_error::none) err = pool.add(tx, committed.ledger);
        if (shape == chain::tx_error::none) (void)shaped.add(tx, committed.ledger);
        nodepb::TxResult* r = out->add_results();
        r->set_code(err == chain::tx_error::none ? nodepb::TxResult::COMMITTED
                                                 : nodepb::TxResult::REFUSED);
        if (err != chain::tx_error::none) r->set_reason(chain::to_string(err));
      }
      FUZZ_CHECK(out->results_size() == req.submit().txs_size(), "one result per transaction");
      cut_block(pool, committed.ledger);
      cut_block(shaped, committed.ledger);
      break;
    }
    default: return 0;  // no known kind: connection refused
  }
  std::string frame;
  (void)net::append_frame(resp, limits::frame_size_max, &frame);
  return 0;
}
