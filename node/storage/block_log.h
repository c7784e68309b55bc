// The block log: where a node makes its consensus log and hard state
// durable, through the reactor.
//
// Each append carries one Ready of the core: its entries (blocks ride in
// them) and its hard state, framed as records (record.h) into one buffer
// and written with one file_write: the write and its barrier reach the
// kernel together, linked, under the uring backend. Appends are reported
// durable strictly in order. While a write is in flight, later appends
// wait and then go out together as the next write under one barrier
// (group commit).
//
// Any write or barrier error is fatal: the log stops, reports the error to
// every waiting append, and accepts nothing more. A failed fdatasync is
// never retried (the PostgreSQL fsyncgate lesson: after a failed barrier,
// the page cache may have dropped the dirty pages, and a retry would
// report durable what is not).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <span>
#include <string>

#include "node/base/limits.h"
#include "node/base/result.h"
#include "node/io/reactor.h"
#include "node/storage/recovery.h"
#include "proto/raft.pb.h"

namespace ringchain::storage {

// When the log issues barriers.
enum class persistence {
  // One barrier per append (one Ready, normally one block): group commit.
  per_block,
  // The naive model: each transaction written and followed by its own
  // barrier, in turn.
  per_tx,
};
// The policy's name, as configuration spells it: "per_block" or "per_tx".
const char* to_string(persistence p);
// Parses "per_block" or "per_tx"; false for anything else.
bool parse_persistence(std::string_view text, persistence* out);

// How a block log is opened; validate() checks them.
struct block_log_options {
  // The directory of the segment files; created if missing.
  std::filesystem::path dir;
  // When barriers are issued; see persistence.
  persistence policy = persistence::per_block;
  // Size of each preallocated segment file.
  std::uint64_t segment_bytes = 64 * limits::mib;
  // Delay added after every barrier: a slow-disk knob for experiments.
  std::chrono::nanoseconds barrier_delay{0};

  // Whether the options are usable; the error names the problem.
  base::status validate() const;
};

// What the block log did.
struct block_log_counters {
  // Calls of append().
  std::uint64_t appends = 0;
  // Writes submitted, each with its barriers (several appends ride in one under
  // group commit).
  std::uint64_t writes = 0;
  // Bytes submitted in those writes, their write headers included.
  std::uint64_t bytes = 0;
  // Segments this log started: the first of an empty log, and each it moved
  // on to (not those recovery found).
  std::uint64_t segments_created = 0;
};

// One node's block log; see the top of this file. The node's runtime owns it
// and calls it on the reactor thread.
class block_log {
 public:
  // Called when an append is durable (0) or can never be (-errno).
  using done_fn = std::function<void(int result)>;

  // Opens the log in opts.dir (created if missing): recovers what is there
  // and prepares the next write. Fails when recovery refuses (the error
  // names the file and offset) or a file cannot be opened.
  static base::result<std::unique_ptr<block_log>> open(io::reactor& reactor,
                                                       const block_log_options& opts);
  // Waits for a segment being prepared on the helper thread, and closes the
  // current segment file.
  ~block_log();

  // What recovery found: the hard state and entries to restore the core
  // from, and any torn final write it dropped.
  const recovered_log& recovered() const { return recovered_; }

  // Persists a hard state (may be null) and entries (which replace any
  // stored entries from entries.front().index() on). `transactions` is the
  // number of transactions they carry, used by the per_tx policy (at least
  // one part is written). `done` runs from the reactor loop.
  void append(const raftpb::HardState* hs, std::span<const raftpb::Entry> entries,
              std::uint32_t transactions, done_fn done);

  // The first error, as -errno; 0 while healthy.
  int failed() const { return failed_; }
  // A sentence describing the failure, for the fatal log line.
  std::string failure_message() const;
  // What the log did since it was opened.
  const block_log_counters& get_counters() const { return counters_; }
  // Changes the delay added after every barrier, from the next write on.
  void set_barrier_delay(std::chrono::nanoseconds d) {
    opts_.barrier_delay = d;
    if (!write_.busy_) write_.barrier_delay = d;
  }

  // Test-only fault hook: later writes go to `fd` (owned by the log from
  // now on). /dev/null there makes every barrier fail with EINVAL.
  void replace_fd_for_testing(int fd);

  // Appends waiting or in flight.
  std::size_t pending() const { return waiting_.size() + in_flight_.size(); }

 private:
  block_log(io::reactor& reactor, block_log_options opts);
  base::status start(recovered_log rec);
  base::status open_segment(std::uint64_t n, bool create);
  void prepare_next();
  void maybe_write();
  void on_written(int result);
  void fail(int err);

  // An append whose records wait in pending_; its bytes are the next
  // `bytes` of pending_ after those of the appends before it.
  struct waiting_append {
    std::uint64_t bytes;
    std::uint32_t parts;
    done_fn done;
  };

  io::reactor& reactor_;
  block_log_options opts_;
  recovered_log recovered_;
  int fd_ = -1;
  std::uint64_t segment_ = 0;
  std::uint64_t offset_ = 0;
  std::deque<waiting_append> waiting_;
  std::deque<done_fn> in_flight_;
  // Records waiting for the next write, and the records of the write in
  // flight; the two buffers alternate and keep their capacity.
  std::string pending_;
  std::string buffer_;
  io::file_write write_;
  std::uint64_t write_seq_ = 0;
  // The next segment, being filled with zeros on a helper thread.
  std::future<base::status> next_;
  int failed_ = 0;
  std::string failure_detail_;
  block_log_counters counters_;
};

// A sentence for a write or barrier error, naming a full disk as such.
std::string describe_write_error(int err);

}  // namespace ringchain::storage
