#include "node/storage/recovery.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "node/base/limits.h"
#include "node/storage/record.h"
#include "proto/storage.pb.h"

namespace ringchain::storage {
namespace {

namespace fs = std::filesystem;

// Segment numbers present in `dir`, in order.
std::vector<std::uint64_t> list_segments(const fs::path& dir) {
  std::vector<std::uint64_t> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() == 20 && name.rfind("segment-", 0) == 0 && name.compare(16, 4, ".log") == 0 &&
        std::all_of(name.begin() + 8, name.begin() + 16, ::isdigit)) {
      out.push_back(std::stoull(name.substr(8, 8)));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Reads bytes [from, to) of `fd` into `out` + from.
base::status read_range(int fd, const fs::path& p, std::string* out, std::size_t from,
                        std::size_t to) {
  while (from < to) {
    const ssize_t n = ::pread(fd, out->data() + from, to - from, static_cast<off_t>(from));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return base::fail("cannot read " + p.string() + ": " +
                        (n < 0 ? std::strerror(errno) : "short read"));
    }
    from += static_cast<std::size_t>(n);
  }
  return {};
}

// Reads a whole segment into one buffer of its size (segments are tens of
// MiB: growing a stream buffer would copy them several times). Only the
// file's data extents are read (lseek SEEK_DATA / SEEK_HOLE): a hole, such
// as the unwritten rest of a segment created sparse, is left as the zeros
// the buffer starts with, which is what reading it would give. Sets
// `data_end` to the end of the last data extent: every byte past it is zero.
// A file system without hole reporting shows the whole file as data.
base::status read_file(const fs::path& p, std::string* out, std::size_t* data_end) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return base::fail("cannot read " + p.string() + ": " + why);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  out->assign(size, '\0');
  *data_end = 0;
  base::status err;
  std::size_t off = 0;
  while (off < size && err.ok()) {
    off_t data = ::lseek(fd, static_cast<off_t>(off), SEEK_DATA);
    off_t hole = data < 0 ? -1 : ::lseek(fd, data, SEEK_HOLE);
    if (data < 0 && errno == ENXIO) break;  // nothing but a hole after `off`
    if (data < 0 || hole < 0) {
      // No hole reporting here: read the rest as data.
      data = static_cast<off_t>(off);
      hole = static_cast<off_t>(size);
    }
    const std::size_t end = std::min(size, static_cast<std::size_t>(hole));
    err = read_range(fd, p, out, static_cast<std::size_t>(data), end);
    *data_end = end;
    off = end;
  }
  ::close(fd);
  return err;
}

// Offset of the first non-zero byte in [from, end), or npos. A word at a
// time: segments are mostly zeros.
std::size_t first_nonzero(const std::string& data, std::size_t from, std::size_t end) {
  const char* p = data.data();
  const std::size_t n = std::min(end, data.size());
  std::size_t i = from;
  for (; i < n && i % 8 != 0; ++i) {
    if (p[i] != 0) return i;
  }
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w != 0) break;
  }
  for (; i < n; ++i) {
    if (p[i] != 0) return i;
  }
  return std::string::npos;
}

// Overwrites [from, to) of `p` with zeros and makes it durable, so that a
// later, shorter write cannot leave old bytes behind it.
base::status zero_range(const fs::path& p, std::uint64_t from, std::uint64_t to) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return base::fail("cannot open " + p.string() + ": " + std::strerror(errno));
  const std::string zeros(64 * 1024, '\0');
  base::status err;
  for (std::uint64_t off = from; off < to && err.ok();) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), to - off));
    const ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(off));
    if (w < 0 && errno != EINTR)
      err = base::fail("cannot zero torn tail of " + p.string() + ": " + std::strerror(errno));
    if (w > 0) off += static_cast<std::uint64_t>(w);
  }
  if (err.ok() && ::fdatasync(fd) != 0) {
    err = base::fail("fdatasync of " + p.string() + " failed: " + std::strerror(errno));
  }
  ::close(fd);
  return err;
}

