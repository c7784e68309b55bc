#include "node/runtime/snapshot_transfer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "node/base/assert.h"
#include "node/base/limits.h"
#include "node/runtime/snapshots.h"
#include "node/storage/block_log.h"
#include "node/storage/record.h"

namespace ringchain::runtime {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t chunk_bytes = limits::snapshot_chunk_bytes_max;
constexpr std::uint64_t window_bytes = chunk_bytes * limits::snapshot_chunks_inflight_max;

bool same_snapshot(const raftpb::SnapshotMeta& a, const raftpb::SnapshotMeta& b) {
  return a.index() == b.index() && a.term() == b.term();
}

core::message make(raftpb::MessageType type, std::uint64_t from, std::uint64_t to,
                   std::uint64_t term, const raftpb::SnapshotMeta& meta) {
  core::message m;
  m.set_type(type);
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  *m.mutable_snapshot() = meta;
  return m;
}

}  // namespace

// ---------------------------------------------------------------- sender --

struct snapshot_sender::transfer {
  std::uint64_t to = 0;
  raftpb::SnapshotMeta meta;
  int fd = -1;
  std::uint64_t size = 0;
  // The next offset to send, and what the follower holds durably.
  std::uint64_t next = 0, acked = 0;
  std::uint64_t progress_us = 0;
  std::uint32_t retries = 0;
  // Until the follower's first answer, one chunk at a time: it may hold a
  // prefix already, and says so.
  bool probing = true;
  bool done = false;
  ~transfer() {
    if (fd >= 0) ::close(fd);
  }
};

snapshot_sender::snapshot_sender(transfer_context ctx) : ctx_(std::move(ctx)) {}

snapshot_sender::~snapshot_sender() = default;

void snapshot_sender::start(const core::message& m) {
  std::unique_ptr<transfer>& t = transfers_[m.to()];
  if (t && same_snapshot(t->meta, m.snapshot())) {
    t->next = t->acked;
    t->done = false;
  } else {
    RC_ASSERT(transfers_.size() <= limits::snapshot_transfers_max);
    auto fresh = std::make_unique<transfer>();
    fresh->to = m.to();
    fresh->meta = m.snapshot();
    const fs::path path = storage::snapshot_path(ctx_.dir, m.snapshot().index());
    fresh->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fresh->fd < 0 || ::fstat(fresh->fd, &st) != 0) {
      spdlog::warn("node {}: cannot send snapshot {} to node {}: {}", ctx_.raft.id(), path.string(),
                   m.to(), std::strerror(errno));
      transfers_.erase(m.to());
      give_up(m.to());
      return;
    }
    fresh->size = static_cast<std::uint64_t>(st.st_size);
    t = std::move(fresh);
  }
  t->probing = true;
  t->retries = 0;
  t->progress_us = ctx_.reactor.now_us();
  pump(*t);
}

void snapshot_sender::pump(transfer& t) {
  const std::uint64_t window = t.probing ? chunk_bytes : window_bytes;
  while (t.next < t.size && t.next - t.acked < window) {
    if (!send_chunk(t)) return;
  }
}

bool snapshot_sender::send_chunk(transfer& t) {
  core::message m =
      make(raftpb::MSG_SNAPSHOT_CHUNK, ctx_.raft.id(), t.to, ctx_.raft.get_status().term, t.meta);
  raftpb::SnapshotChunk* c = m.mutable_chunk();
  std::string data(std::min(chunk_bytes, t.size - t.next), '\0');
  std::size_t got = 0;
  while (got < data.size()) {
    const ssize_t n =
        ::pread(t.fd, data.data() + got, data.size() - got, static_cast<off_t>(t.next + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      spdlog::warn("node {}: reading snapshot {} failed at offset {}", ctx_.raft.id(),
                   t.meta.index(), t.next + got);
      t.next = t.size;  // stop; the timeout gives up
      return false;
    }
    got += static_cast<std::size_t>(n);
  }
  c->set_offset(t.next);
  c->set_size(t.size);
  c->set_crc(storage::crc32c(data));
  c->set_data(std::move(data));
  t.next += c->data().size();
  ++ctx_.counts.chunks_sent;
  ctx_.hooks.send(m);
  return true;
}

void snapshot_sender::on_ack(const core::message& m) {
  auto it = transfers_.find(m.from());
  if (it == transfers_.end() || !same_snapshot(it->second->meta, m.snapshot())) return;
  transfer& t = *it->second;
  const std::uint64_t offset = m.chunk().offset();
  if (offset > t.size) return;
  if (m.reject()) {
    // The follower expects `offset`: go back there (or to its start).
    t.next = offset;
    t.acked = std::min(t.acked, offset);
  } else if (offset > t.acked) {
    t.acked = offset;
    t.next = std::max(t.next, offset);
    t.retries = 0;
    t.progress_us = ctx_.reactor.now_us();
  }
  t.probing = false;
  if (t.acked == t.size && !t.done) {
    t.done = true;
    t.progress_us = ctx_.reactor.now_us();
  }
  pump(t);
}

void snapshot_sender::tick() {
  if (ctx_.raft.get_status().role != core::role::leader) {
    transfers_.clear();
    return;
  }
  const std::uint64_t now = ctx_.reactor.now_us();
  std::vector<std::uint64_t> failed;
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    transfer& t = *it->second;
    const core::progress* pr = ctx_.raft.progress_of(t.to);
    const bool waited_for = pr != nullptr && pr->state == core::progress_state::snapshot &&
                            pr->pending_snapshot == t.meta.index();
    if (!waited_for) {
      it = transfers_.erase(it);  // the follower answered, or the core moved on
      continue;
    }
    if (now - t.progress_us >= ctx_.timeout_us) {
      if (t.done || ++t.retries > limits::snapshot_transfer_retries_max) {
        failed.push_back(t.to);
        it = transfers_.erase(it);
        continue;
      }
      t.next = t.acked;
      t.probing = true;
      t.progress_us = now;
      pump(t);
    }
    ++it;
  }
  for (std::uint64_t to : failed) give_up(to);
}

