// ringchain-sim: run experiments on local clusters and write latency-budget
// reports.
//
//   ringchain-sim run configs/experiments/quickstart.toml [--out DIR]
//   ringchain-sim report runs/<timestamp>
//   ringchain-sim compare runs/<a> runs/<b>
//   ringchain-sim dst --seeds 1..200 --nodes 5    (deterministic simulation)
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <mutex>
#include <thread>

#include "node/base/limits.h"
#include "sim/dst/dst.h"
#include "sim/dst/experiment.h"
#include "sim/harness/experiment.h"
#include "sim/report/writer.h"

namespace {

using namespace ringchain;
namespace fs = std::filesystem;

std::string timestamp() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
  return buf;
}

int run(const fs::path& file, fs::path out, const std::string& node_binary) {
  harness::experiment e;
  if (std::string err = harness::load_experiment(file, &e); !err.empty()) {
    std::cerr << "ringchain-sim: bad experiment: " << err << "\n";
    return 2;
  }
  if (out.empty()) out = fs::path("runs") / timestamp();
  fs::create_directories(out);
  report::run_report r;
  r.experiment = e.name;
  r.description = e.description;
  r.duration_s = e.duration_s;
  const double per_cell_s = e.warmup_s + e.duration_s + 3;  // start-up and shutdown
  bool spdlog_quieted = false;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < e.cells.size(); ++i) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double per = i == 0 ? per_cell_s : elapsed / static_cast<double>(i);
    std::fprintf(stderr, "[%zu/%zu] %s  (about %.0f s left)\n", i + 1, e.cells.size(),
                 e.cells[i].label.c_str(), per * static_cast<double>(e.cells.size() - i));
    if (e.engine == "sim") {
      const harness::cell& c = e.cells[i];
      dst::cell_setup d;
      d.label = c.label;
      d.nodes = c.nodes;
      d.persistence = c.persistence;
      d.rate_tps = c.rate_tps;
      d.tx_bytes = c.tx_bytes;
      d.block_txs_max = c.block_txs_max;
      d.round_interval_ms = c.round_interval_ms;
      d.round_deadline_ms = c.round_deadline_ms;
      d.network = c.network;
      d.disk = c.disk;
      d.warmup_s = e.warmup_s;
      d.duration_s = e.duration_s;
      d.seed = e.seed + c.repetition;
      if (!spdlog_quieted) spdlog::set_level(spdlog::level::warn);
      spdlog_quieted = true;
      const auto cell_start = std::chrono::steady_clock::now();
      r.cells.push_back(dst::run_cell(d, out / ("cell-" + std::to_string(i + 1))));
      std::fprintf(
          stderr, "  simulated %.0f s in %.1f s\n", e.warmup_s + e.duration_s + 1,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - cell_start).count());
    } else {
      r.cells.push_back(harness::run_cell(e, e.cells[i], {out, node_binary}, i));
    }
    if (!r.cells.back().error.empty())
      std::fprintf(stderr, "  cell failed: %s\n", r.cells.back().error.c_str());
  }
  if (std::string err = report::write_reports(r, out); !err.empty()) {
    std::cerr << "ringchain-sim: " << err << "\n";
    return 1;
  }
  std::cout << report::markdown(r) << "Report: " << fs::absolute(out / "report.html").string()
            << "\n";
  for (const auto& c : r.cells) {
    if (!c.error.empty()) return 1;
  }
  return 0;
}

int rerender(const fs::path& dir) {
  report::run_report r;
  if (std::string err = report::read_report(dir, &r); !err.empty()) {
    std::cerr << "ringchain-sim: " << err << "\n";
    return 1;
  }
  if (std::string err = report::write_reports(r, dir); !err.empty()) {
    std::cerr << "ringchain-sim: " << err << "\n";
    return 1;
  }
  std::cout << report::markdown(r) << "Report: " << fs::absolute(dir / "report.html").string()
            << "\n";
  return 0;
}

