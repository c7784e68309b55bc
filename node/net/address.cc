#include "node/net/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

namespace ringchain::net {

base::result<std::vector<peer_address>> parse_peers(const std::string& text) {
  std::vector<peer_address> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    const auto at = item.find('@');
    const auto slash = item.find('/');
    if (at == std::string::npos || slash == std::string::npos || slash < at) {
      return base::fail("\"" + item + "\" is not id@peer_host:port/client_host:port");
    }
    peer_address p;
    const char* first = item.data();
    const auto [end, ec] = std::from_chars(first, first + at, p.id);
    if (ec != std::errc() || end != first + at || p.id == 0) {
      return base::fail("\"" + item + "\" does not start with a non-zero node id");
    }
    p.peer = item.substr(at + 1, slash - at - 1);
    p.client = item.substr(slash + 1);
    out.push_back(p);
  }
  if (out.empty()) return base::fail("no nodes listed");
  return out;
}

bool split_address(const std::string& text, std::string* host, std::uint16_t* port, bool any_port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  unsigned value = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end != last || (value == 0 && !any_port) || value > 65535) {
    return false;
  }
  *host = text.substr(0, colon);
  *port = static_cast<std::uint16_t>(value);
  return true;
}

namespace {
bool parse_numeric(const std::string& text, sockaddr_in* out, bool any_port) {
  std::string host;
  std::uint16_t port = 0;
  if (!split_address(text, &host, &port, any_port)) return false;
  *out = {};
  out->sin_family = AF_INET;
  out->sin_port = htons(port);
  return ::inet_pton(AF_INET, host.c_str(), &out->sin_addr) == 1;
}
}  // namespace

bool parse_address(const std::string& text, sockaddr_in* out) {
  return parse_numeric(text, out, false);
}

base::result<sockaddr_in> resolve_address(const std::string& text, bool any_port) {
  sockaddr_in a{};
  if (parse_numeric(text, &a, any_port)) return a;
  std::string host;
  std::uint16_t port = 0;
  if (!split_address(text, &host, &port, any_port)) {
    return base::fail("not host:port: \"" + text + "\"");
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    return base::fail("cannot resolve \"" + host + "\": " + ::gai_strerror(rc));
  }
  std::memcpy(&a, found->ai_addr, sizeof a);
  ::freeaddrinfo(found);
  a.sin_port = htons(port);
  return a;
}

base::result<int> listen_on(const std::string& address) {
  base::result<sockaddr_in> a = resolve_address(address, true);
  if (!a.ok()) return base::fail("cannot listen on " + address + ": " + a.message());
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return base::fail("cannot listen on " + address + ": " + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&*a), sizeof *a) != 0 ||
      ::listen(fd, 128) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return base::fail("cannot listen on " + address + ": " + why);
  }
  return fd;
}

}  // namespace ringchain::net
