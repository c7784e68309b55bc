#include "node/runtime/verifier.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "node/base/assert.h"

namespace ringchain::runtime {

verifier::verifier(io::reactor& reactor, std::function<void(verify_job&&)> done,
                   std::size_t jobs_max, std::size_t threads, const node_env& env)
    : done_(std::move(done)),
      check_(env.verify_tx ? env.verify_tx : check_fn([](const chain::transaction& tx) {
        return chain::verify(tx);
      })),
      jobs_max_(jobs_max),
      reactor_(reactor),
      mode_(env.verify_inline ? mode::inline_ : mode::thread) {
  RC_ASSERT(threads >= 1);
  if (mode_ == mode::inline_) {
    cost_ns_ = env.verify_cost_ns;
    inline_free_us_.assign(threads, 0);
    return;
  }
  RC_ASSERT(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_) == 0);
  wake_ = std::make_unique<io::stream>(
      io::stream_handler{nullptr, [this](std::span<const char>) { drain(); }, [](int) {}}, 1);
  reactor_.open(*wake_, fds_[0]);
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

verifier::~verifier() {
  if (mode_ == mode::inline_) {
    if (inline_wake_.armed()) reactor_.disarm(inline_wake_);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
  ::close(fds_[1]);
}

std::size_t verifier::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_;
}

bool verifier::submit(verify_job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queued_ >= jobs_max_) return false;
    ++queued_;
    if (mode_ == mode::inline_) {
      submit_inline(std::move(job));
      return true;
    }
    queues_[job.queue].push_back({std::move(job), false, false});
  }
  cv_.notify_one();
  return true;
}

// Takes the first untaken job of the next queue after the cursor that has
// one (under mu_).
bool verifier::take(std::uint64_t* queue, verify_job** job) {
  if (queues_.empty()) return false;
  auto start = queues_.upper_bound(cursor_);
  for (std::size_t n = 0; n < queues_.size(); ++n, ++start) {
    if (start == queues_.end()) start = queues_.begin();
    for (slot& s : start->second) {
      if (s.taken) continue;
      s.taken = true;
      cursor_ = start->first;
      *queue = start->first;
      *job = &s.job;
      return true;
    }
  }
  return false;
}

// Marks a job checked and hands over every checked job at the front of its
// queue, so a queue's jobs leave in order (under mu_).
void verifier::finish(std::uint64_t queue, verify_job* job) {
  auto it = queues_.find(queue);
  RC_ASSERT(it != queues_.end());
  for (slot& s : it->second) {
    if (&s.job == job) s.checked = true;
  }
  while (!it->second.empty() && it->second.front().checked) {
    out_.push_back(std::move(it->second.front().job));
    it->second.pop_front();
  }
  if (it->second.empty()) queues_.erase(it);
}

void verifier::work() {
  for (;;) {
    std::uint64_t queue = 0;
    verify_job* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || take(&queue, &job); });
      if (stop_) return;
    }
    // The slot stays in its deque (a deque keeps element addresses while
    // elements are added or removed at its ends), and no one else touches
    // a taken job.
    check(*job);
    {
      std::lock_guard<std::mutex> lock(mu_);
      finish(queue, job);
    }
    // Wake the reactor; a full socket buffer already means "wake up".
    const char one = 1;
    (void)::send(fds_[1], &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
}

// Checks the job now; it comes back when a simulated worker would have
// finished it (under mu_).
void verifier::submit_inline(verify_job job) {
  check(job);
  const std::uint64_t now = reactor_.now_us();
  std::uint64_t due = now;
  if (cost_ns_) {
    std::uint64_t& worker = *std::min_element(inline_free_us_.begin(), inline_free_us_.end());
    worker = std::max(now, worker) + (cost_ns_(job.txs.size()) + 999) / 1000;
    due = std::max(worker, inline_due_us_.empty() ? 0 : inline_due_us_.back());
  }
  out_.push_back(std::move(job));
  inline_due_us_.push_back(due);
  if (!inline_wake_.armed()) reactor_.arm(inline_wake_, std::chrono::microseconds(due - now));
}

// Inline: moves the jobs that are due into *done, and arms the timer
// again for the next (under mu_).
void verifier::take_due_inline(std::deque<verify_job>* done) {
  const std::uint64_t now = reactor_.now_us();
  while (!out_.empty() && inline_due_us_.front() <= now) {
    done->push_back(std::move(out_.front()));
    out_.pop_front();
    inline_due_us_.pop_front();
  }
  if (!out_.empty()) {
    reactor_.arm(inline_wake_, std::chrono::microseconds(inline_due_us_.front() - now));
  }
}

void verifier::check(verify_job& job) const {
  job.results.reserve(job.txs.size());
  for (const auto& tx : job.txs) job.results.push_back(check_(tx));
}

void verifier::drain() {
  std::deque<verify_job> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (mode_ == mode::inline_) {
      take_due_inline(&done);
    } else {
      done.swap(out_);
    }
    queued_ -= done.size();
  }
  for (auto& job : done) done_(std::move(job));
}

}  // namespace ringchain::runtime
