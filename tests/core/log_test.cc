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
  log.restore(std::move(es), 0, 0);
  return log;
}

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
  EXPECT_EQ(log.maybe_append(1, 1, entries({{1, 2}, {2, 3}, {2, 4}})),
            raft_log::append_outcome::appended);
  EXPECT_EQ(log.last_index(), 4u);
  EXPECT_EQ(log.term(2), 1u);
  EXPECT_EQ(log.term(3), 2u);
  EXPECT_EQ(log.durable(), 2u) << "the rewritten entry 3 is no longer durable";
  EXPECT_EQ(log.first_unhanded(), 3u);
}

TEST(raft_log, maybe_append_with_mismatching_previous_entry_changes_nothing) {
  raft_log log = log_with_terms({1, 1});
  EXPECT_EQ(log.maybe_append(2, 2, entries({{2, 3}})), raft_log::append_outcome::mismatch);
  EXPECT_EQ(log.maybe_append(5, 1, entries({{2, 6}})), raft_log::append_outcome::mismatch);
  EXPECT_EQ(log.last_index(), 2u);
}

TEST(raft_log, maybe_append_refuses_to_overwrite_committed_entries) {
  raft_log log = log_with_terms({1, 1, 1});
  log.commit_to(2);
  EXPECT_EQ(log.maybe_append(1, 1, entries({{2, 2}})),
            raft_log::append_outcome::conflicts_committed);
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
  ASSERT_EQ(log.maybe_append(2, 1, entries({{2, 3}})), raft_log::append_outcome::appended);
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

}  // namespace
}  // namespace ringchain::testing
