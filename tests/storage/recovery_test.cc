// Recovery of the block log: torn final writes are dropped, corruption in
// the middle is refused with the file and offset, and nothing that was
// durable before the damage is lost.
#include "node/storage/recovery.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "node/storage/record.h"
#include "proto/storage.pb.h"

namespace ringchain::storage {
namespace {

namespace fs = std::filesystem;

// A fresh temporary directory, removed at the end of the test.
class recovery : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ringchain-recovery-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Frames entries 1..n, each followed by a hard state record, and
  // returns the bytes and the offset where each entry's record starts.
  static std::string make_log(std::uint64_t n, std::vector<std::size_t>* starts) {
    std::string out;
    for (std::uint64_t i = 1; i <= n; ++i) {
      storagepb::LogRecord rec;
      raftpb::Entry* e = rec.mutable_entry();
      e->set_term(1);
      e->set_index(i);
      e->set_data("block-" + std::to_string(i) + std::string(i % 7 * 10, 'x'));
      if (starts) starts->push_back(out.size());
      append_record(rec.SerializeAsString(), &out);
      storagepb::LogRecord hs;
      hs.mutable_hard_state()->set_term(1);
      hs.mutable_hard_state()->set_commit(i);
      append_record(hs.SerializeAsString(), &out);
    }
    return out;
  }

  // Writes `bytes` as segment n, padded with zeros to `size` (as the
  // writer preallocates segments).
  void write_segment(std::uint64_t n, const std::string& bytes, std::size_t size = 0) {
    std::ofstream out(segment_path(dir_, n), std::ios::binary | std::ios::trunc);
    out << bytes << std::string(size > bytes.size() ? size - bytes.size() : 0, '\0');
  }

