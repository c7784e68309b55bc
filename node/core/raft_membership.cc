// Membership: the voters and the learners, and changes to them one server
// at a time (Raft thesis §4.1 and §4.2.1), in etcd-io/raft's shape. A change
// is an ENTRY_CONF_CHANGE in the log; it takes effect on each node when the
// node applies it, and a leader proposes the next one only once the last
// one is applied. A learner receives the log and counts toward no quorum,
// so a new node catches up before it can cost the cluster its majority.
#include <algorithm>

#include "node/base/assert.h"
#include "node/base/limits.h"
#include "node/core/raft.h"

namespace ringchain::core {

namespace {

std::vector<std::uint64_t> sorted_unique(std::vector<std::uint64_t> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace

bool raft::is_voter(std::uint64_t node) const {
  return std::binary_search(voters_.begin(), voters_.end(), node);
}

raftpb::ConfState raft::conf() const {
  raftpb::ConfState c;
  for (std::uint64_t v : voters_) c.add_voters(v);
  for (std::uint64_t l : learners_) c.add_learners(l);
  for (const auto& [node, address] : addresses_) {
    if (is_member(node)) *c.add_addresses() = address;
  }
  return c;
}

void raft::set_membership(const raftpb::ConfState& c) {
  addresses_.clear();
  for (const raftpb::MemberAddress& a : c.addresses()) addresses_[a.node()] = a;
  set_membership({c.voters().begin(), c.voters().end()},
                 {c.learners().begin(), c.learners().end()});
}

void raft::set_membership(std::vector<std::uint64_t> voters, std::vector<std::uint64_t> learners) {
  voters = sorted_unique(std::move(voters));
  learners = sorted_unique(std::move(learners));
  // A node listed as both is a voter.
  std::erase_if(learners, [&voters](std::uint64_t l) {
    return std::binary_search(voters.begin(), voters.end(), l);
  });
  std::vector<std::uint64_t> members = voters;
  members.insert(members.end(), learners.begin(), learners.end());
  std::vector<progress> progress;
  std::vector<std::int8_t> votes;
  std::unordered_map<std::uint64_t, std::size_t> slot;
  progress.reserve(members.size());
  for (std::size_t i = 0; i < members.size(); ++i) {
    slot.emplace(members[i], i);
    if (auto old = slot_.find(members[i]); old != slot_.end()) {
      progress.push_back(std::move(progress_[old->second]));
      votes.push_back(votes_[old->second]);
      continue;
    }
    // A member new to this node: a leader probes it from its log's end.
    progress.emplace_back(log_.last_index() + 1, cfg_.inflight_appends, cfg_.inflight_bytes);
    progress.back().recent_active = true;
    votes.push_back(0);
  }
  voters_ = std::move(voters);
  learners_ = std::move(learners);
  members_ = std::move(members);
  slot_ = std::move(slot);
  progress_ = std::move(progress);
  votes_ = std::move(votes);
}

proposal::code raft::check_conf_change(const raftpb::ConfChange& cc) const {
  const std::uint64_t n = cc.node();
  if (n == 0 || cc.peer_address().size() > limits::member_address_bytes_max ||
      cc.client_address().size() > limits::member_address_bytes_max) {
    return proposal::code::change_invalid;
  }
  const bool learner = std::binary_search(learners_.begin(), learners_.end(), n);
  switch (cc.type()) {
    case raftpb::ConfChange::ADD_LEARNER:
      if (is_member(n) || members_.size() >= limits::members_max) {
        return proposal::code::change_invalid;
      }
      return proposal::code::accepted;
    case raftpb::ConfChange::PROMOTE:
      return learner ? proposal::code::accepted : proposal::code::change_invalid;
    case raftpb::ConfChange::REMOVE:
      if (!is_member(n) || (is_voter(n) && voters_.size() == 1)) {
        return proposal::code::change_invalid;
      }
      return proposal::code::accepted;
    default: return proposal::code::change_invalid;
  }
}

proposal raft::propose_conf_change(const raftpb::ConfChange& cc) {
  proposal p;
  if (role_ != role::leader) {
    p.result = proposal::code::not_leader;
    p.leader = leader_;
    return p;
  }
  // Applied here means handed to the application: changes take effect then.
  if (pending_conf_ > std::max(log_.applied(), ready_applied_to_) &&
      !RC_PLANTED(cfg_.bug, conf_changes_at_once)) {
    p.result = proposal::code::change_in_progress;
    return p;
  }
  if (const proposal::code c = check_conf_change(cc); c != proposal::code::accepted) {
    p.result = c;
    return p;
  }
  if (cc.type() == raftpb::ConfChange::PROMOTE &&
      progress_[slot_.at(cc.node())].match + limits::promote_lag_entries_max < log_.last_index()) {
    p.result = proposal::code::learner_behind;
    return p;
  }
  const std::uint64_t last = log_.last_index();
  if (last - log_.committed() >= cfg_.uncommitted_entries ||
      log_.size() >= cfg_.log_entries_in_memory) {
    p.result = proposal::code::busy;
    return p;
  }
  raftpb::ConfChange with_result = cc;
  *with_result.mutable_result() = changed(cc);
  entry e;
  e.set_term(term_);
  e.set_index(last + 1);
  e.set_type(raftpb::ENTRY_CONF_CHANGE);
  e.set_data(with_result.SerializeAsString());
  append_own(std::move(e));
  pending_conf_ = last + 1;
  broadcast_append();
  p.index = last + 1;
  p.term = term_;
  p.leader = id_;
  return p;
}

raftpb::ConfState raft::changed(const raftpb::ConfChange& cc) const {
  std::vector<std::uint64_t> voters = voters_;
  std::vector<std::uint64_t> learners = learners_;
  std::map<std::uint64_t, raftpb::MemberAddress> addresses = addresses_;
  const std::uint64_t n = cc.node();
  switch (cc.type()) {
    case raftpb::ConfChange::ADD_LEARNER: {
      learners.push_back(n);
      raftpb::MemberAddress& a = addresses[n];
      a.set_node(n);
      a.set_peer_address(cc.peer_address());
      a.set_client_address(cc.client_address());
      break;
    }
    case raftpb::ConfChange::PROMOTE:
      std::erase(learners, n);
      voters.push_back(n);
      break;
    case raftpb::ConfChange::REMOVE:
      std::erase(learners, n);
      std::erase(voters, n);
      addresses.erase(n);
      break;
    default: RC_ASSERT_MSG(false, "check_conf_change admits the known types only");
  }
  raftpb::ConfState c;
  for (std::uint64_t v : sorted_unique(voters)) c.add_voters(v);
  for (std::uint64_t l : sorted_unique(learners)) c.add_learners(l);
  for (const auto& [node, address] : addresses) *c.add_addresses() = address;
  return c;
}

bool raft::fits(const raftpb::ConfState& c) {
  if (c.voters_size() == 0 ||
      static_cast<std::size_t>(c.voters_size() + c.learners_size()) > limits::members_max ||
      static_cast<std::size_t>(c.addresses_size()) > limits::members_max) {
    return false;
  }
  const auto nonzero = [](std::uint64_t id) { return id != 0; };
  return std::all_of(c.voters().begin(), c.voters().end(), nonzero) &&
         std::all_of(c.learners().begin(), c.learners().end(), nonzero);
}

void raft::apply_conf_change(const entry& e) {
  raftpb::ConfChange cc;
  // Only a faulty leader commits a change that does not parse or whose
  // resulting membership is impossible; every node skips it alike, so the
  // membership stays the same everywhere.
  if (!cc.ParseFromString(e.data()) || !fits(cc.result())) {
    counters_.add(counter::conf_changes_skipped);
    return;
  }
  // The result, not the change, is applied: a node that joined knows
  // nothing of the membership before it.
  set_membership(cc.result());
  counters_.add(counter::conf_changes_applied);
  if (!is_voter(id_)) {
    // Removed from the voters (or made a learner): a leader steps down and
    // the remaining voters elect a new one; a candidate gives up.
    if (role_ != role::follower) become_follower(term_, 0);
    return;
  }
  if (role_ != role::leader) return;
  // The quorum changed: a removal may commit what waited for the removed
  // node, and a new member is probed at once.
  maybe_commit();
  broadcast_append();
}

}  // namespace ringchain::core
