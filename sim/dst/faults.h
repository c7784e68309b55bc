// The simulator's faults: their kinds, the mix a run injects (each seed's
// own with swarm testing, or one given on the command line), what was
// injected, and the schedule that injects them during the safety phase.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node/base/result.h"
#include "sim/dst/sim_core.h"

namespace ringchain::dst {

class sim_disk;
class sim_network;

// Every kind of fault the simulator knows, in the order mixes print them.
// Some are rates of injected events (crash, partition...), some are
// probabilities checked at a moment (loss, torn_write...), and two are
// switches (reorder, slow_disks). One table (faults.cc) maps kinds to
// their names for parsing, printing and counting.
enum class fault_kind : std::uint8_t {
  loss,            // a message is dropped
  duplicate,       // a message is delivered twice
  reorder,         // messages of one link may overtake each other
  partition,       // a random split into two sides
  asymmetric,      // some directed links cut
  isolate_leader,  // the leader cut from everyone
  clog,            // one directed link slowed by 10 ms-1 s
  crash,           // kill and later restart; unsynced writes lost
  pause,           // stop for 50 ms to 2 s
  torn_write,      // at a crash, the in-flight write lands in part
  barrier_error,   // a node's next fdatasync fails (EIO)
  disk_full,       // a node's next write fails (ENOSPC)
  corrupt,         // at a restart, a byte of an earlier write flips
  slow_disks,      // disks draw from slower profiles
  membership,      // a node replaced: a spare joins, is promoted, a voter leaves
};

// How many fault kinds there are.
inline constexpr std::size_t fault_kind_count = 15;

// The kind's name ("isolate_leader"): what --faults, summaries and counts
// print. Fixed: replay commands and CI logs quote these names.
std::string_view to_string(fault_kind k);

// The kind named `name`, or nothing for an unknown name.
std::optional<fault_kind> parse_fault_kind(std::string_view name);

// Which faults a run injects and how often. With swarm testing each seed
// draws its own mix (swarm_faults); rates are per second of simulated time
// over the whole cluster. heal() turns the probabilities off.
struct fault_mix {
  // Network.
  double loss = 0;                  // probability a message is dropped
  double duplicate = 0;             // probability a message is delivered twice
  bool reorder = false;             // messages of one link may overtake each other
  double partition_per_s = 0;       // a random split into two sides
  double asymmetric_per_s = 0;      // some directed links cut
  double isolate_leader_per_s = 0;  // the leader cut from everyone
  double clog_per_s = 0;            // one directed link slowed by 10 ms-1 s
  // Processes.
  double crash_per_s = 0;  // kill and later restart; unsynced writes lost
  double pause_per_s = 0;  // stop for 50 ms to 2 s
  // Disks.
  double torn_write = 0;           // at a crash, the in-flight write lands in part
  double barrier_error_per_s = 0;  // a node's next fdatasync fails (EIO)
  double disk_full_per_s = 0;      // a node's next write fails (ENOSPC)
  double corrupt = 0;              // at a restart, a byte of an earlier write flips
  bool slow_disks = false;         // disks draw from slower profiles
  // Membership.
  double membership_per_s = 0;  // a node replaced through membership changes

  // "crash=0.2,loss=0.02,reorder" (what parse_faults reads), "none" when
  // empty: rounded for summaries, or exact for replay commands.
  std::string spec(bool exact = false) const;
  // The names swarm_faults and parse_faults use, in fault_kind order.
  static std::vector<std::string> kinds();
};

// The seed's own fault mix: each kind is on with probability 1/2, at an
// intensity drawn from its range.
fault_mix swarm_faults(std::uint64_t seed);

// A mix of the named kinds (comma separated, from fault_mix::kinds()) at
// middling intensities, or kind=value; the error names the item at fault
// ("unknown fault kind \"meteor\"; known: ...").
base::result<fault_mix> parse_faults(const std::string& text);

// How many faults of each kind a run injected; kinds never injected count
// 0. Runs add theirs up for a sweep's total.
class fault_counts {
 public:
  // The count of one kind.
  std::uint64_t& operator[](fault_kind k) { return n_[static_cast<std::size_t>(k)]; }
  // The count of one kind.
  std::uint64_t operator[](fault_kind k) const { return n_[static_cast<std::size_t>(k)]; }
  // Adds another run's counts.
  fault_counts& operator+=(const fault_counts& o);
  // Whether no fault was injected.
  bool empty() const;
  // " asymmetric 3, crash 5": the kinds injected, by name in alphabetical
  // order; empty when none was (what the sweep's total line prints).
  std::string summary() const;
  // Same counts for every kind.
  bool operator==(const fault_counts&) const = default;

 private:
  std::array<std::uint64_t, fault_kind_count> n_{};
};

// What the fault schedule acts on besides the network: the nodes, as the
// world keeps them.
class fault_target {
 public:
  virtual ~fault_target() = default;
  // A random running node's slot, or world_slot when none runs.
  virtual std::uint32_t random_up_node() = 0;
  // The slot of the running leader of the highest term, or world_slot.
  virtual std::uint32_t leader_slot() const = 0;
  // Kills the node now and restarts it later.
  virtual void crash_and_restart(std::uint32_t slot, const char* why) = 0;
  // Stops the node's process until `until`.
  virtual void pause(std::uint32_t slot, time_ns until) = 0;
  // The node's disk.
  virtual sim_disk& disk(std::uint32_t slot) = 0;
  // Starts replacing a voter with a spare node through membership changes
  // (add as a learner, promote, remove the voter); false when a
  // replacement is under way or no spare is left.
  virtual bool replace_node() = 0;
};

// The schedule of injected faults: each kind with a rate is a Poisson
// process on the simulated clock until heal(); network faults undo
// themselves after 50 ms to 4 s (pauses end after 50 ms to 2 s).
class fault_schedule {
 public:
  // `mix` is read at each injection (crash draws on mix.torn_write);
  // counts go to `counts`.
  fault_schedule(sim_core& core, sim_network& network, fault_target& target, const fault_mix& mix,
                 fault_counts& counts);
  // Starts the Poisson process of every kind with a rate.
  void start();
  // Faults stop: no more injections, and pending undos are dropped (the
  // world resets what they would undo).
  void heal();
  // Whether faults are still being injected (before the heal).
  bool on() const { return on_; }

 private:
  void schedule(fault_kind kind, double per_s);
  void inject(fault_kind kind);
  bool inject_crash();
  void inject_partition(time_ns dur);
  void inject_asymmetric(time_ns dur);
  bool inject_isolate_leader(time_ns dur);
  bool inject_clog(time_ns dur);
  // Runs `undo` after `dur` unless the faults healed first.
  void later(time_ns dur, std::function<void()> undo);
  // Cuts the directed links for `dur`.
  void cut_for(time_ns dur, std::vector<std::pair<std::uint32_t, std::uint32_t>> links);

  sim_core& core_;
  sim_network& network_;
  fault_target& target_;
  const fault_mix& mix_;
  fault_counts& counts_;
  bool on_ = true;
  std::uint64_t epoch_ = 0;  // counts heals: undos of an earlier epoch are dropped
};

}  // namespace ringchain::dst
