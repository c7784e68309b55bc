// End to end: ringchain-sim's harness runs a short experiment on real
// processes and writes reports that parse and hold plausible figures.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

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

TEST(harness, short_run_writes_plausible_reports_and_leaves_no_process) {
  const fs::path dir =
      fs::temp_directory_path() / ("ringchain-harness-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "e.toml")
      << "name = \"e2e\"\nnodes = 3\nwarmup_s = 0.5\nduration_s = 1.5\n"
         "rate_tps = 2000\nclients = 2\nround_interval_ms = 50\n"
         "round_deadline_ms = 1000\n[matrix]\nio = [\"uring\", \"epoll\"]\n";
  experiment e;
  ASSERT_EQ(load_experiment(dir / "e.toml", &e), "");
  ASSERT_EQ(e.cells.size(), 2u);
  report::run_report r;
  r.experiment = e.name;
  for (std::size_t i = 0; i < e.cells.size(); ++i)
    r.cells.push_back(run_cell(e, e.cells[i], {dir, ""}, i));
  ASSERT_EQ(report::write_reports(r, dir), "");
  for (const char* f : {"report.json", "blocks.csv", "report.md", "report.html"}) {
    EXPECT_GT(fs::file_size(dir / f), 0u) << f;
  }
  report::run_report back;
  ASSERT_EQ(report::read_report(dir, &back), "");
  ASSERT_EQ(back.cells.size(), 2u);
  for (const auto& c : back.cells) {
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

}  // namespace
}  // namespace ringchain::harness
