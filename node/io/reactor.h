// The node's reactor: one thread, one event loop, for sockets, timers and
// durable file writes.
//
// Two backends implement the same interface, picked at run time
// (`--io=uring|epoll`, as Seastar's --reactor-backend):
//
//  - uring: one io_uring (liburing) ring. Everything decided in one loop
//    iteration (sends, writes, barriers, timers) reaches the kernel in the
//    single io_uring_submit_and_wait_timeout() of the next run_once().
//    Sockets use multishot accept and multishot recv with a provided buffer
//    ring; a file write and its fdatasync are linked (IOSQE_IO_LINK) so one
//    submission makes a whole block durable.
//  - epoll: the conventional model. Boost.Asio (its epoll reactor) for
//    sockets and timers; pwrite + fdatasync, one syscall each, for files.
//
// Operations live in caller-owned objects (timer, file_write, listener,
// stream) that embed their per-operation state: the reactor allocates
// nothing per operation. An object must outlive its operations: a timer
// until it fires or is disarmed, a file_write until on_done, a stream until
// on_closed. Callbacks run on the reactor thread, from run_once().
#pragma once

#include <linux/time_types.h>
#include <netinet/in.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "node/base/result.h"

namespace ringchain::io {

class reactor;

// sim: the deterministic simulator's (sim/dst); never created here.
enum class backend { uring, epoll, sim };
// The backend's name, as --io spells it.
const char* to_string(backend b);
// Parses "uring" or "epoll".
bool parse_backend(std::string_view text, backend* out);

// Operation kinds, for counters and completion dispatch.
enum class op_kind : std::uint8_t {
  accept,
  recv,
  send,
  connect,
  write,
  fsync,
  delay,
  timeout,
  cancel,
  count_,
};
// How many operation kinds there are: the size of the per-kind counters.
inline constexpr std::size_t op_kinds = static_cast<std::size_t>(op_kind::count_);
// The kind's name, for reports.
const char* to_string(op_kind k);

// What the reactor did, for reports and benchmarks.
struct counters {
  // Calls of run_once().
  std::uint64_t loop_iterations = 0;
  // uring: calls that enter the kernel (io_uring_submit_and_wait_timeout
  // enters at most once). epoll: waits for events (run_one_for calls).
  std::uint64_t enter_calls = 0;
  // uring: SQEs submitted, by kind. epoll: operations started, by kind
  // (each a syscall or an Asio operation).
  std::array<std::uint64_t, op_kinds> submitted{};
  // uring: CQEs reaped, by kind. epoll: operations completed, by kind.
  std::array<std::uint64_t, op_kinds> completed{};
  // Barriers completed.
  std::uint64_t fdatasyncs = 0;
  // Bytes written to files.
  std::uint64_t bytes_written = 0;
  // uring: submissions made before the loop's own because the submission
  // queue was full (each also counts in enter_calls). epoll: 0.
  std::uint64_t early_submits = 0;
};

namespace detail {
// Per-operation state embedded in the caller's objects; the uring backend
// passes its address as the SQE's user data.
struct op {
  // Which operation this is, to dispatch its completion.
  op_kind kind;
  // The object that embeds it: a timer, file_write, listener or stream.
  void* owner;
};
// Backend state an object needs for its whole life (an Asio socket or
// timer); created on first use, never per operation.
struct backend_state {
  virtual ~backend_state() = default;
};
}  // namespace detail

// A one-shot timer. Re-arm it from its callback for a periodic one.
class timer {
 public:
  // A disarmed timer that runs `on_fire` each time it fires.
  explicit timer(std::function<void()> on_fire) : on_fire_(std::move(on_fire)) {}
  timer(const timer&) = delete;
  timer& operator=(const timer&) = delete;
  // Whether the timer is armed: it fires unless disarmed first.
  bool armed() const { return armed_; }

