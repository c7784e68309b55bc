// Simulated time and the queue of events in time order, and the trace
// hash of everything that happened (sim_core.h bundles them with the rng
// and the nodes' CPUs).
//
// Determinism rests here: events run in (time, sequence) order, and every
// part draws from the same rng in the order the events run, so a seed
// replays exactly. A part that drew in another order would change every
// trace hash after it.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <vector>

#include "sim/dst/model.h"

namespace ringchain::dst {

// Simulated time in nanoseconds since the run's start.
using time_ns = std::uint64_t;
// A millisecond of simulated time.
inline constexpr time_ns ms_ns = 1'000'000;
// A second of simulated time.
inline constexpr time_ns s_ns = 1'000'000'000;
// Simulated wall clock at time 0, in microseconds: 2026-01-01T00:00:00Z.
inline constexpr std::uint64_t epoch_us = 1'767'225'600'000'000ULL;
// The slot of events that belong to the world, not to a node: they run
// whatever state the nodes are in.
inline constexpr std::uint32_t world_slot = ~0U;

// FNV-1a over 64-bit words: the event trace's hash. Pinned seeds' hashes
// are compared across changes, so what is added, and in which order, is
// part of the simulator's contract.
struct trace_hash {
  // The hash so far.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  // Adds one word, byte by byte from the least significant.
  void add(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 0x100000001b3ULL;
    }
  }
};

// A checker's finding: thrown by fail() and caught by the world loop,
// which ends the run with it.
struct violation_found {
  // Which checker fired and what it saw.
  std::string what;
};

// Ends the run with a violation.
[[noreturn]] void fail(const std::string& what);

// Something to do at a simulated time, for a node's process or the world.
struct event {
  // When it runs.
  time_ns at;
  // Ties at one time run in the order they were scheduled.
  std::uint64_t seq;
  // The node slot whose process runs it, or world_slot.
  std::uint32_t slot;
  // The node's incarnation when scheduled: an event of an earlier one
  // (the process crashed since) is dropped.
  std::uint32_t incarnation;
  // What it does.
  std::function<void()> fn;
  // Later events compare greater (the queue is a min-heap).
  bool operator>(const event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

// The simulated clock and its events. Each node slot has an incarnation,
// which a crash ends: events scheduled for a node carry its incarnation.
class event_queue {
 public:
  // A queue for `nodes` node slots, at time 0.
  explicit event_queue(std::uint32_t nodes) : incarnations_(nodes, 0) {}
  // The current simulated time: that of the event running.
  time_ns now() const { return now_; }
  // Schedules `fn` at `at` for the slot's current incarnation (or the world).
  void schedule(std::uint32_t slot, time_ns at, std::function<void()> fn);
  // The slot's incarnation.
  std::uint32_t incarnation(std::uint32_t slot) const { return incarnations_[slot]; }
  // Starts the slot's next incarnation: events already scheduled for it
  // (timers, disk completions, messages in flight) will be dropped.
  void next_incarnation(std::uint32_t slot) { ++incarnations_[slot]; }
  // Whether no event is waiting.
  bool empty() const { return queue_.empty(); }
  // Removes and returns the next event, without running it.
  event pop();
  // Puts an event back to run at `at` instead (a paused process's work).
  void defer(event e, time_ns at);
  // Moves the clock to the event's time; the world loop calls it before
  // running the event.
  void advance_to(time_ns at) { now_ = at; }
  // Drops every waiting event (their closures may hold node state).
  void clear();

 private:
  std::priority_queue<event, std::vector<event>, std::greater<>> queue_;
  std::vector<std::uint32_t> incarnations_;
  time_ns now_ = 0;
  std::uint64_t seq_ = 0;
};

}  // namespace ringchain::dst
