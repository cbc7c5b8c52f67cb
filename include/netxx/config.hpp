#pragma once
/// Version, namespace and feature macros shared by every netxx header.
/// Standard library only: the address headers include it and stay constexpr.

#define NETXX_VERSION_MAJOR 0
#define NETXX_VERSION_MINOR 1
#define NETXX_VERSION_PATCH 0
#define NETXX_VERSION (NETXX_VERSION_MAJOR * 10000 + NETXX_VERSION_MINOR * 100 + NETXX_VERSION_PATCH)

// A versioned inline namespace: two netxx versions linked into one program fail
// at link time instead of silently mixing layouts. The epoll-only build
// (NETXX_DISABLE_IO_URING) lays out its loop differently, so it has a name
// of its own: a file built with it and one built without never share a type.
#ifdef NETXX_DISABLE_IO_URING
#  define NETXX_BEGIN_NAMESPACE namespace netxx { inline namespace v0_epoll_only {
#else
#  define NETXX_BEGIN_NAMESPACE namespace netxx { inline namespace v0 {
#endif
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
