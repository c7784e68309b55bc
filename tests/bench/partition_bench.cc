// partition_bench: how long a follower cut off by a real partition takes to
// catch up once its link returns. Three nodes in network namespaces
// (sim/harness/netns.h); the follower's veth goes down for each cut while
// the majority commits a batch a second, then comes back; the figure is
// the time from the link's return until the follower's height reaches the
// leader's. Needs root.
//
//   build/tests/bench/partition_bench [--cuts 30,120] [--io uring|epoll]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include "node/chain/block.h"
#include "sim/harness/cluster.h"
#include "sim/harness/netns.h"

namespace {

using namespace ringchain;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

nodepb::SubmitRequest batch(const std::string& tag, int n) {
  std::string seed = tag;
  seed.resize(32, '#');
  const chain::key_pair k = chain::key_pair_from_seed(seed);
  nodepb::SubmitRequest req;
  for (int i = 1; i <= n; ++i) {
    *req.add_txs() = chain::make_transaction(k, static_cast<std::uint64_t>(i),
                                             tag + "-" + std::to_string(i), std::string(200, 'v'));
  }
  return req;
}

// One cut of `seconds`: the catch-up time in ms, or -1 when the follower
// did not catch up within a minute.
double one_cut(const std::string& io, int seconds) {
  auto lab = harness::netns_lab::create(3);
  if (!lab.ok()) {
    std::fprintf(stderr, "partition_bench: %s\n", lab.message().c_str());
    std::exit(77);
  }
  harness::process_cluster_options o;
  o.io = io;
  o.segment_mib = 16;
  o.lab = lab->get();
  harness::process_cluster c(o);
  c.start_all();
  const auto leader = c.wait_for_leader(15s);
  if (!leader) return -1;
  const std::size_t follower = (*leader + 1) % 3;
  (void)(*lab)->cut(follower, true);
  for (int s = 0; s < seconds; ++s) {
    const auto next = clock_type::now() + 1s;
    (void)c.submit(*leader, batch("cut" + std::to_string(seconds) + "-" + std::to_string(s), 50),
                   2s);
    std::this_thread::sleep_until(next);
  }
  const std::uint64_t height = c.status(*leader)->height();
  (void)(*lab)->cut(follower, false);
  const auto healed = clock_type::now();
  while (clock_type::now() < healed + 60s) {
    auto s = c.status(follower);
    if (s && s->height() >= height) {
      return std::chrono::duration<double, std::milli>(clock_type::now() - healed).count();
    }
    std::this_thread::sleep_for(20ms);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"partition_bench: a follower's catch-up after real partitions"};
  std::string cuts = "30,120", io = "uring";
  app.add_option("--cuts", cuts, "cut lengths in seconds, comma separated");
  app.add_option("--io", io, "uring or epoll");
  CLI11_PARSE(app, argc, argv);
  std::stringstream in(cuts);
  for (std::string item; std::getline(in, item, ',');) {
    const int seconds = std::stoi(item);
    const double ms = one_cut(io, seconds);
    if (ms < 0) {
      std::printf("%s: cut %d s: the follower did not catch up within 60 s\n", io.c_str(), seconds);
    } else {
      std::printf("%s: cut %d s: caught up %.0f ms after its link returned\n", io.c_str(), seconds,
                  ms);
    }
    std::fflush(stdout);
  }
  return 0;
}
