// A cluster of real ringchain-node processes on 127.0.0.1, for the harness
// and the cluster tests.
//
// Ports are found free by the kernel (bind to port 0), data lives in a
// fresh temporary directory, every child gets SIGKILL if the test process
// dies (PR_SET_PDEATHSIG), and the destructor stops and reaps them all, so
// no process outlives the program that started it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "node/base/result.h"
#include "node/net/client.h"
#include "sim/harness/netns.h"

namespace ringchain::harness {

struct process_cluster_options {
  // The ringchain-node binary; the default is the one built with this tree.
  std::string node_binary = RINGCHAIN_DEFAULT_NODE_BINARY;
  std::size_t nodes = 3;
  std::string io = "uring";
  std::string persistence = "per_block";
  std::uint32_t round_interval_ms = 50;
  // Block-log segment size; 0 keeps the node's default.
  std::uint32_t segment_mib = 0;
  // Mutual TLS between the nodes, with certificates made for the cluster
  // by scripts/make-certs.sh (as a user's cluster would run).
  bool tls = true;
  std::vector<std::string> extra_args;
  // A lower limit on each node's open files (RLIMIT_NOFILE), for tests of
  // descriptor exhaustion; unset keeps the inherited one.
  std::optional<std::uint64_t> open_files_max;
  // Run node i in network namespace lab->ns(i) at lab->address(i) (real
  // partitions: netns.h); borrowed, it outlives the cluster. Null: every
  // node on 127.0.0.1.
  const netns_lab* lab = nullptr;
  // Where node data and logs go; kept afterwards. Empty: a temporary
  // directory, removed afterwards.
  std::filesystem::path data_root;
};

// A cluster that experiments and tests drive, whichever way its nodes run
// (local processes here, compose containers in compose_cluster.h). Node
// indexes run from 0; node i has id i + 1.
class cluster_driver {
 public:
  virtual ~cluster_driver() = default;

  // Nodes in the cluster.
  virtual std::size_t size() const = 0;
  // Starts every node, or (again, after kill) node i.
  virtual void start_all() = 0;
  virtual void start(std::size_t i) = 0;
  // Kills node i at once (SIGKILL): unsynced writes are lost.
  virtual void kill(std::size_t i) = 0;
  // Freezes node i (SIGSTOP, docker pause), and lets it go on.
  virtual void pause(std::size_t i) = 0;
  virtual void resume(std::size_t i) = 0;
  // Stops every node cleanly (SIGTERM, then SIGKILL after a grace).
  virtual void stop_all() = 0;
  // Whether node i runs.
  virtual bool running(std::size_t i) const = 0;
  // Node i's process as this machine's /proc sees it; nothing when down.
  virtual std::optional<pid_t> host_pid(std::size_t i) = 0;
  // Node i's client port, reachable from here.
  virtual std::string client_address(std::size_t i) const = 0;
  // An address a node gives out (a redirect to the leader), reachable
  // from here.
  virtual std::string reachable(const std::string& advertised) const { return advertised; }
  // Sends an operator's request to node i's admin port.
  virtual base::status admin(std::size_t i, const nodepb::AdminRequest& a) = 0;
  // Cuts node i off from every other node, both ways (on), or heals it.
  // By default through the nodes' own network emulation.
  virtual void partition(std::size_t i, bool on);
  // Node i's block trace, as a file here (after the nodes stopped).
  virtual std::filesystem::path trace_file(std::size_t i) = 0;

  // Status of node i, or nothing when it does not answer.
  std::optional<nodepb::NodeStatus> status(std::size_t i);
  // The index of the node that leads, once one does (nothing at timeout).
  std::optional<std::size_t> wait_for_leader(std::chrono::milliseconds timeout);
  // Waits until every running node has applied at least `height`.
  bool wait_for_height(std::uint64_t height, std::chrono::milliseconds timeout);
  // Submits to node i, following one redirect; returns the response.
  std::optional<nodepb::SubmitResponse> submit(std::size_t i, const nodepb::SubmitRequest& req,
                                               std::chrono::milliseconds timeout);
  // Sets the same emulation on node i's links to every other node and on
  // their links to node i (all zero: none).
  void emulate_around(std::size_t i, const nodepb::LinkEmulation& e);
};

class process_cluster final : public cluster_driver {
 public:
  explicit process_cluster(process_cluster_options opts);
  ~process_cluster() override;

  void start(std::size_t i) override;
  void start_all() override;
  // SIGKILL, then reap.
  void kill(std::size_t i) override;
  void pause(std::size_t i) override;
  void resume(std::size_t i) override;
  void stop_all() override;
  // SIGTERM, SIGKILL after `grace`, then reap; returns the exit status.
  int stop(std::size_t i, std::chrono::milliseconds grace = std::chrono::seconds(5));
  bool running(std::size_t i) const override { return pids_[i] > 0; }
  pid_t pid(std::size_t i) const { return pids_[i]; }
  std::optional<pid_t> host_pid(std::size_t i) override;
  base::status admin(std::size_t i, const nodepb::AdminRequest& a) override;
  std::filesystem::path trace_file(std::size_t i) override;

  std::size_t size() const override { return opts_.nodes; }
  std::string client_address(std::size_t i) const override;
  std::string peer_address(std::size_t i) const;
  // The admin port of node i (operators' requests: the slow-disk knob).
  std::string admin_address(std::size_t i) const;
  // Node i's Prometheus endpoint (HTTP GET /metrics).
  std::string metrics_address(std::size_t i) const;
  // Where the cluster's TLS material is (empty without TLS).
  std::filesystem::path tls_dir() const { return tls_dir_; }
  std::filesystem::path data_dir(std::size_t i) const;
  std::string log_of(std::size_t i) const;

 private:
  process_cluster_options opts_;
  std::filesystem::path dir_;
  std::vector<int> peer_ports_;
  std::vector<int> client_ports_;
  std::vector<int> admin_ports_;
  std::vector<int> metrics_ports_;
  // Node i's host: 127.0.0.1, or its namespace's address.
  std::string host(std::size_t i) const;
  std::filesystem::path tls_dir_;
  std::vector<pid_t> pids_;
};

// A free TCP port on 127.0.0.1, below the kernel's ephemeral range.
int free_port();

// Runs a command and waits for it, killing it after `timeout`; its exit
// status, or an error naming the command and what happened.
base::status run_command(const std::vector<std::string>& args, std::chrono::milliseconds timeout);
// The same, returning what the command printed on its standard output.
base::result<std::string> run_capture(const std::vector<std::string>& args,
                                      std::chrono::milliseconds timeout);

}  // namespace ringchain::harness
