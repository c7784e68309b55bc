#include "sim/harness/netns.h"

#include <unistd.h>

#include <chrono>

#include "sim/harness/cluster.h"

namespace ringchain::harness {

using namespace std::chrono_literals;

namespace {

base::status ip(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  return run_command(args, 10s);
}

}  // namespace

base::result<std::unique_ptr<netns_lab>> netns_lab::create(std::size_t nodes) {
  if (nodes == 0 || nodes > 200) return base::fail("a lab holds 1 to 200 nodes");
  if (::geteuid() != 0) return base::fail("network namespaces need root");
  if (!run_command({"ip", "-V"}, 5s).ok()) return base::fail("iproute2's ip is not installed");
  // A lab number from the process id keeps concurrent labs apart.
  const auto id = static_cast<std::uint32_t>(::getpid() % 200 + 1);
  std::unique_ptr<netns_lab> lab(new netns_lab(nodes, id));
  if (base::status s = lab->build(); !s.ok()) return base::fail(s.message());
  return lab;
}

std::string netns_lab::ns(std::size_t i) const {
  return "rc" + std::to_string(id_) + "n" + std::to_string(i + 1);
}

std::string netns_lab::address(std::size_t i) const {
  return "10.77." + std::to_string(id_) + "." + std::to_string(i + 1);
}

std::string netns_lab::host_veth(std::size_t i) const {
  return "rc" + std::to_string(id_) + "h" + std::to_string(i + 1);
}

std::string netns_lab::bridge() const {
  return "rc" + std::to_string(id_) + "br";
}

base::status netns_lab::build() {
  const std::string net = "10.77." + std::to_string(id_) + ".";
  if (base::status s = ip({"link", "add", bridge(), "type", "bridge"}); !s.ok()) return s;
  if (base::status s = ip({"addr", "add", net + "254/24", "dev", bridge()}); !s.ok()) return s;
  if (base::status s = ip({"link", "set", bridge(), "up"}); !s.ok()) return s;
  // Bridged packets pass the host's iptables FORWARD chain when
  // br_netfilter is loaded (Docker loads it and sets the policy to DROP):
  // let this bridge's own traffic through, and nothing else.
  if (run_command({"iptables", "-L", "FORWARD", "-n"}, 10s).ok()) {
    forward_rule_ =
        run_command({"iptables", "-I", "FORWARD", "-i", bridge(), "-o", bridge(), "-j", "ACCEPT"},
                    10s)
            .ok();
  }
  for (std::size_t i = 0; i < nodes_; ++i) {
    const std::string inner = "eth0";
    const std::string peer = host_veth(i) + "p";
    for (const std::vector<std::string>& step : std::vector<std::vector<std::string>>{
             {"netns", "add", ns(i)},
             {"link", "add", host_veth(i), "type", "veth", "peer", "name", peer},
             {"link", "set", peer, "netns", ns(i)},
             {"-n", ns(i), "link", "set", peer, "name", inner},
             {"-n", ns(i), "addr", "add", address(i) + "/24", "dev", inner},
             {"-n", ns(i), "link", "set", inner, "up"},
             {"-n", ns(i), "link", "set", "lo", "up"},
             {"link", "set", host_veth(i), "master", bridge()},
             {"link", "set", host_veth(i), "up"}}) {
      if (base::status s = ip(step); !s.ok()) return s;
    }
  }
  return {};
}

netns_lab::~netns_lab() {
  for (std::size_t i = 0; i < nodes_; ++i) {
    (void)ip({"link", "del", host_veth(i)});
    (void)ip({"netns", "del", ns(i)});
  }
  (void)ip({"link", "del", bridge()});
  if (forward_rule_) {
    (void)run_command({"iptables", "-D", "FORWARD", "-i", bridge(), "-o", bridge(), "-j", "ACCEPT"},
                      10s);
  }
}

base::status netns_lab::cut(std::size_t i, bool on) {
  return ip({"link", "set", host_veth(i), on ? "down" : "up"});
}

}  // namespace ringchain::harness
