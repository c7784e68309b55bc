// Paper tests for log compaction (Raft §7, thesis chapter 5): snapshots
// the core asks for, compaction once they are durable, InstallSnapshot, and
// the in-memory log bound. Shaped init / act / check, like paper_test.cc.
#include <gtest/gtest.h>

#include "tests/support/core_helpers.h"

namespace ringchain::testing {
namespace {

using core::role;

class paper_snapshot : public cluster_test {
 protected:
  // A cluster that snapshots every `interval` entries, keeping `catchup`.
  void make_compacting(std::size_t n, std::uint64_t interval, std::uint64_t catchup) {
    make(n, {.snapshot_interval = interval, .snapshot_catchup = catchup});
  }
  void propose_n(std::uint64_t leader, int count) {
    for (int i = 0; i < count; ++i) {
      ASSERT_EQ(cluster->propose(leader, "p" + std::to_string(i)).result,
                core::proposal::code::accepted);
      cluster->stabilize();
    }
  }
};

// Raft §7: each server snapshots its committed state independently, and
// discards the log up to the snapshot once the snapshot is durable (here,
// keeping the catch-up entries behind it).
TEST_F(paper_snapshot, servers_snapshot_independently_and_compact_when_durable) {
  make_compacting(3, 10, 3);
  elect(1);
  propose_n(1, 12);
  for (std::uint64_t id : cluster->ids()) {
    const core::status st = status(id);
    EXPECT_GE(st.snapshot_index, 10u) << "node " << id;
    EXPECT_EQ(st.compacted, st.snapshot_index - 3) << "node " << id;
    EXPECT_EQ(cluster->node(id).disk.snapshot.meta.index(), st.snapshot_index);
    EXPECT_EQ(cluster->raft(id).get_counters().get(core::counter::compactions), 1u);
  }
}

// Raft §7: the snapshot is taken of the state after the last entry it
// covers, and names that entry's index and term and the configuration.
TEST_F(paper_snapshot, snapshot_request_names_last_applied_entry_and_configuration) {
  make_compacting(3, 5, 1);
  elect(1);
  std::vector<std::string> asked;
  cluster->trace = [&](const std::string& l) {
    if (l.rfind("1 snapshot index=", 0) == 0) asked.push_back(l);
  };
  propose_n(1, 4);
  ASSERT_EQ(asked, std::vector<std::string>{"1 snapshot index=5"});
  const snapshot_data& snap = cluster->node(1).disk.snapshot;
  EXPECT_EQ(snap.meta.index(), 5u);
  EXPECT_EQ(snap.meta.term(), status(1).term);
  EXPECT_EQ(snap.state.size(), 5u) << "the state after applying entries 1..5";
  ASSERT_EQ(snap.meta.conf().voters_size(), 3);
  EXPECT_EQ(snap.meta.conf().voters(2), 3u);
}

// Raft §7 (InstallSnapshot): a leader sends a snapshot to a follower that
// is missing entries it already discarded; the follower installs it and
// then catches up from the log.
TEST_F(paper_snapshot, leader_sends_snapshot_to_follower_behind_its_compacted_log) {
  make_compacting(3, 10, 2);
  elect(1);
  cluster->partition({{1, 2}, {3}});
  propose_n(1, 25);
  ASSERT_GT(status(1).compacted, status(3).last_index);
  cluster->heal();
  cluster->tick(1);
  cluster->stabilize();
  EXPECT_EQ(cluster->raft(1).get_counters().get(core::counter::snapshots_sent), 1u);
  EXPECT_EQ(cluster->raft(3).get_counters().get(core::counter::snapshots_installed), 1u);
  EXPECT_EQ(status(3).committed, status(1).committed);
  EXPECT_EQ(cluster->node(3).applied.size(), cluster->node(1).applied.size());
}

// Raft §7: if the follower's log conflicts with the snapshot, the
// follower discards its entire log; the snapshot's state replaces it.
TEST(paper_snapshot_single, conflicting_log_is_discarded_by_snapshot) {
  lone_core n(2, {1, 2, 3});
  restore_log(n, {make_entry(1, 1), make_entry(1, 2), make_entry(1, 3), make_entry(1, 4)});
  core::message m = make_message(raftpb::MSG_SNAPSHOT, 1, 2, 3);
  m.mutable_snapshot()->set_index(3);
  m.mutable_snapshot()->set_term(2);
  m.mutable_snapshot()->mutable_conf()->add_voters(1);
  ASSERT_EQ(n.raft->step(m), core::input_error::none);
  const core::status st = n.raft->get_status();
  EXPECT_EQ(st.last_index, 3u);
  EXPECT_EQ(st.compacted, 3u);
  EXPECT_EQ(st.committed, 3u);
  EXPECT_EQ(n.raft->log().term(3), 2u);
  core::ready rd = n.cycle();
  ASSERT_TRUE(rd.snapshot);
  EXPECT_EQ(rd.snapshot->index(), 3u);
  EXPECT_NE(rd.persist_seq, 0u) << "the install is persisted with the hard state";
  EXPECT_TRUE(of_type(rd, raftpb::MSG_APPEND_RESPONSE).empty())
      << "the acknowledgement waits until the install is durable";
  n.durable(rd.persist_seq);
  rd = n.cycle();
  const auto acks = of_type(rd, raftpb::MSG_APPEND_RESPONSE);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].index(), 3u);
}

