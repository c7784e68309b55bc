// Behaviour of the core beyond the paper's claims: input from outside that
// must be refused as an operating error, proposal limits, the Ready
// contract, and restarts.
#include "node/core/raft.h"

#include <gtest/gtest.h>

#include "node/base/limits.h"
#include "tests/support/core_helpers.h"

namespace ringchain::testing {
namespace {

using core::input_error;

class raft_inputs : public ::testing::Test {
 protected:
  lone_core n{2, {1, 2, 3}};
};

TEST_F(raft_inputs, refuses_message_for_another_node) {
  EXPECT_EQ(n.raft->step(make_message(raftpb::MSG_HEARTBEAT, 1, 3, 1)),
            input_error::wrong_recipient);
  EXPECT_EQ(n.raft->get_status().term, 0u);
}

TEST_F(raft_inputs, refuses_unknown_sender_and_own_id) {
  EXPECT_EQ(n.raft->step(make_message(raftpb::MSG_APPEND_RESPONSE, 9, 2, 5)),
            input_error::unknown_sender);
  EXPECT_EQ(n.raft->step(make_message(raftpb::MSG_VOTE_RESPONSE, 9, 2, 5)),
            input_error::unknown_sender);
  EXPECT_EQ(n.raft->step(make_message(raftpb::MSG_VOTE, 2, 2, 5)), input_error::unknown_sender);
  EXPECT_EQ(n.raft->step(make_message(raftpb::MSG_HEARTBEAT, 0, 2, 5)),
            input_error::unknown_sender);
  EXPECT_EQ(n.raft->get_status().term, 0u);
  EXPECT_EQ(n.raft->get_counters().get(core::counter::inputs_refused), 4u);
}

// A voter this node's membership does not list yet (it has not applied
// the change that added it) still gets an answer to its vote request.
TEST_F(raft_inputs, answers_a_vote_request_from_a_node_it_does_not_know_yet) {
  EXPECT_EQ(n.raft->step(make_message(raftpb::MSG_VOTE, 9, 2, 5)), input_error::none);
  EXPECT_EQ(n.raft->get_status().term, 5u);
  EXPECT_EQ(n.raft->get_status().vote, 9u);
}

TEST_F(raft_inputs, refuses_local_only_and_unknown_types_from_peers) {
  core::message done = make_message(raftpb::MSG_STORAGE_DONE, 1, 2, 0);
  done.set_persist_seq(1);
  EXPECT_EQ(n.raft->step(done), input_error::local_only_type);
  EXPECT_EQ(n.raft->step(make_message(static_cast<raftpb::MessageType>(99), 1, 2, 1)),
            input_error::unknown_type);
}

TEST_F(raft_inputs, refuses_oversized_entry) {
  core::message app = make_message(raftpb::MSG_APPEND, 1, 2, 1);
  *app.add_entries() = make_entry(1, 1, std::string(limits::entry_bytes_max + 1, 'x'));
  EXPECT_EQ(n.raft->step(app), input_error::oversized_entry);
  EXPECT_EQ(n.raft->log().last_index(), 0u);
  EXPECT_EQ(n.raft->get_status().term, 0u);
}

TEST_F(raft_inputs, refuses_entries_that_are_not_consecutive_or_from_the_future) {
  core::message gap = make_message(raftpb::MSG_APPEND, 1, 2, 1);
  *gap.add_entries() = make_entry(1, 1);
  *gap.add_entries() = make_entry(1, 3);
  EXPECT_EQ(n.raft->step(gap), input_error::malformed);
  core::message future = make_message(raftpb::MSG_APPEND, 1, 2, 1);
  *future.add_entries() = make_entry(7, 1);
  EXPECT_EQ(n.raft->step(future), input_error::malformed);
  core::message entries_in_vote = make_message(raftpb::MSG_VOTE, 1, 2, 1);
  *entries_in_vote.add_entries() = make_entry(1, 1);
  EXPECT_EQ(n.raft->step(entries_in_vote), input_error::malformed);
  EXPECT_EQ(n.raft->log().last_index(), 0u);
}

TEST_F(raft_inputs, refuses_append_that_overwrites_committed_entry) {
  restore_log(n, {make_entry(1, 1), make_entry(1, 2)});
  core::message hb = make_message(raftpb::MSG_HEARTBEAT, 1, 2, 1);
  hb.set_commit(2);
  n.raft->step(hb);
  ASSERT_EQ(n.raft->get_status().committed, 2u);
  core::message bad = make_message(raftpb::MSG_APPEND, 3, 2, 2);
  bad.set_index(1);
  bad.set_log_term(1);
  *bad.add_entries() = make_entry(2, 2);
  EXPECT_EQ(n.raft->step(bad), input_error::conflicts_committed);
  EXPECT_EQ(n.raft->log().term(2), 1u);
  EXPECT_EQ(n.raft->get_status().term, 1u);
}

TEST(raft_leader_inputs, refuses_response_naming_an_index_beyond_the_log) {
  core_cluster c;
  c.add_nodes(3);
  c.campaign(1);
  c.stabilize();
  core::message ack = make_message(raftpb::MSG_APPEND_RESPONSE, 2, 1, c.raft(1).get_status().term);
  ack.set_index(1000);
  EXPECT_EQ(c.raft(1).step(ack), input_error::malformed);
  EXPECT_EQ(c.raft(1).get_status().committed, 1u);
}

TEST(raft_propose, only_the_leader_accepts_and_names_the_leader) {
  core_cluster c;
  c.add_nodes(3);
  c.campaign(1);
  c.stabilize();
  auto p = c.propose(2, "x");
  EXPECT_EQ(p.result, core::proposal::code::not_leader);
  EXPECT_EQ(p.leader, 1u);
}

TEST(raft_propose, refuses_oversized_payload_and_a_full_uncommitted_tail) {
  lone_core n(1, {1});
  n.raft->campaign();
  n.durable(n.cycle().persist_seq);
  ASSERT_EQ(n.raft->get_status().role, core::role::leader);
  EXPECT_EQ(n.raft->propose(std::string(limits::entry_bytes_max + 1, 'x')).result,
            core::proposal::code::too_large);
  // Nothing becomes durable, so nothing commits; the tail fills up.
  core::proposal p;
  std::size_t accepted = 0;
  while ((p = n.raft->propose("x")).result == core::proposal::code::accepted) ++accepted;
  EXPECT_EQ(p.result, core::proposal::code::busy);
  EXPECT_EQ(accepted, limits::uncommitted_entries_max - 1) << "the empty entry counts too";
}

TEST(raft_single_node, commits_once_its_own_write_is_durable) {
  lone_core n(1, {1});
  n.raft->campaign();
  core::ready rd = n.cycle();
  EXPECT_EQ(n.raft->get_status().role, core::role::candidate)
      << "its own vote counts only when durable";
  n.durable(rd.persist_seq);
  EXPECT_EQ(n.raft->get_status().role, core::role::leader);
  n.raft->propose("a");
  rd = n.cycle();
  EXPECT_EQ(rd.entries.size(), 2u);
  EXPECT_TRUE(rd.committed_entries.empty());
  n.durable(rd.persist_seq);
  rd = n.cycle();
  ASSERT_EQ(rd.committed_entries.size(), 2u);
  EXPECT_EQ(rd.committed_entries[1].data(), "a");
}

TEST(raft_liveness, heartbeat_response_is_not_held_behind_a_slow_write) {
  // A follower busy with a long write (per-transaction barriers on a slow
  // disk) must still look alive to the leader's check-quorum.
  lone_core n(2, {1, 2, 3});
  core::message app = make_message(raftpb::MSG_APPEND, 1, 2, 1);
  *app.add_entries() = make_entry(1, 1);
  n.raft->step(app);
  n.cycle();  // the write is handed out and not yet durable
  core::message hb = make_message(raftpb::MSG_HEARTBEAT, 1, 2, 1);
  n.raft->step(hb);
  const core::ready rd = n.cycle();
  EXPECT_EQ(of_type(rd, raftpb::MSG_HEARTBEAT_RESPONSE).size(), 1u);
  EXPECT_TRUE(of_type(rd, raftpb::MSG_APPEND_RESPONSE).empty())
      << "the acknowledgement still waits";
}

using raft_contract_death = ::testing::Test;

TEST(raft_contract_death, take_ready_twice_without_advance_aborts) {
  lone_core n(1, {1, 2, 3});
  n.raft->campaign();
  (void)n.raft->take_ready();
  EXPECT_DEATH((void)n.raft->take_ready(), "advance");
}

TEST(raft_contract_death, storage_completion_out_of_order_aborts) {
  lone_core n(1, {1, 2, 3});
  n.raft->campaign();
  n.cycle();
  EXPECT_DEATH(n.durable(7), "Ready order");
}

TEST(raft_contract_death, advance_with_another_ready_aborts) {
  lone_core n(1, {1, 2, 3});
  n.raft->campaign();
  core::ready rd = n.raft->take_ready();
  core::ready other;
  other.persist_seq = rd.persist_seq + 1;
  EXPECT_DEATH(n.raft->advance(other), "last taken");
}

class raft_restart : public cluster_test {};

TEST_F(raft_restart, node_restarts_from_durable_state_and_catches_up) {
  make(3);
  elect(1);
  for (int i = 0; i < 5; ++i) cluster->propose(1, "a" + std::to_string(i));
  cluster->stabilize();
  const core::status before = status(3);
  cluster->crash(3);
  for (int i = 0; i < 5; ++i) cluster->propose(1, "b" + std::to_string(i));
  cluster->stabilize();
  cluster->restart(3);
  EXPECT_EQ(status(3).term, before.term);
  EXPECT_EQ(status(3).last_index, before.last_index);
  EXPECT_EQ(status(3).vote, before.vote);
  cluster->tick(1);
  cluster->stabilize();
  EXPECT_EQ(status(3).committed, status(1).committed);
  EXPECT_EQ(cluster->node(3).applied.size(), status(1).committed);
}

TEST_F(raft_restart, leader_crash_loses_only_what_was_not_durable) {
  make(3);
  elect(1);
  cluster->propose(1, "durable");
  cluster->stabilize();
  cluster->propose(1, "lost");
  cluster->process_ready(1);  // written but not durable, appends queued
  cluster->crash(1);
  cluster->deliver();  // dropped: the sender is down
  for (int i = 0;
       i < 40 && status(2).role != core::role::leader && status(3).role != core::role::leader;
       ++i) {
    cluster->tick(2);
    cluster->tick(3);
    cluster->stabilize();
  }
  cluster->restart(1);
  for (int i = 0; i < 5; ++i) {
    for (auto id : cluster->ids()) cluster->tick(id);
    cluster->stabilize();
  }
  for (auto id : cluster->ids()) {
    const auto& log = cluster->raft(id).log();
    bool has_lost = false;
    for (std::uint64_t i = 1; i <= log.last_index(); ++i) has_lost |= log.at(i).data() == "lost";
    EXPECT_FALSE(has_lost) << "node " << id;
  }
}

// The counters the node exports: each counts what its name says.
TEST(raft_counters, pre_vote_and_election_campaigns_are_counted_apart) {
  lone_core pre{1, {1, 2, 3}, /*pre_vote=*/true};
  lone_core direct{1, {1, 2, 3}, /*pre_vote=*/false};
  for (int i = 0; i < 1000 && pre.raft->get_status().role == core::role::follower; ++i) {
    pre.raft->tick();
  }
  for (int i = 0; i < 1000 && direct.raft->get_status().role == core::role::follower; ++i) {
    direct.raft->tick();
  }
  EXPECT_EQ(pre.raft->get_status().role, core::role::pre_candidate);
  EXPECT_EQ(pre.raft->get_counters().get(core::counter::pre_votes_started), 1u);
  EXPECT_EQ(pre.raft->get_counters().get(core::counter::elections_started), 0u);
  EXPECT_EQ(direct.raft->get_status().role, core::role::candidate);
  EXPECT_EQ(direct.raft->get_counters().get(core::counter::pre_votes_started), 0u);
  EXPECT_EQ(direct.raft->get_counters().get(core::counter::elections_started), 1u);
}

TEST(raft_counters, messages_past_the_outbox_bound_are_dropped_and_counted) {
  lone_core n{2, {1, 2, 3}};
  // Every heartbeat is answered at once; nobody takes the Ready.
  const std::size_t extra = 10;
  for (std::size_t i = 0; i < limits::outbox_messages_max + extra; ++i) {
    ASSERT_EQ(n.raft->step(make_message(raftpb::MSG_HEARTBEAT, 1, 2, 1)), input_error::none);
  }
  EXPECT_EQ(n.raft->get_counters().get(core::counter::messages_dropped_outbox_full), extra);
  EXPECT_EQ(n.cycle().messages.size(), limits::outbox_messages_max);
}

TEST(raft_counters, responses_past_the_held_bound_are_dropped_and_counted) {
  lone_core n{2, {1, 2, 3}};
  // Every append needs a durable write before its acknowledgement may
  // leave; no write is ever reported durable.
  const std::size_t extra = 10;
  for (std::uint64_t i = 1; i <= limits::held_messages_max + extra; ++i) {
    core::message m = make_message(raftpb::MSG_APPEND, 1, 2, 1);
    m.set_index(i - 1);
    m.set_log_term(i == 1 ? 0 : 1);
    *m.add_entries() = make_entry(1, i);
    ASSERT_EQ(n.raft->step(m), input_error::none);
    n.cycle();
  }
  EXPECT_EQ(n.raft->get_counters().get(core::counter::responses_dropped_held_full), extra);
}

}  // namespace
}  // namespace ringchain::testing