// Applies one record to the recovered state.
base::status replay(const storagepb::LogRecord& rec, recovered_log* log) {
  if (rec.has_hard_state()) {
    log->hard_state = rec.hard_state();
    return {};
  }
  const raftpb::Entry& e = rec.entry();
  const std::uint64_t last = log->entries.size();
  if (e.index() == 0 || e.index() > last + 1) {
    return base::fail("entry " + std::to_string(e.index()) + " follows entry " +
                      std::to_string(last));
  }
  // Terms never decrease along a log: a leader's log is ordered by term and
  // a follower's matches it up to each appended entry. The core asserts it
  // when it restores the log, so a record that breaks it (it passed its
  // checksum: corruption, or a bug) is refused here, naming the write.
  // (Found by tests/fuzz/fuzz_recovery.)
  if (e.index() > 1 && log->entries[e.index() - 2].term() > e.term()) {
    return base::fail("entry " + std::to_string(e.index()) + " of term " +
                      std::to_string(e.term()) + " follows entry " + std::to_string(e.index() - 1) +
                      " of term " + std::to_string(log->entries[e.index() - 2].term()));
  }
  // A rewritten index replaces the conflicting suffix (Raft §5.3).
  log->entries.resize(e.index() - 1);
  log->entries.push_back(e);
  return {};
}

std::string where(const fs::path& p, std::uint64_t off) {
  return p.string() + " at offset " + std::to_string(off);
}

// Whether a valid write header with a sequence number above `seq` starts
// anywhere in data[from, end): a later write, proof that the damage before
// it is not a torn final write. Write headers are tiny, so only offsets
// whose length field is small are checked further.
bool later_write_exists(std::string_view data, std::size_t from, std::uint64_t seq) {
  constexpr std::size_t header_payload_max = 32;
  for (std::size_t off = from; off + record_header_bytes < data.size(); ++off) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + off + 4);
    const std::uint32_t length = p[0] | (p[1] << 8) | (p[2] << 16) | (std::uint32_t{p[3]} << 24);
    if (length == 0 || length > header_payload_max) continue;
    const decoded_record d = decode_record(data.substr(off));
    if (d.status != record_status::ok) continue;
    storagepb::LogRecord rec;
    if (rec.ParseFromArray(d.payload.data(), static_cast<int>(d.payload.size())) &&
        rec.has_write_begin() && rec.write_begin().seq() > seq) {
      return true;
    }
  }
  return false;
}

// Scans the segments in order, replaying each write once it is complete.
class scanner {
 public:
  explicit scanner(const fs::path& dir) : dir_(dir) {}

  base::result<recovered_log> run() {
    segments_ = list_segments(dir_);
    for (k_ = 0; k_ < segments_.size() && error_.ok(); ++k_) {
      path_ = segment_path(dir_, segments_[k_]);
      writes_end_ = 0;
      error_ = read_file(path_, &data_, &data_end_);
      if (!error_.ok()) break;
      log_.segment = segments_[k_];
      if (!scan_segment()) break;
    }
    if (!error_.ok()) return base::fail(error_.message());
    // The block log splits an append above write_bytes_max into several
    // writes, entries first and the hard state in the last one; a crash
    // between them leaves entries of a term the recovered hard state has
    // not reached, which the core refuses to restore (an assertion). The
    // node saw that term, so it takes it on, with no vote: a vote in that
    // term would have been in a durable hard state of that term before
    // these entries, and a vote that never became durable was never sent.
    // (Found by tests/fuzz/fuzz_recovery.)
    if (!log_.entries.empty() && log_.entries.back().term() > log_.hard_state.term()) {
      log_.hard_state.set_term(log_.entries.back().term());
      log_.hard_state.set_vote(0);
    }
    return std::move(log_);
  }

 private:
  // Returns false when recovery is finished (torn tail handled, or error).
  // After a complete write, zeros up to the next page boundary are the
  // alignment gap before the next write: returns that boundary, or `off`
  // when the gap holds anything else. (A write may itself start with a
  // zero byte, the low byte of its checksum, so only the gap is checked.)
  std::size_t skip_alignment_gap(std::size_t off) const {
    const std::size_t a = limits::write_alignment_bytes;
    const std::size_t next = (off + a - 1) / a * a;
    if (in_write_ || next == off || next >= data_.size()) return off;
    const std::size_t nonzero = first_nonzero(data_, off, data_end_);
    return nonzero >= next ? next : off;
  }

