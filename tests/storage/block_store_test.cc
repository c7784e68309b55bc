// The block store over both reactor backends: blocks read back by height
// across files and reopenings; retention and archive; gaps; a torn tail is
// cut at open; a damaged record or index entry is an error naming the file
// and offset, and the store runs on.
#include "node/storage/block_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace ringchain::storage {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The block bytes stored at `height` (any bytes will do: the store does
// not parse them).
std::string block_at(std::uint64_t height) {
  return "block-" + std::to_string(height) + std::string(height % 50, 'x');
}

std::string contents(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class block_store_test : public ::testing::TestWithParam<io::backend> {
 protected:
  void SetUp() override {
    auto r = io::reactor::create(GetParam(), {});
    if (!r.ok()) GTEST_SKIP() << r.message();
    reactor_ = std::move(*r);
    // A parameterized test's name ends in "/<index>": one directory level,
    // not a subdirectory that TearDown would remove without its parent.
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '-');
    opts_.dir = fs::temp_directory_path() /
                ("ringchain-blockstore-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(opts_.dir);
    opts_.file_bytes = 1024;
  }
  void TearDown() override {
    store_.reset();
    if (!opts_.dir.empty()) fs::remove_all(opts_.dir);
  }

  void open_store() {
    store_.reset();
    auto opened = block_store::open(*reactor_, opts_);
    ASSERT_TRUE(opened.ok()) << opened.message();
    store_ = std::move(*opened);
  }

  // Appends heights [from, to] and flushes them; returns the flush result.
  int append_sync(std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t h = from; h <= to; ++h) store_->append(h + 100, h, block_at(h));
    int result = 1;
    store_->flush([&](int r) { result = r; });
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (result == 1 && std::chrono::steady_clock::now() < end) reactor_->run_once(10ms);
    return result;
  }

  void expect_reads(std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t h = from; h <= to; ++h) {
      base::result<std::string> b = store_->read(h);
      ASSERT_TRUE(b.ok()) << "height " << h << ": " << b.message();
      EXPECT_EQ(*b, block_at(h));
    }
  }

  // Heights 1..blocks in one file, durable, and the store closed.
  void store_and_close(std::uint64_t blocks) {
    opts_.file_bytes = 1 << 20;
    open_store();
    ASSERT_EQ(append_sync(1, blocks), 0);
    store_.reset();
  }

  std::vector<fs::path> files(const std::string& ext) const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(opts_.dir)) {
      if (e.path().extension() == ext) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::unique_ptr<io::reactor> reactor_;
  block_store_options opts_;
  std::unique_ptr<block_store> store_;
};

TEST_P(block_store_test, blocks_read_back_by_height_across_files_and_reopenings) {
  open_store();
  ASSERT_EQ(append_sync(1, 60), 0);
  EXPECT_GT(store_->files(), 2u) << "small files: the blocks span several";
  EXPECT_EQ(store_->first_height(), 1u);
  EXPECT_EQ(store_->durable_height(), 60u);
  expect_reads(1, 60);
  open_store();
  EXPECT_EQ(store_->last_height(), 60u);
  expect_reads(1, 60);
  // Heights already stored are skipped; the next ones go on.
  ASSERT_EQ(append_sync(55, 70), 0);
  expect_reads(1, 70);
}

TEST_P(block_store_test, a_block_not_yet_durable_is_not_read) {
  open_store();
  ASSERT_EQ(append_sync(1, 3), 0);
  store_->append(4, 4, block_at(4));
  EXPECT_TRUE(store_->dirty());
  base::result<std::string> b = store_->read(4);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("not in the block store yet"), std::string::npos) << b.message();
}

TEST_P(block_store_test, retention_deletes_old_files_and_says_which_blocks_it_keeps) {
  opts_.blocks_kept = 20;
  open_store();
  // Flushed every 10 blocks, as the node flushes on a timer: a file goes
  // once its writes are done.
  for (std::uint64_t h = 1; h <= 200; h += 10) ASSERT_EQ(append_sync(h, h + 9), 0);
  const std::uint64_t oldest = store_->first_height();
  EXPECT_GT(oldest, 1u);
  EXPECT_LE(oldest, 200u - 20 + 1) << "at least blocks_kept are kept";
  EXPECT_GE(oldest, 200u - 25 + 1) << "at most a quarter more than blocks_kept";
  EXPECT_LT(store_->files(), 8u) << "old files were deleted";
  expect_reads(200 - 20 + 1, 200);
  base::result<std::string> b = store_->read(oldest - 1);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("block " + std::to_string(oldest - 1) +
                             " was compacted; this node keeps blocks from " +
                             std::to_string(oldest) + " on"),
            std::string::npos)
      << b.message();
  // The oldest height kept survives a reopening.
  open_store();
  EXPECT_EQ(store_->first_height(), oldest);
  EXPECT_FALSE(store_->read(1).ok());
}

TEST_P(block_store_test, archive_keeps_every_block) {
  opts_.archive = true;
  opts_.blocks_kept = 20;
  open_store();
  ASSERT_EQ(append_sync(1, 200), 0);
  EXPECT_EQ(store_->first_height(), 1u);
  expect_reads(1, 200);
}

