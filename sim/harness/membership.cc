#include "sim/harness/membership.h"

#include <algorithm>
#include <thread>

#include "node/base/limits.h"

namespace ringchain::harness {

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

bool lists(const google::protobuf::RepeatedField<std::uint64_t>& ids, std::uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Sends a membership change to the leader's admin port, again while a
// change is still being applied or the leader changes, until `timeout`.
base::status propose(process_cluster& c, const raftpb::ConfChange& cc,
                     std::chrono::milliseconds timeout) {
  const auto end = clock_type::now() + timeout;
  std::string last = "no leader";
  while (clock_type::now() < end) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end - clock_type::now());
    const std::optional<std::size_t> leader = c.wait_for_leader(std::max(left, 1ms));
    if (!leader) break;
    nodepb::AdminRequest a;
    *a.mutable_membership() = cc;
    const base::status s = c.admin(*leader, a);
    if (s.ok()) return s;
    last = s.message();
    if (last.find("does not fit") != std::string::npos) return s;
    std::this_thread::sleep_for(50ms);
  }
  return base::fail("membership change " + raftpb::ConfChange::Type_Name(cc.type()) + " node " +
                    std::to_string(cc.node()) + " not taken within the timeout: " + last);
}

// Waits until a running node other than `except`, the leader, reports a
// status for which `done` holds, with its membership committed.
template <typename Pred>
bool wait_status(process_cluster& c, std::size_t except, std::chrono::milliseconds timeout,
                 Pred done) {
  const auto end = clock_type::now() + timeout;
  while (clock_type::now() < end) {
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (i == except || !c.running(i)) continue;
      if (auto s = c.status(i);
          s && s->role() == "leader" && s->commit_index() >= s->conf_index() && done(*s)) {
        return true;
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

}  // namespace

base::result<add_timings> add_node(process_cluster& c, std::size_t spare,
                                   std::chrono::milliseconds timeout) {
  const std::uint64_t id = spare + 1;
  if (!c.running(spare)) c.start(spare);
  raftpb::ConfChange add;
  add.set_type(raftpb::ConfChange::ADD_LEARNER);
  add.set_node(id);
  add.set_peer_address(c.peer_address(spare));
  add.set_client_address(c.client_address(spare));
  if (base::status s = propose(c, add, timeout); !s.ok()) return base::fail(s.message());
  add_timings t;
  if (!wait_status(c, spare, timeout, [&](const nodepb::NodeStatus& s) {
        if (!lists(s.learners(), id)) return false;
        t.height_at_add = s.height();
        return true;
      })) {
    return base::fail("node " + std::to_string(id) + " was not a learner within the timeout");
  }
  const auto added = clock_type::now();
  // Caught up: its height reached the leader's at the addition, and its log
  // is close enough behind the leader's to be promoted.
  const auto end = added + timeout;
  bool caught_up = false;
  // The leader's view of the learner's log when last seen (for the error).
  std::uint64_t match = 0, leader_last = 0;
  while (!caught_up && clock_type::now() < end) {
    if (const std::string how = c.ended(spare); !how.empty()) {
      return base::fail("learner " + std::to_string(id) + " " + how);
    }
    auto mine = c.status(spare);
    if (mine && mine->height() >= t.height_at_add) {
      caught_up = wait_status(c, spare, 1s, [&](const nodepb::NodeStatus& s) {
        for (const auto& p : s.progress()) {
          if (p.id() != id) continue;
          match = p.match();
          leader_last = p.last_index();
          return match + limits::promote_lag_entries_max >= leader_last;
        }
        return false;
      });
    }
    if (!caught_up) std::this_thread::sleep_for(10ms);
  }
  if (!caught_up) {
    auto mine = c.status(spare);
    return base::fail("learner " + std::to_string(id) + " did not catch up within the timeout (" +
                      (mine ? "its height " + std::to_string(mine->height()) + ", the leader's " +
                                  std::to_string(t.height_at_add) + " at its addition"
                            : std::string("it answers no status query")) +
                      (leader_last == 0
                           ? std::string()
                           : "; the leader had it matching to entry " + std::to_string(match) +
                                 " of " + std::to_string(leader_last)) +
                      ")");
  }
  t.catch_up_ms = ms_since(added);
  const auto promoting = clock_type::now();
  raftpb::ConfChange promote;
  promote.set_type(raftpb::ConfChange::PROMOTE);
  promote.set_node(id);
  if (base::status s = propose(c, promote, timeout); !s.ok()) return base::fail(s.message());
  if (!wait_status(c, spare, timeout,
                   [&](const nodepb::NodeStatus& s) { return lists(s.voters(), id); })) {
    return base::fail("node " + std::to_string(id) + " was not a voter within the timeout");
  }
  t.promote_ms = ms_since(promoting);
  return t;
}

base::status remove_node(process_cluster& c, std::size_t i, std::chrono::milliseconds timeout) {
  const std::uint64_t id = i + 1;
  raftpb::ConfChange remove;
  remove.set_type(raftpb::ConfChange::REMOVE);
  remove.set_node(id);
  if (base::status s = propose(c, remove, timeout); !s.ok()) return s;
  if (!wait_status(c, i, timeout, [&](const nodepb::NodeStatus& s) {
        return !lists(s.voters(), id) && !lists(s.learners(), id);
      })) {
    return base::fail("no leader shows node " + std::to_string(id) + " removed within the timeout");
  }
  c.stop(i);
  return {};
}

base::result<add_timings> replace_node(process_cluster& c, std::size_t i, std::size_t spare,
                                       std::chrono::milliseconds timeout) {
  base::result<add_timings> added = add_node(c, spare, timeout);
  if (!added.ok()) return added;
  if (base::status s = remove_node(c, i, timeout); !s.ok()) return base::fail(s.message());
  return added;
}

}  // namespace ringchain::harness
