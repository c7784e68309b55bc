// The io_uring backend of the reactor (liburing 2.3).
#include <liburing.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "node/base/assert.h"
#include "node/io/reactor_impl.h"

namespace ringchain::io {
namespace {

__kernel_timespec to_timespec(std::chrono::nanoseconds d) {
  __kernel_timespec ts{};
  ts.tv_sec = d.count() / 1'000'000'000;
  ts.tv_nsec = d.count() % 1'000'000'000;
  return ts;
}

// Why io_uring_queue_init failed, and what to do about it.
std::string explain_setup_error(int err) {
  std::string why;
  if (err == -ENOSYS) {
    why = "the kernel has no io_uring (ENOSYS): it is older than 5.1 or built without it";
  } else if (err == -EPERM) {
    int disabled = 0;
    std::ifstream("/proc/sys/kernel/io_uring_disabled") >> disabled;
    if (disabled == 2) {
      why =
          "io_uring is disabled for everyone (kernel.io_uring_disabled = 2); "
          "enable it with: sysctl kernel.io_uring_disabled=0";
    } else if (disabled == 1) {
      why =
          "io_uring is limited to the group in kernel.io_uring_group "
          "(kernel.io_uring_disabled = 1); add this user to that group or set "
          "kernel.io_uring_disabled=0";
    } else {
      why =
          "io_uring_setup was refused (EPERM), most likely by a seccomp filter: Docker's "
          "default profile blocks io_uring; run the container with a profile that allows "
          "io_uring_setup, io_uring_enter and io_uring_register";
    }
  } else if (err == -ENOMEM) {
    why =
        "the kernel could not allocate the ring (ENOMEM); raise RLIMIT_MEMLOCK "
        "(ulimit -l) or lower the ring size";
  } else {
    why = std::string("io_uring_queue_init failed: ") + std::strerror(-err);
  }
  return "io_uring is unavailable: " + why +
         ". The epoll backend (--io=epoll) runs the same node without io_uring.";
}

class uring_reactor final : public reactor_base {
 public:
  ~uring_reactor() override {
    if (buf_ring_ != nullptr) {
      io_uring_unregister_buf_ring(&ring_, 0);
      ::munmap(buf_ring_, buf_ring_bytes_);
    }
    io_uring_queue_exit(&ring_);
  }

  // Sets up the ring.
  base::status init(const reactor_options& opts) {
    // Try the flags that suit a one-thread reactor first, then fall back:
    //  - SINGLE_ISSUER (6.0): only this thread submits, so the kernel can
    //    skip synchronisation on submission.
    //  - DEFER_TASKRUN (6.1, needs SINGLE_ISSUER): completion work runs only
    //    when we enter the kernel to wait, not by interrupting the thread
    //    in the middle of an iteration; that batches it and keeps the loop
    //    free of surprise interruptions.
    //  - COOP_TASKRUN (5.19): the weaker form of the same, without IPIs.
    //  - SQPOLL, when asked for: a kernel thread takes submissions (it
    //    cannot be combined with DEFER_TASKRUN, whose completion work runs
    //    on the submitting thread).
    const std::vector<unsigned> attempts =
        opts.sqpoll ? std::vector<unsigned>{IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER,
                                            IORING_SETUP_SQPOLL}
                    : std::vector<unsigned>{IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                                            IORING_SETUP_COOP_TASKRUN, 0};
    int ret = -EINVAL;
    for (unsigned flags : attempts) {
      io_uring_params p{};
      p.flags = flags;
      p.sq_thread_idle = opts.sqpoll_idle_ms;
      // Twice as many completions as submissions: multishot operations
      // post several completions per submission.
      p.flags |= IORING_SETUP_CQSIZE;
      p.cq_entries = opts.ring_entries * 2;
      ret = io_uring_queue_init_params(opts.ring_entries, &ring_, &p);
      if (ret == 0) {
        setup_flags_ = flags;
        break;
      }
      if (ret != -EINVAL) break;
    }
    if (ret != 0) return base::fail(explain_setup_error(ret));
    return init_buffers(opts);
  }

  backend kind() const override { return backend::uring; }

  std::string describe() const override {
    std::string flags;
    if (setup_flags_ & IORING_SETUP_SINGLE_ISSUER) flags += "SINGLE_ISSUER ";
    if (setup_flags_ & IORING_SETUP_DEFER_TASKRUN) flags += "DEFER_TASKRUN ";
    if (setup_flags_ & IORING_SETUP_COOP_TASKRUN) flags += "COOP_TASKRUN ";
    if (setup_flags_ & IORING_SETUP_SQPOLL) flags += "SQPOLL ";
    if (flags.empty()) flags = "no optional flags ";
    flags.pop_back();
    return "io_uring (setup: " + flags + ")";
  }

