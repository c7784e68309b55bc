// The Markdown report's resource table: a row per node in small cells; the
// leader and the others' mean in large ones; no process figures for
// simulated cells.
#include "sim/report/writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace ringchain::report {
namespace {

cell_report cell(std::size_t nodes, const std::string& engine, const std::string& io = "uring") {
  cell_report c;
  c.label = "c";
  c.nodes = nodes;
  c.engine = engine;
  c.io = io;
  c.leader = 2;
  c.summary.blocks = 10;
  for (std::size_t i = 1; i <= nodes; ++i) {
    node_resources n;
    n.id = i;
    n.fdatasyncs = 10 * i;  // 1 per block on node 1, 2 on node 2, ...
    n.syscalls = 30 * i;    // 3 per block on node 1, 6 on node 2, ...
    n.syscalls_counted = true;
    n.io_worker_cpu_s = 0.002;
    n.bytes_written = 10 * 1024;
    n.cpu_user_s = 0.05;
    c.resources.push_back(n);
  }
  return c;
}

std::string resources_section(const run_report& r) {
  const std::string md = markdown(r);
  const auto at = md.find("## Resources");
  EXPECT_NE(at, std::string::npos);
  return md.substr(at, md.find("\n## ", at + 1) - at);
}

TEST(markdown, small_cells_list_every_node) {
  run_report r;
  r.cells.push_back(cell(3, "processes"));
  const std::string t = resources_section(r);
  // user, system, io-wq CPU ms, syscalls, switches, fdatasyncs, KiB.
  EXPECT_NE(t.find("| c | 1 | 5.00 | 0.00 | 0.20 | 3.0 | 0.0 / 0.0 | 1.00 | 1.0 |"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("| c | 2 (leader) |"), std::string::npos) << t;
  EXPECT_NE(t.find("| c | 3 |"), std::string::npos) << t;
}

TEST(markdown, large_cells_show_the_leader_and_the_others_mean) {
  run_report r;
  r.cells.push_back(cell(11, "sim"));
  const std::string t = resources_section(r);
  EXPECT_NE(t.find("| c | 2 (leader) | - | - | - | - | - | 2.00 | 1.0 |"), std::string::npos) << t;
  // Nodes 1 and 3..11: (66 - 2) / 10 = 6.4 fdatasyncs a block.
  EXPECT_NE(t.find("| c | the other 10, mean | - | - | - | - | - | 6.40 | 1.0 |"),
            std::string::npos)
      << t;
  EXPECT_EQ(t.find("| c | 3 |"), std::string::npos) << t;
}

// A simulated cell with a machine profile has simulated CPU and wake-ups,
// never syscalls or io_uring workers' CPU.
TEST(markdown, simulated_cells_with_a_machine_profile_show_cpu_only) {
  run_report r;
  r.cells.push_back(cell(3, "sim"));
  r.cells[0].machine = "calibrated.toml";
  const std::string t = resources_section(r);
  EXPECT_NE(t.find("| c | 1 | 5.00 | 0.00 | - | - | 0.0 / 0.0 | 1.00 | 1.0 |"), std::string::npos)
      << t;
}

TEST(markdown, syscalls_not_counted_read_n_a_with_the_reason) {
  run_report r;
  r.cells.push_back(cell(3, "processes", "epoll"));
  r.cells[0].resources[1].syscalls_counted = false;
  r.cells[0].syscalls_unavailable = "perf_event_open refused: EACCES";
  const std::string t = resources_section(r);
  // Under epoll there are no io_uring workers: 0, whatever was sampled.
  EXPECT_NE(t.find("| c | 1 | 5.00 | 0.00 | 0 | 3.0 |"), std::string::npos) << t;
  EXPECT_NE(t.find("| c | 2 (leader) | 5.00 | 0.00 | 0 | n/a |"), std::string::npos) << t;
  EXPECT_NE(t.find("c: syscalls n/a: perf_event_open refused: EACCES"), std::string::npos) << t;
}

// `r` written to a scratch directory and read back.
base::result<run_report> round_trip(const run_report& r) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("writer-test-" + std::to_string(::getpid()));
  if (base::status s = write_reports(r, dir); !s.ok()) return base::fail(s.message());
  base::result<run_report> back = read_report(dir);
  std::filesystem::remove_all(dir);
  return back;
}

TEST(report_json, resources_round_trip_with_syscalls_counted_or_not) {
  run_report r;
  r.experiment = "e";
  r.cells.push_back(cell(3, "processes"));
  r.cells[0].resources[2].syscalls_counted = false;
  r.cells[0].syscalls_unavailable = "why";
  base::result<run_report> back = round_trip(r);
  ASSERT_TRUE(back.ok()) << back.message();
  const auto& n = back->cells[0].resources;
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n[1].syscalls, 60u);
  EXPECT_TRUE(n[1].syscalls_counted);
  EXPECT_FALSE(n[2].syscalls_counted);
  EXPECT_DOUBLE_EQ(n[0].io_worker_cpu_s, 0.002);
  EXPECT_EQ(back->cells[0].syscalls_unavailable, "why");
}

// A simulated cell states the simulator's memory per simulated node; the
// figure survives report.json.
TEST(markdown, simulated_cells_state_their_memory_per_node) {
  run_report r;
  r.experiment = "e";
  r.cells.push_back(cell(1001, "sim"));
  r.cells[0].sim_peak_mib = 1375;
  EXPECT_NE(
      resources_section(r).find(
          "c: the simulator's memory: peak 1375 MiB for 1001 simulated nodes, 1407 KiB a node"),
      std::string::npos)
      << resources_section(r);
  base::result<run_report> back = round_trip(r);
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_DOUBLE_EQ(back->cells[0].sim_peak_mib, 1375);
  r.cells[0].sim_peak_mib = 0;
  EXPECT_EQ(resources_section(r).find("simulator's memory"), std::string::npos)
      << "processes, or no figure: nothing said";
}

}  // namespace
}  // namespace ringchain::report
