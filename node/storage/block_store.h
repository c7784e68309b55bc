// The block store: committed blocks on disk, by height, so that block
// queries keep working after the log that held them was compacted.
//
// Blocks go to `<data_dir>/blocks/` in files of consecutive heights:
// `blocks-<first height>.dat` holds each block as a record framed
// |crc32c|length|payload| (record.h; the payload a storagepb::StoredBlock),
// and `blocks-<first height>.idx` holds each record's offset, 8 bytes
// little-endian per height, so a query costs two reads whatever the
// height. A new file starts when the current one reaches its size, or when
// heights jump (a snapshot installed from the leader: the node never held
// the blocks below it). In memory the store keeps only the list of its
// files and the blocks not yet written (at most block_store_pending_bytes_max).
//
// Writes go through the reactor's durable writes, batched (flush()). A
// flush reports done only when it and every earlier flush are durable, so
// the node, which flushes before it reports a snapshot durable, knows the
// store holds every block the snapshot covers before the log that held
// them is dropped. Blocks after the last durable flush are applied again
// from the log at restart.
//
// At open, each file's tail is checked: index entries whose record does
// not read back with the right height (a crash between the two writes)
// are cut off, with the data past the last good record. A record damaged
// elsewhere shows when it is read: the query's error names the file and
// the offset, and the node runs on.
//
// Retention: `archive` keeps every block; otherwise files whose blocks all
// lie more than `blocks_kept` below the newest are deleted. Files then hold
// at most blocks_kept / 4 blocks each, so between blocks_kept and 1.25 x
// blocks_kept stay.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "node/base/result.h"
#include "node/io/reactor.h"
#include "node/storage/durable_file.h"

namespace ringchain::storage {

// Where the store lives and what it keeps.
struct block_store_options {
  // The directory of the store's files (created when missing).
  std::filesystem::path dir;
  // Keep every block (true), or only about the newest blocks_kept.
  bool archive = false;
  // Blocks kept without archive; at least 1.
  std::uint64_t blocks_kept = 20'000;
  // A file is closed and a new one started past this many bytes.
  std::uint64_t file_bytes = 64 * 1024 * 1024;
  // Called once, with -errno, when a write first fails (whichever flush
  // it belongs to, and from the write's completion): the node stops, as
  // for any failed write. Nothing is written after it.
  std::function<void(int result)> on_write_error;
};

// Committed blocks on disk by height (see the file comment).
class block_store {
 public:
  // Called when a flush is durable (0) or failed (-errno).
  using done_fn = std::function<void(int result)>;

  // Opens (or creates) the store and checks each file's tail. The error
  // names the file.
  static base::result<std::unique_ptr<block_store>> open(io::reactor& reactor,
                                                         block_store_options opts);
  // Closes the files; writes still queued are dropped (the log holds
  // their blocks until a flush reports them durable).
  ~block_store();
  block_store(const block_store&) = delete;
  block_store& operator=(const block_store&) = delete;

  // Adds the committed block at `height` (its encoded bytes, from log
  // entry `index`). A height at or below the newest is already stored and
  // is skipped; one above newest + 1 starts a new file after a gap.
  void append(std::uint64_t index, std::uint64_t height, std::string_view block);
  // Makes every block appended so far durable; `done` runs once this flush
  // and every earlier one are durable, or with the first error.
  void flush(done_fn done);
  // Whether blocks wait to be written.
  bool dirty() const { return !pending_dat_.empty(); }

  // The encoded block at `height`, or a sentence saying why the store
  // cannot give it: not written yet, compacted away by retention (with the
  // oldest height kept), never held (a snapshot installed past it), or
  // damaged on disk (with the file and offset).
  base::result<std::string> read(std::uint64_t height) const;
  // The oldest height stored (0 when empty).
  std::uint64_t first_height() const;
  // The newest height appended (0 when empty).
  std::uint64_t last_height() const { return last_height_; }
  // The newest height durable (0 when empty).
  std::uint64_t durable_height() const { return durable_height_; }
  // Files in the store (pairs of data and index).
  std::size_t files() const { return files_.size(); }
  // The first error of a write (-errno); 0 while healthy.
  int failed() const { return failed_; }

 private:
  struct file;
  // A flush waiting for its writes, and for the flushes before it.
  struct pending_flush {
    int writes_left = 0;
    int error = 0;
    std::uint64_t height = 0;
    done_fn done;
  };
  block_store(io::reactor& reactor, block_store_options opts);
  base::status load();
  base::status check_tail(file& f);
  base::status start_file(std::uint64_t first_height);
  void write_done(std::uint64_t seq, int result);
  void write_failed(int result);
  void trim();

  io::reactor& reactor_;
  block_store_options opts_;
  // Every file, oldest first; the last one is written.
  std::vector<std::unique_ptr<file>> files_;
  std::uint64_t last_height_ = 0;
  std::uint64_t durable_height_ = 0;
  // Bytes appended to the newest file and its index, not yet handed to
  // their writers, and the height they reach.
  std::string pending_dat_, pending_idx_;
  std::uint64_t pending_height_ = 0;
  // Flushes not yet reported, oldest first; the first has sequence
  // flushes_done_.
  std::deque<pending_flush> flushes_;
  std::uint64_t flushes_done_ = 0;
  int failed_ = 0;
};

}  // namespace ringchain::storage
