#include "node/storage/snapshot_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "node/base/assert.h"
#include "node/base/limits.h"
#include "node/storage/record.h"

namespace ringchain::storage {

namespace fs = std::filesystem;

fs::path snapshot_path(const fs::path& dir, std::uint64_t index) {
  char name[48];
  std::snprintf(name, sizeof name, "snapshot-%020llu.snap", static_cast<unsigned long long>(index));
  return dir / name;
}

std::vector<std::uint64_t> list_snapshots(const fs::path& dir) {
  std::vector<std::uint64_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() == 34 && name.rfind("snapshot-", 0) == 0 && name.compare(29, 5, ".snap") == 0 &&
        std::all_of(name.begin() + 9, name.begin() + 29, ::isdigit)) {
      out.push_back(std::stoull(name.substr(9, 20)));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ------------------------------------------------------------- encoder --

void snapshot_encoder::add(const storagepb::SnapshotRecord& r, std::string* out) {
  const std::size_t start = out->size();
  append_record(r.SerializeAsString(), out);
  const std::string_view framed(out->data() + start, out->size() - start);
  RC_ASSERT(framed.size() <= limits::snapshot_record_bytes_max);
  ++records_;
  bytes_ += framed.size();
  crc_ = crc32c_extend(crc_, framed);
}

void snapshot_encoder::header(const storagepb::SnapshotHeader& h, std::string* out) {
  RC_ASSERT(records_ == 0);
  storagepb::SnapshotRecord r;
  *r.mutable_header() = h;
  add(r, out);
}

void snapshot_encoder::part(const chainpb::StatePart& p, std::string* out) {
  RC_ASSERT(records_ > 0);
  storagepb::SnapshotRecord r;
  *r.mutable_part() = p;
  add(r, out);
}

void snapshot_encoder::footer(std::string* out) {
  storagepb::SnapshotRecord r;
  storagepb::SnapshotFooter* f = r.mutable_footer();
  f->set_records(records_);
  f->set_bytes(bytes_);
  f->set_crc(crc_);
  append_record(r.SerializeAsString(), out);
}

// ------------------------------------------------------------- decoder --

base::status snapshot_decoder::feed(std::string_view bytes) {
  if (complete_ && !bytes.empty()) {
    return base::fail("at offset " + std::to_string(fed_) + ": bytes after the footer");
  }
  fed_ += bytes.size();
  pending_.append(bytes);
  std::size_t used = 0;
  base::status err;
  while (err.ok() && !complete_ && pending_.size() - used >= record_header_bytes) {
    const std::string_view rest = std::string_view(pending_).substr(used);
    const decoded_record d = decode_record(rest);
    if (d.status == record_status::truncated) break;  // the rest comes later
    const std::uint64_t at = pending_at_ + used;
    storagepb::SnapshotRecord r;
    if (d.status != record_status::ok) {
      err = base::fail("at offset " + std::to_string(at) + ": " + to_string(d.status));
    } else if (!r.ParseFromArray(d.payload.data(), static_cast<int>(d.payload.size()))) {
      err = base::fail("at offset " + std::to_string(at) +
                       ": a record passes its checksum but is not a snapshot record");
    } else if (base::status s = take(r, rest.substr(0, d.size_bytes)); !s.ok()) {
      err = base::fail("at offset " + std::to_string(at) + ": " + s.message());
    }
    used += d.size_bytes;
  }
  if (err.ok() && complete_ && used != pending_.size()) {
    err =
        base::fail("at offset " + std::to_string(pending_at_ + used) + ": bytes after the footer");
  }
  pending_.erase(0, used);
  pending_at_ += used;
  return err;
}

base::status snapshot_decoder::take(const storagepb::SnapshotRecord& r, std::string_view framed) {
  if (r.has_footer()) {
    const storagepb::SnapshotFooter& f = r.footer();
    if (!header_) return base::fail("a footer before the header");
    if (f.records() != records_ || f.bytes() != bytes_) {
      return base::fail("the footer counts " + std::to_string(f.records()) + " records of " +
                        std::to_string(f.bytes()) + " bytes, the file holds " +
                        std::to_string(records_) + " of " + std::to_string(bytes_));
    }
    if (f.crc() != crc_) return base::fail("the whole-file checksum does not match");
    complete_ = true;
    return {};
  }
  ++records_;
  bytes_ += framed.size();
  crc_ = crc32c_extend(crc_, framed);
  if (r.has_header()) {
    if (header_) return base::fail("a second header");
    if (r.header().version() != 1) {
      return base::fail("format version " + std::to_string(r.header().version()) +
                        " (this build reads version 1)");
    }
    header_ = r.header();
    return {};
  }
  if (!header_) return base::fail("the file does not start with a header");
  if (!r.has_part()) return base::fail("a record of unknown kind");
  return on_part_(r.part());
}

std::string snapshot_decoder::incomplete_reason() const {
  if (complete_) return {};
  if (fed_ == 0) return "the file is empty";
  return "the file ends at offset " + std::to_string(fed_) +
         " before its footer (it was being written when the node stopped)";
}

base::result<storagepb::SnapshotHeader> load_snapshot(const fs::path& path,
                                                      const snapshot_decoder::part_fn& on_part) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::fail("cannot read " + path.string() + ": " + std::strerror(errno));
  snapshot_decoder dec(on_part);
  std::string buf(limits::mib, '\0');
  base::status err;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = base::fail(std::string("read failed: ") + std::strerror(errno));
      break;
    }
    if (n == 0) break;
    err = dec.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    if (!err.ok()) break;
  }
  ::close(fd);
  if (err.ok() && !dec.complete()) err = base::fail(dec.incomplete_reason());
  if (!err.ok()) return base::fail("snapshot " + path.string() + ": " + err.message());
  return *dec.header();
}

}  // namespace ringchain::storage
