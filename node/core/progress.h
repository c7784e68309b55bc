// The leader's view of one follower's log (Raft Figure 2's nextIndex and
// matchIndex), with the bounded replication pipeline.
#pragma once

#include <cstdint>
#include <vector>

namespace ringchain::core {

// Appends in flight to one follower, bounded by count and by payload bytes.
// Each in-flight append is remembered by the last index it carries, so an
// acknowledgement frees every append up to the index it acknowledges.
class inflights {
 public:
  // An empty window of at most `count_max` appends and `bytes_max` payload
  // bytes (the config's inflight_appends and inflight_bytes).
  inflights(std::size_t count_max, std::uint64_t bytes_max)
      : count_max_(count_max), bytes_max_(bytes_max) {}

  // Whether the window is at its bound by count or by bytes: the leader sends
  // no more appends to the follower until acknowledgements free some.
  bool full() const { return count() >= count_max_ || bytes_ >= bytes_max_; }
  // Appends in flight.
  std::size_t count() const { return items_.size() - head_; }
  // Payload bytes in flight.
  std::uint64_t bytes() const { return bytes_; }

  // Records an append that carries entries up to `last_index` and `bytes` of
  // payload; asserts that the window is not full and that last indexes rise.
  void add(std::uint64_t last_index, std::uint64_t bytes);
  // Frees every append whose last index is at or below `index`.
  void free_to(std::uint64_t index);
  // Frees the oldest append; used when a heartbeat response shows the
  // follower alive while the window is full, so one lost append cannot
  // stall replication.
  void free_first();
  // Forgets every append in flight, when the follower's state changes
  // (become_probe, become_replicate).
  void reset() {
    items_.clear();
    head_ = 0;
    bytes_ = 0;
  }

 private:
  void pop_front();

  struct item {
    std::uint64_t last_index;
    std::uint64_t bytes;
  };
  // Appends in flight are items_[head_..]: a vector, which allocates
  // nothing until used (a deque allocates at construction, and every node
  // keeps a window per voter: a million of them in a simulated cluster of
  // 1,001 nodes).
  std::vector<item> items_;
  std::size_t head_ = 0;
  std::size_t count_max_;
  std::uint64_t bytes_max_;
  std::uint64_t bytes_ = 0;
};

// How the leader sends to a follower.
enum class progress_state {
  // The leader does not know where the follower's log matches: it sends one
  // append at a time and waits for the answer (or the next heartbeat).
  probe,
  // The follower's log matches up to `match`: the leader streams appends
  // optimistically, bounded by the in-flight window.
  replicate,
  // The follower needs entries the leader compacted: a snapshot at
  // `pending_snapshot` is on its way (Raft §7), and appends wait until the
  // follower acknowledges it or the runtime reports the transfer failed.
  snapshot,
};

// The leader's record of one follower (itself included, whose match is what its
// own storage made durable). The leader rebuilds all of them when it takes
// office and moves them on each answer.
struct progress {
  // A follower in probe state whose next index to send is `next_index`, with an
  // in-flight window of the given bounds.
  progress(std::uint64_t next_index, std::size_t inflight_count_max,
           std::uint64_t inflight_bytes_max)
      : next(next_index), window(inflight_count_max, inflight_bytes_max) {}

  // Highest index known to match the leader's log.
  std::uint64_t match = 0;
  // Next index to send.
  std::uint64_t next = 1;
  // Whether the leader probes or streams; see progress_state.
  progress_state state = progress_state::probe;
  // In probe state: an append was sent and its answer is awaited.
  bool probe_sent = false;
  // Heard from within the current check-quorum period.
  bool recent_active = false;
  // In snapshot state: the index of the snapshot being sent.
  std::uint64_t pending_snapshot = 0;
  // The appends in flight; used in replicate state only.
  inflights window;

  // Whether the leader should hold back further appends to this follower.
  bool paused() const {
    switch (state) {
      case progress_state::probe: return probe_sent;
      case progress_state::replicate: return window.full();
      case progress_state::snapshot: return true;
    }
    return true;
  }

  // A successful acknowledgement up to `index`; returns whether it moved
  // anything forward.
  bool acknowledge(std::uint64_t index);

  // A rejection of the append at `rejected` with the next index to try;
  // returns false when the rejection is stale and was ignored.
  bool back_off(std::uint64_t rejected, std::uint64_t next_to_try);

  // Enters probe state: the window is emptied, and next stays at least
  // match + 1. On taking office and on a rejection while replicating.
  void become_probe();
  // Enters replicate state: the window is emptied and next is match + 1. When
  // an answer shows where the follower's log matches.
  void become_replicate();
  // The follower needs the snapshot at `index`.
  void become_snapshot(std::uint64_t index);
  // Records an append of entries (next-1, last] with `bytes` of payload.
  void sent(std::uint64_t last, std::uint64_t bytes);
};

}  // namespace ringchain::core
