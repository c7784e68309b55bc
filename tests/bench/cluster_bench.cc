// Cluster benchmark: clusters of real ringchain-node processes on this
// machine, 256-byte transactions, blocks of up to 256, for each
// combination of the options below. Prints per cell what happened:
// committed transactions per second, block commit latency (from the
// block's cut on the leader to durable on a quorum, from the leaders' block
// traces), how many of the planned transactions committed and why the rest
// did not, leader changes, and what each node spent per committed
// transaction: user and system CPU, context switches and system calls, as
// the kernel counts them. Then the cost of TLS and of followers' signature
// checks, where both sides ran, and this machine's Ed25519 verification
// rate for comparison.
//
//   cluster_bench [--blocks N] [--clients K] [--connections N] [--batch-txs B]
//                 [--nodes 3|5|7] [--io uring|epoll|both] [--policy per_block|per_tx|both]
//                 [--tls on|off|both] [--verify-followers on|off|both]
//                 [--verifications N]
//
// Transactions are generated and signed before the clock starts. Load is
// closed-loop: each of K client connections submits a block's worth (256)
// and waits for the answer; with --connections N, N connections each
// submit B transactions (default 4) at a time instead.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "node/chain/transaction.h"
#include "node/runtime/config.h"
#include "sim/harness/cluster.h"
#include "sim/harness/process_stats.h"
#include "sim/report/budget.h"
#include "sim/report/writer.h"
#include "tests/bench/load_driver.h"

namespace {

using namespace ringchain;
using namespace std::chrono_literals;

constexpr std::size_t txs_per_block = 256;
constexpr std::size_t tx_bytes = 256;
// The nodes' election timeout (tick_ms 10 x election_ticks 30, their
// defaults): a leader whose loop stalls this long loses its followers.
constexpr double election_timeout_ms = 300;

// The command line.
struct options {
  std::size_t blocks = 200;
  std::size_t clients = 4;
  std::size_t connections = 0;
  std::size_t batch_txs = 4;
  std::size_t nodes = 3;
  std::vector<std::string> ios = {"uring", "epoll"};
  std::vector<std::string> policies = {"per_block", "per_tx"};
  std::vector<bool> tls = {true};
  std::vector<bool> verify_followers = {false};
  std::size_t verifications = 2000;
};

// One cell's settings.
struct cell_config {
  std::string io, policy;
  bool tls = true, verify_followers = false;
  std::string label() const {
    return io + " " + policy + " tls=" + (tls ? "on" : "off") +
           " verify_followers=" + (verify_followers ? "on" : "off");
  }
};

// A node's block-log writes since it started (submitted to durable: the
// write and its barriers), from its ringchain_block_log_write_seconds
// histogram. Under epoll the loop thread waits for each one.
struct write_stats {
  double count = 0, sum_s = 0, over_200ms = 0, over_500ms = 0;
};

// What one node spent in the measured window.
struct node_cost {
  bool answered = false;  // it answered status after the load
  std::string role;       // at the end
  harness::proc_times used;
  std::uint64_t syscalls = 0;
  std::string syscalls_unavailable;  // "" when counted
  std::string log_tail;              // when it stopped answering
  write_stats writes;
};

struct cell_result {
  cell_config cfg;
  std::string error;  // the cell could not start (no leader)
  std::size_t planned_txs = 0;
  bench::load_outcome load;
  std::vector<report::block_record> blocks;
  std::size_t first_leader = 0;
  std::uint64_t term_before = 0, term_after = 0;
  std::vector<node_cost> nodes;
  double load_avg = 0;
};

// CPU microseconds one Ed25519 verification (chain::verify) takes on one
// thread of this machine, measured now.
struct verify_capacity {
  double cpu_us_per_verify = 0;
  double wall_us_per_verify = 0;
  std::size_t verifications = 0;
};

// The block traces' clock: CLOCK_MONOTONIC microseconds (steady_clock's
// clock on Linux).
std::uint64_t trace_clock_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

double load_average() {
  double one = 0;
  std::ifstream("/proc/loadavg") >> one;
  return one;
}

std::string uptime() {
  std::string line;
  std::ifstream in("/proc/loadavg");
  std::getline(in, line);
  return "load average " + line.substr(0, line.find(' ', line.find(' ', line.find(' ') + 1) + 1));
}

double thread_cpu_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

verify_capacity measure_verify(std::size_t n) {
  // Signed by a few senders, as a node sees them (imported keys are cached
  // per thread, so one sender alone would flatter the figure less than
  // thousands would; a few is what a batch usually holds).
  const bench::load_plan plan = bench::presign(8, n, n / 8 + 1, tx_bytes);
  std::vector<const chain::transaction*> txs;
  for (const auto& list : plan.batches)
    for (const auto& b : list)
      for (const auto& t : b.txs())
        if (txs.size() < n) txs.push_back(&t);
  const auto wall = std::chrono::steady_clock::now();
  const double cpu = thread_cpu_us();
  std::size_t good = 0;
  for (const auto* t : txs) good += chain::verify(*t) == chain::tx_error::none;
  verify_capacity v;
  v.verifications = txs.size();
  v.cpu_us_per_verify = (thread_cpu_us() - cpu) / static_cast<double>(txs.size());
  v.wall_us_per_verify =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - wall).count() /
      static_cast<double>(txs.size());
  if (good != txs.size()) std::printf("warning: %zu signatures did not verify\n", n - good);
  return v;
}

