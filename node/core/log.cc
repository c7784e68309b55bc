#include "node/core/log.h"

#include <algorithm>

#include "node/base/assert.h"

namespace ringchain::core {

void raft_log::restore(std::vector<entry> entries, std::uint64_t committed, std::uint64_t applied) {
  entries_ = std::move(entries);
  bytes_.assign(1, 0);
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    RC_ASSERT(entries_[i].index() == i + 1);
    RC_ASSERT(i == 0 || entries_[i].term() >= entries_[i - 1].term());
    bytes_.push_back(bytes_.back() + entries_[i].data().size());
  }
  persisting_.clear();
  handed_ = durable_ = last_index();
  committed_ = std::min(committed, last_index());
  applied_ = std::min(applied, committed_);
}

std::optional<std::uint64_t> raft_log::term(std::uint64_t index) const {
  if (index == 0) return 0;
  if (index > last_index()) return std::nullopt;
  return entries_[index - 1].term();
}

bool raft_log::match_term(std::uint64_t index, std::uint64_t t) const {
  auto have = term(index);
  return have.has_value() && *have == t;
}

bool raft_log::is_up_to_date(std::uint64_t index, std::uint64_t t) const {
  return t > last_term() || (t == last_term() && index >= last_index());
}

std::uint64_t raft_log::find_conflict_by_term(std::uint64_t index, std::uint64_t t) const {
  index = std::min(index, last_index());
  while (index > 0 && entries_[index - 1].term() > t) --index;
  return index;
}

const entry& raft_log::at(std::uint64_t index) const {
  RC_ASSERT(index >= 1 && index <= last_index());
  return entries_[index - 1];
}

void raft_log::append(entry e) {
  RC_ASSERT(e.index() == last_index() + 1);
  RC_ASSERT(e.term() >= last_term());
  bytes_.push_back(bytes_.back() + e.data().size());
  entries_.push_back(std::move(e));
}

raft_log::append_outcome raft_log::maybe_append(
    std::uint64_t prev_index, std::uint64_t prev_term,
    const google::protobuf::RepeatedPtrField<entry>& entries) {
  if (!match_term(prev_index, prev_term)) return append_outcome::mismatch;
  // Skip entries already present; the first that differs in term, or lies
  // beyond our log, starts the part to write (Raft §5.3, receiver step 3).
  int i = 0;
  while (i < entries.size() && match_term(entries[i].index(), entries[i].term())) {
    ++i;
  }
  if (i == entries.size()) return append_outcome::appended;
  const std::uint64_t first_new = entries[i].index();
  if (first_new <= committed_) return append_outcome::conflicts_committed;
  if (first_new <= last_index()) truncate_after(first_new - 1);
  for (; i < entries.size(); ++i) append(entries[i]);
  return append_outcome::appended;
}

void raft_log::truncate_after(std::uint64_t index) {
  RC_ASSERT(index >= committed_);
  entries_.resize(index);
  bytes_.resize(index + 1);
  handed_ = std::min(handed_, index);
  durable_ = std::min(durable_, index);
  // Writes in flight still make their entries at or below `index` durable;
  // what they wrote above it is gone from the log.
  for (auto& r : persisting_) r.last_index = std::min(r.last_index, index);
}

void raft_log::commit_to(std::uint64_t index) {
  if (index <= committed_) return;
  RC_ASSERT(index <= last_index());
  committed_ = index;
}

void raft_log::slice(std::uint64_t lo, std::size_t max_count, std::uint64_t max_bytes,
                     google::protobuf::RepeatedPtrField<entry>* out) const {
  std::uint64_t bytes = 0;
  for (std::uint64_t i = lo; i <= last_index() && out->size() < static_cast<int>(max_count); ++i) {
    const entry& e = entries_[i - 1];
    if (out->size() > 0 && bytes + e.data().size() > max_bytes) break;
    bytes += e.data().size();
    *out->Add() = e;
  }
}

std::uint64_t raft_log::bytes_between(std::uint64_t lo, std::uint64_t hi) const {
  RC_ASSERT(lo <= hi && hi <= last_index());
  return bytes_[hi] - bytes_[lo];
}

void raft_log::mark_handed(std::uint64_t seq) {
  RC_ASSERT(persisting_.empty() || persisting_.back().seq < seq);
  handed_ = last_index();
  persisting_.push_back({seq, handed_});
}

void raft_log::mark_durable(std::uint64_t seq) {
  // Storage completes writes in the order it was handed them, so every
  // record up to `seq` is durable now.
  while (!persisting_.empty() && persisting_.front().seq <= seq) {
    durable_ = std::max(durable_, persisting_.front().last_index);
    persisting_.pop_front();
  }
  RC_ASSERT(durable_ <= handed_);
}

std::uint64_t raft_log::apply_bound() const {
  return std::min(committed_, durable_);
}

bool raft_log::has_unapplied() const {
  return applied_ < apply_bound();
}

void raft_log::mark_applied(std::uint64_t index) {
  RC_ASSERT(index >= applied_ && index <= apply_bound());
  applied_ = index;
}

}  // namespace ringchain::core