  void run_once(std::chrono::microseconds max_wait) override {
    ++counters_.loop_iterations;
    flush_sends();
    __kernel_timespec ts = to_timespec(max_wait);
    io_uring_cqe* cqe = nullptr;
    // The one trip to the kernel of this iteration: submit everything
    // queued and wait for a completion.
    ++counters_.enter_calls;
    const int ret = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    RC_ASSERT_MSG(ret >= 0 || ret == -ETIME || ret == -EINTR || ret == -EAGAIN || ret == -EBUSY,
                  "io_uring_submit_and_wait_timeout failed");
    reap();
    finish_closes();
  }

  void arm(timer& t, std::chrono::nanoseconds after) override {
    t.armed_ = true;
    t.ts_ = to_timespec(after);
    io_uring_sqe* sqe = get_sqe(op_kind::timeout);
    io_uring_prep_timeout(sqe, &t.ts_, 0, 0);
    io_uring_sqe_set_data(sqe, &t.op_);
  }

  void disarm(timer& t) override {
    if (!t.armed_) return;
    t.armed_ = false;
    io_uring_sqe* sqe = get_sqe(op_kind::cancel);
    io_uring_prep_timeout_remove(sqe, reinterpret_cast<__u64>(&t.op_), 0);
    io_uring_sqe_set_data(sqe, &t.cancel_op_);
  }

  void submit(file_write& w) override {
    start_write(w);
    submit_part(w);
  }

  void listen(listener& l, int fd) override {
    l.fd_ = fd;
    arm_accept(l);
  }

  void resume_accept(listener& l) override {
    if (!l.accepting_ && l.fd_ >= 0) arm_accept(l);
  }

  void open(stream& s, int fd) override {
    attach(s, fd);
    arm_recv(s);
  }

  void connect(stream& s, const sockaddr_in& addr) override {
    if (!begin_connect(s, addr)) return;
    io_uring_sqe* sqe = get_sqe(op_kind::connect);
    io_uring_prep_connect(sqe, s.fd_, reinterpret_cast<const sockaddr*>(&s.peer_), sizeof s.peer_);
    io_uring_sqe_set_data(sqe, &s.connect_op_);
  }

  void close(stream& s) override {
    if (s.closing_ || s.fd_ < 0) return;
    s.closing_ = true;
    if (s.connecting_) {
      io_uring_sqe* sqe = get_sqe(op_kind::cancel);
      io_uring_prep_cancel(sqe, &s.connect_op_, 0);
      io_uring_sqe_set_data(sqe, nullptr);
    }
    // Shutting the socket down ends the multishot recv and any send in
    // flight; the fd is closed once they have completed.
    ::shutdown(s.fd_, SHUT_RDWR);
    closing_.push_back(&s);
  }

 private:
  base::status init_buffers(const reactor_options& opts) {
    RC_ASSERT((opts.recv_buffers & (opts.recv_buffers - 1)) == 0);
    buf_count_ = opts.recv_buffers;
    buf_bytes_ = opts.recv_buffer_bytes;
    buf_mask_ = io_uring_buf_ring_mask(buf_count_);
    buffers_.resize(static_cast<std::size_t>(buf_count_) * buf_bytes_);
    // liburing 2.3 has io_uring_register_buf_ring but not
    // io_uring_setup_buf_ring: map the ring memory ourselves (page
    // aligned, as the kernel requires) and register it.
    buf_ring_bytes_ = buf_count_ * sizeof(io_uring_buf);
    void* mem = ::mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE,
                       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED)
      return base::fail(std::string("cannot map the receive buffer ring: ") + std::strerror(errno));
    buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<__u64>(mem);
    reg.ring_entries = buf_count_;
    reg.bgid = buffer_group;
    if (const int ret = io_uring_register_buf_ring(&ring_, &reg, 0); ret != 0) {
      ::munmap(mem, buf_ring_bytes_);
      buf_ring_ = nullptr;
      return base::fail(
          std::string("io_uring is unavailable: registering a provided buffer ring failed (") +
          std::strerror(-ret) +
          "); the kernel is older than 5.19. The epoll backend (--io=epoll) runs the same "
          "node without io_uring.");
    }
    io_uring_buf_ring_init(buf_ring_);
    for (unsigned i = 0; i < buf_count_; ++i) {
      io_uring_buf_ring_add(buf_ring_, buffers_.data() + static_cast<std::size_t>(i) * buf_bytes_,
                            buf_bytes_, static_cast<unsigned short>(i), buf_mask_,
                            static_cast<int>(i));
    }
    io_uring_buf_ring_advance(buf_ring_, static_cast<int>(buf_count_));
    return {};
  }