  // Reactor-private state from here on: public so that every backend (the
  // simulator's included) reaches it, never touched by the owner.
  //
  // The callback given at construction.
  std::function<void()> on_fire_;
  // Set by arm(), cleared when the timer fires or by disarm(); a completion
  // that finds it clear is stale and runs nothing.
  bool armed_ = false;
  // Set by no backend: disarm() cancels through cancel_op_ (uring) or the
  // backend state (epoll, sim).
  bool cancelling_ = false;
  // uring: the timeout's duration, which the SQE points at.
  __kernel_timespec ts_{};
  // uring: the timeout operation.
  detail::op op_{op_kind::timeout, this};
  // uring: the timeout removal of disarm().
  detail::op cancel_op_{op_kind::cancel, this};
  // epoll: the Asio timer; sim: the generation that makes a disarmed
  // timer's event stale. Created on first use.
  std::unique_ptr<detail::backend_state> state_;
};

// A durable write: `data` at `offset` of `fd`, then a barrier (fdatasync).
// on_done(0) means every byte is durable; on_done(-errno) means the write
// or the barrier failed, and then nothing may be acknowledged (the caller
// treats it as fatal: a failed fdatasync is never retried).
//
// With chunks > 1 the data is written as that many equal parts, each
// followed by its own barrier, in turn (the per-transaction model). With
// barrier_delay > 0 every barrier is followed by that delay before it
// counts as done (a slow-disk knob for experiments; off by default).
struct file_write {
  // The file, open for writing and owned by the caller.
  int fd = -1;
  // Where in the file `data` goes, in bytes.
  std::uint64_t offset = 0;
  // The bytes to write; the caller keeps them alive and unchanged until
  // on_done.
  std::string_view data;
  // Parts the data is written in, each followed by its own barrier (see
  // above); 1 writes all of it, then one barrier.
  std::uint32_t chunks = 1;
  // Extra wait after each barrier before it counts as done; 0 for none.
  std::chrono::nanoseconds barrier_delay{0};
  // Called once, on the reactor thread, with 0 when every byte is durable
  // or -errno when the write or a barrier failed; the object may be
  // submitted again from there.
  std::function<void(int result)> on_done;

  // Reactor-private state from here on (see timer).
  std::uint64_t written_ = 0;    // bytes known written and covered by a barrier
  std::uint64_t target_ = 0;     // end of the part being written now
  std::uint64_t in_flight_ = 0;  // bytes of the current write known written
  std::uint32_t barriers_ = 0;   // barriers completed
  // From submit() until on_done: a busy write may not be submitted again.
  bool busy_ = false;
  // uring: barrier_delay as the linked timeout's duration.
  __kernel_timespec delay_ts_{};
  // uring: the write of the current part.
  detail::op write_op_{op_kind::write, this};
  // uring: the barrier (fdatasync) of the current part.
  detail::op fsync_op_{op_kind::fsync, this};
  // uring: the timeout linked after the barrier when barrier_delay is set.
  detail::op delay_op_{op_kind::delay, this};
  // epoll: the Asio timer of barrier_delay; created on first use.
  std::unique_ptr<detail::backend_state> state_;
};

// A listening socket; calls on_accept with each new connection's fd
// (non-blocking, close-on-exec), or on_error(-errno) when accepting fails.
// After an error the listener stops accepting (accepting() is false) until
// reactor::resume_accept(): the owner decides how long to back off (EMFILE
// clears only when connections close).
class listener {
 public:
  // A listener that reports to these callbacks; listen() starts it.
  listener(std::function<void(int fd)> on_accept, std::function<void(int err)> on_error)
      : on_accept_(std::move(on_accept)), on_error_(std::move(on_error)) {}
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  // Whether an accept is armed.
  bool accepting() const { return accepting_; }

