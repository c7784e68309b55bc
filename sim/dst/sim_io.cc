#include "sim/dst/sim_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "node/base/assert.h"

namespace ringchain::dst {

namespace {

// The state the simulator's reactor keeps in a timer: a re-arm or disarm
// bumps the generation, and a firing of an older one is ignored.
struct timer_state : io::detail::backend_state {
  std::uint64_t generation = 0;
};

std::size_t op(io::op_kind k) {
  return static_cast<std::size_t>(k);
}

}  // namespace

// -------------------------------------------------------------- disk --

const disk_profile& sim_disk::disk_now(double own) const {
  // On a shared disk, the latency measured with as many writers as will
  // be writing: the others in flight and this one.
  const std::vector<disk_profile>& shared = core_.shared_disk;
  if (shared.empty()) return profile_;
  const auto others =
      static_cast<std::size_t>(std::lround(std::max(core_.shared_disk_load - own, 0.0)));
  return shared[std::min<std::size_t>(others, shared.size() - 1)];
}

time_ns sim_disk::duration(const io::file_write& w) {
  const std::uint64_t chunks = std::max<std::uint32_t>(w.chunks, 1);
  const time_ns d = disk_now(0).parts_ns(core_.random, w.data.size(), chunks) +
                    core_.cpu.part_extra_ns(static_cast<std::uint32_t>(chunks));
  return d + static_cast<time_ns>(w.barrier_delay.count()) * chunks;
}

void sim_disk::load(io::file_write& w, time_ns d) {
  // Its share of the shared disk: the part of its time not spent in
  // barrier delays (which are timers, the disk idle).
  const time_ns delays =
      static_cast<time_ns>(w.barrier_delay.count()) * std::max<std::uint32_t>(w.chunks, 1);
  const double share =
      d > delays ? static_cast<double>(d - delays) / static_cast<double>(d) : (d == 0 ? 1 : 0);
  in_flight_.push_back({&w, share});
  core_.shared_disk_load += share;
}

time_ns sim_disk::part_ns(const io::file_write& w, double own) {
  const std::uint32_t parts = std::max<std::uint32_t>(w.chunks, 1);
  return disk_now(own).parts_ns(core_.random, w.data.size() / parts, 1) +
         core_.cpu.part_extra_ns(parts) / parts + static_cast<time_ns>(w.barrier_delay.count());
}

void sim_disk::start_parts(io::file_write& w, time_ns start, time_ns extra) {
  const time_ns d = part_ns(w, 0);
  // The load share of its first part's for the whole write: its parts
  // are alike.
  load(w, d * std::max<std::uint32_t>(w.chunks, 1));
  core_.events.schedule(slot_, start + d, [this, &w, extra] { part_done(w, 1, extra); });
  if (crash_in_next_write_) {
    crash_in_next_write_ = false;
    const std::uint32_t inc = core_.events.incarnation(slot_);
    core_.events.schedule(world_slot, start + core_.random.below(d), [this, inc] {
      if (core_.events.incarnation(slot_) == inc) hooks_.crash();
    });
  }
}

void sim_disk::part_done(io::file_write& w, std::uint32_t done, time_ns extra) {
  if (done < std::max<std::uint32_t>(w.chunks, 1)) {
    const auto it = find_flight(w);
    const time_ns d = part_ns(w, it == in_flight_.end() ? 0 : it->share);
    core_.events.schedule(slot_, core_.cpu.now(slot_) + d,
                          [this, &w, done, extra] { part_done(w, done + 1, extra); });
    return;
  }
  if (extra == 0) {
    complete(w);
    return;
  }
  core_.events.schedule(slot_, core_.cpu.now(slot_) + extra, [this, &w] { complete(w); });
}

void sim_disk::start(io::file_write& w, time_ns start, time_ns d, time_ns extra) {
  load(w, d);
  d += extra;
  core_.events.schedule(slot_, start + d, [this, &w] { complete(w); });
  if (crash_in_next_write_) {
    crash_in_next_write_ = false;
    const std::uint32_t inc = core_.events.incarnation(slot_);
    core_.events.schedule(world_slot, start + core_.random.below(d), [this, inc] {
      if (core_.events.incarnation(slot_) == inc) hooks_.crash();
    });
  }
}

std::vector<sim_disk::flight>::iterator sim_disk::find_flight(const io::file_write& w) {
  return std::find_if(in_flight_.begin(), in_flight_.end(),
                      [&w](const flight& f) { return f.write == &w; });
}

void sim_disk::unload_all() {
  for (const flight& f : in_flight_) core_.shared_disk_load -= f.share;
  in_flight_.clear();
}

void sim_disk::complete(io::file_write& w) {
  if (const auto it = find_flight(w); it != in_flight_.end()) {
    core_.shared_disk_load -= it->share;
    in_flight_.erase(it);
  }
  int result = 0;
  if (full_) {
    result = -ENOSPC;
  } else if (fail_next_barrier_) {
    // The write may have landed in part; the barrier reports the error.
    const std::uint64_t part = core_.random.below(w.data.size());
    if (part > 0) (void)::pwrite(w.fd, w.data.data(), part, static_cast<off_t>(w.offset));
    result = -EIO;
  } else {
    land(w);
  }
  trace_hash& h = core_.hash;
  h.add(0x77);
  h.add(w.offset);
  h.add(w.data.size());
  h.add(static_cast<std::uint64_t>(-result));
  ++counts_.completed[op(io::op_kind::write)];
  w.busy_ = false;
  if (result != 0) fault_fired_ = true;
  w.on_done(result);
  hooks_.written(result);
}

void sim_disk::land(const io::file_write& w) {
  std::uint64_t done = 0;
  while (done < w.data.size()) {
    const ssize_t k = ::pwrite(w.fd, w.data.data() + done, w.data.size() - done,
                               static_cast<off_t>(w.offset + done));
    RC_ASSERT_MSG(k > 0, "the simulator's backing files must be writable");
    done += static_cast<std::uint64_t>(k);
  }
  counts_.bytes_written += done;
  counts_.fdatasyncs += std::max<std::uint32_t>(w.chunks, 1);
  if (mix_.corrupt > 0 && !w.data.empty()) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", w.fd);
    std::error_code ec;
    writes_.push_back({std::filesystem::read_symlink(path, ec).string(), w.offset, w.data.size()});
  }
}

