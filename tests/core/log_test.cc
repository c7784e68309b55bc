#include "node/core/log.h"

#include <gtest/gtest.h>

#include "tests/support/core_helpers.h"

namespace ringchain::testing {
namespace {

using core::raft_log;

raft_log log_with_terms(std::initializer_list<std::uint64_t> terms) {
  std::vector<core::entry> es;
  std::uint64_t i = 0;
  for (auto t : terms) es.push_back(make_entry(t, ++i));
  raft_log log;
  log.restore(0, 0, std::move(es), 0, 0);
  return log;
}

constexpr std::uint64_t no_bound = limits::log_entries_in_memory_max;
constexpr std::uint64_t no_byte_bound = limits::log_bytes_in_memory_max;

raft_log::append_result::code append(raft_log& log, std::uint64_t prev_index,
                                     std::uint64_t prev_term,
                                     const google::protobuf::RepeatedPtrField<core::entry>& es) {
  return log.maybe_append(prev_index, prev_term, es, no_bound, no_byte_bound).outcome;
}

using code = raft_log::append_result::code;

google::protobuf::RepeatedPtrField<core::entry> entries(
    std::initializer_list<std::pair<std::uint64_t, std::uint64_t>> term_index) {
  google::protobuf::RepeatedPtrField<core::entry> out;
  for (auto [t, i] : term_index) *out.Add() = make_entry(t, i, "n");
  return out;
}

TEST(raft_log, term_of_index_zero_is_zero_and_beyond_end_is_none) {
  raft_log log = log_with_terms({1, 1, 2});
  EXPECT_EQ(log.term(0), 0u);
  EXPECT_EQ(log.term(3), 2u);
  EXPECT_FALSE(log.term(4).has_value());
}

TEST(raft_log, up_to_date_compares_last_term_then_length) {
  raft_log log = log_with_terms({1, 2, 2});
  EXPECT_TRUE(log.is_up_to_date(1, 3));
  EXPECT_TRUE(log.is_up_to_date(3, 2));
  EXPECT_FALSE(log.is_up_to_date(2, 2));
  EXPECT_FALSE(log.is_up_to_date(9, 1));
}

TEST(raft_log, find_conflict_by_term_skips_entries_of_later_terms) {
  raft_log log = log_with_terms({1, 1, 2, 2, 4, 4});
  EXPECT_EQ(log.find_conflict_by_term(6, 3), 4u);
  EXPECT_EQ(log.find_conflict_by_term(6, 1), 2u);
  EXPECT_EQ(log.find_conflict_by_term(6, 0), 0u);
  EXPECT_EQ(log.find_conflict_by_term(100, 4), 6u);
}

TEST(raft_log, maybe_append_keeps_matching_entries_and_truncates_conflicts) {
  raft_log log = log_with_terms({1, 1, 1});
  EXPECT_EQ(append(log, 1, 1, entries({{1, 2}, {2, 3}, {2, 4}})), code::appended);
  EXPECT_EQ(log.last_index(), 4u);
  EXPECT_EQ(log.term(2), 1u);
  EXPECT_EQ(log.term(3), 2u);
  EXPECT_EQ(log.durable(), 2u) << "the rewritten entry 3 is no longer durable";
  EXPECT_EQ(log.first_unhanded(), 3u);
}

TEST(raft_log, maybe_append_with_mismatching_previous_entry_changes_nothing) {
  raft_log log = log_with_terms({1, 1});
  EXPECT_EQ(append(log, 2, 2, entries({{2, 3}})), code::mismatch);
  EXPECT_EQ(append(log, 5, 1, entries({{2, 6}})), code::mismatch);
  EXPECT_EQ(log.last_index(), 2u);
}

TEST(raft_log, maybe_append_refuses_to_overwrite_committed_entries) {
  raft_log log = log_with_terms({1, 1, 1});
  log.commit_to(2);
  EXPECT_EQ(append(log, 1, 1, entries({{2, 2}})), code::conflicts_committed);
  EXPECT_EQ(log.term(2), 1u);
}

TEST(raft_log, durability_follows_storage_reports_and_survives_truncation) {
  raft_log log;
  log.append(make_entry(1, 1));
  log.append(make_entry(1, 2));
  log.mark_handed(1);
  log.append(make_entry(1, 3));
  log.mark_handed(2);
  // A new leader overwrites entry 3 before either write completes.
  ASSERT_EQ(append(log, 2, 1, entries({{2, 3}})), code::appended);
  log.mark_handed(3);
  log.mark_durable(2);
  EXPECT_EQ(log.durable(), 2u) << "the old entry 3 was written, the new one not yet";
  log.mark_durable(3);
  EXPECT_EQ(log.durable(), 3u);
}

TEST(raft_log, applies_only_committed_and_durable_entries) {
  raft_log log;
  for (std::uint64_t i = 1; i <= 3; ++i) log.append(make_entry(1, i));
  log.commit_to(3);
  EXPECT_FALSE(log.has_unapplied());
  log.mark_handed(1);
  log.mark_durable(1);
  EXPECT_EQ(log.apply_bound(), 3u);
}

TEST(raft_log, slice_respects_count_and_bytes_but_returns_at_least_one) {
  raft_log log;
  for (std::uint64_t i = 1; i <= 5; ++i) log.append(make_entry(1, i, std::string(100, 'a')));
  google::protobuf::RepeatedPtrField<core::entry> out;
  log.slice(2, 10, 250, &out);
  EXPECT_EQ(out.size(), 2);
  out.Clear();
  log.slice(2, 3, 100000, &out);
  EXPECT_EQ(out.size(), 3);
  out.Clear();
  log.slice(2, 10, 1, &out);
  EXPECT_EQ(out.size(), 1);
  EXPECT_EQ(log.bytes_between(1, 3), 200u);
}

// Raft §7: compaction drops entries but keeps the last one's term, so the
// consistency check of the next append still works.
TEST(raft_log, compaction_keeps_the_term_of_the_last_compacted_entry) {
  raft_log log = log_with_terms({1, 1, 2, 2, 3});
  log.commit_to(5);
  log.mark_applied(4);
  log.compact(3);
  EXPECT_EQ(log.first_index(), 4u);
  EXPECT_EQ(log.size(), 2u);
  EXPECT_EQ(log.term(3), 2u);
  EXPECT_FALSE(log.term(2).has_value());
  EXPECT_TRUE(log.match_term(3, 2));
  EXPECT_EQ(log.find_conflict_by_term(5, 0), 3u) << "never below the compacted index";
  EXPECT_EQ(log.bytes_between(3, 5), 2u);
  EXPECT_EQ(append(log, 5, 3, entries({{3, 6}})), code::appended);
  EXPECT_EQ(log.last_index(), 6u);
}

// Raft §7: a snapshot from the leader replaces the whole log, and counts
// as committed, applied and durable.
TEST(raft_log, install_replaces_the_log_after_the_snapshot) {
  raft_log log = log_with_terms({1, 1, 1});
  log.install(10, 4);
  EXPECT_EQ(log.last_index(), 10u);
  EXPECT_EQ(log.last_term(), 4u);
  EXPECT_EQ(log.size(), 0u);
  EXPECT_EQ(log.committed(), 10u);
  EXPECT_EQ(log.applied(), 10u);
  EXPECT_EQ(log.durable(), 10u);
  EXPECT_FALSE(log.has_unhanded());
}

TEST(raft_log, restore_after_a_snapshot_starts_after_it) {
  raft_log log;
  log.restore(5, 2, {make_entry(2, 6), make_entry(3, 7)}, 3, 0);
  EXPECT_EQ(log.first_index(), 6u);
  EXPECT_EQ(log.last_index(), 7u);
  EXPECT_EQ(log.committed(), 5u) << "the snapshot is committed, whatever the hard state says";
  EXPECT_EQ(log.applied(), 5u);
}

// The memory bound: a follower takes what fits (at least one entry into an
// empty log) and says how far it got.
TEST(raft_log, maybe_append_stops_at_the_memory_bound) {
  raft_log log = log_with_terms({1, 1});
  const auto r = log.maybe_append(2, 1, entries({{1, 3}, {1, 4}, {1, 5}}), 3, no_byte_bound);
  EXPECT_EQ(r.outcome, code::appended);
  EXPECT_EQ(r.last_match, 3u);
  EXPECT_EQ(log.last_index(), 3u);
  raft_log empty;
  const auto one = empty.maybe_append(0, 0, entries({{1, 1}, {1, 2}}), 10, 0);
  EXPECT_EQ(one.last_match, 1u);
}

}  // namespace
}  // namespace ringchain::testing
