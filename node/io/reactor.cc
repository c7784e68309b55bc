#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "node/base/assert.h"
#include "node/io/reactor_impl.h"

namespace ringchain::io {

const char* to_string(backend b) {
  switch (b) {
    case backend::uring: return "uring";
    case backend::epoll: return "epoll";
    case backend::sim: return "sim";
  }
  return "?";
}

bool parse_backend(std::string_view text, backend* out) {
  if (text == "uring") {
    *out = backend::uring;
    return true;
  }
  if (text == "epoll") {
    *out = backend::epoll;
    return true;
  }
  return false;
}

const char* to_string(op_kind k) {
  switch (k) {
    case op_kind::accept: return "accept";
    case op_kind::recv: return "recv";
    case op_kind::send: return "send";
    case op_kind::connect: return "connect";
    case op_kind::write: return "write";
    case op_kind::fsync: return "fsync";
    case op_kind::delay: return "delay";
    case op_kind::timeout: return "timeout";
    case op_kind::cancel: return "cancel";
    case op_kind::count_: break;
  }
  return "?";
}

base::result<std::unique_ptr<reactor>> reactor::create(backend b, const reactor_options& opts) {
  switch (b) {
    case backend::uring: return make_uring_reactor(opts);
    case backend::epoll: return make_epoll_reactor(opts);
    case backend::sim: break;
  }
  return base::fail(
      "the sim backend runs only inside the deterministic simulator (ringchain-sim dst)");
}

std::uint64_t reactor::now_us() const {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000 +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
}

std::uint64_t reactor::wall_us() const {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

bool stream::send(std::string_view bytes) {
  if (fd_ < 0 || closing_) return false;
  if (queued_bytes() + bytes.size() > send_bytes_max_) return false;
  pending_.append(bytes);
  reactor_->wants_flush(*this);
  return true;
}

// ------------------------------------------------------------- writes --

namespace {
// End of chunk `i + 1` of `n` over `size` bytes; chunks differ by at most
// one byte.
std::uint64_t chunk_end(std::uint64_t size, std::uint32_t n, std::uint32_t i) {
  return size * (i + 1) / n;
}
}  // namespace

void reactor_base::start_write(file_write& w) {
  RC_ASSERT_MSG(!w.busy_, "a file_write is reused before its on_done");
  RC_ASSERT(w.chunks >= 1 && w.fd >= 0);
  w.busy_ = true;
  w.written_ = 0;
  w.in_flight_ = 0;
  w.barriers_ = 0;
  w.target_ = chunk_end(w.data.size(), w.chunks, 0);
}

bool reactor_base::finish_part(file_write& w) {
  w.written_ = w.target_;
  w.in_flight_ = 0;
  ++w.barriers_;
  if (w.barriers_ < w.chunks) {
    w.target_ = chunk_end(w.data.size(), w.chunks, w.barriers_);
    return true;
  }
  RC_ASSERT(w.written_ == w.data.size());
  w.busy_ = false;
  w.on_done(0);
  return false;
}

void reactor_base::fail_write(file_write& w, int err) {
  if (!w.busy_) return;  // a later link of a failed part
  w.busy_ = false;
  w.on_done(err);
}

// ------------------------------------------------------------ streams --

void reactor_base::wants_flush(stream& s) {
  if (s.queued_for_flush_) return;
  s.queued_for_flush_ = true;
  flush_.push_back(&s);
}

void reactor_base::flush_sends() {
  // Streams queued again during this loop wait for the next iteration.
  std::vector<stream*> now;
  now.swap(flush_);
  for (stream* s : now) {
    s->queued_for_flush_ = false;
    if (s->fd_ < 0 || s->closing_ || s->connecting_ || s->send_armed_) continue;
    if (s->sent_ == s->in_flight_.size()) {
      if (s->pending_.empty()) continue;
      // The previous batch is done: the pending bytes become the batch in
      // flight, and the old buffer (its capacity kept) takes new bytes.
      s->in_flight_.clear();
      s->sent_ = 0;
      s->in_flight_.swap(s->pending_);
    }
    start_send(*s);
  }
  flush_.reserve(now.capacity());
}

void reactor_base::sent(stream& s, std::size_t n) {
  s.sent_ += n;
  if (s.closing_) return;
  if (s.sent_ < s.in_flight_.size() || !s.pending_.empty()) wants_flush(s);
}

void reactor_base::attach(stream& s, int fd) {
  s.fd_ = fd;
  s.reactor_ = this;
  s.closing_ = false;
  s.close_error_ = 0;
  s.pending_.clear();
  s.in_flight_.clear();
  s.sent_ = 0;
}

bool reactor_base::begin_connect(stream& s, const sockaddr_in& addr) {
  const int fd = new_socket();
  if (fd < 0) {
    defer_close(s, fd);
    return false;
  }
  attach(s, fd);
  s.peer_ = addr;
  s.connecting_ = true;
  return true;
}

void reactor_base::defer_close(stream& s, int err) {
  s.reactor_ = this;
  s.closing_ = true;
  s.close_error_ = err;
  closing_.push_back(&s);
}

void reactor_base::finish_closes() {
  auto done = [this](stream* s) {
    if (!stream_idle(*s)) return false;
    // The stream may be destroyed by on_closed: forget it everywhere.
    std::erase(flush_, s);
    s->queued_for_flush_ = false;
    detach(*s);
    if (s->fd_ >= 0) ::close(s->fd_);
    s->fd_ = -1;
    s->handler_.on_closed(s->close_error_);
    return true;
  };
  // on_closed may close further streams; they are handled next iteration.
  std::vector<stream*> now;
  now.swap(closing_);
  now.erase(std::remove_if(now.begin(), now.end(), done), now.end());
  closing_.insert(closing_.end(), now.begin(), now.end());
}

int reactor_base::new_socket() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd >= 0 ? fd : -errno;
}

void reactor_base::set_nodelay(int fd) {
  // Frames are whole messages; Nagle's algorithm would only delay them.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace ringchain::io
