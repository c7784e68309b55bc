// A simulated node's I/O: its reactor (timers on the simulated clock,
// durable writes on a simulated disk, no sockets) and that disk (latency
// drawn from a disk profile, and the disk faults: torn writes at a crash,
// failed barriers, a full disk, a flipped byte in an earlier write).
//
// Writes really land in the node's files, so that a restarted node
// recovers from what its disk holds; only their timing and their failures
// are simulated.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "node/io/reactor.h"
#include "sim/dst/faults.h"
#include "sim/dst/model.h"
#include "sim/dst/sim_core.h"

namespace ringchain::dst {

// What a simulated disk asks of the world around its node.
struct disk_hooks {
  // A write completed and its on_done ran, with its result (0 or -errno).
  std::function<void(int result)> written;
  // A crash planted in a write (crash_in_next_write) strikes now; the node
  // is still in the incarnation that submitted the write.
  std::function<void()> crash;
};

// One node's disk. It outlives the node's incarnations: a restarted node
// finds the same files, and corruption picks among all past writes.
class sim_disk {
 public:
  // A disk of `profile` for the node in `slot`; faults as `mix` says;
  // completed writes counted in `counts` (the node's reactor's counters).
  sim_disk(sim_core& core, std::uint32_t slot, const disk_profile& profile, const fault_mix& mix,
           io::counters& counts)
      : core_(core), slot_(slot), profile_(profile), mix_(mix), counts_(counts) {}
  // Sets what the disk tells its world; before the first write.
  void set_hooks(disk_hooks hooks) { hooks_ = std::move(hooks); }
  // How long a write takes: the profile's latency for its bytes and
  // barriers (drawn now), plus its barrier_delay per barrier.
  time_ns duration(const io::file_write& w);
  // Starts a write at `start` that takes `d` on the disk (from
  // duration()) and `extra` beyond it (the node's own write path, which
  // holds no place at a shared disk); it completes then.
  void start(io::file_write& w, time_ns start, time_ns d, time_ns extra = 0);
  // Starts a write of several parts (per_tx) through a reactor whose loop
  // hands the disk one part at a time, as io_uring's does: each part's
  // completion is an event of the node's loop (so it waits while the loop
  // is busy), which starts the next part; `extra` as for start().
  void start_parts(io::file_write& w, time_ns start, time_ns extra);
  // A new incarnation of the node starts: no write in flight, no fault
  // armed.
  void restart();
  // The node crashes: with probability mix.torn_write, part of each write
  // in flight reaches its file. Returns whether a write was torn.
  bool crash();
  // Whether there are past writes to corrupt (the last one is never
  // picked: a torn final write is damage recovery may drop).
  bool corruptible() const { return writes_.size() >= 2; }
  // Flips one bit of one byte inside a completed write other than the
  // last, in a file that still exists; returns the file's path (empty when
  // no write qualifies), and what it did in *what, for the verbose log.
  std::string corrupt(std::string* what);
  // Faults: the next barrier fails with EIO, every write fails with
  // ENOSPC, or a crash strikes during the next write.
  void fail_next_barrier() { fail_next_barrier_ = true; }
  // Every write from now on fails with ENOSPC, until heal().
  void fill() { full_ = true; }
  // A crash strikes at a random moment of the next write.
  void crash_in_next_write() { crash_in_next_write_ = true; }
  // Faults stop: barriers succeed and the disk has room again.
  void heal() { fail_next_barrier_ = full_ = false; }
  // Whether a write failed in this incarnation: the node is expected to
  // stop.
  bool fault_fired() const { return fault_fired_; }

 private:
  // A completed write, kept to corrupt later.
  struct write_record {
    std::string path;
    std::uint64_t offset = 0, bytes = 0;
  };
  void complete(io::file_write& w);
  // Lands the whole write in its file and counts it.
  void land(const io::file_write& w);