  // Reactor-private state from here on (see timer).
  //
  // Called with each accepted connection's fd.
  std::function<void(int)> on_accept_;
  // Called with -errno when accepting fails.
  std::function<void(int)> on_error_;
  // The listening socket, owned by the caller; -1 before listen().
  int fd_ = -1;
  // Whether an accept is armed (uring: a multishot accept).
  bool accepting_ = false;
  // uring: the multishot accept.
  detail::op op_{op_kind::accept, this};
  // epoll: the Asio acceptor over fd_, which hands the fd back rather than
  // close it. Created by listen().
  std::unique_ptr<detail::backend_state> state_;
};

// Callbacks of a stream.
struct stream_handler {
  // The connection is up (after connect(); not called for open()).
  std::function<void()> on_connected;
  // Bytes arrived. The span is valid only during the call.
  std::function<void(std::span<const char> bytes)> on_data;
  // The stream is closed: 0 after close() or an orderly shutdown by the
  // peer, -errno after an error. The object may be destroyed from here on.
  std::function<void(int err)> on_closed;
};

// A TCP connection. send() queues bytes in the stream's own buffer (bounded
// by send_bytes_max); the reactor sends them in the next iteration and
// handles short sends. Two buffers alternate, so bytes queued while a send
// is in flight never move under the kernel.
class stream {
 public:
  // A stream without a socket that reports to `h` and queues at most
  // `send_bytes_max` bytes; open() or connect() gives it one.
  stream(stream_handler h, std::size_t send_bytes_max)
      : handler_(std::move(h)), send_bytes_max_(send_bytes_max) {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  // Queues bytes; false (and nothing queued) when the queue would exceed
  // its bound: the peer is too slow, and the caller decides what to drop.
  bool send(std::string_view bytes);
  // Bytes queued and not yet sent: those waiting, and the unsent rest of
  // the batch in flight. send() keeps it within send_bytes_max.
  std::size_t queued_bytes() const { return pending_.size() + (in_flight_.size() - sent_); }
  // Whether the stream has a socket and is not closing; send() takes bytes
  // only then.
  bool open() const { return fd_ >= 0 && !closing_; }
  // The socket; -1 when the stream has none.
  int fd() const { return fd_; }

  // Reactor-private state from here on (see timer).
  //
  // The callbacks given at construction.
  stream_handler handler_;
  // The bound of queued_bytes().
  std::size_t send_bytes_max_;
  // The socket, owned by the stream from open() or connect() until it is
  // closed (before on_closed); -1 otherwise.
  int fd_ = -1;
  // Set by close() or an error: no more bytes are taken or delivered, and
  // the fd is closed once no operation is pending.
  bool closing_ = false;
  // A connect is in flight.
  bool connecting_ = false;
  // A receive is armed (uring: a multishot recv).
  bool recv_armed_ = false;
  // A send of in_flight_ is in flight.
  bool send_armed_ = false;
  // The stream is on the reactor's list to flush (so it is listed once).
  bool queued_for_flush_ = false;
  // What on_closed reports: 0, or the -errno that closed the stream.
  int close_error_ = 0;
  // Bytes queued by send() that wait for the batch in flight to finish.
  std::string pending_;
  // The batch being sent; the kernel reads it, so it never moves while a
  // send is in flight.
  std::string in_flight_;
  // Bytes of in_flight_ already sent.
  std::size_t sent_ = 0;
  // The address connect() dials (uring's connect reads it from here).
  sockaddr_in peer_{};
  // The reactor of the stream's operations; set by open() or connect().
  reactor* reactor_ = nullptr;
  // uring: the multishot recv.
  detail::op recv_op_{op_kind::recv, this};
  // uring: the send of in_flight_.
  detail::op send_op_{op_kind::send, this};
  // uring: the connect.
  detail::op connect_op_{op_kind::connect, this};
  // epoll: the Asio socket over fd_ and its receive buffer; created on
  // first use.
  std::unique_ptr<detail::backend_state> state_;
};

// How a reactor is set up.
struct reactor_options {
  // uring: submission queue entries; completions get twice as many.
  unsigned ring_entries = 1024;
  // uring: provided receive buffers, each recv_buffer_bytes.
  unsigned recv_buffers = 256;
  // Bytes of each receive buffer: uring's provided buffers, epoll's one buffer
  // per stream.
  unsigned recv_buffer_bytes = 64 * 1024;
};

// The node's event loop (see the top of this file), run by one thread
// calling run_once(). Backends: uring and epoll (reactor_base), and the
// simulator's sim_reactor, whose events the simulator runs instead.
class reactor {
 public:
  virtual ~reactor() = default;

  // Creates a reactor of the given backend; the error says what failed,
  // why, and what to do (io_uring refused: which sysctl, seccomp, memlock,
  // and --io=epoll as the way to run anyway).
  static base::result<std::unique_ptr<reactor>> create(backend b, const reactor_options& opts);

  // Which backend this is.
  virtual backend kind() const = 0;
  // One line for start-up logs: the backend and how it was set up.
  virtual std::string describe() const = 0;

  // One loop iteration: hand everything queued since the last iteration
  // to the kernel and wait up to max_wait for at least one completion;
  // run the callbacks of every completion available.
  virtual void run_once(std::chrono::microseconds max_wait) = 0;

  // The clocks the node reads, in microseconds: CLOCK_MONOTONIC and the
  // system clock for the real backends, simulated time for the
  // simulator's. The node takes every time from here, never elsewhere.
  virtual std::uint64_t now_us() const;
  // The wall clock, microseconds since the epoch (block timestamps come
  // from it).
  virtual std::uint64_t wall_us() const;

  // Arms `t` to fire once, `after` from now; its callback runs from run_once().
  virtual void arm(timer& t, std::chrono::nanoseconds after) = 0;
  // Cancels an armed timer; its callback does not run.
  virtual void disarm(timer& t) = 0;

  // Starts a durable write; the object must be idle (not busy_).
  virtual void submit(file_write& w) = 0;

  // Starts accepting on a bound, listening socket.
  virtual void listen(listener& l, int fd) = 0;
  // Accepts again on a listener that stopped after an error (no-op while
  // it still accepts).
  virtual void resume_accept(listener& l) = 0;
  // Starts receiving on a connected socket.
  virtual void open(stream& s, int fd) = 0;
  // Connects a new socket to `addr`; on_connected or on_closed follows.
  virtual void connect(stream& s, const sockaddr_in& addr) = 0;
  // Closes the stream; on_closed(0) follows once no operation is pending.
  virtual void close(stream& s) = 0;

  // What the reactor counted since it was created.
  const counters& get_counters() const { return counters_; }

 protected:
  friend class stream;
  // Called by stream::send() when the stream has bytes to send.
  virtual void wants_flush(stream& s) = 0;

  counters counters_;
};

}  // namespace ringchain::io