std::string last_line(const std::string& log) {
  auto end = log.find_last_not_of('\n');
  if (end == std::string::npos) return "(empty log)";
  const auto start = log.rfind('\n', end);
  return log.substr(start == std::string::npos ? 0 : start + 1, end - start);
}

harness::process_cluster_options cluster_options(const options& opts, const cell_config& cfg) {
  harness::process_cluster_options o;
  o.nodes = opts.nodes;
  o.io = cfg.io;
  o.persistence = cfg.policy;
  o.tls = cfg.tls;
  o.round_interval_ms = 100;
  o.extra_args = {"--block_txs_max",
                  std::to_string(txs_per_block),
                  "--log_level",
                  "warn",
                  "--verify_follower_signatures",
                  cfg.verify_followers ? "true" : "false"};
  return o;
}

// Samples every node: CPU, switches and system calls.
std::vector<harness::process_watch::sample> sample_all(
    const std::vector<harness::process_watch>& watches) {
  std::vector<harness::process_watch::sample> out;
  for (const auto& w : watches) {
    auto s = w.take();
    out.push_back(s.ok() ? *s : harness::process_watch::sample{});
  }
  return out;
}

std::uint64_t highest_term(harness::process_cluster& c) {
  std::uint64_t term = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (auto s = c.status(i)) term = std::max(term, s->term());
  }
  return term;
}

write_stats block_log_writes(const std::string& metrics) {
  const std::string name = "ringchain_block_log_write_seconds";
  write_stats w;
  double le_200ms = 0, le_500ms = 0;
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0) continue;
    const double v = std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
    if (line.rfind(name + "_count", 0) == 0) w.count = v;
    if (line.rfind(name + "_sum", 0) == 0) w.sum_s = v;
    if (line.find("le=\"0.2\"") != std::string::npos) le_200ms = v;
    if (line.find("le=\"0.5\"") != std::string::npos) le_500ms = v;
  }
  w.over_200ms = w.count - le_200ms;
  w.over_500ms = w.count - le_500ms;
  return w;
}

// Each node's cost over the window, and whether it still answers.
void account_nodes(harness::process_cluster& c, const std::vector<harness::process_watch>& w,
                   const std::vector<harness::process_watch::sample>& before,
                   const std::vector<harness::process_watch::sample>& after, cell_result* r) {
  for (std::size_t i = 0; i < c.size(); ++i) {
    node_cost n;
    n.used = after[i].times.since(before[i].times);
    n.syscalls = after[i].syscalls - before[i].syscalls;
    n.syscalls_unavailable =
        after[i].syscalls_ok ? ""
                             : (w[i].syscalls_unavailable().empty() ? "could not read"
                                                                    : w[i].syscalls_unavailable());
    auto s = c.status(i);
    n.answered = s.has_value();
    n.role = s ? s->role() : "?";
    if (!s) n.log_tail = last_line(c.log_of(i));
    n.writes = block_log_writes(harness::http_get(c.metrics_address(i), "/metrics"));
    r->nodes.push_back(std::move(n));
  }
}

