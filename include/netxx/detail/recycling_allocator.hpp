// SPDX-License-Identifier: BSL-1.0
#pragma once
// A per-thread cache of freed blocks for the objects every connection makes
// and unmakes: coroutine frames (net::task) and the socket's shared state.
//
// Why: a server that accepts and closes connections frees and re-allocates
// the same few sizes all the time. With frames of a few tens of KiB (a
// coroutine holding a 64 KiB buffer, as Asio-style code does), glibc's
// allocator gives the top of its heap back to the kernel as soon as it holds
// 128 KiB free, and grows it again for the next connection: brk, page
// faults, zeroed pages, per connection. Keeping the blocks here costs at
// most recycle_cache_bytes() per thread (default 4 MiB; 0 turns the cache
// off) and removes that churn. When it is full, the size class that holds
// the most gives way, so the cache follows the sizes in use.
//
// The budget is a run-time setting (set_recycle_cache_bytes, or the macro
// NETXX_RECYCLE_CACHE_BYTES as a default: detail/tunable.hpp says why it is
// no longer a compile-time constant). Every block of a cached size is
// allocated at its class's full size, cache on or off, so a block taken
// while the cache was off can be cached when it comes back.
//
// Blocks are grouped by size class (4 classes per power of two, so a block
// is at most 25% bigger than asked), kept on intrusive free lists, and handed
// out last in, first out (the warmest first). A block freed on another
// thread joins that thread's cache. Blocks above max_block go straight to the
// global allocator. Under AddressSanitizer a cached block is poisoned, so a
// use after free is still reported.

#include <array>
#include <bit>
#include <cstddef>
#include <new>

#include "../config.hpp"
#include "asan.hpp"
#include "tunable.hpp"


NETXX_BEGIN_NAMESPACE
namespace detail {

/// The per-thread budget of the recycling cache, in bytes (4 MiB by default).
inline constinit tunable recycle_cache_setting{std::size_t{4} << 20};

// Size classes: multiples of 16 up to 128 bytes, then four per power of
// two: (2^(e-1), 2^e] is cut in steps of 2^(e-3).
constexpr std::size_t recycle_class_of(std::size_t n) noexcept {
  if (n <= 128) return n == 0 ? 0 : (n - 1) / 16;  // 0..7
  const auto e = static_cast<std::size_t>(std::bit_width(n - 1));  // 2^(e-1) < n <= 2^e
  const std::size_t step = std::size_t{1} << (e - 3);
  const std::size_t k = (n - (std::size_t{1} << (e - 1)) + step - 1) / step;  // 1..4
  return 8 + (e - 8) * 4 + (k - 1);
}
constexpr std::size_t recycle_class_size(std::size_t c) noexcept {
  if (c < 8) return (c + 1) * 16;
  const std::size_t e = (c - 8) / 4 + 8, k = (c - 8) % 4 + 1;
  return (std::size_t{1} << (e - 1)) + k * (std::size_t{1} << (e - 3));
}

class recycling_cache {
 public:
  static constexpr std::size_t max_block = std::size_t{256} << 10;

  static constexpr std::size_t classes = recycle_class_of(max_block) + 1;

  recycling_cache() noexcept = default;
  recycling_cache(const recycling_cache&) = delete;
  recycling_cache& operator=(const recycling_cache&) = delete;
  ~recycling_cache() {
    gone() = true;
    for (node*& head : free_) {
      while (node* b = head) {
        NETXX_UNPOISON(b, sizeof(node));
        head = b->next;
        ::operator delete(b);
      }
    }
  }

  void* allocate(std::size_t n) {
    if (n > max_block) return ::operator new(n);
    const std::size_t c = recycle_class_of(n);
    if (node* b = free_[c]) {
      NETXX_UNPOISON(b, recycle_class_size(c));
      free_[c] = b->next;
      cached_ -= recycle_class_size(c);
      --count_[c];
      return b;
    }
    return ::operator new(recycle_class_size(c));
  }

