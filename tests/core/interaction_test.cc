// Scripted interaction tests of the consensus core, with golden output.
//
// Each file under testdata/ is a script of commands run against an
// in-memory cluster (tests/support/core_cluster.h). A command is one line;
// the lines after it, from `----` to the next blank line, are its expected
// output. Lines starting with `#` are comments.
//
//   add-nodes N [pre-vote=false] [check-quorum=false] [snapshot-interval=N]
//             [catchup=N]                                start N nodes
//   campaign ID | propose ID DATA | tick ID [COUNT]
//   process-ready ID... | persist ID... | deliver [ID...] | stabilize
//   partition 1 2 / 3 | drop FROM TO | heal
//   crash ID | restart ID | status | log ID | check
//
// Every script ends with the invariant checker, whatever its last command.
// Run the binary with --rewrite to rewrite the expected output after an
// intended change, then review the diff.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/core_cluster.h"

namespace ringchain::testing {
namespace {

bool rewrite_golden = false;

struct command {
  // Comment and blank lines before the command, kept when rewriting.
  std::string preamble;
  std::string line;
  std::string expected;
};

std::vector<command> parse_script(const std::string& text) {
  std::vector<command> out;
  std::istringstream in(text);
  std::string line;
  std::string preamble;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      preamble += line + "\n";
      continue;
    }
    command c{preamble, line, ""};
    preamble.clear();
    if (std::getline(in, line) && line == "----") {
      while (std::getline(in, line) && !line.empty()) c.expected += line + "\n";
    }
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::uint64_t to_id(const std::string& s) {
  return std::stoull(s);
}

// Runs one command; returns its output.
class script_runner {
 public:
  std::string run(const std::string& line);
  std::vector<std::string> final_check() {
    return cluster_ ? cluster_->check_invariants() : std::vector<std::string>{};
  }

 private:
  void add_nodes(const std::vector<std::string>& w);
  std::vector<std::uint64_t> ids_from(const std::vector<std::string>& w) const;
  void status();

