// Block-log benchmark: how long a block takes to become durable, for both
// reactor backends and both persistence policies, next to this machine's
// raw figure for one 64 KiB write + fdatasync measured in the same run.
//
//   block_log_bench [--blocks N] [--dir PATH]
//
// Each block carries 256 transactions of 256 bytes (one 64 KiB entry) and a
// hard state, appended one at a time: the next block is appended when the
// previous one is durable, as a leader does with one block per round.
// Targets: one barrier per block under per_block; at most 2 io_uring_enter
// calls per durable block; p99 within 1.5x of the raw write + fdatasync.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "node/storage/block_log.h"

namespace {

namespace fs = std::filesystem;
using namespace ringchain;
using clock_type = std::chrono::steady_clock;

constexpr std::uint32_t txs_per_block = 256;
constexpr std::size_t tx_bytes = 256;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

// The raw figure: 64 KiB pwrite + fdatasync at growing offsets of a
// preallocated file. With `zeroed` the file is first filled with zeros, so
// the writes are overwrites, as the block log's writes into its zero-filled
// segments are; otherwise it is fallocated (unwritten extents), the common
// way to preallocate.
std::vector<double> raw_write_fdatasync(const fs::path& dir, int rounds, bool zeroed) {
  const fs::path path = dir / "raw";
  const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  const auto size = static_cast<off_t>(rounds + 1) * 65536;
  if (zeroed) {
    const std::string zeros(limits::mib, '\0');
    for (off_t off = 0; off < size; off += static_cast<off_t>(zeros.size())) {
      if (::pwrite(fd, zeros.data(), zeros.size(), off) < 0) std::perror("zero fill");
    }
    ::fsync(fd);
  } else {
    ::posix_fallocate(fd, 0, size);
  }
  const std::string block(65536, 'r');
  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    const auto t = clock_type::now();
    if (::pwrite(fd, block.data(), block.size(), static_cast<off_t>(i) * 65536) != 65536 ||
        ::fdatasync(fd) != 0) {
      std::perror("raw write");
      break;
    }
    ms.push_back(ms_since(t));
  }
  ::close(fd);
  fs::remove(path);
  return ms;
}

