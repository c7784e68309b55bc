// The simulated world: N real nodes (core, chain, block log, runtime) in
// one process and one thread, around the world loop that runs their
// events in simulated time. It owns the parts (sim_io.h, sim_network.h,
// faults.h, load.h, checkers.h), starts, crashes and restarts the nodes,
// and runs the two phases of dst.h: the safety phase with faults, then the
// heal and the liveness phase (or a fixed length, for experiments).
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "node/runtime/node.h"
#include "sim/dst/checkers.h"
#include "sim/dst/dst.h"
#include "sim/dst/faults.h"
#include "sim/dst/load.h"
#include "sim/dst/sim_core.h"
#include "sim/dst/sim_io.h"
#include "sim/dst/sim_network.h"

namespace ringchain::dst {

// One run of one seed. Made, run once, destroyed: the destructor removes
// the nodes' files unless options::keep_files.
class world final : public fault_target {
 public:
  // A world for valid options (validate(o) is ok); nothing runs yet.
  explicit world(const options& o);
  // Destroys the nodes, drops the events still queued, and removes the world's
  // files unless options::keep_files is set.
  ~world() override;
  world(const world&) = delete;
  world& operator=(const world&) = delete;
  // Runs the seed to its end, or to the first violation.
  result run();

  // fault_target: what the fault schedule acts on.
  std::uint32_t random_up_node() override;
  // fault_target: the running leader of the highest term.
  std::uint32_t leader_slot() const override;
  // fault_target: kills the node now and restarts it after 0.1-3.1 s.
  void crash_and_restart(std::uint32_t slot, const char* why) override;
  // fault_target: stops the node's process until `until`.
  void pause(std::uint32_t slot, time_ns until) override { slots_[slot].paused_until = until; }
  // fault_target: the node's disk.
  sim_disk& disk(std::uint32_t slot) override { return slots_[slot].reactor->disk(); }
  // fault_target: starts replacing a voter with a spare (world_membership.cc).
  bool replace_node() override;

 private:
  // A node slot: the node's settings, its I/O, and its process (null while
  // down). Slots live for the whole run; nodes come and go.
  struct node_slot {
    std::uint64_t id = 0;
    runtime::node_config cfg;
    std::unique_ptr<sim_reactor> reactor;
    std::unique_ptr<sim_transport> transport;
    std::unique_ptr<runtime::node> node;  // null while down
    bool lost = false;                    // refused to start after a planted corruption
    bool restart_pending = false;
    time_ns paused_until = 0;
    // Started at least once (spares start when they join).
    bool started = false;
    // Removed from the cluster by a membership change: down for good.
    bool retired = false;
    // The node's commit index when the checkers last saw it.
    std::uint64_t checked_commit = 0;
  };

  // A replacement under way (world_membership.cc): the spare joins as a
  // learner, is promoted once caught up, then the victim is removed and
  // retired. Each step is proposed to whichever node leads, every 100 ms,
  // until the leader's membership shows it.
  struct replacement {
    enum class step : std::uint8_t { idle, adding, promoting, removing };
    step at = step::idle;
    std::uint32_t spare = 0;
    std::uint32_t victim = 0;
  };
  void drive_replacement();
  void propose(std::uint32_t leader, raftpb::ConfChange::Type type, std::uint32_t slot);
  // Whether the slot takes part in the run (started, not retired).
  bool in_play(std::uint32_t i) const { return slots_[i].started && !slots_[i].retired; }

  // Nodes.
  void set_up_slot(std::uint32_t i);
  void start_node(std::uint32_t i, bool first);
  std::string maybe_corrupt(std::uint32_t i);
  void check_started_despite(std::uint32_t i, const std::string& path);
  void crash(std::uint32_t i, const char* why);
  void restart_at(std::uint32_t i, time_ns at);
  void after_event(std::uint32_t i);
  void end_event(std::uint32_t i);
  void on_written(std::uint32_t i, int result);
  void on_stopped(std::uint32_t i);
  // Phases.
  void schedule_phases();
  void loop();
  void heal();
  void probe();
  // Checkers.
  void check_node(std::uint32_t i);
  std::vector<node_view> views() const;
  std::vector<result::node_io> work() const;
  void collect(result& res) const;

  options o_;
  // Nodes the cluster starts with, and slots in all (with the spares that
  // replacements bring in).
  std::uint32_t n_;
  std::uint32_t total_;
  replacement replacing_;
  fault_mix mix_;
  std::filesystem::path dir_;
  std::uint64_t block_ms_ = 0;  // the least time between blocks
  sim_core core_;
  fault_counts injected_;
  sim_network network_;
  std::vector<node_slot> slots_;
  fault_schedule faults_;
  safety_checkers safety_;
  liveness_checker liveness_;
  std::unique_ptr<sim_client> client_;
  // Each node's work at the window's start, then over the window.
  std::vector<result::node_io> window_;
  std::uint64_t events_ = 0;
  // Snapshots taken and installed by node incarnations that ended.
  std::uint64_t snapshots_taken_ = 0, snapshots_installed_ = 0;
  void count_snapshots(const runtime::node& n);
  bool done_ = false;
};

}  // namespace ringchain::dst
