#include "sim/report/writer.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "sim/report/plots.h"

namespace ringchain::report {

std::vector<block_record> read_traces(const std::vector<std::filesystem::path>& files,
                                      std::uint64_t from_us, std::uint64_t to_us) {
  std::vector<block_record> all;
  for (const auto& file : files) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      base::result<block_record> parsed = runtime::parse_block_record(line);
      if (!parsed.ok()) continue;
      block_record& b = *parsed;
      if (b.txs > 0 && b.round_start_us >= from_us && b.round_start_us <= to_us &&
          b.committed_us != 0) {
        all.push_back(std::move(b));
      }
    }
  }
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.height < b.height; });
  all.erase(std::unique(all.begin(), all.end(),
                        [](const auto& a, const auto& b) { return a.height == b.height; }),
            all.end());
  return all;
}

bool cpu_figures(const cell_report& c) {
  return c.engine != "sim" || !c.machine.empty();
}

void measure_window(cell_report* r, std::uint64_t from_us, std::uint64_t to_us,
                    std::uint64_t round_us) {
  r->summary = summarize(r->blocks, r->nodes / 2 + 1);
  // Rounds of the window in which no block started: under steady load
  // every round cuts at least one, so these are rounds lost to a fault.
  r->rounds = static_cast<std::size_t>((to_us - from_us) / round_us);
  std::vector<bool> seen(r->rounds, false);
  for (const auto& b : r->blocks) {
    const std::uint64_t slot = (b.round_start_us - from_us) / round_us;
    if (slot < seen.size()) seen[slot] = true;
  }
  r->rounds_without_block = static_cast<std::size_t>(std::count(seen.begin(), seen.end(), false));
  std::set<std::uint64_t> terms;
  for (const auto& b : r->blocks) terms.insert(b.term);
  r->leader_changes = terms.empty() ? 0 : terms.size() - 1;
  if (r->blocks.empty()) r->error = "no block committed in the measured window";
}

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string fmt(double v, int decimals = 2) {
  return fixed(v, decimals);
}

// One table of the report, rendered as Markdown and as HTML.
struct table {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // Lines printed under the table: definitions, and why a figure is n/a.
  std::vector<std::string> notes = {};
};

// Per committed block: a node's resource row, with the same definitions
// for both backends (kernel-counted system calls, CPU from /proc). A
// simulated cell has CPU and wake-up figures only with a machine profile,
// and never syscalls or io_uring workers' CPU: those read "-".
std::vector<std::string> resource_row(const cell_report& c, const std::string& who,
                                      const node_resources& n, double per) {
  const bool figures = cpu_figures(c);
  const bool process = c.engine != "sim";
  auto measured = [&](std::string v) { return figures ? v : std::string("-"); };
  auto counted = [&](std::string v) { return process ? v : std::string("-"); };
  return {c.label,
          who,
          measured(fmt(1000 * n.cpu_user_s / per)),
          measured(fmt(1000 * n.cpu_system_s / per)),
          counted(c.io == "uring" ? fmt(1000 * n.io_worker_cpu_s / per) : "0"),
          counted(n.syscalls_counted ? fmt(static_cast<double>(n.syscalls) / per, 1) : "n/a"),
          measured(fmt(static_cast<double>(n.voluntary_switches) / per, 1) + " / " +
                   fmt(static_cast<double>(n.involuntary_switches) / per, 1)),
          fmt(static_cast<double>(n.fdatasyncs) / per, 2),
          fmt(static_cast<double>(n.bytes_written) / 1024 / per, 1)};
}

