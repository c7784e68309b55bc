// The simulated CPUs of a world's nodes: how long a node's work takes in
// simulated time, from a calibrated cpu_profile (machine.h).
//
// Each node has one loop core and `cores - 1` verifier cores. Work on the
// loop (building a block, checking an append, applying, a message's
// encoding and decoding) advances the node's own clock, now(slot), while
// its event runs: what the node reads from its reactor (reactor::now_us)
// and what it sends, writes or arms then starts later. When the event
// ends, settle() keeps the loop busy until that clock; the world defers
// the node's later events until then, so a busy loop answers heartbeats
// and acknowledgements late, as a real one does. Signature checks run on
// the verifier cores (runtime::verifier's inline mode models them, taking
// verify_ns() for a job).
//
// The node's code is not changed for this: the simulator charges what it
// sees at the seams. Messages are charged where the network takes and
// hands them, submissions where the client hands them in, and the work
// inside the node's own code (a block built, blocks applied) when the node
// next reads its clock: observe() compares the node's log and ledger with
// what it saw last, through the same read-only views the checkers use.
//
// With cores == 0 (the default of `dst` sweeps) nothing is charged,
// now(slot) is the simulated time, and runs are those of a simulator
// without CPU time, trace hashes included.
#pragma once

#include <cstdint>
#include <vector>

#include "node/core/raft.h"
#include "sim/dst/event_queue.h"
#include "sim/dst/machine.h"

namespace ringchain::runtime {
class node;
}

namespace ringchain::dst {

// What a node's CPU did, for reports.
struct cpu_use {
  // CPU time on the loop core and on the verifier cores.
  time_ns loop_ns = 0, verify_ns = 0;
  // Events that found the loop idle (a wake-up from a wait), and
  // signature-check jobs (a verifier thread's wake-up each).
  std::uint64_t wakeups = 0, verify_jobs = 0;
};

// The transactions of a block entry, from its header alone (0 for an
// entry that holds no block).
std::uint64_t block_txs(const core::entry& e);

// The CPUs of a world's nodes (see the top of this file).
class sim_cpu {
 public:
  // CPUs for `nodes` node slots, costs from `profile` (off when its cores
  // are 0).
  sim_cpu(const event_queue& events, std::uint32_t nodes, const cpu_profile& profile);
  // Whether CPU time is simulated.
  bool on() const { return profile_.on(); }
  // The node's clock: simulated time plus the CPU time its running event
  // has spent so far.
  time_ns now(std::uint32_t slot) const { return events_.now() + spent_[slot]; }
  // When the node's loop can run an event due at `at`: when the loop is
  // free again; an idle loop first wakes up, after a latency drawn from
  // the profile's (counted as a wake-up). Without a CPU profile: `at`, or
  // later while a blocking write holds the loop.
  time_ns ready_at(std::uint32_t slot, time_ns at, rng& r);
  // The node's running event is over: its loop stays busy until now(slot).
  void settle(std::uint32_t slot);
  // The node crashed: its loop and verifiers are idle, nothing is watched.
  void reset(std::uint32_t slot);
  // Every node's loop and verifiers share one machine of `cores` cores
  // (local processes on this machine): an event waits until a core is
  // free, and a signature check runs when one is.
  void share_host(std::uint32_t cores) { host_.assign(cores, 0); }

  // Watches the node in the slot from its current state on (null: none);
  // observe() charges what it did since.
  void watch(std::uint32_t slot, const runtime::node* n);
  // Charges the blocks the node built and applied since it was last
  // observed (the node reads its clock: reactor::now_us).
  void observe(std::uint32_t slot);

