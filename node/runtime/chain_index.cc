#include "node/runtime/chain_index.h"

#include "node/base/limits.h"

namespace ringchain::runtime {

void chain_index::record(const block_ref& ref) {
  auto [it, fresh] = by_index_.insert_or_assign(ref.index, ref);
  (void)it;
  (void)fresh;
  by_height_.emplace(ref.height, ref.index);
}

void chain_index::record_log(const std::vector<core::entry>& entries) {
  for (const core::entry& e : entries) {
    if (e.type() != raftpb::ENTRY_NORMAL) continue;
    chain::block b;
    if (!b.ParseFromString(e.data())) continue;
    record({e.index(), e.term(), b.header().height(), chain::header_hash(b.header())});
  }
}

void chain_index::reset(const block_ref& base) {
  by_index_.clear();
  by_height_.clear();
  base_ = base;
}

void chain_index::compact(std::uint64_t index) {
  auto end = by_index_.upper_bound(index);
  if (end == by_index_.begin()) return;
  // Compacted entries are committed: the last record among them is the
  // block the rest of the log chains after.
  base_ = std::prev(end)->second;
  for (auto it = by_index_.begin(); it != end; ++it) {
    auto [first, last] = by_height_.equal_range(it->second.height);
    for (auto h = first; h != last;)
      h = h->second == it->first ? by_height_.erase(h) : std::next(h);
  }
  by_index_.erase(by_index_.begin(), end);
}

bool chain_index::holds(const core::raft_log& log, const block_ref& r) const {
  return r.index <= log.last_index() && log.match_term(r.index, r.term);
}

std::optional<chain_index::block_ref> chain_index::at_or_before(const core::raft_log& log,
                                                                std::uint64_t index) const {
  for (auto it = by_index_.upper_bound(index); it != by_index_.begin();) {
    --it;
    if (holds(log, it->second)) return it->second;
  }
  if (base_.height > 0 && base_.index <= index) return base_;
  return std::nullopt;
}

std::optional<chain_index::block_ref> chain_index::by_height(const core::raft_log& log,
                                                             std::uint64_t height,
                                                             std::uint64_t index_max) const {
  auto [first, last] = by_height_.equal_range(height);
  for (auto it = first; it != last; ++it) {
    if (it->second > index_max) continue;
    auto found = by_index_.find(it->second);
    if (found != by_index_.end() && found->second.height == height && holds(log, found->second)) {
      return found->second;
    }
  }
  return std::nullopt;
}

base::status chain_index::check_append(const core::message& m, const core::raft_log& log) {
  if (m.type() != raftpb::MSG_APPEND || m.entries_size() == 0) return {};
  // The block before the first entry: from this node's log when it agrees
  // with the leader's up to the append's start; unknown otherwise (the
  // core then refuses the append and the leader backs up).
  std::optional<block_ref> prev;
  bool prev_known = false;
  if (m.index() <= log.last_index() && log.match_term(m.index(), m.log_term())) {
    prev = at_or_before(log, m.index());
    prev_known = true;
  }
  std::vector<block_ref> found;
  for (const core::entry& e : m.entries()) {
    const std::string where = "entry " + std::to_string(e.index());
    if (e.type() == raftpb::ENTRY_EMPTY) {
      if (!e.data().empty()) return base::fail(where + " is empty by type but carries data");
      continue;
    }
    if (e.type() == raftpb::ENTRY_CONF_CHANGE) {
      // The core checks the change against the membership when it applies
      // it; here it must parse, name a node and carry bounded addresses.
      raftpb::ConfChange cc;
      if (!cc.ParseFromString(e.data()) || cc.node() == 0 ||
          !raftpb::ConfChange::Type_IsValid(cc.type()) ||
          cc.peer_address().size() > limits::member_address_bytes_max ||
          cc.client_address().size() > limits::member_address_bytes_max) {
        return base::fail(where + " is a membership change that does not parse or fit");
      }
      continue;
    }
    if (e.type() != raftpb::ENTRY_NORMAL) return base::fail(where + " is of no known type");
    chain::block b;
    if (!b.ParseFromString(e.data())) return base::fail(where + " does not hold a block");
    const chain::block_error err = prev_known ? chain::check_link(b, prev ? prev->height + 1 : 1,
                                                                  prev ? prev->hash : chain::hash{})
                                              : chain::check_body(b);
    if (err != chain::block_error::none) {
      return base::fail(where + " holds block " + std::to_string(b.header().height()) +
                        " that does not fit: " + chain::to_string(err));
    }
    prev = block_ref{e.index(), e.term(), b.header().height(), chain::header_hash(b.header())};
    prev_known = true;
    found.push_back(*prev);
  }
  for (const block_ref& r : found) record(r);
  return {};
}

}  // namespace ringchain::runtime
