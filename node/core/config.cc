#include "node/core/config.h"

#include <algorithm>
#include <set>

namespace ringchain::core {
namespace {

// Checks 1 <= value <= max for a bound that config may only lower.
template <typename T>
base::status check_bound(const char* name, T value, T max) {
  if (value == 0) return base::fail(std::string(name) + " must be at least 1");
  if (value > max) {
    return base::fail(std::string(name) + " is " + std::to_string(value) + ", above its limit " +
                      std::to_string(max));
  }
  return {};
}

}  // namespace

base::status config::validate() const {
  if (id == 0) return base::fail("id must be non-zero");
  if (voters.size() > limits::voters_max) {
    return base::fail("voters lists " + std::to_string(voters.size()) + " nodes, above the limit " +
                      std::to_string(limits::voters_max));
  }
  std::set<std::uint64_t> unique(voters.begin(), voters.end());
  if (unique.size() != voters.size()) return base::fail("voters lists a node twice");
  if (unique.count(0) != 0) return base::fail("voters lists node id 0");
  if (!voters.empty() && unique.count(id) == 0) {
    return base::fail("voters does not list this node's id");
  }
  if (!random) return base::fail("random source is missing");
  for (const base::status& s :
       {check_bound("election_ticks", election_ticks, limits::election_ticks_max),
        check_bound("inflight_appends", inflight_appends, limits::inflight_appends_max),
        check_bound("inflight_bytes", inflight_bytes, limits::inflight_bytes_max),
        check_bound("append_bytes", append_bytes, limits::append_bytes_max),
        check_bound("append_entries", append_entries, limits::append_entries_max),
        check_bound("entry_bytes", entry_bytes, limits::entry_bytes_max),
        check_bound("uncommitted_entries", uncommitted_entries, limits::uncommitted_entries_max),
        check_bound("uncommitted_bytes", uncommitted_bytes, limits::uncommitted_bytes_max),
        check_bound("snapshot_interval_entries", snapshot_interval_entries,
                    limits::snapshot_interval_entries_max),
        check_bound("snapshot_interval_bytes", snapshot_interval_bytes,
                    limits::snapshot_interval_bytes_max),
        check_bound("snapshot_catchup_entries", snapshot_catchup_entries,
                    limits::snapshot_catchup_entries_max),
        check_bound("snapshot_catchup_bytes", snapshot_catchup_bytes,
                    limits::snapshot_catchup_bytes_max),
        check_bound("log_entries_in_memory", log_entries_in_memory,
                    limits::log_entries_in_memory_max),
        check_bound("log_bytes_in_memory", log_bytes_in_memory, limits::log_bytes_in_memory_max)}) {
    if (!s.ok()) return s;
  }
  // Steady state must fit: the catch-up entries, an interval's worth and
  // the uncommitted tail, or the log would stop at its bound for good.
  if (snapshot_catchup_entries + snapshot_interval_entries + uncommitted_entries >
      log_entries_in_memory) {
    return base::fail(
        "log_entries_in_memory must hold snapshot_catchup_entries + "
        "snapshot_interval_entries + uncommitted_entries");
  }
  if (snapshot_catchup_bytes + snapshot_interval_bytes + uncommitted_bytes > log_bytes_in_memory) {
    return base::fail(
        "log_bytes_in_memory must hold snapshot_catchup_bytes + snapshot_interval_bytes + "
        "uncommitted_bytes");
  }
  if (entry_bytes > log_bytes_in_memory) {
    return base::fail("entry_bytes must not exceed log_bytes_in_memory");
  }
  if (heartbeat_ticks == 0 || heartbeat_ticks >= election_ticks) {
    return base::fail("heartbeat_ticks must be at least 1 and less than election_ticks");
  }
  if (entry_bytes > append_bytes) return base::fail("entry_bytes must not exceed append_bytes");
  if (append_bytes > inflight_bytes) {
    return base::fail("append_bytes must not exceed inflight_bytes");
  }
  return {};
}

namespace {
constexpr std::pair<planted_bug, const char*> bug_names[] = {
    {planted_bug::none, "none"},
    {planted_bug::commit_stale_term, "commit_stale_term"},
    {planted_bug::ack_before_durable, "ack_before_durable"},
    {planted_bug::skip_prev_check, "skip_prev_check"},
    {planted_bug::vote_without_log_check, "vote_without_log_check"},
    {planted_bug::vote_twice, "vote_twice"},
    {planted_bug::no_campaign_after_restart, "no_campaign_after_restart"},
    {planted_bug::ack_before_commit, "ack_before_commit"},
    {planted_bug::diverge_state, "diverge_state"},
    {planted_bug::snapshot_drops_nonces, "snapshot_drops_nonces"},
    {planted_bug::conf_changes_at_once, "conf_changes_at_once"},
};
}  // namespace

const char* to_string(planted_bug b) {
  for (const auto& [bug, name] : bug_names) {
    if (bug == b) return name;
  }
  return "?";
}

bool parse_planted_bug(std::string_view text, planted_bug* out) {
  for (const auto& [bug, name] : bug_names) {
    if (text == name) {
      *out = bug;
      return true;
    }
  }
  return false;
}

}  // namespace ringchain::core
