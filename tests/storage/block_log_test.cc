// The block log over both reactor backends.
#include "node/storage/block_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>

namespace ringchain::storage {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

raftpb::Entry entry(std::uint64_t term, std::uint64_t index, std::size_t bytes = 100) {
  raftpb::Entry e;
  e.set_term(term);
  e.set_index(index);
  e.set_data(std::string(bytes, static_cast<char>('a' + index % 26)));
  return e;
}

class block_log_test : public ::testing::TestWithParam<io::backend> {
 protected:
  void SetUp() override {
    auto r = io::reactor::create(GetParam(), {});
    if (!r.ok()) GTEST_SKIP() << r.message();
    reactor_ = std::move(*r);
    // A parameterized test's name ends in "/<index>": one directory level,
    // not a subdirectory that TearDown would remove without its parent.
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '-');
    opts_.dir = fs::temp_directory_path() /
                ("ringchain-blocklog-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(opts_.dir);
    opts_.segment_bytes = limits::write_bytes_max;
  }
  void TearDown() override {
    log_.reset();
    if (!opts_.dir.empty()) fs::remove_all(opts_.dir);
  }

  void open_log() {
    log_.reset();
    auto opened = block_log::open(*reactor_, opts_);
    ASSERT_TRUE(opened.ok()) << opened.message();
    log_ = std::move(*opened);
  }

  // Appends and waits until durable; returns the result.
  int append_sync(const raftpb::HardState* hs, const std::vector<raftpb::Entry>& es,
                  std::uint32_t txs = 1) {
    int result = 1;
    log_->append(hs, es, txs, [&](int r) { result = r; });
    run_until([&] { return result != 1; });
    return result;
  }

  template <typename Pred>
  void run_until(Pred done) {
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < end) reactor_->run_once(10ms);
    ASSERT_TRUE(done()) << "timed out";
  }

  std::unique_ptr<io::reactor> reactor_;
  block_log_options opts_;
  std::unique_ptr<block_log> log_;
};

// A write that ends fewer than a record header's bytes before a page
// boundary leaves a short alignment gap; recovery must step over it to the
// next write. (Found by the deterministic simulator: such a node refused
// to restart, calling its log corrupt.)
TEST_P(block_log_test, write_ending_just_before_a_page_boundary_is_recovered) {
  bool found = false;
  for (std::size_t bytes = 3900; bytes < 4100 && !found; ++bytes) {
    fs::remove_all(opts_.dir);
    open_log();
    ASSERT_EQ(append_sync(nullptr, {entry(1, 1, bytes)}), 0);
    const std::uint64_t end = log_->get_counters().bytes % limits::write_alignment_bytes;
    if (end == 0 || end < limits::write_alignment_bytes - 7) continue;
    found = true;
    ASSERT_EQ(append_sync(nullptr, {entry(1, 2)}), 0);
    open_log();
    EXPECT_EQ(log_->recovered().entries.size(), 2u) << "write of " << bytes << " bytes";
  }
  EXPECT_TRUE(found) << "no entry size gave a short gap";
}

TEST_P(block_log_test, durable_appends_are_recovered_after_reopen) {
  open_log();
  raftpb::HardState hs;
  hs.set_term(3);
  hs.set_vote(2);
  hs.set_commit(2);
  ASSERT_EQ(append_sync(&hs, {entry(1, 1), entry(1, 2)}), 0);
  hs.set_commit(3);
  ASSERT_EQ(append_sync(&hs, {entry(3, 3)}), 0);
  EXPECT_EQ(reactor_->get_counters().fdatasyncs, 2u) << "one barrier per append";
  open_log();
  const recovered_log& rec = log_->recovered();
  ASSERT_EQ(rec.entries.size(), 3u);
  EXPECT_EQ(rec.entries[2].term(), 3u);
  EXPECT_EQ(rec.entries[1].data(), entry(1, 2).data());
  EXPECT_EQ(rec.hard_state.vote(), 2u);
  EXPECT_EQ(rec.hard_state.commit(), 3u);
  // Appending after recovery continues the same log.
  ASSERT_EQ(append_sync(nullptr, {entry(3, 4)}), 0);
  open_log();
  EXPECT_EQ(log_->recovered().entries.size(), 4u);
}

TEST_P(block_log_test, appends_waiting_behind_a_write_share_the_next_barrier) {
  open_log();
  std::vector<int> order;
  for (std::uint64_t i = 1; i <= 5; ++i) {
    const std::vector<raftpb::Entry> es{entry(1, i)};
    log_->append(nullptr, es, 1, [&order, i](int r) {
      EXPECT_EQ(r, 0);
      order.push_back(static_cast<int>(i));
    });
  }
  run_until([&] { return order.size() == 5; });
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(log_->get_counters().writes, 2u) << "the first alone, the other four together";
  EXPECT_EQ(reactor_->get_counters().fdatasyncs, 2u);
}

