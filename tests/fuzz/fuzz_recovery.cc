// Block log recovery over arbitrary segment files.
//
// Input: a control byte, a 3-byte little-endian split offset, then the
// bytes of the log. With control bit 0 the bytes are split at the offset
// into two segments (segment-00000001.log and segment-00000002.log),
// otherwise they are one segment. Bit 1 pads each segment with zeros to a
// multiple of 4 KiB, as a preallocated segment ends; bit 2 writes each
// segment sparse, leaving its all-zero 4 KiB pages as holes, as the
// simulator's disk does (recovery reads only data extents). Bit 3 gives
// every record the checksum it needs before the segments are written
// (walking them as recovery does: records back to back, a zero length
// moving to the next 4 KiB boundary), so that the fuzzer, which cannot
// forge a CRC, reaches what lies behind the checksums: records that pass
// them but do not fit together. Segments are at most a few MiB (libFuzzer's
// -max_len bounds the input).
//
// storage::recover_log must return a value: a recovered log, or an error
// that names the segment file and an offset. A recovered log must be one
// the node can start from: its entries consecutive from index 1, and a core
// restored from it as node.cc does (node 1 of nodes 1..3; a vote for
// another node is refused by the node before that) must not assert.
// Recovery zeroes a torn final write on disk, so recovering a second time
// must find no damage and the same entries, hard state and last write; a
// refused log is left as it was, so a second recovery refuses it the same
// way.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "node/core/raft.h"
#include "node/storage/record.h"
#include "node/storage/recovery.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;
using namespace ringchain;

constexpr std::size_t page = 4096;

// A directory of its own for the whole run, in memory when /dev/shm exists;
// removed at exit when libFuzzer exits through exit() (it does not always:
// each input's files are removed after it, so at most an empty directory
// stays behind).
const fs::path& work_dir() {
  static const fs::path dir = [] {
    const fs::path base =
        fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string templ = (base / "ringchain-fuzz-recovery-XXXXXX").string();
    FUZZ_CHECK(::mkdtemp(templ.data()) != nullptr, "cannot make a temporary directory");
    std::atexit([] { fs::remove_all(work_dir()); });
    return fs::path(templ);
  }();
  return dir;
}

void write_segment(const fs::path& p, std::string_view bytes, bool pad, bool sparse) {
  std::size_t size = bytes.size();
  if (pad) size = (size + page - 1) / page * page;
  const int fd = ::open(p.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  FUZZ_CHECK(fd >= 0, "cannot create a segment");
  FUZZ_CHECK(::ftruncate(fd, static_cast<off_t>(size)) == 0, "cannot size a segment");
  for (std::size_t off = 0; off < bytes.size(); off += page) {
    const std::string_view part = bytes.substr(off, page);
    if (sparse && part.find_first_not_of('\0') == std::string_view::npos) continue;
    FUZZ_CHECK(::pwrite(fd, part.data(), part.size(), static_cast<off_t>(off)) ==
                   static_cast<ssize_t>(part.size()),
               "cannot write a segment");
  }
  ::close(fd);
}

// Rewrites the checksum of every record found walking `s` as recovery does.
std::string with_checksums(std::string_view log) {
  std::string s(log);
  std::size_t off = 0;
  while (off + storage::record_header_bytes <= s.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data() + off);
    const std::uint32_t length = p[4] | p[5] << 8 | p[6] << 16 | std::uint32_t{p[7]} << 24;
    if (length == 0 || length > s.size() - off - storage::record_header_bytes) {
      off = (off / page + 1) * page;
      continue;
    }
    const std::uint32_t crc = storage::crc32c(std::string_view(s).substr(off + 4, 4 + length));
    for (int i = 0; i < 4; ++i) s[off + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
    off += storage::record_header_bytes + length;
  }
  return s;
}

std::string entries_of(const storage::recovered_log& r) {
  std::string out;
  for (const auto& e : r.entries) out += e.SerializeAsString() + '|';
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  const std::uint8_t control = in.byte();
  const auto split = static_cast<std::size_t>(in.uint(3));
  const std::string_view log = in.rest();
  const bool two = control & 1;
  const bool pad = control & 2;
  const bool sparse = control & 4;
  const bool fix = control & 8;

  const fs::path& dir = work_dir();
  for (const auto& e : fs::directory_iterator(dir)) fs::remove_all(e.path());
  const std::string_view first = two ? log.substr(0, split) : log;
  const std::string_view second = two ? log.substr(first.size()) : std::string_view();
  write_segment(storage::segment_path(dir, 1), fix ? with_checksums(first) : std::string(first),
                pad, sparse);
  if (two) {
    write_segment(storage::segment_path(dir, 2), fix ? with_checksums(second) : std::string(second),
                  pad, sparse);
  }

  const base::result<storage::recovered_log> r1 = storage::recover_log(dir);
  const base::result<storage::recovered_log> r2 = storage::recover_log(dir);
  for (const auto& e : fs::directory_iterator(dir)) fs::remove_all(e.path());
  if (!r1.ok()) {
    FUZZ_CHECK(r1.message().find(dir.string() + "/segment-0000000") != std::string::npos &&
                   r1.message().find("offset") != std::string::npos,
               "a refusal that names no segment file and offset");
    FUZZ_CHECK(!r2.ok() && r2.message() == r1.message(),
               "a refused log was changed, or is refused differently the second time");
    return 0;
  }
  const storage::recovered_log& a = *r1;
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    FUZZ_CHECK(a.entries[i].index() == i + 1, "recovered entries are not consecutive from 1");
  }
  FUZZ_CHECK(a.torn_bytes == 0 || !a.torn_file.empty(), "a torn write without its file");
  if (a.hard_state.vote() <= 3) {
    core::config cfg;
    cfg.id = 1;
    cfg.voters = {1, 2, 3};
    cfg.random = [](std::uint64_t) { return 0; };
    core::raft raft(cfg);
    raft.restore(a.hard_state, a.entries, 0);
  }
  FUZZ_CHECK(r2.ok(), "a log recovered once is refused the second time");
  const storage::recovered_log& b = *r2;
  FUZZ_CHECK(b.torn_bytes == 0, "the torn tail was not zeroed");
  FUZZ_CHECK(entries_of(a) == entries_of(b), "the second recovery found other entries");
  FUZZ_CHECK(a.hard_state.SerializeAsString() == b.hard_state.SerializeAsString(),
             "the second recovery found another hard state");
  FUZZ_CHECK(a.last_write_seq == b.last_write_seq, "the second recovery found another last write");
  if (a.torn_bytes == 0) {
    FUZZ_CHECK(a.segment == b.segment && a.write_offset_bytes == b.write_offset_bytes,
               "a clean log recovered to another write position");
  }
  return 0;
}
