#include "node/storage/block_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "node/base/assert.h"
#include "node/storage/record.h"
#include "proto/storage.pb.h"

namespace ringchain::storage {

namespace fs = std::filesystem;

namespace {
// A framed write_begin record: two fixed64 fields in a nested message.
constexpr std::uint64_t write_header_bytes_max = 64;

std::uint64_t align_up(std::uint64_t off) {
  const std::uint64_t a = limits::write_alignment_bytes;
  return (off + a - 1) / a * a;
}
}  // namespace

const char* to_string(persistence p) {
  return p == persistence::per_block ? "per_block" : "per_tx";
}

bool parse_persistence(std::string_view text, persistence* out) {
  if (text == "per_block") {
    *out = persistence::per_block;
    return true;
  }
  if (text == "per_tx") {
    *out = persistence::per_tx;
    return true;
  }
  return false;
}

base::status block_log_options::validate() const {
  if (dir.empty()) return base::fail("data directory is not set");
  if (segment_bytes < limits::write_bytes_max || segment_bytes > limits::segment_bytes_max) {
    return base::fail("segment_bytes is " + std::to_string(segment_bytes) + ", outside [" +
                      std::to_string(limits::write_bytes_max) + ", " +
                      std::to_string(limits::segment_bytes_max) + "]");
  }
  if (barrier_delay.count() < 0) return base::fail("barrier delay is negative");
  return {};
}

std::string describe_write_error(int err) {
  std::string what = std::strerror(-err);
  if (err == -ENOSPC) return "the disk is full (ENOSPC: " + what + ")";
  if (err == -EDQUOT) return "the disk quota is exhausted (EDQUOT: " + what + ")";
  return what + " (errno " + std::to_string(-err) + ")";
}

block_log::block_log(io::reactor& reactor, block_log_options opts)
    : reactor_(reactor), opts_(std::move(opts)) {}

block_log::~block_log() {
  if (next_.valid()) next_.wait();
  if (fd_ >= 0) ::close(fd_);
}

base::result<std::unique_ptr<block_log>> block_log::open(io::reactor& reactor,
                                                         const block_log_options& opts) {
  if (base::status s = opts.validate(); !s.ok()) return base::fail("block log: " + s.message());
  std::error_code ec;
  fs::create_directories(opts.dir, ec);
  if (ec) return base::fail("block log: cannot create " + opts.dir.string() + ": " + ec.message());
  base::result<recovered_log> rec = recover_log(opts.dir, opts.snapshot_index, opts.snapshot_term);
  if (!rec.ok()) return base::fail(rec.message());
  std::unique_ptr<block_log> log(new block_log(reactor, opts));
  if (base::status s = log->start(std::move(*rec)); !s.ok()) return base::fail(s.message());
  return log;
}

base::status block_log::start(recovered_log rec) {
  recovered_ = std::move(rec);
  write_seq_ = recovered_.last_write_seq;
  segment_max_index_ = recovered_.segment_max_index;
  write_.on_done = [this](int result) { on_written(result); };
  write_.barrier_delay = opts_.barrier_delay;
  if (recovered_.segment == 0) return open_segment(1, true);
  offset_ = align_up(recovered_.write_offset_bytes);
  return open_segment(recovered_.segment, false);
}

// Creates segment n filled with zeros and makes it durable under its final
// name. Zeros, rather than fallocate's unwritten extents, make every later
// block write an overwrite: its barrier then has no extent conversion to
// journal, which halves the barrier's latency on ext4. The file is filled
// under a temporary name and renamed into place once durable, so recovery
// never meets a half-filled segment.
base::status prepare_segment(const fs::path& dir, std::uint64_t n, std::uint64_t bytes) {
  const fs::path path = segment_path(dir, n);
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return base::fail("cannot create " + tmp.string() + ": " + std::strerror(errno));
  const std::string zeros(limits::mib, '\0');
  int err = 0;
  for (std::uint64_t off = 0; off < bytes && err == 0;) {
    const std::size_t len =
        static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), bytes - off));
    const ssize_t w = ::pwrite(fd, zeros.data(), len, static_cast<off_t>(off));
    if (w < 0 && errno != EINTR) err = -errno;
    if (w > 0) off += static_cast<std::uint64_t>(w);
  }
  if (err == 0 && ::fsync(fd) != 0) err = -errno;
  ::close(fd);
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = -errno;
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (err == 0 && (dir_fd < 0 || ::fsync(dir_fd) != 0)) err = -errno;
  if (dir_fd >= 0) ::close(dir_fd);
  if (err != 0) {
    ::unlink(tmp.c_str());
    return base::fail("cannot prepare " + path.string() + ": " + describe_write_error(err));
  }
  return {};
}