int compare(const fs::path& a, const fs::path& b) {
  report::run_report ra, rb;
  for (auto [dir, r] : {std::pair{a, &ra}, std::pair{b, &rb}}) {
    if (std::string err = report::read_report(dir, r); !err.empty()) {
      std::cerr << "ringchain-sim: " << err << "\n";
      return 1;
    }
  }
  std::printf(
      "| cell | A tx/s | B tx/s | A p99 ms | B p99 ms | A deadline met | B deadline met |\n"
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const auto& ca : ra.cells) {
    for (const auto& cb : rb.cells) {
      if (ca.label != cb.label) continue;
      std::printf("| %s | %.0f | %.0f | %.2f | %.2f | %.1f%% | %.1f%% |\n", ca.label.c_str(),
                  ca.summary.txs_per_s, cb.summary.txs_per_s, ca.summary.p99_ms, cb.summary.p99_ms,
                  100 * ca.summary.deadline_met_ratio, 100 * cb.summary.deadline_met_ratio);
    }
  }
  std::printf("\nA: %s (%s)\nB: %s (%s)\n", a.c_str(), ra.experiment.c_str(), b.c_str(),
              rb.experiment.c_str());
  return 0;
}

// ------------------------------------------------------------ dst --

// Seeds being run, for the abort handler: a node's assertion ends the
// process, and the seed must not be lost with it.
constexpr std::size_t jobs_max = 64;
std::atomic<std::uint64_t> running_seed[jobs_max];