TEST_P(block_log_test, appends_chained_from_completions_are_laid_out_and_recovered) {
  // The node appends the next Ready from the completion of the previous
  // one; every write must land once, page-aligned, and recover cleanly.
  open_log();
  std::uint64_t next = 1;
  int done = 0;
  std::function<void(int)> chain = [&](int r) {
    ASSERT_EQ(r, 0);
    ++done;
    if (next <= 20) {
      const std::uint64_t index = next++;
      const std::vector<raftpb::Entry> es{entry(1, index, 100 + index * 37)};
      log_->append(nullptr, es, 1, chain);
    }
  };
  const std::vector<raftpb::Entry> first{entry(1, next++)};
  log_->append(nullptr, first, 1, chain);
  run_until([&] { return done == 20; });
  reactor_->run_once(20ms);
  EXPECT_EQ(done, 20);
  EXPECT_EQ(log_->get_counters().writes, 20u);
  EXPECT_EQ(reactor_->get_counters().fdatasyncs, 20u);
  open_log();
  EXPECT_EQ(log_->recovered().entries.size(), 20u);
  EXPECT_EQ(log_->recovered().torn_bytes, 0u);
}

TEST_P(block_log_test, per_tx_policy_issues_a_barrier_per_transaction) {
  opts_.policy = persistence::per_tx;
  open_log();
  ASSERT_EQ(append_sync(nullptr, {entry(1, 1, 256 * 32)}, 32), 0);
  EXPECT_EQ(reactor_->get_counters().fdatasyncs, 32u);
  open_log();
  EXPECT_EQ(log_->recovered().entries.size(), 1u);
}

TEST_P(block_log_test, rewritten_suffix_replaces_the_old_one) {
  open_log();
  ASSERT_EQ(append_sync(nullptr, {entry(1, 1), entry(1, 2), entry(1, 3)}), 0);
  ASSERT_EQ(append_sync(nullptr, {entry(2, 2)}), 0);
  open_log();
  ASSERT_EQ(log_->recovered().entries.size(), 2u);
  EXPECT_EQ(log_->recovered().entries[1].term(), 2u);
}

TEST_P(block_log_test, full_segment_rolls_over_to_a_new_preallocated_one) {
  open_log();
  // 20 appends of 1 MiB exceed one 16 MiB segment.
  for (std::uint64_t i = 1; i <= 20; ++i) {
    ASSERT_EQ(append_sync(nullptr, {entry(1, i, limits::mib)}), 0) << i;
  }
  EXPECT_EQ(log_->get_counters().segments_created, 2u);
  EXPECT_TRUE(fs::exists(segment_path(opts_.dir, 2)));
  EXPECT_EQ(fs::file_size(segment_path(opts_.dir, 2)), opts_.segment_bytes);
  open_log();
  ASSERT_EQ(log_->recovered().entries.size(), 20u);
  EXPECT_EQ(log_->recovered().entries[19].data().size(), limits::mib);
}

TEST_P(block_log_test, write_error_is_fatal_and_acknowledges_nothing) {
  open_log();
  ASSERT_EQ(append_sync(nullptr, {entry(1, 1)}), 0);
  // Writes past 200 bytes now fail (EFBIG): a real write error.
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit lim = old;
  lim.rlim_cur = 200;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  std::vector<int> results;
  for (std::uint64_t i = 2; i <= 4; ++i) {
    const std::vector<raftpb::Entry> es{entry(1, i, 1000)};
    log_->append(nullptr, es, 1, [&](int r) { results.push_back(r); });
  }
  run_until([&] { return results.size() == 3; });
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  for (int r : results) EXPECT_EQ(r, -EFBIG);
  EXPECT_EQ(log_->failed(), -EFBIG);
  EXPECT_NE(log_->failure_message().find("segment-00000001.log failed"), std::string::npos)
      << log_->failure_message();
  // Nothing more is accepted.
  int late = 1;
  const std::vector<raftpb::Entry> es{entry(1, 5)};
  log_->append(nullptr, es, 1, [&](int r) { late = r; });
  EXPECT_EQ(late, -EFBIG);
  // What was durable before the failure is all there is.
  open_log();
  EXPECT_EQ(log_->recovered().entries.size(), 1u);
}

TEST_P(block_log_test, failed_barrier_is_fatal_and_never_retried) {
  open_log();
  ASSERT_EQ(append_sync(nullptr, {entry(1, 1)}), 0);
  // Test hook: the segment is swapped for /dev/null, which takes writes at
  // any offset and refuses fdatasync (EINVAL).
  const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(null_fd, 0);
  log_->replace_fd_for_testing(null_fd);
  const std::uint64_t barriers = reactor_->get_counters().fdatasyncs;
  std::vector<int> results;
  for (std::uint64_t i = 2; i <= 3; ++i) {
    const std::vector<raftpb::Entry> es{entry(1, i)};
    log_->append(nullptr, es, 1, [&](int r) { results.push_back(r); });
  }
  run_until([&] { return results.size() == 2; });
  EXPECT_EQ(results, (std::vector<int>{-EINVAL, -EINVAL}));
  EXPECT_EQ(reactor_->get_counters().fdatasyncs, barriers + 1) << "no retry after the failure";
  EXPECT_NE(log_->failure_message().find("the node stops"), std::string::npos);
  open_log();
  EXPECT_EQ(log_->recovered().entries.size(), 1u);
}