void sim_disk::restart() {
  unload_all();
  fail_next_barrier_ = full_ = fault_fired_ = crash_in_next_write_ = false;
}

bool sim_disk::crash() {
  bool torn = false;
  for (const flight& in : in_flight_) {
    const io::file_write& w = *in.write;
    if (mix_.torn_write <= 0 || w.data.size() < 2 || !core_.random.chance(mix_.torn_write)) {
      continue;
    }
    // Part of the write in flight reaches the platter before the power goes.
    const std::uint64_t part = 1 + core_.random.below(w.data.size() - 1);
    RC_ASSERT(::pwrite(w.fd, w.data.data(), part, static_cast<off_t>(w.offset)) ==
              static_cast<ssize_t>(part));
    torn = true;
  }
  unload_all();
  return torn;
}

// Recovery must refuse the log this leaves, or (a snapshot) the node must
// not use the damaged file.
std::string sim_disk::corrupt(std::string* what) {
  rng& r = core_.random;
  // Files deleted since (segments and snapshots compaction dropped) are
  // not candidates, nor the last write overall, nor the block log's final
  // write, which recovery rightly takes for a torn one (other files, the
  // block store's, may be written after it).
  std::size_t log_final = writes_.size();
  for (std::size_t k = writes_.size(); k-- > 0;) {
    if (std::filesystem::path(writes_[k].path).parent_path().filename() == "log") {
      log_final = k;
      break;
    }
  }
  std::vector<const write_record*> live;
  for (std::size_t k = 0; k + 1 < writes_.size(); ++k) {
    if (k == log_final) continue;
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(writes_[k].path, ec);
    if (!ec && size >= writes_[k].offset + writes_[k].bytes) live.push_back(&writes_[k]);
  }
  if (live.empty()) return {};
  const write_record& w = *live[r.below(live.size())];
  const std::uint64_t at = w.offset + r.below(w.bytes);
  const int fd = ::open(w.path.c_str(), O_RDWR | O_CLOEXEC);
  RC_ASSERT(fd >= 0);
  unsigned char b = 0;
  RC_ASSERT(::pread(fd, &b, 1, static_cast<off_t>(at)) == 1);
  b ^= static_cast<unsigned char>(1u << r.below(8));
  RC_ASSERT(::pwrite(fd, &b, 1, static_cast<off_t>(at)) == 1);
  ::close(fd);
  *what = "byte flipped at " + w.path + " offset " + std::to_string(at);
  return w.path;
}

// ----------------------------------------------------------- reactor --

void sim_reactor::arm(io::timer& t, std::chrono::nanoseconds after) {
  if (!t.state_) t.state_ = std::make_unique<timer_state>();
  auto& st = static_cast<timer_state&>(*t.state_);
  const std::uint64_t gen = ++st.generation;
  t.armed_ = true;
  ++counters_.submitted[op(io::op_kind::timeout)];
  const time_ns at =
      core_.cpu.now(slot_) + static_cast<time_ns>(std::max<std::int64_t>(after.count(), 0));
  core_.events.schedule(slot_, at, [this, &t, &st, gen] {
    if (!t.armed_ || st.generation != gen) return;
    t.armed_ = false;
    ++counters_.completed[op(io::op_kind::timeout)];
    t.on_fire_();
    after_event_();
  });
}

void sim_reactor::disarm(io::timer& t) {
  t.armed_ = false;
  if (t.state_) ++static_cast<timer_state&>(*t.state_).generation;
}

void sim_reactor::submit(io::file_write& w) {
  RC_ASSERT_MSG(!w.busy_, "a file_write is reused before its on_done");
  w.busy_ = true;
  ++counters_.submitted[op(io::op_kind::write)];
  if (blocking_writes_) {
    blocking_.push_back(&w);
    return;
  }
  const time_ns start = core_.cpu.now(slot_);
  const time_ns extra = core_.cpu.write_extra_ns(slot_, w.data.size(), core_.random);
  // With a simulated CPU, a write in parts goes part by part through the
  // loop, as io_uring's reactor hands them to the kernel; without one
  // (sweeps), all at once, as before.
  if (core_.cpu.on() && w.chunks > 1) {
    disk_.start_parts(w, start, extra);
    return;
  }
  disk_.start(w, start, disk_.duration(w), extra);
}

void sim_reactor::run_blocking_writes() {
  for (io::file_write* w : blocking_) {
    // pwrite + fdatasync hold the loop; a barrier delay is a timer, during
    // which the loop runs (epoll_reactor.cc).
    const time_ns d = disk_.duration(*w);
    const time_ns delays =
        static_cast<time_ns>(w->barrier_delay.count()) * std::max<std::uint32_t>(w->chunks, 1);
    // The node costs' write line is waiting (for the loop to reach the
    // write, among others), not the loop's own work: it delays the
    // write's completion without holding the loop.
    const time_ns extra = core_.cpu.write_extra_ns(slot_, w->data.size(), core_.random);
    const time_ns start = core_.cpu.now(slot_);
    core_.cpu.block(slot_, d - delays);
    disk_.start(*w, start, d, extra);
  }
  blocking_.clear();
}

}  // namespace ringchain::dst
