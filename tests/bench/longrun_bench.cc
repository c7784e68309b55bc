// longrun_bench: figures for nodes that run for a long time, from a
// cluster of three real ringchain-node processes on this machine.
//
//   longrun_bench memory  [--minutes 10] [--rate 4000] [--sample-s 30] [--snapshots on|off]
//                         [--blocks-kept N]
//   longrun_bench restart [--txs 10000,1000000] [--rate 0] [--snapshots on|off]
//   longrun_bench join    [--history-s 60] [--rate 4000]
//
// memory: open-loop load at --rate transactions of 256 B a second (paced
// per sender; what the cluster does not take shows as a lower achieved
// rate) for --minutes; every --sample-s each node's resident memory (VmRSS)
// and the size of its data directory on disk (allocated blocks: the block
// log's segments are preallocated), with the block store's share, the
// node's height, the entries its core holds in memory and the snapshots it
// took. Then the largest of each. --blocks-kept sets the nodes' block
// retention (the block store's share of the disk is bounded by it).
//
// restart: for each count, a fresh cluster takes that many transactions
// (--rate 0: as fast as the senders get answers); then a follower is
// killed (SIGKILL) and started again. Printed: the time from its start to
// the first status answer (the node answers once it has recovered from
// its disk: snapshot and log tail), and to its height reaching the
// leader's.
//
// join: open-loop load at --rate for --history-s, then, with the load still
// running, a fourth node joins (a learner through the leader's admin port,
// promoted once it has caught up: sim/harness/membership.h). Printed: the
// leader's height when the node was added, how long the learner took to
// catch up and the promotion to be in force, whether it installed a
// snapshot, and the longest time the leader's height stood still while
// the node joined (sampled every 20 ms): commits must not stop.
//
// Senders: 16, batches of 100. Keys: each sender writes 4,096 keys in turn, so the state stays a
// few MiB and what grows is the log, not the ledger. --snapshots off sets the snapshot intervals to
// their largest (100,000 blocks, 1 GiB), which a run of these lengths does not reach.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "node/chain/block.h"
#include "sim/harness/cluster.h"
#include "sim/harness/membership.h"

namespace {

using namespace ringchain;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr std::size_t tx_bytes = 256;
constexpr std::size_t senders = 16;
constexpr std::size_t batch_txs = 100;
constexpr std::uint64_t keys_per_sender = 4096;

// The command line.
struct options {
  std::string mode;
  double minutes = 10;
  double rate = 4000;
  int sample_s = 30;
  bool snapshots = true;
  double history_s = 60;
  std::vector<std::uint64_t> txs = {10'000, 1'000'000};
  std::string io = "uring";
  // The nodes' blocks_kept (0: the node's default).
  std::uint64_t blocks_kept = 0;
};

std::uint64_t counter(const nodepb::NodeStatus& s, const std::string& name) {
  auto it = s.counters().find(name);
  return it == s.counters().end() ? 0 : it->second;
}

// One node's resident memory in MiB (VmRSS), or -1.
double rss_mib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

// Bytes allocated on disk under `dir` (what du counts).
double disk_mib(const fs::path& dir) {
  std::uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;
    }
  }
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

// Senders on their own threads, each with its own key, submitting batches
// of signed transactions to the leader (one outstanding at a time) at
// rate / senders a second, or as fast as answers come with rate 0, until
// stopped or `txs_total` were sent.
class load {
 public:
  load(harness::process_cluster& c, std::size_t leader, double rate, std::uint64_t txs_total)
      : c_(c), leader_(leader), rate_(rate), txs_total_(txs_total) {}
  ~load() { stop(); }

