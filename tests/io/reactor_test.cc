// The reactor, over both backends, on loopback and temporary files.
#include "node/io/reactor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <filesystem>
#include <fstream>

namespace ringchain::io {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class reactor_test : public ::testing::TestWithParam<backend> {
 protected:
  void SetUp() override { r_ = make(reactor_options{}); }

  std::unique_ptr<reactor> make(const reactor_options& opts) {
    auto r = reactor::create(GetParam(), opts);
    if (!r.ok()) {
      EXPECT_FALSE(r.message().empty());
      return nullptr;
    }
    return std::move(*r);
  }

  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Runs the loop until `done` or the bound passes; false on timeout.
  template <typename Pred>
  bool run_until(Pred done, std::chrono::milliseconds bound = 5s) {
    const auto end = std::chrono::steady_clock::now() + bound;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      r_->run_once(10ms);
    }
    return true;
  }

  // Submits `w` and runs the loop until its on_done; returns its result
  // (1 when it never came).
  int write_and_wait(file_write& w) {
    int result = 1;
    w.on_done = [&result](int res) { result = res; };
    r_->submit(w);
    run_until([&] { return result != 1; });
    return result;
  }

  fs::path temp_file(const std::string& name) {
    if (dir_.empty()) {
      dir_ = fs::temp_directory_path() / ("ringchain-io-" + std::to_string(::getpid()) + "-" +
                                          std::to_string(reinterpret_cast<std::uintptr_t>(this)));
      fs::create_directories(dir_);
    }
    return dir_ / name;
  }

  // A listening socket on 127.0.0.1 with a kernel-chosen port.
  static int listen_loopback(sockaddr_in* addr) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    *addr = {};
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(addr), sizeof *addr), 0);
    EXPECT_EQ(::listen(fd, 16), 0);
    socklen_t len = sizeof *addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(addr), &len);
    return fd;
  }

  std::unique_ptr<reactor> r_;
  fs::path dir_;
};

#define REQUIRE_REACTOR()                                                       \
  do {                                                                          \
    if (!r_) {                                                                  \
      GTEST_SKIP() << reactor::create(GetParam(), reactor_options{}).message(); \
    }                                                                           \
  } while (0)

