// Framing of the block log's records: |crc32c|length|payload|.
//
// Both header fields are 32-bit little-endian. The checksum (CRC-32C,
// Castagnoli) covers the length field and the payload, so a torn or
// flipped length is caught like a torn payload. A header of zeros marks
// the end of the written log: segments are preallocated with zeros, and a
// real record never has length 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringchain::storage {

// Bytes of a record's header: the checksum and the length, 4 bytes each.
inline constexpr std::size_t record_header_bytes = 8;

// CRC-32C of `data`, with the CPU's CRC32 instruction where it has one.
std::uint32_t crc32c(std::string_view data);
// The same with Boost.CRC's table, for CPUs without the instruction; the
// tests hold the two against each other.
std::uint32_t crc32c_portable(std::string_view data);

// Appends `payload` to `out`, framed.
void append_record(std::string_view payload, std::string* out);

// What decode_record found at the start of a buffer.
enum class record_status {
  ok,
  // The header is all zeros: nothing was written here.
  end,
  // The record extends beyond the bytes available.
  truncated,
  // The length is 0 with a non-zero checksum, or above record_bytes_max.
  bad_length,
  bad_checksum,
};

// A phrase for the status, for recovery's errors ("checksum mismatch").
const char* to_string(record_status s);

// One record decoded from a buffer.
struct decoded_record {
  // Whether a record is there, and if not, why.
  record_status status = record_status::end;
  // Header plus payload, when status is ok.
  std::size_t size_bytes = 0;
  // The payload, pointing into the decoded buffer; set when status is ok.
  std::string_view payload;
};

// Decodes the record at the start of `buf`.
decoded_record decode_record(std::string_view buf);

}  // namespace ringchain::storage
