// ringchain-node: one node of a ringchain cluster.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "node/runtime/node.h"

namespace {
ringchain::runtime::node* running = nullptr;
void on_signal(int) {
  if (running != nullptr) running->stop();
}
}  // namespace

int main(int argc, char** argv) {
  ringchain::runtime::node_config cfg;
  if (int code = ringchain::runtime::load_config(argc, argv, &cfg); code != 0)
    return code == 2 ? 2 : code;
  if (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) return 0;
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  std::string error;
  auto node = ringchain::runtime::node::open(cfg, &error);
  if (!node) {
    spdlog::critical("node {}: cannot start: {}", cfg.id, error);
    return 1;
  }
  running = node.get();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  const int code = node->run();
  running = nullptr;
  return code;
}
