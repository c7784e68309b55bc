// The index of recent transactions: what it finds, the heights it says it
// covers, and how blocks leave it.
#include "node/runtime/tx_index.h"

#include <gtest/gtest.h>

#include <string>

namespace ringchain::runtime {
namespace {

// A distinct hash per name.
chain::hash h(const std::string& name) {
  return chain::sha256({name});
}

TEST(tx_index, finds_applied_transactions_at_their_height) {
  tx_index ix(100);
  ix.record(1, {h("a"), h("b")});
  ix.record(2, {});
  ix.record(3, {h("c")});
  EXPECT_EQ(ix.find(h("a")), 1u);
  EXPECT_EQ(ix.find(h("b")), 1u);
  EXPECT_EQ(ix.find(h("c")), 3u);
  EXPECT_FALSE(ix.find(h("never")).has_value());
  EXPECT_EQ(ix.first_height(), 1u);
  EXPECT_EQ(ix.last_height(), 3u);
  EXPECT_EQ(ix.size(), 3u);
}

TEST(tx_index, evicts_whole_oldest_blocks_past_its_bound) {
  tx_index ix(4);
  ix.record(1, {h("a"), h("b")});
  ix.record(2, {h("c")});
  ix.record(3, {h("d")});
  EXPECT_EQ(ix.size(), 4u);
  // Two more do not fit: block 1 leaves with both its transactions.
  ix.record(4, {h("e"), h("f")});
  EXPECT_FALSE(ix.find(h("a")).has_value());
  EXPECT_FALSE(ix.find(h("b")).has_value());
  // Blocks 2 and 3 stay: with block 1 gone, the new block fits.
  EXPECT_EQ(ix.find(h("c")), 2u);
  EXPECT_EQ(ix.find(h("d")), 3u);
  EXPECT_EQ(ix.find(h("e")), 4u);
  EXPECT_EQ(ix.size(), 4u);
  EXPECT_EQ(ix.first_height(), 2u) << "the run starts after the last block that left";
  EXPECT_EQ(ix.last_height(), 4u);
  // Three more fit only once blocks 2, 3 and 4 have all left.
  ix.record(5, {h("g"), h("h"), h("i")});
  EXPECT_FALSE(ix.find(h("e")).has_value());
  EXPECT_EQ(ix.find(h("g")), 5u);
  EXPECT_EQ(ix.size(), 3u);
  EXPECT_EQ(ix.first_height(), 5u);
}

TEST(tx_index, empty_blocks_before_an_evicted_one_leave_the_run_with_it) {
  tx_index ix(1);
  ix.record(1, {h("a")});
  ix.record(2, {});
  ix.record(3, {});
  ix.record(4, {h("b")});
  EXPECT_EQ(ix.first_height(), 2u) << "heights 2 and 3 applied nothing and are still covered";
  EXPECT_EQ(ix.find(h("b")), 4u);
  EXPECT_FALSE(ix.find(h("a")).has_value());
}

TEST(tx_index, reset_after_a_snapshot_covers_only_later_blocks) {
  tx_index ix(100);
  ix.record(1, {h("a")});
  ix.reset(50);
  EXPECT_FALSE(ix.find(h("a")).has_value());
  EXPECT_EQ(ix.size(), 0u);
  EXPECT_GT(ix.first_height(), ix.last_height()) << "nothing covered yet";
  EXPECT_EQ(ix.first_height(), 51u);
  ix.record(51, {h("b")});
  EXPECT_EQ(ix.find(h("b")), 51u);
  EXPECT_EQ(ix.first_height(), 51u);
  EXPECT_EQ(ix.last_height(), 51u);
}

TEST(tx_index, a_gap_in_heights_starts_a_new_run) {
  tx_index ix(100);
  ix.record(1, {h("a")});
  ix.record(5, {h("b")});
  EXPECT_FALSE(ix.find(h("a")).has_value());
  EXPECT_EQ(ix.first_height(), 5u);
  EXPECT_EQ(ix.find(h("b")), 5u);
}

TEST(tx_index, a_block_larger_than_the_bound_empties_it) {
  tx_index ix(2);
  ix.record(1, {h("a")});
  ix.record(2, {h("b"), h("c"), h("d")});
  EXPECT_EQ(ix.size(), 0u);
  EXPECT_FALSE(ix.find(h("a")).has_value());
  EXPECT_FALSE(ix.find(h("b")).has_value());
  EXPECT_EQ(ix.first_height(), 3u);
  EXPECT_EQ(ix.last_height(), 2u);
  ix.record(3, {h("e")});
  EXPECT_EQ(ix.find(h("e")), 3u);
}

TEST(tx_index, with_no_room_it_covers_no_height) {
  tx_index ix(0);
  ix.record(1, {h("a")});
  ix.record(2, {});
  EXPECT_FALSE(ix.find(h("a")).has_value());
  EXPECT_GT(ix.first_height(), ix.last_height());
  EXPECT_EQ(ix.size(), 0u);
}

}  // namespace
}  // namespace ringchain::runtime
