#include "node/storage/block_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "node/core/assert.h"
#include "node/storage/record.h"
#include "proto/storage.pb.h"

namespace ringchain::storage {

namespace fs = std::filesystem;

namespace {
// A framed write_begin record: two fixed64 fields in a nested message.
constexpr std::uint64_t write_header_bytes_max = 64;
}  // namespace

const char* to_string(persistence p) { return p == persistence::per_block ? "per_block" : "per_tx"; }

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

std::string block_log_options::validate() const {
  if (dir.empty()) return "data directory is not set";
  if (segment_bytes < limits::write_bytes_max || segment_bytes > limits::segment_bytes_max) {
    return "segment_bytes is " + std::to_string(segment_bytes) + ", outside [" +
           std::to_string(limits::write_bytes_max) + ", " +
           std::to_string(limits::segment_bytes_max) + "]";
  }
  if (barrier_delay.count() < 0) return "barrier delay is negative";
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
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<block_log> block_log::open(io::reactor& reactor, const block_log_options& opts,
                                           std::string* error) {
  if (std::string err = opts.validate(); !err.empty()) {
    *error = "block log: " + err;
    return nullptr;
  }
  std::error_code ec;
  fs::create_directories(opts.dir, ec);
  if (ec) {
    *error = "block log: cannot create " + opts.dir.string() + ": " + ec.message();
    return nullptr;
  }
  recovery_result rec = recover_log(opts.dir);
  if (!rec.error.empty()) {
    *error = rec.error;
    return nullptr;
  }
  std::unique_ptr<block_log> log(new block_log(reactor, opts));
  if (std::string err = log->start(std::move(rec.log)); !err.empty()) {
    *error = err;
    return nullptr;
  }
  return log;
}

std::string block_log::start(recovered_log rec) {
  recovered_ = std::move(rec);
  write_seq_ = recovered_.last_write_seq;
  write_.on_done = [this](int result) { on_written(result); };
  write_.barrier_delay = opts_.barrier_delay;
  if (recovered_.segment == 0) return open_segment(1, true);
  offset_ = recovered_.write_offset_bytes;
  return open_segment(recovered_.segment, false);
}

// Opens segment n for writing; a new one is preallocated to segment_bytes
// and its directory entry made durable before anything is written to it.
std::string block_log::open_segment(std::uint64_t n, bool create) {
  const fs::path path = segment_path(opts_.dir, n);
  // A segment left after a torn write may exist already; recovery made
  // sure it holds only zeros, so it is reused as if new.
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  if (fd < 0) return "block log: cannot open " + path.string() + ": " + std::strerror(errno);
  if (create) {
    const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(opts_.segment_bytes));
    const int dir_fd = ::open(opts_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const bool synced = err == 0 && ::fsync(fd) == 0 && dir_fd >= 0 && ::fsync(dir_fd) == 0;
    if (dir_fd >= 0) ::close(dir_fd);
    if (!synced) {
      ::close(fd);
      return "block log: cannot preallocate " + path.string() + ": " +
             describe_write_error(err != 0 ? -err : -errno);
    }
    ++counters_.segments_created;
    offset_ = 0;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  segment_ = n;
  return {};
}

void block_log::append(const raftpb::HardState* hs, std::span<const raftpb::Entry> entries,
                       std::uint32_t transactions, done_fn done) {
  RC_ASSERT(done);
  if (failed_ != 0) {
    // Nothing is accepted after a failure; the caller is stopping.
    done(failed_);
    return;
  }
  ++counters_.appends;
  storagepb::LogRecord rec;
  std::uint64_t group_start = pending_.size();
  auto add = [&](const storagepb::LogRecord& r) {
    const std::string payload = r.SerializeAsString();
    // A write never exceeds write_bytes_max (recovery's torn window): an
    // append that would is split into several, only the last reporting.
    if (pending_.size() - group_start + record_header_bytes + payload.size() >
        limits::write_bytes_max) {
      waiting_.push_back({pending_.size() - group_start, 1, [](int) {}});
      group_start = pending_.size();
    }
    append_record(payload, &pending_);
  };
  for (const raftpb::Entry& e : entries) {
    *rec.mutable_entry() = e;
    add(rec);
  }
  if (hs != nullptr) {
    *rec.mutable_hard_state() = *hs;
    add(rec);
  }
  const std::uint32_t parts = opts_.policy == persistence::per_tx ? std::max(transactions, 1u) : 1u;
  waiting_.push_back({pending_.size() - group_start, parts, std::move(done)});
  maybe_write();
}

void block_log::maybe_write() {
  if (write_.busy_ || waiting_.empty() || failed_ != 0) return;
  // Take as many waiting appends as fit in one write.
  std::uint64_t bytes = 0;
  std::uint32_t parts = 0;
  while (!waiting_.empty() &&
         (bytes == 0 || bytes + waiting_.front().bytes + write_header_bytes_max <= limits::write_bytes_max)) {
    bytes += waiting_.front().bytes;
    parts += waiting_.front().parts;
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
    if (std::string err = open_segment(segment_ + 1, true); !err.empty()) {
      fail(-ENOSPC);
      return;
    }
  }
  write_.fd = fd_;
  write_.offset = offset_;
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
  offset_ += buffer_.size();
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

std::string block_log::failure_message() const {
  if (failed_ == 0) return {};
  return "block log write to " + segment_path(opts_.dir, segment_).string() +
         " failed: " + describe_write_error(failed_) +
         ". Nothing after the last durable block was acknowledged; the node stops.";
}

}  // namespace ringchain::storage