  void deallocate(void* p, std::size_t n) noexcept {
    if (n > max_block) return ::operator delete(p);
    // Read at every free, so a budget set at run time applies from the next
    // free on, on every thread.
    const std::size_t budget = recycle_cache_setting.get();
    const std::size_t c = recycle_class_of(n), size = recycle_class_size(c);
    if (size > budget) return ::operator delete(p);
    // Full: the class holding the most bytes gives some back, so sizes no
    // longer in use (a burst of small frames long ago) make room for the
    // sizes of today. If that is this block's own class, the block goes:
    // classes in use converge to equal shares instead of evicting each
    // other in turn.
    while (cached_ + size > budget) {
      std::size_t victim = c;
      for (std::size_t k = 0; k < classes; ++k)
        if (count_[k] * recycle_class_size(k) > count_[victim] * recycle_class_size(victim)) victim = k;
      if (victim == c) return ::operator delete(p);
      node* v = free_[victim];
      NETXX_UNPOISON(v, sizeof(node));
      free_[victim] = v->next;
      --count_[victim];
      cached_ -= recycle_class_size(victim);
      ::operator delete(v);
    }
    auto* b = ::new (p) node{free_[c]};
    free_[c] = b;
    ++count_[c];
    cached_ += size;
    NETXX_POISON(b, size);
  }

  /// The cache of the calling thread; nullptr once it has been destroyed
  /// at thread exit (blocks freed later go to the global allocator).
  static recycling_cache* current() noexcept {
    if (gone()) return nullptr;
    thread_local recycling_cache cache;
    return &cache;
  }

 private:
  struct node {
    node* next;
  };
  static bool& gone() noexcept {
    thread_local constinit bool g = false;
    return g;
  }

  std::array<node*, classes> free_{};
  std::array<std::size_t, classes> count_{};
  std::size_t cached_ = 0;
};

/// operator new/delete for the objects above. The size given back must be
/// the size asked for (coroutine frames and std::allocator_traits do so).
inline void* recycled_allocate(std::size_t n) {
  if (recycling_cache* c = recycling_cache::current()) return c->allocate(n);
  return ::operator new(n);
}
inline void recycled_deallocate(void* p, std::size_t n) noexcept {
  if (recycling_cache* c = recycling_cache::current()) return c->deallocate(p, n);
  ::operator delete(p);
}

/// The same, as a standard allocator (for std::allocate_shared).
template <typename T>
struct recycling_allocator {
  using value_type = T;
  recycling_allocator() noexcept = default;
  template <typename U>
  recycling_allocator(const recycling_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "the cache hands out operator new's alignment");
    return static_cast<T*>(recycled_allocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { recycled_deallocate(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const recycling_allocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace detail

/// The per-thread budget of the cache that recycles coroutine frames and
/// socket states, in bytes: 4 MiB unless set (0 turns the cache off).
inline std::size_t recycle_cache_bytes() noexcept { return detail::recycle_cache_setting.get(); }
/// Sets that budget for every thread, from the next block freed on; it wins
/// over NETXX_RECYCLE_CACHE_BYTES. Safe from any thread.
inline void set_recycle_cache_bytes(std::size_t bytes) noexcept { detail::recycle_cache_setting.set(bytes); }

NETXX_END_NAMESPACE

// NETXX_RECYCLE_CACHE_BYTES, defined when this header is compiled, is the
// default budget (the smallest, if translation units disagree): registered
// before main by an initialiser of this translation unit alone, so no inline
// code depends on it.
#ifdef NETXX_RECYCLE_CACHE_BYTES
namespace {
[[maybe_unused]] const bool netxx_recycle_cache_bytes_from_macro =
    ::netxx::detail::recycle_cache_setting.set_from_macro(static_cast<std::size_t>(NETXX_RECYCLE_CACHE_BYTES));
}  // namespace
#endif
