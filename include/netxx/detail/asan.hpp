// SPDX-License-Identifier: BSL-1.0
#pragma once
// Memory that netxx keeps for reuse (the recycling cache, the block pool) is
// poisoned for AddressSanitizer while it waits, so a use after it was given
// back is reported as it would be after free().

#if defined(__SANITIZE_ADDRESS__)
#  define NETXX_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define NETXX_ASAN 1
#  endif
#endif
#ifdef NETXX_ASAN
#  include <sanitizer/asan_interface.h>
#  define NETXX_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#  define NETXX_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#  define NETXX_POISON(p, n) ((void)(p), (void)(n))
#  define NETXX_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
