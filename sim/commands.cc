#include "sim/commands.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "sim/calibrate/calibrate.h"
#include "sim/calibrate/node_probe.h"
#include "sim/dst/experiment.h"
#include "sim/dst/machine.h"
#include "sim/harness/capacity.h"
#include "sim/harness/experiment.h"
#include "sim/report/validation.h"

namespace ringchain::commands {

namespace fs = std::filesystem;

std::string timestamp() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
  return buf;
}

namespace {

// The 1-, 5- and 15-minute load averages, for the record.
std::string load() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Writes `profile` scaled to the disk checks `checked`
// (dst::with_disk_now) to `file`, its directory made; the file's absolute
// path, or empty when it could not be written.
fs::path write_cell_profile(const dst::machine_profile& profile,
                            const std::vector<dst::disk_sample>& checked, const fs::path& file) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  std::ofstream out(file);
  out << dst::to_toml(dst::with_disk_now(profile, checked));
  out.close();
  if (ec || !out) return {};
  return fs::absolute(file);
}

// The disk checked around each cell's run on processes, for the profile
// its simulation takes: this machine's disk moves by tens of percent
// within the hour, so a profile's disk figures describe the runs only as
// well as the disk held still since calibration.
class disk_tracker {
 public:
  // Checks of `profile`'s disk in `dir`; `track`: each simulation takes
  // the disk as checked (else the profile as it is, at `machine`).
  disk_tracker(const dst::machine_profile& profile, fs::path machine, fs::path dir, bool track)
      : profile_(profile), machine_(std::move(machine)), dir_(std::move(dir)), track_(track) {}

  // Names the runs that follow in the table ("at equal load", ...).
  void set_phase(std::string phase) { phase_ = std::move(phase); }

  // Before a cell's processes: checks the disk, unless the last check
  // (after the previous cell's processes) succeeded within the last
  // `fresh_s` seconds and so stands for it.
  void before() {
    const double fresh_s = 10;
    if (last_ && last_->ok() && seconds_since(last_at_) < fresh_s) return;
    last_ = check();
  }

  // After a cell's processes: checks again, adds a row for `label`, and
  // returns the profile file its simulation takes (written to `file` when
  // tracking).
  fs::path after(const std::string& label, const fs::path& file) {
    const auto first = last_;
    last_ = check();
    if (!first || !first->ok() || !last_->ok()) {
      rows_ += "| " + phase_ + " | " + label + " | disk check failed: " +
               (first && !first->ok() ? first->message() : last_->message()) + " | | | |\n";
      return machine_;
    }
    const std::vector<dst::disk_sample> now = calibrate::between(**first, **last_);
    const std::uint32_t n = profile_.writers_max();
    rows_ += "| " + phase_ + " | " + label + " |";
    for (const auto& [writers, bytes] :
         {std::pair<std::uint32_t, std::uint64_t>{1, 512}, {1, 65536}, {n, 512}, {n, 65536}}) {
      const double f = dst::disk_factor(profile_, now, writers, bytes);
      worst_ = std::max(worst_, std::fabs(std::log(f)));
      rows_ += " " + report::fixed(f, 2) + " |";
    }
    rows_ += "\n";
    if (!track_) return machine_;
    const fs::path written = write_cell_profile(profile_, now, file);
    if (written.empty()) {
      rows_ += "| " + phase_ + " | " + label + " | cannot write " + file.string() +
               ": simulated with the profile's disk | | | |\n";
      return machine_;
    }
    return written;
  }