  // Charges the loop for a message sent: its half of the per-function
  // message_us, and its bytes' copy.
  void sent(std::uint32_t slot, const core::message& m);
  // Charges the loop for a message received: as sent, plus checking the
  // blocks an append carries without node costs. With them, the message
  // line holds that check, and since the line is transit latency
  // (message_transit_ns), a follower's loop is not charged for it: a gap
  // in the model, which matters most for followers on shared cores.
  void received(std::uint32_t slot, const core::message& m);
  // What a message of `bytes` takes in transit beyond the network's
  // delay: the node costs' message line less the per-function figures
  // the loops are charged (0 without node costs). The line was fitted on
  // latency (wake-ups, the kernel's socket path, the other processes on
  // the machine), not on the loop's CPU: charged to the loop, it would
  // hold the leader's commit behind the sends that follow an
  // acknowledgement, which take microseconds on the machine.
  time_ns message_transit_ns(std::uint64_t bytes) const;
  // What a write of `bytes` by the node in `slot` takes beyond the
  // disk's time, from the node costs' write line for its role, at the
  // host's load now, times a draw from the line's spread when the profile
  // has one (0 without node costs).
  time_ns write_extra_ns(std::uint32_t slot, std::uint64_t bytes, rng& r) const;
  // The load on the node's machine now, as the node probe measures it:
  // transactions applied per second by every node on the machine (the
  // shared host's, or this node alone), in thousands, per core. Each
  // node's rate is a moving average over the last second or so
  // (load_window_ns).
  double host_load(std::uint32_t slot) const;
  // What a write in `parts` (per_tx: a write and a barrier each) takes
  // beyond its parts' disk time, from the node costs (0 for one part or
  // without them). The writer's own time, so it holds an epoll loop.
  time_ns part_extra_ns(std::uint32_t parts) const;
  // Charges the loop for a client's submission of `txs`.
  void submitted(std::uint32_t slot, std::size_t txs);
  // Charges the loop for `ns` of CPU work (stretched by other load).
  void spend(std::uint32_t slot, time_ns ns);
  // Holds the loop for `ns` without using CPU (a blocking write).
  void block(std::uint32_t slot, time_ns ns) { spent_[slot] += ns; }
  // Checking `txs` signatures on one verifier core: its time (stretched),
  // its CPU counted.
  time_ns verify_ns(std::uint32_t slot, std::size_t txs);
  // What the node's CPU did so far.
  const cpu_use& use(std::uint32_t slot) const { return use_[slot]; }

 private:
  // Per-transaction cost in nanoseconds of CPU.
  time_ns per_tx(double us, std::uint64_t txs) const {
    return static_cast<time_ns>(us * 1000.0 * static_cast<double>(txs));
  }
  // A line's cost in nanoseconds: `us` per block plus `tx_us` per
  // transaction.
  time_ns per_block(double us, double tx_us, std::uint64_t txs) const {
    return static_cast<time_ns>(us * 1000.0) + per_tx(tx_us, txs);
  }
  // The time `cpu_ns` of work takes on a loaded machine.
  time_ns stretched(time_ns cpu_ns) const {
    return static_cast<time_ns>(static_cast<double>(cpu_ns) * profile_.stretch);
  }
  // Half a message's cost, for `bytes` of it. `fitted`: the node costs'
  // message line when there is one; else the per-function figures.
  time_ns message_half(std::uint64_t bytes, bool fitted) const;

  // What observe() saw of a node last.
  struct watched {
    const runtime::node* node = nullptr;
    std::uint64_t last_index = 0;  // its log's length
    std::uint64_t height = 0;      // its ledger's height
    std::uint64_t applied = 0;     // the log index of its last applied block
    // Transactions it applied per second, an exponential moving average
    // with time constant load_window_ns, as of applied_at.
    double applied_tps = 0;
    time_ns applied_at = 0;
  };
  // The time constant of a node's applied-transaction rate.
  static constexpr time_ns load_window_ns = 1'000'000'000;
  // A node's applied-transaction rate decayed to now.
  double applied_tps_now(const watched& w) const;

  const event_queue& events_;
  cpu_profile profile_;
  std::vector<time_ns> spent_, busy_until_;
  std::vector<watched> watched_;
  std::vector<cpu_use> use_;
  // A shared machine's cores: when each is free next (empty: every node
  // has cores of its own).
  std::vector<time_ns> host_;
};

}  // namespace ringchain::dst
