// The verifier: signature checks on worker threads, results handed back to
// the reactor thread through a socketpair, over both reactor backends (the
// ThreadSanitizer build, scripts/tsan.sh, runs these for the threads and
// their hand-over).
#include "node/runtime/verifier.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "tests/net/net_test_support.h"

namespace ringchain::runtime {
namespace {

class verifier_test : public net::testing::reactor_fixture {
 protected:
  // Several workers, so that jobs finish out of order.
  static constexpr std::size_t workers = 3;
  // A job of `n` transactions; every third has a broken signature.
  static verify_job job_of(int owner, int n, std::uint64_t queue = 0) {
    static const chain::key_pair key = chain::key_pair_from_seed(std::string(32, 'v'));
    verify_job j;
    j.owner = reinterpret_cast<void*>(static_cast<std::intptr_t>(owner));
    j.queue = queue;
    for (int i = 0; i < n; ++i) {
      chain::transaction tx =
          chain::make_transaction(key, static_cast<std::uint64_t>(i + 1), "k", "v");
      if (i % 3 == 2) tx.mutable_signature()->front() ^= 1;
      j.txs.push_back(std::move(tx));
    }
    return j;
  }
};

TEST_P(verifier_test, results_come_back_on_the_reactor_thread_in_order) {
  std::vector<verify_job> done;
  verifier v(
      *reactor_, [&](verify_job&& j) { done.push_back(std::move(j)); }, 64, workers);
  constexpr int jobs = 24;
  for (int k = 0; k < jobs; ++k) ASSERT_TRUE(v.submit(job_of(k, 1 + k % 4)));
  ASSERT_TRUE(run_until([&] { return done.size() == jobs; }, std::chrono::seconds(20)));
  for (int k = 0; k < jobs; ++k) {
    EXPECT_EQ(done[k].owner, reinterpret_cast<void*>(static_cast<std::intptr_t>(k)));
    ASSERT_EQ(done[k].results.size(), done[k].txs.size());
    for (std::size_t i = 0; i < done[k].results.size(); ++i) {
      EXPECT_EQ(done[k].results[i],
                i % 3 == 2 ? chain::tx_error::bad_signature : chain::tx_error::none);
    }
  }
}

TEST_P(verifier_test, each_queue_comes_back_in_its_own_order) {
  std::vector<verify_job> done;
  verifier v(
      *reactor_, [&](verify_job&& j) { done.push_back(std::move(j)); }, 64, workers);
  constexpr int jobs = 30;
  for (int k = 0; k < jobs; ++k) ASSERT_TRUE(v.submit(job_of(k, 1 + k % 5, k % 3)));
  ASSERT_TRUE(run_until([&] { return done.size() == jobs; }, std::chrono::seconds(20)));
  int last[3] = {-1, -1, -1};
  for (const verify_job& j : done) {
    const auto k = static_cast<int>(reinterpret_cast<std::intptr_t>(j.owner));
    EXPECT_GT(k, last[j.queue]) << "queue " << j.queue;
    last[j.queue] = k;
    EXPECT_EQ(j.results.size(), j.txs.size());
  }
}

TEST_P(verifier_test, a_full_queue_refuses_until_results_are_drained) {
  int done = 0;
  verifier v(
      *reactor_, [&](verify_job&&) { ++done; }, 2, workers);
  ASSERT_TRUE(v.submit(job_of(1, 1)));
  ASSERT_TRUE(v.submit(job_of(2, 1)));
  // Finished jobs count against the bound until the reactor takes them.
  EXPECT_FALSE(v.submit(job_of(3, 1)));
  ASSERT_TRUE(run_until([&] { return done == 2; }, std::chrono::seconds(20)));
  EXPECT_TRUE(v.submit(job_of(4, 1)));
  ASSERT_TRUE(run_until([&] { return done == 3; }, std::chrono::seconds(20)));
}

TEST_P(verifier_test, destroyed_with_jobs_in_flight) {
  // The worker is stopped and joined while it may be checking, handing
  // back, or writing its wake-up byte. (As in the node, the reactor is not
  // run again after the verifier is gone: its wake-up stream went with it.)
  int done = 0;
  {
    verifier v(
        *reactor_, [&](verify_job&&) { ++done; }, 64, workers);
    for (int k = 0; k < 16; ++k) ASSERT_TRUE(v.submit(job_of(k, 8)));
    run_until([&] { return done > 0; }, std::chrono::seconds(20));
  }
  EXPECT_GT(done, 0);
  reactor_.reset();
}

INSTANTIATE_TEST_SUITE_P(io, verifier_test,
                         ::testing::Values(io::backend::uring, io::backend::epoll),
                         [](const ::testing::TestParamInfo<io::backend>& p) {
                           return std::string(io::to_string(p.param));
                         });

}  // namespace
}  // namespace ringchain::runtime
