// net::frame_reader against a model of the byte stream.
//
// Input: two bytes choose frame_bytes_max (small, so that whole frames fit
// in an input, or frame_size_max itself), one byte the number of chunk
// sizes, then the chunk sizes, then the stream. The stream is fed to the
// reader in chunks of those sizes, in turn; after each chunk the reader is
// drained the way framed_connection does it. The model parses the whole
// stream up front, and the reader must agree with it at every step:
//  - frames come out whole, in order, byte for byte, never before their
//    last byte was fed, and never above frame_bytes_max;
//  - need_more only when the next frame is not complete in what was fed;
//  - too_large as soon as the 4-byte header of an oversized frame was fed
//    (before its body), with announced_bytes() the length it announced;
//    after it nothing more is asked of the reader, as the connection
//    closes.
#include <algorithm>
#include <vector>

#include "node/base/limits.h"
#include "node/net/frame.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using ringchain::net::frame_header_bytes;
using ringchain::net::frame_reader;

struct expected_frame {
  std::size_t start;  // of its header in the stream
  std::size_t end;    // one past its last byte
  std::uint64_t length;
  bool too_large;
};

// The stream's frames as the protocol defines them; the last one is
// oversized or incomplete when the stream ends that way.
std::vector<expected_frame> parse_stream(std::string_view s, std::uint64_t max) {
  std::vector<expected_frame> out;
  std::size_t pos = 0;
  while (s.size() - pos >= frame_header_bytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data() + pos);
    const std::uint64_t len = std::uint64_t{p[0]} | std::uint64_t{p[1]} << 8 |
                              std::uint64_t{p[2]} << 16 | std::uint64_t{p[3]} << 24;
    const bool too_large = len > max;
    out.push_back({pos, pos + frame_header_bytes + len, len, too_large});
    if (too_large || s.size() - pos - frame_header_bytes < len) break;
    pos += frame_header_bytes + len;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ringchain::fuzz::input in(data, size);
  const auto max_choice = static_cast<std::uint64_t>(in.uint(2));
  const std::uint64_t max =
      max_choice == 0xffff ? ringchain::limits::frame_size_max : max_choice % 1024;
  std::vector<std::size_t> chunks;
  const int n_chunks = in.byte() % 32;
  for (int i = 0; i < n_chunks; ++i) chunks.push_back(in.byte());
  if (chunks.empty()) chunks.push_back(0);
  const std::string_view stream = in.rest();

  const std::vector<expected_frame> model = parse_stream(stream, max);
  frame_reader reader(max);
  std::size_t fed = 0;
  std::size_t next = 0;  // the model's next frame
  bool closed = false;
  for (std::size_t c = 0; fed < stream.size() && !closed; ++c) {
    // A chunk size of 0 feeds the rest at once.
    const std::size_t want = chunks[c % chunks.size()];
    const std::size_t n = want == 0 ? stream.size() - fed : std::min(want, stream.size() - fed);
    reader.feed(stream.substr(fed, n));
    fed += n;
    for (;;) {
      std::string_view body;
      const frame_reader::status st = reader.next(&body);
      const bool have_next = next < model.size();
      if (st == frame_reader::status::frame) {
        FUZZ_CHECK(have_next && !model[next].too_large, "a frame the stream does not hold");
        const expected_frame& e = model[next];
        FUZZ_CHECK(e.end <= fed, "a frame before its last byte arrived");
        FUZZ_CHECK(body.size() == e.length && body.size() <= max, "a frame of the wrong size");
        FUZZ_CHECK(body == stream.substr(e.start + frame_header_bytes, e.length),
                   "a frame with the wrong bytes");
        ++next;
        continue;
      }
      if (st == frame_reader::status::too_large) {
        FUZZ_CHECK(have_next && model[next].too_large, "too_large for a frame within the bound");
        FUZZ_CHECK(model[next].start + frame_header_bytes <= fed,
                   "too_large before its header arrived");
        FUZZ_CHECK(reader.announced_bytes() == model[next].length,
                   "announced_bytes is not the announced length");
        // The connection closes: nothing more is read from it.
        closed = true;
        break;
      }
      // need_more: the next frame must not be complete, nor its oversized
      // header complete, in what was fed.
      if (have_next) {
        const expected_frame& e = model[next];
        FUZZ_CHECK(e.too_large ? e.start + frame_header_bytes > fed : e.end > fed,
                   "need_more while a whole frame or an oversized header was fed");
      }
      break;
    }
  }
  if (!closed) {
    // Every complete frame came out; what is left is one incomplete frame
    // at most.
    const bool last_incomplete = !model.empty() && model.back().end > stream.size();
    FUZZ_CHECK(next == model.size() - (last_incomplete ? 1 : 0) || model.empty(),
               "a complete frame was never handed out");
  } else {
    FUZZ_CHECK(next + 1 == model.size(), "too_large was not the last thing the stream holds");
  }
  return 0;
}
