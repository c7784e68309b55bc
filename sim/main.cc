// ringchain-sim: run experiments on local clusters and write latency-budget
// reports.
//
//   ringchain-sim run configs/experiments/quickstart.toml [--out DIR]
//   ringchain-sim report runs/<timestamp>
//   ringchain-sim compare runs/<a> runs/<b>
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

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
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < e.cells.size(); ++i) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double per = i == 0 ? per_cell_s : elapsed / static_cast<double>(i);
    std::fprintf(stderr, "[%zu/%zu] %s  (about %.0f s left)\n", i + 1, e.cells.size(),
                 e.cells[i].label.c_str(), per * static_cast<double>(e.cells.size() - i));
    r.cells.push_back(harness::run_cell(e, e.cells[i], {out, node_binary}, i));
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
  CLI11_PARSE(app, argc, argv);
  if (r->parsed()) return run(file, out, node_binary);
  if (rep->parsed()) return rerender(dir);
  return compare(a, b);
}