struct cell_result {
  bool ran = false;
  std::string skipped;
  double blocks_per_s = 0;
  double fdatasyncs_per_block = 0;
  double enters_per_block = 0;
  double syscalls_per_block = 0;
  double short_writes = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

cell_result run_cell(io::backend b, storage::persistence policy, int blocks, const fs::path& dir,
                     std::set<std::string>* described) {
  cell_result out;
  auto created = io::reactor::create(b, {});
  if (!created.ok()) {
    out.skipped = created.message();
    return out;
  }
  std::unique_ptr<io::reactor> reactor = std::move(*created);
  if (described->insert(reactor->describe()).second) {
    std::printf("reactor: %s\n", reactor->describe().c_str());
  }
  storage::block_log_options opts;
  opts.dir = dir;
  opts.policy = policy;
  opts.segment_bytes = 256 * limits::mib;
  auto opened = storage::block_log::open(*reactor, opts);
  if (!opened.ok()) {
    out.skipped = opened.message();
    return out;
  }
  std::unique_ptr<storage::block_log> log = std::move(*opened);
  raftpb::Entry e;
  e.set_term(1);
  e.set_data(std::string(txs_per_block * tx_bytes, 't'));
  raftpb::HardState hs;
  hs.set_term(1);
  const int warmup = std::max(2, blocks / 10);
  std::vector<double> ms;
  io::counters before{};
  clock_type::time_point start{};
  for (int i = 0; i < warmup + blocks; ++i) {
    if (i == warmup) {
      before = reactor->get_counters();
      start = clock_type::now();
    }
    e.set_index(static_cast<std::uint64_t>(i) + 1);
    hs.set_commit(e.index());
    int result = 1;
    const auto t = clock_type::now();
    log->append(&hs, {&e, 1}, txs_per_block, [&](int r) { result = r; });
    while (result == 1) reactor->run_once(std::chrono::milliseconds(100));
    if (result != 0) {
      out.skipped = log->failure_message();
      return out;
    }
    if (i >= warmup) ms.push_back(ms_since(t));
  }
  const double seconds = ms_since(start) / 1000.0;
  const io::counters& after = reactor->get_counters();
  const auto per_block = [&](std::uint64_t a, std::uint64_t b4) {
    return static_cast<double>(a - b4) / blocks;
  };
  out.ran = true;
  out.blocks_per_s = blocks / seconds;
  out.fdatasyncs_per_block = per_block(after.fdatasyncs, before.fdatasyncs);
  out.enters_per_block = per_block(after.enter_calls, before.enter_calls);
  // uring: every write and barrier rides in the enters. epoll: each pwrite
  // and fdatasync is a syscall of its own, besides the event waits.
  const auto f = static_cast<std::size_t>(io::op_kind::fsync);
  const auto wr = static_cast<std::size_t>(io::op_kind::write);
  out.syscalls_per_block = b == io::backend::uring
                               ? out.enters_per_block
                               : out.enters_per_block +
                                     per_block(after.submitted[wr], before.submitted[wr]) +
                                     per_block(after.submitted[f], before.submitted[f]);
  const auto w = static_cast<std::size_t>(io::op_kind::write);
  out.short_writes =
      b == io::backend::uring ? static_cast<double>(after.completed[w] - before.completed[w]) : 0;
  out.p50_ms = percentile(ms, 50);
  out.p99_ms = percentile(ms, 99);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int blocks = 1000;
  fs::path base = fs::temp_directory_path();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--blocks") == 0) blocks = std::max(10, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--dir") == 0) base = argv[i + 1];
  }
  const fs::path dir = base / ("ringchain-block-log-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);

  std::printf(
      "block log benchmark: %u transactions x %zu bytes per block, blocks appended one "
      "at a time, data in %s\n\n",
      txs_per_block, tx_bytes, dir.c_str());
  const std::vector<double> raw = raw_write_fdatasync(dir, blocks, false);
  const std::vector<double> raw_ow = raw_write_fdatasync(dir, blocks, true);
  const double raw_p99 = percentile(raw, 99);
  const double raw_ow_p99 = percentile(raw_ow, 99);
  std::printf("raw 64 KiB pwrite + fdatasync into fallocated space: p50 %.3f ms, p99 %.3f ms\n",
              percentile(raw, 50), raw_p99);
  std::printf("raw 64 KiB pwrite + fdatasync overwriting zeros:     p50 %.3f ms, p99 %.3f ms\n",
              percentile(raw_ow, 50), raw_ow_p99);
  std::printf("(%zu rounds each; the block log writes into zero-filled segments)\n\n", raw.size());

  std::printf("%-6s %-9s %7s %9s %10s %10s %9s %8s %8s %8s %8s %10s\n", "io", "policy", "blocks",
              "blocks/s", "fsync/blk", "enter/blk", "sys/blk", "short_w", "p50_ms", "p99_ms",
              "p99/raw", "p99/raw_ow");
  std::set<std::string> described;
  for (io::backend b : {io::backend::uring, io::backend::epoll}) {
    for (storage::persistence p : {storage::persistence::per_block, storage::persistence::per_tx}) {
      // per_tx issues 256 barriers per block: fewer blocks keep it short.
      const int n = p == storage::persistence::per_tx ? std::max(10, blocks / 50) : blocks;
      const fs::path cell_dir = dir / (std::string(io::to_string(b)) + "-" + storage::to_string(p));
      const cell_result r = run_cell(b, p, n, cell_dir, &described);
      fs::remove_all(cell_dir);
      if (!r.ran) {
        std::printf("%-6s %-9s skipped: %s\n", io::to_string(b), storage::to_string(p),
                    r.skipped.c_str());
        continue;
      }
      std::printf("%-6s %-9s %7d %9.1f %10.2f %10.2f %9.2f %8.0f %8.3f %8.3f %8.2f %10.2f\n",
                  io::to_string(b), storage::to_string(p), n, r.blocks_per_s,
                  r.fdatasyncs_per_block, r.enters_per_block, r.syscalls_per_block, r.short_writes,
                  r.p50_ms, r.p99_ms, raw_p99 > 0 ? r.p99_ms / raw_p99 : 0,
                  raw_ow_p99 > 0 ? r.p99_ms / raw_ow_p99 : 0);
    }
  }
  std::printf(
      "\nenter/blk: io_uring_submit_and_wait_timeout calls (uring) or event waits "
      "(epoll).\nsys/blk: syscalls on the block path (uring: the enters; epoll: waits + "
      "pwrite + fdatasync).\nshort_w: short writes the uring backend continued.\n");
  fs::remove_all(dir);
  return 0;
}
