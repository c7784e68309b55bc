#include "node/net/client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "node/base/limits.h"
#include "node/net/address.h"
#include "node/net/frame.h"

namespace ringchain::net {
namespace {

using clock_type = std::chrono::steady_clock;

int remaining_ms(clock_type::time_point end) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock_type::now());
  return static_cast<int>(std::max<long>(0, left.count()));
}

}  // namespace

client::~client() {
  close();
}

void client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

base::status client::connect(const std::string& address, std::chrono::milliseconds timeout) {
  close();
  base::result<sockaddr_in> a = resolve_address(address);
  if (!a.ok()) return a.to_status();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&*a), sizeof *a) != 0 &&
      errno != EINPROGRESS) {
    const std::string err = std::strerror(errno);
    close();
    return base::fail("cannot connect to " + address + ": " + err);
  }
  pollfd p{fd_, POLLOUT, 0};
  int so_error = 0;
  socklen_t len = sizeof so_error;
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
      ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
    close();
    return base::fail("cannot connect to " + address + ": " +
                      (so_error ? std::strerror(so_error) : "timed out"));
  }
  return {};
}

bool client::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 1000) != 1) return false;
      continue;
    }
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<std::uint64_t> client::send(nodepb::ClientRequest req) {
  if (fd_ < 0) return std::nullopt;
  req.set_id(next_id_++);
  std::string bytes;
  append_frame(req, limits::frame_size_max, &bytes);
  if (!send_raw(bytes)) {
    close();
    return std::nullopt;
  }
  return req.id();
}

base::result<nodepb::ClientResponse> client::receive(std::chrono::milliseconds timeout) {
  const auto end = clock_type::now() + timeout;
  while (fd_ >= 0) {
    if (buffer_.size() >= frame_header_bytes) {
      const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data());
      const std::size_t len = p[0] | p[1] << 8 | p[2] << 16 | std::size_t{p[3]} << 24;
      if (len > limits::frame_size_max) {
        close();
        return base::fail("response frame above frame_size_max");
      }
      if (buffer_.size() >= frame_header_bytes + len) {
        nodepb::ClientResponse resp;
        const bool ok =
            resp.ParseFromArray(buffer_.data() + frame_header_bytes, static_cast<int>(len));
        buffer_.erase(0, frame_header_bytes + len);
        if (!ok) {
          close();
          return base::fail("response does not parse");
        }
        return resp;
      }
    }
    pollfd pf{fd_, POLLIN, 0};
    if (::poll(&pf, 1, remaining_ms(end)) != 1) {
      return base::fail("no response within " + std::to_string(timeout.count()) + " ms");
    }
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      close();
      return base::fail("connection closed by the node");
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  return base::fail("not connected");
}

base::result<nodepb::ClientResponse> client::call(nodepb::ClientRequest req,
                                                  std::chrono::milliseconds timeout) {
  const auto id = send(std::move(req));
  if (!id) return base::fail("connection lost while sending");
  const auto end = clock_type::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - clock_type::now());
    auto resp = receive(std::max(left, std::chrono::milliseconds(0)));
    if (!resp.ok()) return resp;
    if (resp->id() == *id) return resp;  // skip late answers to earlier requests
  }
}

std::string client::receive_raw(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return {};
  pollfd pf{fd_, POLLIN, 0};
  if (::poll(&pf, 1, static_cast<int>(timeout.count())) != 1) return {};
  char chunk[65536];
  const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) {
    close();
    return {};
  }
  return std::string(chunk, static_cast<std::size_t>(n));
}

bool client::closed_by_peer(std::chrono::milliseconds timeout) {
  const auto end = clock_type::now() + timeout;
  while (fd_ >= 0) {
    pollfd pf{fd_, POLLIN, 0};
    if (::poll(&pf, 1, remaining_ms(end)) != 1) return false;
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      close();
      return true;
    }
  }
  return true;
}

}  // namespace ringchain::net