  void start() {
    for (std::size_t s = 0; s < senders; ++s) threads_.emplace_back([this, s] { run(s); });
  }
  // Stops the senders after their batch in flight.
  void stop() {
    stop_ = true;
    wait();
  }
  // Waits until every sender sent its share (or lost a batch).
  void wait() {
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  // Transactions answered COMMITTED, and batches with no answer.
  std::uint64_t committed() const { return committed_; }
  std::uint64_t failed_batches() const { return failed_; }

 private:
  void run(std::size_t s) {
    std::string seed = "longrun-" + std::to_string(s);
    seed.resize(32, '#');
    const chain::key_pair k = chain::key_pair_from_seed(seed);
    const std::string value(tx_bytes - 120, 'v');
    const std::uint64_t share = txs_total_ / senders + (txs_total_ % senders != 0 ? 1 : 0);
    const auto start = clock_type::now();
    std::uint64_t nonce = 1;
    while (!stop_ && nonce <= share) {
      if (rate_ > 0) {
        const double at_s = static_cast<double>(nonce - 1) / (rate_ / senders);
        std::this_thread::sleep_until(
            start + std::chrono::microseconds(static_cast<std::int64_t>(at_s * 1e6)));
      }
      nodepb::SubmitRequest req;
      const std::uint64_t n = std::min<std::uint64_t>(batch_txs, share - nonce + 1);
      for (std::uint64_t i = 0; i < n; ++i, ++nonce) {
        const std::string key =
            "k" + std::to_string(s) + "-" + std::to_string(nonce % keys_per_sender);
        *req.add_txs() = chain::make_transaction(k, nonce, key, value);
      }
      std::optional<nodepb::SubmitResponse> r = c_.submit(leader_, req, 30s);
      if (!r) {
        ++failed_;
        return;  // the nonces after a lost batch would wait forever
      }
      for (const auto& t : r->results()) committed_ += t.code() == nodepb::TxResult::COMMITTED;
    }
  }

  harness::process_cluster& c_;
  std::size_t leader_;
  double rate_;
  std::uint64_t txs_total_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> committed_{0}, failed_{0};
  std::vector<std::thread> threads_;
};

harness::process_cluster_options cluster_options(const options& o) {
  harness::process_cluster_options co;
  co.io = o.io;
  co.segment_mib = 64;
  if (!o.snapshots) {
    co.extra_args = {"--snapshot_interval_blocks", "100000", "--snapshot_interval_mib", "1024"};
  }
  if (o.blocks_kept != 0) {
    co.extra_args.insert(co.extra_args.end(), {"--blocks_kept", std::to_string(o.blocks_kept)});
  }
  return co;
}

// Starts every node of `c`; the leader, or nothing (said) after 15 s.
std::optional<std::size_t> start_cluster(harness::process_cluster& c) {
  c.start_all();
  const auto leader = c.wait_for_leader(15s);
  if (!leader) std::fprintf(stderr, "longrun_bench: no leader\n");
  return leader;
}

int run_memory(const options& o) {
  harness::process_cluster c(cluster_options(o));
  const auto leader = start_cluster(c);
  if (!leader) return 1;
  std::printf(
      "memory: 3 nodes (%s, TLS), %.0f tx/s of %zu B asked for %.1f min, snapshots %s, "
      "blocks_kept %s\n",
      o.io.c_str(), o.rate, tx_bytes, o.minutes, o.snapshots ? "on" : "off",
      o.blocks_kept != 0 ? std::to_string(o.blocks_kept).c_str() : "default");
  std::printf("%6s %4s %9s %9s %10s %10s %9s %9s %6s\n", "t_s", "node", "rss_MiB", "data_MiB",
              "blocks_MiB", "height", "log_mem", "snaps", "tx/s");
  load l(c, *leader, o.rate, std::numeric_limits<std::uint64_t>::max());
  const auto start = clock_type::now();
  l.start();
  double rss_max[3] = {0, 0, 0}, data_max[3] = {0, 0, 0};
  std::uint64_t last_committed = 0;
  const auto end = start + std::chrono::seconds(static_cast<std::int64_t>(o.minutes * 60));
  for (auto next = start + std::chrono::seconds(o.sample_s); next <= end;
       next += std::chrono::seconds(o.sample_s)) {
    std::this_thread::sleep_until(next);
    const double t = std::chrono::duration<double>(clock_type::now() - start).count();
    const std::uint64_t committed = l.committed();
    const double tps = static_cast<double>(committed - last_committed) / o.sample_s;
    last_committed = committed;
    for (std::size_t i = 0; i < 3; ++i) {
      const double rss = rss_mib(c.pid(i));
      const double data = disk_mib(c.data_dir(i));
      const double blocks = disk_mib(c.data_dir(i) / "blocks");
      rss_max[i] = std::max(rss_max[i], rss);
      data_max[i] = std::max(data_max[i], data);
      const auto s = c.status(i);
      std::printf("%6.0f %4zu %9.1f %9.1f %10.1f %10llu %9llu %9llu %6.0f\n", t, i + 1, rss, data,
                  blocks, s ? static_cast<unsigned long long>(s->height()) : 0ULL,
                  s ? static_cast<unsigned long long>(counter(*s, "log_entries_in_memory")) : 0ULL,
                  s ? static_cast<unsigned long long>(counter(*s, "snapshots_taken")) : 0ULL, tps);
    }
    std::fflush(stdout);
  }
  l.stop();
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  std::printf("committed %llu transactions in %.0f s (%.0f tx/s); batches without answer: %llu\n",
              static_cast<unsigned long long>(l.committed()), seconds,
              static_cast<double>(l.committed()) / seconds,
              static_cast<unsigned long long>(l.failed_batches()));
  for (std::size_t i = 0; i < 3; ++i) {
    std::printf("node %zu: rss max %.1f MiB, data directory max %.1f MiB%s\n", i + 1, rss_max[i],
                data_max[i], i == *leader ? " (leader)" : "");
  }
  return 0;
}

// Waits until every node answers with the same height; returns it (0 at
// timeout).
std::uint64_t settle(harness::process_cluster& c) {
  const auto end = clock_type::now() + 60s;
  while (clock_type::now() < end) {
    std::uint64_t h[3] = {0, 0, 0};
    for (std::size_t i = 0; i < 3; ++i) {
      if (auto s = c.status(i)) h[i] = s->height();
    }
    if (h[0] != 0 && h[0] == h[1] && h[1] == h[2]) return h[0];
    std::this_thread::sleep_for(200ms);
  }
  return 0;
}

int run_restart(const options& o) {
  std::printf(
      "restart: 3 nodes (%s, TLS), snapshots %s; a follower killed (SIGKILL) and "
      "started again after N transactions of %zu B\n",
      o.io.c_str(), o.snapshots ? "on" : "off", tx_bytes);
  std::printf("%10s %8s %10s %11s %11s %12s\n", "txs", "height", "data_MiB", "load_s", "answer_ms",
              "caught_up_ms");
  for (std::uint64_t n : o.txs) {
    harness::process_cluster c(cluster_options(o));
    const auto leader = start_cluster(c);
    if (!leader) return 1;
    const auto t0 = clock_type::now();
    load l(c, *leader, o.rate, n);
    l.start();
    l.wait();
    const double load_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    const std::uint64_t height = settle(c);
    const std::size_t follower = (*leader + 1) % 3;
    const double data = disk_mib(c.data_dir(follower));
    c.kill(follower);
    const auto t1 = clock_type::now();
    c.start(follower);
    double answer_ms = -1, caught_up_ms = -1;
    while (clock_type::now() < t1 + 600s) {
      if (auto s = c.status(follower)) {
        const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - t1).count();
        if (answer_ms < 0) answer_ms = ms;
        if (s->height() >= height) {
          caught_up_ms = ms;
          break;
        }
      }
      std::this_thread::sleep_for(5ms);
    }
    std::printf("%10llu %8llu %10.1f %11.1f %11.0f %12.0f%s\n",
                static_cast<unsigned long long>(l.committed()),
                static_cast<unsigned long long>(height), data, load_s, answer_ms, caught_up_ms,
                l.failed_batches() != 0 ? " (some batches unanswered)" : "");
    std::fflush(stdout);
  }
  return 0;
}

int run_join(const options& o) {
  harness::process_cluster_options co = cluster_options(o);
  co.spares = 1;
  harness::process_cluster c(co);
  const auto leader = start_cluster(c);
  if (!leader) return 1;
  std::printf("join: 3 nodes (%s, TLS) under %.0f tx/s of %zu B; after %.0f s a fourth joins\n",
              o.io.c_str(), o.rate, tx_bytes, o.history_s);
  load l(c, *leader, o.rate, std::numeric_limits<std::uint64_t>::max());
  l.start();
  // The leader's height, sampled from 10 s before the join (the same
  // figure without a join, to compare with) until the node is a voter.
  std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.0, o.history_s - 10)));
  std::atomic<int> phase{0};  // 0: before the join, 1: during, 2: over
  std::atomic<double> stall_ms[2] = {0, 0};
  std::thread watch([&] {
    std::uint64_t height = 0;
    auto moved = clock_type::now();
    while (phase < 2) {
      if (auto s = c.status(*leader); s && s->height() > height) {
        height = s->height();
        moved = clock_type::now();
      }
      const double ms =
          std::chrono::duration<double, std::milli>(clock_type::now() - moved).count();
      std::atomic<double>& m = stall_ms[phase == 0 ? 0 : 1];
      m = std::max(m.load(), ms);
      std::this_thread::sleep_for(20ms);
    }
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(std::min(o.history_s, 10.0)));
  const std::uint64_t before = l.committed();
  phase = 1;
  const auto t0 = clock_type::now();
  base::result<harness::add_timings> added = harness::add_node(c, 3, 300s);
  const double join_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  phase = 2;
  watch.join();
  const std::uint64_t during = l.committed() - before;
  l.stop();
  if (!added.ok()) {
    std::fprintf(stderr, "longrun_bench: %s\n", added.message().c_str());
    return 1;
  }
  const auto s4 = c.status(3);
  std::printf(
      "height at the addition %llu; learner caught up in %.0f ms; promotion in force in %.0f ms; "
      "snapshots installed by the new node %llu\n",
      static_cast<unsigned long long>(added->height_at_add), added->catch_up_ms, added->promote_ms,
      s4 ? static_cast<unsigned long long>(counter(*s4, "snapshots_installed")) : 0ULL);
  std::printf(
      "while it joined (%.1f s): %llu transactions committed (%.0f tx/s), the leader's height "
      "stood still for at most %.0f ms (in the 10 s before: %.0f ms); batches without answer "
      "%llu\n",
      join_s, static_cast<unsigned long long>(during), static_cast<double>(during) / join_s,
      stall_ms[1].load(), stall_ms[0].load(), static_cast<unsigned long long>(l.failed_batches()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"longrun_bench: memory over a long run, and restart times"};
  app.require_subcommand(1);
  std::string snapshots = "on";
  CLI::App* memory = app.add_subcommand("memory", "RSS and data directory under load");
  memory->add_option("--minutes", o.minutes, "length of the run");
  memory->add_option("--rate", o.rate, "transactions a second asked for");
  memory->add_option("--sample-s", o.sample_s, "seconds between samples")
      ->check(CLI::PositiveNumber);
  memory->add_option("--snapshots", snapshots, "on or off")->check(CLI::IsMember({"on", "off"}));
  memory->add_option("--blocks-kept", o.blocks_kept, "the nodes' blocks_kept (default: theirs)");
  memory->add_option("--io", o.io, "uring or epoll")->check(CLI::IsMember({"uring", "epoll"}));
  CLI::App* restart = app.add_subcommand("restart", "restart time after N transactions");
  restart->add_option("--txs", o.txs, "transaction counts")->delimiter(',');
  restart->add_option("--rate", o.rate, "transactions a second (0: as fast as answered)");
  restart->add_option("--snapshots", snapshots, "on or off")->check(CLI::IsMember({"on", "off"}));
  restart->add_option("--io", o.io, "uring or epoll")->check(CLI::IsMember({"uring", "epoll"}));
  CLI::App* join = app.add_subcommand("join", "a node joins a loaded cluster");
  join->add_option("--history-s", o.history_s, "seconds of load before the node joins");
  join->add_option("--rate", o.rate, "transactions a second asked for");
  join->add_option("--io", o.io, "uring or epoll")->check(CLI::IsMember({"uring", "epoll"}));
  CLI11_PARSE(app, argc, argv);
  o.snapshots = snapshots == "on";
  if (join->parsed()) return run_join(o);
  if (restart->parsed()) {
    if (restart->count("--rate") == 0) o.rate = 0;
    return run_restart(o);
  }
  return run_memory(o);
}
