// Recovery of the block log at start-up.
//
// The log is a directory of segment files named segment-NNNNNNNN.log,
// filled in order. Each holds records (record.h) followed by zeros: the
// writer preallocates segments and moves to the next one when a write does
// not fit, so a write never straddles two segments.
//
// Every record is validated. A write is made durable by one barrier and a
// new write starts only after the previous barrier completed, so a crash
// can damage only the last write. Recovery therefore treats damage as a
// torn final write when nothing but zeros lies beyond it, farther than one
// write (the torn window) can reach; it drops that tail, zeroes it on disk
// and reports it. Damage with data beyond the torn window is corruption in
// the middle of the log: recovery refuses, naming the file and offset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "proto/raft.pb.h"

namespace ringchain::storage {

struct recovered_log {
  raftpb::HardState hard_state;
  std::vector<raftpb::Entry> entries;
  // Where the next write goes: the last segment's number and offset.
  std::uint64_t segment = 0;
  std::uint64_t write_offset_bytes = 0;
  // A torn final write dropped by recovery: where it started and how many
  // bytes were zeroed. torn_bytes is 0 when the log ended cleanly.
  std::filesystem::path torn_file;
  std::uint64_t torn_offset_bytes = 0;
  std::uint64_t torn_bytes = 0;
};

struct recovery_result {
  // Empty when recovery succeeded; otherwise a sentence naming the file,
  // the offset and the problem.
  std::string error;
  recovered_log log;
};

// The path of segment `n` in `dir`.
std::filesystem::path segment_path(const std::filesystem::path& dir, std::uint64_t n);

// Recovers the log in `dir` (which must exist). `torn_window_bytes` is the
// largest write the log ever issued (limits::write_bytes_max unless a
// config lowered it).
recovery_result recover_log(const std::filesystem::path& dir, std::uint64_t torn_window_bytes);

}  // namespace ringchain::storage
