// Snapshot files: the state of a node at one log index, on disk.
//
// A snapshot lives in `<data_dir>/snap/snapshot-<index>.snap` (the index in
// 20 digits, so names sort by index). It is a sequence of records framed
// |crc32c|length|payload| (record.h) whose payloads are
// storagepb::SnapshotRecord (proto/snapshot.proto): a header (the log
// position, membership, chain tip and state hash), parts of the state, and
// a footer that counts the records and bytes before it and carries their
// CRC-32C. A file is valid only when every record checks, the footer
// matches and nothing follows it: a file that ends early was being written
// when the node stopped, and one that does not check is damaged; either is
// refused, naming the file and the offset.
//
// The encoder and decoder work on pieces of any size, so that writing,
// sending and loading a large snapshot are each many short steps of the
// node's loop.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/base/result.h"
#include "proto/snapshot.pb.h"

namespace ringchain::storage {

// The snapshot at `index` in `dir`.
std::filesystem::path snapshot_path(const std::filesystem::path& dir, std::uint64_t index);
// The indexes of the snapshot files in `dir` (by name), ascending.
std::vector<std::uint64_t> list_snapshots(const std::filesystem::path& dir);

// Frames snapshot records, counting and checksumming what it framed for
// the footer.
class snapshot_encoder {
 public:
  // Appends the header record to `out`; first.
  void header(const storagepb::SnapshotHeader& h, std::string* out);
  // Appends a part of the state (at most limits::snapshot_record_bytes_max
  // framed).
  void part(const chainpb::StatePart& p, std::string* out);
  // Appends the footer; last.
  void footer(std::string* out);

 private:
  void add(const storagepb::SnapshotRecord& r, std::string* out);

  std::uint64_t records_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint32_t crc_ = 0;
};

// Reads a snapshot's bytes in order, cut anywhere: checks every record and
// the footer, and hands each part of the state on.
class snapshot_decoder {
 public:
  // Takes each part in order; an error stops the decoding.
  using part_fn = std::function<base::status(const chainpb::StatePart&)>;

  // A decoder at the start of a file; each part goes to `on_part`.
  explicit snapshot_decoder(part_fn on_part) : on_part_(std::move(on_part)) {}

  // The next bytes of the file. The error names the offset of the record
  // at fault and what is wrong with it.
  base::status feed(std::string_view bytes);
  // Whether the footer was read and checks: the whole file is there.
  bool complete() const { return complete_; }
  // The header, once read.
  const std::optional<storagepb::SnapshotHeader>& header() const { return header_; }
  // Bytes fed so far.
  std::uint64_t offset() const { return fed_; }
  // Why a file that stopped here is not whole: empty when complete().
  std::string incomplete_reason() const;

 private:
  base::status take(const storagepb::SnapshotRecord& r, std::string_view framed);

  part_fn on_part_;
  // Bytes fed but not yet decoded (at most one record and a piece).
  std::string pending_;
  // File offset of pending_'s first byte.
  std::uint64_t pending_at_ = 0;
  std::uint64_t fed_ = 0;
  std::uint64_t records_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint32_t crc_ = 0;
  std::optional<storagepb::SnapshotHeader> header_;
  bool complete_ = false;
};

// Reads and checks the whole file, handing its parts to `on_part`, and
// returns its header. The error names the file and the offset.
base::result<storagepb::SnapshotHeader> load_snapshot(const std::filesystem::path& path,
                                                      const snapshot_decoder::part_fn& on_part);

}  // namespace ringchain::storage
