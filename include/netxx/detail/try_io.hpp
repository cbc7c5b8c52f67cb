// SPDX-License-Identifier: BSL-1.0
#pragma once
// The synchronous, non-blocking attempt both backends make before (epoll) or
// instead of (io_uring's streaming fast path) waiting: one system call,
// retried on EINTR. (Asio's socket_ops::non_blocking_recv1 serves its
// reactive and its io_uring ops alike.)

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include "../config.hpp"
#include "block_pool.hpp"
#include "op.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

/// True for the data operations try_io knows: recv, read, recv_pooled, send,
/// sendmsg.
constexpr bool try_io_handles(op_code c) noexcept {
  return c == op_code::recv || c == op_code::read || c == op_code::recv_pooled || c == op_code::send ||
         c == op_code::sendmsg;
}

/// One non-blocking-style send of [buf, buf + len), retried on EINTR: the
/// bytes the kernel took, or -errno (EWOULDBLOCK as -EAGAIN). Also the
/// socket's own direct send (libuv's uv_try_write).
inline int try_send(int fd, const void* buf, std::size_t len, int flags) noexcept {
  for (;;) {
    const ssize_t r = ::send(fd, buf, len, flags | MSG_NOSIGNAL);
    if (r >= 0) return static_cast<int>(r);
    if (errno == EINTR) continue;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  }
}

/// Makes op's system call once: the bytes moved (>= 0), or -errno, with
/// EWOULDBLOCK reported as -EAGAIN. `flags` is added to the call's own
/// (io_uring passes MSG_DONTWAIT: its sockets may be blocking). A pooled read
/// takes its block only now that bytes may be there, and gives it back
/// unless bytes came; when they did, the op owns it (args.recv.buf).
inline int try_io(io_op& op, int flags = 0) noexcept {
  NETXX_ASSERT(try_io_handles(op.code), "try_io given an operation it cannot attempt");
  for (;;) {
    ssize_t r = -1;
    switch (op.code) {
      case op_code::recv:
        r = ::recv(op.fd, op.args.recv.buf, op.args.recv.len, op.args.recv.flags | flags);
        break;
      case op_code::read:
        r = ::read(op.fd, op.args.recv.buf, op.args.recv.len);
        break;
      case op_code::recv_pooled: {
        std::byte* b = block_pool::take();
        r = ::recv(op.fd, b, op.args.recv.len, flags);
        const int err = errno;  // read below: giving the block back must not change it
        if (r > 0)
          op.args.recv.buf = b;
        else
          block_pool::give(b);
        errno = err;
        break;
      }
      case op_code::send:
        return try_send(op.fd, op.args.send.buf, op.args.send.len, op.args.send.flags | flags);
      case op_code::sendmsg:
        r = ::sendmsg(op.fd, op.args.sendmsg.msg, op.args.sendmsg.flags | MSG_NOSIGNAL | flags);
        break;
      default:
        return -EINVAL;
    }
    if (r >= 0) return static_cast<int>(r);
    if (errno == EINTR) continue;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  }
}

}  // namespace detail
NETXX_END_NAMESPACE
