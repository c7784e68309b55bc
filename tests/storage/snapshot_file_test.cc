// Snapshot files: what the encoder writes, the decoder reads back in pieces
// of any size; a file cut short is incomplete, and any flipped bit is
// damage, named with its offset.
#include "node/storage/snapshot_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace ringchain::storage {
namespace {

namespace fs = std::filesystem;

// A snapshot of `parts` parts of a few pairs each, as one string.
std::string make_snapshot(int parts, storagepb::SnapshotHeader* header_out = nullptr) {
  storagepb::SnapshotHeader h;
  h.set_version(1);
  h.mutable_meta()->set_index(42);
  h.mutable_meta()->set_term(3);
  h.mutable_meta()->mutable_conf()->add_voters(1);
  h.set_height(40);
  h.set_state_hash(std::string(32, 's'));
  snapshot_encoder enc;
  std::string out;
  enc.header(h, &out);
  for (int p = 0; p < parts; ++p) {
    chainpb::StatePart part;
    for (int k = 0; k < 3; ++k) {
      chainpb::KvWrite* w = part.add_kv();
      w->set_key("key-" + std::to_string(p) + "-" + std::to_string(k));
      w->set_value(std::string(static_cast<std::size_t>(10 + p), 'v'));
    }
    part.add_nonces()->set_sender("sender-" + std::to_string(p));
    enc.part(part, &out);
  }
  enc.footer(&out);
  if (header_out != nullptr) *header_out = h;
  return out;
}

// What decoding a file gave: the first error, the parts handed on, and
// the decoder (whole or not).
struct decoded {
  base::status error;
  int parts = 0;
  std::unique_ptr<snapshot_decoder> decoder;
};

// Feeds `bytes` in pieces of `piece`.
decoded decode(const std::string& bytes, std::size_t piece) {
  decoded d;
  d.decoder = std::make_unique<snapshot_decoder>([&d](const chainpb::StatePart&) {
    ++d.parts;
    return base::status{};
  });
  for (std::size_t off = 0; off < bytes.size() && d.error.ok(); off += piece) {
    d.error = d.decoder->feed(std::string_view(bytes).substr(off, piece));
  }
  return d;
}

TEST(snapshot_file, decodes_what_was_encoded_in_pieces_of_any_size) {
  storagepb::SnapshotHeader h;
  const std::string bytes = make_snapshot(7, &h);
  for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{64}, bytes.size()}) {
    const decoded d = decode(bytes, piece);
    ASSERT_EQ(d.error.message(), "") << piece;
    EXPECT_TRUE(d.decoder->complete());
    EXPECT_EQ(d.parts, 7);
    ASSERT_TRUE(d.decoder->header());
    EXPECT_EQ(d.decoder->header()->meta().index(), 42u);
    EXPECT_EQ(d.decoder->header()->SerializeAsString(), h.SerializeAsString());
  }
}

// A file cut anywhere is not whole: never an error on its own, never
// complete.
TEST(snapshot_file, a_file_cut_short_is_incomplete) {
  const std::string bytes = make_snapshot(3);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    const decoded d = decode(bytes.substr(0, cut), 5);
    ASSERT_EQ(d.error.message(), "") << cut;
    EXPECT_FALSE(d.decoder->complete()) << cut;
    EXPECT_NE(d.decoder->incomplete_reason(), "");
  }
}

// Every flipped bit is caught, as damage at an offset at or before it.
TEST(snapshot_file, every_flipped_bit_is_damage_named_with_its_offset) {
  const std::string bytes = make_snapshot(3);
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (int bit : {0, 5}) {
      std::string bad = bytes;
      bad[at] = static_cast<char>(bad[at] ^ (1 << bit));
      const decoded d = decode(bad, 17);
      ASSERT_TRUE(!d.error.ok() || !d.decoder->complete()) << "flip at " << at << " went unnoticed";
      if (!d.error.ok()) {
        EXPECT_NE(d.error.message().find("at offset "), std::string::npos) << d.error.message();
      }
    }
  }
}

TEST(snapshot_file, bytes_after_the_footer_are_damage) {
  EXPECT_NE(decode(make_snapshot(2) + "x", 1000).error.message().find("after the footer"),
            std::string::npos);
}

TEST(snapshot_file, load_names_the_file_and_lists_by_index) {
  const fs::path dir =
      fs::temp_directory_path() / ("ringchain-snapfile-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string bytes = make_snapshot(4);
  std::ofstream(snapshot_path(dir, 42), std::ios::binary) << bytes;
  std::ofstream(snapshot_path(dir, 7), std::ios::binary) << bytes.substr(0, 20);
  std::ofstream(dir / "other.txt") << "x";
  EXPECT_EQ(list_snapshots(dir), (std::vector<std::uint64_t>{7, 42}));
  int parts = 0;
  const auto ok = load_snapshot(snapshot_path(dir, 42), [&parts](const chainpb::StatePart&) {
    ++parts;
    return base::status{};
  });
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ(parts, 4);
  const auto cut = load_snapshot(snapshot_path(dir, 7), [](const auto&) { return base::status{}; });
  EXPECT_NE(cut.message().find(snapshot_path(dir, 7).string()), std::string::npos);
  EXPECT_NE(cut.message().find("before its footer"), std::string::npos) << cut.message();
  bytes[bytes.size() / 2] ^= 1;
  std::ofstream(snapshot_path(dir, 42), std::ios::binary | std::ios::trunc) << bytes;
  const auto bad =
      load_snapshot(snapshot_path(dir, 42), [](const auto&) { return base::status{}; });
  EXPECT_NE(bad.message().find("at offset "), std::string::npos) << bad.message();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ringchain::storage
