// SPDX-License-Identifier: BSL-1.0
#pragma once
// The per-thread pool of 64 KiB blocks that pooled reads fill (net::buffer
// owns one; the backends take one when bytes arrive, io_uring also keeps its
// provided-buffer ring stocked from it).

#include <cstddef>
#include <vector>

#include "../config.hpp"
#include "asan.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

/// Free 64 KiB blocks of one thread, reused last-in first-out (the block
/// just given back is the one still in cache). Plain memory: a block may be
/// given back on any thread, to that thread's pool.
class block_pool {
 public:
  /// Node reads 64 KiB at a time; so does every pooled read.
  static constexpr std::size_t block_size = 64 * 1024;
  /// Free blocks kept for reuse; more go back to the allocator.
  static constexpr std::size_t keep = 256;

  static std::byte* take() {
    ++counter();
    return gone() ? new std::byte[block_size] : local().pop();
  }
  static void give(std::byte* b) noexcept {
    if (!b) return;
    --counter();
    if (gone())
      delete[] b;
    else
      local().push(b);
  }

  /// Blocks taken on this thread and not given back here (what the tests
  /// count: a block given back on another thread counts there).
  static std::ptrdiff_t in_use() noexcept { return counter(); }

  block_pool(const block_pool&) = delete;
  block_pool& operator=(const block_pool&) = delete;

 private:
  block_pool() { free_.reserve(keep); }
  ~block_pool() {
    gone() = true;
    for (std::byte* b : free_) {
      NETXX_UNPOISON(b, block_size);
      delete[] b;
    }
  }
  // Set once this thread's pool is destroyed (thread exit): a buffer that
  // outlives it frees its block directly.
  static bool& gone() noexcept {
    static thread_local bool g = false;
    return g;
  }
  static std::ptrdiff_t& counter() noexcept {
    static thread_local std::ptrdiff_t n = 0;
    return n;
  }
  static block_pool& local() {
    static thread_local block_pool p;
    return p;
  }
  std::byte* pop() {
    if (free_.empty()) return new std::byte[block_size];  // not zeroed: the kernel writes it
    std::byte* b = free_.back();
    free_.pop_back();
    NETXX_UNPOISON(b, block_size);
    return b;
  }
  void push(std::byte* b) noexcept {
    if (free_.size() < keep) {
      NETXX_POISON(b, block_size);  // a read of a block given back is a use after free
      free_.push_back(b);           // capacity reserved: never throws
    } else
      delete[] b;
  }
  std::vector<std::byte*> free_;
};

}  // namespace detail
NETXX_END_NAMESPACE
