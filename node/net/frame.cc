#include "node/net/frame.h"

namespace ringchain::net {

bool append_frame(const google::protobuf::MessageLite& msg, std::uint64_t frame_bytes_max,
                  std::string* out) {
  const std::size_t size = msg.ByteSizeLong();
  if (size > frame_bytes_max) return false;
  const std::size_t start = out->size();
  out->resize(start + frame_header_bytes + size);
  char* p = out->data() + start;
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  msg.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(p + frame_header_bytes));
  return true;
}

frame_reader::status frame_reader::next(std::string_view* body) {
  // Drop what earlier frames used, once it is worth the move.
  if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  const std::size_t avail = buffer_.size() - consumed_;
  if (avail < frame_header_bytes) return status::need_more;
  const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + consumed_);
  announced_ = std::uint64_t{p[0]} | std::uint64_t{p[1]} << 8 | std::uint64_t{p[2]} << 16 |
               std::uint64_t{p[3]} << 24;
  if (announced_ > frame_bytes_max_) return status::too_large;
  if (avail < frame_header_bytes + announced_) return status::need_more;
  *body = std::string_view(buffer_).substr(consumed_ + frame_header_bytes, announced_);
  consumed_ += frame_header_bytes + announced_;
  return status::frame;
}

}  // namespace ringchain::net
