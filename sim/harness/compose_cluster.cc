#include "sim/harness/compose_cluster.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ringchain::harness {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Trims the newline a command prints after its answer.
std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The admin request as ringchain-client admin flags.
std::vector<std::string> admin_flags(const nodepb::AdminRequest& a) {
  std::vector<std::string> f;
  if (a.has_barrier_delay_us()) {
    f.insert(f.end(), {"--barrier-delay-us", std::to_string(a.barrier_delay_us())});
  }
  if (a.has_clock_offset_ms())
    f.insert(f.end(), {"--clock-offset-ms", std::to_string(a.clock_offset_ms())});
  if (a.has_clock_drift_ppm())
    f.insert(f.end(), {"--clock-drift-ppm", std::to_string(a.clock_drift_ppm())});
  return f;
}

}  // namespace

compose_cluster::compose_cluster(compose_cluster_options opts)
    : opts_(std::move(opts)), running_(opts_.nodes, false) {}

base::result<std::unique_ptr<compose_cluster>> compose_cluster::create(
    compose_cluster_options opts) {
  if (opts.nodes != 3 && opts.nodes != 5 && opts.nodes != 7) {
    return base::fail("engine = \"compose\" runs 3, 5 or 7 nodes (the compose files' sizes)");
  }
  if (opts.image.empty()) {
    const char* env = std::getenv("RINGCHAIN_IMAGE");
    opts.image = env != nullptr ? env : "ringchain:local";
  }
  std::unique_ptr<compose_cluster> c(new compose_cluster(std::move(opts)));
  if (!run_capture({"docker", "info", "--format", "{{.ServerVersion}}"}, 20s).ok()) {
    return base::fail("no Docker daemon answers (scripts/docker-setup.sh starts one)");
  }
  c->compose_cmd_ = run_capture({"docker", "compose", "version"}, 20s).ok()
                        ? std::vector<std::string>{"docker", "compose"}
                        : std::vector<std::string>{"docker-compose"};
  if (!run_capture({"docker", "image", "inspect", c->opts_.image}, 20s).ok()) {
    return base::fail("no image " + c->opts_.image +
                      " (docker-compose build, or set RINGCHAIN_IMAGE)");
  }
  c->project_ =
      "rcexp-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1'000'000'000);
  c->files_ = {RINGCHAIN_SOURCE_DIR "/docker-compose.yml"};
  if (c->opts_.nodes != 3) {
    c->files_.push_back(RINGCHAIN_SOURCE_DIR "/docker/compose-" + std::to_string(c->opts_.nodes) +
                        ".yml");
  }
  if (base::status s = c->write_override(); !s.ok()) return base::fail(s.message());
  return c;
}

// The cell's settings as each node's command (client ports go to free
// ports of 127.0.0.1 through the compose file's RINGCHAIN_PORT_NODE<i>).
base::status compose_cluster::write_override() {
  fs::create_directories(opts_.dir);
  const fs::path file = opts_.dir / "compose-cell.yml";
  std::ofstream out(file);
  out << "version: \"3.8\"\nservices:\n";
  for (std::size_t i = 1; i <= opts_.nodes; ++i) {
    out << "  node" << i << ":\n    command: [";
    for (std::size_t k = 0; k < opts_.node_flags.size(); ++k) {
      out << (k ? ", " : "") << '"' << opts_.node_flags[k] << '"';
    }
    // Experiments decide when a killed node comes back.
    out << "]\n    restart: \"no\"\n";
  }
  if (!out) return base::fail("cannot write " + file.string());
  files_.push_back(file.string());
  return {};
}

std::vector<std::string> compose_cluster::compose(std::vector<std::string> args) const {
  std::vector<std::string> cmd = compose_cmd_;
  cmd.insert(cmd.end(), {"-p", project_});
  for (const auto& f : files_) cmd.insert(cmd.end(), {"-f", f});
  cmd.insert(cmd.end(), args.begin(), args.end());
  return cmd;
}

std::string compose_cluster::container(std::size_t i) {
  if (containers_.size() <= i) containers_.resize(opts_.nodes);
  if (containers_[i].empty()) {
    auto id = run_capture(compose({"ps", "-q", "node" + std::to_string(i + 1)}), 60s);
    if (id.ok()) containers_[i] = trimmed(*id);
  }
  return containers_[i];
}

compose_cluster::~compose_cluster() {
  (void)run_command(compose({"down", "-v", "--remove-orphans", "-t", "5"}), 120s);
}

