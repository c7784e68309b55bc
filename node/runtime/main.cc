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
  ringchain::runtime::command_line cl = ringchain::runtime::load_config(argc, argv);
  if (!cl.config) return cl.exit_code;
  const ringchain::runtime::node_config& cfg = *cl.config;
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  auto node = ringchain::runtime::node::open(cfg);
  if (!node.ok()) {
    spdlog::critical("node {}: cannot start: {}", cfg.id, node.message());
    return 1;
  }
  running = node->get();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  const int code = (*node)->run();
  running = nullptr;
  return code;
}
