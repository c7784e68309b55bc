// End to end: ringchain-sim's harness runs a short experiment on real
// processes and writes reports that parse and hold plausible figures.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "sim/harness/experiment.h"

namespace ringchain::harness {
namespace {

namespace fs = std::filesystem;

// Node processes whose command line names `dir`.
int nodes_running_under(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::ifstream in(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), {});
    const auto first = cmd.substr(0, cmd.find('\0'));
    if (first.size() >= 14 && first.compare(first.size() - 14, 14, "ringchain-node") == 0 &&
        cmd.find(dir.string()) != std::string::npos) {
      ++n;
    }
  }
  return n;
}

// The last `bytes` of every node log of `cell`, printed when a test failed,
// so that a failure on a CI machine shows what the nodes saw.
void print_node_logs_if_failed(const fs::path& cell, std::size_t bytes = 3000) {
  if (!::testing::Test::HasFailure() || !fs::exists(cell)) return;
  for (const auto& e : fs::directory_iterator(cell)) {
    if (e.path().extension() != ".log") continue;
    std::ifstream in(e.path());
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    std::cerr << "--- " << e.path().filename().string() << " (last " << bytes << " bytes) ---\n"
              << text.substr(text.size() > bytes ? text.size() - bytes : 0) << "\n";
  }
}