void compose_cluster::start_all() {
  ::setenv("RINGCHAIN_IMAGE", opts_.image.c_str(), 1);
  for (std::size_t i = 1; i <= 7; ++i) {
    ::setenv(("RINGCHAIN_PORT_NODE" + std::to_string(i)).c_str(), "127.0.0.1:", 1);
  }
  std::vector<std::string> services = {"certs"};
  for (std::size_t i = 1; i <= opts_.nodes; ++i) services.push_back("node" + std::to_string(i));
  std::vector<std::string> up = {"up", "-d", "--no-build"};
  up.insert(up.end(), services.begin(), services.end());
  if (!run_command(compose(up), 300s).ok()) return;
  client_addresses_.assign(opts_.nodes, "");
  for (std::size_t i = 0; i < opts_.nodes; ++i) {
    auto port = run_capture(compose({"port", "node" + std::to_string(i + 1), "8001"}), 30s);
    if (port.ok()) client_addresses_[i] = trimmed(*port);
    running_[i] = true;
  }
}

void compose_cluster::start(std::size_t i) {
  if (run_command({"docker", "start", container(i)}, 60s).ok()) running_[i] = true;
}

void compose_cluster::kill(std::size_t i) {
  (void)run_command({"docker", "kill", "-s", "KILL", container(i)}, 60s);
  running_[i] = false;
}

void compose_cluster::pause(std::size_t i) {
  (void)run_command({"docker", "pause", container(i)}, 60s);
}

void compose_cluster::resume(std::size_t i) {
  (void)run_command({"docker", "unpause", container(i)}, 60s);
}

void compose_cluster::stop_all() {
  std::vector<std::string> stop = {"stop", "-t", "5"};
  for (std::size_t i = 1; i <= opts_.nodes; ++i) stop.push_back("node" + std::to_string(i));
  (void)run_command(compose(stop), 120s);
  running_.assign(opts_.nodes, false);
}

std::optional<pid_t> compose_cluster::host_pid(std::size_t i) {
  if (!running_[i]) return std::nullopt;
  auto pid = run_capture({"docker", "inspect", "-f", "{{.State.Pid}}", container(i)}, 20s);
  if (!pid.ok()) return std::nullopt;
  const long v = std::strtol(trimmed(*pid).c_str(), nullptr, 10);
  return v > 0 ? std::optional<pid_t>(static_cast<pid_t>(v)) : std::nullopt;
}

std::string compose_cluster::client_address(std::size_t i) const {
  return i < client_addresses_.size() ? client_addresses_[i] : std::string();
}

// Nodes redirect clients to "nodeN:8001", a name on the cluster network;
// from here that node is its mapped port.
std::string compose_cluster::reachable(const std::string& advertised) const {
  if (advertised.rfind("node", 0) != 0) return advertised;
  const std::size_t n = std::strtoul(advertised.c_str() + 4, nullptr, 10);
  return n >= 1 && n <= opts_.nodes ? client_address(n - 1) : advertised;
}

base::status compose_cluster::admin(std::size_t i, const nodepb::AdminRequest& a) {
  std::vector<std::string> base = {"docker", "exec",           container(i), "ringchain-client",
                                   "--node", "127.0.0.1:9001", "admin"};
  std::vector<std::string> flags = admin_flags(a);
  // One link a call (the client takes one --link at a time).
  for (const auto& l : a.links()) {
    std::vector<std::string> cmd = base;
    cmd.insert(cmd.end(),
               {"--link", std::to_string(l.peer()), "--delay-ms", std::to_string(l.delay_ms()),
                "--jitter-ms", std::to_string(l.jitter_ms()), "--loss",
                std::to_string(l.loss_ppm() / 1e4)});
    if (l.partitioned()) cmd.push_back("--partition");
    if (base::status s = run_command(cmd, 30s); !s.ok()) return s;
  }
  if (flags.empty()) return {};
  base.insert(base.end(), flags.begin(), flags.end());
  return run_command(base, 30s);
}

void compose_cluster::partition(std::size_t i, bool on) {
  const std::string network = project_ + "_ringchain";
  if (on) {
    (void)run_command({"docker", "network", "disconnect", "-f", network, container(i)}, 60s);
  } else {
    (void)run_command({"docker", "network", "connect", "--alias", "node" + std::to_string(i + 1),
                       network, container(i)},
                      60s);
  }
}

fs::path compose_cluster::trace_file(std::size_t i) {
  const fs::path local = opts_.dir / ("node" + std::to_string(i + 1) + "-trace.jsonl");
  (void)run_command(
      {"docker", "cp", container(i) + ":/var/lib/ringchain/data/trace.jsonl", local.string()}, 60s);
  return local;
}

}  // namespace ringchain::harness
