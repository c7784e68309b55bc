#include "sim/calibrate/calibrate.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <thread>
#include <vector>

#include "node/chain/block.h"
#include "node/chain/ledger.h"
#include "proto/node.pb.h"
#include "sim/report/budget.h"

namespace ringchain::calibrate {

namespace fs = std::filesystem;

namespace {

// CPU time of the calling thread, in microseconds.
double thread_cpu_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Runs `f` (which does `ops` operations) until it has taken min_ms of
// this thread's CPU time; microseconds of CPU per operation.
template <class F>
double cpu_per_op_us(F&& f, std::size_t ops, double min_ms = 300) {
  const double start = thread_cpu_us();
  std::size_t done = 0;
  double spent = 0;
  while (spent < min_ms * 1000) {
    f();
    done += ops;
    spent = thread_cpu_us() - start;
  }
  return spent / static_cast<double>(done);
}

// Transactions as clients make them: 16 senders, nonces rising.
std::vector<chain::transaction> signed_txs(std::size_t n, std::uint32_t tx_bytes) {
  constexpr std::size_t senders = 16;
  std::vector<chain::key_pair> keys;
  for (std::size_t k = 0; k < senders; ++k) {
    std::string seed = "calibrate-" + std::to_string(k);
    seed.resize(32, '.');
    keys.push_back(chain::key_pair_from_seed(seed));
  }
  const std::string value(tx_bytes > 120 ? tx_bytes - 120 : 1, 'v');
  std::vector<chain::transaction> txs;
  for (std::size_t i = 0; i < n; ++i) {
    txs.push_back(chain::make_transaction(keys[i % senders], i / senders + 1,
                                          "k" + std::to_string(i % 1000), value));
  }
  return txs;
}

// Blocks of `per_block` transactions that chain from height 1.
std::vector<chain::block> chained_blocks(const std::vector<chain::transaction>& txs,
                                         std::size_t per_block) {
  std::vector<chain::block> out;
  chain::hash prev{};
  for (std::size_t first = 0; first + per_block <= txs.size(); first += per_block) {
    chain::block_params p;
    p.height = out.size() + 1;
    p.term = 1;
    p.prev_hash = prev;
    p.proposer = 1;
    out.push_back(
        chain::make_block(p, {txs.begin() + static_cast<std::ptrdiff_t>(first),
                              txs.begin() + static_cast<std::ptrdiff_t>(first + per_block)}));
    prev = chain::header_hash(out.back().header());
  }
  return out;
}

// A peer frame through a socket pair and back into a frame: what a
// message costs both ends besides the core's step. Microseconds.
double message_cost_us(std::size_t entry_bytes) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 0;
  const int buf = 4 << 20;
  for (int fd : fds) {
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  }
  nodepb::PeerFrame frame;
  raftpb::Message* m = frame.mutable_raft();
  m->set_type(entry_bytes > 0 ? raftpb::MSG_APPEND : raftpb::MSG_HEARTBEAT);
  m->set_from(1);
  m->set_to(2);
  m->set_term(7);
  m->set_commit(1234);
  if (entry_bytes > 0) m->add_entries()->set_data(std::string(entry_bytes, 'x'));
  std::string in(entry_bytes + 4096, '\0');
  const double us = cpu_per_op_us(
      [&] {
        const std::string out = frame.SerializeAsString();
        std::size_t got = 0;
        for (std::size_t sent = 0; sent < out.size();) {
          const ssize_t k = ::send(fds[0], out.data() + sent, out.size() - sent, 0);
          if (k <= 0) return;
          sent += static_cast<std::size_t>(k);
          for (; got < sent;) {
            const ssize_t r = ::recv(fds[1], in.data() + got, in.size() - got, 0);
            if (r <= 0) return;
            got += static_cast<std::size_t>(r);
          }
        }
        nodepb::PeerFrame back;
        (void)back.ParseFromArray(in.data(), static_cast<int>(got));
      },
      1, 200);
  ::close(fds[0]);
  ::close(fds[1]);
  return us;
}

// Wake-ups: a thread blocked on a pipe is woken every millisecond; how
// late it runs, and how much longer than its CPU time its next 200 us of
// work takes (both the machine's other load).
void measure_wakeups(dst::cpu_profile* c) {
  c->wakeup.quantiles_us.assign(dst::quantile_count, 0);
  int fds[2];
  if (::pipe(fds) != 0) return;
  constexpr int rounds = 1000;
  std::vector<double> late_us;
  double burst_wall = 0, burst_cpu = 0;
  std::thread sleeper([&] {
    for (int i = 0; i < rounds; ++i) {
      std::int64_t t0 = 0;
      if (::read(fds[0], &t0, sizeof t0) != sizeof t0) return;
      const auto woke = std::chrono::steady_clock::now().time_since_epoch();
      late_us.push_back(
          static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(woke).count() -
                              t0) /
          1e3);
      const auto wall0 = std::chrono::steady_clock::now();
      const double cpu0 = thread_cpu_us();
      volatile std::uint64_t x = 0;
      while (thread_cpu_us() - cpu0 < 200) x = x + 1;
      burst_cpu += thread_cpu_us() - cpu0;
      burst_wall +=
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - wall0)
              .count();
    }
  });
  for (int i = 0; i < rounds; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const std::int64_t t0 = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now().time_since_epoch())
                                .count();
    if (::write(fds[1], &t0, sizeof t0) != sizeof t0) break;
  }
  ::close(fds[1]);
  sleeper.join();
  ::close(fds[0]);
  if (late_us.empty() || burst_cpu <= 0) return;
  std::sort(late_us.begin(), late_us.end());
  c->wakeup.quantiles_us.clear();
  for (double q : dst::quantile_points) {
    c->wakeup.quantiles_us.push_back(
        late_us[std::min(late_us.size() - 1, static_cast<std::size_t>(q * late_us.size()))]);
  }
  c->wakeup.p50_us = c->wakeup.quantiles_us[dst::quantile_count / 2];
  c->stretch = std::max(1.0, burst_wall / burst_cpu);
}

}  // namespace

