// Membership changes driven from outside, as an operator would: add a
// spare node to a running process cluster (a learner first, promoted once
// it has caught up), remove a node, or replace one with a spare. The
// requests go to the leader's admin port; progress is read from statuses.
#pragma once

#include <chrono>
#include <cstdint>

#include "node/base/result.h"
#include "sim/harness/cluster.h"

namespace ringchain::harness {

// How long each step of adding a node took, in milliseconds.
struct add_timings {
  // From the learner's addition in force to its height reaching the
  // leader's height at that moment, and its log within
  // limits::promote_lag_entries_max entries of the leader's.
  double catch_up_ms = 0;
  // From proposing the promotion to the promotion in force.
  double promote_ms = 0;
  // The leader's height when the learner was added.
  std::uint64_t height_at_add = 0;
};

// Starts spare node `spare` (process_cluster_options::spares), adds it as
// a learner through the leader, waits until it has caught up, and
// promotes it. Each step waits at most `timeout`.
base::result<add_timings> add_node(process_cluster& c, std::size_t spare,
                                   std::chrono::milliseconds timeout);

// Removes node i through the leader (node i itself when it leads: it
// steps down once its removal is applied), waits until a remaining node
// shows it removed, and stops its process.
base::status remove_node(process_cluster& c, std::size_t i, std::chrono::milliseconds timeout);

// Replaces node i with spare node `spare`: add_node, then remove_node.
base::result<add_timings> replace_node(process_cluster& c, std::size_t i, std::size_t spare,
                                       std::chrono::milliseconds timeout);

}  // namespace ringchain::harness