void on_abort(int) {
  for (auto& s : running_seed) {
    const std::uint64_t seed = s.load();
    if (seed == 0) continue;
    char buf[128];
    const int n =
        std::snprintf(buf, sizeof buf,
                      "ringchain-sim dst: aborted while running seed %llu (replay it "
                      "with --seed %llu)\n",
                      static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
    if (n > 0) (void)!::write(2, buf, static_cast<std::size_t>(n));
  }
}

struct dst_args {
  std::uint64_t seed = 1;
  std::string seeds;
  std::size_t jobs = 1;
  std::string faults, network, disk, bug;
  bool quiet = false;
};

fs::path default_work_dir() {
  // Files of simulated disks are written without barriers and deleted after
  // each run: memory-backed storage suits them best, when it has room (a
  // container's /dev/shm may have 64 MiB).
  struct statvfs st {};
  if (::access("/dev/shm", W_OK) == 0 && ::statvfs("/dev/shm", &st) == 0 &&
      static_cast<double>(st.f_bavail) * static_cast<double>(st.f_frsize) > 1e9) {
    return "/dev/shm/ringchain-dst";
  }
  return fs::temp_directory_path() / "ringchain-dst";
}

int run_dst(dst_args a, dst::options o) {
  std::uint64_t first = a.seed, last = a.seed;
  if (!a.seeds.empty()) {
    const auto dots = a.seeds.find("..");
    try {
      if (dots == std::string::npos) throw std::invalid_argument("no ..");
      first = std::stoull(a.seeds.substr(0, dots));
      last = std::stoull(a.seeds.substr(dots + 2));
    } catch (const std::exception&) {
      std::cerr << "ringchain-sim dst: --seeds takes A..B (for example 1..200)\n";
      return 2;
    }
    if (first == 0 || last < first) {
      std::cerr << "ringchain-sim dst: --seeds A..B needs 1 <= A <= B\n";
      return 2;
    }
  }
  if (o.nodes < 1 || o.nodes > limits::peers_max) {
    std::cerr << "ringchain-sim dst: --nodes must be in [1, " << limits::peers_max << "]\n";
    return 2;
  }
  if (!o.empty_blocks && o.txs_per_submit == 0) {
    std::cerr << "ringchain-sim dst: --no-empty-blocks with --txs-per-submit 0 cuts no block\n";
    return 2;
  }
  if (!a.faults.empty()) {
    o.swarm = false;
    if (std::string err = dst::parse_faults(a.faults, &o.faults); !err.empty()) {
      std::cerr << "ringchain-sim dst: --faults: " << err << "\n";
      return 2;
    }
  }
  if (!a.network.empty() && !dst::find_network_profile(a.network, &o.network)) {
    std::cerr << "ringchain-sim dst: unknown network profile \"" << a.network << "\"\n";
    return 2;
  }
  if (!a.disk.empty() && !dst::find_disk_profile(a.disk, &o.disk)) {
    std::cerr << "ringchain-sim dst: unknown disk profile \"" << a.disk << "\"\n";
    return 2;
  }
  if (!a.bug.empty() && !core::planted_bugs_built) {
    std::cerr << "ringchain-sim dst: this build holds no planted bugs (configure with "
                 "-DRINGCHAIN_PLANTED_BUGS=ON)\n";
    return 2;
  }
  if (!a.bug.empty() && !core::parse_planted_bug(a.bug, &o.bug)) {
    std::cerr << "ringchain-sim dst: unknown bug \"" << a.bug << "\"\n";
    return 2;
  }
  if (o.work_dir.empty()) o.work_dir = default_work_dir();
  std::error_code ec;
  fs::create_directories(o.work_dir, ec);
  if (ec) {
    std::cerr << "ringchain-sim dst: cannot create " << o.work_dir << ": " << ec.message() << "\n";
    return 2;
  }
  if (!o.verbose) spdlog::set_level(spdlog::level::off);
  std::signal(SIGABRT, on_abort);
  const std::size_t jobs = std::clamp<std::size_t>(a.jobs, 1, jobs_max);
  std::atomic<std::uint64_t> next{first};
  std::mutex mu;
  std::size_t failed = 0, passed = 0;
  double simulated = 0;
  std::map<std::string, std::uint64_t> injected;
  std::vector<std::uint64_t> failed_seeds;
  const auto start = std::chrono::steady_clock::now();
  auto work = [&](std::size_t job) {
    for (std::uint64_t seed = next++; seed <= last; seed = next++) {
      dst::options mine = o;
      mine.seed = seed;
      running_seed[job] = seed;
      const dst::result r = dst::run(mine);
      running_seed[job] = 0;
      std::lock_guard<std::mutex> lock(mu);
      simulated += r.simulated_s;
      for (const auto& [k, v] : r.injected) injected[k] += v;
      if (r.ok) {
        ++passed;
        if (!a.quiet) {
          std::printf(
              "seed %llu  ok  height %llu  sim %.1f s  wall %.2f s  events %llu  trace %016llx"
              "  disk %s  faults: %s\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(r.height),
              r.simulated_s, r.wall_s, static_cast<unsigned long long>(r.events),
              static_cast<unsigned long long>(r.trace_hash), r.disk.c_str(),
              r.faults.spec().c_str());
        }
      } else {
        ++failed;
        failed_seeds.push_back(seed);
        std::printf(
            "seed %llu  FAILED at %.3f s: %s\n  faults: %s  disk %s  trace %016llx\n"
            "  replay: %s\n",
            static_cast<unsigned long long>(seed), r.violation_at_s, r.violation.c_str(),
            r.faults.spec().c_str(), r.disk.c_str(), static_cast<unsigned long long>(r.trace_hash),
            dst::replay_command(mine).c_str());
      }
      std::fflush(stdout);
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t j = 1; j < jobs; ++j) threads.emplace_back(work, j);
  work(0);
  for (auto& t : threads) t.join();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::size_t total = passed + failed;
  std::string kinds;
  for (const auto& [k, v] : injected) kinds += " " + k + " " + std::to_string(v) + ",";
  if (!kinds.empty()) kinds.pop_back();
  std::printf(
      "%zu seeds (%llu..%llu, %zu nodes, %llu blocks): %zu passed, %zu failed; %.0f seeds/min, "
      "%.0f simulated s per wall s (%zu jobs); faults injected:%s\n",
      total, static_cast<unsigned long long>(first), static_cast<unsigned long long>(last), o.nodes,
      static_cast<unsigned long long>(o.blocks), passed, failed,
      wall > 0 ? static_cast<double>(total) / wall * 60 : 0, wall > 0 ? simulated / wall : 0, jobs,
      kinds.empty() ? " none" : kinds.c_str());
  if (failed > 0) {
    std::sort(failed_seeds.begin(), failed_seeds.end());
    std::printf("failed seeds:");
    for (auto s : failed_seeds) std::printf(" %llu", static_cast<unsigned long long>(s));
    std::printf("\n");
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "ringchain-sim: run experiments on local ringchain clusters and write latency-budget "
      "reports"};
  app.require_subcommand(1);
  std::string file, out, node_binary, dir, a, b;
  auto* r = app.add_subcommand("run", "run every cell of an experiment and write the reports");
  r->add_option("experiment", file, "experiment TOML file")->required()->check(CLI::ExistingFile);
  r->add_option("--out", out, "run directory (default: runs/<timestamp>)");
  r->add_option("--node-binary", node_binary,
                "the ringchain-node to launch (default: the one built here)");
  auto* rep = app.add_subcommand("report", "re-render the reports of a finished run");
  rep->add_option("run-dir", dir, "run directory")->required()->check(CLI::ExistingDirectory);
  auto* cmp = app.add_subcommand("compare", "show two runs side by side");
  cmp->add_option("run-a", a, "first run directory")->required()->check(CLI::ExistingDirectory);
  cmp->add_option("run-b", b, "second run directory")->required()->check(CLI::ExistingDirectory);
  dst_args da;
  dst::options dopt;
  std::string work_dir;
  auto* d = app.add_subcommand(
      "dst", "deterministic simulation: whole clusters in one process, faults from a seed");
  d->add_option("--seed", da.seed, "the seed to run (default 1)");
  d->add_option("--seeds", da.seeds, "a range of seeds, A..B");
  d->add_option("--nodes", dopt.nodes, "nodes in the cluster (default 3)");
  d->add_option("--blocks", dopt.blocks, "blocks of the run (default 200)");
  d->add_option("--jobs", da.jobs, "seeds run at once, one thread each (default 1)");
  d->add_option("--faults", da.faults,
                "fault kinds to inject, comma separated, each at a middling intensity or at "
                "kind=value (a probability, or a rate per second): crash=1,loss=0.05 "
                "(default: each seed draws its own mix); 'none' for a fault-free run");
  d->add_option("--network", da.network,
                "network profile (same_rack, one_region, three_regions, lossy_lan)");
  d->add_option("--disk", da.disk,
                "disk profile (this_machine, nvme_plp, consumer_ssd, cloud_block, spinning)");
  d->add_option("--persistence", dopt.persistence, "per_block or per_tx");
  d->add_option("--txs-per-submit", dopt.txs_per_submit,
                "transactions the client submits at a time (default 4)");
  d->add_option("--submit-every-ms", dopt.submit_interval_ms,
                "how often the client submits (default: once a round)");
  d->add_flag(
      "--no-empty-blocks", [&dopt](std::int64_t) { dopt.empty_blocks = false; },
      "leaders cut blocks only for transactions (default: every round)");
  d->add_option("--plant-bug", da.bug, "test only: plant a known bug (see core::planted_bug)");
  d->add_option("--work-dir", work_dir,
                "where simulated disks keep their files (default /dev/shm)");
  d->add_flag("--keep", dopt.keep_files, "keep each run's files");
  d->add_flag("--verbose", dopt.verbose, "print faults as they happen, and node logs");
  d->add_flag("--quiet", da.quiet, "print failures and the total only");
  CLI11_PARSE(app, argc, argv);
  if (d->parsed()) {
    dopt.work_dir = work_dir;
    return run_dst(da, dopt);
  }
  if (r->parsed()) return run(file, out, node_binary);
  if (rep->parsed()) return rerender(dir);
  return compare(a, b);
}
