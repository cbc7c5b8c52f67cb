// SPDX-License-Identifier: BSL-1.0
#pragma once
/// Version, namespace and feature macros shared by every netxx header.
/// Standard library only: the address headers include it and stay constexpr.

// First, so that it is the first diagnostic a C++17 build prints (every netxx
// header includes this one before anything else of its own). MSVC keeps
// __cplusplus at 199711L unless /Zc:__cplusplus; _MSVC_LANG has the truth.
#if (defined(_MSVC_LANG) ? _MSVC_LANG : __cplusplus) < 202002L || !defined(__cpp_impl_coroutine)
#  error "netxx requires C++20 (-std=c++20)"
// A missing include is a fatal error on GCC and Clang: compilation stops here
// instead of following with hundreds of errors from C++20 code.
#  include "netxx-stops-here: compile with -std=c++20 or later"
#endif

#define NETXX_VERSION_MAJOR 0
#define NETXX_VERSION_MINOR 2
#define NETXX_VERSION_PATCH 0
#define NETXX_VERSION (NETXX_VERSION_MAJOR * 10000 + NETXX_VERSION_MINOR * 100 + NETXX_VERSION_PATCH)

// A versioned inline namespace: two netxx versions linked into one program fail
// at link time instead of silently mixing layouts. While the major version is 0
// every minor version may change layouts, so the name carries both: v0_2
// (from 1.0 on, the major version alone will do). The epoll-only build
// (NETXX_DISABLE_IO_URING) lays out its loop differently, so it has a name
// of its own (v0_2_epoll_only): a file built with it and one built without
// never share a type.
#ifdef NETXX_DISABLE_IO_URING
#  define NETXX_ABI_NAME_(major, minor) v##major##_##minor##_epoll_only
#else
#  define NETXX_ABI_NAME_(major, minor) v##major##_##minor
#endif
#define NETXX_ABI_NAME(major, minor) NETXX_ABI_NAME_(major, minor)
#define NETXX_BEGIN_NAMESPACE namespace netxx { inline namespace NETXX_ABI_NAME(NETXX_VERSION_MAJOR, NETXX_VERSION_MINOR) {
#define NETXX_END_NAMESPACE } }

#if defined(__clang__) || defined(__GNUC__)
#  define NETXX_LIKELY(x) __builtin_expect(!!(x), 1)
#  define NETXX_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define NETXX_LIKELY(x) (x)
#  define NETXX_UNLIKELY(x) (x)
#endif

// NETXX_ASSERT(cond, "message"): a debug invariant. Active unless NDEBUG is
// defined, or always with NETXX_ENABLE_ASSERTS; when it fails it prints
// file:line, the condition and the message to stderr and aborts. Off, it
// evaluates nothing. Meant for invariants cheap to check (a flag, an id), so
// debug builds keep them on the hot paths.
#if defined(NETXX_ENABLE_ASSERTS) || !defined(NDEBUG)
#  include <cstdio>
#  include <cstdlib>
NETXX_BEGIN_NAMESPACE
namespace detail {
[[noreturn]] inline void assert_failed(const char* cond, const char* message, const char* file, int line) noexcept {
  std::fprintf(stderr, "%s:%d: netxx invariant broken: %s (%s)\n", file, line, message, cond);
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail
NETXX_END_NAMESPACE
#  define NETXX_ASSERT(cond, message) \
    (NETXX_LIKELY(cond) ? static_cast<void>(0) : ::netxx::detail::assert_failed(#cond, message, __FILE__, __LINE__))
#else
#  define NETXX_ASSERT(cond, message) static_cast<void>(0)
#endif

// Header-only by default. With NETXX_SEPARATE_COMPILATION the headers only
// declare what the library's one compiled file (src/netxx.cpp) defines, so a
// program's files compile the library's code once instead of each time.
#if defined(NETXX_SEPARATE_COMPILATION) && !defined(NETXX_BUILDING_LIBRARY)
#  define NETXX_HEADER_ONLY 0
#else
#  define NETXX_HEADER_ONLY 1
#endif
#ifdef NETXX_SEPARATE_COMPILATION
#  define NETXX_INLINE
#else
#  define NETXX_INLINE inline
#endif
