// A node's snapshots (Raft §7) in `<data_dir>/snap`: loading the newest
// valid one at start, taking one when the core asks (Ready's
// snapshot_request), and keeping limits::snapshots_kept of them.
//
// Taking a snapshot never stalls the loop: the ledger is exported in parts
// (copy-on-write per key, so blocks keep being applied meanwhile), a few
// parts per step of a zero-delay timer, and written through the reactor's
// durable writes. Once the footer and the directory entry are durable the
// node hears of it (and tells the core, which compacts its log).
//
// At start, snapshots are tried newest first: a damaged one is refused with
// its file and offset in the error log (and renamed *.damaged, for the
// operator), one that ends early (it was being written when the node
// stopped) is removed, and the next older one is tried.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "node/chain/ledger.h"
#include "node/io/reactor.h"
#include "node/storage/durable_file.h"
#include "node/storage/snapshot_file.h"
#include "proto/raft.pb.h"

namespace ringchain::runtime {

// What the snapshot module tells the node.
struct snapshot_hooks {
  // The snapshot asked for is durable.
  std::function<void(const raftpb::SnapshotMeta&)> taken;
  // A write failed: the node must stop (the message says why).
  std::function<void(const std::string&)> fatal;
};

// The header of a snapshot file, made from the ledger and the metadata.
storagepb::SnapshotHeader make_snapshot_header(const raftpb::SnapshotMeta& meta,
                                               const chain::ledger::summary& s);
// The ledger summary a snapshot header records.
chain::ledger::summary header_summary(const storagepb::SnapshotHeader& h);

// A node's snapshot files: taking one from the ledger's export, loading
// the newest valid one at start, and keeping the two newest.
class snapshots {
 public:
  // Snapshots of `ledger` in `dir` (created when missing), written through
  // `reactor`; `node_id` names the node in log lines.
  snapshots(io::reactor& reactor, chain::ledger& ledger, std::filesystem::path dir,
            std::uint64_t node_id, snapshot_hooks hooks);
  // Ends the ledger's export if a snapshot was being taken.
  ~snapshots();
  snapshots(const snapshots&) = delete;
  snapshots& operator=(const snapshots&) = delete;

  // At start: loads the newest valid snapshot into `ledger` (which applied
  // nothing) and returns its metadata; nothing (index 0) when there is
  // none. The error is for the directory itself.
  base::result<raftpb::SnapshotMeta> load_newest();

  // Starts a snapshot of the ledger as it is now, at `meta` (the core's
  // request). One at a time: the core never asks for another before the
  // first is reported.
  void take(const raftpb::SnapshotMeta& meta);
  // Abandons the snapshot being taken (a snapshot from the leader replaces
  // the state) and removes its file.
  void abandon();
  // Whether a snapshot is being taken.
  bool taking() const { return file_ != nullptr; }

  // A snapshot at `index` is durable and counts (taken here, or installed
  // from the leader): the oldest beyond limits::snapshots_kept are deleted.
  void keep(std::uint64_t index);
  // The oldest snapshot kept (0: none): the block log keeps what follows it.
  std::uint64_t oldest_kept() const { return kept_.empty() ? 0 : kept_.front(); }
  // The newest (0: none).
  std::uint64_t newest_kept() const { return kept_.empty() ? 0 : kept_.back(); }
  // The directory.
  const std::filesystem::path& dir() const { return dir_; }
  // Snapshots taken here since start.
  std::uint64_t taken_count() const { return taken_; }

 private:
  void step();
  void flush(bool last);
  void finish();
  void on_written(int result);
  void drop_idle_files();

  io::reactor& reactor_;
  chain::ledger& ledger_;
  std::filesystem::path dir_;
  std::uint64_t node_id_;
  snapshot_hooks hooks_;
  // The snapshot being taken: its metadata, file, encoder and the bytes
  // not yet handed to the file.
  raftpb::SnapshotMeta meta_;
  std::unique_ptr<storage::durable_file> file_;
  storage::snapshot_encoder encoder_;
  std::string buffer_;
  bool exported_ = false;
  // Bytes handed to the file and not yet durable.
  std::uint64_t unwritten_bytes_ = 0;
  io::timer step_timer_;
  // Abandoned files whose last write is still in flight.
  std::vector<std::unique_ptr<storage::durable_file>> retired_;
  // Indexes of the valid snapshots kept, ascending.
  std::vector<std::uint64_t> kept_;
  std::uint64_t taken_ = 0;
};

}  // namespace ringchain::runtime
