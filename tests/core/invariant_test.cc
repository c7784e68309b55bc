// Randomized fault schedules over the in-memory cluster, checked by the
// invariant checker; and proof that the checker fires.
#include <gtest/gtest.h>

#include "tests/support/core_helpers.h"

namespace ringchain::testing {
namespace {

// One random schedule: ticks, proposals, partial delivery, persistence in
// random order, partitions, crashes and restarts. Returns the commit index
// reached, to show the run made progress.
std::uint64_t run_schedule(core_cluster& c, std::uint64_t seed, int steps) {
  splitmix64 rng(seed);
  const auto ids = c.ids();
  auto pick = [&] { return ids[rng.uniform(ids.size())]; };
  // Proposals go to a node that believes it leads, when there is one.
  auto leader_or = [&](std::uint64_t fallback) {
    for (auto id : ids) {
      if (c.raft(id).get_status().role == core::role::leader) return id;
    }
    return fallback;
  };
  std::set<std::uint64_t> down;
  for (int step = 0; step < steps; ++step) {
    const std::uint64_t id = pick();
    const std::uint64_t dice = rng.uniform(100);
    if (dice < 25) {
      c.tick(id);
    } else if (dice < 40) {
      c.propose(leader_or(id), "s" + std::to_string(seed) + "-" + std::to_string(step));
    } else if (dice < 60) {
      c.process_ready(id);
    } else if (dice < 75) {
      c.persist(id);
    } else if (dice < 97) {
      c.deliver(id);
    } else if (dice == 97) {
      // Faults are rare enough that leaders get elected between them.
      if (rng.uniform(2) == 0) {
        c.heal();
      } else {
        std::set<std::uint64_t> rest(ids.begin(), ids.end());
        rest.erase(id);
        c.partition({{id}, rest});
      }
    } else if (dice == 98) {
      if (down.size() < (ids.size() - 1) / 2 && down.insert(id).second) c.crash(id);
    } else if (down.erase(id) != 0) {
      c.restart(id);
    }
  }
  // Liveness: heal, restart everyone and let the cluster settle.
  c.heal();
  for (auto id : down) c.restart(id);
  std::uint64_t committed = 0;
  for (int round = 0; round < 200; ++round) {
    for (auto id : ids) c.tick(id);
    c.stabilize();
  }
  // Liveness: the healed cluster commits a new proposal everywhere.
  const std::uint64_t leader = leader_or(0);
  EXPECT_NE(leader, 0u) << "no leader after healing, seed " << seed;
  if (leader == 0) return 0;
  const core::proposal p = c.propose(leader, "final");
  EXPECT_EQ(p.result, core::proposal::code::accepted);
  for (int round = 0; round < 5; ++round) {
    for (auto id : ids) c.tick(id);
    c.stabilize();
  }
  for (auto id : ids) {
    EXPECT_GE(c.raft(id).get_status().committed, p.index) << "node " << id << ", seed " << seed;
    committed = std::max(committed, c.raft(id).get_status().committed);
  }
  return committed;
}

class invariants : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(invariants, hold_under_random_faults) {
  for (std::size_t n : {3u, 5u}) {
    core_cluster c({.seed = GetParam()});
    c.add_nodes(n);
    const std::uint64_t committed = run_schedule(c, GetParam() * 31 + n, 3000);
    EXPECT_GT(committed, 1u) << "seed " << GetParam();
    for (const auto& v : c.check_invariants()) {
      ADD_FAILURE() << "seed " << GetParam() << ", " << n << " nodes: " << v;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(seeds, invariants, ::testing::Range<std::uint64_t>(1, 201));

// A healthy 3-node cluster with one committed proposal, for planting bugs.
class invariant_checker : public ::testing::Test {
 protected:
  void SetUp() override {
    c.add_nodes(3);
    c.campaign(1);
    c.stabilize();
    c.propose(1, "x");
    c.stabilize();
    ASSERT_TRUE(c.check_invariants().empty());
  }
  core_cluster c;
};

TEST_F(invariant_checker, detects_a_committed_entry_lost_from_disks) {
  // Plant the bug: two disks forget the last entry.
  c.node(1).disk.entries.erase(std::prev(c.node(1).disk.entries.end()));
  c.node(2).disk.entries.erase(std::prev(c.node(2).disk.entries.end()));
  const auto v = c.check_invariants();
  ASSERT_FALSE(v.empty());
  EXPECT_NE(v[0].find("durable on only 1 nodes"), std::string::npos) << v[0];
}

TEST_F(invariant_checker, detects_diverging_applied_entries) {
  c.node(2).applied.back().set_data("y");
  const auto v = c.check_invariants();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].find("node 2 applied"), std::string::npos) << v[0];
}

TEST_F(invariant_checker, detects_two_leaders_in_one_term) {
  // Plant the bug: node 2 is made to believe it won term 1 as well.
  core::message grant = make_message(raftpb::MSG_VOTE_RESPONSE, 3, 2, 1);
  lone_core rogue(2, {1, 2, 3}, false, false);
  rogue.raft->campaign();
  rogue.durable(rogue.cycle().persist_seq);
  rogue.raft->step(grant);
  ASSERT_EQ(rogue.raft->get_status().role, core::role::leader);
  c.node(2).raft = std::move(rogue.raft);
  const auto v = c.check_invariants();
  ASSERT_FALSE(v.empty());
  EXPECT_NE(v[0].find("two leaders in term 1"), std::string::npos) << v[0];
}

}  // namespace
}  // namespace ringchain::testing
