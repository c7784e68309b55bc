// Signature checks off the reactor thread.
//
// Verifying a 256-transaction batch costs ~46 ms of CPU on a machine that
// verifies ~5,500 Ed25519 signatures a second per core; done on the reactor
// thread it would hold up the consensus loop, and every block's commit with
// it. Worker threads check batches and hand the results back to the reactor
// thread through a socketpair, whose read end is an ordinary reactor
// stream.
//
// Fairness: batches wait in one queue per submitter (a client connection),
// and workers take from the queues in turn, so one client's flood of
// batches delays its own batches, not everyone's. Order: a submitter's
// batches are handed back in the order it submitted them (a sender's
// nonces must reach the mempool in order), whichever worker finished
// first.
//
// In the inline mode (the deterministic simulator's) there is no thread:
// a batch is checked when submitted, and its results are handed back from
// a reactor timer, so `done` still never runs inside submit(). The timer
// fires at once, or, with a cost (node_env::verify_cost_ns), when one of
// `threads` simulated workers, each taking jobs in turn, would have
// finished the job (jobs come back in submission order).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "node/chain/transaction.h"
#include "node/io/reactor.h"
#include "node/runtime/env.h"

namespace ringchain::runtime {

// One batch of transactions to check.
struct verify_job {
  // Opaque to the verifier: who asked.
  void* owner = nullptr;
  // The submitter's queue (a connection's id; jobs of one queue come back
  // in order).
  std::uint64_t queue = 0;
  // Where the batch starts within its submission.
  std::size_t first = 0;
  // The transactions to check.
  std::vector<chain::transaction> txs;
  // Filled by a worker, one per transaction.
  std::vector<chain::tx_error> results;
};

// A signature checker (see the top of this file). The client service has
// one for submissions, and the node one for leaders' appends when
// verify_follower_signatures is set; both submit batches on the reactor
// thread and get the results back there.
class verifier {
 public:
  // Where batches are checked: on worker threads, or on the reactor thread
  // when submitted (the simulator's inline mode).
  enum class mode { thread, inline_ };

  // Checks one transaction (chain::verify unless a node_env says otherwise).
  using check_fn = std::function<chain::tx_error(const chain::transaction&)>;

  // `done` runs on the reactor thread for each finished job (in submission
  // order within a queue). At most `jobs_max` jobs wait or run at once;
  // `threads` workers check them. From `env`: the mode (verify_inline),
  // the check (verify_tx; null: chain::verify) and, inline, the time a
  // job takes (verify_cost_ns).
  verifier(io::reactor& reactor, std::function<void(verify_job&&)> done, std::size_t jobs_max,
           std::size_t threads, const node_env& env = {});
  // Stops and joins the workers (batches still queued are dropped), or in
  // the inline mode disarms the wake-up timer.
  ~verifier();
  verifier(const verifier&) = delete;
  verifier& operator=(const verifier&) = delete;

  // Queues a job; false (and nothing queued) when jobs_max are waiting.
  bool submit(verify_job job);
  // Jobs waiting or running.
  std::size_t queued() const;

 private:
  // A queue's jobs, in submission order, with their state.
  struct slot {
    verify_job job;
    bool taken = false;
    bool checked = false;
  };
  void work();
  bool take(std::uint64_t* queue, verify_job** job);
  void finish(std::uint64_t queue, verify_job* job);
  void drain();
  void check(verify_job& job) const;
  void submit_inline(verify_job job);
  void take_due_inline(std::deque<verify_job>* done);

  std::function<void(verify_job&&)> done_;
  check_fn check_;
  std::size_t jobs_max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Jobs by queue, in submission order; workers take untaken ones from
  // the queues in turn, starting after `cursor_`.
  std::map<std::uint64_t, std::deque<slot>> queues_;
  std::uint64_t cursor_ = 0;
  // Jobs checked and handed over to the reactor thread, in order.
  std::deque<verify_job> out_;
  std::size_t queued_ = 0;
  bool stop_ = false;
  int fds_[2] = {-1, -1};
  std::unique_ptr<io::stream> wake_;
  io::timer inline_wake_{[this] { drain(); }};
  // Inline, with a cost: when each simulated worker is free, and when each
  // job in out_ is due, in the reactor's microseconds.
  std::function<std::uint64_t(std::size_t)> cost_ns_;
  std::vector<std::uint64_t> inline_free_us_;
  std::deque<std::uint64_t> inline_due_us_;
  io::reactor& reactor_;
  mode mode_;
  std::vector<std::thread> workers_;
};

}  // namespace ringchain::runtime
