// process_stats: CPU time and system calls of a child process, counted by
// the kernel, against the work the child was told to do.
#include "sim/harness/process_stats.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <thread>

namespace ringchain::harness {
namespace {

constexpr int calls_per_thread = 1000;

// getppid as a real system call (glibc does not cache it, but say so).
void make_calls() {
  for (int i = 0; i < calls_per_thread; ++i) ::syscall(SYS_getppid);
}

// A child that makes a known number of system calls when told to. It has
// one thread before the counter opens and starts one more after, so both
// ways of counting threads are exercised: 3 x calls_per_thread in all.
class counted_child {
 public:
  counted_child() {
    RC_ASSERT(::pipe(go_) == 0 && ::pipe(done_) == 0);
    pid_ = ::fork();
    if (pid_ == 0) run();
    char c;
    RC_ASSERT(::read(done_[0], &c, 1) == 1);  // the first thread exists
  }
  ~counted_child() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    for (int fd : {go_[0], go_[1], done_[0], done_[1]}) ::close(fd);
  }
  pid_t pid() const { return pid_; }
  // Lets the child make its calls, and waits until it made them all.
  void go_and_wait() {
    RC_ASSERT(::write(go_[1], "gg", 2) == 2);
    char c;
    RC_ASSERT(::read(done_[0], &c, 1) == 1);
  }

 private:
  [[noreturn]] void run() {
    auto wait_go = [this] {
      char c;
      RC_ASSERT(::read(go_[0], &c, 1) == 1);
    };
    std::thread early([&] {
      wait_go();
      make_calls();
    });
    RC_ASSERT(::write(done_[1], "r", 1) == 1);
    wait_go();
    make_calls();
    std::thread late(make_calls);
    late.join();
    early.join();
    RC_ASSERT(::write(done_[1], "d", 1) == 1);
    for (;;) ::pause();
  }

  int go_[2] = {-1, -1};
  int done_[2] = {-1, -1};
  pid_t pid_ = -1;
};

TEST(process_stats, syscall_counter_counts_every_thread_of_a_child) {
  counted_child child;
  auto counter = syscall_counter::open(child.pid());
  if (!counter.ok()) GTEST_SKIP() << "cannot count system calls here: " << counter.message();
  const auto before = counter->read();
  ASSERT_TRUE(before.ok()) << before.message();
  child.go_and_wait();
  const auto after = counter->read();
  ASSERT_TRUE(after.ok()) << after.message();
  const std::uint64_t made = *after - *before;
  // The child's own calls, plus what a thread's start and end and the
  // pipes cost (clone, mmap, futex, read, write: a few dozen).
  EXPECT_GE(made, 3u * calls_per_thread);
  EXPECT_LE(made, 3u * calls_per_thread + 200);
}

TEST(process_stats, proc_times_sees_a_childs_cpu_time_and_waits) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Burn 200 ms of CPU, then wait (a voluntary switch) forever.
    timespec ts{};
    do {
      ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    } while (ts.tv_sec == 0 && ts.tv_nsec < 200'000'000);
    for (;;) ::pause();
  }
  base::result<proc_times> t = proc_times{};
  for (int i = 0; i < 500; ++i) {  // up to 5 s on a loaded machine
    t = read_proc_times(pid);
    ASSERT_TRUE(t.ok()) << t.message();
    if (t->user_us + t->system_us >= 150'000 && t->voluntary_switches > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  EXPECT_GE(t->user_us + t->system_us, 150'000u);
  EXPECT_LE(t->user_us + t->system_us, 1'000'000u);
  EXPECT_GT(t->voluntary_switches, 0u);
  EXPECT_FALSE(read_proc_times(pid).ok());
}

TEST(process_stats, watch_of_a_gone_process_reports_an_error) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  const process_watch w(pid);
  EXPECT_FALSE(w.take().ok());
  EXPECT_FALSE(w.syscalls_unavailable().empty());
}

}  // namespace
}  // namespace ringchain::harness