TEST(harness, short_run_writes_plausible_reports_and_leaves_no_process) {
  const fs::path dir =
      fs::temp_directory_path() / ("ringchain-harness-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "e.toml")
      << "name = \"e2e\"\nnodes = 3\nwarmup_s = 0.5\nduration_s = 1.5\n"
         "rate_tps = 2000\nclients = 2\nround_interval_ms = 50\nsegment_mib = 16\n"
         "round_deadline_ms = 1000\n[matrix]\nio = [\"uring\", \"epoll\"]\n";
  const auto loaded = load_experiment(dir / "e.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  const experiment& e = *loaded;
  ASSERT_EQ(e.cells.size(), 2u);
  report::run_report r;
  r.experiment = e.name;
  for (std::size_t i = 0; i < e.cells.size(); ++i)
    r.cells.push_back(run_cell(e, e.cells[i], {dir, ""}, i));
  ASSERT_TRUE(report::write_reports(r, dir).ok());
  for (const char* f : {"report.json", "blocks.csv", "report.md", "report.html"}) {
    EXPECT_GT(fs::file_size(dir / f), 0u) << f;
  }
  const auto back = report::read_report(dir);
  ASSERT_TRUE(back.ok()) << back.message();
  ASSERT_EQ(back->cells.size(), 2u);
  for (const auto& c : back->cells) {
    EXPECT_EQ(c.error, "") << c.label;
    const auto& s = c.summary;
    EXPECT_GT(s.blocks, 0u) << c.label;
    EXPECT_GT(s.p50_ms, 0) << c.label;
    EXPECT_LE(s.p50_ms, s.p99_ms) << c.label;
    EXPECT_LE(s.p99_ms, s.max_ms) << c.label;
    EXPECT_DOUBLE_EQ(s.deadline_met_ratio, 1.0)
        << c.label << ": a healthy run meets a 1 s deadline";
    EXPECT_GT(c.accepted_tps, 0) << c.label;
    ASSERT_EQ(c.resources.size(), 3u);
    for (const auto& n : c.resources) EXPECT_GT(n.fdatasyncs, 0u) << c.label << " node " << n.id;
  }
  EXPECT_EQ(nodes_running_under(dir), 0) << "a node process outlived the run";
  fs::remove_all(dir);
}

TEST(harness, leader_kill_run_shows_a_leadership_change_and_a_shaded_window) {
  const fs::path dir =
      fs::temp_directory_path() / ("ringchain-harness-kill-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "e.toml")
      << "name = \"kill\"\nnodes = 3\nwarmup_s = 0.5\nduration_s = 3\n"
         "rate_tps = 1000\nclients = 2\nround_interval_ms = 50\nsegment_mib = 16\n"
         "[[faults]]\nat_s = 0.8\nkind = \"kill\"\nnode = \"leader\"\n"
         "duration_s = 1\n";
  const auto loaded = load_experiment(dir / "e.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  const experiment& e = *loaded;
  ASSERT_EQ(e.faults.size(), 1u);
  report::run_report r;
  r.experiment = e.name;
  r.cells.push_back(run_cell(e, e.cells[0], {dir, ""}, 0));
  ASSERT_TRUE(report::write_reports(r, dir).ok());
  const auto& c = r.cells[0];
  EXPECT_EQ(c.error, "");
  EXPECT_GE(c.leader_changes, 1u) << "a new leader took over after the kill";
  EXPECT_GT(c.rounds_without_block, 0u) << "rounds were lost to the election";
  EXPECT_LT(c.rounds_without_block, c.rounds);
  ASSERT_EQ(c.faults.size(), 1u);
  EXPECT_EQ(c.faults[0].kind, "kill");
  EXPECT_GT(c.faults[0].end_us, c.faults[0].start_us);
  EXPECT_GT(c.summary.blocks, 0u);
  if (fs::exists(dir / "plots" / "plots.gp")) {
    std::ifstream gp(dir / "plots" / "plots.gp");
    const std::string script((std::istreambuf_iterator<char>(gp)), {});
    EXPECT_NE(script.find("rect from"), std::string::npos) << "the fault window is shaded";
  }
  std::ifstream md(dir / "report.md");
  const std::string text((std::istreambuf_iterator<char>(md)), {});
  EXPECT_NE(text.find("| kill |"), std::string::npos) << "the fault is listed";
  EXPECT_NE(text.find("rounds produced no block): misses it."), std::string::npos)
      << "rounds lost to the election count against the verdict";
  EXPECT_EQ(nodes_running_under(dir), 0) << "a node process outlived the run";
  fs::remove_all(dir);
}

// A replace fault: a spare joins under load, is promoted, and the leader
// is removed and stopped; the cluster goes on committing under a new
// leader, and no process outlives the run. The window is long enough for
// the sanitizer build on a busy machine, where the spare's catch-up alone
// took up to 3.6 s (the new leader's term must fall inside it).
TEST(harness, replacing_the_leader_under_load_hands_over_to_the_spare) {
  const fs::path dir =
      fs::temp_directory_path() / ("ringchain-harness-replace-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "e.toml")
      << "name = \"replace\"\nnodes = 3\nwarmup_s = 0.5\nduration_s = 8\n"
         "rate_tps = 500\nclients = 2\nround_interval_ms = 50\nsegment_mib = 16\n"
         "round_deadline_ms = 1000\n"
         "[[faults]]\nat_s = 0.8\nkind = \"replace\"\nnode = \"leader\"\n";
  const auto loaded = load_experiment(dir / "e.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  const experiment& e = *loaded;
  report::run_report r;
  r.experiment = e.name;
  r.cells.push_back(run_cell(e, e.cells[0], {dir, ""}, 0));
  ASSERT_TRUE(report::write_reports(r, dir).ok());
  const auto& c = r.cells[0];
  EXPECT_EQ(c.error, "");
  EXPECT_GE(c.leader_changes, 1u) << "the removed leader stepped down";
  ASSERT_EQ(c.faults.size(), 1u);
  EXPECT_EQ(c.faults[0].kind, "replace");
  EXPECT_GT(c.summary.blocks, 0u);
  // The node replaced says so (the cluster's nodes log warnings only).
  std::ifstream log(dir / "cell-1" / ("node" + std::to_string(c.faults[0].node) + ".log"));
  const std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("this node was removed from the cluster"), std::string::npos);
  EXPECT_EQ(nodes_running_under(dir), 0) << "a node process outlived the run";
  print_node_logs_if_failed(dir / "cell-1");
  fs::remove_all(dir);
}

TEST(harness, bad_experiment_keys_are_named) {
  const fs::path file =
      fs::temp_directory_path() / ("ringchain-bad-" + std::to_string(::getpid()) + ".toml");
  auto error_of = [&](const std::string& toml) {
    std::ofstream(file) << toml;
    return load_experiment(file).message();
  };
  EXPECT_EQ(error_of("nodes = 3\n[matrix]\nio = [\"kqueue\"]\n"),
            "matrix.io: must be uring or epoll");
  EXPECT_EQ(error_of("rate = 5\n"), "rate: unknown key");
  EXPECT_EQ(error_of("[[faults]]\nkind = \"explode\"\n"),
            "faults.kind: must be kill, pause, slow_disk, partition, delay, loss, clock_skew or "
            "replace");
  EXPECT_EQ(error_of("engine = \"compose\"\n[[faults]]\nkind = \"replace\"\n"),
            "faults: kind = \"replace\" runs on engine = \"processes\" only (it starts spare "
            "nodes next to the cluster)");
  // Values a key cannot hold are refused, not cut down or replaced.
  EXPECT_EQ(error_of("rate_tps = 5000000000\n"), "rate_tps: 5000000000 is too large");
  EXPECT_EQ(error_of("nodes = true\n"), "nodes: expected a non-negative integer");
  EXPECT_EQ(error_of("[[faults]]\nkind = \"slow_disk\"\nbarrier_delay_us = \"slow\"\n"),
            "faults.barrier_delay_us: expected a non-negative integer");
  EXPECT_EQ(error_of("nodes = 3\n[[faults]]\nkind = \"kill\"\nnode = 4\n"),
            "faults.node: node 4 is not in a cell of 3 nodes");
  // Keys the engine would ignore are refused.
  EXPECT_EQ(error_of("engine = \"sim\"\n[matrix]\nsegment_mib = [16, 64]\n"),
            "segment_mib: applies to engine = \"processes\" only, not \"sim\"");
  EXPECT_EQ(error_of("machine = \"calibrated.toml\"\n"),
            "machine: applies to engine = \"sim\" only, not \"processes\"");
  EXPECT_EQ(error_of("disk = \"spinning\"\n"),
            "disk: applies to engine = \"sim\" only, not \"processes\"");
  fs::remove(file);
}

}  // namespace
}  // namespace ringchain::harness