// Raft §7: if the follower holds the snapshot's last entry (same index and
// term), it keeps the entries that follow it and installs nothing.
TEST(paper_snapshot_single, follower_keeps_entries_after_matching_snapshot) {
  lone_core n(2, {1, 2, 3});
  restore_log(n, {make_entry(1, 1), make_entry(1, 2), make_entry(2, 3), make_entry(2, 4)});
  core::message m = make_message(raftpb::MSG_SNAPSHOT, 1, 2, 2);
  m.mutable_snapshot()->set_index(3);
  m.mutable_snapshot()->set_term(2);
  m.mutable_snapshot()->mutable_conf()->add_voters(1);
  ASSERT_EQ(n.raft->step(m), core::input_error::none);
  EXPECT_EQ(n.raft->get_status().last_index, 4u);
  EXPECT_EQ(n.raft->get_status().committed, 3u);
  EXPECT_EQ(n.raft->get_status().compacted, 0u);
  EXPECT_FALSE(n.cycle().snapshot);
}

// Raft §7: a snapshot at or below the commit index tells the follower
// nothing new; it answers with its commit index.
TEST(paper_snapshot_single, stale_snapshot_is_answered_with_commit_index) {
  lone_core n(2, {1, 2, 3});
  restore_log(n, {make_entry(1, 1), make_entry(1, 2), make_entry(1, 3)});
  ASSERT_EQ(n.raft->step([] {
    core::message a = make_message(raftpb::MSG_APPEND, 1, 2, 1);
    a.set_index(3);
    a.set_log_term(1);
    a.set_commit(3);
    return a;
  }()),
            core::input_error::none);
  n.cycle();
  core::message m = make_message(raftpb::MSG_SNAPSHOT, 1, 2, 1);
  m.mutable_snapshot()->set_index(2);
  m.mutable_snapshot()->set_term(1);
  m.mutable_snapshot()->mutable_conf()->add_voters(1);
  ASSERT_EQ(n.raft->step(m), core::input_error::none);
  const core::ready rd = n.cycle();
  EXPECT_FALSE(rd.snapshot);
  const auto acks = of_type(rd, raftpb::MSG_APPEND_RESPONSE);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].index(), 3u);
}

