// Always-on assertions for programmer errors.
//
// RC_ASSERT stays on in release builds: a broken invariant in consensus code
// must stop the process, not corrupt a chain. Operating errors (bad input
// from a peer, a full disk) are never asserted; they come back as values.
#pragma once

namespace ringchain::detail {
// Prints the failed expression, its file and line and the message to stderr,
// then aborts: called by RC_ASSERT and RC_ASSERT_MSG, never directly.
[[noreturn]] void assert_failed(const char* expr, const char* file, int line,
                                const char* msg) noexcept;
}  // namespace ringchain::detail

#define RC_ASSERT(cond)                                                  \
  do {                                                                   \
    if (!(cond)) [[unlikely]]                                            \
      ::ringchain::detail::assert_failed(#cond, __FILE__, __LINE__, ""); \
  } while (0)

#define RC_ASSERT_MSG(cond, msg)                                          \
  do {                                                                    \
    if (!(cond)) [[unlikely]]                                             \
      ::ringchain::detail::assert_failed(#cond, __FILE__, __LINE__, msg); \
  } while (0)
