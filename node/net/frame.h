// Frames on ringchain's TCP connections: a 4-byte little-endian length,
// then that many bytes of one protobuf message.
#pragma once

#include <google/protobuf/message_lite.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace ringchain::net {

// Bytes of a frame's header: the body's length, 32-bit little-endian.
inline constexpr std::size_t frame_header_bytes = 4;

// Appends `msg` framed to `out`; false when it is above `frame_bytes_max`.
bool append_frame(const google::protobuf::MessageLite& msg, std::uint64_t frame_bytes_max,
                  std::string* out);

// Reassembles frames from a byte stream. Feed it what arrives; take frames
// until it has none. An oversized length is an error at once, before the
// body arrives, so a peer cannot make it buffer without bound.
class frame_reader {
 public:
  // Frames whose body is above `frame_bytes_max` are refused.
  explicit frame_reader(std::uint64_t frame_bytes_max) : frame_bytes_max_(frame_bytes_max) {}

  // Appends bytes as they arrived.
  void feed(std::string_view bytes) { buffer_.append(bytes); }

  // What next() found: a whole frame, not enough bytes yet, or a length
  // above the bound (final: the stream cannot be trusted further).
  enum class status { frame, need_more, too_large };
  // On `frame`, *body views the frame's bytes until the next call.
  status next(std::string_view* body);

  // The length the last header announced.
  std::uint64_t announced_bytes() const { return announced_; }
  // Bytes fed and not yet handed out as frames (a partial frame).
  std::size_t buffered_bytes() const { return buffer_.size() - consumed_; }

 private:
  std::uint64_t frame_bytes_max_;
  std::string buffer_;
  std::size_t consumed_ = 0;
  std::uint64_t announced_ = 0;
};

}  // namespace ringchain::net
