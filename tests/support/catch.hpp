#pragma once
// Catch2 v2 (Debian 12's package) and v3 behind one include.
#if __has_include(<catch2/catch_all.hpp>)
#  include <catch2/catch_all.hpp>
#  define NETXX_CATCH3 1
#else
#  include <catch2/catch.hpp>
#endif

#include <cstdio>

namespace netxx_test {
// Set when a test skips itself; the shared main turns a run whose every
// executed assertion passed but which skipped into CTest's skip code (77).
inline bool skipped = false;
}  // namespace netxx_test

// Reports a test as skipped (never as passed, never as failed), with the reason.
#if defined(NETXX_CATCH3)
#  define NETXX_SKIP(msg) do { ::netxx_test::skipped = true; SKIP(msg); } while (0)
#else
#  define NETXX_SKIP(msg)                                        \
    do {                                                         \
      ::netxx_test::skipped = true;                              \
      WARN("SKIPPED: " << msg);                                  \
      std::fprintf(stderr, "SKIPPED: %s\n", std::string(msg).c_str()); \
      return;                                                    \
    } while (0)
#endif
