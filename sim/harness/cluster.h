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

// How a process_cluster runs its nodes; fixed when it is made.
struct process_cluster_options {
  // The ringchain-node binary; the default is the one built with this tree.
  std::string node_binary = RINGCHAIN_DEFAULT_NODE_BINARY;
  // Nodes in the cluster.
  std::size_t nodes = 3;
  // Spare nodes (indexes nodes, nodes + 1, ...): ports, data directories
  // and certificates are made for them, but start_all() leaves them out;
  // started, they join the running cluster (join = true) and take part
  // once a membership change adds them (add_node, replace_node). A spare's
  // ports are picked when it first starts (its addresses read port 0
  // before).
  std::size_t spares = 0;
  // Each node's --io: "uring" or "epoll".
  std::string io = "uring";
  // Each node's --persistence: "per_block" or "per_tx".
  std::string persistence = "per_block";
  // Each node's --round_interval_ms.
  std::uint32_t round_interval_ms = 50;
  // Block-log segment size; 0 keeps the node's default.
  std::uint32_t segment_mib = 0;
  // Mutual TLS between the nodes, with certificates made for the cluster
  // by scripts/make-certs.sh (as a user's cluster would run).
  bool tls = true;
  // More flags for every node, passed after the cluster's own.
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
  // Starts every node.
  virtual void start_all() = 0;
  // Starts node i (again, after kill).
  virtual void start(std::size_t i) = 0;
  // Kills node i at once (SIGKILL): unsynced writes are lost.
  virtual void kill(std::size_t i) = 0;
  // Freezes node i (SIGSTOP, docker pause).
  virtual void pause(std::size_t i) = 0;
  // Lets a paused node i go on (SIGCONT, docker unpause).
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

// The cluster as child processes of this one (see the top of this file).
class process_cluster final : public cluster_driver {
 public:
  // Picks every node's ports, makes the data directory and, with TLS, the
  // certificates; no node runs until start() or start_all().
  explicit process_cluster(process_cluster_options opts);
  // Stops every running node (2 s grace) and removes a temporary data
  // directory, unless RINGCHAIN_KEEP_TEST_DIRS is set.
  ~process_cluster() override;

  // Forks and execs node i with its flags, its output appended to
  // node<id>.log in the data directory.
  void start(std::size_t i) override;
  // Starts every node, in index order.
  void start_all() override;
  // SIGKILL, then reap.
  void kill(std::size_t i) override;
  // SIGSTOP.
  void pause(std::size_t i) override;
  // SIGCONT.
  void resume(std::size_t i) override;
  // Stops every node (stop(i) with the default grace).
  void stop_all() override;
  // SIGTERM, SIGKILL after `grace`, then reap; returns the exit status.
  int stop(std::size_t i, std::chrono::milliseconds grace = std::chrono::seconds(5));
  // Whether node i's process was started and not yet stopped or killed.
  bool running(std::size_t i) const override { return pids_[i] > 0; }
  // Node i's process id; -1 when it does not run.
  pid_t pid(std::size_t i) const { return pids_[i]; }
  // Node i's process id (this machine's), when it runs.
  std::optional<pid_t> host_pid(std::size_t i) override;
  // Sends the request on node i's admin port; the error is the node's
  // answer or the connection's failure.
  base::status admin(std::size_t i, const nodepb::AdminRequest& a) override;
  // trace.jsonl in node i's data directory.
  std::filesystem::path trace_file(std::size_t i) override;

  // opts.nodes plus opts.spares.
  std::size_t size() const override { return opts_.nodes + opts_.spares; }
  // "127.0.0.1:<port>" of node i's client port.
  std::string client_address(std::size_t i) const override;
  // "127.0.0.1:<port>" of node i's peer port.
  std::string peer_address(std::size_t i) const;
  // The admin port of node i (operators' requests: the slow-disk knob).
  std::string admin_address(std::size_t i) const;
  // Node i's Prometheus endpoint (HTTP GET /metrics).
  std::string metrics_address(std::size_t i) const;
  // Where the cluster's TLS material is (empty without TLS).
  std::filesystem::path tls_dir() const { return tls_dir_; }
  // Node i's data directory (node<id> under the cluster's directory).
  std::filesystem::path data_dir(std::size_t i) const;
  // What node i printed so far (its node<id>.log).
  std::string log_of(std::size_t i) const;
  // When node i's process has ended on its own: reaps it and says how it
  // ended ("exited with code 1", "killed by signal 6") and the last line
  // of its log. Empty while it runs or was never started.
  std::string ended(std::size_t i);

 private:
  process_cluster_options opts_;
  std::filesystem::path dir_;
  // The port that names a temporary data root (held so no other cluster
  // takes the name), or 0.
  int dir_port_ = 0;
  std::vector<int> peer_ports_;
  std::vector<int> client_ports_;
  std::vector<int> admin_ports_;
  std::vector<int> metrics_ports_;
  // Node i's host: 127.0.0.1, or its namespace's address.
  std::string host(std::size_t i) const;
  // Picks node i's four ports (free now).
  void pick_ports(std::size_t i);
  std::filesystem::path tls_dir_;
  std::vector<pid_t> pids_;
};

// A free TCP port on 127.0.0.1, below the kernel's ephemeral range, held
// for this process (no other harness on the machine is given it) until
// release_port.
int free_port();
// Gives back a port from free_port (nothing for one this process does not
// hold).
void release_port(int port);

// A plain HTTP GET on loopback (a node's /metrics, say): the whole answer,
// headers and body, read until the server closes or 3 s pass; empty when
// nothing answers.
std::string http_get(const std::string& address, const std::string& path);

// Runs a command and waits for it, killing it after `timeout`; its exit
// status, or an error naming the command and what happened.
base::status run_command(const std::vector<std::string>& args, std::chrono::milliseconds timeout);
// The same, returning what the command printed on its standard output.
base::result<std::string> run_capture(const std::vector<std::string>& args,
                                      std::chrono::milliseconds timeout);

}  // namespace ringchain::harness
