// The conventional backend of the reactor: Boost.Asio's epoll reactor for
// sockets and timers, and plain pwrite + fdatasync, one syscall each, for
// file writes. Nothing else differs from the uring backend, so experiments
// compare the I/O models and nothing else.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/version.hpp>
#include <cerrno>

#include "node/base/assert.h"
#include "node/io/reactor_impl.h"

namespace ringchain::io {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

int to_errno(const boost::system::error_code& ec) {
  if (!ec) return 0;
  if (ec == asio::error::eof) return 0;
  return ec.category() == boost::system::system_category() ? -ec.value() : -EIO;
}

struct timer_state final : detail::backend_state {
  explicit timer_state(asio::io_context& io) : t(io) {}
  asio::steady_timer t;
};

struct stream_state final : detail::backend_state {
  stream_state(asio::io_context& io, std::size_t buffer_bytes) : socket(io), buffer(buffer_bytes) {}
  tcp::socket socket;
  std::vector<char> buffer;
};

struct listener_state final : detail::backend_state {
  explicit listener_state(asio::io_context& io) : acceptor(io) {}
  // The caller owns the listening fd: hand it back rather than close it.
  ~listener_state() override {
    boost::system::error_code ec;
    acceptor.release(ec);
  }
  tcp::acceptor acceptor;
};

template <typename State, typename Owner, typename... Args>
State& state_of(Owner& o, Args&&... args) {
  if (!o.state_) o.state_ = std::make_unique<State>(std::forward<Args>(args)...);
  return static_cast<State&>(*o.state_);
}

class epoll_reactor final : public reactor_base {
 public:
  explicit epoll_reactor(const reactor_options& opts)
      : io_(1), recv_buffer_bytes_(opts.recv_buffer_bytes) {}

  backend kind() const override { return backend::epoll; }

  std::string describe() const override {
    std::string boost = BOOST_LIB_VERSION;
    std::replace(boost.begin(), boost.end(), '_', '.');
    return "epoll (Boost.Asio from Boost " + boost + "; pwrite + fdatasync)";
  }

  void run_once(std::chrono::microseconds max_wait) override {
    ++counters_.loop_iterations;
    flush_sends();
    ++counters_.enter_calls;
    io_.run_one_for(max_wait);
    // Then everything else that is ready, without waiting.
    io_.poll();
    if (io_.stopped()) io_.restart();
    finish_closes();
  }

  void arm(timer& t, std::chrono::nanoseconds after) override {
    auto& st = state_of<timer_state>(t, io_);
    t.armed_ = true;
    count_submit(op_kind::timeout);
    st.t.expires_after(after);
    st.t.async_wait([this, &t](const boost::system::error_code& ec) {
      count_complete(op_kind::timeout);
      if (ec || !t.armed_) return;
      t.armed_ = false;
      t.on_fire_();
    });
  }

  void disarm(timer& t) override {
    if (!t.armed_) return;
    t.armed_ = false;
    count_submit(op_kind::cancel);
    static_cast<timer_state&>(*t.state_).t.cancel();
  }

  void submit(file_write& w) override {
    start_write(w);
    // The completion is reported from the loop, never from inside submit().
    asio::post(io_, [this, &w] { write_part(w); });
  }

  void listen(listener& l, int fd) override {
    auto& st = state_of<listener_state>(l, io_);
    l.fd_ = fd;
    boost::system::error_code ec;
    st.acceptor.assign(tcp::v4(), fd, ec);
    if (ec) {
      asio::post(io_, [&l, err = to_errno(ec)] { l.on_error_(err); });
      return;
    }
    arm_accept(l);
  }

  void resume_accept(listener& l) override {
    if (!l.accepting_ && l.state_) arm_accept(l);
  }

  void open(stream& s, int fd) override {
    attach(s, fd);
    assign_socket(s);
    arm_recv(s);
  }

  void connect(stream& s, const sockaddr_in& addr) override {
    if (!begin_connect(s, addr)) return;
    auto& st = assign_socket(s);
    count_submit(op_kind::connect);
    const tcp::endpoint ep(asio::ip::address_v4(ntohl(addr.sin_addr.s_addr)), ntohs(addr.sin_port));
    st.socket.async_connect(ep, [this, &s](const boost::system::error_code& err) {
      count_complete(op_kind::connect);
      s.connecting_ = false;
      if (s.closing_) return;
      if (err) {
        begin_close(s, to_errno(err) == 0 ? -ECONNREFUSED : to_errno(err));
        return;
      }
      set_nodelay(s.fd_);
      arm_recv(s);
      if (s.handler_.on_connected) s.handler_.on_connected();
    });
  }

  void close(stream& s) override {
    if (s.closing_ || s.fd_ < 0) return;
    s.closing_ = true;
    auto& st = static_cast<stream_state&>(*s.state_);
    boost::system::error_code ec;
    st.socket.shutdown(tcp::socket::shutdown_both, ec);
    st.socket.cancel(ec);
    closing_.push_back(&s);
  }

