#include "node/storage/block_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "node/base/assert.h"
#include "node/base/limits.h"
#include "node/storage/record.h"
#include "proto/storage.pb.h"

namespace ringchain::storage {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t index_entry_bytes = 8;
// "blocks-" + 12 digits + ".dat"
constexpr std::size_t name_digits = 12;
constexpr std::size_t name_bytes = 7 + name_digits + 4;

fs::path data_path(const fs::path& dir, std::uint64_t first) {
  char name[48];
  std::snprintf(name, sizeof name, "blocks-%012llu.dat", static_cast<unsigned long long>(first));
  return dir / name;
}

fs::path index_path(const fs::path& dir, std::uint64_t first) {
  fs::path p = data_path(dir, first);
  p.replace_extension(".idx");
  return p;
}

// The first height in a data file's name, or 0 when the name is not one
// of the store's (other files in the directory are left alone).
std::uint64_t first_height_of(const std::string& name) {
  if (name.size() != name_bytes || name.rfind("blocks-", 0) != 0 ||
      name.compare(7 + name_digits, 4, ".dat") != 0) {
    return 0;
  }
  std::uint64_t v = 0;
  for (std::size_t i = 7; i < 7 + name_digits; ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    v = v * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  return v;
}

void put_u64(std::string* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads n bytes at `at`; false on an error or before n bytes (end of file).
bool pread_all(int fd, char* buf, std::size_t n, std::uint64_t at) {
  for (std::size_t got = 0; got < n;) {
    const ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(at + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

// One pair of files: blocks first_height .. first_height + count - 1.
struct block_store::file {
  fs::path dat_path, idx_path;
  std::uint64_t first_height = 0;
  std::uint64_t count = 0;
  // Bytes of data, including those not yet written.
  std::uint64_t dat_bytes = 0;
  int dat_fd = -1, idx_fd = -1;  // for reads
  // Writers, for the newest file (an older one keeps them until they are
  // idle, so that a write in flight finishes).
  std::unique_ptr<durable_file> dat_w, idx_w;
  file() = default;
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  ~file() {
    if (dat_fd >= 0) ::close(dat_fd);
    if (idx_fd >= 0) ::close(idx_fd);
  }

  bool idle() const { return (!dat_w || dat_w->idle()) && (!idx_w || idx_w->idle()); }

  // The offset of block k (0-based) from the index, or why not.
  base::result<std::uint64_t> offset_of(std::uint64_t k) const {
    char b[index_entry_bytes];
    const std::uint64_t at = k * index_entry_bytes;
    if (!pread_all(idx_fd, b, sizeof b, at)) {
      return base::fail("cannot read the index " + idx_path.string() + " at offset " +
                        std::to_string(at));
    }
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(b[i])} << (8 * i);
    return v;
  }

  // The block in the record at `offset`, checked to be at `height`; its
  // end in *end.
  base::result<storagepb::StoredBlock> read_at(std::uint64_t offset, std::uint64_t height,
                                               std::uint64_t* end) const {
    const std::string where = dat_path.string() + " at offset " + std::to_string(offset);
    char head[record_header_bytes];
    if (!pread_all(dat_fd, head, sizeof head, offset)) {
      return base::fail("damaged record in " + where + ": the file ends there");
    }
    std::uint32_t length = 0;
    for (int i = 0; i < 4; ++i) {
      length |= std::uint32_t{static_cast<unsigned char>(head[4 + i])} << (8 * i);
    }
    if (length == 0 || length > limits::record_bytes_max) {
      return base::fail("damaged record in " + where + ": length " + std::to_string(length));
    }
    std::string rec(record_header_bytes + length, '\0');
    if (!pread_all(dat_fd, rec.data(), rec.size(), offset)) {
      return base::fail("damaged record in " + where + ": the file ends inside it");
    }
    const decoded_record d = decode_record(rec);
    if (d.status != record_status::ok) {
      return base::fail("damaged record in " + where + ": " + to_string(d.status));
    }
    storagepb::StoredBlock b;
    if (!b.ParseFromArray(d.payload.data(), static_cast<int>(d.payload.size()))) {
      return base::fail("damaged record in " + where + ": its payload does not parse");
    }
    if (b.height() != height) {
      return base::fail("damaged record in " + where + ": it holds height " +
                        std::to_string(b.height()) + ", not " + std::to_string(height));
    }
    if (end != nullptr) *end = offset + d.size_bytes;
    return b;
  }
};

block_store::block_store(io::reactor& reactor, block_store_options opts)
    : reactor_(reactor), opts_(std::move(opts)) {}

block_store::~block_store() = default;

base::result<std::unique_ptr<block_store>> block_store::open(io::reactor& reactor,
                                                             block_store_options opts) {
  RC_ASSERT(opts.blocks_kept >= 1);
  std::error_code ec;
  fs::create_directories(opts.dir, ec);
  if (ec) {
    return base::fail("block store: cannot create " + opts.dir.string() + ": " + ec.message());
  }
  std::unique_ptr<block_store> s(new block_store(reactor, std::move(opts)));
  if (base::status st = s->load(); !st.ok()) return base::fail("block store: " + st.message());
  return s;
}

// Finds the files, checks each one's tail, and opens the newest to write on.
base::status block_store::load() {
  std::vector<std::uint64_t> firsts;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(opts_.dir, ec)) {
    if (std::uint64_t first = first_height_of(e.path().filename().string()); first != 0) {
      firsts.push_back(first);
    }
  }
  if (ec) return base::fail("cannot list " + opts_.dir.string() + ": " + ec.message());
  std::sort(firsts.begin(), firsts.end());
  for (std::uint64_t first : firsts) {
    auto f = std::make_unique<file>();
    f->first_height = first;
    f->dat_path = data_path(opts_.dir, first);
    f->idx_path = index_path(opts_.dir, first);
    f->dat_fd = ::open(f->dat_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f->dat_fd < 0)
      return base::fail("cannot open " + f->dat_path.string() + ": " + std::strerror(errno));
    f->idx_fd = ::open(f->idx_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f->idx_fd < 0)
      return base::fail("cannot open " + f->idx_path.string() + ": " + std::strerror(errno));
    if (base::status st = check_tail(*f); !st.ok()) return st;
    if (f->count == 0) {
      // An empty file: it started just before a crash.
      fs::remove(f->dat_path, ec);
      fs::remove(f->idx_path, ec);
      continue;
    }
    if (!files_.empty() && first <= last_height_) {
      return base::fail(f->dat_path.string() + " starts at height " + std::to_string(first) +
                        ", inside the file before it (which reaches " +
                        std::to_string(last_height_) + ")");
    }
    last_height_ = f->first_height + f->count - 1;
    files_.push_back(std::move(f));
  }
  durable_height_ = last_height_;
  if (files_.empty()) return {};
  // The newest file is written on after what reads back.
  file& n = *files_.back();
  auto dat = durable_file::create(reactor_, n.dat_path, true);
  if (!dat.ok()) return dat.to_status();
  auto idx = durable_file::create(reactor_, n.idx_path, true);
  if (!idx.ok()) return idx.to_status();
  n.dat_w = std::move(*dat);
  n.idx_w = std::move(*idx);
  return {};
}

// Counts the blocks whose index entry and record read back, from the end:
// a crash can leave the index ahead of the data, or data past the index.
// The file is then cut to what reads back. Only the tail is read, so a
// damaged record further in is found when a query reads it.
base::status block_store::check_tail(file& f) {
  struct stat st {};
  if (::fstat(f.idx_fd, &st) != 0) {
    return base::fail("cannot stat " + f.idx_path.string() + ": " + std::strerror(errno));
  }
  f.count = static_cast<std::uint64_t>(st.st_size) / index_entry_bytes;
  f.dat_bytes = 0;
  while (f.count > 0) {
    std::uint64_t end = 0;
    const base::result<std::uint64_t> off = f.offset_of(f.count - 1);
    if (off.ok() && f.read_at(*off, f.first_height + f.count - 1, &end).ok()) {
      f.dat_bytes = end;
      break;
    }
    --f.count;
  }
  if (::truncate(f.dat_path.c_str(), static_cast<off_t>(f.dat_bytes)) != 0 ||
      ::truncate(f.idx_path.c_str(), static_cast<off_t>(f.count * index_entry_bytes)) != 0) {
    return base::fail("cannot cut the torn tail of " + f.dat_path.string() + ": " +
                      std::strerror(errno));
  }
  return {};
}

base::status block_store::start_file(std::uint64_t first_height) {
  auto f = std::make_unique<file>();
  f->first_height = first_height;
  f->dat_path = data_path(opts_.dir, first_height);
  f->idx_path = index_path(opts_.dir, first_height);
  auto dat = durable_file::create(reactor_, f->dat_path);
  if (!dat.ok()) return dat.to_status();
  auto idx = durable_file::create(reactor_, f->idx_path);
  if (!idx.ok()) return idx.to_status();
  f->dat_w = std::move(*dat);
  f->idx_w = std::move(*idx);
  f->dat_fd = ::open(f->dat_path.c_str(), O_RDONLY | O_CLOEXEC);
  f->idx_fd = ::open(f->idx_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f->dat_fd < 0 || f->idx_fd < 0) {
    return base::fail("cannot open " + f->dat_path.string() + ": " + std::strerror(errno));
  }
  files_.push_back(std::move(f));
  return {};
}

void block_store::append(std::uint64_t index, std::uint64_t height, std::string_view block) {
  if (failed_ != 0 || height <= last_height_) return;
  const bool gap = !files_.empty() && height != last_height_ + 1;
  // Without archive a file holds at most a quarter of blocks_kept, so
  // that retention, which deletes whole files, keeps at most a quarter
  // more than asked.
  const std::uint64_t file_blocks_max = opts_.archive
                                            ? std::numeric_limits<std::uint64_t>::max()
                                            : std::max<std::uint64_t>(1, opts_.blocks_kept / 4);
  if (files_.empty() || gap || files_.back()->dat_bytes >= opts_.file_bytes ||
      files_.back()->count >= file_blocks_max) {
    // The blocks so far go to the file they belong to, then a new file,
    // whose name is made durable with its first write.
    flush([](int) {});
    if (base::status st = start_file(height); !st.ok()) {
      write_failed(-EIO);
      return;
    }
    trim();
  }
  storagepb::StoredBlock b;
  b.set_index(index);
  b.set_height(height);
  b.set_block(std::string(block));
  file& f = *files_.back();
  put_u64(&pending_idx_, f.dat_bytes);
  const std::size_t before = pending_dat_.size();
  append_record(b.SerializeAsString(), &pending_dat_);
  f.dat_bytes += pending_dat_.size() - before;
  ++f.count;
  last_height_ = pending_height_ = height;
  if (pending_dat_.size() >= limits::block_store_pending_bytes_max) flush([](int) {});
}

void block_store::flush(done_fn done) {
  // Files whose writes finished since the last flush may go now (never
  // from a write's completion, which runs inside the writer).
  trim();
  const std::uint64_t seq = flushes_done_ + flushes_.size();
  flushes_.push_back({0, 0, pending_height_, std::move(done)});
  if (files_.empty() || pending_dat_.empty() || failed_ != 0) {
    write_done(seq, failed_);
    return;
  }
  file& f = *files_.back();
  const std::uint64_t dat_at = f.dat_bytes - pending_dat_.size();
  const std::uint64_t idx_at = (f.count * index_entry_bytes) - pending_idx_.size();
  const bool new_file = dat_at == 0;
  flushes_.back().writes_left = new_file ? 4 : 2;
  auto one_done = [this, seq](int result) { write_done(seq, result); };
  // An index entry durable before its data is cut off at open, as a torn
  // tail; the order of the two writes does not matter.
  f.dat_w->write(dat_at, std::move(pending_dat_), one_done);
  f.idx_w->write(idx_at, std::move(pending_idx_), one_done);
  if (new_file) {
    f.dat_w->sync_dir(one_done);
    f.idx_w->sync_dir(one_done);
  }
  pending_dat_.clear();
  pending_idx_.clear();
}

// One write of flush `seq` finished; flushes are reported in order, each
// once it and every earlier one are durable.
void block_store::write_done(std::uint64_t seq, int result) {
  RC_ASSERT(seq >= flushes_done_ && seq < flushes_done_ + flushes_.size());
  pending_flush& p = flushes_[seq - flushes_done_];
  if (result != 0 && p.error == 0) p.error = result;
  if (result != 0) write_failed(result);
  if (p.writes_left > 0) --p.writes_left;
  while (!flushes_.empty() && flushes_.front().writes_left == 0) {
    pending_flush done = std::move(flushes_.front());
    flushes_.pop_front();
    ++flushes_done_;
    if (done.error == 0 && failed_ == 0) {
      durable_height_ = std::max(durable_height_, done.height);
    }
    if (done.done) done.done(done.error != 0 ? done.error : failed_);
  }
}

void block_store::write_failed(int result) {
  if (failed_ != 0) return;
  failed_ = result;
  if (opts_.on_write_error) opts_.on_write_error(result);
}

std::uint64_t block_store::first_height() const {
  return files_.empty() ? 0 : files_.front()->first_height;
}

// Retention: whole files whose blocks all lie more than blocks_kept below
// the newest go; never the newest, nor one with a write in flight.
void block_store::trim() {
  if (opts_.archive) return;
  while (files_.size() > 1) {
    const file& f = *files_.front();
    const std::uint64_t last = f.first_height + f.count - 1;
    if (last + opts_.blocks_kept >= last_height_ || !f.idle()) break;
    std::error_code ec;
    fs::remove(f.dat_path, ec);
    fs::remove(f.idx_path, ec);
    files_.erase(files_.begin());
  }
}

base::result<std::string> block_store::read(std::uint64_t height) const {
  const std::string h = std::to_string(height);
  if (files_.empty() || height > durable_height_) {
    return base::fail("block " + h + " is not in the block store yet");
  }
  auto it = std::upper_bound(files_.begin(), files_.end(), height,
                             [](std::uint64_t x, const auto& f) { return x < f->first_height; });
  if (it == files_.begin()) {
    const std::string oldest = std::to_string(first_height());
    if (!opts_.archive) {
      return base::fail("block " + h + " was compacted; this node keeps blocks from " + oldest +
                        " on (blocks_kept = " + std::to_string(opts_.blocks_kept) +
                        "; archive = true keeps every block)");
    }
    return base::fail("block " + h + " was compacted; this node keeps blocks from " + oldest +
                      " on (it joined from a snapshot past block " + h + ")");
  }
  const file& f = **std::prev(it);
  if (height >= f.first_height + f.count) {
    return base::fail("block " + h + " is not on this node: it installed a snapshot past it (" +
                      "blocks " + std::to_string(f.first_height + f.count) + " to " +
                      std::to_string((*it)->first_height - 1) + " were never held)");
  }
  const base::result<std::uint64_t> off = f.offset_of(height - f.first_height);
  if (!off.ok()) return base::fail("block " + h + ": " + off.message());
  base::result<storagepb::StoredBlock> b = f.read_at(*off, height, nullptr);
  if (!b.ok()) return base::fail("block " + h + ": " + b.message());
  return std::move(*b->mutable_block());
}

}  // namespace ringchain::storage
