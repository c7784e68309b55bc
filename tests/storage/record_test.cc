#include "node/storage/record.h"

#include <gtest/gtest.h>

#include "node/base/limits.h"

namespace ringchain::storage {
namespace {

TEST(crc32c, matches_the_standard_check_value) {
  // The CRC-32C check value of "123456789" (RFC 3720, appendix B.4).
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c_portable("123456789"), 0xE3069283u);
}

TEST(crc32c, hardware_and_portable_versions_agree) {
  std::string data;
  std::uint64_t x = 88172645463325252ULL;
  for (std::size_t len = 0; len < 3000; len += 7) {
    while (data.size() < len) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      data.push_back(static_cast<char>(x));
    }
    ASSERT_EQ(crc32c(data), crc32c_portable(data)) << "length " << len;
  }
}

TEST(record, round_trips_and_reports_its_size) {
  std::string buf;
  append_record("hello", &buf);
  append_record("world!", &buf);
  decoded_record a = decode_record(buf);
  ASSERT_EQ(a.status, record_status::ok);
  EXPECT_EQ(a.payload, "hello");
  EXPECT_EQ(a.size_bytes, record_header_bytes + 5);
  decoded_record b = decode_record(std::string_view(buf).substr(a.size_bytes));
  ASSERT_EQ(b.status, record_status::ok);
  EXPECT_EQ(b.payload, "world!");
}

TEST(record, zeros_mark_the_end_of_the_log) {
  EXPECT_EQ(decode_record(std::string(64, '\0')).status, record_status::end);
  EXPECT_EQ(decode_record(std::string(3, '\0')).status, record_status::end);
  EXPECT_EQ(decode_record("").status, record_status::end);
}

TEST(record, every_truncation_is_detected) {
  std::string buf;
  append_record("some payload", &buf);
  for (std::size_t n = 1; n < buf.size(); ++n) {
    const record_status s = decode_record(buf.substr(0, n)).status;
    EXPECT_NE(s, record_status::ok) << "cut at " << n;
    EXPECT_NE(s, record_status::end) << "cut at " << n;
  }
}

TEST(record, every_single_bit_flip_is_detected) {
  std::string buf;
  append_record("some payload", &buf);
  for (std::size_t i = 0; i < buf.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = buf;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      EXPECT_NE(decode_record(bad).status, record_status::ok) << "byte " << i << " bit " << bit;
    }
  }
}

TEST(record, length_above_the_limit_is_refused_before_reading_on) {
  std::string buf(record_header_bytes, '\0');
  buf[0] = 1;
  buf[7] = static_cast<char>(0x7f);
  EXPECT_EQ(decode_record(buf).status, record_status::bad_length);
}

}  // namespace
}  // namespace ringchain::storage
