// A file written through the reactor's durable writes (write, then
// barrier), one write at a time and in order: snapshots being written or
// received. Nothing blocks the loop but opening the file.
//
// The reactor holds the write in flight: an owner that gives a file up
// while the reactor runs on keeps it until idle() (the snapshot modules
// keep a short list of such files and drop them once idle). Destroying it
// with the reactor, or with the simulator's node, is fine: the completion
// never runs then.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "node/base/result.h"
#include "node/io/reactor.h"

namespace ringchain::storage {

// One file written through the reactor's durable writes (see the file
// comment).
class durable_file {
 public:
  // Called when a queued operation is durable (0) or failed (-errno).
  using done_fn = std::function<void(int result)>;

  // Creates `path` (truncating what is there, unless `keep` asks to
  // write on after what it holds) and opens its directory for sync_dir().
  static base::result<std::unique_ptr<durable_file>> create(io::reactor& reactor,
                                                            const std::filesystem::path& path,
                                                            bool keep = false);
  // Closes the file and its directory (see the file comment about writes
  // in flight).
  ~durable_file();
  durable_file(const durable_file&) = delete;
  durable_file& operator=(const durable_file&) = delete;

  // Queues `bytes` at offset `at` (size() when appending); `done` runs
  // when they are durable or the write failed. Writes run in order.
  void write(std::uint64_t at, std::string bytes, done_fn done);
  // Queues a barrier on the directory, after every queued write: the
  // file's name is durable with it.
  void sync_dir(done_fn done);
  // Gives the file up: queued operations are dropped without their
  // callbacks (the one in flight finishes quietly), and with `remove` the
  // file is unlinked.
  void abandon(bool remove);

  // The end of what was queued.
  std::uint64_t size() const { return size_; }
  // Whether no operation is queued or in flight, and no completion's
  // callback is running.
  bool idle() const { return queue_.empty() && !write_.busy_ && !delivering_; }
  // The file's path.
  const std::filesystem::path& path() const { return path_; }
  // The first error (-errno); 0 while healthy.
  int failed() const { return failed_; }

 private:
  durable_file(io::reactor& reactor, std::filesystem::path path, int fd, int dir_fd)
      : reactor_(reactor), path_(std::move(path)), fd_(fd), dir_fd_(dir_fd) {}
  void next();
  void on_written(int result);

  struct op {
    // A directory barrier when fd is the directory's.
    int fd;
    std::uint64_t at;
    std::string bytes;
    done_fn done;
  };

  io::reactor& reactor_;
  std::filesystem::path path_;
  int fd_;
  int dir_fd_;
  std::deque<op> queue_;
  // The operation in flight: its bytes and callback.
  op current_;
  io::file_write write_;
  std::uint64_t size_ = 0;
  // A completion's callback is running (see idle()).
  bool delivering_ = false;
  int failed_ = 0;
  bool abandoned_ = false;
};

}  // namespace ringchain::storage
