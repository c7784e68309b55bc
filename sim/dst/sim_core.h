// What every part of a simulated world shares: simulated time, the queue
// of events in time order, the one random stream every choice is drawn
// from, the nodes' CPUs, the trace hash of everything that happened, and
// the verbose log.
#pragma once

#include <cstdint>
#include <string>

#include "sim/dst/event_queue.h"
#include "sim/dst/machine.h"
#include "sim/dst/model.h"
#include "sim/dst/sim_cpu.h"

namespace ringchain::dst {

// The shared state every part of a world holds a reference to.
struct sim_core {
  // A core for `nodes` node slots, its rng seeded from the run's seed.
  // CPU time as `cpu` says (none when its cores are 0).
  sim_core(std::uint32_t nodes, std::uint64_t seed, bool verbose_notes,
           const cpu_profile& cpu_costs)
      : events(nodes),
        random(seed * 0x9e3779b97f4a7c15ULL + 1),
        cpu(events, nodes, cpu_costs),
        verbose(verbose_notes) {}
  // Prints `what` with the simulated time when the run is verbose.
  void note(const std::string& what) const;
  // The clock and its events.
  event_queue events;
  // Every random choice of the run.
  rng random;
  // The nodes' CPUs: each node's clock while it works.
  sim_cpu cpu;
  // The hash of the run's events.
  trace_hash hash;
  // Print notes (ringchain-sim dst --verbose).
  bool verbose;
  // A disk the nodes share (options::shared_disk), by writers at once;
  // empty when every node has its own disk.
  std::vector<disk_profile> shared_disk;
  // The writers at once on the shared disk: each write in flight counts
  // for the part of its time spent writing (1 without barrier delays; a
  // write that mostly waits out its delays hardly counts).
  double shared_disk_load = 0;
};

}  // namespace ringchain::dst