// A row per node; past resource_rows_max nodes, the leader's row and one
// row of the others' mean, so that a 101-node cell stays readable.
void add_resource_rows(const cell_report& c, table* t) {
  constexpr std::size_t resource_rows_max = 9;
  const double blocks = std::max<double>(1, static_cast<double>(c.summary.blocks));
  if (c.resources.size() <= resource_rows_max) {
    for (const node_resources& n : c.resources) {
      const std::string who = std::to_string(n.id) + (n.id == c.leader ? " (leader)" : "");
      t->rows.push_back(resource_row(c, who, n, blocks));
    }
    return;
  }
  node_resources sum;
  sum.syscalls_counted = true;
  std::size_t others = 0;
  for (const node_resources& n : c.resources) {
    if (n.id == c.leader) {
      t->rows.push_back(resource_row(c, std::to_string(n.id) + " (leader)", n, blocks));
      continue;
    }
    ++others;
    sum.cpu_user_s += n.cpu_user_s;
    sum.cpu_system_s += n.cpu_system_s;
    sum.voluntary_switches += n.voluntary_switches;
    sum.involuntary_switches += n.involuntary_switches;
    sum.fdatasyncs += n.fdatasyncs;
    sum.syscalls += n.syscalls;
    sum.syscalls_counted = sum.syscalls_counted && n.syscalls_counted;
    sum.io_worker_cpu_s += n.io_worker_cpu_s;
    sum.bytes_written += n.bytes_written;
  }
  const std::string who = "the other " + std::to_string(others) + ", mean";
  t->rows.push_back(resource_row(c, who, sum, blocks * static_cast<double>(others)));
}

std::vector<table> tables(const run_report& r) {
  table t1{"Commit latency (round start to durable on a quorum)",
           {"cell", "blocks", "tx/s", "offered tx/s", "refused", "deadline met", "p50 ms", "p90 ms",
            "p99 ms", "p99.9 ms", "max ms", "slack p50 ms", "slack worst 1% ms", "leader changes",
            "rounds without a block"},
           {}};
  table t2{"Where the time went (mean per block, ms)",
           {"cell", "build", "leader persist", "network", "follower persist", "quorum wait",
            "commit", "then apply"},
           {}};
  table t3{"Resources per committed block, per node",
           {"cell", "node", "user CPU ms", "system CPU ms", "io-wq CPU ms", "syscalls",
            "ctx switches vol/invol", "fdatasyncs", "KiB written"},
           {}};
  for (const cell_report& c : r.cells) {
    if (!c.error.empty()) {
      t1.rows.push_back(
          {c.label, "failed: " + c.error, "", "", "", "", "", "", "", "", "", "", "", "", ""});
      continue;
    }
    const summary& s = c.summary;
    t1.rows.push_back({c.label, std::to_string(s.blocks), fmt(s.txs_per_s, 0),
                       fmt(c.offered_tps, 0), std::to_string(c.refused),
                       fmt(100 * s.deadline_met_ratio, 1) + "%", fmt(s.p50_ms), fmt(s.p90_ms),
                       fmt(s.p99_ms), fmt(s.p999_ms), fmt(s.max_ms), fmt(s.slack_p50_ms),
                       fmt(s.slack_p1_ms), std::to_string(c.leader_changes),
                       std::to_string(c.rounds_without_block) + " of " + std::to_string(c.rounds)});
    const phases& m = s.mean;
    t2.rows.push_back({c.label, fmt(m.build_us / 1000, 3), fmt(m.leader_persist_us / 1000, 3),
                       fmt(m.network_us / 1000, 3), fmt(m.follower_persist_us / 1000, 3),
                       fmt(m.quorum_wait_us / 1000, 3), fmt(m.commit_us / 1000, 3),
                       fmt(m.apply_us / 1000, 3)});
    add_resource_rows(c, &t3);
    if (!c.syscalls_unavailable.empty()) {
      t3.notes.push_back(c.label + ": syscalls n/a: " + c.syscalls_unavailable);
    }
    if (c.sim_peak_mib > 0 && c.nodes > 0) {
      t3.notes.push_back(c.label + ": the simulator's memory: peak " + fmt(c.sim_peak_mib, 0) +
                         " MiB for " + std::to_string(c.nodes) + " simulated nodes, " +
                         fmt(c.sim_peak_mib * 1024 / static_cast<double>(c.nodes), 0) +
                         " KiB a node (the process's peak resident memory when the cell ended).");
    }
  }
  t3.notes.push_back(
      "syscalls: system calls entered by every thread of the node's process, counted by the "
      "kernel (raw_syscalls:sys_enter through perf_event_open), for both backends. CPU: "
      "/proc/<pid>/stat, every thread; io-wq CPU is the part spent in io_uring's worker "
      "threads alive at the window's end (a lower bound; 0 under epoll).");
  std::vector<table> out{t1, t2, t3};
  table tc{"Deadline capacity, and latency at equal load",
           {"cell", "capacity tx/s", "probes (offered tx/s: met?)", "equal load tx/s", "p50 ms",
            "p99 ms", "leader write + barriers ms", "deadline met"},
           {}};
  for (const cell_report& c : r.cells) {
    if (c.capacity_tps <= 0 && c.capacity_probes.empty()) continue;
    std::string probes;
    for (const auto& p : c.capacity_probes) {
      probes += (probes.empty() ? "" : ", ") + fmt(p.offered_tps, 0) + (p.met ? " yes" : " no");
    }
    const summary& q = c.equal_load;
    tc.rows.push_back({c.label, fmt(c.capacity_tps, 0), probes, fmt(c.equal_load_tps, 0),
                       fmt(q.p50_ms), fmt(q.p99_ms), fmt(q.leader_write_us / 1000, 3),
                       fmt(100 * q.deadline_met_ratio, 1) + "%"});
  }
  if (!tc.rows.empty()) out.push_back(tc);
  table t4{"Faults (seconds from the cell's first measured round)",
           {"cell", "fault", "node", "from s", "to s"},
           {}};
  for (const cell_report& c : r.cells) {
    if (c.blocks.empty()) continue;
    const double t0 = static_cast<double>(c.blocks.front().round_start_us);
    for (const fault_window& f : c.faults) {
      t4.rows.push_back({c.label, f.kind, std::to_string(f.node),
                         fmt((static_cast<double>(f.start_us) - t0) / 1e6),
                         fmt((static_cast<double>(f.end_us) - t0) / 1e6)});
    }
  }
  if (!t4.rows.empty()) out.push_back(t4);
  return out;
}

