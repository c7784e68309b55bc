// The disk and network measurements of calibrate.h.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <numeric>
#include <thread>
#include <vector>

#include "node/io/reactor.h"
#include "sim/calibrate/calibrate.h"
#include "sim/report/budget.h"

namespace ringchain::calibrate {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

// Each writer's file: written with zeros and made durable first, so that
// the writes measured overwrite allocated space, as the block log's do.
constexpr std::uint64_t file_bytes = 32ull << 20;

double since_us(clock_type::time_point t) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - t).count();
}

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Opens (creating and zero-filling when new) writer k's file.
base::result<int> writer_file(const fs::path& scratch, std::uint32_t k) {
  const fs::path path = scratch / ("writer-" + std::to_string(k) + ".dat");
  const bool fresh = !fs::exists(path);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return base::fail(errno_text("cannot open " + path.string()));
  if (fresh) {
    const std::string zeros(1 << 20, '\0');
    for (std::uint64_t off = 0; off < file_bytes; off += zeros.size()) {
      if (::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(off)) !=
          static_cast<ssize_t>(zeros.size())) {
        ::close(fd);
        return base::fail(errno_text("cannot fill " + path.string()));
      }
    }
    if (::fdatasync(fd) != 0) {
      ::close(fd);
      return base::fail(errno_text("fdatasync " + path.string()));
    }
  }
  return fd;
}

// One writer's loop on its own reactor of `io` (the node's write path:
// io_uring's linked write and barrier, or epoll's pwrite and fdatasync):
// `writes` page-aligned writes of `chunks` parts of `bytes`, each part
// made durable in turn, until `stop` (a time budget). Latencies per part,
// in microseconds.
struct write_job {
  io::backend io;
  int fd;
  std::uint64_t bytes;
  std::uint32_t chunks, writes;
};

void write_loop(const write_job& j, const std::atomic<bool>& go, clock_type::time_point stop,
                std::vector<double>* out, std::atomic<int>* errors) {
  auto reactor = io::reactor::create(j.io, {64, 8, 4096});
  if (!reactor.ok()) {
    ++*errors;
    return;
  }
  const std::string data(j.bytes * j.chunks, 'd');
  const std::uint64_t step = (data.size() + 4095) / 4096 * 4096;
  while (!go.load()) std::this_thread::yield();
  std::uint64_t off = 0;
  for (std::uint32_t i = 0; i < j.writes && clock_type::now() < stop; ++i) {
    int result = 1;
    io::file_write w;
    w.fd = j.fd;
    w.offset = off;
    w.data = data;
    w.chunks = j.chunks;
    w.on_done = [&result](int r) { result = r; };
    const auto t0 = clock_type::now();
    (*reactor)->submit(w);
    while (result == 1) (*reactor)->run_once(std::chrono::milliseconds(100));
    if (result != 0) {
      ++*errors;
      return;
    }
    out->push_back(since_us(t0) / j.chunks);
    off = off + 2 * step > file_bytes ? 0 : off + step;
  }
}

// The measurement's figures from latencies (unsorted).
dst::disk_sample describe(std::vector<double> all) {
  dst::disk_sample d;
  d.p50_us = report::percentile(all, 50);
  d.p90_us = report::percentile(all, 90);
  d.p99_us = report::percentile(all, 99);
  d.mean_us = std::accumulate(all.begin(), all.end(), 0.0) / static_cast<double>(all.size());
  std::sort(all.begin(), all.end());
  for (double q : dst::quantile_points) {
    d.quantiles_us.push_back(
        all[std::min(all.size() - 1, static_cast<std::size_t>(q * all.size()))]);
  }
  return d;
}

}  // namespace

