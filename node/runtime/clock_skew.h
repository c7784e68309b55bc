// A node's own clock error, for experiments: an offset of its wall clock
// (what block timestamps read) and a drift of its timers' rate (a fast
// clock's ticks and rounds come early). It lives in the node's time source,
// as CometBFT's does, so process, container and simulated experiments
// mean the same thing. Off by default; set through the admin port.
#pragma once

#include <chrono>
#include <cstdint>

#include "node/io/reactor.h"

namespace ringchain::runtime {

// One node's clock error (see the top of this file); both zero, no error.
// The node's time readings and timer intervals go through it.
struct clock_skew {
  // Added to the wall clock.
  std::int64_t offset_ms = 0;
  // The timers' rate error: +1000 makes this node's intervals 0.1% short.
  std::int32_t drift_ppm = 0;

  // The wall clock as this node reads it (µs since the epoch).
  std::uint64_t wall_us(const io::reactor& r) const {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(r.wall_us()) + offset_ms * 1000);
  }
  // How long an interval this node believes is `d` really lasts.
  std::chrono::microseconds interval(std::chrono::microseconds d) const {
    return std::chrono::microseconds(d.count() * 1'000'000 / (1'000'000 + drift_ppm));
  }
};

// Drift within ±10% at most: timers stay meaningful.
inline constexpr std::int32_t clock_drift_ppm_max = 100'000;

}  // namespace ringchain::runtime