cell_result run_cell(const options& opts, const cell_config& cfg, const bench::load_plan& plan,
                     std::size_t batches_per_connection) {
  cell_result r;
  r.cfg = cfg;
  r.planned_txs = plan.batches.size() * batches_per_connection * plan.batch_txs;
  harness::process_cluster c(cluster_options(opts, cfg));
  c.start_all();
  const auto leader = c.wait_for_leader(20s);
  if (!leader) {
    r.error = "no leader within 20 s; node 1's log ends: " + last_line(c.log_of(0));
    return r;
  }
  r.first_leader = *leader;
  std::vector<harness::process_watch> watches;
  for (std::size_t i = 0; i < c.size(); ++i) watches.emplace_back(c.pid(i));
  std::vector<std::string> addresses;
  for (std::size_t i = 0; i < c.size(); ++i) addresses.push_back(c.client_address(i));
  r.term_before = highest_term(c);
  const std::uint64_t from_us = trace_clock_us();
  const auto before = sample_all(watches);
  bench::load_limits limits;
  limits.batches_per_connection = batches_per_connection;
  r.load = bench::drive(addresses, *leader, plan, limits);
  const auto after = sample_all(watches);
  const std::uint64_t to_us = trace_clock_us();
  r.load_avg = load_average();
  r.term_after = highest_term(c);
  account_nodes(c, watches, before, after, &r);
  for (std::size_t i = 0; i < c.size(); ++i) c.stop(i);
  std::vector<std::filesystem::path> traces;
  for (std::size_t i = 0; i < c.size(); ++i) traces.push_back(c.data_dir(i) / "trace.jsonl");
  r.blocks = report::read_traces(traces, from_us, to_us);
  return r;
}

// ---- printing ----

