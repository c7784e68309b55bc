#include "node/net/address.h"

#include <arpa/inet.h>

namespace ringchain::net {

bool parse_address(const std::string& text, sockaddr_in* out) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  *out = {};
  out->sin_family = AF_INET;
  if (::inet_pton(AF_INET, text.substr(0, colon).c_str(), &out->sin_addr) != 1) return false;
  try {
    const unsigned long port = std::stoul(text.substr(colon + 1));
    if (port == 0 || port > 65535) return false;
    out->sin_port = htons(static_cast<std::uint16_t>(port));
  } catch (...) {
    return false;
  }
  return true;
}

}  // namespace ringchain::net
