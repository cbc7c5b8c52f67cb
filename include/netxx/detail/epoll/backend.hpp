// SPDX-License-Identifier: BSL-1.0
#pragma once
// The epoll backend: readiness, not completion. Every operation first tries
// its system call (a socket usually has data or room); only on EAGAIN does it
// wait, parked on its descriptor, which is registered once, edge-triggered,
// for both directions. A budget of synchronous completions per loop turn
// keeps one busy socket from starving the others.

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <string_view>
#include <vector>

#include "../../config.hpp"
#include "../../errors.hpp"
#include "../block_pool.hpp"
#include "../loop_core.hpp"
#include "../op.hpp"
#include "../try_io.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

class epoll_backend {
 public:
  static constexpr std::string_view name = "epoll";
  // Synchronous completions allowed per loop turn before the rest yield, over
  // all descriptors (timers and posted calls get their turn); each descriptor
  // also has its own turn_budget.
  static constexpr int sync_budget = 1024;

  explicit epoll_backend(loop_core& core) : core_(core) {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw error::from_syscall("epoll_create1", errno_code(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = wake_tag;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, core_.waker().fd(), &ev);
  }
  epoll_backend(const epoll_backend&) = delete;
  epoll_backend& operator=(const epoll_backend&) = delete;
  ~epoll_backend() { ::close(epfd_); }

  /// Starts op. True: it completed now (result in op.result, never registered).
  bool start(io_op& op) {
    NETXX_ASSERT(!op.in_flight(), "an operation started while already in flight");
    if (op.code == op_code::close) {
      op.result = close_fd(op.fd);
      return true;
    }
    fd_state& st = state(op.fd);
    const bool write_side = waits_for_write(op.code);
    op_queue& queue = write_side ? st.writers : st.readers;
    if (!queue.empty()) {  // keep the order of operations on one side
      park(op, st, queue);
      return false;
    }
    // A read that found the socket drained (a short read or EAGAIN) since
    // the last edge would only see EAGAIN again: wait for the edge. The
    // first read of a descriptor registers it and waits too, as libuv's
    // read_start does: registering reports data already there as an edge.
    if (!write_side && hinted(op) && !st.hup && (st.registered ? st.drained : !st.unpollable && enroll(op.fd, st))) {
      park(op, st, queue);
      return false;
    }
    int res = attempt(op, /*first=*/true);
    if (!write_side) note_read(st, op, res);
    if (res == -EAGAIN || res == -EINPROGRESS) {
      park(op, st, queue);
      return false;
    }
    if (budget_ > 0 && st.budget.spend(core_.turn())) {
      --budget_;
      op.result = res;
      return true;
    }
    core_.register_op(op);  // out of budget: deliver next turn
    core_.defer_completion(op, res);
    return false;
  }

  /// Cancels an operation in flight (loop thread only). It resumes next turn
  /// with -ECANCELED; one that already completed keeps its result.
  void cancel(std::uint64_t id) noexcept {
    io_op* op = core_.find_op(id);
    if (!op || op->fd < 0 || static_cast<std::size_t>(op->fd) >= fds_.size()) return;
    fd_state& st = fds_[static_cast<std::size_t>(op->fd)];
    if (st.readers.remove(*op) || st.writers.remove(*op)) core_.defer_completion(*op, -ECANCELED);
  }

  /// Forgets op now: nothing in the kernel refers to its memory.
  void abandon(io_op& op) noexcept {
    if (!core_.undefer(op) && op.fd >= 0 && static_cast<std::size_t>(op.fd) < fds_.size()) {
      fd_state& st = fds_[static_cast<std::size_t>(op.fd)];
      if (!st.readers.remove(op)) st.writers.remove(op);
    }
    core_.abandon_op(op, /*keep_slot=*/false);
  }

  /// Closes fd now: the operations waiting on it resume with -ECANCELED
  /// next turn, and its registration goes with it.
  int close_fd(int fd) noexcept {
    if (fd >= 0 && static_cast<std::size_t>(fd) < fds_.size()) {
      fd_state& st = fds_[static_cast<std::size_t>(fd)];
      for (op_queue* q : {&st.readers, &st.writers})
        while (io_op* op = q->pop()) core_.defer_completion(*op, -ECANCELED);
      // No EPOLL_CTL_DEL: closing the last reference removes the registration
      // (a syscall per connection saved); events already fetched for it are
      // stale by generation.
      st.registered = false;
      st.drained = st.hup = st.unpollable = false;
      ++st.gen;  // events already fetched for the old descriptor are stale
    }
    return ::close(fd) == 0 ? 0 : -errno;
  }

  /// Closes fd now; its owner knows nothing is in flight on it.
  int close_idle_fd(int fd) noexcept { return close_fd(fd); }
  void flush() noexcept {}

  /// Waits up to timeout_ms (-1: indefinitely) and delivers what is ready.
  void wait(int timeout_ms) {
    budget_ = sync_budget;
    int n = ::epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
    if (n < 0) return;  // EINTR: the loop comes round again
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = events_[static_cast<std::size_t>(i)];
      if (ev.data.u64 == wake_tag) {
        core_.waker().drain();
        continue;
      }
      const int fd = static_cast<int>(ev.data.u64 & 0xffffffffu);
      const auto gen = static_cast<std::uint32_t>(ev.data.u64 >> 32);
      if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (static_cast<std::size_t>(fd) < fds_.size() && fds_[static_cast<std::size_t>(fd)].gen == gen) {
          fd_state& st = fds_[static_cast<std::size_t>(fd)];
          st.drained = false;
          // After the peer's FIN (or an error) a short read no longer means
          // "wait for the next edge": the end is there, and no edge follows.
          if (ev.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) st.hup = true;
        }
        drain(fd, gen, /*write_side=*/false);
      }
      if (ev.events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) drain(fd, gen, /*write_side=*/true);
    }
  }

 private:
  static constexpr std::uint64_t wake_tag = ~std::uint64_t{0};

  struct fd_state {
    op_queue readers;
    op_queue writers;
    std::uint32_t gen = 0;
    bool registered = false;
    // The read side is known empty until the next edge: a recv came back
    // short or with EAGAIN (libuv's UV_HANDLE_READ_PARTIAL). Never set once
    // the peer's FIN or an error was reported (hup).
    bool drained = false;
    bool hup = false;
    bool unpollable = false;  // epoll_ctl refused it (a regular file)
    turn_budget budget;
  };

  // Plain reads only: a short MSG_PEEK leaves the bytes where they were.
  static bool hinted(const io_op& op) noexcept {
    return (op.code == op_code::recv && op.args.recv.flags == 0) || op.code == op_code::read ||
           op.code == op_code::recv_pooled;
  }

  // Takes what a read's result says about the socket's receive queue.
  static void note_read(fd_state& st, const io_op& op, int res) noexcept {
    if (!hinted(op) || st.hup) return;
    if (res == -EAGAIN || (res > 0 && static_cast<std::size_t>(res) < op.args.recv.len)) st.drained = true;
  }

  fd_state& state(int fd) {
    auto i = static_cast<std::size_t>(fd);
    if (i >= fds_.size()) fds_.resize(i + 1 > fds_.size() * 2 ? i + 1 : fds_.size() * 2);
    return fds_[i];
  }

  // Registers fd, edge-triggered, both directions; false when it cannot be
  // (not pollable: the operation is then tried at once, as before).
  bool enroll(int fd, fd_state& st) noexcept {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (static_cast<std::uint64_t>(st.gen) << 32) | static_cast<std::uint32_t>(fd);
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0) return st.registered = true;
    if (errno != EEXIST) st.unpollable = true;
    return false;
  }

  void park(io_op& op, fd_state& st, op_queue& queue) {
    core_.register_op(op);
    queue.push(op);
    if (!st.registered) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.u64 = (static_cast<std::uint64_t>(st.gen) << 32) | static_cast<std::uint32_t>(op.fd);
      if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, op.fd, &ev) == 0) {
        st.registered = true;
      } else if (errno != EEXIST) {
        // Not pollable (a regular file, a closed descriptor): fail it now.
        queue.remove(op);
        core_.defer_completion(op, -errno);
      }
    }
  }

  void drain(int fd, std::uint32_t gen, bool write_side) {
    auto i = static_cast<std::size_t>(fd);
    if (i >= fds_.size()) return;
    // Only what waited when this edge came: an op parked by a callback below
    // got its EAGAIN after the edge, and a new edge will come for it.
    io_op* last = (write_side ? fds_[i].writers : fds_[i].readers).back();
    while (last && i < fds_.size() && fds_[i].gen == gen) {
      op_queue& queue = write_side ? fds_[i].writers : fds_[i].readers;
      io_op* op = queue.front();
      if (!op) return;
      const bool was_last = op == last;
      int res = attempt(*op, /*first=*/false);
      if (!write_side) note_read(fds_[i], *op, res);
      if (res == -EAGAIN || res == -EINPROGRESS) return;  // wait for the next edge
      queue.pop();
      // Resuming may start, cancel or close anything, this fd included:
      // the list and the generation are read again each round.
      core_.complete_op(op->id, res);
      if (was_last) return;
    }
  }

  static int attempt(io_op& op, bool first) noexcept {
    for (;;) {
      ssize_t r = -1;
      switch (op.code) {
        case op_code::accept:
          r = ::accept4(op.fd, op.args.accept.addr, op.args.accept.addrlen,
                        op.args.accept.flags | SOCK_NONBLOCK | SOCK_CLOEXEC);
          break;
        case op_code::connect:
          if (first) {
            r = ::connect(op.fd, op.args.connect.addr, op.args.connect.addrlen);
          } else {  // writable after EINPROGRESS: the outcome is in SO_ERROR
            int err = 0;
            socklen_t len = sizeof err;
            if (::getsockopt(op.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
            return -err;
          }
          break;
        case op_code::recv:
        case op_code::read:
        case op_code::recv_pooled:
        case op_code::send:
        case op_code::sendmsg:
          return try_io(op);
        case op_code::poll_in: {
          // Re-checked for real: an edge may belong to an earlier waiter
          // (drain() retries the queue in one go).
          if (first) return -EAGAIN;
          pollfd p{op.fd, POLLIN, 0};
          return ::poll(&p, 1, 0) > 0 ? 0 : -EAGAIN;
        }
        case op_code::nop:
        case op_code::close:
        case op_code::timer:
          return 0;
      }
      if (r >= 0) return static_cast<int>(r);
      if (errno == EINTR) continue;
      return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
  }

  loop_core& core_;
  int epfd_ = -1;
  int budget_ = sync_budget;
  std::vector<fd_state> fds_;
  std::array<epoll_event, 256> events_{};
};

}  // namespace detail
NETXX_END_NAMESPACE
