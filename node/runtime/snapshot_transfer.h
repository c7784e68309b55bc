// Moving a snapshot from the leader to a follower that is behind the
// leader's compacted log (Raft §7, InstallSnapshot), over the peer
// transport: the core's MSG_SNAPSHOT carries only the metadata; these two
// classes move the file in chunks.
//
// The sender reads the snapshot file a chunk at a time
// (limits::snapshot_chunk_bytes_max) and keeps at most
// limits::snapshot_chunks_inflight_max chunks ahead of what the follower
// holds durably. Each chunk carries its CRC-32C; the file carries its own
// records' checksums and a whole-file checksum in its footer. The follower
// writes each chunk through the reactor's durable writes, loads it into a
// staged ledger (one chunk per step of its loop), and acknowledges the
// bytes it holds durably. A chunk out of order is answered with the offset
// it expected (go back); silence for a timeout makes the sender resend
// from the last acknowledged offset, and after
// limits::snapshot_transfer_retries_max such timeouts it gives up and tells
// its core (MSG_SNAPSHOT_STATUS), which asks again later. A follower that
// reconnects continues from its last durable chunk; one that restarts
// removes the unfinished file at start and starts over.
//
// Once the whole file is durable and its state hash checks, the follower
// makes its directory entry durable and steps the MSG_SNAPSHOT into its
// core, which installs it through the Ready (the node swaps the staged
// ledger in).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "node/chain/ledger.h"
#include "node/core/raft.h"
#include "node/io/reactor.h"
#include "node/storage/durable_file.h"
#include "node/storage/snapshot_file.h"

namespace ringchain::runtime {

// What the transfers ask of the node.
struct transfer_hooks {
  // Sends a message to a peer.
  std::function<void(const core::message&)> send;
  // Steps a message into this node's core.
  std::function<void(const core::message&)> step;
  // A write failed: the node must stop.
  std::function<void(const std::string&)> fatal;
};

// Counts of what the transfers did, for the node's status.
struct transfer_counts {
  // Chunks this node sent as a leader (resends included).
  std::uint64_t chunks_sent = 0;
  // Chunks this node took as a follower.
  std::uint64_t chunks_received = 0;
  // Chunks refused: bad checksum, out of order, or beyond the window.
  std::uint64_t chunks_refused = 0;
  // Transfers given up after repeated silence.
  std::uint64_t transfers_failed = 0;
  // Snapshots received whole and handed to the core.
  std::uint64_t snapshots_received = 0;
};

// What both sides of a transfer work with.
struct transfer_context {
  // The node's reactor: timers and the files' durable writes.
  io::reactor& reactor;
  // This node's core (read only: its role, term, log and progress).
  const core::raft& raft;
  // Where snapshot files are.
  std::filesystem::path dir;
  // Silence this long: the sender resends from the last acknowledged
  // offset; the receiver gives an incoming snapshot up after ten times it.
  std::uint64_t timeout_us;
  // How the transfer reaches the network, the core and the node.
  transfer_hooks hooks;
  // Where the transfer counts (the node's).
  transfer_counts& counts;
};

// The leader's side: one transfer per follower at most.
class snapshot_sender {
 public:
  // A sender with no transfer under way.
  explicit snapshot_sender(transfer_context ctx);
  // Drops the transfers in progress; the snapshot files stay.
  ~snapshot_sender();
  snapshot_sender(const snapshot_sender&) = delete;
  snapshot_sender& operator=(const snapshot_sender&) = delete;

  // The core's MSG_SNAPSHOT: starts sending the file to m.to(), or resumes
  // a transfer of the same snapshot from what the follower holds.
  void start(const core::message& m);
  // A follower's MSG_SNAPSHOT_ACK.
  void on_ack(const core::message& m);
  // Periodically: resends after silence, gives up after repeated silence,
  // and forgets transfers the core no longer waits for.
  void tick();
  // Transfers in progress.
  std::size_t active() const { return transfers_.size(); }

 private:
  struct transfer;
  void pump(transfer& t);
  bool send_chunk(transfer& t);
  void give_up(std::uint64_t to);

  transfer_context ctx_;
  std::map<std::uint64_t, std::unique_ptr<transfer>> transfers_;
};

// The follower's side: one incoming snapshot at a time (a newer one
// replaces it).
class snapshot_receiver {
 public:
  // A receiver with no incoming snapshot.
  explicit snapshot_receiver(transfer_context ctx);
  // Drops an incoming snapshot in progress.
  ~snapshot_receiver();
  snapshot_receiver(const snapshot_receiver&) = delete;
  snapshot_receiver& operator=(const snapshot_receiver&) = delete;

  // A leader's MSG_SNAPSHOT_CHUNK.
  void on_chunk(const core::message& m);
  // This node's state reached `index` by itself (it takes a snapshot
  // there): an incoming snapshot at or below it is of no use any more.
  void drop_through(std::uint64_t index);
  // Periodically: abandons an incoming snapshot nobody sends any more.
  void tick();
  // The core installs `meta` (Ready::snapshot): the loaded state, whose
  // file is durable. Asserts that this is the snapshot it stepped in.
  std::unique_ptr<chain::ledger> take_staged(const raftpb::SnapshotMeta& meta);

 private:
  struct incoming;
  bool begin(const core::message& m);
  void on_written(std::uint64_t generation, std::string data, int result);
  void complete();
  void abandon(const std::string& why);
  void ack(const core::message& about, std::uint64_t offset, bool reject);

  transfer_context ctx_;
  std::unique_ptr<incoming> in_;
  std::uint64_t generation_ = 0;
  std::vector<std::unique_ptr<storage::durable_file>> retired_;
};

}  // namespace ringchain::runtime
