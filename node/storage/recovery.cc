#include "node/storage/recovery.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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

bool read_file(const fs::path& p, std::string* out, std::string* error) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    *error = "cannot read " + p.string() + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = std::move(buf).str();
  return true;
}

// Offset of the first non-zero byte at or after `from`, or npos.
std::size_t first_nonzero(const std::string& data, std::size_t from) {
  if (from >= data.size()) return std::string::npos;
  return data.find_first_not_of('\0', from);
}

// Overwrites [from, to) of `p` with zeros and makes it durable, so that a
// later, shorter write cannot leave old bytes behind it.
std::string zero_range(const fs::path& p, std::uint64_t from, std::uint64_t to) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open " + p.string() + ": " + std::strerror(errno);
  const std::string zeros(64 * 1024, '\0');
  std::string err;
  for (std::uint64_t off = from; off < to && err.empty();) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), to - off));
    const ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(off));
    if (w < 0 && errno != EINTR)
      err = "cannot zero torn tail of " + p.string() + ": " + std::strerror(errno);
    if (w > 0) off += static_cast<std::uint64_t>(w);
  }
  if (err.empty() && ::fdatasync(fd) != 0) {
    err = "fdatasync of " + p.string() + " failed: " + std::strerror(errno);
  }
  ::close(fd);
  return err;
}

// Applies one record to the recovered state; returns an error sentence.
std::string replay(std::string_view payload, recovered_log* log) {
  storagepb::LogRecord rec;
  if (!rec.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return "record passes its checksum but is not a log record";
  }
  if (rec.has_hard_state()) {
    log->hard_state = rec.hard_state();
    return {};
  }
  if (!rec.has_entry()) return "record holds neither an entry nor a hard state";
  const raftpb::Entry& e = rec.entry();
  const std::uint64_t last = log->entries.size();
  if (e.index() == 0 || e.index() > last + 1) {
    return "entry " + std::to_string(e.index()) + " follows entry " + std::to_string(last);
  }
  // A rewritten index replaces the conflicting suffix (Raft §5.3).
  log->entries.resize(e.index() - 1);
  log->entries.push_back(e);
  return {};
}

std::string where(const fs::path& p, std::uint64_t off) {
  return p.string() + " at offset " + std::to_string(off);
}

}  // namespace

fs::path segment_path(const fs::path& dir, std::uint64_t n) {
  char name[32];
  std::snprintf(name, sizeof name, "segment-%08llu.log", static_cast<unsigned long long>(n));
  return dir / name;
}

recovery_result recover_log(const fs::path& dir, std::uint64_t torn_window_bytes) {
  recovery_result r;
  const std::vector<std::uint64_t> segments = list_segments(dir);
  for (std::size_t k = 0; k < segments.size(); ++k) {
    const fs::path path = segment_path(dir, segments[k]);
    std::string data;
    if (!read_file(path, &data, &r.error)) return r;
    r.log.segment = segments[k];
    std::size_t off = 0;
    decoded_record d;
    while ((d = decode_record(std::string_view(data).substr(off))).status == record_status::ok) {
      if (std::string err = replay(d.payload, &r.log); !err.empty()) {
        r.error = "block log corrupt: " + where(path, off) + ": " + err;
        return r;
      }
      off += d.size_bytes;
    }
    r.log.write_offset_bytes = off;
    const std::size_t junk = first_nonzero(data, off);
    if (d.status == record_status::end && junk == std::string::npos) continue;

    // Damage at `off`. It is a torn final write only if nothing but zeros
    // lies beyond the torn window, here and in every later segment.
    std::size_t beyond = first_nonzero(data, off + torn_window_bytes);
    for (std::size_t later = k + 1; later < segments.size() && beyond == std::string::npos;
         ++later) {
      std::string rest;
      if (!read_file(segment_path(dir, segments[later]), &rest, &r.error)) return r;
      if (first_nonzero(rest, 0) != std::string::npos) beyond = 0;
    }
    if (beyond != std::string::npos) {
      r.error = "block log corrupt: " + where(path, off) + ": " + to_string(d.status) +
                ", and data follows beyond the last write, so this is not a torn final write; "
                "refusing to start (restore this node's data directory, or remove it to "
                "rejoin empty and catch up from the leader)";
      return r;
    }
    const std::size_t extent = data.find_last_not_of('\0') + 1;
    r.log.torn_file = path;
    r.log.torn_offset_bytes = off;
    r.log.torn_bytes = extent - off;
    r.error = zero_range(path, off, extent);
    return r;
  }
  return r;
}

}  // namespace ringchain::storage
