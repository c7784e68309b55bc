// ringchain-sim: run experiments on local clusters and write latency-budget
// reports.
//
//   ringchain-sim run configs/experiments/quickstart.toml [--out DIR]
//   ringchain-sim report runs/<timestamp>
//   ringchain-sim compare runs/<a> runs/<b>
//   ringchain-sim dst --seeds 1..200 --nodes 5    (deterministic simulation)
//   ringchain-sim calibrate [--out FILE] [--dir DATA_DIR]
//   ringchain-sim validate configs/experiments/quickstart.toml [--machine FILE] [--repeats N]
//   ringchain-sim validate configs/experiments/quickstart.toml --again runs/validate-<timestamp>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

#include "node/base/limits.h"
#include "sim/commands.h"
#include "sim/dst/dst.h"
#include "sim/dst/experiment.h"
#include "sim/harness/capacity.h"
#include "sim/harness/experiment.h"
#include "sim/report/writer.h"

namespace {

using namespace ringchain;
namespace fs = std::filesystem;

// Runs one cell of `e` in its engine; cell i's files go to out/cell-<i+1>.
report::cell_report run_one_cell(const harness::experiment& e, std::size_t i, const fs::path& out,
                                 const std::string& node_binary) {
  const harness::cell& c = e.cells[i];
  if (e.engine != "sim") return harness::run_cell(e, c, {out, node_binary}, i);
  spdlog::set_level(spdlog::level::warn);
  const auto cell_start = std::chrono::steady_clock::now();
  report::cell_report r = dst::run_cell(c, {e.warmup_s, e.duration_s, e.seed + c.repetition},
                                        out / ("cell-" + std::to_string(i + 1)));
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    r.sim_peak_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
  }
  std::fprintf(
      stderr, "  simulated %.0f s in %.1f s\n", e.warmup_s + e.duration_s + 1,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - cell_start).count());
  return r;
}

// Runs cell i of `e` once more at `rate_tps` for `seconds`, in a scratch
// directory removed afterwards (a capacity probe, or the equal-load run).
report::cell_report rerun_cell(const harness::experiment& e, std::size_t i, std::uint32_t rate_tps,
                               double warmup_s, double seconds, const fs::path& out,
                               const std::string& node_binary) {
  harness::experiment once = e;
  once.warmup_s = warmup_s;
  once.duration_s = seconds;
  once.cells = {e.cells[i]};
  once.cells[0].rate_tps = rate_tps;
  const fs::path dir = out / "scratch";
  report::cell_report r = run_one_cell(once, 0, dir, node_binary);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return r;
}

// Deadline capacity of every cell, then every cell again at half the
// lowest capacity (report::cell_report's capacity fields).
void search_capacities(const harness::experiment& e, report::run_report& r, const fs::path& out,
                       const std::string& node_binary) {
  double lowest = 0;
  for (std::size_t i = 0; i < e.cells.size(); ++i) {
    report::cell_report& c = r.cells[i];
    if (!c.error.empty()) continue;
    std::fprintf(stderr, "[capacity %zu/%zu] %s\n", i + 1, e.cells.size(), c.label.c_str());
    const harness::capacity_found found = harness::find_capacity(
        [&](std::uint32_t rate) {
          // Processes start their warm-up once a leader is up; a simulated
          // cluster elects its first within its first half second, in its
          // warm-up (a short probe's window would otherwise begin with a
          // round lost to it).
          const double warmup = e.engine == "sim" ? 1.0 : 0.5;
          report::cell_report p =
              rerun_cell(e, i, rate, warmup, e.capacity_probe_s, out, node_binary);
          std::fprintf(stderr, "  %u tx/s offered: %s\n", rate,
                       report::meets_deadline(p) ? "meets the deadline" : "misses it");
          return p;
        },
        e.cells[i].rate_tps, e.capacity_max_tps, 3);
    c.capacity_tps = found.tps;
    c.capacity_probes = found.probes;
    if (found.tps > 0 && (lowest == 0 || found.tps < lowest)) lowest = found.tps;
  }
  if (lowest <= 0) return;
  const auto equal = static_cast<std::uint32_t>(std::max(1.0, lowest / 2));
  for (std::size_t i = 0; i < e.cells.size(); ++i) {
    report::cell_report& c = r.cells[i];
    if (!c.error.empty()) continue;
    std::fprintf(stderr, "[equal load %zu/%zu] %s at %u tx/s\n", i + 1, e.cells.size(),
                 c.label.c_str(), equal);
    const report::cell_report q =
        rerun_cell(e, i, equal, e.warmup_s, e.duration_s, out, node_binary);
    c.equal_load_tps = equal;
    c.equal_load = q.summary;
  }
}

