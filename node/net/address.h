// "host:port" addresses of ringchain's listeners and peers (IPv4). A host is
// a dotted quad or a name (a container's service name, say), resolved when
// the node dials, so a peer that comes back at a new address is found again.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "node/base/result.h"

namespace ringchain::net {

// One node of the cluster as its peers and clients reach it.
struct peer_address {
  // The node's id (non-zero).
  std::uint64_t id = 0;
  // "host:port" of its peer port.
  std::string peer;
  // "host:port" of its client port (what redirects name).
  std::string client;
};

// Parses "1@host:7001/host:8001,2@..." (id@peer/client, comma separated).
base::result<std::vector<peer_address>> parse_peers(const std::string& text);

// Splits "host:port" and checks both parts (a non-empty host, a port in
// 1..65535, or 0 with `any_port`: a listener's "let the kernel choose"),
// without resolving the host.
bool split_address(const std::string& text, std::string* host, std::uint16_t* port,
                   bool any_port = false);

// Parses a numeric "a.b.c.d:port"; false when malformed or not numeric.
bool parse_address(const std::string& text, sockaddr_in* out);

// Resolves "host:port" to an IPv4 address: numeric at once, a name through
// the system resolver (getaddrinfo; blocks for as long as it takes).
// Port 0 only with `any_port`.
base::result<sockaddr_in> resolve_address(const std::string& text, bool any_port = false);

// Binds and listens on "host:port" (non-blocking, close-on-exec, with
// SO_REUSEADDR; port 0 lets the kernel choose); the listening socket's fd.
base::result<int> listen_on(const std::string& address);

}  // namespace ringchain::net