// A label without its persistence setting: what a per_block / per_tx pair
// shares.
std::string pair_name(const std::string& label) {
  std::istringstream words(label);
  std::string name;
  for (std::string w; words >> w;) {
    if (w.rfind("persistence=", 0) != 0) name += (name.empty() ? "" : " ") + w;
  }
  return name.empty() ? "all cells" : name;
}

}  // namespace

bool meets_deadline(const cell_report& c) {
  const bool rounds_ok =
      static_cast<double>(c.rounds_without_block) <= 0.01 * static_cast<double>(c.rounds);
  const bool no_backlog = c.offered_tps <= 0 || c.accepted_tps >= 0.95 * c.offered_tps;
  return c.error.empty() && !c.blocks.empty() && c.summary.deadline_met_ratio >= 0.99 &&
         rounds_ok && no_backlog;
}

namespace {

// The per_tx cell of a per_block cell's pair (same other settings).
const cell_report* per_tx_twin(const run_report& r, const cell_report& batched) {
  std::string twin = batched.label;
  const auto at = twin.find("persistence=per_block");
  if (at == std::string::npos) return nullptr;
  twin.replace(at, 21, "persistence=per_tx");
  for (const cell_report& c : r.cells) {
    if (c.label == twin && c.error.empty()) return &c;
  }
  return nullptr;
}

// The verdict on a per_block / per_tx pair: from deadline capacities and
// latency at equal load when the run searched for them, else at the load
// offered, saying when per_tx was past its capacity (a backlog then
// dominates the ratio, which is not the cost of a block).
std::string pair_verdict(const cell_report& b, const cell_report& t) {
  const std::string name = pair_name(b.label);
  if (b.capacity_tps > 0 && t.capacity_tps > 0 && b.equal_load.blocks > 0 &&
      t.equal_load.blocks > 0) {
    return name + ": deadline capacity " + fmt(b.capacity_tps, 0) +
           " tx/s with one barrier per block against " + fmt(t.capacity_tps, 0) +
           " tx/s with one per transaction; at an equal load of " + fmt(b.equal_load_tps, 0) +
           " tx/s a block's own write + barriers take " +
           fmt(b.equal_load.leader_write_us / 1000, 2) + " ms against " +
           fmt(t.equal_load.leader_write_us / 1000, 2) + " ms on the leader, and commit at p50 " +
           fmt(b.equal_load.p50_ms) + " ms against " + fmt(t.equal_load.p50_ms) + " ms (p99 " +
           fmt(b.equal_load.p99_ms) + " against " + fmt(t.equal_load.p99_ms) + ")";
  }
  const bool backlog = t.offered_tps > 0 && t.accepted_tps < 0.95 * t.offered_tps;
  return name + ": at " + fmt(b.offered_tps, 0) +
         " tx/s offered, one barrier per block commits at p50 " + fmt(b.summary.p50_ms) +
         " ms against " + fmt(t.summary.p50_ms) + " ms with one per transaction (p99 " +
         fmt(b.summary.p99_ms) + " against " + fmt(t.summary.p99_ms) + ")" +
         (backlog ? "; per_tx committed only " + fmt(t.accepted_tps, 0) +
                        " tx/s: it is past its capacity, and the gap is a growing backlog, not "
                        "the cost of a block (capacity_search = true measures that)"
                  : "");
}

// Plain sentences: whether each cell meets its deadline, its deadline
// capacity, and what one barrier per block buys over one per transaction.
std::vector<std::string> verdicts(const run_report& r) {
  std::vector<std::string> out;
  for (const cell_report& c : r.cells) {
    if (!c.error.empty() || c.blocks.empty()) continue;
    const summary& s = c.summary;
    const std::string lost = c.rounds_without_block == 0
                                 ? ""
                                 : "; " + std::to_string(c.rounds_without_block) + " of " +
                                       std::to_string(c.rounds) + " rounds produced no block";
    out.push_back(
        c.label + ": " + fmt(100 * s.deadline_met_ratio, 1) + "% of blocks committed within the " +
        std::to_string(c.round_deadline_ms) + " ms deadline (p99 " + fmt(s.p99_ms) +
        " ms, worst-1% slack " + fmt(s.slack_p1_ms) + " ms" + lost + ")" +
        (meets_deadline(c) ? ": meets it" : ": misses it") +
        (c.capacity_tps > 0 ? "; its deadline capacity is " + fmt(c.capacity_tps, 0) + " tx/s."
                            : "."));
  }
  for (const cell_report& batched : r.cells) {
    if (batched.persistence != "per_block" || batched.blocks.empty()) continue;
    const cell_report* naive = per_tx_twin(r, batched);
    if (naive != nullptr && !naive->blocks.empty()) out.push_back(pair_verdict(batched, *naive));
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

json summary_json(const summary& s) {
  return {{"blocks", s.blocks},
          {"txs", s.txs},
          {"seconds", s.seconds},
          {"txs_per_s", s.txs_per_s},
          {"deadline_met_ratio", s.deadline_met_ratio},
          {"p50_ms", s.p50_ms},
          {"p90_ms", s.p90_ms},
          {"p99_ms", s.p99_ms},
          {"p999_ms", s.p999_ms},
          {"max_ms", s.max_ms},
          {"slack_p50_ms", s.slack_p50_ms},
          {"slack_p1_ms", s.slack_p1_ms},
          {"leader_write_us", s.leader_write_us},
          {"mean_phases_us",
           {{"build", s.mean.build_us},
            {"leader_persist", s.mean.leader_persist_us},
            {"network", s.mean.network_us},
            {"follower_persist", s.mean.follower_persist_us},
            {"quorum_wait", s.mean.quorum_wait_us},
            {"apply", s.mean.apply_us},
            {"commit", s.mean.commit_us}}}};
}

summary summary_from_json(const json& j) {
  summary s;
  s.blocks = j.at("blocks");
  s.txs = j.at("txs");
  s.seconds = j.at("seconds");
  s.txs_per_s = j.at("txs_per_s");
  s.deadline_met_ratio = j.at("deadline_met_ratio");
  s.p50_ms = j.at("p50_ms");
  s.p90_ms = j.at("p90_ms");
  s.p99_ms = j.at("p99_ms");
  s.p999_ms = j.at("p999_ms");
  s.leader_write_us = j.value("leader_write_us", 0.0);
  s.max_ms = j.at("max_ms");
  s.slack_p50_ms = j.at("slack_p50_ms");
  s.slack_p1_ms = j.at("slack_p1_ms");
  const json& m = j.at("mean_phases_us");
  s.mean.build_us = m.at("build");
  s.mean.leader_persist_us = m.at("leader_persist");
  s.mean.network_us = m.at("network");
  s.mean.follower_persist_us = m.at("follower_persist");
  s.mean.quorum_wait_us = m.at("quorum_wait");
  s.mean.apply_us = m.at("apply");
  s.mean.commit_us = m.at("commit");
  return s;
}

json resources_json(const std::vector<node_resources>& nodes) {
  json out = json::array();
  for (const auto& n : nodes) {
    out.push_back({{"node", n.id},
                   {"cpu_user_s", n.cpu_user_s},
                   {"cpu_system_s", n.cpu_system_s},
                   {"voluntary_switches", n.voluntary_switches},
                   {"involuntary_switches", n.involuntary_switches},
                   {"fdatasyncs", n.fdatasyncs},
                   {"bytes_written", n.bytes_written},
                   {"syscalls", n.syscalls_counted ? json(n.syscalls) : json(nullptr)},
                   {"io_worker_cpu_s", n.io_worker_cpu_s}});
  }
  return out;
}

json blocks_json(const std::vector<block_record>& blocks) {
  json out = json::array();
  for (const auto& b : blocks) out.push_back(b);
  return out;
}

json cell_json(const cell_report& c) {
  json jc;
  jc["label"] = c.label;
  jc["nodes"] = c.nodes;
  jc["engine"] = c.engine;
  jc["machine"] = c.machine;
  jc["io"] = c.io;
  jc["persistence"] = c.persistence;
  jc["round_deadline_ms"] = c.round_deadline_ms;
  jc["txs_per_block"] = c.txs_per_block;
  jc["barrier_delay_us"] = c.barrier_delay_us;
  jc["error"] = c.error;
  jc["sim_peak_mib"] = c.sim_peak_mib;
  jc["leader"] = c.leader;
  jc["offered_tps"] = c.offered_tps;
  jc["accepted_tps"] = c.accepted_tps;
  jc["refused"] = c.refused;
  jc["leader_changes"] = c.leader_changes;
  jc["rounds"] = c.rounds;
  jc["rounds_without_block"] = c.rounds_without_block;
  jc["faults"] = json::array();
  for (const auto& f : c.faults) {
    jc["faults"].push_back(
        {{"kind", f.kind}, {"node", f.node}, {"start_us", f.start_us}, {"end_us", f.end_us}});
  }
  jc["summary"] = summary_json(c.summary);
  jc["capacity_tps"] = c.capacity_tps;
  jc["capacity_probes"] = json::array();
  for (const auto& p : c.capacity_probes) {
    jc["capacity_probes"].push_back({{"offered_tps", p.offered_tps},
                                     {"committed_tps", p.committed_tps},
                                     {"deadline_met_ratio", p.deadline_met_ratio},
                                     {"met", p.met}});
  }
  jc["equal_load_tps"] = c.equal_load_tps;
  jc["equal_load"] = summary_json(c.equal_load);
  jc["resources"] = resources_json(c.resources);
  jc["syscalls_unavailable"] = c.syscalls_unavailable;
  jc["blocks"] = blocks_json(c.blocks);
  return jc;
}

json to_json(const run_report& r) {
  json j;
  j["experiment"] = r.experiment;
  j["description"] = r.description;
  j["duration_s"] = r.duration_s;
  j["cells"] = json::array();
  for (const cell_report& c : r.cells) j["cells"].push_back(cell_json(c));
  return j;
}

void write_csv(const run_report& r, const fs::path& file) {
  std::ofstream out(file);
  out << "cell,label,height,txs,round_start_us,commit_ms,build_ms,leader_persist_ms,network_ms,"
         "follower_persist_ms,quorum_wait_ms,apply_ms,slack_ms,deadline_met\n";
  for (std::size_t i = 0; i < r.cells.size(); ++i) {
    const cell_report& c = r.cells[i];
    for (const block_record& b : c.blocks) {
      const phases p = split(b, c.nodes / 2 + 1);
      out << i + 1 << ",\"" << c.label << "\"," << b.height << ',' << b.txs << ','
          << b.round_start_us << ',' << p.commit_us / 1000 << ',' << p.build_us / 1000 << ','
          << p.leader_persist_us / 1000 << ',' << p.network_us / 1000 << ','
          << p.follower_persist_us / 1000 << ',' << p.quorum_wait_us / 1000 << ','
          << p.apply_us / 1000 << ',' << p.slack_us / 1000 << ',' << (p.deadline_met ? 1 : 0)
          << '\n';
    }
  }
}

void write_html(const run_report& r, const fs::path& dir) {
  std::ofstream out(dir / "report.html");
  out << "<!doctype html><html><head><meta charset='utf-8'><title>" << html_escape(r.experiment)
      << ": ringchain latency "
         "budget</title><style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px "
         "8px;text-align:right}"
         "td:first-child,th:first-child{text-align:left}th{background:#eee}</style></"
         "head><body>\n<h1>"
      << html_escape(r.experiment) << ": latency budget</h1>\n<p>" << html_escape(r.description)
      << "</p>\n";
  for (const auto& [name, svg] : render_plots(r, dir))
    out << "<div class='plot'>" << svg << "</div>\n";
  for (const table& t : tables(r)) {
    out << "<h2>" << html_escape(t.title) << "</h2><table><tr>";
    for (const auto& h : t.header) out << "<th>" << html_escape(h) << "</th>";
    out << "</tr>\n";
    for (const auto& row : t.rows) {
      out << "<tr>";
      for (const auto& cellv : row) out << "<td>" << html_escape(cellv) << "</td>";
      out << "</tr>\n";
    }
    out << "</table>\n";
    for (const auto& note : t.notes) out << "<p>" << html_escape(note) << "</p>\n";
  }
  out << "</body></html>\n";
}

}  // namespace

std::string markdown(const run_report& r) {
  std::ostringstream out;
  out << "# " << r.experiment << ": latency budget\n\n";
  if (!r.description.empty()) out << r.description << "\n\n";
  const auto v = verdicts(r);
  if (!v.empty()) {
    out << "## Verdicts\n\n";
    for (const auto& line : v) out << "- " << line << '\n';
    out << '\n';
  }
  for (const table& t : tables(r)) {
    out << "## " << t.title << "\n\n|";
    for (const auto& h : t.header) out << ' ' << h << " |";
    out << "\n|";
    for (std::size_t i = 0; i < t.header.size(); ++i) out << (i == 0 ? " --- |" : " ---: |");
    out << '\n';
    for (const auto& row : t.rows) {
      out << '|';
      for (const auto& value : row) out << ' ' << value << " |";
      out << '\n';
    }
    out << '\n';
    for (const auto& note : t.notes) out << note << "\n\n";
  }
  return out.str();
}

base::status write_reports(const run_report& r, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return base::fail("cannot create " + dir.string() + ": " + ec.message());
  std::ofstream(dir / "report.json") << to_json(r).dump(1) << '\n';
  write_csv(r, dir / "blocks.csv");
  std::ofstream(dir / "report.md") << markdown(r);
  write_html(r, dir);
  return {};
}

base::result<run_report> read_report(const fs::path& dir) {
  try {
    std::ifstream in(dir / "report.json");
    if (!in) return base::fail("no report.json in " + dir.string());
    const json j = json::parse(in);
    run_report r;
    r.experiment = j.at("experiment");
    r.description = j.at("description");
    r.duration_s = j.at("duration_s");
    for (const auto& jc : j.at("cells")) {
      cell_report c;
      c.label = jc.at("label");
      c.nodes = jc.at("nodes");
      c.io = jc.at("io");
      // Reports from before simulated cells had an engine said io "sim".
      c.engine = jc.value("engine", c.io == "sim" ? "sim" : "processes");
      c.machine = jc.value("machine", "");
      c.persistence = jc.at("persistence");
      c.round_deadline_ms = jc.at("round_deadline_ms");
      c.txs_per_block = jc.at("txs_per_block");
      c.barrier_delay_us = jc.at("barrier_delay_us");
      c.error = jc.at("error");
      c.sim_peak_mib = jc.value("sim_peak_mib", 0.0);
      c.leader = jc.at("leader");
      c.offered_tps = jc.at("offered_tps");
      c.accepted_tps = jc.at("accepted_tps");
      c.refused = jc.at("refused");
      c.leader_changes = jc.value("leader_changes", 0);
      c.rounds = jc.value("rounds", 0);
      c.rounds_without_block = jc.value("rounds_without_block", 0);
      c.capacity_tps = jc.value("capacity_tps", 0.0);
      for (const auto& jp : jc.value("capacity_probes", json::array())) {
        c.capacity_probes.push_back({jp.at("offered_tps"), jp.at("committed_tps"),
                                     jp.at("deadline_met_ratio"), jp.at("met")});
      }
      c.equal_load_tps = jc.value("equal_load_tps", 0.0);
      if (jc.contains("equal_load")) c.equal_load = summary_from_json(jc.at("equal_load"));
      for (const auto& jf : jc.value("faults", json::array())) {
        c.faults.push_back({jf.at("kind"), jf.at("node"), jf.at("start_us"), jf.at("end_us")});
      }
      for (const auto& jr : jc.at("resources")) {
        node_resources n;
        n.id = jr.at("node");
        n.cpu_user_s = jr.at("cpu_user_s");
        n.cpu_system_s = jr.at("cpu_system_s");
        n.voluntary_switches = jr.at("voluntary_switches");
        n.involuntary_switches = jr.at("involuntary_switches");
        n.fdatasyncs = jr.at("fdatasyncs");
        n.bytes_written = jr.at("bytes_written");
        const json syscalls = jr.value("syscalls", json(nullptr));
        n.syscalls_counted = syscalls.is_number();
        if (n.syscalls_counted) n.syscalls = syscalls.get<std::uint64_t>();
        n.io_worker_cpu_s = jr.value("io_worker_cpu_s", 0.0);
        c.resources.push_back(n);
      }
      c.syscalls_unavailable = jc.value("syscalls_unavailable", "");
      for (const auto& jb : jc.at("blocks")) c.blocks.push_back(jb.get<block_record>());
      c.summary = summarize(c.blocks, c.nodes / 2 + 1);
      r.cells.push_back(std::move(c));
    }
    return r;
  } catch (const std::exception& e) {
    return base::fail("report.json in " + dir.string() + " does not read: " + e.what());
  }
}

}  // namespace ringchain::report
