// A small network of namespaces for real partitions (issue tests and
// benchmarks): one network namespace per node, each joined by a veth pair
// to a bridge in this process's namespace, with addresses the lab makes
// and removes itself (10.77.<lab>.<node>/24; the bridge is .254). Cutting
// a node takes its veth's host end down: packets are really lost, so TCP
// really backs off, as in a partition between hosts. Needs root (or
// CAP_NET_ADMIN) and iproute2; create() says why it cannot run otherwise.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "node/base/result.h"

namespace ringchain::harness {

// One lab of namespaced nodes (see the top of this file), owned by the test
// or benchmark that made it; node indexes run from 0.
class netns_lab {
 public:
  // Makes `nodes` namespaces, their veth pairs and the bridge.
  static base::result<std::unique_ptr<netns_lab>> create(std::size_t nodes);
  // Removes everything it made.
  ~netns_lab();
  netns_lab(const netns_lab&) = delete;
  netns_lab& operator=(const netns_lab&) = delete;

  // Node i's namespace name ("rc<lab>n<i + 1>").
  std::string ns(std::size_t i) const;
  // Node i's address, 10.77.<lab>.<i + 1>.
  std::string address(std::size_t i) const;
  // Cuts node i off (its link down), or restores it.
  base::status cut(std::size_t i, bool on);

 private:
  netns_lab(std::size_t nodes, std::uint32_t id) : nodes_(nodes), id_(id) {}
  base::status build();
  std::string host_veth(std::size_t i) const;
  std::string bridge() const;

  std::size_t nodes_;
  std::uint32_t id_;
  // Whether build() added an iptables rule that the destructor removes.
  bool forward_rule_ = false;
};

}  // namespace ringchain::harness
