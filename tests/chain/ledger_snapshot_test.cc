// The ledger's snapshots: an export read in parts while blocks keep being
// applied gives the state as it was when the export began (copy-on-write per
// key), and an import of it reaches the same state hash.
#include <gtest/gtest.h>

#include <functional>

#include "node/chain/frozen_map.h"
#include "node/chain/ledger.h"
#include "tests/chain/chain_helpers.h"

namespace ringchain::chain {
namespace {

// Applies `n` blocks of `per_block` writes each over `keys` keys, after
// what `l` holds.
void apply_blocks(ledger& l, int n, int per_block, int keys, char sender) {
  for (int b = 0; b < n; ++b) {
    std::vector<transaction> txs;
    for (int k = 0; k < per_block; ++k) {
      const std::uint64_t nonce = l.last_nonce(seeded(sender).public_key) + 1 + k;
      const std::string key = "k" + std::to_string((b * per_block + k) % keys);
      txs.push_back(make_transaction(seeded(sender), nonce, key, "v" + std::to_string(nonce)));
    }
    ASSERT_EQ(l.apply(chain_block(l.height() + 1, l.tip(), std::move(txs))).message(), "");
  }
}

// Reads a whole export of `from` in parts of `part_bytes` into a fresh
// ledger, applying `between` after each part.
ledger copy_by_export(ledger& from, std::uint64_t part_bytes,
                      const std::function<void()>& between) {
  ledger to;
  const ledger::summary s = from.begin_export();
  for (bool more = true; more;) {
    chainpb::StatePart part;
    more = from.export_part(part_bytes, &part);
    EXPECT_EQ(to.import_part(part).message(), "");
    between();
  }
  from.end_export();
  EXPECT_EQ(to.finish_import(s).message(), "");
  return to;
}

TEST(ledger_snapshot, export_then_import_gives_the_same_state) {
  ledger l;
  apply_blocks(l, 20, 10, 150, 's');
  apply_blocks(l, 5, 3, 150, 't');
  ledger copy = copy_by_export(l, 200, [] {});
  EXPECT_EQ(copy.state_hash(), l.state_hash());
  EXPECT_EQ(copy.height(), l.height());
  EXPECT_EQ(copy.tip(), l.tip());
  EXPECT_EQ(copy.keys(), l.keys());
  EXPECT_EQ(copy.last_nonce(seeded('t').public_key), l.last_nonce(seeded('t').public_key));
}

// Blocks applied while the export is read in parts do not leak into it:
// it is the state at begin_export().
TEST(ledger_snapshot, export_is_the_state_when_it_began_while_blocks_apply) {
  ledger l;
  apply_blocks(l, 10, 10, 80, 's');
  ledger reference;
  apply_blocks(reference, 10, 10, 80, 's');
  int applied = 0;
  ledger copy = copy_by_export(l, 100, [&] {
    // Overwrites old keys, adds new ones, moves nonces.
    apply_blocks(l, 1, 7, 120, (applied++ % 2) ? 's' : 'u');
  });
  EXPECT_GT(applied, 5);
  EXPECT_EQ(copy.state_hash(), reference.state_hash());
  EXPECT_NE(l.state_hash(), reference.state_hash());
  // The next export, begun now, gives the state as it is now.
  ledger later = copy_by_export(l, 1000, [] {});
  EXPECT_EQ(later.state_hash(), l.state_hash());
}

TEST(ledger_snapshot, import_refuses_a_state_that_is_not_the_snapshots) {
  ledger l;
  apply_blocks(l, 3, 4, 10, 's');
  const ledger::summary s = l.begin_export();
  chainpb::StatePart all;
  while (l.export_part(1 << 20, &all)) {
  }
  l.end_export();
  all.mutable_kv(0)->set_value("changed");
  ledger to;
  ASSERT_EQ(to.import_part(all).message(), "");
  EXPECT_NE(to.finish_import(s).message(), "");
  ledger twice;
  ASSERT_EQ(twice.import_part(all).message(), "");
  EXPECT_NE(twice.import_part(all).message(), "") << "a key given twice";
}

TEST(frozen_map, reads_the_map_as_it_was_in_key_order) {
  std::map<std::string, int> live{{"a", 1}, {"c", 3}, {"e", 5}};
  frozen_map<int> view;
  view.begin();
  std::vector<std::pair<std::string, int>> got;
  auto emit = [&got](const std::string& k, int v) {
    got.emplace_back(k, v);
    return std::uint64_t{1};
  };
  EXPECT_FALSE(view.read(live, 1, emit));  // "a"
  view.before_write(live, "a");            // already read: nothing kept
  live["a"] = 10;
  view.before_write(live, "b");  // inserted after the freeze
  live["b"] = 2;
  view.before_write(live, "e");
  live["e"] = 50;
  EXPECT_TRUE(view.read(live, 100, emit));
  EXPECT_EQ(got, (std::vector<std::pair<std::string, int>>{{"a", 1}, {"c", 3}, {"e", 5}}));
}

}  // namespace
}  // namespace ringchain::chain
