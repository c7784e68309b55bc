// What the node's connections counted, exported by its status and metrics.
#pragma once

#include <cstdint>

#include "node/base/counters.h"

namespace ringchain::net {

// What the node's connections count; one counter_set slot each.
enum class counter : std::uint8_t {
  // Connections accepted on the peer and client ports.
  connections_accepted,
  // Connections closed because what arrived was refused: a frame above its
  // bound, bytes that do not parse, a message of the wrong sender or kind.
  connections_closed_bad_input,
  // Consensus messages not sent: no connection to the peer right now.
  messages_dropped_peer_down,
  // Consensus messages not sent: the peer's send queue is full.
  messages_dropped_peer_slow,
  // Consensus messages dropped by the network emulation (a partition, a
  // loss, or a full delay queue).
  messages_dropped_emulated,
  // Accepts that failed (descriptors or memory exhausted, a connection
  // aborted before it was taken); the port backs off and accepts again.
  accept_errors,
  count_,
};
// The counter's name ("accept_errors"), as status and metrics export it.
const char* to_string(counter c);
using counters = base::counter_set<counter>;

}  // namespace ringchain::net
