// Replacing nodes through membership changes (the `membership` fault), as
// an operator replaces a machine: a spare joins as a learner, is promoted
// once it has caught up, and then a voter (a dead one when there is one)
// is removed and its slot retired. Each step is proposed to whichever node
// leads every 100 ms until the leader's membership shows it, so crashes,
// partitions and leader changes meet the changes at every step.
#include "node/base/limits.h"
#include "sim/dst/world.h"

namespace ringchain::dst {

namespace {
constexpr time_ns step_ns = 100 * ms_ns;
}  // namespace

bool world::replace_node() {
  if (replacing_.at != replacement::step::idle) return false;
  std::uint32_t spare = world_slot;
  for (std::uint32_t i = n_; i < total_ && spare == world_slot; ++i) {
    if (!slots_[i].started) spare = i;
  }
  const std::uint32_t leader = leader_slot();
  if (spare == world_slot || leader == world_slot) return false;
  std::vector<std::uint32_t> voters, down;
  for (std::uint64_t v : slots_[leader].node->consensus().voters()) {
    const auto i = static_cast<std::uint32_t>(v - 1);
    voters.push_back(i);
    if (!slots_[i].node) down.push_back(i);
  }
  const std::vector<std::uint32_t>& pick = down.empty() ? voters : down;
  const std::uint32_t victim = pick[core_.random.below(pick.size())];
  replacing_ = {replacement::step::adding, spare, victim};
  core_.note("replacing node " + std::to_string(slots_[victim].id) + " with node " +
             std::to_string(slots_[spare].id) + ", which joins");
  start_node(spare, true);
  drive_replacement();
  return true;
}

void world::propose(std::uint32_t leader, raftpb::ConfChange::Type type, std::uint32_t slot) {
  raftpb::ConfChange cc;
  cc.set_type(type);
  cc.set_node(slots_[slot].id);
  if (type == raftpb::ConfChange::ADD_LEARNER) {
    // The simulated network routes by id; the client reads "node<id>".
    cc.set_peer_address("127.0.0.1:1");
    cc.set_client_address("node" + std::to_string(slots_[slot].id));
  }
  (void)slots_[leader].node->change_membership(cc);
  after_event(leader);
}

void world::drive_replacement() {
  if (done_ || replacing_.at == replacement::step::idle) return;
  replacement& rp = replacing_;
  const std::uint32_t leader = leader_slot();
  if (leader != world_slot) {
    const core::raft& r = slots_[leader].node->consensus();
    // Changes count once committed (they are in force on the leader from
    // the moment it appends them).
    const bool committed = r.log().committed() >= r.conf_index();
    const std::uint64_t spare = slots_[rp.spare].id;
    const std::uint64_t victim = slots_[rp.victim].id;
    switch (rp.at) {
      case replacement::step::adding:
        if (r.is_member(spare) && committed) {
          rp.at = replacement::step::promoting;
          break;
        }
        propose(leader, raftpb::ConfChange::ADD_LEARNER, rp.spare);
        // The planted bug lets a second change in while the first is in
        // flight: the other spare's addition goes in at once.
        if (RC_PLANTED(o_.bug, conf_changes_at_once) && rp.spare + 1 < total_ &&
            slots_[leader].node) {
          propose(leader, raftpb::ConfChange::ADD_LEARNER, rp.spare + 1);
        }
        break;
      case replacement::step::promoting:
        if (r.is_voter(spare) && committed) {
          rp.at = replacement::step::removing;
          break;
        }
        propose(leader, raftpb::ConfChange::PROMOTE, rp.spare);
        break;
      case replacement::step::removing:
        if (!r.is_member(victim) && committed) {
          node_slot& v = slots_[rp.victim];
          crash(rp.victim, "leaves the cluster: its removal is applied");
          v.retired = true;
          v.restart_pending = false;
          rp.at = replacement::step::idle;
          return;
        }
        propose(leader, raftpb::ConfChange::REMOVE, rp.victim);
        break;
      case replacement::step::idle: return;
    }
  }
  core_.events.schedule(world_slot, core_.events.now() + step_ns, [this] { drive_replacement(); });
}

}  // namespace ringchain::dst
