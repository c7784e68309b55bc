#include "node/net/refusals.h"

#include <spdlog/spdlog.h>

namespace ringchain::net {

const char* to_string(refusal r) {
  switch (r) {
    case refusal::frame_too_large: return "frame_too_large";
    case refusal::malformed: return "malformed";
    case refusal::bad_hello: return "bad_hello";
    case refusal::wrong_sender: return "wrong_sender";
    case refusal::bad_consensus_input: return "bad_consensus_input";
    case refusal::bad_signature: return "bad_signature";
    case refusal::unknown_request: return "unknown_request";
    case refusal::admin_not_allowed: return "admin_not_allowed";
    case refusal::too_many_txs: return "too_many_txs";
    case refusal::not_reading: return "not_reading";
    case refusal::port_full: return "port_full";
    case refusal::node_full: return "node_full";
    case refusal::buffers_full: return "buffers_full";
    case refusal::first_frame_timeout: return "first_frame_timeout";
    case refusal::frame_stall: return "frame_stall";
    case refusal::idle: return "idle";
    case refusal::tls: return "tls";
    case refusal::count_: break;
  }
  return "?";
}

void refusal_log::note(refusal r, const std::string& what, std::uint64_t now_us) {
  constexpr std::uint64_t log_interval_us = 1'000'000;
  const auto i = static_cast<std::size_t>(r);
  counts_.add(r);
  if (last_log_us_[i] != 0 && now_us < last_log_us_[i] + log_interval_us) {
    ++unlogged_[i];
    return;
  }
  if (unlogged_[i] > 0) {
    spdlog::warn("refused ({}): {} (and {} more refused for this reason in the last second)",
                 to_string(r), what, unlogged_[i]);
  } else {
    spdlog::warn("refused ({}): {}", to_string(r), what);
  }
  last_log_us_[i] = now_us;
  unlogged_[i] = 0;
}

}  // namespace ringchain::net
