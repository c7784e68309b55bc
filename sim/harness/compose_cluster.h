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

class compose_cluster final : public cluster_driver {
 public:
  // Fails when Docker or Compose cannot run here, or the cluster cannot
  // be described (an unsupported size).
  static base::result<std::unique_ptr<compose_cluster>> create(compose_cluster_options opts);
  // Tears the project down (containers, network, volumes).
  ~compose_cluster() override;

  std::size_t size() const override { return opts_.nodes; }
  void start_all() override;
  void start(std::size_t i) override;
  void kill(std::size_t i) override;
  void pause(std::size_t i) override;
  void resume(std::size_t i) override;
  void stop_all() override;
  bool running(std::size_t i) const override { return running_[i]; }
  std::optional<pid_t> host_pid(std::size_t i) override;
  std::string client_address(std::size_t i) const override;
  std::string reachable(const std::string& advertised) const override;
  base::status admin(std::size_t i, const nodepb::AdminRequest& a) override;
  // A partition disconnects the node's container from the cluster network.
  void partition(std::size_t i, bool on) override;
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