// Starts preparing the segment after the current one on a helper thread,
// so that rolling over never waits for 64 MiB of zeros.
void block_log::prepare_next() {
  const std::uint64_t n = segment_ + 1;
  next_ = std::async(std::launch::async, [dir = opts_.dir, n, bytes = opts_.segment_bytes] {
    std::error_code ec;
    if (fs::exists(segment_path(dir, n), ec)) return base::status{};  // left by a torn write
    return prepare_segment(dir, n, bytes);
  });
}

// Opens segment n for writing; `create` prepares it first unless the helper
// thread did.
base::status block_log::open_segment(std::uint64_t n, bool create) {
  if (create) {
    base::status s;
    if (next_.valid()) {
      s = next_.get();  // waits only if writes outran the helper
      next_ = {};
    } else if (!fs::exists(segment_path(opts_.dir, n))) {
      s = prepare_segment(opts_.dir, n, opts_.segment_bytes);
    }
    if (!s.ok()) return s.with_context("block log");
    ++counters_.segments_created;
    offset_ = 0;
  }
  const fs::path path = segment_path(opts_.dir, n);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return base::fail("block log: cannot open " + path.string() + ": " + std::strerror(errno));
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  segment_ = n;
  return {};
}

void block_log::append(const raftpb::HardState* hs, std::span<const raftpb::Entry> entries,
                       std::uint32_t transactions, done_fn done,
                       const raftpb::SnapshotMeta* reset) {
  RC_ASSERT(done);
  if (failed_ != 0) {
    // Nothing is accepted after a failure; the caller is stopping.
    done(failed_);
    return;
  }
  ++counters_.appends;
  storagepb::LogRecord rec;
  std::uint64_t group_start = pending_.size();
  std::uint64_t max_index = 0;
  auto add = [&](const storagepb::LogRecord& r, std::uint64_t index) {
    const std::string payload = r.SerializeAsString();
    // A write never exceeds write_bytes_max (recovery's torn window): an
    // append that would is split into several, only the last reporting.
    if (pending_.size() - group_start + record_header_bytes + payload.size() >
        limits::write_bytes_max) {
      waiting_.push_back({pending_.size() - group_start, 1, [](int) {}, max_index});
      group_start = pending_.size();
    }
    max_index = std::max(max_index, index);
    append_record(payload, &pending_);
  };
  if (reset != nullptr) {
    rec.mutable_reset()->set_index(reset->index());
    rec.mutable_reset()->set_term(reset->term());
    add(rec, 0);
  }
  for (const raftpb::Entry& e : entries) {
    *rec.mutable_entry() = e;
    add(rec, e.index());
  }
  if (hs != nullptr) {
    *rec.mutable_hard_state() = *hs;
    add(rec, 0);
  }
  const std::uint32_t parts = opts_.policy == persistence::per_tx ? std::max(transactions, 1u) : 1u;
  waiting_.push_back({pending_.size() - group_start, parts, std::move(done), max_index});
  maybe_write();
}

