// What a running process costs, as the kernel counts it: CPU time and
// context switches from /proc, and system calls entered, counted by the
// kernel's raw_syscalls:sys_enter tracepoint through perf_event_open.
//
// For the cluster benchmark and the experiment harness, which sample each
// node before and after a measured window and divide the difference by the
// work done (per committed transaction, say). Both read every thread of the
// process: the reactor loop, the verifier threads, the segment helper.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "node/base/result.h"

namespace ringchain::harness {

// CPU time and context switches of a process, all its threads together.
struct proc_times {
  // CPU time in user and in system mode (/proc/<pid>/stat utime and stime,
  // which count every thread, in clock ticks: 10 ms each where
  // _SC_CLK_TCK is 100).
  std::uint64_t user_us = 0, system_us = 0;
  // Context switches summed over the live threads
  // (/proc/<pid>/task/*/status): voluntary (the thread waited) and
  // involuntary (it was preempted).
  std::uint64_t voluntary_switches = 0, involuntary_switches = 0;

  // The difference `*this - before`, field by field.
  proc_times since(const proc_times& before) const;
};

// Reads /proc for `pid`; an error when the process is gone.
base::result<proc_times> read_proc_times(pid_t pid);

// The id of the tracepoint raw_syscalls:sys_enter, read from tracefs
// (/sys/kernel/tracing, or debugfs' tracing directory). When neither is
// mounted it mounts tracefs on /sys/kernel/tracing, which needs
// CAP_SYS_ADMIN; the error says what was tried and why it failed.
base::result<std::uint64_t> sys_enter_tracepoint_id();

// Counts the system calls a process enters, on every thread: one counting
// perf event per thread alive at open() (a thread's event counts only that
// thread), each inherited by the threads it creates later. Counting a
// tracepoint of another process needs CAP_PERFMON (or CAP_SYS_ADMIN), or
// the same user and kernel.perf_event_paranoid <= 1. io_uring work that the
// kernel does for the process (its io-wq workers) enters no system call,
// which is the point of counting this way.
class syscall_counter {
 public:
  // Starts counting for `pid`; the error names the reason (the tracepoint
  // cannot be found, perf_event_open refused with errno and the
  // perf_event_paranoid setting, the process is gone).
  static base::result<syscall_counter> open(pid_t pid);

  // Takes over `other`'s events; `other` then counts nothing.
  syscall_counter(syscall_counter&& other) noexcept;
  // Closes this counter's events and takes over `other`'s.
  syscall_counter& operator=(syscall_counter&& other) noexcept;
  syscall_counter(const syscall_counter&) = delete;
  syscall_counter& operator=(const syscall_counter&) = delete;
  // Closes the perf events.
  ~syscall_counter();

  // System calls entered since open(), by every thread counted.
  base::result<std::uint64_t> read() const;
  // Threads with their own event (threads that exited still count).
  std::size_t threads() const { return fds_.size(); }

 private:
  syscall_counter() = default;
  void close_all();

  std::vector<int> fds_;
};

// A process watched over a window: CPU and switches, and system calls
// when the kernel lets us count them.
class process_watch {
 public:
  // Opens the syscall counter for `pid`; a failure is kept as the reason
  // and the rest still works.
  explicit process_watch(pid_t pid);

  // One sample of everything, at the same moment.
  struct sample {
    // CPU time and context switches so far.
    proc_times times;
    // System calls since the watch began; 0 when unavailable.
    std::uint64_t syscalls = 0;
    // Whether `syscalls` was counted (the counter opened and read).
    bool syscalls_ok = false;
  };
  // Samples now; an error when the process is gone.
  base::result<sample> take() const;
  // Why system calls are not counted ("" when they are).
  const std::string& syscalls_unavailable() const { return syscalls_unavailable_; }

 private:
  pid_t pid_;
  std::optional<syscall_counter> counter_;
  std::string syscalls_unavailable_;
};

}  // namespace ringchain::harness
