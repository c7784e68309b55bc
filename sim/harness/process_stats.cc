#include "sim/harness/process_stats.h"

#include <dirent.h>
#include <linux/perf_event.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ringchain::harness {

namespace {

// Threads of one process given their own event; more are counted through
// inheritance only if they were created after open().
constexpr std::size_t counted_threads_max = 1024;

std::uint64_t ticks_to_us(std::uint64_t ticks) {
  static const auto hz = static_cast<std::uint64_t>(::sysconf(_SC_CLK_TCK));
  return ticks * 1'000'000 / hz;
}

// The ids of a process's threads, from /proc/<pid>/task.
std::vector<pid_t> threads_of(pid_t pid) {
  std::vector<pid_t> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') out.push_back(std::atoi(e->d_name));
    if (out.size() == counted_threads_max) break;
  }
  ::closedir(d);
  return out;
}

// Adds one thread's switch counts from its status file.
void add_switches(pid_t pid, pid_t tid, proc_times* t) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
      t->voluntary_switches += std::stoull(line.substr(24));
    if (line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
      t->involuntary_switches += std::stoull(line.substr(27));
  }
}

std::string perf_paranoid() {
  std::string v = "unknown";
  std::ifstream("/proc/sys/kernel/perf_event_paranoid") >> v;
  return v;
}

base::result<std::uint64_t> read_id(const std::string& file) {
  std::ifstream in(file);
  std::uint64_t id = 0;
  if (!(in >> id)) return base::fail("cannot read " + file);
  return id;
}

int open_event(std::uint64_t id, pid_t tid) {
  perf_event_attr a{};
  a.type = PERF_TYPE_TRACEPOINT;
  a.size = sizeof a;
  a.config = id;
  // Threads the counted thread creates get their own counter, whose count
  // reading this one includes (the kernel sums an event's children).
  a.inherit = 1;
  return static_cast<int>(::syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC));
}

}  // namespace

proc_times proc_times::since(const proc_times& before) const {
  proc_times d;
  d.user_us = user_us - before.user_us;
  d.system_us = system_us - before.system_us;
  d.voluntary_switches = voluntary_switches - before.voluntary_switches;
  d.involuntary_switches = involuntary_switches - before.involuntary_switches;
  return d;
}

base::result<proc_times> read_proc_times(pid_t pid) {
  const std::string stat_file = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream stat(stat_file);
  const std::string s((std::istreambuf_iterator<char>(stat)), {});
  // The command name, in parentheses, may hold spaces: fields count from
  // the last ')'. utime and stime are fields 14 and 15 (proc(5)).
  const auto close = s.rfind(')');
  if (close == std::string::npos) return base::fail("cannot read " + stat_file);
  std::istringstream in(s.substr(close + 2));
  std::string field;
  proc_times t;
  for (int i = 3; in >> field && i <= 15; ++i) {
    if (i == 14) t.user_us = ticks_to_us(std::stoull(field));
    if (i == 15) t.system_us = ticks_to_us(std::stoull(field));
  }
  for (const pid_t tid : threads_of(pid)) add_switches(pid, tid, &t);
  return t;
}

base::result<std::uint64_t> sys_enter_tracepoint_id() {
  const char* const roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
  const std::string event = "/events/raw_syscalls/sys_enter/id";
  for (const char* root : roots) {
    if (auto id = read_id(root + event); id.ok()) return id;
  }
  // Not mounted (a container, a minimal boot): tracefs mounts without a
  // device, and only on a directory the kernel provides for it.
  if (::mount("nodev", roots[0], "tracefs", 0, nullptr) != 0) {
    return base::fail(std::string("tracefs is not mounted, and mounting it on ") + roots[0] +
                      " failed: " + std::strerror(errno));
  }
  auto id = read_id(roots[0] + event);
  if (!id.ok()) return base::fail(id.message() + " (tracefs mounted; no raw_syscalls events)");
  return id;
}

base::result<syscall_counter> syscall_counter::open(pid_t pid) {
  auto id = sys_enter_tracepoint_id();
  if (!id.ok()) return base::fail(id.message());
  syscall_counter c;
  for (const pid_t tid : threads_of(pid)) {
    const int fd = open_event(*id, tid);
    if (fd >= 0) {
      c.fds_.push_back(fd);
      continue;
    }
    // A thread that ended since it was listed is simply gone; io_uring's
    // kernel workers cannot be counted and make no system calls.
    if (errno == ESRCH || (tid != pid && errno == EINVAL)) continue;
    return base::fail(std::string("perf_event_open(raw_syscalls:sys_enter) refused: ") +
                      std::strerror(errno) + " (kernel.perf_event_paranoid=" + perf_paranoid() +
                      "; needs CAP_PERFMON)");
  }
  if (c.fds_.empty()) return base::fail("process " + std::to_string(pid) + " is gone");
  return c;
}

syscall_counter::syscall_counter(syscall_counter&& other) noexcept : fds_(std::move(other.fds_)) {
  other.fds_.clear();
}

syscall_counter& syscall_counter::operator=(syscall_counter&& other) noexcept {
  if (this != &other) {
    close_all();
    fds_ = std::move(other.fds_);
    other.fds_.clear();
  }
  return *this;
}

syscall_counter::~syscall_counter() {
  close_all();
}

void syscall_counter::close_all() {
  for (const int fd : fds_) ::close(fd);
  fds_.clear();
}

base::result<std::uint64_t> syscall_counter::read() const {
  std::uint64_t total = 0;
  for (const int fd : fds_) {
    std::uint64_t n = 0;
    if (::read(fd, &n, sizeof n) != static_cast<ssize_t>(sizeof n)) {
      return base::fail(std::string("reading a perf counter failed: ") + std::strerror(errno));
    }
    total += n;
  }
  return total;
}

process_watch::process_watch(pid_t pid) : pid_(pid) {
  auto c = syscall_counter::open(pid);
  if (c.ok()) {
    counter_.emplace(std::move(c).value());
  } else {
    syscalls_unavailable_ = c.message();
  }
}

base::result<process_watch::sample> process_watch::take() const {
  sample s;
  auto t = read_proc_times(pid_);
  if (!t.ok()) return base::fail(t.message());
  s.times = *t;
  if (counter_) {
    if (auto n = counter_->read(); n.ok()) {
      s.syscalls = *n;
      s.syscalls_ok = true;
    }
  }
  return s;
}

}  // namespace ringchain::harness