TEST_P(block_store_test, a_gap_after_an_installed_snapshot_is_named) {
  opts_.archive = true;
  open_store();
  ASSERT_EQ(append_sync(1, 5), 0);
  // A snapshot at height 9 was installed: the next block applied is 10.
  ASSERT_EQ(append_sync(10, 12), 0);
  expect_reads(1, 5);
  expect_reads(10, 12);
  base::result<std::string> b = store_->read(7);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("installed a snapshot past it (blocks 6 to 9 were never held)"),
            std::string::npos)
      << b.message();
  open_store();
  expect_reads(10, 12);
  EXPECT_FALSE(store_->read(7).ok());
}

TEST_P(block_store_test, a_torn_tail_is_cut_at_open_and_the_next_blocks_follow) {
  store_and_close(10);
  const fs::path dat = files(".dat").back();
  const fs::path idx = files(".idx").back();
  // The data of the last block torn, and an index entry past the data.
  fs::resize_file(dat, fs::file_size(dat) - 3);
  { std::ofstream(idx, std::ios::binary | std::ios::app) << std::string(8, '\x7f'); }
  open_store();
  EXPECT_EQ(store_->last_height(), 9u);
  expect_reads(1, 9);
  ASSERT_EQ(append_sync(10, 12), 0);
  expect_reads(1, 12);
  open_store();
  expect_reads(1, 12);
}

TEST_P(block_store_test, a_file_of_nothing_but_a_name_is_removed_at_open) {
  open_store();
  ASSERT_EQ(append_sync(1, 4), 0);
  store_.reset();
  std::ofstream(opts_.dir / "blocks-000000000005.dat").close();
  std::ofstream(opts_.dir / "blocks-000000000005.idx").close();
  // Names that are not the store's are left alone.
  std::ofstream(opts_.dir / "blocks-00000000000x.dat") << "not ours";
  std::ofstream(opts_.dir / "notes.txt") << "not ours";
  open_store();
  EXPECT_EQ(store_->last_height(), 4u);
  EXPECT_FALSE(fs::exists(opts_.dir / "blocks-000000000005.dat"));
  EXPECT_TRUE(fs::exists(opts_.dir / "blocks-00000000000x.dat"));
  ASSERT_EQ(append_sync(5, 6), 0);
  expect_reads(1, 6);
}

// Every byte of a record in the middle of a file flipped in turn: the
// query for that block is an error naming the file and the offset of the
// record, the blocks around it still read, and nothing crashes.
TEST_P(block_store_test, every_flipped_byte_of_a_record_is_named_with_file_and_offset) {
  store_and_close(5);
  const fs::path dat = files(".dat").front();
  const std::string bytes = contents(dat);
  // Block 3's record: from the index entry for it to the one for block 4.
  const std::string index = contents(files(".idx").front());
  auto entry = [&](int k) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
      v |= std::uint64_t{static_cast<unsigned char>(index[static_cast<std::size_t>(8 * k + i)])}
           << (8 * i);
    }
    return v;
  };
  const std::uint64_t from = entry(2), to = entry(3);
  ASSERT_LT(from, to);
  for (std::uint64_t at = from; at < to; ++at) {
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x5a);
    std::ofstream(dat, std::ios::binary | std::ios::trunc) << damaged;
    open_store();
    base::result<std::string> b = store_->read(3);
    ASSERT_FALSE(b.ok()) << "byte " << at;
    EXPECT_NE(b.message().find(dat.string() + " at offset " + std::to_string(from)),
              std::string::npos)
        << b.message();
    expect_reads(1, 2);
    expect_reads(4, 5);
    store_.reset();
  }
}

TEST_P(block_store_test, a_hostile_index_entry_is_an_error_naming_the_file_and_offset) {
  store_and_close(5);
  const fs::path idx = files(".idx").front();
  const fs::path dat = files(".dat").front();
  for (const std::uint64_t offset :
       {std::uint64_t{1} << 62, fs::file_size(dat) + 1, std::uint64_t{1}}) {
    {
      std::fstream f(idx, std::ios::binary | std::ios::in | std::ios::out);
      f.seekp(8 * 1);  // block 2's entry
      for (int i = 0; i < 8; ++i) f.put(static_cast<char>((offset >> (8 * i)) & 0xff));
    }
    open_store();
    base::result<std::string> b = store_->read(2);
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.message().find("damaged record in " + dat.string() + " at offset " +
                               std::to_string(offset)),
              std::string::npos)
        << b.message();
    expect_reads(3, 5);
    store_.reset();
  }
}

// Flushes report in order: a flush with nothing of its own to write is
// done only once the one before it is durable.
TEST_P(block_store_test, a_flush_is_done_only_after_every_earlier_one) {
  open_store();
  for (std::uint64_t h = 1; h <= 5; ++h) store_->append(h, h, block_at(h));
  std::vector<int> order;
  store_->flush([&](int r) { order.push_back(r == 0 ? 1 : -1); });
  store_->flush([&](int r) { order.push_back(r == 0 ? 2 : -2); });
  EXPECT_TRUE(order.empty()) << "nothing is durable before the reactor runs";
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (order.size() < 2 && std::chrono::steady_clock::now() < end) reactor_->run_once(10ms);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(store_->durable_height(), 5u);
}

INSTANTIATE_TEST_SUITE_P(io, block_store_test,
                         ::testing::Values(io::backend::uring, io::backend::epoll),
                         [](const auto& p) { return std::string(io::to_string(p.param)); });

}  // namespace
}  // namespace ringchain::storage