base::result<dst::disk_sample> measure_disk(const fs::path& scratch, const disk_pattern& p) {
  std::vector<int> fds;
  for (std::uint32_t k = 0; k < p.writers; ++k) {
    auto fd = writer_file(scratch, k);
    if (!fd.ok()) {
      for (int f : fds) ::close(f);
      return base::fail(fd.message());
    }
    fds.push_back(*fd);
  }
  std::vector<std::vector<double>> latencies(p.writers);
  std::atomic<bool> go{false};
  std::atomic<int> errors{0};
  const auto stop = clock_type::now() + std::chrono::milliseconds(p.budget_ms);
  std::vector<std::thread> threads;
  for (std::uint32_t k = 0; k < p.writers; ++k) {
    threads.emplace_back(write_loop, write_job{p.io, fds[k], p.bytes, p.chunks, p.writes},
                         std::cref(go), stop, &latencies[k], &errors);
  }
  go = true;
  for (auto& t : threads) t.join();
  for (int f : fds) ::close(f);
  if (errors > 0) {
    return base::fail(std::string("a write or barrier failed, or the ") + io::to_string(p.io) +
                      " reactor could not start, in " + scratch.string());
  }
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  if (all.empty()) return base::fail("no write completed in " + scratch.string());
  dst::disk_sample d = describe(std::move(all));
  d.io = io::to_string(p.io);
  d.writers = p.writers;
  d.bytes = p.bytes;
  return d;
}

namespace {

// A listening loopback socket and its port.
base::result<std::pair<int, std::uint16_t>> listen_loopback() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return base::fail(errno_text("socket"));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return base::fail(errno_text("bind/listen on loopback"));
  }
  return std::make_pair(fd, ntohs(a.sin_port));
}

int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  if (fd >= 0) (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Reads exactly n bytes; false at EOF or error.
bool read_exactly(int fd, char* p, std::size_t n) {
  for (std::size_t got = 0; got < n;) {
    const ssize_t r = ::recv(fd, p + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

// The server side: echoes 64-byte messages on the first connection, then
// reads the second to its end; returns the bytes read from it.
void serve(int listener, std::atomic<std::uint64_t>* drained) {
  const int echo = ::accept(listener, nullptr, nullptr);
  const int one = 1;
  (void)::setsockopt(echo, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char msg[64];
  while (read_exactly(echo, msg, sizeof msg)) (void)::send(echo, msg, sizeof msg, MSG_NOSIGNAL);
  ::close(echo);
  const int bulk = ::accept(listener, nullptr, nullptr);
  std::vector<char> buf(1 << 18);
  std::uint64_t total = 0;
  for (ssize_t r; (r = ::recv(bulk, buf.data(), buf.size(), 0)) > 0;)
    total += static_cast<std::uint64_t>(r);
  ::close(bulk);
  *drained = total;
}

}  // namespace

base::result<loopback> measure_loopback() {
  auto l = listen_loopback();
  if (!l.ok()) return base::fail(l.message());
  std::atomic<std::uint64_t> drained{0};
  std::thread server(serve, l->first, &drained);
  loopback out;
  std::vector<double> rtts;
  const int c = connect_loopback(l->second);
  char msg[64] = {};
  for (int i = 0; c >= 0 && i < 5000; ++i) {
    const auto t0 = clock_type::now();
    if (::send(c, msg, sizeof msg, MSG_NOSIGNAL) != sizeof msg || !read_exactly(c, msg, sizeof msg))
      break;
    rtts.push_back(since_us(t0));
  }
  if (c >= 0) ::close(c);
  const int bulk = connect_loopback(l->second);
  constexpr std::uint64_t bulk_bytes = 512ull << 20;
  const std::vector<char> chunk(1 << 18, 'b');
  const auto t0 = clock_type::now();
  for (std::uint64_t sent = 0; bulk >= 0 && sent < bulk_bytes; sent += chunk.size()) {
    if (::send(bulk, chunk.data(), chunk.size(), MSG_NOSIGNAL) <= 0) break;
  }
  if (bulk >= 0) ::shutdown(bulk, SHUT_WR);
  server.join();
  const double seconds = since_us(t0) / 1e6;
  if (bulk >= 0) ::close(bulk);
  ::close(l->first);
  if (rtts.size() < 100 || drained < bulk_bytes / 2) {
    return base::fail("loopback TCP did not carry the measurement (connect or send failed)");
  }
  out.rtt_p50_us = report::percentile(rtts, 50);
  out.rtt_p99_us = report::percentile(rtts, 99);
  out.gbit_per_s = static_cast<double>(drained) * 8 / seconds / 1e9;
  return out;
}

}  // namespace ringchain::calibrate
