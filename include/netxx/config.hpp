#pragma once
/// Version, namespace and feature macros shared by every netxx header.
/// Standard library only: the address headers include it and stay constexpr.

#define NETXX_VERSION_MAJOR 0
#define NETXX_VERSION_MINOR 1
#define NETXX_VERSION_PATCH 0
#define NETXX_VERSION (NETXX_VERSION_MAJOR * 10000 + NETXX_VERSION_MINOR * 100 + NETXX_VERSION_PATCH)

// A versioned inline namespace: two netxx versions linked into one program fail
// at link time instead of silently mixing layouts.
#define NETXX_BEGIN_NAMESPACE namespace netxx { inline namespace v0 {
#define NETXX_END_NAMESPACE } }

#if defined(__clang__) || defined(__GNUC__)
#  define NETXX_LIKELY(x) __builtin_expect(!!(x), 1)
#  define NETXX_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define NETXX_LIKELY(x) (x)
#  define NETXX_UNLIKELY(x) (x)
#endif