  std::unique_ptr<core_cluster> cluster_;
  std::ostringstream out_;
};

std::vector<std::uint64_t> script_runner::ids_from(const std::vector<std::string>& w) const {
  std::vector<std::uint64_t> ids;
  for (std::size_t i = 1; i < w.size(); ++i) ids.push_back(to_id(w[i]));
  return ids.empty() ? cluster_->ids() : ids;
}

void script_runner::add_nodes(const std::vector<std::string>& w) {
  cluster_options opts;
  for (std::size_t i = 2; i < w.size(); ++i) {
    if (w[i] == "pre-vote=false") opts.pre_vote = false;
    if (w[i] == "check-quorum=false") opts.check_quorum = false;
    if (w[i].rfind("inflight=", 0) == 0) opts.inflight_appends = std::stoul(w[i].substr(9));
    if (w[i].rfind("snapshot-interval=", 0) == 0) {
      opts.snapshot_interval = std::stoul(w[i].substr(18));
    }
    if (w[i].rfind("catchup=", 0) == 0) opts.snapshot_catchup = std::stoul(w[i].substr(8));
  }
  if (!cluster_) {
    cluster_ = std::make_unique<core_cluster>(opts);
    cluster_->trace = [this](const std::string& l) { out_ << l << "\n"; };
  }
  cluster_->add_nodes(std::stoul(w[1]));
}

void script_runner::status() {
  for (auto id : cluster_->ids()) {
    const core::status s = cluster_->raft(id).get_status();
    out_ << id << ": " << core::to_string(s.role) << " term=" << s.term << " vote=" << s.vote
         << " leader=" << s.leader << " last=" << s.last_index << " commit=" << s.committed
         << " durable=" << s.durable << " applied=" << s.applied;
    if (s.snapshot_index > 0) {
      out_ << " snapshot=" << s.snapshot_index << " compacted=" << s.compacted;
    }
    out_ << (cluster_->node(id).up ? "" : " (down)") << "\n";
  }
}

std::string script_runner::run(const std::string& line) {
  out_.str("");
  const auto w = split(line);
  const std::string& cmd = w.at(0);
  if (cmd == "add-nodes") {
    add_nodes(w);
  } else if (cmd == "campaign") {
    cluster_->campaign(to_id(w.at(1)));
  } else if (cmd == "propose") {
    const auto p = cluster_->propose(to_id(w.at(1)), w.at(2));
    if (p.result != core::proposal::code::accepted) out_ << "refused\n";
  } else if (cmd == "tick") {
    const int count = w.size() > 2 ? std::stoi(w[2]) : 1;
    for (int i = 0; i < count; ++i) cluster_->tick(to_id(w.at(1)));
  } else if (cmd == "process-ready") {
    for (auto id : ids_from(w)) cluster_->process_ready(id);
  } else if (cmd == "persist") {
    for (auto id : ids_from(w)) cluster_->persist(id);
  } else if (cmd == "deliver") {
    if (w.size() == 1) {
      cluster_->deliver();
    } else {
      for (auto id : ids_from(w)) cluster_->deliver(id);
    }
  } else if (cmd == "stabilize") {
    cluster_->stabilize();
  } else if (cmd == "partition") {
    std::vector<std::set<std::uint64_t>> groups(1);
    for (std::size_t i = 1; i < w.size(); ++i) {
      if (w[i] == "/") {
        groups.emplace_back();
      } else {
        groups.back().insert(to_id(w[i]));
      }
    }
    cluster_->partition(groups);
  } else if (cmd == "drop") {
    cluster_->drop_link(to_id(w.at(1)), to_id(w.at(2)));
  } else if (cmd == "heal") {
    cluster_->heal();
  } else if (cmd == "crash") {
    cluster_->crash(to_id(w.at(1)));
  } else if (cmd == "restart") {
    cluster_->restart(to_id(w.at(1)));
  } else if (cmd == "status") {
    status();
  } else if (cmd == "log") {
    const core::raft_log& log = cluster_->raft(to_id(w.at(1))).log();
    if (log.compacted_index() > 0) out_ << "compacted through " << log.compacted_index() << "\n";
    for (std::uint64_t i = log.first_index(); i <= log.last_index(); ++i) {
      out_ << core_cluster::describe(log.at(i)) << "\n";
    }
  } else if (cmd == "check") {
    for (const auto& v : cluster_->check_invariants()) out_ << "violation: " << v << "\n";
  } else {
    ADD_FAILURE() << "unknown command: " << line;
  }
  std::string text = out_.str();
  return text.empty() ? "ok\n" : text;
}

class interaction : public ::testing::TestWithParam<std::string> {};

TEST_P(interaction, matches_golden_output) {
  const std::filesystem::path path = std::filesystem::path(RINGCHAIN_TESTDATA_DIR) / GetParam();
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream buf;
  buf << in.rdbuf();

  script_runner runner;
  std::ostringstream rewritten;
  for (const command& c : parse_script(buf.str())) {
    const std::string got = runner.run(c.line);
    std::string pre = c.preamble;
    // One blank line separates commands; the rewrite adds it itself.
    while (pre.rfind("\n", 0) == 0) pre.erase(0, 1);
    rewritten << pre << c.line << "\n----\n" << got << "\n";
    if (!rewrite_golden) {
      EXPECT_EQ(c.expected, got) << path << ": command `" << c.line << "`";
    }
  }
  for (const auto& v : runner.final_check()) ADD_FAILURE() << "invariant violated: " << v;
  if (rewrite_golden) {
    std::ofstream out(path);
    out << rewritten.str();
  }
}

std::vector<std::string> scripts() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(RINGCHAIN_TESTDATA_DIR)) {
    if (e.path().extension() == ".txt") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(scripts, interaction, ::testing::ValuesIn(scripts()),
                         [](const auto& param_info) {
                           std::string n = param_info.param.substr(0, param_info.param.size() - 4);
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace ringchain::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--rewrite") ringchain::testing::rewrite_golden = true;
  }
  return RUN_ALL_TESTS();
}