// Writes the run's reports and prints the summary; the exit code.
int finish_reports(const report::run_report& r, const fs::path& dir) {
  if (base::status s = report::write_reports(r, dir); !s.ok()) {
    std::cerr << "ringchain-sim: " << s.message() << "\n";
    return 1;
  }
  std::cout << report::markdown(r) << "Report: " << fs::absolute(dir / "report.html").string()
            << "\n";
  return 0;
}

int run(const fs::path& file, fs::path out, const std::string& node_binary) {
  auto loaded = harness::load_experiment(file);
  if (!loaded.ok()) {
    std::cerr << "ringchain-sim: bad experiment: " << loaded.message() << "\n";
    return 2;
  }
  if (!node_binary.empty() && !fs::is_regular_file(node_binary)) {
    std::cerr << "ringchain-sim run: --node-binary: no such file \"" << node_binary << "\"\n";
    return 2;
  }
  const harness::experiment& e = *loaded;
  if (out.empty()) out = fs::path("runs") / commands::timestamp();
  fs::create_directories(out);
  report::run_report r;
  r.experiment = e.name;
  r.description = e.description;
  r.duration_s = e.duration_s;
  const double per_cell_s = e.warmup_s + e.duration_s + 3;  // start-up and shutdown
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < e.cells.size(); ++i) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double per = i == 0 ? per_cell_s : elapsed / static_cast<double>(i);
    std::fprintf(stderr, "[%zu/%zu] %s  (about %.0f s left)\n", i + 1, e.cells.size(),
                 e.cells[i].label.c_str(), per * static_cast<double>(e.cells.size() - i));
    r.cells.push_back(run_one_cell(e, i, out, node_binary));
    if (!r.cells.back().error.empty())
      std::fprintf(stderr, "  cell failed: %s\n", r.cells.back().error.c_str());
  }
  if (e.capacity_search) search_capacities(e, r, out, node_binary);
  if (int code = finish_reports(r, out); code != 0) return code;
  for (const auto& c : r.cells) {
    if (!c.error.empty()) return 1;
  }
  return 0;
}

int rerender(const fs::path& dir) {
  auto r = report::read_report(dir);
  if (!r.ok()) {
    std::cerr << "ringchain-sim: " << r.message() << "\n";
    return 1;
  }
  return finish_reports(*r, dir);
}

int compare(const fs::path& a, const fs::path& b) {
  std::optional<report::run_report> ra, rb;
  for (auto [dir, r] : {std::pair{a, &ra}, std::pair{b, &rb}}) {
    auto read = report::read_report(dir);
    if (!read.ok()) {
      std::cerr << "ringchain-sim: " << read.message() << "\n";
      return 1;
    }
    *r = std::move(read).value();
  }
  std::printf(
      "| cell | A tx/s | B tx/s | A p99 ms | B p99 ms | A deadline met | B deadline met |\n"
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const auto& ca : ra->cells) {
    for (const auto& cb : rb->cells) {
      if (ca.label != cb.label) continue;
      std::printf("| %s | %.0f | %.0f | %.2f | %.2f | %.1f%% | %.1f%% |\n", ca.label.c_str(),
                  ca.summary.txs_per_s, cb.summary.txs_per_s, ca.summary.p99_ms, cb.summary.p99_ms,
                  100 * ca.summary.deadline_met_ratio, 100 * cb.summary.deadline_met_ratio);
    }
  }
  std::printf("\nA: %s (%s)\nB: %s (%s)\n", a.c_str(), ra->experiment.c_str(), b.c_str(),
              rb->experiment.c_str());
  return 0;
}

