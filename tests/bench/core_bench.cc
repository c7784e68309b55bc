// CPU cost of the consensus core per committed entry, for a 3-node cluster
// over the in-memory network (tests/support/core_cluster.h), with the
// harness's invariant bookkeeping off. The figure still includes the
// harness's message passing and simulated disk, so the cores alone cost
// less. It is the CPU of all three nodes together per committed entry.
// Target: under 5 microseconds per committed entry.
#include <benchmark/benchmark.h>

#include "tests/support/core_cluster.h"

namespace {

using ringchain::testing::core_cluster;

// Proposes `batch` entries of `payload_bytes` each, then runs the cluster
// until they are committed and applied everywhere.
void bm_commit(benchmark::State& state) {
  const auto batch = static_cast<int>(state.range(0));
  const auto payload_bytes = static_cast<std::size_t>(state.range(1));
  core_cluster c({.record = false});
  c.add_nodes(3);
  c.campaign(1);
  c.stabilize();
  const std::string payload(payload_bytes, 'b');
  std::uint64_t committed_before = c.raft(1).get_status().committed;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) c.propose(1, payload);
    c.stabilize();
  }
  const std::uint64_t committed = c.raft(1).get_status().committed - committed_before;
  state.counters["entries"] = static_cast<double>(committed);
  state.counters["us_per_entry"] =
      benchmark::Counter(static_cast<double>(committed) / 1e6,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetItemsProcessed(static_cast<std::int64_t>(committed));
}

BENCHMARK(bm_commit)
    ->ArgNames({"batch", "payload"})
    ->Args({1, 256})
    ->Args({16, 256})
    ->Args({1, 65536})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