 private:
  // Hands the stream's fd to its Asio socket (created once per stream).
  stream_state& assign_socket(stream& s) {
    auto& st = state_of<stream_state>(s, io_, recv_buffer_bytes_);
    boost::system::error_code ec;
    st.socket.assign(tcp::v4(), s.fd_, ec);
    RC_ASSERT(!ec);
    return st;
  }

  void count_submit(op_kind k) { ++counters_.submitted[static_cast<std::size_t>(k)]; }
  void count_complete(op_kind k) { ++counters_.completed[static_cast<std::size_t>(k)]; }

  // Writes the current part with pwrite (short writes continued), then
  // fdatasync: the conventional model, a syscall each.
  void write_part(file_write& w) {
    for (;;) {
      while (w.written_ + w.in_flight_ < w.target_) {
        const std::uint64_t pos = w.written_ + w.in_flight_;
        count_submit(op_kind::write);
        const ssize_t n = ::pwrite(w.fd, w.data.data() + pos, w.target_ - pos,
                                   static_cast<off_t>(w.offset + pos));
        count_complete(op_kind::write);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          fail_write(w, n < 0 ? -errno : -ENOSPC);
          return;
        }
        w.in_flight_ += static_cast<std::uint64_t>(n);
        counters_.bytes_written += static_cast<std::uint64_t>(n);
      }
      count_submit(op_kind::fsync);
      ++counters_.fdatasyncs;
      const int rc = ::fdatasync(w.fd);
      count_complete(op_kind::fsync);
      if (rc != 0) {
        fail_write(w, -errno);
        return;
      }
      if (w.barrier_delay.count() > 0) {
        delay_then_continue(w);
        return;
      }
      if (!finish_part(w)) return;  // done: `w` is the caller's again
    }
  }

  void delay_then_continue(file_write& w) {
    auto& st = state_of<timer_state>(w, io_);
    count_submit(op_kind::delay);
    st.t.expires_after(w.barrier_delay);
    st.t.async_wait([this, &w](const boost::system::error_code&) {
      count_complete(op_kind::delay);
      if (finish_part(w)) write_part(w);
    });
  }

  void arm_accept(listener& l) {
    auto& st = static_cast<listener_state&>(*l.state_);
    count_submit(op_kind::accept);
    l.accepting_ = true;
    st.acceptor.async_accept([this, &l](const boost::system::error_code& ec, tcp::socket sock) {
      if (ec == asio::error::operation_aborted) return;  // the listener may be gone
      count_complete(op_kind::accept);
      if (ec) {
        l.accepting_ = false;
        l.on_error_(to_errno(ec) == 0 ? -ECONNABORTED : to_errno(ec));
        return;
      }
      const int fd = sock.release();
      set_nodelay(fd);
      l.on_accept_(fd);
      arm_accept(l);
    });
  }

  void arm_recv(stream& s) {
    auto& st = static_cast<stream_state&>(*s.state_);
    s.recv_armed_ = true;
    count_submit(op_kind::recv);
    st.socket.async_read_some(asio::buffer(st.buffer),
                              [this, &s, &st](const boost::system::error_code& ec, std::size_t n) {
                                count_complete(op_kind::recv);
                                s.recv_armed_ = false;
                                if (s.closing_ || ec == asio::error::operation_aborted) return;
                                if (ec) {
                                  begin_close(s, to_errno(ec));
                                  return;
                                }
                                s.handler_.on_data({st.buffer.data(), n});
                                if (!s.closing_) arm_recv(s);
                              });
  }

  void start_send(stream& s) override {
    auto& st = static_cast<stream_state&>(*s.state_);
    s.send_armed_ = true;
    count_submit(op_kind::send);
    // async_write continues short writes until all bytes are sent.
    asio::async_write(st.socket,
                      asio::buffer(s.in_flight_.data() + s.sent_, s.in_flight_.size() - s.sent_),
                      [this, &s](const boost::system::error_code& ec, std::size_t n) {
                        count_complete(op_kind::send);
                        s.send_armed_ = false;
                        if (ec) {
                          if (!s.closing_)
                            begin_close(s, to_errno(ec) == 0 ? -EPIPE : to_errno(ec));
                          return;
                        }
                        sent(s, n);
                      });
  }

  void begin_close(stream& s, int err) {
    s.close_error_ = err;
    close(s);
  }

  bool stream_idle(const stream& s) const override {
    return !s.recv_armed_ && !s.send_armed_ && !s.connecting_;
  }

  void detach(stream& s) override {
    // The shared close path closes the fd; the socket must let go of it.
    boost::system::error_code ec;
    static_cast<stream_state&>(*s.state_).socket.release(ec);
  }

  asio::io_context io_;
  std::size_t recv_buffer_bytes_;
};

}  // namespace

base::result<std::unique_ptr<reactor>> make_epoll_reactor(const reactor_options& opts) {
  return std::unique_ptr<reactor>(std::make_unique<epoll_reactor>(opts));
}

}  // namespace ringchain::io
