// Recovery of the block log at start-up.
//
// The log is a directory of segment files named segment-NNNNNNNN.log,
// filled in order. Each holds writes followed by zeros: the writer
// preallocates segments and moves to the next one when a write does not
// fit, so a write never straddles two segments. Every write starts with a
// write_begin record carrying its sequence number and the length of the
// records that follow it.
//
// Every record is validated. A write is made durable by one barrier and the
// next write starts only after that barrier completed, so a crash can
// damage only the last write, and no write can exist after a damaged one.
// Recovery therefore treats damage as a torn final write when no later
// write header exists beyond it (and later segments are empty): it drops
// that whole write (it was never acknowledged; keeping part of it could
// keep entries without the hard state written with them), zeroes it on
// disk and reports it. Damage followed by a later write is corruption in
// the middle of the log: recovery refuses, naming the file and offset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "node/base/result.h"
#include "proto/raft.pb.h"

namespace ringchain::storage {

// What recovery read from the log: the state to restart the core from, and
// where the writer carries on.
struct recovered_log {
  // The last hard state written; all zeros (term 0, no vote) when none was.
  raftpb::HardState hard_state;
  // Every entry from index 1 on, as the records replay: a rewritten index
  // replaces the suffix from there (Raft §5.3).
  std::vector<raftpb::Entry> entries;
  // Where the next write goes: the last segment's number.
  std::uint64_t segment = 0;
  // The offset in that segment where the next write goes.
  std::uint64_t write_offset_bytes = 0;
  // The sequence number of the last complete write.
  std::uint64_t last_write_seq = 0;
  // A torn final write dropped by recovery: the file it was in (empty when
  // the log ended cleanly).
  std::filesystem::path torn_file;
  // Where in torn_file the torn write started.
  std::uint64_t torn_offset_bytes = 0;
  // How many bytes of it were zeroed; 0 when the log ended cleanly.
  std::uint64_t torn_bytes = 0;
};

// The path of segment `n` in `dir`.
std::filesystem::path segment_path(const std::filesystem::path& dir, std::uint64_t n);

// Recovers the log in `dir` (which must exist). The error names the file,
// the offset and the problem.
base::result<recovered_log> recover_log(const std::filesystem::path& dir);

}  // namespace ringchain::storage
