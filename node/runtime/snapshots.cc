#include "node/runtime/snapshots.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>

#include "node/base/assert.h"
#include "node/base/limits.h"
#include "node/storage/block_log.h"

namespace ringchain::runtime {

namespace fs = std::filesystem;

namespace {
// Bytes of records produced per step, and written per durable write; a
// step waits while this many bytes are on their way to disk.
constexpr std::uint64_t step_bytes = 2 * limits::snapshot_part_bytes;
constexpr std::uint64_t write_bytes = 256 * limits::kib;
constexpr std::uint64_t unwritten_bytes_max = 4 * write_bytes;
}  // namespace

storagepb::SnapshotHeader make_snapshot_header(const raftpb::SnapshotMeta& meta,
                                               const chain::ledger::summary& s) {
  storagepb::SnapshotHeader h;
  h.set_version(1);
  *h.mutable_meta() = meta;
  h.set_height(s.height);
  h.set_tip_hash(std::string(chain::as_bytes(s.tip)));
  h.set_tip_timestamp_us(s.tip_timestamp_us);
  h.set_state_hash(std::string(chain::as_bytes(s.state_hash)));
  return h;
}

chain::ledger::summary header_summary(const storagepb::SnapshotHeader& h) {
  chain::ledger::summary s;
  s.height = h.height();
  s.tip_timestamp_us = h.tip_timestamp_us();
  if (h.tip_hash().size() == s.tip.size())
    std::memcpy(s.tip.data(), h.tip_hash().data(), s.tip.size());
  if (h.state_hash().size() == s.state_hash.size()) {
    std::memcpy(s.state_hash.data(), h.state_hash().data(), s.state_hash.size());
  }
  return s;
}

snapshots::snapshots(io::reactor& reactor, chain::ledger& ledger, fs::path dir,
                     std::uint64_t node_id, snapshot_hooks hooks)
    : reactor_(reactor),
      ledger_(ledger),
      dir_(std::move(dir)),
      node_id_(node_id),
      hooks_(std::move(hooks)),
      step_timer_([this] { step(); }) {}

snapshots::~snapshots() {
  if (ledger_.exporting()) ledger_.end_export();
}

// ---------------------------------------------------------------- start --

base::result<raftpb::SnapshotMeta> snapshots::load_newest() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return base::fail("cannot create " + dir_.string() + ": " + ec.message());
  std::vector<std::uint64_t> found = storage::list_snapshots(dir_);
  for (auto it = found.rbegin(); it != found.rend(); ++it) {
    const fs::path path = storage::snapshot_path(dir_, *it);
    chain::ledger loaded;
    auto header = storage::load_snapshot(
        path, [&loaded](const chainpb::StatePart& p) { return loaded.import_part(p); });
    base::status ok = header.to_status();
    if (ok.ok()) {
      ok = loaded.finish_import(header_summary(*header));
      if (!ok.ok()) ok = base::fail("snapshot " + path.string() + ": " + ok.message());
    }
    if (ok.ok() && header->meta().index() == *it) {
      ledger_ = std::move(loaded);
      // It and the ones just older, up to snapshots_kept: the older ones
      // stay as the fallback.
      auto oldest = it;
      for (std::size_t k = 1; k < limits::snapshots_kept && std::next(oldest) != found.rend();
           ++k) {
        ++oldest;
      }
      for (auto o = oldest;; --o) {
        kept_.push_back(*o);
        if (o == it) break;
      }
      spdlog::info("node {}: loaded snapshot {} (index {}, height {})", node_id_, path.string(),
                   header->meta().index(), header->height());
      return header->meta();
    }
    if (ok.message().find("before its footer") != std::string::npos) {
      spdlog::warn("node {}: removing an unfinished snapshot: {}", node_id_, ok.message());
      fs::remove(path, ec);
    } else {
      spdlog::error("node {}: refusing a damaged snapshot: {}; using an older one", node_id_,
                    ok.ok() ? path.string() + " names another index" : ok.message());
      fs::rename(path, path.string() + ".damaged", ec);
    }
  }
  return raftpb::SnapshotMeta{};
}

// ----------------------------------------------------------------- take --

void snapshots::take(const raftpb::SnapshotMeta& meta) {
  RC_ASSERT_MSG(!taking(), "the core asks for one snapshot at a time");
  drop_idle_files();
  auto file = storage::durable_file::create(reactor_, storage::snapshot_path(dir_, meta.index()));
  if (!file.ok()) {
    hooks_.fatal("snapshot: " + file.message());
    return;
  }
  file_ = std::move(*file);
  meta_ = meta;
  exported_ = false;
  encoder_ = {};
  buffer_.clear();
  unwritten_bytes_ = 0;
  encoder_.header(make_snapshot_header(meta, ledger_.begin_export()), &buffer_);
  reactor_.arm(step_timer_, std::chrono::nanoseconds(0));
}

// One step: a few parts of the state, then a write when enough bytes are
// waiting. Steps wait while the disk is behind.
void snapshots::step() {
  if (!taking() || exported_) return;
  const std::size_t start = buffer_.size();
  while (!exported_ && buffer_.size() - start < step_bytes) {
    chainpb::StatePart part;
    exported_ = !ledger_.export_part(limits::snapshot_part_bytes, &part);
    if (part.kv_size() > 0 || part.nonces_size() > 0) encoder_.part(part, &buffer_);
  }
  if (exported_) {
    ledger_.end_export();
    encoder_.footer(&buffer_);
    flush(true);
    return;
  }
  if (buffer_.size() >= write_bytes) flush(false);
  if (unwritten_bytes_ < unwritten_bytes_max) {
    reactor_.arm(step_timer_, std::chrono::nanoseconds(0));
  }
}

void snapshots::flush(bool last) {
  const std::uint64_t bytes = buffer_.size();
  unwritten_bytes_ += bytes;
  file_->write(file_->size(), std::move(buffer_), [this, bytes](int result) {
    unwritten_bytes_ -= bytes;
    on_written(result);
  });
  buffer_.clear();
  if (last) {
    file_->sync_dir([this](int result) {
      if (result != 0) {
        on_written(result);
        return;
      }
      finish();
    });
  }
}

void snapshots::on_written(int result) {
  if (result != 0) {
    hooks_.fatal("snapshot write to " + file_->path().string() +
                 " failed: " + storage::describe_write_error(result));
    return;
  }
  // The disk caught up: produce again.
  if (!exported_ && !step_timer_.armed() && unwritten_bytes_ < unwritten_bytes_max) {
    reactor_.arm(step_timer_, std::chrono::nanoseconds(0));
  }
}

void snapshots::finish() {
  const raftpb::SnapshotMeta meta = meta_;
  retired_.push_back(std::move(file_));
  ++taken_;
  keep(meta.index());
  hooks_.taken(meta);
}

void snapshots::abandon() {
  if (!taking()) return;
  reactor_.disarm(step_timer_);
  if (ledger_.exporting()) ledger_.end_export();
  file_->abandon(true);
  retired_.push_back(std::move(file_));
}

// ----------------------------------------------------------------- keep --

void snapshots::keep(std::uint64_t index) {
  if (!kept_.empty() && kept_.back() >= index) return;
  kept_.push_back(index);
  while (kept_.size() > limits::snapshots_kept) {
    std::error_code ec;
    fs::remove(storage::snapshot_path(dir_, kept_.front()), ec);
    kept_.erase(kept_.begin());
  }
  drop_idle_files();
}

void snapshots::drop_idle_files() {
  std::erase_if(retired_, [](const auto& f) { return f->idle(); });
}

}  // namespace ringchain::runtime
