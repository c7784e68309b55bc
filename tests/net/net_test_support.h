// Helpers for the transport tests: a reactor of each backend, a loop that
// runs it until a condition holds (bounded), and a raw loopback socket to
// play the other side byte by byte.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "node/io/reactor.h"
#include "node/net/frame.h"

namespace ringchain::net::testing {

// Frames a body as frame.h does: a 4-byte little-endian length, then it.
inline std::string frame_of(std::string_view body, std::uint32_t announced = 0) {
  const std::uint32_t n = announced != 0 ? announced : static_cast<std::uint32_t>(body.size());
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out.append(body);
}

// A free loopback port, found by binding port 0 (the kernel may hand it to
// someone else before it is used again; tests on loopback accept that).
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A blocking loopback socket driven by the test.
class raw_socket {
 public:
  explicit raw_socket(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~raw_socket() { ::close(fd_); }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  bool connected() const { return connected_; }
  bool send(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Whether the other side closed the connection (checked without waiting).
  bool closed() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) != 1) return false;
    char c[4096];
    return ::recv(fd_, c, sizeof c, MSG_DONTWAIT) <= 0;
  }
  // Bytes available now (without waiting).
  std::string take() {
    std::string out;
    char c[4096];
    for (ssize_t n; (n = ::recv(fd_, c, sizeof c, MSG_DONTWAIT)) > 0;) {
      out.append(c, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// A fixture with a reactor of the backend under test.
class reactor_fixture : public ::testing::TestWithParam<io::backend> {
 protected:
  void SetUp() override {
    auto r = io::reactor::create(GetParam(), {});
    if (!r.ok()) GTEST_SKIP() << r.message();
    reactor_ = std::move(*r);
  }
  // Runs the reactor until done() holds, for at most `limit`; done().
  template <class F>
  bool run_until(F done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < end) {
      reactor_->run_once(std::chrono::milliseconds(1));
    }
    return done();
  }
  std::unique_ptr<io::reactor> reactor_;
};

// Names the backend in test names.
inline std::string backend_name(const ::testing::TestParamInfo<io::backend>& p) {
  return io::to_string(p.param);
}

}  // namespace ringchain::net::testing
