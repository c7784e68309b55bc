// A view of a std::map frozen at one moment and read in pieces while the
// map keeps changing: before a key is written, its value at the freeze is
// saved unless the reader has passed it already (copy-on-write per key).
// The saved values are what the reader has yet to pass, so they stay few
// when the reader keeps up.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace ringchain::chain {

// A read of a map as it was when the read began, while the map keeps
// being written (the ledger's copy-on-write export for snapshots; see the
// file comment).
template <typename Value>
class frozen_map {
 public:
  using map = std::map<std::string, Value>;

  // Freezes `live` as it is now; the reader starts before its first key.
  void begin() {
    active_ = true;
    done_ = false;
    cursor_.reset();
    saved_.clear();
  }
  // Stops reading and forgets what was saved.
  void end() {
    active_ = false;
    saved_.clear();
  }
  // Whether a read is under way (between begin() and end()).
  bool active() const { return active_; }
  // Whether the read reached the end of the map.
  bool done() const { return done_; }

  // Call before `key` of `live` is written or inserted.
  void before_write(const map& live, const std::string& key) {
    if (!active_ || (cursor_ && key <= *cursor_) || saved_.count(key) != 0) return;
    auto it = live.find(key);
    saved_.emplace(key, it == live.end() ? std::nullopt : std::optional<Value>(it->second));
  }

  // Hands each pair of the frozen view after the cursor to `emit(key,
  // value)`, in key order, until `emit` has been given `bytes_max` bytes
  // (by its return value) or the view ends; returns whether it ended.
  template <typename Emit>
  bool read(const map& live, std::uint64_t bytes_max, Emit emit) {
    auto it = cursor_ ? live.upper_bound(*cursor_) : live.begin();
    std::uint64_t bytes = 0;
    for (; it != live.end() && bytes < bytes_max; ++it) {
      auto s = saved_.find(it->first);
      if (s == saved_.end()) {
        bytes += emit(it->first, it->second);
      } else {
        // Written since the freeze: its value then, or absent then.
        if (s->second) bytes += emit(it->first, *s->second);
        saved_.erase(s);
      }
      cursor_ = it->first;
    }
    done_ = it == live.end();
    return done_;
  }

 private:
  bool active_ = false;
  bool done_ = false;
  // The last key handed out.
  std::optional<std::string> cursor_;
  // Values at the freeze of keys written since, not yet passed; nothing
  // for keys inserted since.
  std::map<std::string, std::optional<Value>> saved_;
};

}  // namespace ringchain::chain