void block_log::maybe_write() {
  if (write_.busy_ || waiting_.empty() || failed_ != 0) return;
  // Take as many waiting appends as fit in one write.
  std::uint64_t bytes = 0;
  std::uint32_t parts = 0;
  in_flight_max_index_ = 0;
  while (!waiting_.empty() &&
         (bytes == 0 ||
          bytes + waiting_.front().bytes + write_header_bytes_max <= limits::write_bytes_max)) {
    bytes += waiting_.front().bytes;
    parts += waiting_.front().parts;
    in_flight_max_index_ = std::max(in_flight_max_index_, waiting_.front().max_index);
    in_flight_.push_back(std::move(waiting_.front().done));
    waiting_.pop_front();
  }
  // The write starts with its header (recovery.h says why).
  storagepb::LogRecord header;
  header.mutable_write_begin()->set_seq(++write_seq_);
  header.mutable_write_begin()->set_bytes(bytes);
  buffer_.clear();
  append_record(header.SerializeAsString(), &buffer_);
  buffer_.append(pending_, 0, bytes);
  pending_.erase(0, bytes);
  bytes = buffer_.size();
  if (offset_ + bytes > opts_.segment_bytes) {
    if (base::status s = open_segment(segment_ + 1, true); !s.ok()) {
      failure_detail_ = s.message();
      fail(-EIO);
      return;
    }
  }
  in_flight_segment_ = segment_;
  write_.fd = fd_;
  write_.offset = offset_;
  write_.barrier_delay = opts_.barrier_delay;
  write_.data = buffer_;
  // per_block: one barrier for the whole write, however many appends it
  // carries (group commit). per_tx: one part and barrier per transaction.
  write_.chunks = opts_.policy == persistence::per_tx
                      ? static_cast<std::uint32_t>(std::min<std::uint64_t>(parts, bytes))
                      : 1;
  ++counters_.writes;
  counters_.bytes += bytes;
  reactor_.submit(write_);
}

void block_log::on_written(int result) {
  if (result != 0) {
    fail(result);
    return;
  }
  offset_ = align_up(offset_ + buffer_.size());
  auto& seg_max = segment_max_index_[in_flight_segment_];
  seg_max = std::max(seg_max, in_flight_max_index_);
  // The next segment is filled once this one is half full: early enough to
  // be ready at the rollover, late enough that a starting node does not
  // write a whole segment of zeros while it elects a leader.
  if (!next_.valid() && offset_ >= opts_.segment_bytes / 2) prepare_next();
  // Report in order; a callback may append, which queues behind the rest.
  std::deque<done_fn> done;
  done.swap(in_flight_);
  for (done_fn& d : done) d(0);
  maybe_write();
}

void block_log::fail(int err) {
  failed_ = err;
  std::deque<done_fn> done;
  done.swap(in_flight_);
  for (auto& w : waiting_) done.push_back(std::move(w.done));
  waiting_.clear();
  for (done_fn& d : done) d(err);
}

std::size_t block_log::drop_segments_through(std::uint64_t index) {
  std::size_t dropped = 0;
  // Oldest first, so the segments left follow each other without a gap;
  // the newest segment with a durable write holds the latest hard state.
  while (segment_max_index_.size() > 1) {
    const auto [n, max_index] = *segment_max_index_.begin();
    if (n == segment_ || max_index > index) break;
    const fs::path path = segment_path(opts_.dir, n);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      break;  // tried again after the next snapshot
    segment_max_index_.erase(segment_max_index_.begin());
    ++counters_.segments_deleted;
    ++dropped;
  }
  return dropped;
}

void block_log::replace_fd_for_testing(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::string block_log::failure_message() const {
  if (failed_ == 0) return {};
  if (!failure_detail_.empty()) {
    return failure_detail_ +
           ". Nothing after the last durable block was acknowledged; the node stops.";
  }
  return "block log write to " + segment_path(opts_.dir, segment_).string() +
         " failed: " + describe_write_error(failed_) +
         ". Nothing after the last durable block was acknowledged; the node stops.";
}

}  // namespace ringchain::storage
