// "host:port" addresses (IPv4) of ringchain's listeners.
#pragma once

#include <netinet/in.h>

#include <string>

namespace ringchain::net {

// Parses "host:port"; false when malformed.
bool parse_address(const std::string& text, sockaddr_in* out);

}  // namespace ringchain::net
