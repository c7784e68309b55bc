#include "sim/report/plots.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ringchain::report {

namespace fs = std::filesystem;

namespace {

// What the data files hold: one block of each per cell shown.
struct plot_data {
  std::vector<std::string> labels;  // the cells shown, in order
  double deadline_ms = 0;           // the largest round deadline
};

// Seconds with three decimals.
std::string seconds(double s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

// Writes cdf.dat, phases.dat, time.dat and throughput.dat into `pd`.
plot_data write_data(const run_report& r, const fs::path& pd) {
  std::ofstream cdf(pd / "cdf.dat"), phases_dat(pd / "phases.dat"), time_dat(pd / "time.dat"),
      tput(pd / "throughput.dat");
  plot_data d;
  for (const cell_report& c : r.cells) {
    if (!c.error.empty() || c.blocks.empty()) continue;
    d.deadline_ms = std::max(d.deadline_ms, static_cast<double>(c.round_deadline_ms));
    std::vector<double> ms;
    for (const auto& b : c.blocks) ms.push_back(split(b, c.nodes / 2 + 1).commit_us / 1000);
    std::sort(ms.begin(), ms.end());
    d.labels.push_back(c.label);
    for (std::size_t i = 0; i < ms.size(); ++i)
      cdf << ms[i] << ' ' << static_cast<double>(i + 1) / static_cast<double>(ms.size()) << '\n';
    cdf << "\n\n";
    const phases& m = c.summary.mean;
    phases_dat << '"' << c.label << "\" " << m.build_us / 1000 << ' ' << m.leader_persist_us / 1000
               << ' ' << m.network_us / 1000 << ' ' << m.follower_persist_us / 1000 << ' '
               << m.quorum_wait_us / 1000 << '\n';
    const double t0 = static_cast<double>(c.blocks.front().round_start_us);
    for (const auto& b : c.blocks) {
      time_dat << (static_cast<double>(b.round_start_us) - t0) / 1e6 << ' '
               << split(b, c.nodes / 2 + 1).commit_us / 1000 << '\n';
    }
    time_dat << "\n\n";
    tput << c.summary.txs_per_s << ' ' << c.summary.p99_ms << "\n\n\n";
  }
  return d;
}

// One plot clause per cell: `index i` picks its block of the data file.
std::string per_cell(const std::vector<std::string>& labels, const fs::path& data,
                     const std::string& style) {
  std::string clauses;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    std::string title = labels[i];
    std::replace(title.begin(), title.end(), '\'', ' ');
    clauses += (i ? ", " : "") + std::string("'") + data.string() + "' index " + std::to_string(i) +
               " using 1:2 " + style + " title '" + title + "'";
  }
  return clauses;
}

// Fault windows, shaded on the latency-over-time plot.
std::string fault_shading(const run_report& r) {
  std::string shading;
  int object = 10;
  for (const cell_report& c : r.cells) {
    if (!c.error.empty() || c.blocks.empty()) continue;
    const double t0 = static_cast<double>(c.blocks.front().round_start_us);
    for (const fault_window& f : c.faults) {
      shading += "set object " + std::to_string(object++) + " rect from " +
                 seconds((static_cast<double>(f.start_us) - t0) / 1e6) + ", graph 0 to " +
                 seconds((static_cast<double>(f.end_us) - t0) / 1e6) +
                 ", graph 1 fc rgb '#ffbbbb' fillstyle solid 0.35 noborder behind\n";
    }
  }
  return shading;
}

// Writes plots.gp, the script that draws the four SVG files.
void write_script(const run_report& r, const plot_data& d, const fs::path& pd) {
  std::ofstream gp(pd / "plots.gp");
  gp << "set terminal svg size 900,420 dynamic noenhanced font 'sans,11' background '#ffffff'\n"
        "set key outside right top\nset grid\n"
        "set output '"
     << (pd / "cdf.svg").string()
     << "'\nset title 'Commit latency CDF (dashed: round deadline)'\nset xlabel 'ms from round "
        "start'\n"
        "set ylabel 'fraction of blocks'\nset logscale x\n"
        "set arrow 1 from "
     << d.deadline_ms << ", graph 0 to " << d.deadline_ms
     << ", graph 1 nohead dt 2 lw 2 lc rgb 'red'\n"
        "plot "
     << per_cell(d.labels, pd / "cdf.dat", "with steps lw 2")
     << "\n"
        "unset arrow 1\nunset logscale x\n"
        "set output '"
     << (pd / "phases.svg").string()
     << "'\nset title 'Where the time went: mean per block (log scale)'\nset ylabel 'ms'\n"
        "set xlabel ''\nset logscale y\nset yrange [0.001:*]\n"
        // Side by side on a log scale, not stacked: one mode's phases can be
        // a thousand times another's, and stacked linear bars hid them.
        "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 "
        "border -1\n"
        "set boxwidth 0.9\nset xtics rotate by -20\n"
        "plot '"
     << (pd / "phases.dat").string()
     << "' using 2:xticlabels(1) title 'build', '' using 3 title 'leader persist', '' using 4 "
        "title 'network', "
        "'' using 5 title 'follower persist', '' using 6 title 'quorum wait'\n"
        "set xtics norotate\nset style data points\nunset yrange\n"
     << fault_shading(r)
     << "\n"
        "set output '"
     << (pd / "time.svg").string()
     << "'\nset title 'Commit latency over the measured window (shaded: faults; log scale)'\n"
        "set xlabel 's'\nset ylabel 'ms'\n"
        "plot "
     << per_cell(d.labels, pd / "time.dat", "with linespoints pt 7 ps 0.4")
     << "\n"
        "set output '"
     << (pd / "throughput.svg").string()
     << "'\nunset object\nset title 'Throughput against p99 commit latency, one point per cell "
        "(log scale)'\n"
        "set xlabel 'committed tx/s'\nset ylabel 'p99 ms'\n"
        // One series per cell, named in the key: labels beside the points
        // overlapped where cells were close.
        "plot "
     << per_cell(d.labels, pd / "throughput.dat", "with points pt 7 ps 1.8") << "\n";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> render_plots(const run_report& r,
                                                              const fs::path& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) return out;
  const fs::path pd = dir / "plots";
  fs::create_directories(pd);
  const plot_data d = write_data(r, pd);
  if (d.labels.empty()) return out;
  write_script(r, d, pd);
  const std::string cmd =
      "gnuplot '" + (pd / "plots.gp").string() + "' > '" + (pd / "gnuplot.log").string() + "' 2>&1";
  if (std::system(cmd.c_str()) != 0) return out;
  for (const char* name : {"cdf", "phases", "time", "throughput"}) {
    std::ifstream in(pd / (std::string(name) + ".svg"));
    std::stringstream s;
    s << in.rdbuf();
    std::string svg = s.str();
    const auto at = svg.find("<svg");
    if (at != std::string::npos) out.push_back({name, svg.substr(at)});
  }
  return out;
}

}  // namespace ringchain::report