dst::cpu_profile measure_cpu(std::uint32_t tx_bytes) {
  constexpr std::size_t per_block = 256;
  const std::vector<chain::transaction> txs = signed_txs(16 * per_block, tx_bytes);
  const std::vector<chain::block> blocks = chained_blocks(txs, per_block);
  dst::cpu_profile c;
  c.cores = std::max(1u, std::thread::hardware_concurrency());
  c.tx_bytes = tx_bytes;
  c.verify_us = cpu_per_op_us(
      [&] {
        for (std::size_t i = 0; i < per_block; ++i) (void)chain::verify(txs[i]);
      },
      per_block);
  c.sha256_us = cpu_per_op_us(
      [&] {
        for (std::size_t i = 0; i < per_block; ++i) (void)chain::tx_hash(txs[i]);
      },
      per_block);
  std::vector<chain::hash> leaves;
  for (std::size_t i = 0; i < per_block; ++i) leaves.push_back(chain::tx_hash(txs[i]));
  c.merkle_us = cpu_per_op_us([&] { (void)chain::merkle_root(leaves); }, per_block);
  const std::string encoded = blocks.front().SerializeAsString();
  c.encode_us = cpu_per_op_us([&] { (void)blocks.front().SerializeAsString(); }, per_block);
  c.decode_us = cpu_per_op_us(
      [&] {
        chain::block b;
        (void)b.ParseFromString(encoded);
      },
      per_block);
  c.apply_us = cpu_per_op_us(
      [&] {
        chain::ledger l;
        for (const chain::block& b : blocks) (void)l.apply(b);
      },
      blocks.size() * per_block);
  c.message_us = message_cost_us(0);
  c.message_kib_us = std::max(0.0, (message_cost_us(64 * 1024) - c.message_us) / 64);
  measure_wakeups(&c);
  return c;
}

namespace {

// The 1-minute load average, as /proc/loadavg says.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string first;
  in >> first;
  return first.empty() ? "?" : first;
}

std::string host_and_date() {
  char host[256] = "?";
  (void)::gethostname(host, sizeof host - 1);
  const std::time_t t = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M", std::localtime(&t));
  return std::string(host) + " on " + date;
}

void say(const options& o, const std::string& line) {
  if (o.progress) o.progress(line);
}

std::string fixed(double v, int decimals = 1) {
  return report::fixed(v, decimals);
}

// The writes measured: parts of per-transaction chains (one transaction's
// record each, 16 to a chain), and blocks of about 200 and 400 such
// transactions.
struct write_shape {
  std::uint64_t bytes;
  std::uint32_t chunks;
};
const write_shape write_shapes[] = {{512, 16}, {65536, 1}, {131072, 1}};
// The shapes a disk check measures again: a part and a block.
const write_shape checked_shapes[] = {write_shapes[0], write_shapes[1]};

