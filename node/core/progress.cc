#include "node/core/progress.h"

#include <algorithm>

#include "node/base/assert.h"

namespace ringchain::core {

void inflights::add(std::uint64_t last_index, std::uint64_t bytes) {
  RC_ASSERT(!full());
  RC_ASSERT(count() == 0 || items_.back().last_index < last_index);
  items_.push_back({last_index, bytes});
  bytes_ += bytes;
}

void inflights::free_to(std::uint64_t index) {
  while (count() > 0 && items_[head_].last_index <= index) pop_front();
}

void inflights::free_first() {
  if (count() > 0) pop_front();
}

// Drops the oldest append; the freed prefix is erased once it is half the
// vector, so each append is moved at most once on average.
void inflights::pop_front() {
  bytes_ -= items_[head_].bytes;
  ++head_;
  if (head_ == items_.size()) {
    items_.clear();
    head_ = 0;
  } else if (head_ * 2 >= items_.size()) {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

bool progress::acknowledge(std::uint64_t index) {
  bool moved = false;
  if (index > match) {
    match = index;
    moved = true;
  }
  if (index >= match) probe_sent = false;
  next = std::max(next, index + 1);
  window.free_to(index);
  return moved;
}

bool progress::back_off(std::uint64_t rejected, std::uint64_t next_to_try) {
  // A snapshot is on its way: rejections answer appends sent before it.
  if (state == progress_state::snapshot) return false;
  if (state == progress_state::replicate) {
    // A rejection at or below match answers an old append.
    if (rejected <= match) return false;
    next = std::max(match + 1, std::min(next_to_try, rejected));
    become_probe();
    return true;
  }
  // In probe state only the answer to the last probe counts.
  if (next == 0 || rejected != next - 1) return false;
  next = std::max(match + 1, std::min(next_to_try, rejected));
  probe_sent = false;
  return true;
}

void progress::become_probe() {
  state = progress_state::probe;
  pending_snapshot = 0;
  probe_sent = false;
  window.reset();
  next = std::max(next, match + 1);
}

void progress::become_snapshot(std::uint64_t index) {
  state = progress_state::snapshot;
  pending_snapshot = index;
  probe_sent = false;
  window.reset();
}

void progress::become_replicate() {
  state = progress_state::replicate;
  probe_sent = false;
  window.reset();
  next = match + 1;
}

void progress::sent(std::uint64_t last, std::uint64_t bytes) {
  if (state == progress_state::replicate) {
    if (last >= next) {
      window.add(last, bytes);
      next = last + 1;
    }
  } else {
    probe_sent = true;
  }
}

}  // namespace ringchain::core