  // Submits what the submission queue holds before the loop's own
  // submission (an extra trip, counted).
  void submit_early() {
    ++counters_.enter_calls;
    ++counters_.early_submits;
    io_uring_submit(&ring_);
  }

  // Makes room for `n` SQEs that must reach the kernel in one submission: a
  // linked chain (write -> barrier -> delay). A link does not continue
  // across submissions, so a chain split by an early submit could run its
  // barrier before its write and report a block durable before its data
  // is. The queue is emptied first when the chain would not fit.
  void reserve_chain(unsigned n) {
    RC_ASSERT(n <= ring_.sq.ring_entries);
    if (io_uring_sq_space_left(&ring_) < n) submit_early();
    chain_left_ = n;
  }

  // An SQE for `kind`; when the submission queue is full, submits what it
  // holds first. Never inside a chain: reserve_chain made room for it.
  io_uring_sqe* get_sqe(op_kind kind) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      RC_ASSERT_MSG(chain_left_ == 0, "a linked chain would be split across submissions");
      submit_early();
      sqe = io_uring_get_sqe(&ring_);
      RC_ASSERT(sqe != nullptr);
    }
    if (chain_left_ > 0) --chain_left_;
    ++counters_.submitted[static_cast<std::size_t>(kind)];
    return sqe;
  }

  // Queues the current part of a file write: the write, linked to its
  // barrier, linked to the optional delay. Successful links post no
  // completion (IOSQE_CQE_SKIP_SUCCESS), so a durable part costs exactly
  // one completion: the last link's.
  void submit_part(file_write& w) {
    const std::uint64_t pos = w.written_ + w.in_flight_;
    const bool delay = w.barrier_delay.count() > 0;
    reserve_chain((pos < w.target_ ? 1u : 0u) + 1u + (delay ? 1u : 0u));
    if (pos < w.target_) {
      io_uring_sqe* sqe = get_sqe(op_kind::write);
      io_uring_prep_write(sqe, w.fd, w.data.data() + pos, static_cast<unsigned>(w.target_ - pos),
                          w.offset + pos);
      sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
      io_uring_sqe_set_data(sqe, &w.write_op_);
    }
    io_uring_sqe* sqe = get_sqe(op_kind::fsync);
    io_uring_prep_fsync(sqe, w.fd, IORING_FSYNC_DATASYNC);
    if (delay) sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data(sqe, &w.fsync_op_);
    if (delay) {
      // A plain timeout linked after the barrier: the barrier completes,
      // then the timeout runs, without blocking the thread.
      w.delay_ts_ = to_timespec(w.barrier_delay);
      io_uring_sqe* d = get_sqe(op_kind::delay);
      io_uring_prep_timeout(d, &w.delay_ts_, 0, 0);
      io_uring_sqe_set_data(d, &w.delay_op_);
    }
  }

  void on_write(file_write& w, int res) {
    // A write completion is posted only when the write failed or was short
    // (then its linked barrier is cancelled without a completion).
    if (res < 0) {
      fail_write(w, res);
      return;
    }
    w.in_flight_ += static_cast<std::uint64_t>(res);
    counters_.bytes_written += static_cast<std::uint64_t>(res);
    if (w.written_ + w.in_flight_ < w.target_) {
      if (res == 0) {
        fail_write(w, -ENOSPC);
        return;
      }
      submit_part(w);  // a short write: the rest, and a new barrier
    }
  }

  void on_fsync(file_write& w, int res) {
    if (res == -ECANCELED) return;  // the write before it was short; resubmitted there
    if (res < 0) {
      ++counters_.fdatasyncs;
      fail_write(w, res);
      return;
    }
    if (w.barrier_delay.count() == 0) barrier_done(w);
  }

  void on_delay(file_write& w, int res) {
    if (res == -ETIME) barrier_done(w);
    // -ECANCELED: the barrier failed and reported it.
  }

  void barrier_done(file_write& w) {
    // Counted when done: a barrier cancelled by a short write never ran.
    ++counters_.fdatasyncs;
    // Writes that completed in full posted nothing; count their bytes.
    counters_.bytes_written += w.target_ - w.written_ - w.in_flight_;
    if (finish_part(w)) submit_part(w);
  }

  void arm_accept(listener& l) {
    l.accepting_ = true;
    io_uring_sqe* sqe = get_sqe(op_kind::accept);
    io_uring_prep_multishot_accept(sqe, l.fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data(sqe, &l.op_);
  }

  void on_accept(listener& l, const io_uring_cqe* cqe) {
    const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    if (!more) l.accepting_ = false;
    if (cqe->res < 0) {
      // An error ends the multishot accept; the owner resumes it.
      l.on_error_(cqe->res);
      return;
    }
    set_nodelay(cqe->res);
    l.on_accept_(cqe->res);
    if (!l.accepting_) arm_accept(l);
  }

  void arm_recv(stream& s) {
    s.recv_armed_ = true;
    io_uring_sqe* sqe = get_sqe(op_kind::recv);
    io_uring_prep_recv_multishot(sqe, s.fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffer_group;
    io_uring_sqe_set_data(sqe, &s.recv_op_);
  }

  void on_recv(stream& s, const io_uring_cqe* cqe) {
    const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    if (!more) s.recv_armed_ = false;
    if (cqe->res > 0) {
      const unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      char* buf = buffers_.data() + static_cast<std::size_t>(bid) * buf_bytes_;
      if (!s.closing_) s.handler_.on_data({buf, static_cast<std::size_t>(cqe->res)});
      // Give the buffer back to the kernel.
      io_uring_buf_ring_add(buf_ring_, buf, buf_bytes_, static_cast<unsigned short>(bid), buf_mask_,
                            0);
      io_uring_buf_ring_advance(buf_ring_, 1);
      if (!more && !s.closing_) arm_recv(s);
    } else if (cqe->res == -ENOBUFS) {
      // Every provided buffer was in use; they are back now, so re-arm.
      if (!s.closing_) arm_recv(s);
    } else if (!s.closing_) {
      // 0: the peer shut down; otherwise an error.
      begin_close(s, cqe->res == 0 ? 0 : cqe->res);
    }
  }

  void on_connect(stream& s, int res) {
    s.connecting_ = false;
    if (s.closing_) return;
    if (res < 0) {
      begin_close(s, res);
      return;
    }
    set_nodelay(s.fd_);
    arm_recv(s);
    if (s.handler_.on_connected) s.handler_.on_connected();
  }

  void start_send(stream& s) override {
    s.send_armed_ = true;
    io_uring_sqe* sqe = get_sqe(op_kind::send);
    io_uring_prep_send(sqe, s.fd_, s.in_flight_.data() + s.sent_, s.in_flight_.size() - s.sent_,
                       MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, &s.send_op_);
  }

  void on_send(stream& s, int res) {
    s.send_armed_ = false;
    if (res < 0) {
      if (!s.closing_) begin_close(s, res);
      return;
    }
    sent(s, static_cast<std::size_t>(res));
  }

  void begin_close(stream& s, int err) {
    s.close_error_ = err;
    close(s);
  }

  bool stream_idle(const stream& s) const override {
    return !s.recv_armed_ && !s.send_armed_ && !s.connecting_;
  }

  void reap() {
    unsigned head;
    io_uring_cqe* cqe;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      dispatch(cqe);
    }
    io_uring_cq_advance(&ring_, seen);
  }

  void dispatch(const io_uring_cqe* cqe) {
    auto* op = static_cast<detail::op*>(io_uring_cqe_get_data(cqe));
    if (op == nullptr) return;
    ++counters_.completed[static_cast<std::size_t>(op->kind)];
    switch (op->kind) {
      case op_kind::timeout: {
        auto& t = *static_cast<timer*>(op->owner);
        if (cqe->res == -ETIME && t.armed_) {
          t.armed_ = false;
          t.on_fire_();
        }
        break;
      }
      case op_kind::cancel: break;
      case op_kind::write: on_write(*static_cast<file_write*>(op->owner), cqe->res); break;
      case op_kind::fsync: on_fsync(*static_cast<file_write*>(op->owner), cqe->res); break;
      case op_kind::delay: on_delay(*static_cast<file_write*>(op->owner), cqe->res); break;
      case op_kind::accept: on_accept(*static_cast<listener*>(op->owner), cqe); break;
      case op_kind::recv: on_recv(*static_cast<stream*>(op->owner), cqe); break;
      case op_kind::send: on_send(*static_cast<stream*>(op->owner), cqe->res); break;
      case op_kind::connect: on_connect(*static_cast<stream*>(op->owner), cqe->res); break;
      case op_kind::count_: RC_ASSERT(false);
    }
  }

  static constexpr unsigned short buffer_group = 0;

  io_uring ring_{};
  unsigned setup_flags_ = 0;
  // SQEs of a linked chain still to be taken (see reserve_chain).
  unsigned chain_left_ = 0;
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::size_t buf_ring_bytes_ = 0;
  std::vector<char> buffers_;
  unsigned buf_count_ = 0;
  unsigned buf_bytes_ = 0;
  int buf_mask_ = 0;
};

}  // namespace

base::result<std::unique_ptr<reactor>> make_uring_reactor(const reactor_options& opts) {
  auto r = std::make_unique<uring_reactor>();
  if (base::status s = r->init(opts); !s.ok()) return base::fail(s.message());
  return std::unique_ptr<reactor>(std::move(r));
}

}  // namespace ringchain::io
