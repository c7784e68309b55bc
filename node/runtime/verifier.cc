#include "node/runtime/verifier.h"

#include <sys/socket.h>
#include <unistd.h>

#include "node/base/assert.h"

namespace ringchain::runtime {

verifier::verifier(io::reactor& reactor, std::function<void(verify_job&&)> done,
                   std::size_t jobs_max, mode m, check_fn check)
    : done_(std::move(done)),
      check_(check ? std::move(check)
                   : check_fn([](const chain::transaction& tx) { return chain::verify(tx); })),
      jobs_max_(jobs_max),
      reactor_(reactor),
      mode_(m) {
  if (mode_ == mode::inline_) return;
  RC_ASSERT(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_) == 0);
  wake_ = std::make_unique<io::stream>(
      io::stream_handler{nullptr, [this](std::span<const char>) { drain(); }, [](int) {}}, 1);
  reactor_.open(*wake_, fds_[0]);
  worker_ = std::thread([this] { work(); });
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
  cv_.notify_one();
  worker_.join();
  ::close(fds_[1]);
}

bool verifier::submit(verify_job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queued_ >= jobs_max_) return false;
    ++queued_;
    if (mode_ == mode::inline_) {
      check(job);
      out_.push_back(std::move(job));
      if (!inline_wake_.armed()) reactor_.arm(inline_wake_, std::chrono::nanoseconds(0));
      return true;
    }
    in_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void verifier::work() {
  for (;;) {
    verify_job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !in_.empty(); });
      if (stop_) return;
      job = std::move(in_.front());
      in_.pop_front();
    }
    check(job);
    {
      std::lock_guard<std::mutex> lock(mu_);
      out_.push_back(std::move(job));
    }
    // Wake the reactor; a full socket buffer already means "wake up".
    const char one = 1;
    (void)::send(fds_[1], &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
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
    done.swap(out_);
    queued_ -= done.size();
  }
  for (auto& job : done) done_(std::move(job));
}

}  // namespace ringchain::runtime