  // The section of validation.md: the table of checks and what the
  // simulator took.
  std::string markdown() const {
    if (rows_.empty()) return "";
    const std::uint32_t most = profile_.writers_max();
    const std::string n = std::to_string(most) + (most == 1 ? " writer" : " writers");
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.0f%%", (std::exp(worst_) - 1) * 100);
    return "\n## The disk around each cell\n\nwrite + fdatasync p50 through io_uring, checked "
           "before and after each cell's run on processes (the check after one cell's run "
           "stands for the next one's before when under 10 s old), over the profile's (the "
           "geometric mean of the two checks; above 1: slower than at calibration). Parts are "
           "512-byte per-transaction writes, blocks 64 KiB.\n\n| runs | cell | 1 writer, parts | "
           "1 writer, blocks | " +
           n + ", parts | " + n + ", blocks |\n| --- | --- | ---: | ---: | ---: | ---: |\n" +
           rows_ + "\n" +
           (track_ ? "Each simulation took its cell's disk: the profile's disk figures times "
                     "these factors (machines/ holds the profiles; --fixed-disk keeps the "
                     "profile's); a row whose check failed took the profile's.\n"
                   : std::string("The simulations took the profile's disk as it is "
                                 "(--fixed-disk); it moved by up to ") +
                         pct +
                         ", and the errors above are the machine's change as much as the "
                         "simulator's.\n");
  }

 private:
  base::result<std::vector<dst::disk_sample>> check() {
    std::fprintf(stderr, "  disk check\n");
    last_at_ = std::chrono::steady_clock::now();
    return calibrate::check_disk(dir_, profile_.writers_max());
  }

  const dst::machine_profile& profile_;
  fs::path machine_, dir_;
  bool track_;
  std::optional<base::result<std::vector<dst::disk_sample>>> last_;
  // When the last check began.
  std::chrono::steady_clock::time_point last_at_;
  std::string phase_, rows_;
  // The largest change seen, as |log(factor)|.
  double worst_ = 0;
};

}  // namespace

int calibrate(const calibrate_args& a) {
  if (a.writers < 1 || a.writers > 16) {
    std::cerr << "ringchain-sim calibrate: --writers must be 1 to 16\n";
    return 2;
  }
  calibrate::options o;
  o.name = a.name.empty() ? a.out.stem().string() : a.name;
  o.dir = a.dir;
  o.writers_max = a.writers;
  o.progress = [](const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); };
  std::fprintf(stderr, "calibrating (load average %s; about a minute)\n", load().c_str());
  const auto start = std::chrono::steady_clock::now();
  auto m = calibrate::measure(o);
  if (!m.ok()) {
    std::cerr << "ringchain-sim calibrate: " << m.message() << "\n";
    return 1;
  }
  std::string probe_failed;
  if (a.node_probe) {
    spdlog::set_level(spdlog::level::warn);
    calibrate::probe_options po;
    po.dir = a.dir;
    po.node_binary = a.node_binary;
    po.progress = o.progress;
    auto node = calibrate::probe_node(*m, po);
    if (node.ok()) {
      m->node = std::move(node).value();
    } else {
      // The rest of the profile is still good: it is written, without
      // node costs, and the exit code says the probe failed.
      probe_failed = node.message();
    }
  }
  std::ofstream out(a.out);
  out << dst::to_toml(*m);
  if (!out) {
    std::cerr << "ringchain-sim calibrate: cannot write " << a.out << "\n";
    return 1;
  }
  if (!probe_failed.empty()) {
    std::cerr << "ringchain-sim calibrate: the node probe failed: " << probe_failed << "; "
              << a.out.string()
              << " is written without node costs (--no-node-probe skips the probe)\n";
    return 1;
  }
  std::printf(
      "%s written in %.0f s (load average %s); name it in an experiment with\n"
      "  machine = \"%s\"\n",
      a.out.c_str(), seconds_since(start), load().c_str(), a.out.c_str());
  return 0;
}

