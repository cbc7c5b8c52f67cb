// SPDX-License-Identifier: BSL-1.0
#pragma once
// The operation record both backends serve. It lives inside the awaiter (so in
// the awaiting coroutine's frame) or inside a socket: starting an operation
// allocates nothing.

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "../config.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

// `timer` never reaches a backend: it is a sleep registered in the op table
// so that a cancel from another thread can name it safely.
// `recv_pooled` reads into a block of the pool that the backend takes when
// bytes are there (args.recv.buf is null until then, and the op owns the
// block it holds afterwards): a socket waiting to read holds no memory.
enum class op_code : std::uint8_t { nop, accept, connect, recv, send, sendmsg, close, read, poll_in, timer, recv_pooled };

struct io_op {
  // Called on the loop thread with the kernel's result (>= 0, or -errno).
  using complete_fn = void (*)(io_op*, int res) noexcept;

  complete_fn complete = nullptr;
  op_code code = op_code::nop;
  // Keeps run() going while in flight (libuv counts requests as alive;
  // an unref'd handle's reads do not).
  bool counts_alive = true;
  // Linked into an op_queue (through next): checked before linking again.
  bool queued = false;
  int fd = -1;
  int result = 0;
  // Slot and generation in the loop's op table while in flight; 0 when idle.
  // It is the io_uring user_data and the name a cross-thread cancel uses.
  std::uint64_t id = 0;
  // Intrusive link: epoll's per-descriptor wait queues, the deferred queue,
  // the multishot acceptor's waiters (see op_queue).
  io_op* next = nullptr;

  union args_t {
    struct {
      sockaddr* addr;
      socklen_t* addrlen;
      int flags;
    } accept;
    struct {
      const sockaddr* addr;
      socklen_t addrlen;
    } connect;
    struct {
      void* buf;
      std::size_t len;
      int flags;
    } recv;
    struct {
      const void* buf;
      std::size_t len;
      int flags;
    } send;
    struct {
      const msghdr* msg;
      int flags;
    } sendmsg;
    struct {
      int unused;
    } none;
  } args{.none = {0}};

  bool in_flight() const noexcept { return id != 0; }
};

/// A FIFO of operations linked through io_op::next, allocating nothing: the
/// deferred completions of a loop, the operations waiting on one side of a
/// descriptor under epoll, the accepts waiting for a multishot accept. An
/// operation is in at most one queue at a time. (Asio's detail/op_queue.)
class op_queue {
 public:
  op_queue() = default;
  op_queue(const op_queue&) = delete;
  op_queue& operator=(const op_queue&) = delete;
  op_queue(op_queue&& o) noexcept : head_(std::exchange(o.head_, nullptr)), tail_(std::exchange(o.tail_, nullptr)) {}
  op_queue& operator=(op_queue&& o) noexcept {
    head_ = std::exchange(o.head_, nullptr);
    tail_ = std::exchange(o.tail_, nullptr);
    return *this;
  }

  bool empty() const noexcept { return head_ == nullptr; }
  io_op* front() const noexcept { return head_; }
  io_op* back() const noexcept { return tail_; }

  void push(io_op& op) noexcept {
    NETXX_ASSERT(!op.queued, "an operation linked into an op_queue while already in one");
    op.queued = true;
    op.next = nullptr;
    (tail_ ? tail_->next : head_) = &op;
    tail_ = &op;
  }

  /// The first operation, unlinked; nullptr when empty.
  io_op* pop() noexcept {
    io_op* op = head_;
    if (op) {
      head_ = op->next;
      if (!head_) tail_ = nullptr;
      op->next = nullptr;
      op->queued = false;
    }
    return op;
  }

  /// Unlinks op if it is here. *before, if given, receives the operation
  /// that preceded it (nullptr: it was the first).
  bool remove(io_op& op, io_op** before = nullptr) noexcept {
    io_op* prev = nullptr;
    for (io_op* p = head_; p; prev = p, p = p->next) {
      if (p != &op) continue;
      (prev ? prev->next : head_) = p->next;
      if (tail_ == p) tail_ = prev;
      p->next = nullptr;
      p->queued = false;
      if (before) *before = prev;
      return true;
    }
    return false;
  }

  bool contains(const io_op& op) const noexcept {
    for (const io_op* p = head_; p; p = p->next)
      if (p == &op) return true;
    return false;
  }

 private:
  io_op* head_ = nullptr;
  io_op* tail_ = nullptr;
};

// Synchronous completions one descriptor may have in one loop turn, under
// either backend (epoll's optimistic I/O, io_uring's streaming fast path):
// busy streams share the loop round robin instead of the first one taking the
// turn. 32 is 16 read+write pairs, 1 MiB of a stream echoed in 64 KiB chunks.
struct turn_budget {
  static constexpr int per_turn = 32;
  std::uint32_t turn = 0;  // the loop turn `left` counts for
  int left = 0;
  /// Takes one completion from this turn's budget; false when it is spent.
  bool spend(std::uint32_t now) noexcept {
    if (turn != now) {
      turn = now;
      left = per_turn;
    }
    if (left == 0) return false;
    --left;
    return true;
  }
};

// Which side of a descriptor an operation waits on under epoll.
constexpr bool waits_for_write(op_code c) noexcept { return c == op_code::connect || c == op_code::send || c == op_code::sendmsg; }

}  // namespace detail
NETXX_END_NAMESPACE
