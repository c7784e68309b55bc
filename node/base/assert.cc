#include "node/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace ringchain::detail {

void assert_failed(const char* expr, const char* file, int line, const char* msg) noexcept {
  std::fprintf(stderr, "ringchain: assertion failed: %s at %s:%d%s%s\n", expr, file, line,
               msg[0] != '\0' ? ": " : "", msg);
  std::fflush(stderr);
  std::abort();
}

}  // namespace ringchain::detail
