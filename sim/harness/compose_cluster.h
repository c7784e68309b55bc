// A cell's cluster as a Docker Compose project: the repository's
// docker-compose.yml (with docker/compose-5.yml or -7.yml for larger
// cells), one node container per node, run under a project name of its
// own with the cell's settings as node flags. Experiments drive it as they
// drive local processes: client ports are mapped to free ports on
// 127.0.0.1, faults are container operations (docker kill and start,
// docker pause, a container disconnected from the cluster network) or the
// nodes' own network emulation and clock, reached through `docker exec` on
// their admin ports. The nodes' block traces are copied out at the end;
// the nodes' /proc entries on this host give their CPU time.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sim/harness/cluster.h"

namespace ringchain::harness {

// How a compose_cluster runs its nodes; fixed when it is made.
struct compose_cluster_options {
  // 3, 5 or 7 (the compose files' sizes).
  std::size_t nodes = 3;
  // Flags every node gets (the cell's settings).
  std::vector<std::string> node_flags;
  // The node image (default: $RINGCHAIN_IMAGE, else ringchain:local).
  std::string image;
  // Where this cell's files go (the override compose file, the traces).
  std::filesystem::path dir;
};

// A cell's cluster as a Compose project (see the top of this file); every
// operation runs docker or docker compose and waits for it.
class compose_cluster final : public cluster_driver {
 public:
  // Fails when Docker or Compose cannot run here, or the cluster cannot
  // be described (an unsupported size).
  static base::result<std::unique_ptr<compose_cluster>> create(compose_cluster_options opts);
  // Tears the project down (containers, network, volumes).
  ~compose_cluster() override;

  // opts.nodes.
  std::size_t size() const override { return opts_.nodes; }
  // `docker compose up` of the certificates and every node, then finds
  // each node's mapped client port.
  void start_all() override;
  // `docker start` of node i's container.
  void start(std::size_t i) override;
  // `docker kill -s KILL` of node i's container.
  void kill(std::size_t i) override;
  // `docker pause` of node i's container.
  void pause(std::size_t i) override;
  // `docker unpause` of node i's container.
  void resume(std::size_t i) override;
  // `docker compose stop` of every node (5 s grace).
  void stop_all() override;
  // Whether node i's container was started and not since killed or
  // stopped, as this driver last left it.
  bool running(std::size_t i) const override { return running_[i]; }
  // The process id of node i's container on this host (docker inspect).
  std::optional<pid_t> host_pid(std::size_t i) override;
  // The 127.0.0.1 port that node i's client port is mapped to; empty
  // before start_all().
  std::string client_address(std::size_t i) const override;
  // A node's "nodeN:8001" (its name on the cluster network) as its mapped
  // port here; any other address unchanged.
  std::string reachable(const std::string& advertised) const override;
  // Runs ringchain-client admin inside node i's container, against its
  // admin port (one call for each link to emulate, one for the rest).
  base::status admin(std::size_t i, const nodepb::AdminRequest& a) override;
  // A partition disconnects the node's container from the cluster network.
  void partition(std::size_t i, bool on) override;
  // Copies node i's trace.jsonl out of its container into opts.dir.
  std::filesystem::path trace_file(std::size_t i) override;

 private:
  explicit compose_cluster(compose_cluster_options opts);
  base::status write_override();
  std::vector<std::string> compose(std::vector<std::string> args) const;
  std::string container(std::size_t i);

  compose_cluster_options opts_;
  std::vector<std::string> compose_cmd_;
  std::string project_;
  std::vector<std::string> files_;
  std::vector<std::string> containers_;
  std::vector<std::string> client_addresses_;
  std::vector<bool> running_;
};

}  // namespace ringchain::harness
