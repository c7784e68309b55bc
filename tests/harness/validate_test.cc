// ringchain-sim validate end to end: a short experiment of one cell on
// node processes and in the simulator (repeats, the capacity search and
// the equal-load runs, a window shorter than the experiment's), then
// simulated again from its record with --again: the same profile gives
// the same simulations in the same windows, and another
// profile changes them while the measured runs stay those recorded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "sim/commands.h"
#include "sim/dst/machine.h"
#include "sim/report/writer.h"

namespace ringchain::commands {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system's temporary one, named for this
// process and `name`.
fs::path scratch_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("ringchain-validate-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The report of `dir` (a processes/ or sim/ directory of a validation).
report::run_report read(const fs::path& dir) {
  auto r = report::read_report(dir);
  EXPECT_TRUE(r.ok()) << dir << ": " << r.message();
  return r.ok() ? std::move(r).value() : report::run_report{};
}

// Whether two runs' cells hold the same figures: labels, blocks, commit
// latency percentiles and throughput.
void expect_same_cells(const fs::path& a, const fs::path& b) {
  const report::run_report x = read(a), y = read(b);
  ASSERT_EQ(x.cells.size(), y.cells.size()) << a << " against " << b;
  for (std::size_t i = 0; i < x.cells.size(); ++i) {
    const report::cell_report &p = x.cells[i], &q = y.cells[i];
    EXPECT_EQ(p.label, q.label);
    EXPECT_EQ(p.summary.blocks, q.summary.blocks) << a << " " << p.label;
    EXPECT_DOUBLE_EQ(p.summary.p50_ms, q.summary.p50_ms) << a << " " << p.label;
    EXPECT_DOUBLE_EQ(p.summary.p99_ms, q.summary.p99_ms) << a << " " << p.label;
    EXPECT_DOUBLE_EQ(p.accepted_tps, q.accepted_tps) << a << " " << p.label;
  }
}

// The median commit latency (p50) of every cell of a run, summed.
double p50_sum(const fs::path& dir) {
  double sum = 0;
  for (const auto& c : read(dir).cells) sum += c.summary.p50_ms;
  return sum;
}

std::string text_of(const fs::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A first validation of the experiment `toml`, written to `dir`/e.toml,
// with the node-costs test profile, into `dir`/first.
validate_args first_validation(const fs::path& dir, const std::string& toml) {
  std::ofstream(dir / "e.toml") << toml;
  validate_args a;
  a.experiment = dir / "e.toml";
  a.machine = RINGCHAIN_TESTDATA "/machine-with-node-costs.toml";
  a.out = dir / "first";
  return a;
}

TEST(validate, again_simulates_a_finished_validation_like_for_like) {
  const fs::path dir = scratch_dir("again");
  validate_args first = first_validation(
      dir,
      "name = \"validate-e2e\"\nnodes = 3\nwarmup_s = 0.5\nduration_s = 1.5\n"
      "rate_tps = 400\nclients = 2\nround_interval_ms = 50\nround_deadline_ms = 1000\n"
      "capacity_search = true\ncapacity_probe_s = 1\ncapacity_max_tps = 800\n"
      "[matrix]\npersistence = [\"per_block\"]\n");
  first.repeats = 2;
  first.duration_s = 1.25;  // the experiment's 1.5 s window shortened
  ASSERT_EQ(validate(first), 0);
  EXPECT_DOUBLE_EQ(read(first.out / "run-1" / "processes").duration_s, 1.25);
  // Two repeats at the offered load, the capacity search with its record,
  // the equal-load runs, and a profile for each cell's disk.
  for (const fs::path& run :
       {first.out / "run-1", first.out / "run-2", first.out / "equal-load" / "run-1",
        first.out / "equal-load" / "run-2"}) {
    EXPECT_TRUE(fs::exists(run / "processes" / "report.json")) << run;
    EXPECT_TRUE(fs::exists(run / "machines" / "cell-1.toml")) << run;
  }
  EXPECT_TRUE(fs::exists(first.out / "capacity" / "measured-capacity.tsv"));

  // The same profile again: the same simulations, seed for seed, and the
  // measured runs as recorded.
  validate_args again = first;
  again.again = first.out;
  again.out = dir / "again";
  again.repeats = 1;     // taken from the record, not from here
  again.duration_s = 0;  // and the window too
  ASSERT_EQ(validate(again), 0);
  EXPECT_DOUBLE_EQ(read(again.out / "run-1" / "sim").duration_s, 1.25);
  for (const fs::path& run : {fs::path("run-1"), fs::path("run-2"), fs::path("equal-load/run-1"),
                              fs::path("equal-load/run-2")}) {
    expect_same_cells(first.out / run / "processes", again.out / run / "processes");
    expect_same_cells(first.out / run / "sim", again.out / run / "sim");
  }
  const std::string md = text_of(again.out / "validation.md");
  EXPECT_NE(md.find("## Deadline capacity"), std::string::npos) << md;
  EXPECT_NE(md.find("## At equal load"), std::string::npos) << md;
  const auto capacity_section = [](const std::string& s) {
    const auto at = s.find("## Deadline capacity");
    return s.substr(at, s.find("## At equal load") - at);
  };
  EXPECT_EQ(capacity_section(md), capacity_section(text_of(first.out / "validation.md")));

  // A slower machine's profile: the measured runs stay the recorded ones,
  // and the simulated commits take longer.
  auto profile = dst::load_machine(first.machine);
  ASSERT_TRUE(profile.ok()) << profile.message();
  for (dst::node_costs& n : profile->node) {
    n.build_us += 20000;
    n.apply_us += 20000;
  }
  std::ofstream(dir / "slower.toml") << dst::to_toml(*profile);
  validate_args slower = again;
  slower.machine = dir / "slower.toml";
  slower.out = dir / "slower";
  slower.capacity = false;
  ASSERT_EQ(validate(slower), 0);
  for (const fs::path& run : {fs::path("run-1"), fs::path("run-2")}) {
    expect_same_cells(first.out / run / "processes", slower.out / run / "processes");
    EXPECT_GT(p50_sum(slower.out / run / "sim"), p50_sum(first.out / run / "sim") + 15)
        << run << ": 20 ms more in each build";
  }
  EXPECT_FALSE(fs::exists(slower.out / "equal-load")) << "--no-capacity skips the equal-load runs";
  fs::remove_all(dir);
}

// A validation at another rate than the experiment's (--rate) is
// simulated again at that rate, and says so.
TEST(validate, again_takes_the_rate_the_runs_were_measured_at) {
  const fs::path dir = scratch_dir("again-rate");
  validate_args first = first_validation(
      dir,
      "name = \"validate-rate\"\nnodes = 3\nwarmup_s = 0.5\nduration_s = 1\n"
      "rate_tps = 400\nclients = 2\nround_interval_ms = 50\nround_deadline_ms = 1000\n");
  first.repeats = 1;
  first.rate_tps = 250;
  ASSERT_EQ(validate(first), 0);
  validate_args again = first;
  again.rate_tps = 0;
  again.again = first.out;
  again.out = dir / "again";
  ASSERT_EQ(validate(again), 0);
  const report::run_report sim = read(again.out / "sim");
  ASSERT_EQ(sim.cells.size(), 1u);
  EXPECT_DOUBLE_EQ(sim.cells[0].offered_tps, 250);
  expect_same_cells(first.out / "sim", again.out / "sim");
  EXPECT_NE(text_of(again.out / "validation.md").find("## At 250 tx/s offered"), std::string::npos);
  fs::remove_all(dir);
}

TEST(validate, again_names_a_directory_without_a_validation) {
  const fs::path dir = scratch_dir("again-empty");
  std::ofstream(dir / "e.toml") << "name = \"e\"\nnodes = 3\n";
  validate_args a;
  a.experiment = dir / "e.toml";
  a.machine = RINGCHAIN_TESTDATA "/machine-with-node-costs.toml";
  a.again = dir;
  a.out = dir / "out";
  EXPECT_EQ(validate(a), 2);
  EXPECT_FALSE(fs::exists(a.out)) << "nothing is written for arguments refused";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ringchain::commands
