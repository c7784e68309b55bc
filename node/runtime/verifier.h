// Signature checks off the reactor thread.
//
// Verifying a 256-transaction batch costs ~20 ms of CPU (Ed25519 at ~12.7k
// signatures/s per core); done on the reactor thread it would hold up the
// consensus loop, and every block's commit with it. A worker thread checks
// batches and hands the results back to the reactor thread through a
// socketpair, whose read end is an ordinary reactor stream.
//
// In the inline mode (the deterministic simulator's) there is no thread:
// a batch is checked when submitted, and its results are handed back from
// a zero-delay reactor timer, so `done` still never runs inside submit().
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "node/chain/transaction.h"
#include "node/io/reactor.h"

namespace ringchain::runtime {

struct verify_job {
  // Opaque to the verifier: who asked.
  void* owner = nullptr;
  std::vector<chain::transaction> txs;
  // Filled by the worker, one per transaction.
  std::vector<chain::tx_error> results;
};

class verifier {
 public:
  enum class mode { thread, inline_ };

  // Checks one transaction (chain::verify unless a node_env says otherwise).
  using check_fn = std::function<chain::tx_error(const chain::transaction&)>;

  // `done` runs on the reactor thread for each finished job, in order.
  // `check` null: chain::verify.
  verifier(io::reactor& reactor, std::function<void(verify_job&&)> done, std::size_t jobs_max,
           mode m = mode::thread, check_fn check = nullptr);
  ~verifier();

  // Queues a job; false (and nothing queued) when jobs_max are waiting.
  bool submit(verify_job job);

 private:
  void work();
  void drain();
  void check(verify_job& job) const;

  std::function<void(verify_job&&)> done_;
  check_fn check_;
  std::size_t jobs_max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<verify_job> in_;
  std::deque<verify_job> out_;
  std::size_t queued_ = 0;
  bool stop_ = false;
  int fds_[2] = {-1, -1};
  std::unique_ptr<io::stream> wake_;
  io::timer inline_wake_{[this] { drain(); }};
  io::reactor& reactor_;
  mode mode_;
  std::thread worker_;
};

}  // namespace ringchain::runtime
