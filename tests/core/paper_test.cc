// Paper tests: one test per claim of the Raft paper (Ongaro and Ousterhout,
// "In Search of an Understandable Consensus Algorithm") or of Ongaro's
// thesis that the core implements. Each names the section it checks and is
// shaped init / act / check.
#include <gtest/gtest.h>

#include "tests/support/core_helpers.h"

namespace ringchain::testing {
namespace {

using core::role;
using raftpb::MessageType;

class paper : public cluster_test {};

// Raft §5.1: a server that sees a larger term adopts it and, if leader or
// candidate, reverts to follower.
TEST_F(paper, leader_seeing_higher_term_becomes_follower) {
  make(3);
  elect(1);
  core::message m = make_message(raftpb::MSG_HEARTBEAT_RESPONSE, 2, 1, status(1).term + 5);
  ASSERT_EQ(cluster->raft(1).step(m), core::input_error::none);
  EXPECT_EQ(status(1).role, role::follower);
  EXPECT_EQ(status(1).term, m.term());
}

// Raft §5.1: a request with a stale term is rejected, and the answer tells
// the stale sender the current term, which makes it step down.
TEST_F(paper, stale_leader_learns_newer_term_and_steps_down) {
  make(3);
  elect(1);
  cluster->partition({{1}, {2, 3}});
  elect_by_ticks({2, 3});
  const std::uint64_t leader = status(2).role == role::leader ? 2 : 3;
  cluster->heal();
  cluster->tick(1);  // the old leader's heartbeat reaches 2 and 3
  cluster->stabilize();
  EXPECT_EQ(status(1).role, role::follower);
  EXPECT_EQ(status(1).term, status(leader).term);
}

// Raft §5.2: a follower that hears nothing for an election timeout starts
// an election.
TEST_F(paper, follower_campaigns_after_election_timeout) {
  make(3, {.pre_vote = false});
  for (int i = 0; i < 2 * 10; ++i) cluster->tick(1);
  EXPECT_EQ(status(1).role, role::candidate);
  EXPECT_EQ(status(1).term, 1u);
  EXPECT_EQ(status(1).vote, 1u);
}

// Raft §5.2: election timeouts are chosen at random from a fixed interval
// ([T, 2T) here), so that split votes are rare.
TEST(paper_single, election_timeouts_are_randomized_within_bounds) {
  std::set<int> seen;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    lone_core n(1, {1, 2, 3});
    n.random = splitmix64(seed);
    n.raft = std::make_unique<core::raft>([&] {
      core::config c;
      c.id = 1;
      c.voters = {1, 2, 3};
      c.pre_vote = false;
      c.random = [&n](std::uint64_t b) { return n.random.uniform(b); };
      return c;
    }());
    int ticks = 0;
    while (n.raft->get_status().role == role::follower) {
      n.raft->tick();
      ++ticks;
    }
    EXPECT_GE(ticks, 10);
    EXPECT_LT(ticks, 20);
    seen.insert(ticks);
  }
  EXPECT_GT(seen.size(), 3u) << "timeouts should spread over the interval";
}

// Raft §5.2: a candidate that receives votes from a majority becomes leader
// and sends heartbeats (here, its first append) to every other server.
TEST_F(paper, candidate_with_majority_becomes_leader) {
  make(5);
  cluster->partition({{1, 2, 3}, {4, 5}});
  elect(1);
  EXPECT_EQ(status(2).leader, 1u);
  EXPECT_EQ(status(3).leader, 1u);
}

// Raft §5.2: each server votes for at most one candidate in a term, first
// come first served.
TEST(paper_single, node_votes_once_per_term) {
  lone_core n(1, {1, 2, 3});
  core::message v2 = make_message(raftpb::MSG_VOTE, 2, 1, 1);
  core::message v3 = make_message(raftpb::MSG_VOTE, 3, 1, 1);
  ASSERT_EQ(n.raft->step(v2), core::input_error::none);
  ASSERT_EQ(n.raft->step(v3), core::input_error::none);
  core::ready rd = n.cycle();
  n.durable(rd.persist_seq);
  core::ready after = n.cycle();
  auto resp = of_type(after, raftpb::MSG_VOTE_RESPONSE);
  ASSERT_EQ(resp.size(), 2u);
  EXPECT_EQ(resp[0].to(), 2u);
  EXPECT_FALSE(resp[0].reject());
  EXPECT_EQ(resp[1].to(), 3u);
  EXPECT_TRUE(resp[1].reject());
  EXPECT_EQ(n.raft->get_status().vote, 2u);
}

// Raft §5.2: a candidate that hears from a leader of its own term (or
// later) recognises it and returns to follower.
TEST_F(paper, candidate_steps_down_on_append_from_leader_of_same_term) {
  make(3, {.pre_vote = false});
  cluster->campaign(2);
  core::message app = make_message(raftpb::MSG_APPEND, 3, 2, status(2).term);
  ASSERT_EQ(cluster->raft(2).step(app), core::input_error::none);
  EXPECT_EQ(status(2).role, role::follower);
  EXPECT_EQ(status(2).leader, 3u);
}

// Raft §5.2: when no candidate wins (a split vote), each times out and
// starts a new election with a higher term.
TEST_F(paper, split_vote_leads_to_new_election) {
  make(4, {.pre_vote = false});
  cluster->partition({{1, 2}, {3, 4}});
  cluster->campaign(1);
  cluster->campaign(3);
  cluster->stabilize();
  EXPECT_EQ(status(1).role, role::candidate);
  EXPECT_EQ(status(3).role, role::candidate);
  const std::uint64_t term = status(1).term;
  cluster->heal();
  for (int i = 0; i < 40 && status(1).role != role::leader && status(2).role != role::leader &&
                  status(3).role != role::leader && status(4).role != role::leader;
       ++i) {
    for (auto id : cluster->ids()) cluster->tick(id);
    cluster->stabilize();
  }
  std::size_t leaders = 0;
  for (auto id : cluster->ids()) leaders += status(id).role == role::leader;
  EXPECT_EQ(leaders, 1u);
  for (auto id : cluster->ids()) EXPECT_GT(status(id).term, term);
}

// Raft §5.3: the leader appends a proposal to its log, replicates it, and
// commits it once a majority stores it; followers learn the commit index
// from later appends and apply.
TEST_F(paper, leader_replicates_and_commits_on_majority) {
  make(3);
  elect(1);
  cluster->partition({{1, 2}, {3}});
  ASSERT_EQ(cluster->propose(1, "a").result, core::proposal::code::accepted);
  cluster->stabilize();
  const std::uint64_t idx = status(1).last_index;
  EXPECT_EQ(status(1).committed, idx);
  EXPECT_EQ(status(2).committed, idx);
  EXPECT_LT(status(3).last_index, idx);
  EXPECT_EQ(cluster->node(2).applied.back().data(), "a");
}

// Raft §5.3: a follower refuses an append whose previous entry it does not
// have (the consistency check).
TEST(paper_single, follower_rejects_append_with_mismatching_previous_entry) {
  lone_core n(2, {1, 2, 3});
  core::message app = make_message(raftpb::MSG_APPEND, 1, 2, 2);
  app.set_index(3);
  app.set_log_term(2);
  *app.add_entries() = make_entry(2, 4);
  ASSERT_EQ(n.raft->step(app), core::input_error::none);
  core::ready rd = n.cycle();
  n.durable(rd.persist_seq);  // the term change
  auto resp = of_type(n.cycle(), raftpb::MSG_APPEND_RESPONSE);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_TRUE(resp[0].reject());
  EXPECT_EQ(resp[0].index(), 3u);
  EXPECT_EQ(resp[0].reject_hint(), 0u);
  EXPECT_EQ(n.raft->log().last_index(), 0u);
}

// Raft §5.3: a conflicting entry (same index, different term) and all that
// follow it are deleted, and the leader's entries are appended.
TEST(paper_single, follower_deletes_conflicting_suffix) {
  lone_core n(2, {1, 2, 3});
  restore_log(n, {make_entry(1, 1), make_entry(1, 2, "old"), make_entry(1, 3, "old")});
  core::message app = make_message(raftpb::MSG_APPEND, 1, 2, 2);
  app.set_index(1);
  app.set_log_term(1);
  *app.add_entries() = make_entry(2, 2, "new");
  ASSERT_EQ(n.raft->step(app), core::input_error::none);
  EXPECT_EQ(n.raft->log().last_index(), 2u);
  EXPECT_EQ(n.raft->log().at(2).data(), "new");
  core::ready rd = n.cycle();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_EQ(rd.entries[0].index(), 2u) << "storage must overwrite from index 2";
}

// Raft §5.3: after a rejection the leader moves nextIndex back and retries
// until the logs match, then repairs the follower's log. With the conflict
// hint (as in etcd-io/raft) it skips a whole term per round trip.
TEST_F(paper, leader_repairs_divergent_follower_with_few_round_trips) {
  make(3);
  elect(1);
  // Node 1, cut off, keeps 50 entries of its term that never commit.
  cluster->partition({{1}, {2, 3}});
  for (int i = 0; i < 50; ++i) cluster->propose(1, "lost-" + std::to_string(i));
  cluster->stabilize();
  elect_by_ticks({2, 3});
  const std::uint64_t leader = status(2).role == role::leader ? 2 : 3;
  for (int i = 0; i < 5; ++i) cluster->propose(leader, "kept-" + std::to_string(i));
  cluster->stabilize();
  cluster->heal();
  const std::uint64_t delivered_before = cluster->messages_delivered();
  cluster->tick(leader);
  cluster->stabilize();
  EXPECT_EQ(cluster->raft(1).log().last_index(), status(leader).last_index);
  EXPECT_EQ(status(1).committed, status(leader).committed);
  // Heartbeat, its answer, one rejected probe, its answer, the repair and
  // its acknowledgement, plus commit updates: a handful, not 50 round trips.
  EXPECT_LT(cluster->messages_delivered() - delivered_before, 16u);
}

// Raft §5.4.1: a vote is refused to a candidate whose log is less
// up-to-date (last term lower, or same last term and shorter).
TEST(paper_single, vote_refused_to_less_up_to_date_candidate) {
  lone_core n(1, {1, 2, 3});
  restore_log(n, {make_entry(1, 1), make_entry(2, 2)});
  core::message older = make_message(raftpb::MSG_VOTE, 2, 1, 3);
  older.set_index(5);
  older.set_log_term(1);
  core::message shorter = make_message(raftpb::MSG_VOTE, 3, 1, 3);
  shorter.set_index(1);
  shorter.set_log_term(2);
  n.raft->step(older);
  n.raft->step(shorter);
  core::ready rd = n.cycle();
  n.durable(rd.persist_seq);
  auto resp = of_type(n.cycle(), raftpb::MSG_VOTE_RESPONSE);
  ASSERT_EQ(resp.size(), 2u);
  EXPECT_TRUE(resp[0].reject());
  EXPECT_TRUE(resp[1].reject());
  EXPECT_EQ(n.raft->get_status().vote, 0u);
}

// Raft §5.4.2 (Figure 8): a leader does not commit an entry from an
// earlier term by counting replicas, only with an entry of its own term.
TEST(paper_single, leader_commits_earlier_term_entries_only_with_current_term_entry) {
  lone_core n(1, {1, 2, 3}, false, false);
  // Node 1 holds entry 1/1 (term 1) and 2/2 (term 2) from earlier leaders.
  core::hard_state hs;
  hs.set_term(2);
  n.raft->restore(hs, {make_entry(1, 1), make_entry(2, 2)}, 0);
  n.raft->campaign();
  core::ready rd = n.cycle();
  n.durable(rd.persist_seq);
  n.raft->step([&] {
    auto v = make_message(raftpb::MSG_VOTE_RESPONSE, 2, 1, 3);
    return v;
  }());
  ASSERT_EQ(n.raft->get_status().role, role::leader);
  rd = n.cycle();  // the empty entry 3/3 and appends
  // Node 2 acknowledges index 2 (a term-2 entry) before anything else: a
  // majority (1 and 2) holds index 2, but it is not of term 3.
  n.durable(rd.persist_seq);
  core::message ack = make_message(raftpb::MSG_APPEND_RESPONSE, 2, 1, 3);
  ack.set_index(2);
  n.raft->step(ack);
  EXPECT_EQ(n.raft->get_status().committed, 0u);
  // Once the term-3 entry is on a majority, everything before it commits.
  ack.set_index(3);
  n.raft->step(ack);
  EXPECT_EQ(n.raft->get_status().committed, 3u);
}

// Raft Figure 2 ("persistent state ... updated on stable storage before
// responding to RPCs"): a vote leaves only once term and vote are durable.
TEST(paper_single, vote_leaves_only_after_term_and_vote_are_durable) {
  lone_core n(1, {1, 2, 3});
  n.raft->step(make_message(raftpb::MSG_VOTE, 2, 1, 1));
  core::ready rd = n.cycle();
  ASSERT_NE(rd.persist_seq, 0u);
  EXPECT_EQ(rd.hard_state->term(), 1u);
  EXPECT_EQ(rd.hard_state->vote(), 2u);
  EXPECT_TRUE(of_type(rd, raftpb::MSG_VOTE_RESPONSE).empty());
  EXPECT_FALSE(n.raft->has_ready());
  n.durable(rd.persist_seq);
  EXPECT_EQ(of_type(n.cycle(), raftpb::MSG_VOTE_RESPONSE).size(), 1u);
}

// Raft Figure 2: a follower acknowledges entries only once they are
// durable, and the acknowledgement carries its receive-to-durable time.
TEST(paper_single, follower_acknowledges_only_durable_entries) {
  lone_core n(2, {1, 2, 3});
  core::message app = make_message(raftpb::MSG_APPEND, 1, 2, 1);
  *app.add_entries() = make_entry(1, 1);
  n.raft->step(app);
  core::ready rd = n.cycle();
  EXPECT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(of_type(rd, raftpb::MSG_APPEND_RESPONSE).empty());
  n.durable(rd.persist_seq, 1234);
  auto resp = of_type(n.cycle(), raftpb::MSG_APPEND_RESPONSE);
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(resp[0].index(), 1u);
  EXPECT_EQ(resp[0].persist_us(), 1234u);
}

// Raft thesis §10.2.1: the leader sends appends in parallel with its own
// disk write, and counts itself toward the quorum only once that write is
// durable.
TEST(paper_single, leader_writes_in_parallel_and_counts_itself_when_durable) {
  lone_core n(1, {1, 2, 3});
  n.raft->campaign();
  core::ready rd = n.cycle();
  n.durable(rd.persist_seq);
  n.raft->step(make_message(raftpb::MSG_VOTE_RESPONSE, 2, 1, 1));
  ASSERT_EQ(n.raft->get_status().role, role::leader);
  n.durable(n.cycle().persist_seq);
  // Both followers acknowledge the empty entry.
  for (std::uint64_t from : {2u, 3u}) {
    auto ack = make_message(raftpb::MSG_APPEND_RESPONSE, from, 1, 1);
    ack.set_index(1);
    n.raft->step(ack);
  }
  n.cycle();
  ASSERT_EQ(n.raft->get_status().committed, 1u);

  n.raft->propose("block");
  rd = n.cycle();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_EQ(of_type(rd, raftpb::MSG_APPEND).size(), 2u)
      << "appends leave with the leader's own write";
  // Node 3 acknowledges; with the leader's write not yet durable there is
  // no quorum.
  auto ack = make_message(raftpb::MSG_APPEND_RESPONSE, 3, 1, 1);
  ack.set_index(2);
  n.raft->step(ack);
  EXPECT_EQ(n.raft->get_status().committed, 1u);
  n.durable(rd.persist_seq);
  EXPECT_EQ(n.raft->get_status().committed, 2u);
}

// Raft thesis §9.6 (pre-vote): a node cut off from the cluster does not
// raise its term, so when it returns it does not depose the leader.
TEST_F(paper, pre_vote_keeps_partitioned_node_from_disrupting) {
  make(3);
  elect(1);
  const std::uint64_t term = status(1).term;
  cluster->partition({{1, 2}, {3}});
  for (int i = 0; i < 100; ++i) {
    for (auto id : cluster->ids()) cluster->tick(id);
    cluster->stabilize();
  }
  EXPECT_EQ(status(3).term, term);
  EXPECT_EQ(status(3).role, role::pre_candidate);
  cluster->heal();
  for (int i = 0; i < 5; ++i) {
    for (auto id : cluster->ids()) cluster->tick(id);
    cluster->stabilize();
  }
  EXPECT_EQ(status(1).role, role::leader);
  EXPECT_EQ(status(1).term, term);
  EXPECT_EQ(status(3).leader, 1u);
}

// Raft thesis §6.2 (check-quorum): a leader that does not hear from a
// majority within an election timeout steps down.
TEST_F(paper, leader_without_quorum_steps_down) {
  make(3);
  elect(1);
  cluster->partition({{1}, {2, 3}});
  for (int i = 0; i < 2 * 10; ++i) {
    cluster->tick(1);
    cluster->stabilize();
  }
  EXPECT_EQ(status(1).role, role::follower);
}

// Raft thesis §6.2 / §4.2.3: a server that heard from a current leader
// within the minimum election timeout ignores a request to vote in a
// higher term.
TEST(paper_single, vote_request_ignored_while_leader_lease_holds) {
  lone_core n(2, {1, 2, 3}, false, true);
  n.raft->step(make_message(raftpb::MSG_HEARTBEAT, 1, 2, 1));
  n.durable(n.cycle().persist_seq);
  n.cycle();
  n.raft->step(make_message(raftpb::MSG_VOTE, 3, 2, 2));
  EXPECT_EQ(n.raft->get_status().term, 1u);
  EXPECT_EQ(n.raft->get_status().leader, 1u);
  EXPECT_FALSE(n.raft->has_ready());
}

// Raft §5.2: the leader sends heartbeats every heartbeat interval; they
// carry the commit index, capped at what the follower is known to match.
TEST_F(paper, leader_heartbeats_every_interval) {
  make(3, {.heartbeat_ticks = 3});
  elect(1);
  cluster->stabilize();
  std::vector<std::string> lines;
  cluster->trace = [&](const std::string& l) {
    if (l.find("send 1->2 HEARTBEAT") != std::string::npos) lines.push_back(l);
  };
  for (int i = 0; i < 9; ++i) {
    cluster->tick(1);
    cluster->process_ready(1);
  }
  EXPECT_EQ(lines.size(), 3u);
}

// Raft §5.3 with the bounded pipeline: the leader streams appends to a
// follower in replicate state, at most inflight_appends at a time.
TEST_F(paper, leader_pipeline_is_bounded) {
  make(3, {.inflight_appends = 4});
  elect(1);
  std::size_t to2 = 0;
  cluster->trace = [&](const std::string& l) {
    if (l.find("send 1->2 APPEND ") != std::string::npos) ++to2;
  };
  for (int i = 0; i < 10; ++i) cluster->propose(1, "p" + std::to_string(i));
  cluster->process_ready(1);
  EXPECT_EQ(to2, 4u);
  cluster->stabilize();
  EXPECT_EQ(status(2).committed, status(1).last_index);
}

}  // namespace
}  // namespace ringchain::testing
