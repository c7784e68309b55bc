#include "node/core/progress.h"

#include <gtest/gtest.h>

namespace ringchain::core {
namespace {

TEST(inflights, full_by_count_or_by_bytes) {
  inflights w(3, 1000);
  w.add(1, 10);
  w.add(2, 10);
  EXPECT_FALSE(w.full());
  w.add(3, 10);
  EXPECT_TRUE(w.full());
  w.free_to(2);
  EXPECT_EQ(w.count(), 1u);
  EXPECT_FALSE(w.full());
  w.add(4, 990);
  EXPECT_TRUE(w.full()) << "1000 bytes in flight";
  w.free_first();
  EXPECT_EQ(w.bytes(), 990u);
}

TEST(progress, probe_sends_one_append_at_a_time) {
  progress pr(5, 8, 1 << 20);
  EXPECT_FALSE(pr.paused());
  pr.sent(7, 100);
  EXPECT_TRUE(pr.paused());
  EXPECT_EQ(pr.next, 5u) << "probe does not advance next optimistically";
}

TEST(progress, replicate_advances_next_optimistically_until_window_full) {
  progress pr(1, 2, 1 << 20);
  pr.acknowledge(4);
  pr.become_replicate();
  pr.sent(6, 10);
  pr.sent(8, 10);
  EXPECT_EQ(pr.next, 9u);
  EXPECT_TRUE(pr.paused());
  EXPECT_TRUE(pr.acknowledge(6));
  EXPECT_FALSE(pr.paused());
}

TEST(progress, stale_rejection_is_ignored_in_replicate) {
  progress pr(1, 8, 1 << 20);
  pr.acknowledge(10);
  pr.become_replicate();
  pr.sent(15, 10);
  EXPECT_FALSE(pr.back_off(9, 5));
  EXPECT_EQ(pr.state, progress_state::replicate);
  EXPECT_TRUE(pr.back_off(12, 11));
  EXPECT_EQ(pr.state, progress_state::probe);
  EXPECT_EQ(pr.next, 11u);
}

TEST(progress, back_off_never_goes_below_match) {
  progress pr(1, 8, 1 << 20);
  pr.acknowledge(3);
  pr.next = 8;
  EXPECT_TRUE(pr.back_off(7, 1));
  EXPECT_EQ(pr.next, 4u);
}

}  // namespace
}  // namespace ringchain::core
