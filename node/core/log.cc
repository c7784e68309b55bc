#include "node/core/log.h"

#include <algorithm>

#include "node/base/assert.h"

namespace ringchain::core {

void raft_log::restore(std::uint64_t compacted_index, std::uint64_t compacted_term,
                       std::vector<entry> entries, std::uint64_t committed, std::uint64_t applied) {
  compacted_index_ = compacted_index;
  compacted_term_ = compacted_term;
  entries_.clear();
  bytes_.assign(1, 0);
  std::uint64_t prev_term = compacted_term;
  for (entry& e : entries) {
    RC_ASSERT(e.index() == last_index() + 1);
    RC_ASSERT(e.term() >= prev_term);
    prev_term = e.term();
    bytes_.push_back(bytes_.back() + e.data().size());
    entries_.push_back(std::move(e));
  }
  persisting_.clear();
  handed_ = durable_ = last_index();
  committed_ = std::clamp(committed, compacted_index, last_index());
  applied_ = std::clamp(applied, compacted_index, committed_);
}

std::optional<std::uint64_t> raft_log::term(std::uint64_t index) const {
  if (index == compacted_index_) return compacted_term_;
  if (index < compacted_index_ || index > last_index()) return std::nullopt;
  return entries_[index - compacted_index_ - 1].term();
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
  if (index <= compacted_index_) return index;
  while (index > compacted_index_ && at(index).term() > t) --index;
  return index;
}

const entry& raft_log::at(std::uint64_t index) const {
  RC_ASSERT(index > compacted_index_ && index <= last_index());
  return entries_[index - compacted_index_ - 1];
}

void raft_log::append(entry e) {
  RC_ASSERT(e.index() == last_index() + 1);
  RC_ASSERT(e.term() >= last_term());
  bytes_.push_back(bytes_.back() + e.data().size());
  entries_.push_back(std::move(e));
}

raft_log::append_result raft_log::maybe_append(
    std::uint64_t prev_index, std::uint64_t prev_term,
    const google::protobuf::RepeatedPtrField<entry>& entries, std::uint64_t entries_max,
    std::uint64_t bytes_max) {
  using code = append_result::code;
  if (!match_term(prev_index, prev_term)) return {code::mismatch, 0};
  // Skip entries already present; the first that differs in term, or lies
  // beyond our log, starts the part to write (Raft §5.3, receiver step 3).
  int i = 0;
  while (i < entries.size() && match_term(entries[i].index(), entries[i].term())) ++i;
  if (i == entries.size()) return {code::appended, prev_index + entries.size()};
  const std::uint64_t first_new = entries[i].index();
  if (first_new <= committed_) return {code::conflicts_committed, 0};
  if (first_new <= last_index()) truncate_after(first_new - 1);
  for (; i < entries.size(); ++i) {
    const entry& e = entries[i];
    const bool room = size() < entries_max && size_bytes() + e.data().size() <= bytes_max;
    if (!room && size() > 0) break;
    append(e);
  }
  return {code::appended, last_index()};
}

void raft_log::truncate_after(std::uint64_t index) {
  RC_ASSERT(index >= committed_ && index >= compacted_index_);
  entries_.resize(index - compacted_index_);
  bytes_.resize(index - compacted_index_ + 1);
  handed_ = std::min(handed_, index);
  durable_ = std::min(durable_, index);
  cap_persisting(index);
}

void raft_log::cap_persisting(std::uint64_t index) {
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
  RC_ASSERT(lo > compacted_index_);
  std::uint64_t bytes = 0;
  for (std::uint64_t i = lo; i <= last_index() && out->size() < static_cast<int>(max_count); ++i) {
    const entry& e = at(i);
    if (out->size() > 0 && bytes + e.data().size() > max_bytes) break;
    bytes += e.data().size();
    *out->Add() = e;
  }
}

std::uint64_t raft_log::bytes_between(std::uint64_t lo, std::uint64_t hi) const {
  RC_ASSERT(compacted_index_ <= lo && lo <= hi && hi <= last_index());
  return bytes_[hi - compacted_index_] - bytes_[lo - compacted_index_];
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

void raft_log::compact(std::uint64_t index) {
  RC_ASSERT(index >= compacted_index_ && index <= applied_);
  compacted_term_ = term(index).value();
  while (compacted_index_ < index) {
    entries_.pop_front();
    bytes_.pop_front();
    ++compacted_index_;
  }
}

void raft_log::install(std::uint64_t index, std::uint64_t term) {
  RC_ASSERT(index > committed_);
  entries_.clear();
  bytes_.assign(1, 0);
  compacted_index_ = index;
  compacted_term_ = term;
  committed_ = applied_ = durable_ = handed_ = index;
  cap_persisting(index);
}

}  // namespace ringchain::core
