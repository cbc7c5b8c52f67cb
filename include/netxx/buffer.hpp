// SPDX-License-Identifier: BSL-1.0
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

#include "config.hpp"
#include "detail/block_pool.hpp"

NETXX_BEGIN_NAMESPACE

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

  /// Lets go of the block without giving it back (the layers above use it).
  std::byte* release() noexcept {
    size_ = 0;
    return std::exchange(block_, nullptr);
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
