// Recovery of the block log: torn final writes are dropped, corruption in
// the middle is refused with the file and offset, and nothing that was
// durable before the damage is lost.
#include "node/storage/recovery.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "node/storage/record.h"
#include "proto/storage.pb.h"

namespace ringchain::storage {
namespace {

namespace fs = std::filesystem;

// One write as the block log frames it: a write_begin header, then records.
std::string frame_write(std::uint64_t seq, const std::vector<storagepb::LogRecord>& records) {
  std::string body;
  for (const auto& r : records) append_record(r.SerializeAsString(), &body);
  storagepb::LogRecord header;
  header.mutable_write_begin()->set_seq(seq);
  header.mutable_write_begin()->set_bytes(body.size());
  std::string out;
  append_record(header.SerializeAsString(), &out);
  return out + body;
}

storagepb::LogRecord entry_record(std::uint64_t term, std::uint64_t index) {
  storagepb::LogRecord rec;
  rec.mutable_entry()->set_term(term);
  rec.mutable_entry()->set_index(index);
  rec.mutable_entry()->set_data("block-" + std::to_string(index) +
                                std::string(index % 7 * 10, 'x'));
  return rec;
}

storagepb::LogRecord hard_state_record(std::uint64_t term, std::uint64_t commit) {
  storagepb::LogRecord rec;
  rec.mutable_hard_state()->set_term(term);
  rec.mutable_hard_state()->set_commit(commit);
  return rec;
}

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

  // Writes 1..n, each with entry i and a hard state committing i; returns
  // the bytes and where each write starts.
  static std::string make_log(std::uint64_t n, std::vector<std::size_t>* starts,
                              std::uint64_t first = 1) {
    std::string out;
    for (std::uint64_t i = first; i < first + n; ++i) {
      if (starts) starts->push_back(out.size());
      out += frame_write(i, {entry_record(1, i), hard_state_record(1, i)});
    }
    return out;
  }

  // Writes `bytes` as segment n, padded with zeros to `size` (as the
  // writer preallocates segments).
  void write_segment(std::uint64_t n, const std::string& bytes, std::size_t size = 64 * 1024) {
    std::ofstream out(segment_path(dir_, n), std::ios::binary | std::ios::trunc);
    out << bytes << std::string(size > bytes.size() ? size - bytes.size() : 0, '\0');
  }

  // Writes segment n sparse: `size` bytes long, holding only `parts` (offset,
  // bytes); the rest are holes, as in a segment created with ftruncate.
  void write_sparse_segment(std::uint64_t n, std::size_t size,
                            const std::vector<std::pair<std::size_t, std::string>>& parts) {
    const int fd = ::open(segment_path(dir_, n).c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
    for (const auto& [off, bytes] : parts) {
      ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(off)),
                static_cast<ssize_t>(bytes.size()));
    }
    ::close(fd);
  }

  std::string read_segment(std::uint64_t n) {
    std::ifstream in(segment_path(dir_, n), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  fs::path dir_;
};

// recover_log's outcome as one value, so that tests can check either part.
struct recovery_result {
  std::string error;  // empty when recovery succeeded
  recovered_log log;
};

recovery_result recover(const fs::path& dir) {
  base::result<recovered_log> r = recover_log(dir);
  if (!r.ok()) return {r.message(), {}};
  return {"", std::move(*r)};
}

TEST_F(recovery, empty_directory_is_an_empty_log) {
  const recovery_result r = recover(dir_);
  ASSERT_EQ(r.error, "");
  EXPECT_TRUE(r.log.entries.empty());
  EXPECT_EQ(r.log.write_offset_bytes, 0u);
  EXPECT_EQ(r.log.last_write_seq, 0u);
}

TEST_F(recovery, clean_log_recovers_every_write_across_segments) {
  write_segment(1, make_log(20, nullptr));
  const std::string second = make_log(1, nullptr, 21);
  write_segment(2, second);
  const recovery_result r = recover(dir_);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.log.entries.size(), 21u);
  EXPECT_EQ(r.log.hard_state.commit(), 21u);
  EXPECT_EQ(r.log.last_write_seq, 21u);
  EXPECT_EQ(r.log.segment, 2u);
  EXPECT_EQ(r.log.write_offset_bytes, second.size());
  EXPECT_EQ(r.log.torn_bytes, 0u);
}

TEST_F(recovery, cut_at_every_offset_of_the_last_write_keeps_exactly_the_earlier_writes) {
  std::vector<std::size_t> starts;
  const std::string log = make_log(30, &starts);
  for (std::size_t cut = starts.back(); cut < log.size(); ++cut) {
    write_segment(1, log.substr(0, cut));
    const recovery_result r = recover(dir_);
    ASSERT_EQ(r.error, "") << "cut at " << cut;
    ASSERT_EQ(r.log.entries.size(), 29u) << "cut at " << cut;
    EXPECT_EQ(r.log.hard_state.commit(), 29u) << "cut at " << cut;
    EXPECT_EQ(r.log.last_write_seq, 29u);
    EXPECT_EQ(r.log.write_offset_bytes, starts.back());
    EXPECT_LE(r.log.torn_bytes, cut - starts.back()) << "only the torn write is zeroed";
    // The torn bytes are zeroed on disk, so the next recovery is clean.
    const recovery_result again = recover(dir_);
    ASSERT_EQ(again.error, "");
    EXPECT_EQ(again.log.entries.size(), 29u);
    EXPECT_EQ(again.log.torn_bytes, 0u);
  }
}

TEST_F(recovery, a_torn_write_with_holes_is_dropped_whole) {
  std::vector<std::size_t> starts;
  std::string log = make_log(10, &starts);
  // The last write lost a sector in its middle; its end reached the disk.
  const std::size_t hole = starts[9] + (log.size() - starts[9]) / 2;
  std::fill(log.begin() + static_cast<long>(hole), log.begin() + static_cast<long>(hole) + 4, '\0');
  write_segment(1, log);
  const recovery_result r = recover(dir_);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.log.entries.size(), 9u);
  EXPECT_EQ(r.log.torn_offset_bytes, starts[9]);
  EXPECT_EQ(read_segment(1).find_first_not_of('\0', starts[9]), std::string::npos);
}

