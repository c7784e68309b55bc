// What both reactor backends share: the file-write partitioning into
// parts and barriers, the two-buffer send queue of streams, and the close
// sequence. Private to node/io.
#pragma once

#include <string>
#include <vector>

#include "node/io/reactor.h"

namespace ringchain::io {

// What the uring and epoll backends share (see the top of this file); each
// derives from it and implements its hooks.
class reactor_base : public reactor {
 protected:
  // Begins a file write: the first part ends at the first chunk boundary.
  void start_write(file_write& w);
  // The current part is durable. Returns true when another part follows
  // (the caller submits it); otherwise finishes the write with on_done(0)
  // and returns false, after which the caller must not touch `w`: on_done
  // may already have started a new write with it.
  [[nodiscard]] bool finish_part(file_write& w);
  // The write or a barrier failed: finishes with on_done(err).
  void fail_write(file_write& w, int err);

  // Called by stream::send(); remembers the stream for the next flush.
  void wants_flush(stream& s) override;
  // Starts a send of everything queued, for each stream that has bytes and
  // no send in flight. Runs once per iteration, before the kernel trip.
  void flush_sends();
  // Backend hook: send s.in_flight_ from s.sent_ on.
  virtual void start_send(stream& s) = 0;
  // Accounts `n` bytes sent; queues the rest (a short send) or the next
  // batch for the next iteration.
  void sent(stream& s, std::size_t n);

  // Backend hook: no operation of the stream is pending.
  virtual bool stream_idle(const stream& s) const = 0;
  // Backend hook: the stream is about to have its fd closed.
  virtual void detach(stream&) {}
  // Closes the fds of closing streams whose operations are all done, and
  // calls their on_closed. Runs at the end of each iteration.
  void finish_closes();
  // Reports a stream that never got a socket (socket() failed) as closed.
  void defer_close(stream& s, int err);

  void attach(stream& s, int fd);
  // Creates the socket of a connecting stream and attaches it; false (and
  // on_closed to follow) when no socket could be made.
  bool begin_connect(stream& s, const sockaddr_in& addr);
  static int new_socket();
  static void set_nodelay(int fd);

  std::vector<stream*> flush_;
  std::vector<stream*> closing_;
};

// A reactor on one io_uring; the error says why io_uring is unavailable and
// names --io=epoll as the way to run anyway.
base::result<std::unique_ptr<reactor>> make_uring_reactor(const reactor_options& opts);
// A reactor on Boost.Asio's epoll reactor, with pwrite + fdatasync for file
// writes.
base::result<std::unique_ptr<reactor>> make_epoll_reactor(const reactor_options& opts);

}  // namespace ringchain::io
