// The node's side of snapshots: loading one at start, taking one when the
// core asks, installing one from the leader, and dropping what snapshots
// cover from the block log (node.h has the loop around these).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "node/base/limits.h"
#include "node/runtime/node.h"

namespace ringchain::runtime {

namespace fs = std::filesystem;

void node::set_snapshot_bounds(const node_config& cfg, core::config* cc) {
  // A snapshot's catch-up entries keep at most this many bytes, and the
  // uncommitted tail at most this many: with an interval's worth twice
  // over (the log grows while a snapshot is written), the in-memory bound.
  constexpr std::uint64_t catchup_bytes = 8 * limits::mib;
  constexpr std::uint64_t uncommitted_bytes = 64 * limits::mib;
  cc->snapshot_interval_entries = cfg.snapshot_interval_blocks;
  cc->snapshot_interval_bytes = std::uint64_t{cfg.snapshot_interval_mib} * limits::mib;
  cc->snapshot_catchup_entries = cfg.snapshot_catchup_blocks;
  cc->snapshot_catchup_bytes = catchup_bytes;
  cc->uncommitted_bytes = uncommitted_bytes;
  cc->log_entries_in_memory = std::min(
      limits::log_entries_in_memory_max,
      cc->snapshot_catchup_entries + 2 * cc->snapshot_interval_entries + cc->uncommitted_entries);
  cc->log_bytes_in_memory =
      std::min(limits::log_bytes_in_memory_max,
               catchup_bytes + 2 * cc->snapshot_interval_bytes + uncommitted_bytes);
}

// Blocks applied since the last flush are made durable this often; a
// snapshot flushes them first.
const std::chrono::milliseconds node::block_flush_interval{200};

base::status node::start_snapshots() {
  storage::block_store_options bo;
  bo.dir = fs::path(cfg_.data_dir) / "blocks";
  bo.archive = cfg_.archive;
  bo.blocks_kept = cfg_.blocks_kept;
  bo.on_write_error = [this](int result) {
    fatal("block store write failed: " + storage::describe_write_error(result));
  };
  base::result<std::unique_ptr<storage::block_store>> store =
      storage::block_store::open(*reactor_, bo);
  if (!store.ok()) return store.to_status();
  blocks_ = std::move(*store);
  const fs::path dir = fs::path(cfg_.data_dir) / "snap";
  snapshot_hooks hooks;
  hooks.taken = [this](const raftpb::SnapshotMeta& m) { on_snapshot_taken(m); };
  hooks.fatal = [this](const std::string& why) { fatal(why); };
  snapshots_ = std::make_unique<snapshots>(*reactor_, ledger_, dir, cfg_.id, std::move(hooks));
  base::result<raftpb::SnapshotMeta> loaded = snapshots_->load_newest();
  if (!loaded.ok()) return loaded.to_status();
  loaded_snapshot_ = *loaded;
  if (loaded_snapshot_.index() > 0) snapshot_state_ = ledger_.summarize();
  return {};
}

void node::start_transfers() {
  // A transfer waits this long for progress before it resends.
  const std::uint64_t timeout_us = std::uint64_t{2} * cfg_.election_ticks * cfg_.tick_ms * 1000;
  transfer_hooks th;
  th.send = [this](const core::message& m) { transport_->send(m); };
  th.step = [this](const core::message& m) { (void)raft_->step(m); };
  th.fatal = [this](const std::string& why) { fatal(why); };
  sender_ = std::make_unique<snapshot_sender>(
      transfer_context{*reactor_, *raft_, snapshots_->dir(), timeout_us, th, transfer_counts_});
  receiver_ = std::make_unique<snapshot_receiver>(transfer_context{
      *reactor_, *raft_, snapshots_->dir(), timeout_us, std::move(th), transfer_counts_});
}

// The core installs a snapshot from the leader (Ready step 0): the
// receiver holds its state, loaded and checked, and its file is durable.
void node::install(const raftpb::SnapshotMeta& meta) {
  snapshots_->abandon();
  std::unique_ptr<chain::ledger> staged = receiver_->take_staged(meta);
  ledger_ = std::move(*staged);
  index_.reset({meta.index(), meta.term(), ledger_.height(), ledger_.tip()});
  txs_.reset(ledger_.height());
  installed_snapshot_ = meta;
  snapshot_state_ = ledger_.summarize();
  snapshots_->keep(meta.index());
  counters_.add(counter::snapshots_installed);
  spdlog::info("node {}: installed snapshot {} (height {}) from the leader", cfg_.id, meta.index(),
               ledger_.height());
  compact_storage();
}

// A snapshot the core asked for is durable: the core compacts its log, and
// what the oldest snapshot kept covers leaves the disk.
void node::on_snapshot_taken(const raftpb::SnapshotMeta& meta) {
  counters_.add(counter::snapshots_taken);
  // The block store holds every block the snapshot covers before the log
  // that holds them may go.
  blocks_->flush([this, meta](int result) {
    if (result != 0) return;  // on_write_error stopped the node
    core::message m;
    m.set_type(raftpb::MSG_SNAPSHOT_DONE);
    m.set_from(cfg_.id);
    m.set_to(cfg_.id);
    *m.mutable_snapshot() = meta;
    (void)raft_->step(m);
    index_.compact(raft_->log().compacted_index());
    compact_storage();
  });
}

void node::flush_blocks() {
  if (!blocks_->dirty()) return;
  // A failed write stops the node through on_write_error.
  blocks_->flush([](int) {});
}

void node::on_flush_timer() {
  flush_blocks();
  reactor_->arm(flush_timer_, block_flush_interval);
}

void node::compact_storage() {
  log_->drop_segments_through(snapshots_->oldest_kept());
}

}  // namespace ringchain::runtime