TEST_P(block_log_test, refuses_to_open_over_mid_log_corruption) {
  open_log();
  for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_EQ(append_sync(nullptr, {entry(1, i)}), 0);
  log_.reset();
  // Damage the first write's entry; two later writes follow it.
  {
    FILE* f = std::fopen(segment_path(opts_.dir, 1).c_str(), "r+b");
    std::fseek(f, 60, SEEK_SET);
    std::fputc('!', f);
    std::fclose(f);
  }
  auto opened = block_log::open(*reactor_, opts_);
  EXPECT_FALSE(opened.ok());
  EXPECT_NE(opened.message().find("segment-00000001.log at offset"), std::string::npos)
      << opened.message();
}

TEST_P(block_log_test, torn_final_write_is_dropped_and_writing_resumes) {
  open_log();
  for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_EQ(append_sync(nullptr, {entry(1, i)}), 0);
  log_.reset();
  // Tear the last write: zero its second half.
  const std::uint64_t size = fs::file_size(segment_path(opts_.dir, 1));
  std::string data(size, '\0');
  {
    FILE* f = std::fopen(segment_path(opts_.dir, 1).c_str(), "r+b");
    ASSERT_EQ(std::fread(data.data(), 1, size, f), size);
    const std::size_t end = data.find_last_not_of('\0') + 1;
    std::fseek(f, static_cast<long>(end - 60), SEEK_SET);
    std::fwrite(std::string(60, '\0').data(), 1, 60, f);
    std::fclose(f);
  }
  open_log();
  EXPECT_EQ(log_->recovered().entries.size(), 2u);
  EXPECT_GT(log_->recovered().torn_bytes, 0u);
  ASSERT_EQ(append_sync(nullptr, {entry(1, 3)}), 0);
  open_log();
  EXPECT_EQ(log_->recovered().entries.size(), 3u);
  EXPECT_EQ(log_->recovered().torn_bytes, 0u);
}

// Raft §7: once a snapshot covers them, the oldest segments leave the
// disk; the log reopened from that snapshot holds what follows it.
TEST_P(block_log_test, segments_a_snapshot_covers_are_deleted) {
  open_log();
  raftpb::HardState hs;
  hs.set_term(1);
  // 40 appends of 1 MiB fill three 16 MiB segments.
  for (std::uint64_t i = 1; i <= 40; ++i) {
    hs.set_commit(i);
    ASSERT_EQ(append_sync(&hs, {entry(1, i, limits::mib)}), 0) << i;
  }
  ASSERT_GE(log_->segments(), 3u);
  EXPECT_GE(log_->drop_segments_through(30), 1u);
  EXPECT_FALSE(fs::exists(segment_path(opts_.dir, 1)));
  // Never the last segment holding a write: it has the latest hard state.
  log_->drop_segments_through(1000);
  EXPECT_EQ(log_->segments(), 1u);
  opts_.snapshot_index = 38;
  opts_.snapshot_term = 1;
  open_log();
  ASSERT_EQ(log_->recovered().entries.size(), 2u);
  EXPECT_EQ(log_->recovered().entries[0].index(), 39u);
  EXPECT_EQ(log_->recovered().hard_state.commit(), 40u);
}

// A snapshot installed from the leader: the write that records it restarts
// the log after it.
TEST_P(block_log_test, a_reset_restarts_the_log_after_an_installed_snapshot) {
  open_log();
  ASSERT_EQ(append_sync(nullptr, {entry(1, 1), entry(1, 2)}), 0);
  raftpb::SnapshotMeta snap;
  snap.set_index(10);
  snap.set_term(2);
  raftpb::HardState hs;
  hs.set_term(2);
  int result = 1;
  log_->append(
      &hs, std::vector<raftpb::Entry>{entry(2, 11)}, 1, [&](int r) { result = r; }, &snap);
  run_until([&] { return result != 1; });
  ASSERT_EQ(result, 0);
  opts_.snapshot_index = 10;
  opts_.snapshot_term = 2;
  open_log();
  ASSERT_EQ(log_->recovered().entries.size(), 1u);
  EXPECT_EQ(log_->recovered().entries[0].index(), 11u);
}

TEST(block_log_options, validate_names_the_problem) {
  block_log_options o;
  EXPECT_NE(o.validate().message().find("data directory"), std::string::npos);
  o.dir = "/tmp/x";
  o.segment_bytes = 1;
  EXPECT_NE(o.validate().message().find("segment_bytes"), std::string::npos);
  persistence p;
  EXPECT_TRUE(parse_persistence("per_tx", &p));
  EXPECT_EQ(p, persistence::per_tx);
  EXPECT_FALSE(parse_persistence("none", &p));
}

INSTANTIATE_TEST_SUITE_P(backends, block_log_test,
                         ::testing::Values(io::backend::uring, io::backend::epoll),
                         [](const auto& param_info) {
                           return std::string(io::to_string(param_info.param));
                         });

}  // namespace
}  // namespace ringchain::storage