namespace {

// The measured cell of an earlier run with this label.
report::cell_report earlier(const report::run_report& run, const std::string& label) {
  for (const report::cell_report& c : run.cells) {
    if (c.label == label) return c;
  }
  report::cell_report missing;
  missing.label = label;
  missing.error = "no cell of this label in the measured run";
  return missing;
}

// Measured runs read from disk instead of run again: one process run
// (--measured), or a phase of a finished validation (--again).
struct earlier_runs {
  // By repeat, the measured run.
  std::vector<report::run_report> runs;
  // By repeat, by cell label, the profile file its simulation takes; a
  // cell not named takes the machine profile given.
  std::vector<std::map<std::string, fs::path>> machines;
};

// The profile file a cell of an earlier run takes: `machine` given, or the
// one recorded for it.
fs::path machine_of(const earlier_runs& earlier, int run, const std::string& label,
                    const fs::path& machine) {
  const auto& by_label = earlier.machines[static_cast<std::size_t>(run)];
  const auto it = by_label.find(label);
  return it == by_label.end() ? machine : it->second;
}

// One run of every cell both ways (or the processes' from `before`),
// into `out`; the reports by engine. `run` (from 0) numbers the repeat:
// the simulator's seed moves with it. `disk` (null with `before`) checks
// the disk around each cell's processes and gives its simulation the
// profile to take.
void run_both(const harness::experiment& e, const fs::path& machine, const validate_args& a,
              const earlier_runs* before, const fs::path& out, int run, disk_tracker* disk,
              report::run_report* sim, report::run_report* processes) {
  for (report::run_report* r : {sim, processes}) {
    r->experiment = e.name;
    r->description = e.description;
    r->duration_s = e.duration_s;
  }
  spdlog::set_level(spdlog::level::warn);
  const int runs = before != nullptr ? static_cast<int>(before->runs.size()) : a.repeats;
  const std::string of_runs =
      runs > 1 ? " (run " + std::to_string(run + 1) + " of " + std::to_string(runs) + ")" : "";
  for (std::size_t i = 0; i < e.cells.size(); ++i) {
    const harness::cell& c = e.cells[i];
    fs::path cell_machine = machine;
    if (before != nullptr) {
      processes->cells.push_back(earlier(before->runs[static_cast<std::size_t>(run)], c.label));
      cell_machine = machine_of(*before, run, c.label, machine);
    } else {
      if (disk != nullptr) disk->before();
      std::fprintf(stderr, "[%zu/%zu] %s%s: processes (load average %s)\n", i + 1, e.cells.size(),
                   c.label.c_str(), of_runs.c_str(), load().c_str());
      processes->cells.push_back(harness::run_cell(e, c, {out / "processes", a.node_binary}, i));
      if (disk != nullptr) {
        cell_machine = disk->after(c.label + of_runs,
                                   out / "machines" / ("cell-" + std::to_string(i + 1) + ".toml"));
      }
    }
    std::fprintf(stderr, "[%zu/%zu] %s%s: simulator\n", i + 1, e.cells.size(), c.label.c_str(),
                 of_runs.c_str());
    harness::cell simulated = c;
    simulated.machine = cell_machine.string();
    const auto start = std::chrono::steady_clock::now();
    const std::uint64_t seed = e.seed + c.repetition + 1000 * static_cast<std::uint64_t>(run);
    sim->cells.push_back(dst::run_cell(simulated, {e.warmup_s, e.duration_s, seed, true},
                                       out / "sim" / ("cell-" + std::to_string(i + 1))));
    std::fprintf(stderr, "  simulated in %.1f s\n", seconds_since(start));
  }
}

// The profile a cell of an earlier validation takes again: `profile`
// scaled to the disk checked around the cell's run, as recorded in the
// profile that validation wrote for it (`recorded`), written to `file`.
// A record without its checks (from before they were kept) has them read
// off its disk: its io_uring samples of the sizes a check measures.
// Without `track_disk`, or when nothing was recorded, the profile as it
// is (`machine`).
base::result<fs::path> with_recorded_disk(const dst::machine_profile& profile,
                                          const fs::path& machine, const fs::path& recorded,
                                          bool track_disk, const fs::path& file) {
  if (!track_disk || !fs::exists(recorded)) return machine;
  auto then = dst::load_machine(recorded);
  if (!then.ok()) return base::fail(then.message());
  std::vector<dst::disk_sample> checked = then->disk_checked;
  if (checked.empty()) {
    for (const dst::disk_sample& d : then->disk) {
      if (d.io == "uring" && (d.bytes == 512 || d.bytes == 65536)) checked.push_back(d);
    }
  }
  const fs::path written = write_cell_profile(profile, checked, file);
  if (written.empty()) return base::fail("cannot write " + file.string());
  return written;
}

// The runs of one phase of a finished validation: `dir`/processes, or
// `dir`/run-<k>/processes for each repeat k, with each cell's recorded
// disk (`dir`[/run-<k>]/machines/cell-<n>.toml, n its place in `e`) put
// into `profile` and written under `out` likewise. The error names what
// is missing or unreadable.
base::result<earlier_runs> load_phase(const harness::experiment& e,
                                      const dst::machine_profile& profile, const fs::path& machine,
                                      bool track_disk, const fs::path& dir, const fs::path& out) {
  std::vector<std::pair<fs::path, fs::path>> runs;  // (from, to)
  if (fs::exists(dir / "processes" / "report.json")) {
    runs.emplace_back(dir, out);
  } else {
    for (int k = 1; fs::exists(dir / ("run-" + std::to_string(k)) / "processes" / "report.json");
         ++k) {
      const std::string run = "run-" + std::to_string(k);
      runs.emplace_back(dir / run, out / run);
    }
  }
  if (runs.empty()) {
    return base::fail("no measured run in " + dir.string() +
                      " (neither processes/report.json nor run-1/processes/report.json)");
  }
  earlier_runs found;
  for (const auto& [from, to] : runs) {
    auto r = report::read_report(from / "processes");
    if (!r.ok()) return base::fail(r.message());
    found.runs.push_back(std::move(r).value());
    std::map<std::string, fs::path>& by_label = found.machines.emplace_back();
    for (std::size_t i = 0; i < e.cells.size(); ++i) {
      const std::string file = "cell-" + std::to_string(i + 1) + ".toml";
      auto m = with_recorded_disk(profile, machine, from / "machines" / file, track_disk,
                                  to / "machines" / file);
      if (!m.ok()) return base::fail(m.message());
      by_label[e.cells[i].label] = *m;
    }
  }
  return found;
}

}  // namespace

