// Membership changes (Raft thesis §4.1, §4.2.1): learners that catch up
// without counting toward any quorum, promotion, removal (of a follower and
// of the leader), one change at a time, and the membership across restarts
// and snapshots. The invariant checker of cluster_test runs on teardown.
#include <gtest/gtest.h>

#include "tests/support/core_helpers.h"

namespace ringchain::testing {
namespace {

using cc_type = raftpb::ConfChange;
using code = core::proposal::code;

class membership : public cluster_test {
 protected:
  void propose_n(std::uint64_t leader, int count) {
    for (int i = 0; i < count; ++i) {
      ASSERT_EQ(cluster->propose(leader, "p" + std::to_string(i)).result, code::accepted);
      cluster->stabilize();
    }
  }
  // Proposes a change at `leader`, expects it accepted and settles.
  void change(std::uint64_t leader, cc_type::Type type, std::uint64_t node) {
    ASSERT_EQ(cluster->propose_conf_change(leader, type, node).result, code::accepted);
    cluster->stabilize();
  }
  // Whether a proposal at `leader` commits within the current links.
  bool commits(std::uint64_t leader) {
    const std::uint64_t before = status(leader).committed;
    EXPECT_EQ(cluster->propose(leader, "probe").result, code::accepted);
    cluster->stabilize();
    return status(leader).committed > before;
  }
  // A 3-node cluster led by 1, with a fourth node added as a learner.
  std::uint64_t three_and_a_learner() {
    make(3);
    elect(1);
    propose_n(1, 5);
    const std::uint64_t learner = cluster->add_joining_node();
    change(1, cc_type::ADD_LEARNER, learner);
    return learner;
  }
};

TEST_F(membership, a_joining_node_catches_up_as_a_learner_that_counts_toward_no_quorum) {
  const std::uint64_t n = three_and_a_learner();
  EXPECT_EQ(status(n).committed, status(1).committed);
  EXPECT_EQ(cluster->node(n).applied.size(), cluster->node(1).applied.size());
  EXPECT_EQ(cluster->raft(1).voters(), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(cluster->raft(1).learners(), std::vector<std::uint64_t>{n});
  // The learner applied the change that added it, so it knows itself.
  EXPECT_EQ(cluster->raft(n).learners(), std::vector<std::uint64_t>{n});
  EXPECT_FALSE(cluster->raft(n).is_voter(n));
  // With both voting followers cut off, the learner's acknowledgements
  // commit nothing.
  cluster->partition({{1, n}, {2, 3}});
  EXPECT_FALSE(commits(1));
}

TEST_F(membership, a_learner_never_campaigns) {
  const std::uint64_t n = three_and_a_learner();
  cluster->partition({{n}, {1, 2, 3}});
  for (int i = 0; i < 200; ++i) cluster->tick(n);
  cluster->stabilize();
  EXPECT_EQ(status(n).role, core::role::follower);
  EXPECT_EQ(cluster->raft(n).get_counters().get(core::counter::pre_votes_started), 0u);
  EXPECT_EQ(cluster->raft(n).get_counters().get(core::counter::elections_started), 0u);
}

TEST_F(membership, a_promoted_learner_counts_toward_the_quorum) {
  const std::uint64_t n = three_and_a_learner();
  change(1, cc_type::PROMOTE, n);
  EXPECT_EQ(cluster->raft(1).voters(), (std::vector<std::uint64_t>{1, 2, 3, n}));
  EXPECT_EQ(cluster->raft(2).voters(), (std::vector<std::uint64_t>{1, 2, 3, n}));
  EXPECT_TRUE(cluster->raft(n).is_voter(n));
  // Four voters: three commit, two do not.
  cluster->partition({{1, 2, n}, {3}});
  EXPECT_TRUE(commits(1));
  cluster->partition({{1, n}, {2, 3}});
  EXPECT_FALSE(commits(1));
  cluster->heal();
  cluster->tick(1);
  cluster->stabilize();
}

TEST_F(membership, one_change_at_a_time) {
  make(3);
  elect(1);
  const std::uint64_t a = cluster->add_joining_node();
  const std::uint64_t b = cluster->add_joining_node();
  // Cut off the followers: the first change stays uncommitted.
  cluster->partition({{1}, {2, 3, a, b}});
  ASSERT_EQ(cluster->propose_conf_change(1, cc_type::ADD_LEARNER, a).result, code::accepted);
  cluster->stabilize();
  EXPECT_EQ(cluster->propose_conf_change(1, cc_type::ADD_LEARNER, b).result,
            code::change_in_progress);
  cluster->heal();
  cluster->tick(1);
  cluster->stabilize();
  EXPECT_EQ(cluster->propose_conf_change(1, cc_type::ADD_LEARNER, b).result, code::accepted);
  cluster->stabilize();
  EXPECT_EQ(cluster->raft(3).learners(), (std::vector<std::uint64_t>{a, b}));
}

TEST(membership_lone, a_new_leader_changes_nothing_before_its_first_entry_is_committed) {
  lone_core n(1, {1, 2, 3});
  n.raft->campaign();
  core::ready rd = n.cycle();
  n.durable(rd.persist_seq);
  core::message vote = make_message(raftpb::MSG_VOTE_RESPONSE, 2, 1, 1);
  ASSERT_EQ(n.raft->step(vote), core::input_error::none);
  ASSERT_EQ(n.raft->get_status().role, core::role::leader);
  raftpb::ConfChange add;
  add.set_type(cc_type::ADD_LEARNER);
  add.set_node(4);
  // The term's empty entry (index 1) is neither committed nor applied.
  EXPECT_EQ(n.raft->propose_conf_change(add).result, code::change_in_progress);
  rd = n.cycle();
  n.durable(rd.persist_seq);
  core::message ack = make_message(raftpb::MSG_APPEND_RESPONSE, 2, 1, 1);
  ack.set_index(1);
  ASSERT_EQ(n.raft->step(ack), core::input_error::none);
  ASSERT_EQ(n.raft->get_status().committed, 1u);
  EXPECT_EQ(n.raft->propose_conf_change(add).result, code::accepted);
  // In force on the leader at once, committed or not.
  EXPECT_EQ(n.raft->learners(), std::vector<std::uint64_t>{4});
  EXPECT_EQ(n.raft->conf_index(), 2u);
}

TEST_F(membership, changes_that_do_not_fit_are_refused) {
  make(3);
  elect(1);
  EXPECT_EQ(cluster->propose_conf_change(1, cc_type::ADD_LEARNER, 2).result, code::change_invalid);
  EXPECT_EQ(cluster->propose_conf_change(1, cc_type::PROMOTE, 2).result, code::change_invalid);
  EXPECT_EQ(cluster->propose_conf_change(1, cc_type::REMOVE, 7).result, code::change_invalid);
  EXPECT_EQ(cluster->propose_conf_change(1, cc_type::ADD_LEARNER, 0).result, code::change_invalid);
  EXPECT_EQ(cluster->propose_conf_change(2, cc_type::ADD_LEARNER, 4).result, code::not_leader);
  raftpb::ConfChange long_address;
  long_address.set_type(cc_type::ADD_LEARNER);
  long_address.set_node(4);
  long_address.set_peer_address(std::string(limits::member_address_bytes_max + 1, 'a'));
  EXPECT_EQ(cluster->raft(1).propose_conf_change(long_address).result, code::change_invalid);
  // The last voter stays.
  make(1);
  elect(1);
  EXPECT_EQ(cluster->propose_conf_change(1, cc_type::REMOVE, 1).result, code::change_invalid);
}

TEST_F(membership, a_learner_far_behind_is_not_promoted) {
  make(3);
  elect(1);
  const std::uint64_t n = cluster->add_joining_node();
  change(1, cc_type::ADD_LEARNER, n);
  cluster->partition({{1, 2, 3}, {n}});
  propose_n(1, static_cast<int>(limits::promote_lag_entries_max) + 5);
  EXPECT_EQ(cluster->propose_conf_change(1, cc_type::PROMOTE, n).result, code::learner_behind);
  cluster->heal();
  cluster->tick(1);
  cluster->stabilize();
  EXPECT_EQ(cluster->propose_conf_change(1, cc_type::PROMOTE, n).result, code::accepted);
  cluster->stabilize();
  EXPECT_TRUE(cluster->raft(1).is_voter(n));
}

TEST_F(membership, a_removed_follower_no_longer_counts) {
  make(4);
  elect(1);
  change(1, cc_type::REMOVE, 4);
  EXPECT_EQ(cluster->raft(1).voters(), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_FALSE(cluster->raft(4).is_member(4)) << "node 4 applied its own removal";
  // Three voters: two commit (with four, 1 and 2 would not).
  cluster->partition({{1, 2}, {3, 4}});
  EXPECT_TRUE(commits(1));
  // The removed node never campaigns.
  for (int i = 0; i < 100; ++i) cluster->tick(4);
  EXPECT_EQ(cluster->raft(4).get_counters().get(core::counter::pre_votes_started), 0u);
  cluster->heal();
}

TEST_F(membership, a_removed_leader_steps_down_and_the_rest_elect_a_new_one) {
  make(3);
  elect(1);
  propose_n(1, 3);
  change(1, cc_type::REMOVE, 1);
  EXPECT_EQ(status(1).role, core::role::follower);
  EXPECT_FALSE(cluster->raft(1).is_voter(1));
  elect_by_ticks({1, 2, 3});
  const std::uint64_t leader = status(2).role == core::role::leader ? 2 : 3;
  ASSERT_EQ(status(leader).role, core::role::leader);
  EXPECT_EQ(cluster->raft(leader).voters(), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_TRUE(commits(leader));
}

TEST_F(membership, a_change_is_in_force_once_in_the_log_and_a_replaced_one_is_taken_back) {
  make(5);
  elect(1);
  const std::uint64_t n = cluster->add_joining_node();
  // Only node 2 receives the change.
  cluster->partition({{1, 2}, {3, 4, 5, n}});
  ASSERT_EQ(cluster->propose_conf_change(1, cc_type::ADD_LEARNER, n).result, code::accepted);
  cluster->process_ready(1);
  cluster->deliver(2);
  cluster->process_ready(2);
  EXPECT_EQ(cluster->raft(2).learners(), std::vector<std::uint64_t>{n}) << "in force, uncommitted";
  EXPECT_GT(cluster->raft(2).conf_index(), status(2).committed);
  // Nodes 3, 4 and 5 elect one of them, which commits entries of its term
  // at the change's index; once the links heal they replace the change in
  // the logs of nodes 1 and 2, and it is taken back.
  cluster->partition({{1, 2}, {3, 4, 5}, {n}});
  elect_by_ticks({3, 4, 5});
  std::uint64_t leader = 3;
  while (status(leader).role != core::role::leader) ++leader;
  ASSERT_TRUE(commits(leader));
  cluster->partition({{1, 2, 3, 4, 5}, {n}});
  cluster->tick(leader);
  cluster->stabilize();
  for (std::uint64_t id : {1, 2}) {
    EXPECT_TRUE(cluster->raft(id).learners().empty()) << "node " << id;
    EXPECT_EQ(cluster->raft(id).conf_index(), 0u) << "node " << id;
  }
  cluster->heal();
}

// The Raft thesis §4.2.2 case the simulator found: the leader removes
// itself, only it holds the change, and another voter is lost. The other
// two need its vote, and it has the longest log: it must still be able to
// win, commit its removal and step down.
TEST_F(membership, a_node_whose_removal_is_uncommitted_can_still_be_elected) {
  make(4);
  elect(1);
  propose_n(1, 2);
  cluster->partition({{1}, {2, 3, 4}});
  ASSERT_EQ(cluster->propose_conf_change(1, cc_type::REMOVE, 1).result, code::accepted);
  cluster->stabilize();
  EXPECT_FALSE(cluster->raft(1).is_voter(1));
  cluster->crash(4);
  cluster->partition({{1, 2, 3}});
  // Nodes 2 and 3 cannot win (they need 3 of 1..4, and 1 refuses: its log
  // is longer); node 1 wins with 2 of 2..4 and commits its removal.
  elect_by_ticks({1, 2, 3});
  cluster->stabilize();
  for (int round = 0;
       round < 200 && status(2).role != core::role::leader && status(3).role != core::role::leader;
       ++round) {
    for (std::uint64_t id : {1, 2, 3}) cluster->tick(id);
    cluster->stabilize();
  }
  const std::uint64_t leader = status(2).role == core::role::leader ? 2 : 3;
  ASSERT_EQ(status(leader).role, core::role::leader) << "no leader after the removal";
  EXPECT_EQ(cluster->raft(leader).voters(), (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_NE(status(1).role, core::role::leader);
  EXPECT_TRUE(commits(leader));
}

TEST_F(membership, a_restart_rebuilds_the_membership_from_the_log) {
  const std::uint64_t n = three_and_a_learner();
  change(1, cc_type::PROMOTE, n);
  cluster->crash(2);
  cluster->restart(2);
  // The restarted node applies the change again once it learns the commit
  // index (its durable one may be older): the leader's next heartbeat.
  cluster->tick(1);
  cluster->stabilize();
  EXPECT_EQ(cluster->raft(2).voters(), (std::vector<std::uint64_t>{1, 2, 3, n}));
  cluster->crash(n);
  cluster->restart(n);
  cluster->tick(1);
  cluster->stabilize();
  EXPECT_TRUE(cluster->raft(n).is_voter(n));
}

TEST_F(membership, snapshots_carry_the_membership_and_a_new_node_installs_one) {
  make(3, {.snapshot_interval = 10, .snapshot_catchup = 2});
  elect(1);
  propose_n(1, 30);
  ASSERT_GT(status(1).compacted, 0u);
  const std::uint64_t n = cluster->add_joining_node();
  change(1, cc_type::ADD_LEARNER, n);
  cluster->tick(1);
  cluster->stabilize();
  EXPECT_EQ(cluster->raft(n).get_counters().get(core::counter::snapshots_installed), 1u);
  EXPECT_EQ(status(n).committed, status(1).committed);
  EXPECT_EQ(cluster->raft(n).voters(), (std::vector<std::uint64_t>{1, 2, 3}));
  // A snapshot taken after the change records the learner and its address.
  propose_n(1, 12);
  const raftpb::ConfState& c = cluster->node(1).disk.snapshot.meta.conf();
  ASSERT_EQ(c.learners_size(), 1);
  EXPECT_EQ(c.learners(0), n);
  ASSERT_EQ(c.addresses_size(), 1);
  EXPECT_EQ(c.addresses(0).peer_address(), "127.0.0.1:" + std::to_string(9000 + n));
  cluster->crash(n);
  cluster->restart(n);
  cluster->stabilize();
  EXPECT_EQ(cluster->raft(n).learners(), std::vector<std::uint64_t>{n});
}

}  // namespace
}  // namespace ringchain::testing
