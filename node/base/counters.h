// Counters as an enum-indexed array: bumping one is an array increment on
// the hot path, never a string lookup, and every counter's name comes from
// one table (the enum's to_string), found by argument-dependent lookup.
//
//   enum class my_counter { frames_in, frames_refused, count_ };
//   const char* to_string(my_counter c);
//   base::counter_set<my_counter> counters;
//   counters.add(my_counter::frames_in);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ringchain::base {

// Counters indexed by Enum, whose last enumerator is `count_`.
template <class Enum>
class counter_set {
 public:
  // How many counters the enum names.
  static constexpr std::size_t size = static_cast<std::size_t>(Enum::count_);

  // Adds n to counter e.
  void add(Enum e, std::uint64_t n = 1) { values_[static_cast<std::size_t>(e)] += n; }
  // The value of counter e.
  std::uint64_t get(Enum e) const { return values_[static_cast<std::size_t>(e)]; }
  // Calls f(name, value) for every counter, in enum order.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < size; ++i) f(to_string(static_cast<Enum>(i)), values_[i]);
  }

 private:
  std::array<std::uint64_t, size> values_{};
};

}  // namespace ringchain::base