std::string thousands(double v) {
  std::string digits = std::to_string(static_cast<long long>(v + 0.5));
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

double per_tx(std::uint64_t v, std::uint64_t txs) {
  return txs == 0 ? 0 : static_cast<double>(v) / static_cast<double>(txs);
}

double tx_per_s(const cell_result& r) {
  return r.load.seconds > 0 ? static_cast<double>(r.load.committed_txs) / r.load.seconds : 0;
}

double commit_ms(const report::block_record& b) {
  return static_cast<double>(b.committed_us - b.cut_us) / 1000.0;
}

double commit_percentile(const cell_result& r, double p) {
  std::vector<double> v;
  for (const auto& b : r.blocks) v.push_back(commit_ms(b));
  return report::percentile(v, p);
}

double round_percentile(const cell_result& r, double p) {
  std::vector<double> v;
  for (const auto& b : r.blocks)
    v.push_back(static_cast<double>(b.committed_us - b.round_start_us) / 1000.0);
  return report::percentile(v, p);
}

// Distinct terms among the committed blocks, less one.
std::size_t leader_changes(const cell_result& r) {
  std::set<std::uint64_t> terms;
  for (const auto& b : r.blocks) terms.insert(b.term);
  return terms.empty() ? 0 : terms.size() - 1;
}

// Nodes whose block-log writes took longer than 200 ms: under epoll the
// loop, heartbeats included, waits that long.
std::string slow_writes(const cell_result& r) {
  std::string s;
  for (std::size_t i = 0; i < r.nodes.size(); ++i) {
    const write_stats& w = r.nodes[i].writes;
    if (w.over_200ms < 1) continue;
    char b[200];
    std::snprintf(b, sizeof b,
                  "; node %zu: %.0f of %.0f block-log writes took over 200 ms (%.0f over 500 ms; "
                  "mean %.0f ms)",
                  i + 1, w.over_200ms, w.count, w.over_500ms, w.sum_s / w.count * 1000);
    s += b;
  }
  if (!s.empty() && r.cfg.io == "epoll") {
    char b[160];
    std::snprintf(b, sizeof b,
                  "; under epoll the loop blocks in fdatasync that long (followers start "
                  "elections after %.0f ms without a heartbeat)",
                  election_timeout_ms);
    s += b;
  }
  return s;
}

double cpu_us_per_tx(const cell_result& r, std::size_t node) {
  const auto& u = r.nodes[node].used;
  return per_tx(u.user_us + u.system_us, r.load.committed_txs);
}

// The mean CPU per transaction of the nodes that did not lead at the start.
double follower_cpu_us_per_tx(const cell_result& r) {
  double sum = 0;
  for (std::size_t i = 0; i < r.nodes.size(); ++i) {
    if (i != r.first_leader) sum += cpu_us_per_tx(r, i);
  }
  return r.nodes.size() > 1 ? sum / static_cast<double>(r.nodes.size() - 1) : 0;
}

// What happened, in one sentence: how much committed and why not the rest.
std::string outcome(const cell_result& r) {
  const auto& l = r.load;
  std::string s = thousands(static_cast<double>(l.committed_txs)) + " of " +
                  thousands(static_cast<double>(r.planned_txs)) + " committed";
  const std::size_t changes = leader_changes(r);
  if (r.term_after > r.term_before) {
    s += "; term " + std::to_string(r.term_before) + " -> " + std::to_string(r.term_after) + " (" +
         std::to_string(r.term_after - r.term_before) + " election" +
         (r.term_after - r.term_before == 1 ? ")" : "s)");
  }
  if (changes > 0) {
    s += "; " + std::to_string(changes) + " leader change" + (changes == 1 ? "" : "s") +
         " among committed blocks";
  }
  s += slow_writes(r);
  if (!l.lost.empty()) {
    s += "; not committed:";
    for (const auto& [why, n] : l.lost)
      s += " " + thousands(static_cast<double>(n)) + " (" + why + ")";
  }
  if (l.retries > 0)
    s += "; " + thousands(static_cast<double>(l.retries)) + " batches resent after \"retry later\"";
  if (l.redirects > 0) s += "; " + std::to_string(l.redirects) + " redirects to a new leader";
  if (l.connect_failures > 0)
    s += "; " + std::to_string(l.connect_failures) + " connections failed";
  for (std::size_t i = 0; i < r.nodes.size(); ++i) {
    if (!r.nodes[i].answered) {
      s += "; node " + std::to_string(i + 1) +
           " stopped answering, its log ends: " + r.nodes[i].log_tail;
    }
  }
  return s;
}

void print_nodes(const cell_result& r, const verify_capacity& v) {
  // Nothing committed: totals over the load instead, so the cost still shows.
  const bool totals = r.load.committed_txs == 0;
  const auto txs = totals ? 1 : r.load.committed_txs;
  if (totals) std::printf("    nothing committed; totals over %.1f s:\n", r.load.seconds);
  std::printf("    %-4s %-22s %10s %10s %10s %10s %12s\n", "node", "role",
              totals ? "user_us" : "user_us/tx", totals ? "sys_us" : "sys_us/tx",
              totals ? "vol_cs" : "vol_cs/tx", totals ? "inv_cs" : "inv_cs/tx",
              totals ? "syscalls" : "syscalls/tx");
  for (std::size_t i = 0; i < r.nodes.size(); ++i) {
    const node_cost& n = r.nodes[i];
    std::string role = i == r.first_leader ? "leader" : "follower";
    if (n.role != role) role += " (now " + n.role + ")";
    char sys[64];
    if (n.syscalls_unavailable.empty()) {
      std::snprintf(sys, sizeof sys, "%12.2f", per_tx(n.syscalls, txs));
    } else {
      std::snprintf(sys, sizeof sys, "%12s", "n/a");
    }
    std::printf("    %-4zu %-22s %10.1f %10.1f %10.3f %10.3f %s\n", i + 1, role.c_str(),
                per_tx(n.used.user_us, txs), per_tx(n.used.system_us, txs),
                per_tx(n.used.voluntary_switches, txs), per_tx(n.used.involuntary_switches, txs),
                sys);
  }
  if (!r.nodes.empty() && !r.nodes[0].syscalls_unavailable.empty()) {
    std::printf("    syscalls n/a (%s)\n", r.nodes[0].syscalls_unavailable.c_str());
  }
  if (!totals) {
    const double leader_us = cpu_us_per_tx(r, r.first_leader);
    std::printf(
        "    leader CPU per committed tx: %.0f us = %.2fx one Ed25519 verification (%.0f us, "
        "measured before the cell; target <= 1.1x); verifier ceiling %u thread(s) x %.0f/s = "
        "%.0f tx/s if it had the cores to itself\n",
        leader_us, leader_us / v.cpu_us_per_verify, v.cpu_us_per_verify,
        runtime::default_verify_threads(), 1e6 / v.cpu_us_per_verify,
        runtime::default_verify_threads() * 1e6 / v.cpu_us_per_verify);
  }
}

void print_cell(const cell_result& r, const verify_capacity& v) {
  if (!r.error.empty()) {
    std::printf("%-6s %-9s %-3s %-3s  %s\n", r.cfg.io.c_str(), r.cfg.policy.c_str(),
                r.cfg.tls ? "on" : "off", r.cfg.verify_followers ? "on" : "off", r.error.c_str());
    return;
  }
  std::vector<double> batch_ms = r.load.batch_ms;
  std::printf("%-6s %-9s %-3s %-3s %7zu %9.0f %9.2f %9.2f %9.2f %9.1f %9.1f %5.1f\n",
              r.cfg.io.c_str(), r.cfg.policy.c_str(), r.cfg.tls ? "on" : "off",
              r.cfg.verify_followers ? "on" : "off", r.blocks.size(), tx_per_s(r),
              commit_percentile(r, 50), commit_percentile(r, 99), round_percentile(r, 99),
              report::percentile(batch_ms, 50), report::percentile(batch_ms, 99), r.load_avg);
  std::printf("    %s %s\n", (r.cfg.io + " " + r.cfg.policy + ":").c_str(), outcome(r).c_str());
  print_nodes(r, v);
  std::fflush(stdout);
}

// For each pair of cells that differ only in `field` (on against off),
// what turning it on cost.
void print_cost(const std::vector<cell_result>& cells, bool cell_config::*field, const char* name) {
  for (const auto& on : cells) {
    if (!(on.cfg.*field) || !on.error.empty()) continue;
    for (const auto& off : cells) {
      cell_config want = on.cfg;
      want.*field = false;
      if (off.cfg.label() != want.label() || !off.error.empty()) continue;
      const double tps_on = tx_per_s(on), tps_off = tx_per_s(off);
      std::printf(
          "%s cost, %s %s: tx/s %.0f on vs %.0f off (%+.0f%%); commit p99 %.2f vs %.2f ms; "
          "leader CPU/tx %.0f vs %.0f us; follower CPU/tx %.0f vs %.0f us\n",
          name, on.cfg.io.c_str(), on.cfg.policy.c_str(), tps_on, tps_off,
          tps_off > 0 ? (tps_on / tps_off - 1) * 100 : 0.0, commit_percentile(on, 99),
          commit_percentile(off, 99), cpu_us_per_tx(on, on.first_leader),
          cpu_us_per_tx(off, off.first_leader), follower_cpu_us_per_tx(on),
          follower_cpu_us_per_tx(off));
    }
  }
}

// ---- the command line ----

std::optional<std::vector<bool>> on_off(const std::string& v) {
  if (v == "on") return std::vector<bool>{true};
  if (v == "off") return std::vector<bool>{false};
  if (v == "both") return std::vector<bool>{true, false};
  return std::nullopt;
}

std::optional<std::vector<std::string>> one_or_both(const std::string& v, const char* a,
                                                    const char* b) {
  if (v == a || v == b) return std::vector<std::string>{v};
  if (v == "both") return std::vector<std::string>{a, b};
  return std::nullopt;
}

std::optional<std::size_t> count(const std::string& v, std::size_t lo, std::size_t hi) {
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < lo || n > hi) return std::nullopt;
  return static_cast<std::size_t>(n);
}

