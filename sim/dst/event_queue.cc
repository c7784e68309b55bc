#include "sim/dst/event_queue.h"

#include <cstdio>
#include <utility>

#include "sim/dst/sim_core.h"

namespace ringchain::dst {

void fail(const std::string& what) {
  throw violation_found{what};
}

void event_queue::schedule(std::uint32_t slot, time_ns at, std::function<void()> fn) {
  const std::uint32_t inc = slot == world_slot ? 0 : incarnations_[slot];
  queue_.push({at, ++seq_, slot, inc, std::move(fn)});
}

event event_queue::pop() {
  // The heap's top is const only so that its order cannot be broken; it is
  // popped right after the move.
  event e = std::move(const_cast<event&>(queue_.top()));
  queue_.pop();
  return e;
}

void event_queue::defer(event e, time_ns at) {
  e.at = at;
  e.seq = ++seq_;
  queue_.push(std::move(e));
}

void event_queue::clear() {
  while (!queue_.empty()) queue_.pop();
}

void sim_core::note(const std::string& what) const {
  if (verbose) {
    std::fprintf(stderr, "  %10.3f s  %s\n", static_cast<double>(events.now()) / 1e9, what.c_str());
  }
}

}  // namespace ringchain::dst
