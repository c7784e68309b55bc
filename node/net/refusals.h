// Why the node refused a connection or a request, counted by reason and
// logged at most once a second per reason (a flood of bad input must not
// become a flood of log lines).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "node/base/counters.h"

namespace ringchain::net {

// Why bad input was refused; one counter and one log rate limit each.
enum class refusal : std::uint8_t {
  // A frame announced above the port's frame bound.
  frame_too_large,
  // Bytes that do not parse as the port's message type.
  malformed,
  // A peer connection whose first frame is not a hello from a known node,
  // or whose TLS certificate names another node.
  bad_hello,
  // A consensus message from another node than the connection's.
  wrong_sender,
  // A consensus message the core refused (input_error) or an entry that is
  // not a well-formed block that chains.
  bad_consensus_input,
  // A block from a leader carrying a transaction whose signature does not
  // verify (followers that check signatures).
  bad_signature,
  // A client request of no known kind.
  unknown_request,
  // An admin request on the client port (admin requests are taken on the
  // admin port only).
  admin_not_allowed,
  // A submit of more than submit_txs_max transactions.
  too_many_txs,
  // A client whose answers pile up past client_send_bytes_max, or past the
  // node-wide bound for queued answers.
  not_reading,
  // A connection accepted while its port, or the node, held its maximum.
  port_full,
  node_full,
  // A partial frame that would pass the node-wide bound for buffered bytes.
  buffers_full,
  // A connection silent before its first frame, stalled in the middle of
  // a frame, or idle, past its timeout.
  first_frame_timeout,
  frame_stall,
  idle,
  // A TLS handshake that failed, or TLS records that do not decrypt.
  tls,
  count_,
};
// The reason's name ("frame_too_large"), as logs, status and metrics show
// it.
const char* to_string(refusal r);

// Counts refusals by reason and logs them, at most one line a second per
// reason, with the number of refusals since the last line.
class refusal_log {
 public:
  // Counts one refusal and logs it unless a line for its reason was
  // written less than a second ago (now_us: the reactor's clock).
  void note(refusal r, const std::string& what, std::uint64_t now_us);
  // Refusals by reason.
  const base::counter_set<refusal>& counts() const { return counts_; }

 private:
  base::counter_set<refusal> counts_;
  std::array<std::uint64_t, base::counter_set<refusal>::size> last_log_us_{};
  std::array<std::uint64_t, base::counter_set<refusal>::size> unlogged_{};
};

}  // namespace ringchain::net
