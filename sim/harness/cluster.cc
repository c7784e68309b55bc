#include "sim/harness/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "node/base/assert.h"

namespace ringchain::harness {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Ports this process holds: each is a one-byte lock, at the port's offset,
// on one file that every harness on the machine shares. Tests run at once
// (ctest -j) then never hand out the same port: a lock of another process
// makes a port taken even while no socket is bound to it yet.
struct port_reservations {
  std::mutex mu;
  int fd = -1;
  std::set<int> held;
};

port_reservations& reservations() {
  static port_reservations r;
  return r;
}

bool lock_byte(int fd, int port, short type) {
  struct flock l {};
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = port;
  l.l_len = 1;
  return ::fcntl(fd, F_OFD_SETLK, &l) == 0;
}

// Takes `port` for this process; false when another harness holds it.
// Without the shared file (an unwritable temporary directory) every port
// counts as free, as before reservations.
bool reserve_port(int port) {
  port_reservations& r = reservations();
  const std::lock_guard lock(r.mu);
  if (r.held.count(port) != 0) return false;
  if (r.fd < 0) {
    const fs::path file = fs::temp_directory_path() / "ringchain-ports.lock";
    r.fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  }
  if (r.fd >= 0 && !lock_byte(r.fd, port, F_WRLCK)) return false;
  r.held.insert(port);
  return true;
}

}  // namespace

// A port below the kernel's ephemeral range (ip_local_port_range): ports
// the kernel hands out itself can be taken by any outgoing connection
// between this check and the node's bind, ports below it cannot.
int free_port() {
  int low = 32768, high = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low >> high;
  const int first = 10000, last = std::max(first + 1000, low - 1);
  static std::uint64_t state =
      static_cast<std::uint64_t>(::getpid()) * 0x9e3779b97f4a7c15ULL ^
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  for (int attempt = 0; attempt < 1000; ++attempt) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    const int port = first + static_cast<int>(state % static_cast<std::uint64_t>(last - first));
    if (!reserve_port(port)) continue;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return port;
    release_port(port);
  }
  return 0;
}

void release_port(int port) {
  port_reservations& r = reservations();
  const std::lock_guard lock(r.mu);
  if (r.held.erase(port) == 0) return;
  if (r.fd >= 0) lock_byte(r.fd, port, F_UNLCK);
}

process_cluster::process_cluster(process_cluster_options opts) : opts_(std::move(opts)) {
  if (opts_.data_root.empty()) dir_port_ = free_port();
  dir_ = !opts_.data_root.empty()
             ? opts_.data_root
             : fs::temp_directory_path() / ("ringchain-cluster-" + std::to_string(::getpid()) +
                                            "-" + std::to_string(dir_port_));
  fs::create_directories(dir_);
  // A spare's ports are picked when it first starts, maybe much later: one
  // picked now could be taken by then.
  peer_ports_.assign(size(), 0);
  client_ports_.assign(size(), 0);
  admin_ports_.assign(size(), 0);
  metrics_ports_.assign(size(), 0);
  for (std::size_t i = 0; i < opts_.nodes; ++i) pick_ports(i);
  pids_.assign(size(), -1);
  if (opts_.tls) {
    tls_dir_ = dir_ / "tls";
    const base::status made = run_command(
        {RINGCHAIN_SOURCE_DIR "/scripts/make-certs.sh", tls_dir_.string(), std::to_string(size())},
        30s);
    RC_ASSERT_MSG(made.ok(), made.message().c_str());
  }
}

base::result<std::string> run_capture(const std::vector<std::string>& args,
                                      std::chrono::milliseconds timeout) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return base::fail("pipe: " + std::string(std::strerror(errno)));
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out[1], 1);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  std::string text;
  const auto end = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (bool done = false; !done;) {
    char buf[4096];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) {
      text.append(buf, static_cast<std::size_t>(n));
    }
    done = ::waitpid(pid, &status, WNOHANG) != 0;
    if (!done && std::chrono::steady_clock::now() > end) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ::close(out[0]);
      return base::fail(args[0] + " did not finish within " + std::to_string(timeout.count()) +
                        " ms");
    }
    if (!done) std::this_thread::sleep_for(5ms);
  }
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) {
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return base::fail(args[0] + " " + (args.size() > 1 ? args[1] : "") + " failed (exit status " +
                      std::to_string(WEXITSTATUS(status)) + ")");
  }
  return text;
}

base::status run_command(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  return run_capture(args, timeout).to_status();
}