// Applies one flag; false when the flag or its value is not understood.
bool apply(options& o, const std::string& flag, const std::string& v) {
  auto set = [](auto& field, auto parsed) {
    if (parsed) field = *parsed;
    return parsed.has_value();
  };
  if (flag == "--blocks") return set(o.blocks, count(v, 4, 100000));
  if (flag == "--clients") return set(o.clients, count(v, 1, 1000));
  if (flag == "--connections") return set(o.connections, count(v, 1, 100000));
  if (flag == "--batch-txs") return set(o.batch_txs, count(v, 1, 1024));
  if (flag == "--nodes") return set(o.nodes, count(v, 3, 7));
  if (flag == "--verifications") return set(o.verifications, count(v, 100, 1000000));
  if (flag == "--io") return set(o.ios, one_or_both(v, "uring", "epoll"));
  if (flag == "--policy") return set(o.policies, one_or_both(v, "per_block", "per_tx"));
  if (flag == "--tls") return set(o.tls, on_off(v));
  if (flag == "--verify-followers") return set(o.verify_followers, on_off(v));
  return false;
}

std::optional<options> parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc || !apply(o, argv[i], argv[i + 1])) {
      std::fprintf(stderr, "cluster_bench: bad option %s %s (see the top of cluster_bench.cc)\n",
                   argv[i], i + 1 < argc ? argv[i + 1] : "(no value)");
      return std::nullopt;
    }
  }
  return o;
}

