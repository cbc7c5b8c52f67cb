#pragma once
/// net::buffer: the bytes of one pooled read, `co_await socket.read()` (the
/// Buffer that Node's `readable.read()` returns). A socket read this way holds
/// no memory between reads: the block is taken when bytes arrive (io_uring:
/// picked by the kernel from a provided-buffer ring; epoll: once the socket is
/// readable) and goes back to a per-thread pool when the buffer is destroyed.

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "config.hpp"

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
    for (std::byte* b : free_) delete[] b;
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
    return b;
  }
  void push(std::byte* b) noexcept {
    if (free_.size() < keep)
      free_.push_back(b);  // capacity reserved: never throws
    else
      delete[] b;
  }
  std::vector<std::byte*> free_;
};

}  // namespace detail

/// The bytes of one `co_await socket.read()`: move-only, empty at the end of
/// the stream. Its block goes back to the pool when it is destroyed.
class buffer {
 public:
  buffer() = default;
  buffer(buffer&& o) noexcept : block_(std::exchange(o.block_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  buffer& operator=(buffer&& o) noexcept {
    if (this != &o) {
      reset();
      block_ = std::exchange(o.block_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  buffer(const buffer&) = delete;
  buffer& operator=(const buffer&) = delete;
  ~buffer() { reset(); }

  /// Takes a block of the pool holding n bytes (the layers above use it).
  static buffer adopt(std::byte* block, std::size_t n) noexcept {
    buffer b;
    b.block_ = block;
    b.size_ = n;
    return b;
  }

  std::byte* data() noexcept { return block_; }
  const std::byte* data() const noexcept { return block_; }
  /// buf.length
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// False at the end of the stream: `while (auto b = co_await s.read())`.
  explicit operator bool() const noexcept { return size_ != 0; }
  std::span<std::byte> bytes() noexcept { return {block_, size_}; }
  std::span<const std::byte> bytes() const noexcept { return {block_, size_}; }
  operator std::span<const std::byte>() const noexcept { return bytes(); }
  /// The bytes as characters (buf.toString('latin1'), without a copy).
  std::string_view text() const noexcept { return {reinterpret_cast<const char*>(block_), size_}; }

  /// Gives the block back now; the buffer is empty afterwards.
  void reset() noexcept {
    detail::block_pool::give(std::exchange(block_, nullptr));
    size_ = 0;
  }

 private:
  std::byte* block_ = nullptr;
  std::size_t size_ = 0;
};

NETXX_END_NAMESPACE