TEST_F(recovery, corruption_in_earlier_writes_is_refused_with_file_and_offset) {
  std::vector<std::size_t> starts;
  const std::string log = make_log(100, &starts);
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    // A byte changed anywhere before the last write.
    const std::size_t victim = rng() % starts.back();
    std::string bad = log;
    bad[victim] = static_cast<char>(bad[victim] ^ (1 + rng() % 255));
    write_segment(1, bad);
    const recovery_result r = recover(dir_);
    ASSERT_NE(r.error, "") << "change at " << victim;
    EXPECT_NE(r.error.find(segment_path(dir_, 1).string()), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("not a torn final write"), std::string::npos) << r.error;
    // The offset named lies in the damaged write, at or before the change.
    const std::size_t write = *(std::upper_bound(starts.begin(), starts.end(), victim) - 1);
    const std::size_t pos = r.error.find("at offset ");
    ASSERT_NE(pos, std::string::npos) << r.error;
    const std::size_t named = std::stoull(r.error.substr(pos + 10));
    EXPECT_GE(named, write) << r.error;
    EXPECT_LE(named, victim) << r.error;
    // Refusing changes nothing on disk.
    EXPECT_EQ(read_segment(1).substr(0, bad.size()), bad);
  }
}

// Recovery reads only a segment's data extents and takes holes for the
// zeros they read as: a sparse segment recovers as a zero-filled one, and
// data after a hole still counts.
TEST_F(recovery, sparse_segments_recover_like_zero_filled_ones) {
  std::vector<std::size_t> starts;
  const std::string log = make_log(10, &starts);
  write_sparse_segment(1, 4 << 20, {{0, log}});
  recovery_result r = recover(dir_);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.log.entries.size(), 10u);
  EXPECT_EQ(r.log.write_offset_bytes, log.size());

  // A torn last write, then a hole, then a later write 1 MiB on: not torn.
  std::string torn = log;
  torn[starts[9] + 9] ^= 0x55;
  const std::string later = make_log(1, nullptr, 11);
  write_sparse_segment(1, 4 << 20, {{0, torn}, {1 << 20, later}});
  r = recover(dir_);
  EXPECT_NE(r.error.find("not a torn final write"), std::string::npos) << r.error;

  // The same damage with the later write in a sparse next segment.
  write_sparse_segment(1, 4 << 20, {{0, torn}});
  write_sparse_segment(2, 4 << 20, {{2 << 20, later}});
  r = recover(dir_);
  EXPECT_NE(r.error.find("not a torn final write"), std::string::npos) << r.error;

  // Without it the torn write is dropped and the rest recovered.
  fs::remove(segment_path(dir_, 2));
  r = recover(dir_);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.log.entries.size(), 9u);
}

TEST_F(recovery, data_in_a_later_segment_makes_earlier_damage_corruption) {
  std::vector<std::size_t> starts;
  std::string log = make_log(5, &starts);
  log[starts[4] + 9] ^= 0x55;  // the last write of segment 1
  write_segment(1, log);
  write_segment(2, make_log(1, nullptr, 6));
  const recovery_result r = recover(dir_);
  EXPECT_NE(r.error.find("not a torn final write"), std::string::npos) << r.error;
}