void snapshot_sender::give_up(std::uint64_t to) {
  ++ctx_.counts.transfers_failed;
  core::message m;
  m.set_type(raftpb::MSG_SNAPSHOT_STATUS);
  m.set_from(ctx_.raft.id());
  m.set_to(ctx_.raft.id());
  m.set_peer(to);
  m.set_reject(true);
  ctx_.hooks.step(m);
}

// -------------------------------------------------------------- receiver --

struct snapshot_receiver::incoming {
  std::uint64_t from = 0, term = 0;
  raftpb::SnapshotMeta meta;
  std::uint64_t size = 0;
  std::unique_ptr<storage::durable_file> file;
  std::unique_ptr<chain::ledger> staged = std::make_unique<chain::ledger>();
  storage::snapshot_decoder decoder{
      [l = staged.get()](const chainpb::StatePart& p) { return l->import_part(p); }};
  // The next offset expected, and the bytes durable and loaded.
  std::uint64_t expected = 0, durable = 0;
  std::uint64_t last_us = 0;
  // The whole file is durable; then, stepped into the core.
  bool whole = false, stepped = false;
};

snapshot_receiver::snapshot_receiver(transfer_context ctx) : ctx_(std::move(ctx)) {}

snapshot_receiver::~snapshot_receiver() = default;

void snapshot_receiver::ack(const core::message& about, std::uint64_t offset, bool reject) {
  core::message a = make(raftpb::MSG_SNAPSHOT_ACK, ctx_.raft.id(), about.from(),
                         ctx_.raft.get_status().term, about.snapshot());
  a.mutable_chunk()->set_offset(offset);
  a.set_reject(reject);
  ctx_.hooks.send(a);
}

void snapshot_receiver::on_chunk(const core::message& m) {
  const raftpb::SnapshotChunk& c = m.chunk();
  const raftpb::SnapshotMeta& meta = m.snapshot();
  if (c.data().size() > chunk_bytes || c.offset() + c.data().size() > c.size() ||
      storage::crc32c(c.data()) != c.crc()) {
    ++ctx_.counts.chunks_refused;
    return;
  }
  if (meta.index() <= ctx_.raft.log().committed()) {
    // This node holds the state already: its core answers from its log,
    // which moves the leader on. Once per transfer (its first chunk).
    if (c.offset() == 0) {
      core::message s = make(raftpb::MSG_SNAPSHOT, m.from(), ctx_.raft.id(), m.term(), meta);
      ctx_.hooks.step(s);
    }
    return;
  }
  const bool same = in_ && in_->from == m.from() && same_snapshot(in_->meta, meta);
  if (!same) {
    if (in_ && meta.index() < in_->meta.index()) return;  // an older one
    if (in_) abandon("a newer snapshot arrives");
    if (c.offset() != 0) {
      ack(m, 0, true);  // start from the beginning
      return;
    }
    if (!begin(m)) return;
  }
  incoming& in = *in_;
  in.last_us = ctx_.reactor.now_us();
  if (c.offset() < in.expected || in.whole) {
    ack(m, in.durable, false);  // a duplicate
    return;
  }
  if (c.offset() > in.expected || in.expected - in.durable >= window_bytes) {
    ++ctx_.counts.chunks_refused;
    ack(m, in.expected, true);
    return;
  }
  ++ctx_.counts.chunks_received;
  in.expected += c.data().size();
  in.file->write(c.offset(), c.data(),
                 [this, g = generation_, data = c.data()](int result) mutable {
                   on_written(g, std::move(data), result);
                 });
}

