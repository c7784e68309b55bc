// Membership: the voters and the learners, and changes to them one server
// at a time (Raft thesis §4.1 and §4.2.1). A change is an ENTRY_CONF_CHANGE
// carrying the membership that results; it takes effect on each node as
// soon as the entry is in the node's log, committed or not (the thesis's
// rule), and a replaced entry takes it back. A leader proposes the next
// change only once the last one is committed. A learner receives the log
// and counts toward no quorum, so a new node catches up before it can cost
// the cluster its majority.
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

bool raft::is_member(std::uint64_t node) const {
  return is_voter(node) || std::binary_search(learners_.begin(), learners_.end(), node);
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
  // A departing node that is a member again is no longer departing.
  std::erase_if(departing_, [&members](const auto& d) {
    return std::find(members.begin(), members.end(), d.first) != members.end();
  });
  for (const auto& [node, index] : departing_) members.push_back(node);
  // This node always has a slot: a node whose removal is not committed
  // yet may still be elected (and then leads until it commits it).
  if (std::find(members.begin(), members.end(), id_) == members.end()) members.push_back(id_);
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
  ++conf_generation_;
  // A candidate removed from the voters gives up, unless its removal is
  // uncommitted (may_campaign); a leader leads on until its removal is
  // committed (step_down_if_removed).
  if ((role_ == role::candidate || role_ == role::pre_candidate) && !may_campaign()) {
    become_follower(term_, 0);
  }
}

raftpb::ConfState raft::base_conf() const {
  if (snapshot_.index() > 0) return snapshot_.conf();
  raftpb::ConfState c;
  for (std::uint64_t v : cfg_.voters) c.add_voters(v);
  return c;
}

raftpb::ConfState raft::conf_at(std::uint64_t index) const {
  for (std::uint64_t i = std::min(index, log_.last_index()); i > log_.compacted_index(); --i) {
    const entry& e = log_.at(i);
    if (e.type() != raftpb::ENTRY_CONF_CHANGE) continue;
    raftpb::ConfChange cc;
    if (cc.ParseFromString(e.data()) && fits(cc.result())) return cc.result();
  }
  return base_conf();
}

void raft::adopt_conf(std::uint64_t index) {
  raftpb::ConfChange cc;
  // Only a faulty leader writes a change that does not parse or whose
  // resulting membership is impossible; every node skips it alike.
  if (!cc.ParseFromString(log_.at(index).data()) || !fits(cc.result())) {
    counters_.add(counter::conf_changes_skipped);
    return;
  }
  // A leader goes on sending the log to the nodes the change removes, until
  // they hold it.
  if (role_ == role::leader) {
    for (std::uint64_t m : members_) {
      const auto& r = cc.result();
      const bool stays =
          std::find(r.voters().begin(), r.voters().end(), m) != r.voters().end() ||
          std::find(r.learners().begin(), r.learners().end(), m) != r.learners().end();
      if (!stays && departing_.count(m) == 0) departing_[m] = index;
    }
  }
  // The result, not the change, is taken: a node that joined knows nothing
  // of the membership before it.
  conf_index_ = index;
  conf_term_ = log_.at(index).term();
  set_membership(cc.result());
  counters_.add(counter::conf_changes_applied);
}

void raft::refresh_membership() {
  for (std::uint64_t i = log_.last_index(); i > log_.compacted_index(); --i) {
    if (log_.at(i).type() != raftpb::ENTRY_CONF_CHANGE) continue;
    if (i == conf_index_ && log_.match_term(i, conf_term_)) return;
    raftpb::ConfChange cc;
    if (cc.ParseFromString(log_.at(i).data()) && fits(cc.result())) {
      adopt_conf(i);
      return;
    }
  }
  const raftpb::ConfState base = base_conf();
  if (conf_index_ != 0 || conf().SerializeAsString() != base.SerializeAsString()) {
    set_membership(base);
  }
  conf_index_ = conf_term_ = 0;
}

void raft::note_appended(std::uint64_t first, std::uint64_t last) {
  // A change in force that the append replaced (or that compaction took:
  // the snapshot then holds it) is looked for again.
  if (conf_index_ != 0 &&
      (conf_index_ > log_.last_index() || conf_index_ <= log_.compacted_index() ||
       !log_.match_term(conf_index_, conf_term_))) {
    refresh_membership();
  }
  for (std::uint64_t i = std::max(first, conf_index_ + 1); i <= last; ++i) {
    if (log_.at(i).type() == raftpb::ENTRY_CONF_CHANGE) adopt_conf(i);
  }
}

bool raft::may_campaign() const {
  if (is_voter(id_)) return true;
  // Removed by a change not yet committed: this node is still a voter of
  // the committed membership, and the others may need it to elect anyone
  // (its log holds the change theirs may lack). It campaigns, counting
  // the votes of the membership in force, and once elected commits its
  // removal and steps down (Raft thesis §4.2.2).
  if (conf_index_ <= log_.committed()) return false;
  const raftpb::ConfState committed = conf_at(log_.committed());
  return std::find(committed.voters().begin(), committed.voters().end(), id_) !=
         committed.voters().end();
}

void raft::step_down_if_removed() {
  if (role_ == role::leader && !is_voter(id_) && log_.committed() >= conf_index_) {
    become_follower(term_, 0);
  }
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
      if (is_member(n) || voters_.size() + learners_.size() >= limits::members_max) {
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
  if (pending_conf_ > log_.committed() && !RC_PLANTED(cfg_.bug, conf_changes_at_once)) {
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
  // In force at once, on the leader as on every node that appends it.
  note_appended(last + 1, last + 1);
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
  // The addresses the core keeps are bounded like a change's own.
  const auto bounded = [](const raftpb::MemberAddress& a) {
    return a.peer_address().size() <= limits::member_address_bytes_max &&
           a.client_address().size() <= limits::member_address_bytes_max;
  };
  return std::all_of(c.voters().begin(), c.voters().end(), nonzero) &&
         std::all_of(c.learners().begin(), c.learners().end(), nonzero) &&
         std::all_of(c.addresses().begin(), c.addresses().end(), bounded);
}

}  // namespace ringchain::core