void print_header(const options& o, const verify_capacity& v) {
  const std::size_t conns = o.connections > 0 ? o.connections : o.clients;
  const std::size_t batch = o.connections > 0 ? o.batch_txs : txs_per_block;
  std::printf(
      "cluster benchmark: %zu nodes on 127.0.0.1, %zu-byte transactions, blocks of up to %zu, "
      "%zu client connections submitting %zu at a time; %u cores; %s\n",
      o.nodes, tx_bytes, txs_per_block, conns, batch, std::thread::hardware_concurrency(),
      uptime().c_str());
  std::printf(
      "Ed25519 on this machine (chain::verify, %zu on one thread): %.0f verifications/s per "
      "core (%.1f us CPU each; %.1f us wall)\n\n",
      v.verifications, 1e6 / v.cpu_us_per_verify, v.cpu_us_per_verify, v.wall_us_per_verify);
  std::printf("%-6s %-9s %-3s %-3s %7s %9s %9s %9s %9s %9s %9s %5s\n", "io", "policy", "tls", "vfy",
              "blocks", "tx/s", "commit50", "commit99", "round99", "submit50", "submit99", "load");
}

}  // namespace

int main(int argc, char** argv) {
  const auto parsed = parse(argc, argv);
  if (!parsed) return 2;
  const options& o = *parsed;
  const verify_capacity v = measure_verify(o.verifications);
  print_header(o, v);
  const std::size_t conns = o.connections > 0 ? o.connections : o.clients;
  const std::size_t batch = o.connections > 0 ? o.batch_txs : txs_per_block;
  const bench::load_plan plan = bench::presign(conns, o.blocks * txs_per_block, batch, tx_bytes);
  const std::size_t batches = plan.batches.empty() ? 0 : plan.batches[0].size();
  std::vector<cell_result> cells;
  for (const auto& io : o.ios) {
    for (const auto& policy : o.policies) {
      // per_tx makes 256 barriers per block on every node: a tenth of the load.
      const std::size_t n = policy == "per_tx" ? std::max<std::size_t>(1, batches / 10) : batches;
      for (const bool tls : o.tls) {
        for (const bool vf : o.verify_followers) {
          // The verification next to the cell's: the machine's load moves.
          const verify_capacity near = measure_verify(o.verifications);
          cells.push_back(run_cell(o, cell_config{io, policy, tls, vf}, plan, n));
          print_cell(cells.back(), near);
        }
      }
    }
  }
  const verify_capacity end = measure_verify(o.verifications);
  std::printf("\nEd25519 again after the cells: %.0f verifications/s per core (%.1f us CPU each)\n",
              1e6 / end.cpu_us_per_verify, end.cpu_us_per_verify);
  print_cost(cells, &cell_config::tls, "TLS");
  print_cost(cells, &cell_config::verify_followers, "verify_followers");
  std::printf(
      "\ncommit: from the block's cut on the leader to durable on a quorum (leaders' traces).\n"
      "round: from the start of the block's round (what the round deadline counts).\n"
      "submit: from a batch's first send to its answer, at the client.\n"
      "per tx: divided by committed transactions; CPU from /proc/<pid>/stat (10 ms ticks),\n"
      "switches from /proc/<pid>/task/*/status, syscalls by raw_syscalls:sys_enter.\n"
      "Clients, nodes and anything else on the machine share its cores. End: %s\n",
      uptime().c_str());
  return 0;
}