  std::string read_segment(std::uint64_t n) {
    std::ifstream in(segment_path(dir_, n), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  fs::path dir_;
};

TEST_F(recovery, empty_directory_is_an_empty_log) {
  const recovery_result r = recover_log(dir_, 4096);
  ASSERT_EQ(r.error, "");
  EXPECT_TRUE(r.log.entries.empty());
  EXPECT_EQ(r.log.write_offset_bytes, 0u);
}

TEST_F(recovery, clean_log_recovers_every_record_across_segments) {
  write_segment(1, make_log(20, nullptr), 64 * 1024);
  // The second segment continues the log at entry 21.
  std::string second;
  storagepb::LogRecord rec;
  rec.mutable_entry()->set_term(2);
  rec.mutable_entry()->set_index(21);
  append_record(rec.SerializeAsString(), &second);
  write_segment(2, second, 64 * 1024);
  const recovery_result r = recover_log(dir_, 4096);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.log.entries.size(), 21u);
  EXPECT_EQ(r.log.entries[20].term(), 2u);
  EXPECT_EQ(r.log.hard_state.commit(), 20u);
  EXPECT_EQ(r.log.segment, 2u);
  EXPECT_EQ(r.log.write_offset_bytes, second.size());
  EXPECT_EQ(r.log.torn_bytes, 0u);
}

TEST_F(recovery, cut_at_every_offset_of_the_last_record_keeps_exactly_the_prefix) {
  std::vector<std::size_t> starts;
  const std::string log = make_log(30, &starts);
  const std::size_t last = starts.back();
  const std::size_t last_entry_end =
      last + decode_record(std::string_view(log).substr(last)).size_bytes;
  for (std::size_t cut = last; cut < log.size(); ++cut) {
    write_segment(1, log.substr(0, cut), 64 * 1024);
    const recovery_result r = recover_log(dir_, 4096);
    ASSERT_EQ(r.error, "") << "cut at " << cut;
    // Once the cut passes the end of the last entry's record, only the
    // hard-state record after it is torn.
    ASSERT_EQ(r.log.entries.size(), cut >= last_entry_end ? 30u : 29u) << "cut at " << cut;
    EXPECT_EQ(r.log.hard_state.commit(), 29u) << "the last hard state is torn at every cut";
    for (std::size_t i = 0; i < r.log.entries.size(); ++i) {
      ASSERT_EQ(r.log.entries[i].index(), i + 1);
    }
    EXPECT_LE(r.log.write_offset_bytes, cut);
    // The torn bytes are zeroed on disk, so the next recovery is clean.
    const recovery_result again = recover_log(dir_, 4096);
    ASSERT_EQ(again.error, "");
    EXPECT_EQ(again.log.entries.size(), r.log.entries.size());
    EXPECT_EQ(again.log.torn_bytes, 0u);
  }
}

TEST_F(recovery, a_torn_write_with_holes_is_dropped_whole) {
  std::vector<std::size_t> starts;
  std::string log = make_log(10, &starts);
  // Entry 9's record lost a sector; entry 10 after it reached the disk.
  std::fill(log.begin() + static_cast<long>(starts[8]) + 2,
            log.begin() + static_cast<long>(starts[8]) + 6, '\0');
  write_segment(1, log, 64 * 1024);
  const recovery_result r = recover_log(dir_, log.size() - starts[8] + 1);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.log.entries.size(), 8u);
  EXPECT_EQ(r.log.torn_offset_bytes, starts[8]);
  EXPECT_EQ(read_segment(1).find_first_not_of('\0', starts[8]), std::string::npos);
}

TEST_F(recovery, corruption_in_earlier_records_is_refused_with_file_and_offset) {
  std::vector<std::size_t> starts;
  const std::string log = make_log(200, &starts);
  std::mt19937_64 rng(42);
  const std::size_t window = 512;
  for (int trial = 0; trial < 100; ++trial) {
    // A byte flipped inside an earlier record, farther than one write
    // from the end of the log.
    const std::size_t victim = rng() % (log.size() - window - 64);
    std::string bad = log;
    bad[victim] = static_cast<char>(bad[victim] ^ (1 + rng() % 255));
    write_segment(1, bad, 64 * 1024);
    const recovery_result r = recover_log(dir_, window);
    ASSERT_NE(r.error, "") << "flip at " << victim;
    EXPECT_NE(r.error.find(segment_path(dir_, 1).string()), std::string::npos) << r.error;
    // The offset named is the start of the record holding the flip: the
    // entry record that starts at or before it, or the hard-state record
    // that follows that entry.
    const std::size_t entry = *(std::upper_bound(starts.begin(), starts.end(), victim) - 1);
    const std::size_t pos = r.error.find("at offset ");
    ASSERT_NE(pos, std::string::npos) << r.error;
    const std::size_t named = std::stoull(r.error.substr(pos + 10));
    EXPECT_GE(named, entry) << r.error;
    EXPECT_LE(named, victim) << r.error;
    EXPECT_NE(r.error.find("not a torn final write"), std::string::npos) << r.error;
  }
}

TEST_F(recovery, data_in_a_later_segment_makes_earlier_damage_corruption) {
  std::vector<std::size_t> starts;
  std::string log = make_log(5, &starts);
  log[starts[4] + 9] ^= 0x55;  // the last record of segment 1
  write_segment(1, log, 64 * 1024);
  write_segment(2, make_log(1, nullptr), 64 * 1024);
  const recovery_result r = recover_log(dir_, 1 << 20);
  EXPECT_NE(r.error.find("not a torn final write"), std::string::npos) << r.error;
}

TEST_F(recovery, gap_in_entry_indexes_is_refused) {
  std::string log;
  for (std::uint64_t i : {1, 2, 4}) {
    storagepb::LogRecord rec;
    rec.mutable_entry()->set_term(1);
    rec.mutable_entry()->set_index(i);
    append_record(rec.SerializeAsString(), &log);
  }
  write_segment(1, log);
  const recovery_result r = recover_log(dir_, 4096);
  EXPECT_NE(r.error.find("entry 4 follows entry 2"), std::string::npos) << r.error;
}

TEST_F(recovery, rewritten_index_replaces_the_conflicting_suffix) {
  std::string log;
  for (auto [t, i] : std::vector<std::pair<int, int>>{{1, 1}, {1, 2}, {1, 3}, {2, 2}}) {
    storagepb::LogRecord rec;
    rec.mutable_entry()->set_term(t);
    rec.mutable_entry()->set_index(i);
    append_record(rec.SerializeAsString(), &log);
  }
  write_segment(1, log);
  const recovery_result r = recover_log(dir_, 4096);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.log.entries.size(), 2u);
  EXPECT_EQ(r.log.entries[1].term(), 2u);
}

}  // namespace
}  // namespace ringchain::storage