  sim_core& core_;
  std::uint32_t slot_;
  const disk_profile& profile_;
  const fault_mix& mix_;
  io::counters& counts_;
  disk_hooks hooks_;
  // A write submitted and not completed (a node writes its block log and
  // its snapshot files at once).
  struct flight {
    // The write.
    io::file_write* write;
    // Its share of the shared disk's writers (sim_core::shared_disk_load).
    double share;
  };
  // The writes in flight.
  std::vector<flight> in_flight_;
  // The write's entry in in_flight_, or its end.
  std::vector<flight>::iterator find_flight(const io::file_write& w);
  // Takes every write in flight off the shared disk's load, and forgets
  // them (a crash or a restart).
  void unload_all();
  // The disk a write starting now takes: the shared disk's profile for
  // the writers at once besides its own `own` share, or the node's own.
  const disk_profile& disk_now(double own) const;
  // Puts a write in flight, its share of the shared disk's load from its
  // duration `d` (which counts its barrier delays).
  void load(io::file_write& w, time_ns d);
  // One part's time of a write split in parts: its disk time (with the
  // writers at once besides the write's own `own` share), its part cost
  // and its barrier delay.
  time_ns part_ns(const io::file_write& w, double own);
  // Part `done` of `w` is durable: the next part starts, or the write
  // completes after `extra`.
  void part_done(io::file_write& w, std::uint32_t done, time_ns extra);
  bool fail_next_barrier_ = false;
  bool full_ = false;
  bool fault_fired_ = false;
  bool crash_in_next_write_ = false;
  std::vector<write_record> writes_;
};

// A node's reactor: timers on the node's clock (simulated time plus the
// CPU time its running event spent, sim_cpu.h), durable writes on its
// simulated disk, no sockets (peers and clients go through the world).
// One per node slot, for the whole run.
//
// With blocking writes (the epoll backend's pwrite + fdatasync in the loop
// thread) a write starts once the node's event is over, as the epoll
// reactor posts it behind the current callback, and the loop is busy for
// its latency; with io_uring the loop goes on while the disk works.
class sim_reactor final : public io::reactor {
 public:
  // The reactor of the node in `slot`; `after_event` runs after each of
  // the node's timers fires (the node's loop, then the checkers).
  sim_reactor(sim_core& core, std::uint32_t slot, const disk_profile& profile, const fault_mix& mix,
              bool blocking_writes, std::function<void()> after_event)
      : core_(core),
        slot_(slot),
        blocking_writes_(blocking_writes),
        after_event_(std::move(after_event)),
        disk_(core, slot, profile, mix, counters_) {}
  // Always io::backend::sim.
  io::backend kind() const override { return io::backend::sim; }
  // One line for start-up logs.
  std::string describe() const override { return "sim (deterministic simulator)"; }
  // Never called: the world drives its nodes.
  void run_once(std::chrono::microseconds) override {
    RC_ASSERT_MSG(false, "the simulator drives its nodes; run_once is never called");
  }
  // The node's clock: simulated time plus what its running event spent
  // (the CPU model first charges the work the node did since it last
  // looked).
  std::uint64_t now_us() const override {
    if (core_.cpu.on()) core_.cpu.observe(slot_);
    return core_.cpu.now(slot_) / 1000;
  }
  // Simulated wall clock: the epoch plus simulated time.
  std::uint64_t wall_us() const override { return epoch_us + now_us(); }
  // Fires the timer `after` from now, unless disarmed or re-armed first.
  void arm(io::timer& t, std::chrono::nanoseconds after) override;
  // Cancels an armed timer.
  void disarm(io::timer& t) override;
  // Hands the write to the disk (blocking writes: when the event ends).
  void submit(io::file_write& w) override;
  // The node's event is over: blocking writes submitted during it run now,
  // the loop busy for each.
  void run_blocking_writes();
  // The node crashed: blocking writes not yet started are gone.
  void drop_blocking_writes() { blocking_.clear(); }
  // Sockets: a simulated node opens none (node_env::transport is set).
  void listen(io::listener&, int) override { no_sockets(); }
  // See listen.
  void resume_accept(io::listener&) override { no_sockets(); }
  // See listen.
  void open(io::stream&, int) override { no_sockets(); }
  // See listen.
  void connect(io::stream&, const sockaddr_in&) override { no_sockets(); }
  // See listen.
  void close(io::stream&) override { no_sockets(); }
  // The node's disk.
  sim_disk& disk() { return disk_; }

 protected:
  void wants_flush(io::stream&) override { no_sockets(); }

 private:
  [[noreturn]] static void no_sockets() {
    RC_ASSERT_MSG(false, "a simulated node opens no sockets (node_env::transport is set)");
    __builtin_unreachable();
  }
  sim_core& core_;
  std::uint32_t slot_;
  bool blocking_writes_;
  std::function<void()> after_event_;
  sim_disk disk_;
  // Blocking writes submitted by the running event.
  std::vector<io::file_write*> blocking_;
};

}  // namespace ringchain::dst
