#include "node/storage/record.h"

#include <boost/crc.hpp>
#include <cstring>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "node/base/assert.h"
#include "node/base/limits.h"

namespace ringchain::storage {
namespace {

// CRC-32C (Castagnoli): reflected polynomial 0x1EDC6F41, the checksum used
// by iSCSI, ext4 metadata and most storage engines.
using crc32c_engine = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace

std::uint32_t crc32c_portable(std::string_view data) {
  crc32c_engine engine;
  engine.process_bytes(data.data(), data.size());
  return engine.checksum();
}

#if defined(__x86_64__)
// The SSE4.2 CRC32 instruction computes exactly CRC-32C, 8 bytes at a
// time: about 30 times faster than Boost's byte table, which matters for a
// 64 KiB block on the commit path.
__attribute__((target("sse4.2"))) static std::uint32_t crc32c_sse42(std::uint32_t prev,
                                                                    std::string_view data) {
  std::uint64_t crc = prev ^ 0xFFFFFFFF;
  const char* p = data.data();
  std::size_t n = data.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    crc = _mm_crc32_u64(crc, word);
  }
  auto c = static_cast<std::uint32_t>(crc);
  for (; n > 0; ++p, --n) c = _mm_crc32_u8(c, static_cast<unsigned char>(*p));
  return c ^ 0xFFFFFFFF;
}
#endif

namespace {

// A byte at a time, for extending a checksum on CPUs without the
// instruction (crc32c_portable's Boost engine cannot resume from one).
std::uint32_t crc32c_extend_bytes(std::uint32_t prev, std::string_view data) {
  std::uint32_t crc = prev ^ 0xFFFFFFFF;
  for (const char ch : data) {
    crc ^= static_cast<unsigned char>(ch);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFF;
}

}  // namespace

std::uint32_t crc32c(std::string_view data) {
#if defined(__x86_64__)
  static const bool hardware = __builtin_cpu_supports("sse4.2");
  if (hardware) return crc32c_sse42(0, data);
#endif
  return crc32c_portable(data);
}

std::uint32_t crc32c_extend(std::uint32_t crc, std::string_view data) {
#if defined(__x86_64__)
  static const bool hardware = __builtin_cpu_supports("sse4.2");
  if (hardware) return crc32c_sse42(crc, data);
#endif
  return crc32c_extend_bytes(crc, data);
}

void append_record(std::string_view payload, std::string* out) {
  RC_ASSERT(!payload.empty() && payload.size() <= limits::record_bytes_max - record_header_bytes);
  const std::size_t start = out->size();
  out->resize(start + record_header_bytes);
  put_u32(out->data() + start + 4, static_cast<std::uint32_t>(payload.size()));
  out->append(payload);
  const std::uint32_t crc = crc32c(std::string_view(out->data() + start + 4, 4 + payload.size()));
  put_u32(out->data() + start, crc);
}

const char* to_string(record_status s) {
  switch (s) {
    case record_status::ok: return "ok";
    case record_status::end: return "end of log";
    case record_status::truncated: return "record truncated";
    case record_status::bad_length: return "bad record length";
    case record_status::bad_checksum: return "checksum mismatch";
  }
  return "?";
}

decoded_record decode_record(std::string_view buf) {
  decoded_record r;
  if (buf.size() < record_header_bytes) {
    const bool zeros = buf.find_first_not_of('\0') == std::string_view::npos;
    r.status = zeros ? record_status::end : record_status::truncated;
    return r;
  }
  const std::uint32_t crc = get_u32(buf.data());
  const std::uint32_t length = get_u32(buf.data() + 4);
  if (length == 0) {
    r.status = crc == 0 ? record_status::end : record_status::bad_length;
    return r;
  }
  if (length > limits::record_bytes_max - record_header_bytes) {
    r.status = record_status::bad_length;
    return r;
  }
  if (buf.size() < record_header_bytes + length) {
    r.status = record_status::truncated;
    return r;
  }
  if (crc32c(buf.substr(4, 4 + length)) != crc) {
    r.status = record_status::bad_checksum;
    return r;
  }
  r.status = record_status::ok;
  r.size_bytes = record_header_bytes + length;
  r.payload = buf.substr(record_header_bytes, length);
  return r;
}

}  // namespace ringchain::storage
