// Hashing, signatures, transactions, blocks, the mempool and the ledger.
#include <gtest/gtest.h>

#include "node/base/limits.h"
#include "node/chain/block.h"
#include "node/chain/ledger.h"
#include "node/chain/mempool.h"
#include "tests/chain/chain_helpers.h"

namespace ringchain::chain {
namespace {

TEST(sha256, matches_the_standard_test_vector) {
  // FIPS 180-2, appendix B.1.
  EXPECT_EQ(to_hex(as_bytes(sha256({"abc"}))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256({"a", "bc"}), sha256({"abc"})) << "parts are concatenated";
}

TEST(hex, round_trips_and_refuses_what_is_not_hex) {
  const std::string all = [] {
    std::string s;
    for (int c = 0; c < 256; ++c) s.push_back(static_cast<char>(c));
    return s;
  }();
  EXPECT_EQ(from_hex(to_hex(all)), all);
  EXPECT_EQ(from_hex("ABcd"), std::string("\xab\xcd"));
  EXPECT_EQ(from_hex(""), std::string());
  EXPECT_FALSE(from_hex("abc").has_value()) << "odd length";
  EXPECT_FALSE(from_hex("zz").has_value());
  EXPECT_FALSE(from_hex("0x12").has_value());
  EXPECT_FALSE(from_hex("12 3").has_value());
}

TEST(ed25519, signature_verifies_and_any_change_breaks_it) {
  const key_pair k = seeded('k');
  const std::string sig = sign(k.private_key, "message");
  EXPECT_TRUE(verify(k.public_key, "message", sig));
  EXPECT_FALSE(verify(k.public_key, "messagE", sig));
  std::string bad = sig;
  bad[5] ^= 1;
  EXPECT_FALSE(verify(k.public_key, "message", bad));
  EXPECT_FALSE(verify(seeded('x').public_key, "message", sig));
  EXPECT_FALSE(verify("short", "message", sig));
  EXPECT_FALSE(verify(k.public_key, "message", "short"));
}

// RFC 8032 §7.1, TEST 1: the empty message.
TEST(ed25519, matches_the_rfc8032_test_vector) {
  auto bytes = [](std::string_view hex) { return from_hex(hex).value(); };
  const key_pair k =
      key_pair_from_seed(bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  EXPECT_EQ(to_hex(k.public_key),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const std::string expected =
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf"
      "9b46bd25bf5f0595bbe24655141438e7a100b";
  EXPECT_EQ(to_hex(sign(k.private_key, "")), expected);
  EXPECT_TRUE(verify(k.public_key, "", bytes(expected)));
}

// Imported keys are cached per thread: a cached key signs and verifies as a
// fresh import does, for many keys interleaved and past the cache's bound,
// and results are never cached.
TEST(ed25519, cached_keys_sign_and_verify_like_fresh_ones) {
  std::vector<key_pair> keys;
  std::vector<std::string> first;
  for (int i = 0; i < 4200; ++i) {
    std::string seed = "cache-" + std::to_string(i);
    seed.resize(32, '.');
    keys.push_back(key_pair_from_seed(seed));
    first.push_back(sign(keys.back().private_key, "m"));
  }
  for (std::size_t i = 0; i < keys.size(); i += 97) {
    EXPECT_EQ(sign(keys[i].private_key, "m"), first[i]);
    EXPECT_TRUE(verify(keys[i].public_key, "m", first[i]));
    EXPECT_FALSE(verify(keys[i].public_key, "n", first[i]));
    EXPECT_FALSE(verify(keys[(i + 1) % keys.size()].public_key, "m", first[i]));
  }
  // A malformed key fails every time.
  const std::string zeros(public_key_bytes, '\0');
  EXPECT_FALSE(verify(zeros, "m", first[0]));
  EXPECT_FALSE(verify(zeros, "m", first[0]));
}

TEST(ed25519, seeded_keys_are_reproducible_and_fresh_ones_differ) {
  EXPECT_EQ(seeded('a').public_key, seeded('a').public_key);
  EXPECT_NE(seeded('a').public_key, seeded('b').public_key);
  EXPECT_NE(generate_key_pair().public_key, generate_key_pair().public_key);
}

TEST(transaction, valid_one_verifies) {
  const transaction tx = make_transaction(seeded('s'), 1, "key", "value");
  EXPECT_EQ(verify(tx), tx_error::none);
}

TEST(transaction, tampering_with_any_signed_field_is_caught) {
  const transaction good = make_transaction(seeded('s'), 7, "key", "value");
  transaction t = good;
  t.set_nonce(8);
  EXPECT_EQ(verify(t), tx_error::bad_signature);
  t = good;
  chainpb::KvWrite w;
  w.set_key("key");
  w.set_value("other");
  t.set_payload(w.SerializeAsString());
  EXPECT_EQ(verify(t), tx_error::bad_signature);
  t = good;
  t.set_sender(seeded('z').public_key);
  EXPECT_EQ(verify(t), tx_error::bad_signature);
}

TEST(transaction, bad_shapes_are_named) {
  transaction t = make_transaction(seeded('s'), 1, "key", "value");
  t.set_sender("abc");
  EXPECT_EQ(verify(t), tx_error::bad_sender);
  t = make_transaction(seeded('s'), 1, "key", "value");
  t.set_signature("xyz");
  EXPECT_EQ(verify(t), tx_error::bad_signature);
  t = make_transaction(seeded('s'), 1, "", "value");
  EXPECT_EQ(verify(t), tx_error::bad_payload);
  t = make_transaction(seeded('s'), 1, "k", std::string(limits::tx_payload_bytes_max, 'v'));
  EXPECT_EQ(verify(t), tx_error::payload_too_large);
  t.set_payload("\xff\xff\xff");
  EXPECT_EQ(check_shape(t), tx_error::bad_payload);
}

TEST(transaction, hash_names_every_field) {
  const transaction a = make_transaction(seeded('s'), 1, "k", "v");
  EXPECT_EQ(tx_hash(a), tx_hash(make_transaction(seeded('s'), 1, "k", "v")));
  EXPECT_NE(tx_hash(a), tx_hash(make_transaction(seeded('s'), 2, "k", "v")));
  EXPECT_NE(tx_hash(a), tx_hash(make_transaction(seeded('t'), 1, "k", "v")));
  EXPECT_NE(tx_hash(a), tx_hash(make_transaction(seeded('s'), 1, "k", "w")));
}

hash leaf(char c) {
  return sha256({std::string(1, c)});
}

TEST(merkle_root, follows_rfc6962) {
  const hash a = leaf('a'), b = leaf('b'), c = leaf('c');
  auto h_leaf = [](const hash& x) { return sha256({std::string_view("\0", 1), as_bytes(x)}); };
  auto h_node = [](const hash& l, const hash& r) {
    return sha256({std::string_view("\1", 1), as_bytes(l), as_bytes(r)});
  };
  EXPECT_EQ(merkle_root({}), sha256({""}));
  const hash one[] = {a};
  EXPECT_EQ(merkle_root(one), h_leaf(a));
  const hash two[] = {a, b};
  EXPECT_EQ(merkle_root(two), h_node(h_leaf(a), h_leaf(b)));
  // Three leaves split 2 + 1 (the largest power of two below 3).
  const hash three[] = {a, b, c};
  EXPECT_EQ(merkle_root(three), h_node(h_node(h_leaf(a), h_leaf(b)), h_leaf(c)));
  const hash swapped[] = {b, a};
  EXPECT_NE(merkle_root(two), merkle_root(swapped));
  // A leaf equal to an inner node's hash does not give the same root.
  const hash forged[] = {h_node(h_leaf(a), h_leaf(b))};
  EXPECT_NE(merkle_root(forged), merkle_root(two));
}

TEST(block, link_checks_height_prev_hash_count_and_root) {
  const block b1 = chain_block(1, {}, {make_transaction(seeded('s'), 1, "k", "v")});
  EXPECT_EQ(check_link(b1, 1, {}), block_error::none);
  const hash h1 = header_hash(b1.header());
  const block b2 = chain_block(2, h1, {});
  EXPECT_EQ(check_link(b2, 2, h1), block_error::none);
  EXPECT_EQ(check_link(b2, 3, h1), block_error::wrong_height);
  EXPECT_EQ(check_link(b2, 2, {}), block_error::wrong_prev_hash);
  block tampered = b1;
  tampered.mutable_txs(0)->set_nonce(2);
  EXPECT_EQ(check_link(tampered, 1, {}), block_error::wrong_merkle_root);
  tampered = b1;
  tampered.mutable_header()->set_tx_count(5);
  EXPECT_EQ(check_link(tampered, 1, {}), block_error::wrong_tx_count);
  EXPECT_NE(header_hash(b1.header()), header_hash(tampered.header()));
}

TEST(ledger, same_blocks_give_the_same_state_hash) {
  ledger a, b;
  const block b1 = chain_block(
      1, {},
      {make_transaction(seeded('s'), 1, "k", "v1"), make_transaction(seeded('t'), 1, "j", "w")});
  const block b2 =
      chain_block(2, header_hash(b1.header()), {make_transaction(seeded('s'), 2, "k", "v2")});
  for (ledger* l : {&a, &b}) {
    ASSERT_EQ(l->apply(b1).message(), "");
    ASSERT_EQ(l->apply(b2).message(), "");
  }
  EXPECT_EQ(a.state_hash(), b.state_hash());
  EXPECT_EQ(*a.get("k"), "v2");
  EXPECT_EQ(a.last_nonce(seeded('s').public_key), 2u);
  EXPECT_EQ(a.height(), 2u);
  ledger c;
  ASSERT_EQ(c.apply(b1).message(), "");
  EXPECT_NE(c.state_hash(), a.state_hash());
}

TEST(ledger, refuses_a_block_that_does_not_link_and_skips_replayed_nonces) {
  ledger l;
  const block b1 = chain_block(1, {}, {make_transaction(seeded('s'), 5, "k", "v")});
  ASSERT_EQ(l.apply(b1).message(), "");
  const hash before = l.state_hash();
  EXPECT_NE(l.apply(b1).message().find("height"), std::string::npos);
  EXPECT_EQ(l.state_hash(), before) << "a block that does not link changes nothing";
  // Nonce 5 again, and 7 before 6 in one block: both skipped, 7 applied.
  const block replay = chain_block(2, header_hash(b1.header()),
                                   {make_transaction(seeded('s'), 5, "k", "evil"),
                                    make_transaction(seeded('s'), 7, "k", "seven"),
                                    make_transaction(seeded('s'), 6, "k", "six")});
  std::vector<int> skipped;
  ASSERT_EQ(l.apply(replay, &skipped).message(), "");
  EXPECT_EQ(skipped, (std::vector<int>{0, 2}));
  EXPECT_EQ(*l.get("k"), "seven");
  EXPECT_EQ(l.last_nonce(seeded('s').public_key), 7u);
  EXPECT_EQ(l.height(), 2u);
  // Another ledger applying the same blocks reaches the same state.
  ledger m;
  ASSERT_EQ(m.apply(b1).message(), "");
  ASSERT_EQ(m.apply(replay).message(), "");
  EXPECT_EQ(m.state_hash(), l.state_hash());
}

TEST(mempool, bounds_refuse_with_back_off_and_replays_are_refused) {
  ledger l;
  mempool m(3, 1 << 20);
  const key_pair s = seeded('s');
  EXPECT_EQ(m.add(make_transaction(s, 1, "a", "1"), l), tx_error::none);
  EXPECT_EQ(m.add(make_transaction(s, 1, "a", "1"), l), tx_error::replay);
  EXPECT_EQ(m.add(make_transaction(s, 2, "a", "2"), l), tx_error::none);
  EXPECT_EQ(m.add(make_transaction(s, 3, "a", "3"), l), tx_error::none);
  EXPECT_EQ(m.add(make_transaction(s, 4, "a", "4"), l), tx_error::mempool_full);
  auto txs = m.take(2, 1 << 20, l);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].nonce(), 1u);
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.add(make_transaction(s, 4, "a", "4"), l), tx_error::none);
  // Committed nonces are replays from now on.
  ASSERT_EQ(l.apply(chain_block(1, {}, std::move(txs))).message(), "");
  EXPECT_EQ(m.add(make_transaction(s, 2, "a", "x"), l), tx_error::replay);
}

TEST(mempool, take_respects_the_byte_bound_and_drops_stale_nonces) {
  ledger l;
  mempool m(100, 1 << 20);
  const key_pair s = seeded('s'), t = seeded('t');
  ASSERT_EQ(m.add(make_transaction(s, 1, "a", std::string(1000, 'x')), l), tx_error::none);
  ASSERT_EQ(m.add(make_transaction(t, 1, "b", std::string(1000, 'y')), l), tx_error::none);
  ASSERT_EQ(m.add(make_transaction(t, 2, "c", "z"), l), tx_error::none);
  // Another leader committed t's nonce 1 meanwhile.
  ASSERT_EQ(l.apply(chain_block(1, {}, {make_transaction(t, 1, "b", "other")})).message(), "");
  auto first = m.take(10, 1200, l);
  ASSERT_EQ(first.size(), 1u) << "1200 bytes hold one 1000-byte transaction";
  auto rest = m.take(10, 1 << 20, l);
  ASSERT_EQ(rest.size(), 1u) << "t's nonce 1 is stale and dropped";
  EXPECT_EQ(rest[0].nonce(), 2u);
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.bytes(), 0u);
}

}  // namespace
}  // namespace ringchain::chain