namespace {

// By cell, its repeats on each side.
struct repeats_table {
  std::vector<std::vector<report::cell_report>> sims, measures;
  // Whether a measured cell failed.
  bool failed = false;
};

// The runs of every cell both ways into `out` (run-<k>/ when more than
// one): `a.repeats`, or as many as `before` holds; the error says which
// report could not be written. Repeats go round every cell in turn, so
// that a change in the machine's load reaches every cell alike.
base::status run_repeats(const harness::experiment& e, const fs::path& machine,
                         const validate_args& a, const earlier_runs* before, const fs::path& out,
                         disk_tracker* disk, repeats_table* t) {
  t->sims.assign(e.cells.size(), {});
  t->measures.assign(e.cells.size(), {});
  const int runs = before != nullptr ? static_cast<int>(before->runs.size()) : a.repeats;
  for (int run = 0; run < runs; ++run) {
    const fs::path dir = runs > 1 ? out / ("run-" + std::to_string(run + 1)) : out;
    report::run_report sim, processes;
    run_both(e, machine, a, before, dir, run, disk, &sim, &processes);
    for (auto [r, to] : {std::pair{&processes, dir / "processes"}, std::pair{&sim, dir / "sim"}}) {
      if (base::status s = report::write_reports(*r, to); !s.ok()) return s;
    }
    for (std::size_t i = 0; i < e.cells.size(); ++i) {
      t->sims[i].push_back(sim.cells[i]);
      t->measures[i].push_back(processes.cells[i]);
      t->failed = t->failed || !processes.cells[i].error.empty();
    }
  }
  return {};
}

// The capacity search's record of what it measured, one line per cell:
// its label, a tab, and its capacity in tx/s.
constexpr const char* kMeasuredCapacities = "measured-capacity.tsv";

// Each cell's deadline capacity on processes and in the simulator, found
// by the experiment's own search (capacity_probe_s windows after half a
// second of warm-up, from the cell's rate up to capacity_max_tps). With
// `before` (a capacity search of a finished validation: its directory),
// the processes' capacities and disks are the ones recorded there, and
// only the simulator searches again. The error says what could not be
// read or written.
base::result<std::vector<report::capacity_comparison>> search_both(
    const harness::experiment& e, const validate_args& a, const dst::machine_profile& profile,
    const fs::path& machine, const fs::path& before, const fs::path& out, disk_tracker* disk) {
  std::map<std::string, double> recorded;
  if (!before.empty()) {
    std::ifstream in(before / kMeasuredCapacities);
    if (!in) return base::fail("cannot read " + (before / kMeasuredCapacities).string());
    std::string line;
    while (std::getline(in, line)) {
      const auto tab = line.rfind('\t');
      if (tab != std::string::npos) recorded[line.substr(0, tab)] = std::atof(&line[tab + 1]);
    }
  }
  std::ofstream record;
  if (before.empty()) {
    fs::create_directories(out);
    record.open(out / kMeasuredCapacities);
  }
  std::vector<report::capacity_comparison> found;
  for (std::size_t i = 0; i < e.cells.size(); ++i) {
    const harness::cell& c = e.cells[i];
    harness::experiment once = e;
    once.warmup_s = 0.5;
    once.duration_s = e.capacity_probe_s;
    const fs::path scratch = out / "scratch";
    const fs::path cell_file = fs::path("machines") / ("cell-" + std::to_string(i + 1) + ".toml");
    std::error_code ec;
    double measured_tps = 0;
    fs::path cell_machine;
    if (!before.empty()) {
      const auto it = recorded.find(c.label);
      if (it == recorded.end()) {
        return base::fail((before / kMeasuredCapacities).string() + " has no cell \"" + c.label +
                          "\"");
      }
      measured_tps = it->second;
      auto m =
          with_recorded_disk(profile, machine, before / cell_file, a.track_disk, out / cell_file);
      if (!m.ok()) return base::fail(m.message());
      cell_machine = *m;
    } else {
      disk->before();
      std::fprintf(stderr, "[capacity %zu/%zu] %s: processes (load average %s)\n", i + 1,
                   e.cells.size(), c.label.c_str(), load().c_str());
      measured_tps =
          harness::find_capacity(
              [&](std::uint32_t rate) {
                once.cells = {c};
                once.cells[0].rate_tps = rate;
                report::cell_report r =
                    harness::run_cell(once, once.cells[0], {scratch, a.node_binary}, i);
                fs::remove_all(scratch, ec);
                std::fprintf(stderr, "  %u tx/s: %s\n", rate,
                             report::meets_deadline(r) ? "meets the deadline" : "misses it");
                return r;
              },
              c.rate_tps, e.capacity_max_tps, 3)
              .tps;
      record << c.label << '\t' << measured_tps << '\n' << std::flush;
      cell_machine = disk->after(c.label, out / cell_file);
    }
    std::fprintf(stderr, "[capacity %zu/%zu] %s: simulator\n", i + 1, e.cells.size(),
                 c.label.c_str());
    const harness::capacity_found simulated = harness::find_capacity(
        [&](std::uint32_t rate) {
          harness::cell sc = c;
          sc.machine = cell_machine.string();
          sc.rate_tps = rate;
          // Processes start their warm-up once a leader is up; a simulated
          // cluster elects its first within its first half second, in its
          // warm-up: half a second more keeps that out of the window.
          report::cell_report r = dst::run_cell(
              sc, {once.warmup_s + 0.5, once.duration_s, e.seed + c.repetition, true}, scratch);
          fs::remove_all(scratch, ec);
          return r;
        },
        c.rate_tps, e.capacity_max_tps, 3);
    found.push_back({c.label, simulated.tps, measured_tps});
  }
  if (before.empty() && !record) {
    return base::fail("cannot write " + (out / kMeasuredCapacities).string());
  }
  return found;
}

}  // namespace

