// Small helpers shared by the consensus core's tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "node/core/raft.h"
#include "tests/support/core_cluster.h"

namespace ringchain::testing {

// A fixture for multi-node tests: the invariant checker runs on teardown
// of every test (LogCabin's habit).
class cluster_test : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!cluster) return;
    for (const auto& v : cluster->check_invariants()) ADD_FAILURE() << "invariant: " << v;
  }

  void make(std::size_t n, cluster_options opts = {}) {
    cluster = std::make_unique<core_cluster>(opts);
    cluster->add_nodes(n);
  }

  // Elects `id` through a full (pre-)vote round and settles.
  void elect(std::uint64_t id) {
    cluster->campaign(id);
    cluster->stabilize();
    ASSERT_EQ(cluster->raft(id).get_status().role, core::role::leader);
  }

  // Ticks the given nodes until one of them leads; fails after a bound.
  void elect_by_ticks(const std::vector<std::uint64_t>& ids) {
    for (int round = 0; round < 100; ++round) {
      for (auto id : ids) {
        if (cluster->raft(id).get_status().role == core::role::leader) return;
      }
      for (auto id : ids) cluster->tick(id);
      cluster->stabilize();
    }
    FAIL() << "no leader elected within 100 rounds";
  }

  core::status status(std::uint64_t id) { return cluster->raft(id).get_status(); }

  std::unique_ptr<core_cluster> cluster;
};

// A lone core (no cluster), for tests that feed messages by hand.
struct lone_core {
  explicit lone_core(std::uint64_t id, std::vector<std::uint64_t> voters, bool pre_vote = false,
                     bool check_quorum = false)
      : random(id) {
    core::config cfg;
    cfg.id = id;
    cfg.voters = std::move(voters);
    cfg.pre_vote = pre_vote;
    cfg.check_quorum = check_quorum;
    cfg.random = [this](std::uint64_t b) { return random.uniform(b); };
    raft = std::make_unique<core::raft>(cfg);
  }

  // Takes a Ready, returns it, and advances.
  core::ready cycle() {
    core::ready rd = raft->take_ready();
    raft->advance(rd);
    return rd;
  }

  // Reports a Ready's write durable.
  void durable(std::uint64_t seq, std::uint64_t persist_us = 0) {
    core::message m;
    m.set_type(raftpb::MSG_STORAGE_DONE);
    m.set_from(raft->id());
    m.set_to(raft->id());
    m.set_persist_seq(seq);
    m.set_persist_us(persist_us);
    EXPECT_EQ(raft->step(m), core::input_error::none);
  }

  splitmix64 random;
  std::unique_ptr<core::raft> raft;
};

inline core::message make_message(raftpb::MessageType type, std::uint64_t from, std::uint64_t to,
                                  std::uint64_t term) {
  core::message m;
  m.set_type(type);
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  return m;
}

inline core::entry make_entry(std::uint64_t term, std::uint64_t index, std::string data = "x") {
  core::entry e;
  e.set_term(term);
  e.set_index(index);
  e.set_data(std::move(data));
  return e;
}

// Restarts a lone core from a log, with the term of its last entry.
inline void restore_log(lone_core& n, std::vector<core::entry> entries) {
  core::hard_state hs;
  hs.set_term(entries.empty() ? 0 : entries.back().term());
  n.raft->restore(hs, std::move(entries), 0);
}

// The messages of a Ready of a given type.
inline std::vector<core::message> of_type(const core::ready& rd, raftpb::MessageType t) {
  std::vector<core::message> out;
  for (const auto& m : rd.messages) {
    if (m.type() == t) out.push_back(m);
  }
  return out;
}

}  // namespace ringchain::testing
