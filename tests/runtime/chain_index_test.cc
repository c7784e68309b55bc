// The chain index: what a leader's append must carry before the core sees
// it, and lookups that count only entries the log still holds.
#include "node/runtime/chain_index.h"

#include <gtest/gtest.h>

namespace ringchain::runtime {
namespace {

class chain_index_test : public ::testing::Test {
 protected:
  // Block `height` after `prev` with `n` transactions, as entry `index`.
  core::entry block_entry(std::uint64_t index, std::uint64_t height, const chain::hash& prev,
                          int n = 2, std::uint64_t term = 1) {
    std::vector<chain::transaction> txs;
    for (int i = 0; i < n; ++i) {
      txs.push_back(chain::make_transaction(key_, nonce_++, "k" + std::to_string(i), "v"));
    }
    chain::block_params p;
    p.height = height;
    p.term = term;
    p.prev_hash = prev;
    last_block_ = chain::make_block(p, std::move(txs));
    core::entry e;
    e.set_index(index);
    e.set_term(term);
    e.set_type(raftpb::ENTRY_NORMAL);
    e.set_data(last_block_.SerializeAsString());
    return e;
  }
  chain::hash last_hash() const { return chain::header_hash(last_block_.header()); }
  // An append from leader 1 to node 2 after (index, log_term).
  core::message append(std::uint64_t index, std::uint64_t log_term,
                       std::vector<core::entry> entries) {
    core::message m;
    m.set_type(raftpb::MSG_APPEND);
    m.set_from(1);
    m.set_to(2);
    m.set_term(1);
    m.set_index(index);
    m.set_log_term(log_term);
    for (auto& e : entries) *m.add_entries() = std::move(e);
    return m;
  }

  chain::key_pair key_ = chain::key_pair_from_seed(std::string(32, 's'));
  std::uint64_t nonce_ = 1;
  chain::block last_block_;
  core::raft_log log_;
  chain_index index_;
};

TEST_F(chain_index_test, blocks_that_chain_are_taken_and_recorded) {
  core::entry b1 = block_entry(1, 1, chain::hash{});
  const chain::hash h1 = last_hash();
  core::entry b2 = block_entry(2, 2, h1);
  ASSERT_TRUE(index_.check_append(append(0, 0, {b1, b2}), log_).ok());
  log_.append(b1);
  log_.append(b2);
  auto ref = index_.by_height(log_, 2, 2);
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->index, 2u);
  EXPECT_EQ(index_.at_or_before(log_, 1)->hash, h1);
  // A later append chains after the log's last block.
  core::entry b3 = block_entry(3, 3, last_hash());
  EXPECT_TRUE(index_.check_append(append(2, 1, {b3}), log_).ok());
}

TEST_F(chain_index_test, an_entry_that_is_not_a_block_is_refused) {
  core::entry junk;
  junk.set_index(1);
  junk.set_term(1);
  junk.set_type(raftpb::ENTRY_NORMAL);
  junk.set_data("\xff\xff\xff not a block");
  const base::status s = index_.check_append(append(0, 0, {junk}), log_);
  EXPECT_NE(s.message().find("does not hold a block"), std::string::npos) << s.message();
}

TEST_F(chain_index_test, a_block_whose_header_lies_about_its_body_is_refused) {
  core::entry e = block_entry(1, 1, chain::hash{});
  chain::block b;
  ASSERT_TRUE(b.ParseFromString(e.data()));
  b.mutable_txs(0)->set_nonce(999);  // the Merkle root no longer matches
  e.set_data(b.SerializeAsString());
  const base::status s = index_.check_append(append(0, 0, {e}), log_);
  EXPECT_NE(s.message().find("Merkle root"), std::string::npos) << s.message();
}

TEST_F(chain_index_test, a_block_that_does_not_chain_is_refused) {
  core::entry b1 = block_entry(1, 1, chain::hash{});
  core::entry skip = block_entry(2, 3, last_hash());  // height 3 after height 1
  EXPECT_FALSE(index_.check_append(append(0, 0, {b1, skip}), log_).ok());
  core::entry b1_again = block_entry(1, 1, chain::hash{});
  core::entry wrong_prev = block_entry(2, 2, chain::hash{});  // not after b1
  const base::status s = index_.check_append(append(0, 0, {b1_again, wrong_prev}), log_);
  EXPECT_NE(s.message().find("prev"), std::string::npos) << s.message();
  core::entry first_not_one = block_entry(1, 5, chain::hash{});
  EXPECT_FALSE(index_.check_append(append(0, 0, {first_not_one}), log_).ok());
}

TEST_F(chain_index_test, entries_of_unknown_type_or_empty_entries_with_data_are_refused) {
  core::entry odd = block_entry(1, 1, chain::hash{});
  odd.set_type(static_cast<raftpb::EntryType>(7));
  EXPECT_NE(index_.check_append(append(0, 0, {odd}), log_).message().find("no known type"),
            std::string::npos);
  core::entry empty;
  empty.set_index(1);
  empty.set_term(1);
  empty.set_type(raftpb::ENTRY_EMPTY);
  EXPECT_TRUE(index_.check_append(append(0, 0, {empty}), log_).ok());
  empty.set_data("x");
  EXPECT_FALSE(index_.check_append(append(0, 0, {empty}), log_).ok());
}

TEST_F(chain_index_test, records_of_entries_the_log_does_not_hold_are_ignored) {
  // Recorded when checked, but the core never took the append.
  core::entry b1 = block_entry(1, 1, chain::hash{});
  ASSERT_TRUE(index_.check_append(append(0, 0, {b1}), log_).ok());
  EXPECT_FALSE(index_.by_height(log_, 1, 10).has_value());
  EXPECT_FALSE(index_.at_or_before(log_, 1).has_value());
  // The log holds index 1 in another term: still not that block.
  core::entry other = block_entry(1, 1, chain::hash{}, 1, /*term=*/2);
  log_.append(other);
  index_.record({1, 2, 1, last_hash()});
  EXPECT_EQ(index_.by_height(log_, 1, 1)->term, 2u);
}

// After compaction the index holds about what the log holds: records up
// to the compacted index go, the last of them stays as the base the next
// block chains after.
TEST_F(chain_index_test, compaction_drops_records_but_keeps_the_base) {
  chain::hash prev{};
  for (std::uint64_t i = 1; i <= 6; ++i) {
    core::entry e = block_entry(i, i, prev);
    prev = last_hash();
    index_.record({i, 1, i, prev});
    log_.append(std::move(e));
  }
  log_.commit_to(6);
  log_.mark_handed(1);
  log_.mark_durable(1);
  log_.mark_applied(6);
  log_.compact(4);
  index_.compact(4);
  EXPECT_EQ(index_.size(), 2u);
  EXPECT_EQ(index_.base().height, 4u);
  EXPECT_FALSE(index_.by_height(log_, 3, 6)) << "compacted: the block store answers";
  EXPECT_EQ(index_.at_or_before(log_, 6)->height, 6u);
  // An append after the compacted index chains after the base.
  core::entry b7 = block_entry(7, 7, prev);
  EXPECT_TRUE(index_.check_append(append(6, 1, {b7}), log_).ok());
  // A reset (an installed snapshot) leaves only the snapshot's block.
  index_.reset({20, 2, 18, prev});
  EXPECT_EQ(index_.size(), 0u);
  EXPECT_EQ(index_.at_or_before(log_, 25)->height, 18u);
}

}  // namespace
}  // namespace ringchain::runtime