namespace {

// A validation's record of the settings its runs took beyond the
// experiment's: "rate_tps = R" (0: the experiment's) and "duration_s = D".
constexpr const char* kSettings = "validate-settings.txt";

// The offered rate a finished validation in `dir` ran its cells at (its
// --rate; 0 when it took the experiment's, or kept no record).
std::uint32_t recorded_rate(const fs::path& dir) {
  std::ifstream in(dir / kSettings);
  std::string key, eq;
  double value = 0;
  while (in >> key >> eq >> value) {
    if (key == "rate_tps" && value > 0) return static_cast<std::uint32_t>(value);
  }
  return 0;
}

}  // namespace

int validate(const validate_args& a) {
  auto loaded = harness::load_experiment(a.experiment);
  if (!loaded.ok()) {
    std::cerr << "ringchain-sim validate: bad experiment: " << loaded.message() << "\n";
    return 2;
  }
  harness::experiment& e = *loaded;
  const bool again = !a.again.empty();
  if (a.rate_tps > 0 && (!a.measured.empty() || again)) {
    std::cerr << "ringchain-sim validate: --rate with " << (again ? "--again" : "--measured")
              << " would compare the simulator at one load with processes measured at another\n";
    return 2;
  }
  if (a.duration_s > 0 && (!a.measured.empty() || again)) {
    std::cerr << "ringchain-sim validate: --duration with " << (again ? "--again" : "--measured")
              << " would compare windows of different lengths\n";
    return 2;
  }
  if (a.duration_s < 0 || a.duration_s > 3600) {
    std::cerr << "ringchain-sim validate: --duration must be 0 to 3600 seconds\n";
    return 2;
  }
  if (a.duration_s > 0) e.duration_s = a.duration_s;
  if (again && !a.measured.empty()) {
    std::cerr << "ringchain-sim validate: --again and --measured both name the measured runs; "
                 "pass one\n";
    return 2;
  }
  if (a.rate_tps > 0) {
    for (harness::cell& c : e.cells) c.rate_tps = a.rate_tps;
  }
  if (e.engine != "processes") {
    std::cerr << "ringchain-sim validate: " << a.experiment
              << " is a simulated experiment; validate runs an experiment of processes and "
                 "simulates it\n";
    return 2;
  }
  const auto profile = dst::load_machine(a.machine);
  if (!profile.ok()) {
    std::cerr << "ringchain-sim validate: " << profile.message()
              << " (ringchain-sim calibrate writes one)\n";
    return 2;
  }
  if (a.repeats < 1 || a.repeats > 20) {
    std::cerr << "ringchain-sim validate: --repeats must be 1 to 20\n";
    return 2;
  }
  const fs::path out = a.out.empty() ? fs::path("runs") / ("validate-" + timestamp()) : a.out;
  if (again && fs::exists(out) && fs::equivalent(out, a.again)) {
    std::cerr << "ringchain-sim validate: --out must not be the --again directory\n";
    return 2;
  }
  const fs::path machine = fs::absolute(a.machine);
  // The measured runs, when read from disk.
  std::optional<earlier_runs> before;
  if (!a.measured.empty()) {
    auto r = report::read_report(a.measured);
    if (!r.ok()) {
      std::cerr << "ringchain-sim validate: --measured: " << r.message() << "\n";
      return 2;
    }
    if (a.repeats > 1) {
      std::cerr << "ringchain-sim validate: --measured is one run of each cell; --repeats "
                << a.repeats << " would compare it with itself (pass --repeats 1)\n";
      return 2;
    }
    before.emplace();
    before->runs.push_back(std::move(r).value());
    before->machines.emplace_back();
  }
  if (again) {
    auto r = load_phase(e, *profile, machine, a.track_disk, a.again, out);
    if (!r.ok()) {
      std::cerr << "ringchain-sim validate: --again: " << r.message() << "\n";
      return 2;
    }
    before = std::move(r).value();
    // The simulations take the windows and the rates the processes were
    // measured in (--duration and --rate then, say).
    if (before->runs[0].duration_s > 0) e.duration_s = before->runs[0].duration_s;
  }
  // Every cell's rate, when --rate set it (then or now).
  const std::uint32_t rate_given = again ? recorded_rate(a.again) : a.rate_tps;
  if (again && rate_given > 0) {
    for (harness::cell& c : e.cells) c.rate_tps = rate_given;
  }
  fs::create_directories(out);
  if (!before) {
    std::ofstream(out / kSettings)
        << "rate_tps = " << a.rate_tps << "\nduration_s = " << e.duration_s << "\n";
  }
  const std::string first_load = load();
  // The disk, checked around each cell's processes (not with measured
  // runs read from disk: the disk now says nothing of their time).
  std::optional<disk_tracker> disk;
  if (!before) disk.emplace(*profile, machine, out, a.track_disk);
  disk_tracker* tracker = disk ? &*disk : nullptr;
  if (tracker != nullptr) tracker->set_phase("at the offered load");
  repeats_table at_rate;
  const earlier_runs* measured = before ? &*before : nullptr;
  if (base::status s = run_repeats(e, machine, a, measured, out, tracker, &at_rate); !s.ok()) {
    std::cerr << "ringchain-sim validate: " << s.message() << "\n";
    return 1;
  }
  const std::size_t run_count = before ? before->runs.size() : static_cast<std::size_t>(a.repeats);
  const std::string runs =
      run_count > 1 ? std::to_string(run_count) + " runs of each cell on processes" +
                          (!a.measured.empty() ? " (the same measured run each time)" : "") +
                          " and in the simulator (a seed each). "
                    : "";
  const std::string source =
      again ? "The runs on processes are " + a.again.string() +
                  "'s, and each simulation takes the disk checked around its cell's run there" +
                  (a.track_disk ? "" : " (not with --fixed-disk: the profile's)") + ". "
            : "";
  std::string md = "# " + e.name + ": simulated (" + a.machine.string() + ") against measured\n\n" +
                   runs + source +
                   "Each cell's measured window: " + report::fixed(e.duration_s, 1) + " s" +
                   (a.duration_s > 0 ? " (--duration)" : "") +
                   ". Load average at the start: " + first_load + "\n\n## At " +
                   (rate_given > 0 ? std::to_string(rate_given) + " tx/s offered (--rate)"
                                   : std::string("the experiment's offered load")) +
                   "\n\n" + report::validation_markdown(at_rate.sims, at_rate.measures, 0.15);
  bool failed = at_rate.failed;
  // The experiment's own comparison: each cell's capacity, then every cell
  // at half the lowest measured capacity, where no cell has a backlog.
  // Again: as far as the earlier validation went.
  const bool search = e.capacity_search && a.capacity && a.rate_tps == 0 && a.measured.empty() &&
                      (!again || fs::exists(a.again / "capacity" / kMeasuredCapacities));
  if (search) {
    if (tracker != nullptr) tracker->set_phase("capacity search");
    const auto capacities =
        search_both(e, a, *profile, machine, again ? a.again / "capacity" : fs::path(),
                    out / "capacity", tracker);
    if (!capacities.ok()) {
      std::cerr << "ringchain-sim validate: " << capacities.message() << "\n";
      return 1;
    }
    md += "\n## Deadline capacity\n\n" + report::capacity_markdown(*capacities, 0.15);
    double lowest = 0;
    for (const auto& c : *capacities) {
      if (c.measured_tps > 0 && (lowest == 0 || c.measured_tps < lowest)) lowest = c.measured_tps;
    }
    std::optional<earlier_runs> equal_before;
    if (again && fs::exists(a.again / "equal-load")) {
      auto r = load_phase(e, *profile, machine, a.track_disk, a.again / "equal-load",
                          out / "equal-load");
      if (!r.ok()) {
        std::cerr << "ringchain-sim validate: --again: " << r.message() << "\n";
        return 1;
      }
      equal_before = std::move(r).value();
    }
    if (lowest > 0 && (!again || equal_before)) {
      const auto equal = static_cast<std::uint32_t>(std::max(1.0, lowest / 2));
      harness::experiment at_equal = e;
      for (harness::cell& c : at_equal.cells) c.rate_tps = equal;
      repeats_table eq;
      if (tracker != nullptr) tracker->set_phase("at equal load");
      if (base::status s =
              run_repeats(at_equal, machine, a, equal_before ? &*equal_before : nullptr,
                          out / "equal-load", tracker, &eq);
          !s.ok()) {
        std::cerr << "ringchain-sim validate: " << s.message() << "\n";
        return 1;
      }
      md += "\n## At equal load: " + std::to_string(equal) +
            " tx/s, half the lowest measured capacity\n\n" +
            report::validation_markdown(eq.sims, eq.measures, 0.15);
      failed = failed || eq.failed;
    }
  }
  if (disk) md += disk->markdown();
  md += "\nLoad average at the end: " + load() + "\n";
  std::ofstream(out / "validation.md") << md;
  std::cout << md << "\nReports: " << fs::absolute(out).string() << "\n";
  return failed ? 1 : 0;
}

}  // namespace ringchain::commands
