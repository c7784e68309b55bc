#include "node/storage/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "node/base/assert.h"

namespace ringchain::storage {

namespace fs = std::filesystem;

base::result<std::unique_ptr<durable_file>> durable_file::create(io::reactor& reactor,
                                                                 const fs::path& path, bool keep) {
  const int fd = ::open(path.c_str(), O_CREAT | (keep ? 0 : O_TRUNC) | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return base::fail("cannot create " + path.string() + ": " + std::strerror(errno));
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return base::fail("cannot open " + dir.string() + ": " + why);
  }
  std::unique_ptr<durable_file> f(new durable_file(reactor, path, fd, dir_fd));
  const off_t end = ::lseek(fd, 0, SEEK_END);
  f->size_ = end > 0 ? static_cast<std::uint64_t>(end) : 0;
  return f;
}

durable_file::~durable_file() {
  ::close(fd_);
  ::close(dir_fd_);
}

void durable_file::write(std::uint64_t at, std::string bytes, done_fn done) {
  RC_ASSERT(!abandoned_);
  size_ = std::max(size_, at + bytes.size());
  queue_.push_back({fd_, at, std::move(bytes), std::move(done)});
  next();
}

void durable_file::sync_dir(done_fn done) {
  RC_ASSERT(!abandoned_);
  queue_.push_back({dir_fd_, 0, {}, std::move(done)});
  next();
}

void durable_file::abandon(bool remove) {
  abandoned_ = true;
  queue_.clear();
  if (remove) ::unlink(path_.c_str());
}

void durable_file::next() {
  if (write_.busy_ || queue_.empty()) return;
  if (failed_ != 0) {
    // Nothing is written after a failure; every caller hears of it.
    std::deque<op> failed;
    failed.swap(queue_);
    for (op& o : failed) o.done(failed_);
    return;
  }
  current_ = std::move(queue_.front());
  queue_.pop_front();
  write_.fd = current_.fd;
  write_.offset = current_.at;
  write_.data = current_.bytes;
  write_.chunks = 1;
  write_.on_done = [this](int result) { on_written(result); };
  reactor_.submit(write_);
}

void durable_file::on_written(int result) {
  if (abandoned_) return;
  if (result != 0 && failed_ == 0) failed_ = result;
  done_fn done = std::move(current_.done);
  current_ = {};
  // Not idle while the callback runs: an owner that drops its idle files
  // from inside it (a snapshot finished) must not free this one under
  // the next() below (found by the simulator: a use after free).
  delivering_ = true;
  if (done) done(result);
  delivering_ = false;
  next();
}

}  // namespace ringchain::storage