// ------------------------------------------------------------ dst --

// Seeds being run, for the abort handler: a node's assertion or a crash
// (SIGSEGV, SIGBUS) ends the process, and the seed must not be lost with it.
constexpr std::size_t jobs_max = 64;
std::atomic<std::uint64_t> running_seed[jobs_max];

void on_abort(int sig) {
  for (auto& s : running_seed) {
    const std::uint64_t seed = s.load();
    if (seed == 0) continue;
    char buf[128];
    const int n = std::snprintf(buf, sizeof buf,
                                "ringchain-sim dst: signal %d while running seed %llu (replay it "
                                "with --seed %llu)\n",
                                sig, static_cast<unsigned long long>(seed),
                                static_cast<unsigned long long>(seed));
    if (n > 0) (void)!::write(2, buf, static_cast<std::size_t>(n));
  }
  // The default action ends the process (a handler that returned from
  // SIGSEGV would fault again).
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// The dst command line beyond dst::options.
struct dst_args {
  std::uint64_t seed = 1;
  bool seed_given = false;  // --seed was on the command line
  std::string seeds;
  std::size_t jobs = 1;
  std::string faults, network, disk, bug;
  bool quiet = false;
};

// The seeds to run, first to last.
struct seed_range {
  std::uint64_t first = 1, last = 1;
};

// A seed: all of `text` is a number.
std::optional<std::uint64_t> parse_seed(std::string_view text) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// --seed N, or --seeds A..B.
base::result<seed_range> parse_seeds(const dst_args& a) {
  if (a.seeds.empty()) {
    if (a.seed == 0) return base::fail("--seed must be at least 1");
    return seed_range{a.seed, a.seed};
  }
  if (a.seed_given) return base::fail("--seed and --seeds exclude each other");
  const auto dots = a.seeds.find("..");
  if (dots == std::string::npos) return base::fail("--seeds takes A..B (for example 1..200)");
  const auto first = parse_seed(std::string_view(a.seeds).substr(0, dots));
  const auto last = parse_seed(std::string_view(a.seeds).substr(dots + 2));
  if (!first || !last) return base::fail("--seeds takes A..B (for example 1..200)");
  if (*first == 0 || *last < *first) return base::fail("--seeds A..B needs 1 <= A <= B");
  return seed_range{*first, *last};
}

// Reads the named options (--faults, --network, --disk, --plant-bug) into
// `o`, checks --jobs, and makes the work directory.
base::status resolve(const dst_args& a, dst::options& o) {
  if (a.jobs < 1 || a.jobs > jobs_max) {
    return base::fail("--jobs must be in [1, " + std::to_string(jobs_max) + "], not " +
                      std::to_string(a.jobs));
  }
  if (!a.faults.empty()) {
    o.swarm = false;
    auto mix = dst::parse_faults(a.faults);
    if (!mix.ok()) return base::fail("--faults: " + mix.message());
    o.faults = *mix;
  }
  if (!a.network.empty()) {
    auto n = dst::find_network_profile(a.network);
    if (!n.ok()) return n.to_status();
    o.network = std::move(n).value();
  }
  if (!a.disk.empty()) {
    auto d = dst::find_disk_profile(a.disk);
    if (!d.ok()) return d.to_status();
    o.disk = std::move(d).value();
  }
  if (!a.bug.empty() && !core::planted_bugs_built) {
    return base::fail(
        "this build holds no planted bugs (configure with -DRINGCHAIN_PLANTED_BUGS=ON)");
  }
  if (!a.bug.empty() && !core::parse_planted_bug(a.bug, &o.bug)) {
    return base::fail("unknown bug \"" + a.bug + "\"");
  }
  if (o.work_dir.empty()) o.work_dir = dst::default_work_dir(1e9);
  std::error_code ec;
  fs::create_directories(o.work_dir, ec);
  if (ec) {
    std::ostringstream msg;
    msg << "cannot create " << o.work_dir << ": " << ec.message();
    return base::fail(msg.str());
  }
  return {};
}

// What a sweep's seeds add up to.
struct sweep_totals {
  std::size_t failed = 0, passed = 0;
  double simulated = 0;
  dst::fault_counts injected;
  std::uint64_t snapshots_taken = 0, snapshots_installed = 0;
  std::vector<std::uint64_t> failed_seeds;
};

// Prints one seed's line (a failure's always, a pass's unless quiet).
void print_seed(const dst::result& r, const dst::options& o, bool quiet) {
  const auto seed = static_cast<unsigned long long>(r.seed);
  if (r.ok) {
    if (quiet) return;
    std::printf(
        "seed %llu  ok  height %llu  sim %.1f s  wall %.2f s  events %llu  trace %016llx"
        "  snapshots %llu/%llu  disk %s  faults: %s\n",
        seed, static_cast<unsigned long long>(r.height), r.simulated_s, r.wall_s,
        static_cast<unsigned long long>(r.events), static_cast<unsigned long long>(r.trace_hash),
        static_cast<unsigned long long>(r.snapshots_taken),
        static_cast<unsigned long long>(r.snapshots_installed), r.disk.c_str(),
        r.faults.spec().c_str());
  } else {
    std::printf(
        "seed %llu  FAILED at %.3f s: %s\n  faults: %s  disk %s  trace %016llx\n"
        "  replay: %s\n",
        seed, r.violation_at_s, r.violation.c_str(), r.faults.spec().c_str(), r.disk.c_str(),
        static_cast<unsigned long long>(r.trace_hash), dst::replay_command(o).c_str());
  }
}

// Runs the seeds on `jobs` threads, printing each as it ends.
sweep_totals sweep(const seed_range& seeds, const dst::options& o, std::size_t jobs, bool quiet) {
  std::atomic<std::uint64_t> next{seeds.first};
  std::mutex mu;
  sweep_totals t;
  auto work = [&](std::size_t job) {
    for (std::uint64_t seed = next++; seed <= seeds.last; seed = next++) {
      dst::options mine = o;
      mine.seed = seed;
      running_seed[job] = seed;
      const dst::result r = dst::run(mine);
      running_seed[job] = 0;
      std::lock_guard<std::mutex> lock(mu);
      t.simulated += r.simulated_s;
      t.injected += r.injected;
      t.snapshots_taken += r.snapshots_taken;
      t.snapshots_installed += r.snapshots_installed;
      ++(r.ok ? t.passed : t.failed);
      if (!r.ok) t.failed_seeds.push_back(seed);
      print_seed(r, mine, quiet);
      std::fflush(stdout);
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t j = 1; j < jobs; ++j) threads.emplace_back(work, j);
  work(0);
  for (auto& th : threads) th.join();
  return t;
}

// The sweep's closing lines.
void print_totals(sweep_totals& t, const seed_range& seeds, const dst::options& o, std::size_t jobs,
                  double wall) {
  const std::size_t total = t.passed + t.failed;
  const std::string kinds = t.injected.summary();
  std::printf(
      "%zu seeds (%llu..%llu, %zu nodes, %llu blocks): %zu passed, %zu failed; %.0f seeds/min, "
      "%.0f simulated s per wall s (%zu jobs); faults injected:%s; snapshots taken %llu, "
      "installed from a leader %llu\n",
      total, static_cast<unsigned long long>(seeds.first),
      static_cast<unsigned long long>(seeds.last), o.nodes,
      static_cast<unsigned long long>(o.blocks), t.passed, t.failed,
      wall > 0 ? static_cast<double>(total) / wall * 60 : 0, wall > 0 ? t.simulated / wall : 0,
      jobs, kinds.empty() ? " none" : kinds.c_str(),
      static_cast<unsigned long long>(t.snapshots_taken),
      static_cast<unsigned long long>(t.snapshots_installed));
  if (t.failed > 0) {
    std::sort(t.failed_seeds.begin(), t.failed_seeds.end());
    std::printf("failed seeds:");
    for (auto s : t.failed_seeds) std::printf(" %llu", static_cast<unsigned long long>(s));
    std::printf("\n");
  }
}

int run_dst(const dst_args& a, dst::options o) {
  const auto seeds = parse_seeds(a);
  base::status s = seeds.to_status();
  if (s.ok()) s = dst::validate(o);
  if (s.ok()) s = resolve(a, o);
  if (!s.ok()) {
    std::cerr << "ringchain-sim dst: " << s.message() << "\n";
    return 2;
  }
  if (!o.verbose) spdlog::set_level(spdlog::level::off);
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS}) std::signal(sig, on_abort);
  const auto start = std::chrono::steady_clock::now();
  sweep_totals t = sweep(*seeds, o, a.jobs, a.quiet);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_totals(t, *seeds, o, a.jobs, wall);
  return t.failed == 0 ? 0 : 1;
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
  auto* seed_option = d->add_option("--seed", da.seed, "the seed to run (default 1)");
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
  d->add_option("--snapshot-every", dopt.snapshot_interval_blocks,
                "nodes snapshot their state every this many blocks (default 20)");
  d->add_option("--plant-bug", da.bug, "test only: plant a known bug (see core::planted_bug)");
  d->add_option("--work-dir", work_dir,
                "where simulated disks keep their files (default /dev/shm)");
  d->add_flag("--keep", dopt.keep_files, "keep each run's files");
  d->add_flag("--verbose", dopt.verbose, "print faults as they happen, and node logs");
  d->add_flag("--quiet", da.quiet, "print failures and the total only");
  commands::calibrate_args ca;
  auto* cal = app.add_subcommand(
      "calibrate", "measure this machine (CPU, disk, loopback) into a machine profile");
  cal->add_option("--out", ca.out, "profile file to write (default calibrated.toml)");
  cal->add_option("--dir", ca.dir, "a directory on the disk to measure (default .)");
  cal->add_option("--name", ca.name, "the profile's name (default: the file's name)");
  cal->add_option("--writers", ca.writers, "writers at once, up to (default 3)");
  bool no_node_probe = false;
  cal->add_flag("--no-node-probe", no_node_probe,
                "skip the cluster of node processes that measures the node's own phases");
  cal->add_option("--node-binary", ca.node_binary,
                  "the ringchain-node the node probe launches (default: the one built here)");
  commands::validate_args va;
  auto* val = app.add_subcommand(
      "validate", "run an experiment on processes and in the simulator, and compare");
  val->add_option("experiment", va.experiment, "experiment TOML file (engine = \"processes\")")
      ->required()
      ->check(CLI::ExistingFile);
  val->add_option("--machine", va.machine, "machine profile (default calibrated.toml)");
  val->add_option("--out", va.out, "run directory (default runs/validate-<timestamp>)");
  val->add_option("--node-binary", va.node_binary,
                  "the ringchain-node to launch (default: the one built here)");
  val->add_option("--measured", va.measured,
                  "compare with this earlier process run of the experiment instead of running it")
      ->check(CLI::ExistingDirectory);
  val->add_option("--again", va.again,
                  "simulate again against the runs on processes of this finished validation "
                  "(its --out), with the same seeds, instead of running them")
      ->check(CLI::ExistingDirectory);
  val->add_option("--repeats", va.repeats,
                  "runs of each cell on each side; medians are compared (default 3)");
  val->add_option("--duration", va.duration_s,
                  "every cell's measured window in seconds, in place of the experiment's");
  val->add_option("--rate", va.rate_tps,
                  "every cell's offered load in tx/s, in place of the experiment's");
  bool no_capacity = false;
  val->add_flag("--no-capacity", no_capacity,
                "skip the capacity search and the equal-load runs of a capacity_search experiment");
  bool fixed_disk = false;
  val->add_flag("--fixed-disk", fixed_disk,
                "simulate with the profile's disk as it is, not as checked around each cell");
  CLI11_PARSE(app, argc, argv);
  if (cal->parsed()) {
    ca.node_probe = !no_node_probe;
    return commands::calibrate(ca);
  }
  if (val->parsed()) {
    va.capacity = !no_capacity;
    va.track_disk = !fixed_disk;
    return commands::validate(va);
  }
  if (d->parsed()) {
    da.seed_given = seed_option->count() > 0;
    dopt.work_dir = work_dir;
    return run_dst(da, dopt);
  }
  if (r->parsed()) return run(file, out, node_binary);
  if (rep->parsed()) return rerender(dir);
  return compare(a, b);
}