TEST_F(recovery, writes_aligned_to_pages_are_read_across_their_gaps) {
  // The block log starts every write on a page boundary.
  std::string log;
  for (std::uint64_t i = 1; i <= 3; ++i) {
    log.resize((log.size() + 4095) / 4096 * 4096, '\0');
    log += frame_write(i, {entry_record(1, i)});
  }
  write_segment(1, log);
  const recovery_result r = recover(dir_);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.log.entries.size(), 3u);
  EXPECT_EQ(r.log.write_offset_bytes, log.size());
  // Junk inside a gap, with a later write after it, is corruption.
  log[4096 - 10] = 'j';
  write_segment(1, log);
  EXPECT_NE(recover(dir_).error.find("not a torn final write"), std::string::npos);
}

TEST_F(recovery, an_aligned_write_starting_with_a_zero_byte_is_found) {
  // Find a write whose first byte (the low byte of its header's checksum,
  // which covers the write's length) is zero: vary the length.
  std::string second;
  for (std::size_t len = 1; len < 100000 && (second.empty() || second[0] != '\0'); ++len) {
    storagepb::LogRecord rec = entry_record(1, 2);
    rec.mutable_entry()->set_data(std::string(len, 'x'));
    second = frame_write(2, {rec});
  }
  ASSERT_EQ(second[0], '\0');
  std::string log = frame_write(1, {entry_record(1, 1)});
  log.resize(4096, '\0');
  log += second;
  write_segment(1, log);
  const recovery_result r = recover(dir_);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.log.entries.size(), 2u);
  EXPECT_EQ(r.log.write_offset_bytes, log.size());
}

TEST_F(recovery, gap_in_entry_indexes_is_refused) {
  std::string log;
  log += frame_write(1, {entry_record(1, 1), entry_record(1, 2)});
  log += frame_write(2, {entry_record(1, 4)});
  log += frame_write(3, {entry_record(1, 5)});
  write_segment(1, log);
  const recovery_result r = recover(dir_);
  EXPECT_NE(r.error.find("entry 4 follows entry 2"), std::string::npos) << r.error;
}

TEST_F(recovery, gap_in_write_sequence_is_refused) {
  std::string log = frame_write(1, {entry_record(1, 1)}) + frame_write(3, {entry_record(1, 2)}) +
                    frame_write(4, {entry_record(1, 3)});
  write_segment(1, log);
  const recovery_result r = recover(dir_);
  EXPECT_NE(r.error.find("write 3 follows write 1"), std::string::npos) << r.error;
}

TEST_F(recovery, rewritten_index_replaces_the_conflicting_suffix) {
  std::string log = frame_write(1, {entry_record(1, 1), entry_record(1, 2), entry_record(1, 3)}) +
                    frame_write(2, {entry_record(2, 2)});
  write_segment(1, log);
  const recovery_result r = recover(dir_);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.log.entries.size(), 2u);
  EXPECT_EQ(r.log.entries[1].term(), 2u);
}

// Found by tests/fuzz/fuzz_recovery: the core asserted on such a log at
// start-up; recovery refuses it instead, naming the write.
TEST_F(recovery, entry_terms_that_decrease_are_refused) {
  std::string log = frame_write(1, {entry_record(2, 1), entry_record(2, 2)});
  std::vector<std::size_t> starts{log.size()};
  log += frame_write(2, {entry_record(1, 3)});
  log += frame_write(3, {entry_record(2, 4)});
  write_segment(1, log);
  const recovery_result r = recover(dir_);
  EXPECT_NE(r.error.find("entry 3 of term 1 follows entry 2 of term 2"), std::string::npos)
      << r.error;
  EXPECT_NE(
      r.error.find(segment_path(dir_, 1).string() + " at offset " + std::to_string(starts[0])),
      std::string::npos)
      << r.error;
}

// Found by tests/fuzz/fuzz_recovery: an append above write_bytes_max is
// split into writes, the hard state in the last; a crash before the last
// left entries of a term above the hard state's, and the core asserted at
// start-up. Recovery takes the term on, without a vote.
TEST_F(recovery, entries_of_a_term_the_hard_state_lacks_raise_its_term) {
  storagepb::LogRecord hs = hard_state_record(1, 1);
  hs.mutable_hard_state()->set_vote(2);
  std::string log = frame_write(1, {entry_record(1, 1), hs});
  // The first part of a split append of term 3; its hard state never landed.
  log += frame_write(2, {entry_record(3, 2), entry_record(3, 3)});
  write_segment(1, log);
  const recovery_result r = recover(dir_);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.log.entries.size(), 3u);
  EXPECT_EQ(r.log.hard_state.term(), 3u);
  EXPECT_EQ(r.log.hard_state.vote(), 0u);
  EXPECT_EQ(r.log.hard_state.commit(), 1u);
}

}  // namespace
}  // namespace ringchain::storage