// A snapshot that cannot be delivered is reported to the leader's core,
// which probes the follower again and sends the snapshot anew
// (etcd-io/raft's ReportSnapshot).
TEST_F(paper_snapshot, failed_snapshot_is_sent_again) {
  make_compacting(3, 10, 2);
  elect(1);
  cluster->partition({{1, 2}, {3}});
  propose_n(1, 25);
  cluster->heal();
  // Heartbeats reach 3 again; the leader finds it behind its compacted log
  // and sends the snapshot, which is lost on the way.
  bool sent = false;
  cluster->trace = [&sent](const std::string& l) {
    if (l.find("send 1->3 SNAPSHOT") != std::string::npos) sent = true;
  };
  cluster->tick(1);
  for (int round = 0; round < 10 && !sent; ++round) {
    for (std::uint64_t id : cluster->ids()) {
      cluster->process_ready(id);
      cluster->persist(id);
    }
    if (!sent) cluster->deliver();
  }
  ASSERT_TRUE(sent);
  cluster->trace = nullptr;
  cluster->drop_link(1, 3);
  cluster->deliver();
  ASSERT_NE(cluster->raft(1).progress_of(3), nullptr);
  EXPECT_EQ(cluster->raft(1).progress_of(3)->state, core::progress_state::probe);
  cluster->heal();
  cluster->tick(1);
  cluster->stabilize();
  EXPECT_EQ(cluster->raft(1).get_counters().get(core::counter::snapshots_sent), 2u);
  EXPECT_EQ(cluster->raft(3).get_counters().get(core::counter::snapshots_installed), 1u);
  EXPECT_EQ(status(3).committed, status(1).committed);
}

// Restart (Raft §7): a server restarts from its last snapshot and the log
// after it; its state is the snapshot's, then the log's entries again.
TEST_F(paper_snapshot, restart_resumes_from_snapshot_and_log_tail) {
  make_compacting(3, 10, 2);
  elect(1);
  propose_n(1, 14);
  const std::uint64_t committed = status(2).committed;
  cluster->crash(2);
  cluster->restart(2);
  EXPECT_EQ(status(2).snapshot_index, cluster->node(2).disk.snapshot.meta.index());
  EXPECT_GE(status(2).applied, status(2).snapshot_index);
  cluster->tick(1);
  cluster->stabilize();
  EXPECT_EQ(status(2).applied, committed + 0) << "the tail after the snapshot is applied again";
}

// The in-memory bound: a leader refuses proposals once its log holds
// log_entries_in_memory entries, until a durable snapshot lets it compact.
TEST(paper_snapshot_single, leader_refuses_proposals_at_the_memory_bound) {
  lone_core n(1, {1});
  n.raft = std::make_unique<core::raft>([&n] {
    core::config c;
    c.id = 1;
    c.voters = {1};
    c.pre_vote = false;
    c.snapshot_interval_entries = 4;
    c.snapshot_catchup_entries = 1;
    c.uncommitted_entries = 4;
    c.log_entries_in_memory = 12;
    c.random = [&n](std::uint64_t b) { return n.random.uniform(b); };
    return c;
  }());
  n.raft->campaign();
  std::optional<raftpb::SnapshotMeta> requested;
  std::size_t refused = 0;
  for (int i = 0; i < 40; ++i) {
    if (n.raft->propose("x").result != core::proposal::code::accepted) ++refused;
    while (n.raft->has_ready()) {
      const core::ready rd = n.cycle();
      if (rd.snapshot_request) requested = rd.snapshot_request;
      if (rd.persist_seq != 0) n.durable(rd.persist_seq);
    }
  }
  // The snapshot asked for never became durable: the log stopped at 12.
  ASSERT_TRUE(requested);
  EXPECT_EQ(n.raft->log().size(), 12u);
  EXPECT_GT(refused, 0u);
  EXPECT_GT(n.raft->get_counters().get(core::counter::log_full), 0u);
  core::message done = make_message(raftpb::MSG_SNAPSHOT_DONE, 1, 1, 0);
  *done.mutable_snapshot() = *requested;
  ASSERT_EQ(n.raft->step(done), core::input_error::none);
  EXPECT_EQ(n.raft->log().compacted_index(), requested->index() - 1);
  EXPECT_EQ(n.raft->propose("y").result, core::proposal::code::accepted);
}

}  // namespace
}  // namespace ringchain::testing