bool snapshot_receiver::begin(const core::message& m) {
  auto file = storage::durable_file::create(ctx_.reactor,
                                            storage::snapshot_path(ctx_.dir, m.snapshot().index()));
  if (!file.ok()) {
    ctx_.hooks.fatal("receiving a snapshot: " + file.message());
    return false;
  }
  ++generation_;
  in_ = std::make_unique<incoming>();
  in_->from = m.from();
  in_->term = m.term();
  in_->meta = m.snapshot();
  in_->size = m.chunk().size();
  in_->file = std::move(*file);
  spdlog::info("node {}: receiving snapshot {} ({} bytes) from node {}", ctx_.raft.id(),
               m.snapshot().index(), in_->size, m.from());
  return true;
}

// A chunk is durable: load it, acknowledge it, and finish the snapshot
// once it is whole.
void snapshot_receiver::on_written(std::uint64_t generation, std::string data, int result) {
  if (result != 0) {
    ctx_.hooks.fatal("snapshot write failed: " + storage::describe_write_error(result));
    return;
  }
  if (!in_ || generation != generation_) return;
  incoming& in = *in_;
  if (base::status s = in.decoder.feed(data); !s.ok()) {
    abandon("snapshot " + std::to_string(in.meta.index()) + " from node " +
            std::to_string(in.from) + " is damaged " + s.message());
    return;
  }
  in.durable += data.size();
  core::message about = make(raftpb::MSG_SNAPSHOT_CHUNK, in.from, ctx_.raft.id(), in.term, in.meta);
  ack(about, in.durable, false);
  if (in.durable == in.size) complete();
}

void snapshot_receiver::complete() {
  incoming& in = *in_;
  base::status s;
  if (!in.decoder.complete()) {
    s = base::fail(in.decoder.incomplete_reason());
  } else if (!same_snapshot(in.decoder.header()->meta(), in.meta)) {
    s = base::fail("its header names another snapshot");
  } else {
    s = in.staged->finish_import(header_summary(*in.decoder.header()));
  }
  if (!s.ok()) {
    abandon("snapshot " + std::to_string(in.meta.index()) + " refused: " + s.message());
    return;
  }
  in.whole = true;
  in.file->sync_dir([this, g = generation_](int result) {
    if (result != 0) {
      ctx_.hooks.fatal("snapshot directory sync failed: " + storage::describe_write_error(result));
      return;
    }
    if (!in_ || g != generation_) return;
    ++ctx_.counts.snapshots_received;
    in_->stepped = true;
    const core::message snap =
        make(raftpb::MSG_SNAPSHOT, in_->from, ctx_.raft.id(), in_->term, in_->meta);
    ctx_.hooks.step(snap);
    // The core installs it through the next Ready, unless it holds the
    // state by now (or the leader's term passed): then the file goes.
    if (in_ && ctx_.raft.last_snapshot().index() != in_->meta.index()) abandon("");
  });
}

std::unique_ptr<chain::ledger> snapshot_receiver::take_staged(const raftpb::SnapshotMeta& meta) {
  RC_ASSERT_MSG(in_ && in_->stepped && same_snapshot(in_->meta, meta),
                "the core installs only the snapshot the receiver stepped in");
  std::unique_ptr<chain::ledger> staged = std::move(in_->staged);
  retired_.push_back(std::move(in_->file));
  in_.reset();
  ++generation_;
  return staged;
}

void snapshot_receiver::abandon(const std::string& why) {
  if (!in_) return;
  if (!why.empty()) spdlog::warn("node {}: {}", ctx_.raft.id(), why);
  in_->file->abandon(true);
  retired_.push_back(std::move(in_->file));
  in_.reset();
  ++generation_;
}

void snapshot_receiver::drop_through(std::uint64_t index) {
  if (in_ && !in_->stepped && in_->meta.index() <= index) abandon("");
}

void snapshot_receiver::tick() {
  std::erase_if(retired_, [](const auto& f) { return f->idle(); });
  if (in_ && !in_->stepped && ctx_.reactor.now_us() - in_->last_us >= 10 * ctx_.timeout_us) {
    abandon("snapshot " + std::to_string(in_->meta.index()) + " from node " +
            std::to_string(in_->from) + " stopped arriving");
  }
}

}  // namespace ringchain::runtime