base::status measure_disks(const options& o, const fs::path& scratch, dst::machine_profile* m) {
  for (io::backend b : {io::backend::uring, io::backend::epoll}) {
    for (std::uint32_t w = 1; w <= o.writers_max; ++w) {
      for (const write_shape& shape : write_shapes) {
        disk_pattern p;
        p.io = b;
        p.writers = w;
        p.bytes = shape.bytes;
        p.chunks = shape.chunks;
        p.budget_ms = o.disk_ms;
        auto d = measure_disk(scratch, p);
        if (!d.ok()) return d.to_status();
        say(o, std::string("disk: ") + io::to_string(b) + ", " + std::to_string(w) +
                   " writer(s), " + std::to_string(shape.bytes) + " bytes: p50 " +
                   fixed(d->p50_us) + " us, mean " + fixed(d->mean_us) + " us, p99 " +
                   fixed(d->p99_us) + " us");
        m->disk.push_back(*d);
      }
    }
  }
  return {};
}

}  // namespace

base::result<std::vector<dst::disk_sample>> check_disk(const fs::path& dir, std::uint32_t writers,
                                                       std::uint32_t budget_ms) {
  const fs::path scratch = dir / ("ringchain-disk-check-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::create_directories(scratch, ec);
  if (ec) return base::fail("cannot create " + scratch.string() + ": " + ec.message());
  std::vector<dst::disk_sample> out;
  for (const std::uint32_t w : {1u, writers}) {
    if (w < 1 || (w == 1 && !out.empty())) continue;
    for (const write_shape& shape : checked_shapes) {
      disk_pattern p;
      p.writers = w;
      p.bytes = shape.bytes;
      p.chunks = shape.chunks;
      p.budget_ms = budget_ms;
      auto d = measure_disk(scratch, p);
      if (!d.ok()) {
        fs::remove_all(scratch, ec);
        return base::fail(d.message());
      }
      out.push_back(*d);
    }
  }
  fs::remove_all(scratch, ec);
  return out;
}

std::vector<dst::disk_sample> between(const std::vector<dst::disk_sample>& before,
                                      const std::vector<dst::disk_sample>& after) {
  std::vector<dst::disk_sample> out = before;
  for (dst::disk_sample& d : out) {
    for (const dst::disk_sample& a : after) {
      if (a.io == d.io && a.writers == d.writers && a.bytes == d.bytes) {
        d.p50_us = std::sqrt(d.p50_us * a.p50_us);
      }
    }
  }
  return out;
}

base::result<dst::machine_profile> measure(const options& o) {
  dst::machine_profile m;
  m.name = o.name;
  const std::string load_before = load_average();
  m.cpu = measure_cpu(o.tx_bytes);
  say(o, "cpu: " + std::to_string(m.cpu.cores) + " cores; per transaction: verify " +
             fixed(m.cpu.verify_us) + " us, sha256 " + fixed(m.cpu.sha256_us, 2) + " us, merkle " +
             fixed(m.cpu.merkle_us, 2) + " us, encode " + fixed(m.cpu.encode_us, 2) +
             " us, decode " + fixed(m.cpu.decode_us, 2) + " us, apply " + fixed(m.cpu.apply_us, 2) +
             " us; per message " + fixed(m.cpu.message_us, 2) + " us + " +
             fixed(m.cpu.message_kib_us, 2) + " us/KiB; wake-up p50 " + fixed(m.cpu.wakeup.p50_us) +
             " us, p99 " +
             fixed(m.cpu.wakeup.quantiles_us.empty() ? 0 : m.cpu.wakeup.quantiles_us[20]) +
             " us; bursts take " + fixed(m.cpu.stretch, 2) + "x their CPU time");
  const fs::path scratch = o.dir / ("ringchain-calibrate-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::create_directories(scratch, ec);
  if (ec) return base::fail("cannot create " + scratch.string() + ": " + ec.message());
  const base::status disks = measure_disks(o, scratch, &m);
  fs::remove_all(scratch, ec);
  if (!disks.ok()) return base::fail(disks.message());
  auto net = measure_loopback();
  if (!net.ok()) return base::fail(net.message());
  m.rtt_p50_us = net->rtt_p50_us;
  m.rtt_p99_us = net->rtt_p99_us;
  m.gbit_per_s = net->gbit_per_s;
  say(o, "network: loopback round trip p50 " + fixed(m.rtt_p50_us) + " us, p99 " +
             fixed(m.rtt_p99_us) + " us; " + fixed(m.gbit_per_s) + " Gbit/s");
  std::error_code abs_ec;
  const fs::path where = fs::absolute(o.dir, abs_ec);
  m.description = "measured on " + host_and_date() + ", load average " + load_before +
                  " before and " + load_average() + " after; disk of " +
                  (abs_ec ? o.dir : where).lexically_normal().string();
  return m;
}

}  // namespace ringchain::calibrate
