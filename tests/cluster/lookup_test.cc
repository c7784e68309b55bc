// Lookups between real ringchain-node processes and ringchain-client: after
// a submit, a transaction is found by its hash on every node, its key holds
// its value and its sender's nonce says it committed; a hash the node does
// not index is "not found" with the heights it indexes, never "not
// committed"; transactions leave the index with their blocks; malformed
// lookups are refused with a clear error and the connection lives on.
#include <gtest/gtest.h>

#include "node/base/limits.h"
#include "node/chain/block.h"
#include "sim/harness/cluster.h"
#include "tests/cluster/cluster_helpers.h"

namespace ringchain::testing {
namespace {

using harness::process_cluster;
using harness::process_cluster_options;

using namespace std::chrono_literals;

// The sender of make_txs(tag, ...): its public key.
std::string sender_of(const std::string& tag) {
  std::string seed = tag;
  seed.resize(32, '#');
  return chain::key_pair_from_seed(seed).public_key;
}

// A lookup through the client port; nothing when the node does not answer.
std::optional<nodepb::ClientResponse> lookup(process_cluster& c, std::size_t i,
                                             const nodepb::LookupRequest& l) {
  net::client cl;
  if (!cl.connect(c.client_address(i), 1s).ok()) return std::nullopt;
  nodepb::ClientRequest req;
  *req.mutable_lookup() = l;
  auto resp = cl.call(req, 2s);
  if (!resp.ok()) return std::nullopt;
  return *resp;
}

std::string hex_hash(const chainpb::Transaction& tx) {
  return chain::to_hex(chain::as_bytes(chain::tx_hash(tx)));
}

// The index holds 4 transactions: room for the first batch of 3, and then
// for 4 single transactions, which push the batch's block out.
process_cluster_options small_index() {
  process_cluster_options o;
  o.segment_mib = 16;
  o.extra_args = {"--tx_index_txs", "4"};
  return o;
}

TEST(lookup, a_committed_transaction_is_found_by_hash_key_and_sender_until_it_leaves_the_index) {
  process_cluster c(small_index());
  c.start_all();
  auto leader = c.wait_for_leader(10s);
  ASSERT_TRUE(leader.has_value()) << c.log_of(0);
  const nodepb::SubmitRequest batch = make_txs("look", 1, 3);
  auto r = c.submit(*leader, batch, 10s);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(committed(*r), 3);
  const std::uint64_t height = r->results(0).height();
  ASSERT_TRUE(c.wait_for_height(r->results(2).height(), 10s));

  // By hash, on every node, through the protocol.
  for (std::size_t i = 0; i < c.size(); ++i) {
    for (int t = 0; t < 3; ++t) {
      nodepb::LookupRequest l;
      l.set_tx_hash(std::string(chain::as_bytes(chain::tx_hash(batch.txs(t)))));
      auto a = lookup(c, i, l);
      ASSERT_TRUE(a.has_value()) << "node " << i + 1;
      ASSERT_TRUE(a->has_lookup()) << a->error();
      EXPECT_TRUE(a->lookup().found()) << "node " << i + 1 << " tx " << t;
      EXPECT_EQ(a->lookup().tx_height(), r->results(t).height());
      EXPECT_GE(a->lookup().height(), r->results(t).height());
    }
  }
  // And through the client, on a follower.
  const std::size_t follower = (*leader + 1) % c.size();
  const std::string addr = c.client_address(follower);
  client_answer a = run_client(addr, "lookup --tx " + hex_hash(batch.txs(0)));
  EXPECT_EQ(a.code, 0) << a.output;
  EXPECT_NE(a.output.find("committed at height " + std::to_string(height)), std::string::npos)
      << a.output;

  // By key: the value written.
  a = run_client(addr, "lookup --key look-2");
  EXPECT_EQ(a.code, 0) << a.output;
  EXPECT_NE(a.output.find("key look-2 = " + std::string(200, 'v')), std::string::npos) << a.output;
  a = run_client(addr, "lookup --key look-9");
  EXPECT_EQ(a.code, 1) << a.output;
  EXPECT_NE(a.output.find("key look-9 holds no value"), std::string::npos) << a.output;

  // By sender: the last nonce, and what it says of nonces 3 and 4.
  const std::string sender = chain::to_hex(sender_of("look"));
  a = run_client(addr, "lookup --sender " + sender + " --nonce 3");
  EXPECT_EQ(a.code, 0) << a.output;
  EXPECT_NE(a.output.find("last committed nonce 3"), std::string::npos) << a.output;
  EXPECT_NE(a.output.find("nonce 3: committed"), std::string::npos) << a.output;
  a = run_client(addr, "lookup --sender " + sender + " --nonce 4");
  EXPECT_NE(a.output.find("nonce 4: not committed"), std::string::npos) << a.output;

  // A hash no block holds: not found in the heights indexed, said as such.
  a = run_client(addr, "lookup --tx " + std::string(64, 'a'));
  EXPECT_EQ(a.code, 1) << a.output;
  EXPECT_NE(a.output.find("not found in the blocks this node indexes (heights 1.."),
            std::string::npos)
      << a.output;

  // Four single transactions, each in a block of its own, fill the index:
  // the batch's block leaves it, and the run of heights starts after it.
  for (std::uint64_t n = 4; n <= 7; ++n) {
    auto one = c.submit(*leader, make_txs("look", n, 1), 10s);
    ASSERT_TRUE(one.has_value());
    ASSERT_EQ(committed(*one), 1);
    ASSERT_TRUE(c.wait_for_height(one->results(0).height(), 10s));
  }
  a = run_client(addr, "lookup --tx " + hex_hash(batch.txs(0)));
  EXPECT_EQ(a.code, 1) << a.output;
  EXPECT_NE(a.output.find("not found in the blocks this node indexes (heights " +
                          std::to_string(height + 1) + ".."),
            std::string::npos)
      << a.output;
  EXPECT_EQ(a.output.find("not committed"), std::string::npos) << a.output;
  // Its sender's nonce still tells.
  a = run_client(addr, "lookup --sender " + sender + " --nonce 1");
  EXPECT_NE(a.output.find("nonce 1: committed"), std::string::npos) << a.output;
}

TEST(lookup, malformed_lookups_are_refused_with_a_clear_error) {
  process_cluster_options o;
  o.segment_mib = 16;
  process_cluster c(o);
  c.start_all();
  ASSERT_TRUE(c.wait_for_leader(10s).has_value()) << c.log_of(0);
  const std::string addr = c.client_address(0);

  // The client refuses what is not a hash before it connects.
  client_answer a = run_client(addr, "lookup --tx 12zz");
  EXPECT_EQ(a.code, 1);
  EXPECT_NE(a.output.find("--tx (a transaction hash) is 64 hexadecimal digits, not \"12zz\""),
            std::string::npos)
      << a.output;
  a = run_client(addr, "lookup --tx abcd --key k");
  EXPECT_EQ(a.code, 1);
  EXPECT_NE(a.output.find("exactly one of --tx, --key and --sender"), std::string::npos)
      << a.output;

  // The node refuses the wrong sizes with an error and keeps the connection.
  net::client cl;
  ASSERT_TRUE(cl.connect(addr, 1s).ok());
  const auto ask = [&cl](const nodepb::LookupRequest& l) {
    nodepb::ClientRequest req;
    *req.mutable_lookup() = l;
    auto resp = cl.call(req, 2s);
    return resp.ok() ? resp->error() : "no answer: " + resp.message();
  };
  nodepb::LookupRequest l;
  l.set_tx_hash("short");
  EXPECT_EQ(ask(l), "a lookup's transaction hash is 32 bytes; this one is 5");
  l.set_sender(std::string(33, 's'));
  EXPECT_EQ(ask(l), "a lookup's sender (a public key) is 32 bytes; this one is 33");
  l.set_key("");
  EXPECT_NE(ask(l).find("a lookup's key is 1 to"), std::string::npos);
  l.set_key(std::string(limits::lookup_key_bytes_max + 1, 'k'));
  EXPECT_NE(ask(l).find("this one is " + std::to_string(limits::lookup_key_bytes_max + 1)),
            std::string::npos);
  EXPECT_EQ(ask(nodepb::LookupRequest{}),
            "a lookup names a transaction hash, a key or a sender; this one names none");
  nodepb::ClientRequest st;
  st.mutable_status();
  auto resp = cl.call(st, 2s);
  ASSERT_TRUE(resp.ok()) << "the connection lives on: " << resp.message();
  EXPECT_TRUE(resp->has_status());
}

}  // namespace
}  // namespace ringchain::testing