  bool scan_segment() {
    std::size_t off = 0;
    decoded_record d;
    for (;;) {
      d = decode_record(std::string_view(data_).substr(off));
      // Not only at `end`: a gap shorter than a record header makes the
      // decoder read into the next write's header and see a bad checksum.
      if (d.status != record_status::ok) {
        const std::size_t next = skip_alignment_gap(off);
        if (next != off) {
          off = next;
          continue;
        }
      }
      if (d.status != record_status::ok) break;
      // Records that pass their checksum but do not fit together are never
      // a torn write: refuse at once.
      base::status problem = take_record(off, d);
      std::size_t at = off;
      off += d.size_bytes;
      if (problem.ok() && in_write_ && off == write_end_) {
        at = write_start_;
        problem = finish_write();
        writes_end_ = off;
      }
      if (!problem.ok()) {
        error_ = base::fail("block log corrupt: " + where(path_, at) + ": " + problem.message() +
                            "; refusing to start (restore this node's data directory, or remove "
                            "it to rejoin empty and catch up from the leader)");
        return false;
      }
    }
    log_.write_offset_bytes = writes_end_;
    const bool clean = d.status == record_status::end && !in_write_ &&
                       first_nonzero(data_, off, data_end_) == std::string::npos;
    if (clean) return true;
    damaged(off, d.status == record_status::end ? "the write ends early" : to_string(d.status));
    return false;
  }

  // Checks one record against the write it belongs to and stages it.
  base::status take_record(std::size_t off, const decoded_record& d) {
    storagepb::LogRecord rec;
    if (!rec.ParseFromArray(d.payload.data(), static_cast<int>(d.payload.size()))) {
      return base::fail("record passes its checksum but is not a log record");
    }
    if (rec.has_write_begin()) {
      if (in_write_) return base::fail("a write begins inside the previous write");
      if (rec.write_begin().seq() != log_.last_write_seq + 1) {
        return base::fail("write " + std::to_string(rec.write_begin().seq()) + " follows write " +
                          std::to_string(log_.last_write_seq));
      }
      in_write_ = true;
      write_start_ = off;
      write_seq_ = rec.write_begin().seq();
      write_end_ = off + d.size_bytes + rec.write_begin().bytes();
      if (write_end_ == off + d.size_bytes) {
        writes_end_ = write_end_;
        return finish_write();
      }
      return {};
    }
    if (!in_write_) return base::fail("record outside any write");
    if (off + d.size_bytes > write_end_) return base::fail("record crosses the end of its write");
    if (!rec.has_entry() && !rec.has_hard_state()) return base::fail("record of unknown kind");
    staged_.push_back(std::move(rec));
    return {};
  }

  base::status finish_write() {
    for (const auto& rec : staged_) {
      if (base::status s = replay(rec, &log_); !s.ok()) return s;
    }
    staged_.clear();
    in_write_ = false;
    log_.last_write_seq = write_seq_;
    return {};
  }

  // Damage at `off`: a torn final write when no later write follows it.
  void damaged(std::size_t off, const std::string& problem) {
    bool later = later_write_exists(data_, off + 1, in_write_ ? write_seq_ : log_.last_write_seq);
    for (std::size_t j = k_ + 1; j < segments_.size() && !later; ++j) {
      std::string rest;
      std::size_t rest_end = 0;
      error_ = read_file(segment_path(dir_, segments_[j]), &rest, &rest_end);
      if (!error_.ok()) return;
      later = first_nonzero(rest, 0, rest_end) != std::string::npos;
    }
    if (later) {
      error_ = base::fail("block log corrupt: " + where(path_, off) + ": " + problem +
                          ", and a later write follows it, so this is not a torn final write; "
                          "refusing to start (restore this node's data directory, or remove it "
                          "to rejoin empty and catch up from the leader)");
      return;
    }
    // Drop the whole torn write, from its header on.
    const std::size_t cut = in_write_ ? write_start_ : off;
    const std::size_t extent = std::max(data_.find_last_not_of('\0') + 1, cut);
    log_.write_offset_bytes = cut;
    log_.torn_file = path_;
    log_.torn_offset_bytes = cut;
    log_.torn_bytes = extent - cut;
    error_ = zero_range(path_, cut, extent);
  }

  fs::path dir_;
  std::vector<std::uint64_t> segments_;
  std::size_t k_ = 0;
  fs::path path_;
  std::string data_;
  std::size_t data_end_ = 0;  // past it, data_ is all zeros
  recovered_log log_;
  // The first error; recovery stops at it.
  base::status error_;
  bool in_write_ = false;
  std::size_t write_start_ = 0;
  std::size_t write_end_ = 0;
  // End of the last complete write in this segment.
  std::size_t writes_end_ = 0;
  std::uint64_t write_seq_ = 0;
  std::vector<storagepb::LogRecord> staged_;
};

}  // namespace

fs::path segment_path(const fs::path& dir, std::uint64_t n) {
  char name[32];
  std::snprintf(name, sizeof name, "segment-%08llu.log", static_cast<unsigned long long>(n));
  return dir / name;
}

base::result<recovered_log> recover_log(const fs::path& dir) {
  return scanner(dir).run();
}

}  // namespace ringchain::storage