process_cluster::~process_cluster() {
  for (std::size_t i = 0; i < pids_.size(); ++i) {
    if (pids_[i] > 0) stop(i, 2s);
  }
  for (const std::vector<int>* ports :
       {&peer_ports_, &client_ports_, &admin_ports_, &metrics_ports_}) {
    for (int port : *ports) release_port(port);
  }
  release_port(dir_port_);
  // RINGCHAIN_KEEP_TEST_DIRS=1 keeps the data and node logs for a look.
  if (opts_.data_root.empty() && std::getenv("RINGCHAIN_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string process_cluster::client_address(std::size_t i) const {
  return host(i) + ":" + std::to_string(client_ports_[i]);
}

std::string process_cluster::peer_address(std::size_t i) const {
  return host(i) + ":" + std::to_string(peer_ports_[i]);
}

std::string process_cluster::admin_address(std::size_t i) const {
  return host(i) + ":" + std::to_string(admin_ports_[i]);
}

std::string process_cluster::metrics_address(std::size_t i) const {
  return host(i) + ":" + std::to_string(metrics_ports_[i]);
}

std::string process_cluster::host(std::size_t i) const {
  return opts_.lab != nullptr ? opts_.lab->address(i) : "127.0.0.1";
}

fs::path process_cluster::data_dir(std::size_t i) const {
  return dir_ / ("node" + std::to_string(i + 1));
}

std::string process_cluster::log_of(std::size_t i) const {
  std::ifstream in(dir_ / ("node" + std::to_string(i + 1) + ".log"));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string process_cluster::ended(std::size_t i) {
  if (pids_[i] <= 0) return "";
  int status = 0;
  if (::waitpid(pids_[i], &status, WNOHANG) != pids_[i]) return "";
  pids_[i] = -1;
  std::string how = WIFEXITED(status) ? "exited with code " + std::to_string(WEXITSTATUS(status))
                                      : "killed by signal " + std::to_string(WTERMSIG(status));
  std::string log = log_of(i);
  while (!log.empty() && log.back() == '\n') log.pop_back();
  if (const auto nl = log.rfind('\n'); nl != std::string::npos) log.erase(0, nl + 1);
  return log.empty() ? how : how + "; its log's last line: " + log;
}

void process_cluster::pick_ports(std::size_t i) {
  peer_ports_[i] = free_port();
  client_ports_[i] = free_port();
  admin_ports_[i] = free_port();
  metrics_ports_[i] = free_port();
}

void process_cluster::start(std::size_t i) {
  if (peer_ports_[i] == 0) pick_ports(i);
  // The cluster's first nodes know each other; a spare knows them all, and
  // joins.
  const bool spare = i >= opts_.nodes;
  std::string peers;
  for (std::size_t j = 0; j < (spare ? size() : opts_.nodes); ++j) {
    peers +=
        (j ? "," : "") + std::to_string(j + 1) + "@" + peer_address(j) + "/" + client_address(j);
  }
  std::vector<std::string> args = {opts_.node_binary,
                                   "--id",
                                   std::to_string(i + 1),
                                   "--listen_peer",
                                   peer_address(i),
                                   "--listen_client",
                                   client_address(i),
                                   "--listen_admin",
                                   admin_address(i),
                                   "--listen_metrics",
                                   metrics_address(i),
                                   "--peers",
                                   peers,
                                   "--data_dir",
                                   data_dir(i).string(),
                                   "--io",
                                   opts_.io,
                                   "--persistence",
                                   opts_.persistence,
                                   "--round_interval_ms",
                                   std::to_string(opts_.round_interval_ms)};
  if (opts_.tls) {
    const std::string n = std::to_string(i + 1);
    for (const auto& [flag, file] : {std::pair<std::string, std::string>{"--tls_ca", "ca.crt"},
                                     {"--tls_cert", "node-" + n + ".crt"},
                                     {"--tls_key", "node-" + n + ".key"}}) {
      args.push_back(flag);
      args.push_back((tls_dir_ / file).string());
    }
  }
  if (spare) {
    args.push_back("--join");
    args.push_back("true");
  }
  if (opts_.segment_mib != 0) {
    args.push_back("--segment_mib");
    args.push_back(std::to_string(opts_.segment_mib));
  }
  args.insert(args.end(), opts_.extra_args.begin(), opts_.extra_args.end());
  if (opts_.lab != nullptr) args.insert(args.begin(), {"ip", "netns", "exec", opts_.lab->ns(i)});
  const fs::path log = dir_ / ("node" + std::to_string(i + 1) + ".log");
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The child dies with the test process, whatever happens to it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (opts_.open_files_max) {
      const rlimit lim{*opts_.open_files_max, *opts_.open_files_max};
      ::setrlimit(RLIMIT_NOFILE, &lim);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  pids_[i] = pid;
}

void process_cluster::start_all() {
  for (std::size_t i = 0; i < opts_.nodes; ++i) start(i);
}

void process_cluster::kill(std::size_t i) {
  if (pids_[i] <= 0) return;
  ::kill(pids_[i], SIGKILL);
  ::waitpid(pids_[i], nullptr, 0);
  pids_[i] = -1;
}

int process_cluster::stop(std::size_t i, std::chrono::milliseconds grace) {
  if (pids_[i] <= 0) return -1;
  ::kill(pids_[i], SIGTERM);
  const auto end = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (::waitpid(pids_[i], &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > end) {
      ::kill(pids_[i], SIGKILL);
      ::waitpid(pids_[i], &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  pids_[i] = -1;
  return status;
}

void process_cluster::pause(std::size_t i) {
  if (pids_[i] > 0) ::kill(pids_[i], SIGSTOP);
}

void process_cluster::resume(std::size_t i) {
  if (pids_[i] > 0) ::kill(pids_[i], SIGCONT);
}

void process_cluster::stop_all() {
  for (std::size_t i = 0; i < size(); ++i) stop(i);
}

std::optional<pid_t> process_cluster::host_pid(std::size_t i) {
  if (pids_[i] <= 0) return std::nullopt;
  return pids_[i];
}

base::status process_cluster::admin(std::size_t i, const nodepb::AdminRequest& a) {
  net::client c;
  if (base::status s = c.connect(admin_address(i), 500ms); !s.ok()) return s;
  nodepb::ClientRequest req;
  *req.mutable_admin() = a;
  auto r = c.call(req, 2s);
  if (!r.ok()) return r.to_status();
  if (r->has_error()) return base::fail(r->error());
  return {};
}

fs::path process_cluster::trace_file(std::size_t i) {
  return data_dir(i) / "trace.jsonl";
}

void cluster_driver::partition(std::size_t i, bool on) {
  nodepb::LinkEmulation e;
  e.set_partitioned(on);
  emulate_around(i, e);
}

void cluster_driver::emulate_around(std::size_t i, const nodepb::LinkEmulation& e) {
  nodepb::AdminRequest mine;
  for (std::size_t j = 0; j < size(); ++j) {
    if (j == i) continue;
    nodepb::LinkEmulation* l = mine.add_links();
    *l = e;
    l->set_peer(j + 1);
    nodepb::AdminRequest theirs;
    *theirs.add_links() = e;
    theirs.mutable_links(0)->set_peer(i + 1);
    (void)admin(j, theirs);
  }
  (void)admin(i, mine);
}

std::optional<nodepb::NodeStatus> cluster_driver::status(std::size_t i) {
  net::client c;
  if (!c.connect(client_address(i), 500ms).ok()) return std::nullopt;
  nodepb::ClientRequest req;
  req.mutable_status();
  auto resp = c.call(req, 1s);
  if (!resp.ok() || !resp->has_status()) return std::nullopt;
  return resp->status();
}

std::optional<std::size_t> cluster_driver::wait_for_leader(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    for (std::size_t i = 0; i < size(); ++i) {
      if (!running(i)) continue;
      auto s = status(i);
      if (s && s->role() == "leader") return i;
    }
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

bool cluster_driver::wait_for_height(std::uint64_t height, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    bool all = true;
    for (std::size_t i = 0; i < size() && all; ++i) {
      if (!running(i)) continue;
      auto s = status(i);
      all = s && s->height() >= height;
    }
    if (all) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::optional<nodepb::SubmitResponse> cluster_driver::submit(std::size_t i,
                                                             const nodepb::SubmitRequest& req,
                                                             std::chrono::milliseconds timeout) {
  net::client c;
  if (!c.connect(client_address(i), 1s).ok()) return std::nullopt;
  nodepb::ClientRequest r;
  *r.mutable_submit() = req;
  for (int hop = 0; hop < 2; ++hop) {
    auto resp = c.call(r, timeout);
    if (!resp.ok()) return std::nullopt;
    const auto& s = resp->submit();
    const bool redirect =
        s.results_size() > 0 && s.results(0).code() == nodepb::TxResult::NOT_LEADER;
    if (!redirect || s.leader_client().empty()) return s;
    if (!c.connect(reachable(s.leader_client()), 1s).ok()) return std::nullopt;
  }
  return std::nullopt;
}

std::string http_get(const std::string& address, const std::string& path) {
  net::client c;
  if (!c.connect(address, 1s).ok()) return {};
  if (!c.send_raw("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")) return {};
  std::string out;
  const auto end = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < end) {
    std::string chunk = c.receive_raw(200ms);
    if (chunk.empty() && !c.connected()) break;
    out += chunk;
  }
  return out;
}

}  // namespace ringchain::harness