TEST_P(reactor_test, timers_fire_in_order_and_disarmed_ones_do_not) {
  REQUIRE_REACTOR();
  std::vector<int> fired;
  timer a([&] { fired.push_back(1); });
  timer b([&] { fired.push_back(2); });
  timer c([&] { fired.push_back(3); });
  const auto start = std::chrono::steady_clock::now();
  r_->arm(b, 40ms);
  r_->arm(a, 20ms);
  r_->arm(c, 30ms);
  r_->disarm(c);
  ASSERT_TRUE(run_until([&] { return fired.size() == 2; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 40ms);
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
  r_->run_once(50ms);
  EXPECT_EQ(fired.size(), 2u);
}

TEST_P(reactor_test, block_write_is_durable_after_one_barrier) {
  REQUIRE_REACTOR();
  const fs::path path = temp_file("block");
  const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  const std::string data(256 * 256, 'b');
  int result = 1;
  file_write w;
  w.fd = fd;
  w.offset = 4096;
  w.data = data;
  w.on_done = [&](int res) { result = res; };
  r_->submit(w);
  // Waits long enough that no wait times out, so kernel entries count only
  // submissions and completions.
  for (int i = 0; i < 10 && result == 1; ++i) r_->run_once(2s);
  ASSERT_NE(result, 1);
  EXPECT_EQ(result, 0);
  const counters& c = r_->get_counters();
  EXPECT_EQ(c.fdatasyncs, 1u);
  EXPECT_EQ(c.bytes_written, data.size());
  if (GetParam() == backend::uring) {
    // A successful write posts no completion, so a block costs one CQE, the
    // barrier's, and one entry; a short write (it happens on ext4) adds its
    // own completion and a resubmission.
    const auto short_writes = c.completed[static_cast<std::size_t>(op_kind::write)];
    EXPECT_EQ(c.completed[static_cast<std::size_t>(op_kind::fsync)], 1u);
    EXPECT_LE(c.enter_calls, 1u + 2 * short_writes);
  }
  ::close(fd);
  std::ifstream in(path, std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(got.size(), 4096 + data.size());
  EXPECT_EQ(got.substr(4096), data);
}

TEST_P(reactor_test, per_transaction_writes_take_one_barrier_each) {
  REQUIRE_REACTOR();
  const int fd = ::open(temp_file("tx").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  std::string data;
  for (int i = 0; i < 16; ++i) data += std::string(100, static_cast<char>('a' + i));
  file_write w;
  w.fd = fd;
  w.data = data;
  w.chunks = 16;
  const int result = write_and_wait(w);
  ASSERT_NE(result, 1) << "no completion";
  EXPECT_EQ(result, 0);
  EXPECT_EQ(r_->get_counters().fdatasyncs, 16u);
  std::string got(data.size(), '\0');
  ASSERT_EQ(::pread(fd, got.data(), got.size(), 0), static_cast<ssize_t>(got.size()));
  EXPECT_EQ(got, data);
  ::close(fd);
}

TEST_P(reactor_test, injected_barrier_delay_holds_back_durability) {
  REQUIRE_REACTOR();
  const int fd = ::open(temp_file("slow").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  const std::string data(1000, 'x');
  file_write w;
  w.fd = fd;
  w.data = data;
  w.barrier_delay = 30ms;
  const auto start = std::chrono::steady_clock::now();
  const int result = write_and_wait(w);
  ASSERT_NE(result, 1) << "no completion";
  EXPECT_EQ(result, 0);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
  ::close(fd);
}

TEST_P(reactor_test, linked_chains_survive_a_full_submission_queue) {
  // A ring of 4 entries and 16 blocks at once, each a 3-link chain (write,
  // barrier, delay): the submission queue fills again and again. A chain
  // split across two submissions would let its barrier run before its
  // write; the reactor submits early only between chains (and asserts it).
  reactor_options tiny;
  tiny.ring_entries = 4;
  r_ = make(tiny);
  REQUIRE_REACTOR();
  const int fd = ::open(temp_file("chains").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  constexpr int blocks = 16;
  std::vector<std::string> data;
  std::vector<file_write> writes(blocks);
  int done = 0;
  for (int i = 0; i < blocks; ++i) data.push_back(std::string(4096, static_cast<char>('a' + i)));
  for (int i = 0; i < blocks; ++i) {
    file_write& w = writes[static_cast<std::size_t>(i)];
    w.fd = fd;
    w.offset = static_cast<std::uint64_t>(i) * 4096;
    w.data = data[static_cast<std::size_t>(i)];
    w.barrier_delay = 1ms;
    w.on_done = [&done](int res) {
      EXPECT_EQ(res, 0);
      ++done;
    };
    r_->submit(w);
  }
  ASSERT_TRUE(run_until([&] { return done == blocks; }));
  EXPECT_EQ(r_->get_counters().fdatasyncs, static_cast<std::uint64_t>(blocks));
  if (GetParam() == backend::uring) {
    EXPECT_GT(r_->get_counters().early_submits, 0u);
  }
  for (int i = 0; i < blocks; ++i) {
    std::string got(4096, '\0');
    ASSERT_EQ(::pread(fd, got.data(), got.size(), static_cast<off_t>(i) * 4096), 4096);
    EXPECT_EQ(got, data[static_cast<std::size_t>(i)]);
  }
  ::close(fd);
}

TEST_P(reactor_test, successive_writes_complete_in_order) {
  REQUIRE_REACTOR();
  const int fd = ::open(temp_file("order").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  const std::string a(5000, 'a'), b(3000, 'b');
  std::vector<int> done;
  file_write wa, wb;
  wa.fd = wb.fd = fd;
  wa.data = a;
  wb.data = b;
  wb.offset = a.size();
  wa.on_done = [&](int res) {
    EXPECT_EQ(res, 0);
    done.push_back(1);
    r_->submit(wb);  // the next block after the previous is durable
  };
  wb.on_done = [&](int res) {
    EXPECT_EQ(res, 0);
    done.push_back(2);
  };
  r_->submit(wa);
  ASSERT_TRUE(run_until([&] { return done.size() == 2; }));
  EXPECT_EQ(done, (std::vector<int>{1, 2}));
  ::close(fd);
}

TEST_P(reactor_test, write_reused_from_its_own_completion_runs_once_per_submit) {
  REQUIRE_REACTOR();
  // The block log's pattern: on_done submits the next write on the same
  // object. Each submit must give exactly one write, one barrier and one
  // on_done.
  const int fd = ::open(temp_file("reuse").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  const std::string data(3000, 'r');
  int done = 0;
  file_write w;
  w.fd = fd;
  w.data = data;
  w.on_done = [&](int res) {
    EXPECT_EQ(res, 0);
    if (++done < 5) {
      w.offset += data.size();
      r_->submit(w);
    }
  };
  r_->submit(w);
  ASSERT_TRUE(run_until([&] { return done >= 5; }));
  r_->run_once(20ms);
  EXPECT_EQ(done, 5);
  EXPECT_EQ(r_->get_counters().fdatasyncs, 5u);
  EXPECT_EQ(r_->get_counters().bytes_written, 5 * data.size());
  EXPECT_EQ(::lseek(fd, 0, SEEK_END), static_cast<off_t>(5 * data.size()));
  ::close(fd);
}

TEST_P(reactor_test, failed_barrier_is_reported_and_never_durable) {
  REQUIRE_REACTOR();
  // fdatasync on a pipe fails with EINVAL: a real barrier error.
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  const std::string data(100, 'p');
  file_write w;
  w.fd = p[1];
  w.data = data;
  const int result = write_and_wait(w);
  ASSERT_NE(result, 1) << "no completion";
  EXPECT_LT(result, 0);
  ::close(p[0]);
  ::close(p[1]);
}

TEST_P(reactor_test, full_disk_is_reported_as_enospc) {
  REQUIRE_REACTOR();
  const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (fd < 0) GTEST_SKIP() << "/dev/full is not available";
  const std::string data(4096, 'f');
  file_write w;
  w.fd = fd;
  w.data = data;
  const int result = write_and_wait(w);
  ASSERT_NE(result, 1) << "no completion";
  EXPECT_EQ(result, -ENOSPC);
  ::close(fd);
}

TEST_P(reactor_test, short_write_is_continued_and_its_error_reported) {
  REQUIRE_REACTOR();
  // RLIMIT_FSIZE makes the kernel write only up to the limit (a short
  // write); continuing past it fails with EFBIG. The block must never be
  // reported durable.
  const int fd = ::open(temp_file("short").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit lim = old;
  lim.rlim_cur = 10000;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  const std::string data(50000, 's');
  int result = 1;
  file_write w;
  w.fd = fd;
  w.data = data;
  w.on_done = [&](int res) { result = res; };
  r_->submit(w);
  const bool finished = run_until([&] { return result != 1; });
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_TRUE(finished);
  EXPECT_EQ(result, -EFBIG);
  EXPECT_EQ(::lseek(fd, 0, SEEK_END), 10000);
  ::close(fd);
}

// An echo server and a client over loopback: accept, connect, recv, send.
struct echo_pair {
  explicit echo_pair(reactor& loop) : r(loop) {}

  void start(int listen_fd, const sockaddr_in& addr) {
    r.listen(server, listen_fd);
    r.connect(client, addr);
  }

  reactor& r;
  std::unique_ptr<stream> accepted;
  std::string client_got;
  int server_closed = 1;
  int client_closed = 1;
  bool connected = false;
  listener server{[this](int fd) {
                    accepted = std::make_unique<stream>(
                        stream_handler{nullptr,
                                       [this](std::span<const char> b) {
                                         // Echo everything back.
                                         ASSERT_TRUE(accepted->send({b.data(), b.size()}));
                                       },
                                       [this](int err) { server_closed = err; }},
                        64 << 20);
                    r.open(*accepted, fd);
                  },
                  [](int err) { ADD_FAILURE() << "accept failed: " << err; }};
  stream client{
      stream_handler{[this] { connected = true; },
                     [this](std::span<const char> b) { client_got.append(b.data(), b.size()); },
                     [this](int err) { client_closed = err; }},
      64 << 20};
};

TEST_P(reactor_test, stream_echo_survives_partial_transfers) {
  reactor_options small;
  small.recv_buffers = 4;  // few, small provided buffers: recv runs dry and re-arms
  small.recv_buffer_bytes = 4096;
  r_ = make(small);
  REQUIRE_REACTOR();
  sockaddr_in addr{};
  const int lfd = listen_loopback(&addr);
  echo_pair p(*r_);
  p.start(lfd, addr);
  ASSERT_TRUE(run_until([&] { return p.connected; }));
  // 8 MiB in 64 KiB pieces: far more than a socket buffer, so sends are
  // short and receives arrive in many pieces.
  std::string sent;
  for (int i = 0; i < 128; ++i) {
    std::string piece(64 * 1024, static_cast<char>('A' + i % 26));
    ASSERT_TRUE(p.client.send(piece));
    sent += piece;
  }
  ASSERT_TRUE(run_until([&] { return p.client_got.size() == sent.size(); }, 20s));
  EXPECT_EQ(p.client_got, sent);
  r_->close(p.client);
  ASSERT_TRUE(run_until([&] { return p.client_closed != 1 && p.server_closed != 1; }));
  EXPECT_EQ(p.client_closed, 0);
  EXPECT_EQ(p.server_closed, 0) << "the server sees an orderly shutdown";
  ::close(lfd);
}

// SQPOLL (a kernel thread takes submissions): the same writes, barriers
// and streams work, and the set-up says it is on.
TEST_P(reactor_test, sqpoll_ring_writes_durably_and_echoes) {
  if (GetParam() != backend::uring) GTEST_SKIP() << "SQPOLL is an io_uring setting";
  reactor_options opts;
  opts.sqpoll = true;
  auto made = reactor::create(backend::uring, opts);
  if (!made.ok()) GTEST_SKIP() << "no SQPOLL ring here: " << made.message();
  r_ = std::move(*made);
  EXPECT_NE(r_->describe().find("SQPOLL"), std::string::npos) << r_->describe();
  const fs::path path = temp_file("sqpoll");
  const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  const std::string data(64 * 1024, 's');
  file_write w;
  w.fd = fd;
  w.data = data;
  EXPECT_EQ(write_and_wait(w), 0);
  EXPECT_EQ(r_->get_counters().fdatasyncs, 1u);
  ::close(fd);
  EXPECT_EQ(fs::file_size(path), data.size());
  sockaddr_in addr{};
  const int lfd = listen_loopback(&addr);
  echo_pair p(*r_);
  p.start(lfd, addr);
  ASSERT_TRUE(run_until([&] { return p.connected; }));
  const std::string sent(1 << 20, 'e');
  ASSERT_TRUE(p.client.send(sent));
  ASSERT_TRUE(run_until([&] { return p.client_got.size() == sent.size(); }, 20s));
  EXPECT_EQ(p.client_got, sent);
  r_->close(p.client);
  ASSERT_TRUE(run_until([&] { return p.client_closed != 1 && p.server_closed != 1; }));
  ::close(lfd);
}

TEST_P(reactor_test, send_queue_is_bounded) {
  REQUIRE_REACTOR();
  sockaddr_in addr{};
  const int lfd = listen_loopback(&addr);
  int closed = 1;
  stream s(stream_handler{nullptr, nullptr, [&](int err) { closed = err; }}, 1000);
  bool connected = false;
  s.handler_.on_connected = [&] { connected = true; };
  std::vector<int> accepted;  // kept open, so the client sees no EOF
  listener l([&](int fd) { accepted.push_back(fd); }, [](int) {});
  r_->listen(l, lfd);
  r_->connect(s, addr);
  ASSERT_TRUE(run_until([&] { return connected || closed != 1; }));
  EXPECT_TRUE(s.send(std::string(600, 'x')));
  EXPECT_FALSE(s.send(std::string(600, 'y'))) << "over the bound: refused, nothing queued";
  EXPECT_EQ(s.queued_bytes(), 600u);
  r_->close(s);
  ASSERT_TRUE(run_until([&] { return closed != 1; }));
  for (int fd : accepted) ::close(fd);
  ::close(lfd);
}

TEST_P(reactor_test, connect_to_a_closed_port_reports_the_error) {
  REQUIRE_REACTOR();
  sockaddr_in addr{};
  const int lfd = listen_loopback(&addr);
  ::close(lfd);  // nobody listens there now
  int closed = 1;
  stream s(stream_handler{[] { ADD_FAILURE() << "connected to a closed port"; }, nullptr,
                          [&](int err) { closed = err; }},
           1000);
  r_->connect(s, addr);
  ASSERT_TRUE(run_until([&] { return closed != 1; }));
  EXPECT_EQ(closed, -ECONNREFUSED);
}

INSTANTIATE_TEST_SUITE_P(backends, reactor_test, ::testing::Values(backend::uring, backend::epoll),
                         [](const auto& param_info) {
                           return std::string(to_string(param_info.param));
                         });

TEST(reactor_backend, parses_names) {
  backend b;
  EXPECT_TRUE(parse_backend("uring", &b));
  EXPECT_EQ(b, backend::uring);
  EXPECT_TRUE(parse_backend("epoll", &b));
  EXPECT_EQ(b, backend::epoll);
  EXPECT_FALSE(parse_backend("kqueue", &b));
}

}  // namespace
}  // namespace ringchain::io

namespace ringchain::io {
namespace {

// Refuses io_uring_setup with EPERM, as Docker's default seccomp profile
// does, for the calling process only.
void refuse_io_uring_setup() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    std::perror("seccomp");
    std::_Exit(2);
  }
}

TEST(reactor_unavailable, io_uring_refused_by_seccomp_is_explained) {
  EXPECT_EXIT(
      {
        refuse_io_uring_setup();
        auto r = reactor::create(backend::uring, {});
        std::fprintf(stderr, "%s\n", r.message().c_str());
        // The epoll backend still works there.
        auto fallback = reactor::create(backend::epoll, {});
        std::_Exit(!r.ok() && fallback.ok() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "seccomp.*--io=epoll");
}

}  // namespace
}  // namespace ringchain::io
