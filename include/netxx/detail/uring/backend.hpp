// SPDX-License-Identifier: BSL-1.0
#pragma once
// The io_uring backend: completion-based. Starting an operation only fills a
// submission entry; the loop submits everything of a turn, and waits, in one
// io_uring_enter. Kernel features are probed once at setup.
//
// Minimum kernel: 5.19 (IORING_OP_SOCKET is the probe's marker; it also means
// cancel-by-fd with CANCEL_ALL and multishot accept). Older kernels, and any
// failure of io_uring_setup (disabled by sysctl, blocked by seccomp as in many
// containers), make the automatic backend fall back to epoll.

#ifdef NETXX_DISABLE_IO_URING
#  error "netxx: io_uring is compiled out of this build (NETXX_DISABLE_IO_URING): the io_uring backend is not there"
#endif

#include <liburing.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string_view>
#include <vector>

#include "../../config.hpp"
#include "../../errors.hpp"
#include "../block_pool.hpp"
#include "../loop_core.hpp"
#include "../op.hpp"
#include "../try_io.hpp"
#include "config.hpp"

#ifndef IORING_SETUP_SINGLE_ISSUER
#  define NETXX_IORING_SETUP_SINGLE_ISSUER (1U << 12)
#else
#  define NETXX_IORING_SETUP_SINGLE_ISSUER IORING_SETUP_SINGLE_ISSUER
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#  define NETXX_IORING_SETUP_DEFER_TASKRUN (1U << 13)
#else
#  define NETXX_IORING_SETUP_DEFER_TASKRUN IORING_SETUP_DEFER_TASKRUN
#endif

NETXX_BEGIN_NAMESPACE
namespace detail {

/// Lets tests make io_uring setup fail on purpose (as a blocked syscall
/// would) without touching the environment.
using uring_setup_fn = int (*)(unsigned entries, io_uring* ring, io_uring_params* p);
inline int default_uring_setup(unsigned entries, io_uring* ring, io_uring_params* p) {
  return ::io_uring_queue_init_params(entries, ring, p);
}

class uring_backend {
 public:
  static constexpr std::string_view name = "io_uring";
  static constexpr unsigned ring_entries = 1024;

  explicit uring_backend(loop_core& core, uring_setup_fn setup = &default_uring_setup) : core_(core) {
    io_uring_params p{};
    p.flags = NETXX_IORING_SETUP_SINGLE_ISSUER | NETXX_IORING_SETUP_DEFER_TASKRUN;
    int rc = setup(ring_entries, &ring_, &p);
    if (rc == -EINVAL) {  // before 6.1: take what the kernel has
      p = {};
      p.flags = 0;
      rc = setup(ring_entries, &ring_, &p);
    } else if (rc == 0) {
      features_.single_issuer = features_.defer_taskrun = true;
    }
    if (rc < 0) throw error::from_syscall("io_uring_setup", errno_code(-rc));
    features_.ext_arg = (p.features & IORING_FEAT_EXT_ARG) != 0;
    if (!probe()) {
      ::io_uring_queue_exit(&ring_);
      throw error(errno_code(ENOSYS), "io_uring_setup ENOSYS: kernel older than 5.19");
    }
    features_.registered_ring_fd = ::io_uring_register_ring_fd(&ring_) == 1;
    // io_uring_setup may be allowed while io_uring_enter is not (a seccomp
    // profile that lists only one of them): such a ring is made but can
    // never run anything. One NOP, submitted and waited for, proves it runs;
    // a refusal is a setup failure, so the automatic backend falls back.
    if (int e = probe_enter()) {
      ::io_uring_queue_exit(&ring_);
      throw error::from_syscall("io_uring_enter", errno_code(e));
    }
    arm_wake();
  }
  uring_backend(const uring_backend&) = delete;
  uring_backend& operator=(const uring_backend&) = delete;
  ~uring_backend() {
    ::io_uring_queue_exit(&ring_);  // the kernel cancels what is still in flight
    for (auto& a : acceptors_)
      if (a)
        for (int r : a->ready)
          if (r >= 0) ::close(r);
    if (buf_ring_) {
      ::munmap(buf_ring_, buf_ring_entries_ * sizeof(io_uring_buf));
      for (std::byte* b : ring_blocks_) block_pool::give(b);
    }
  }

  const uring_features& features() const noexcept { return features_; }

  /// Queues op for the next submit; true when it completed at once instead
  /// (the streaming fast path, below).
  bool start(io_op& op) {
    NETXX_ASSERT(!op.in_flight(), "an operation started while already in flight");
    if (op.code == op_code::accept && multishot_accept_for(op)) return accept_multishot(op);
    if (try_now(op)) return true;
    io_uring_sqe* sqe = sqe_for_op();
    const std::uint64_t id = core_.register_op(op);
    switch (op.code) {
      case op_code::accept:
        ::io_uring_prep_accept(sqe, op.fd, op.args.accept.addr, op.args.accept.addrlen,
                               op.args.accept.flags | SOCK_NONBLOCK | SOCK_CLOEXEC);
        break;
      case op_code::connect:
        ::io_uring_prep_connect(sqe, op.fd, op.args.connect.addr, op.args.connect.addrlen);
        break;
      case op_code::recv:
        ::io_uring_prep_recv(sqe, op.fd, op.args.recv.buf, op.args.recv.len, op.args.recv.flags);
        break;
      case op_code::read:
        ::io_uring_prep_read(sqe, op.fd, op.args.recv.buf, static_cast<unsigned>(op.args.recv.len), 0);
        break;
      case op_code::recv_pooled:
        if (op.args.recv.buf == nullptr && buffer_ring()) {
          // The kernel picks a block from the ring when bytes arrive.
          ::io_uring_prep_recv(sqe, op.fd, nullptr, op.args.recv.len, 0);
          sqe->flags |= IOSQE_BUFFER_SELECT;
          sqe->buf_group = buf_group;
        } else {  // no ring (or it ran dry): a block of the pool, held while waiting
          if (!op.args.recv.buf) op.args.recv.buf = block_pool::take();
          ::io_uring_prep_recv(sqe, op.fd, op.args.recv.buf, op.args.recv.len, 0);
        }
        break;
      case op_code::send:
        ::io_uring_prep_send(sqe, op.fd, op.args.send.buf, op.args.send.len, op.args.send.flags | MSG_NOSIGNAL);
        break;
      case op_code::sendmsg:
        ::io_uring_prep_sendmsg(sqe, op.fd, op.args.sendmsg.msg,
                                static_cast<unsigned>(op.args.sendmsg.flags | MSG_NOSIGNAL));
        break;
      case op_code::poll_in:
        ::io_uring_prep_poll_add(sqe, op.fd, POLLIN);
        break;
      case op_code::close: {
        forget(op.fd);
        stop_acceptor(op.fd);
        // A close does not cancel what is in flight on the descriptor (those
        // hold their own file reference): cancel it first, hard-linked so the
        // close runs whether or not anything was found to cancel.
        ::io_uring_prep_cancel_fd(sqe, op.fd, IORING_ASYNC_CANCEL_ALL);
        sqe->flags |= IOSQE_IO_HARDLINK;
        ::io_uring_sqe_set_data64(sqe, internal_tag);
        sqe = sqe_for_op();
        ::io_uring_prep_close(sqe, op.fd);
        break;
      }
      case op_code::nop:
      case op_code::timer:
        ::io_uring_prep_nop(sqe);
        break;
    }
    ::io_uring_sqe_set_data64(sqe, id);
    return false;
  }

  /// Asks the kernel to cancel an operation in flight (loop thread only);
  /// it completes with -ECANCELED, or with its result if it won the race.
  void cancel(std::uint64_t id) {
    io_op* op = core_.find_op(id);
    if (!op) return;
    if (acceptor* a = waiting_on(*op)) {  // not in the kernel: it waits here
      a->waiters.remove(*op);
      core_.defer_completion(*op, -ECANCELED);
      return;
    }
    cancel_raw(id);  // never throws: a stop_token's callback runs it
  }

  /// The owner of op is going away with op in flight. The kernel may still
  /// write into its buffer, so wait, here and now, for its completion; other
  /// completions reaped meanwhile are kept for the loop, not delivered.
  void abandon(io_op& op) {
    if (acceptor* a = waiting_on(op)) {
      a->waiters.remove(op);
      core_.abandon_op(op, /*keep_slot=*/false);
      return;
    }
    if (op.code == op_code::accept && core_.undefer(op)) {  // a cancelled waiter, completing next turn
      core_.abandon_op(op, /*keep_slot=*/false);
      return;
    }
    const std::uint64_t id = op.id;
    core_.abandon_op(op, /*keep_slot=*/true);
    cancel_raw(id);
    // A ring that can no longer enter the kernel gets no completion: the
    // wait stops there (the loop's next turn reports the failure).
    while (!failed_ && !reaped(id)) {
      note_enter(::io_uring_submit_and_wait(&ring_, 1));
      harvest();
    }
  }

  /// Closes fd when its owner knows nothing is in flight on it. Inside run()
  /// the close goes into the ring with the turn's other submissions (no
  /// close(2) of its own: a connection that ends costs one system call
  /// less); the descriptor is closed before the turn sleeps, and run()
  /// submits it before it returns. Outside run(), it is closed now.
  int close_idle_fd(int fd) noexcept {
    if (acceptor_of(fd)) return close_fd(fd);  // a listener with its accept in the kernel
    forget(fd);
    io_uring_sqe* sqe = core_.running() ? ::io_uring_get_sqe(&ring_) : nullptr;
    if (!sqe) return ::close(fd) == 0 ? 0 : -errno;
    ::io_uring_prep_close(sqe, fd);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    ::io_uring_sqe_set_data64(sqe, internal_tag);
    return 0;
  }

  /// Closes fd now, cancelling what is in flight on it first.
  int close_fd(int fd) {
    forget(fd);
    stop_acceptor(fd);
    if (io_uring_sqe* sqe = try_sqe()) {  // none once the ring failed: close(2) alone
      ::io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
      ::io_uring_sqe_set_data64(sqe, internal_tag);
      // A cancelled request lets go of the file only when its completion
      // runs, as deferred task work: run it now, or close(2) would not be
      // the last reference and the socket would outlive it (a listener
      // would still take connections) until the next turn.
      note_enter(::io_uring_submit_and_get_events(&ring_));
    }
    return ::close(fd) == 0 ? 0 : -errno;
  }

  /// Submits what this turn queued, waits up to timeout_ms (-1: until one
  /// completion), and delivers every completion that is there.
  /// Throws when io_uring_enter fails for good (anything but EINTR, EAGAIN,
  /// EBUSY or a timeout): a loop whose ring cannot enter the kernel would
  /// otherwise come round at once, forever, serving nothing.
  void wait(int timeout_ms) {
    if (failed_) throw enter_failure();
    // An abandon outside this walk (a socket freed by a posted call) reaped
    // completions into the batch: they are delivered now, not after a
    // sleep that only a new completion would end.
    if (!batch_.empty()) timeout_ms = 0;
    io_uring_cqe* cqe = nullptr;
    int rc;
    if (timeout_ms < 0) {
      rc = ::io_uring_submit_and_wait(&ring_, 1);
    } else {
      __kernel_timespec ts{};
      ts.tv_sec = timeout_ms / 1000;
      ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1'000'000;
      rc = ::io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    }
    note_enter(rc);
    if (failed_) throw enter_failure();
    harvest();
    // Delivering may reap more (an abandon waits for its completion): the
    // batch is read by index and may grow while it is walked.
    for (std::size_t i = 0; i < batch_.size(); ++i) {
      const completion c = batch_[i];
      if (c.user_data == wake_tag) {
        arm_wake();
      } else if (c.user_data >= acceptor_tag && c.user_data < acceptor_tag + acceptors_.size()) {
        accepted(static_cast<std::size_t>(c.user_data - acceptor_tag), c.res, c.flags);
      } else if (c.user_data != internal_tag) {
        io_op* op = core_.find_op(c.user_data);
        if (c.flags & IORING_CQE_F_BUFFER) {
          // A block of the ring: it becomes the op's (or the pool's, if the
          // op was abandoned), and a fresh block takes its place in the ring.
          std::byte* b = refill(c.flags >> IORING_CQE_BUFFER_SHIFT);
          if (op && op->code == op_code::recv_pooled)
            op->args.recv.buf = b;
          else
            block_pool::give(b);
        } else if (op && op->code == op_code::recv_pooled && c.res == -ENOBUFS) {
          // The ring ran dry this turn: read again into a block of the pool.
          op->args.recv.buf = block_pool::take();
          io_uring_sqe* sqe = sqe_for_op();
          ::io_uring_prep_recv(sqe, op->fd, op->args.recv.buf, op->args.recv.len, 0);
          ::io_uring_sqe_set_data64(sqe, c.user_data);
          continue;
        }
        if (op) note(*op, c.res);
        core_.complete_op(c.user_data, c.res);
      }
    }
    batch_.clear();
  }

  /// Hands the kernel what this turn queued, without waiting (end of run()).
  /// A failure is kept for the next wait(), which throws it.
  void flush() noexcept {
    if (!failed_ && ::io_uring_sq_ready(&ring_) > 0) note_enter(::io_uring_submit(&ring_));
  }

 private:
  // user_data of generation 0 never names an operation (loop_core skips it).
  static constexpr std::uint64_t wake_tag = 1;
  static constexpr std::uint64_t internal_tag = 2;

  struct completion {
    std::uint64_t user_data;
    int res;
    std::uint32_t flags;
  };

  // Multishot accept (5.19). One accept request per listening socket stays
  // in the kernel and posts a completion for every connection: no request
  // to prepare, and no readiness wait to arm again, per connection. The
  // loop's accept ops do not go to the kernel: each waits here for the next
  // completion, or takes one that came while nobody waited. If too many
  // pile up unclaimed (an awaitable server that stopped calling accept()),
  // the request is cancelled and the kernel's backlog holds the rest, as it
  // would without multishot; the next accept arms it again. An error ends
  // the request (the kernel's rule) and is handed to the next accept.
  static constexpr std::uint64_t acceptor_tag = 16;  // generation 0: never an op id
  static constexpr std::size_t acceptor_max_ready = 32;

  struct acceptor {
    int fd = -1;
    bool armed = false;     // the multishot request is in the kernel
    bool stopping = false;  // cancelled for too many unclaimed connections
    bool closed = false;    // its descriptor was closed: waits for the last completion
    op_queue waiters;
    std::deque<int> ready;  // descriptors (or -errno) nobody has claimed yet
  };

  bool multishot_accept_for(const io_op& op) const noexcept {
    // Plain accepts of a listener: no peer address asked for.
    return features_.multishot_accept && op.fd >= 0 && op.args.accept.addr == nullptr && op.args.accept.flags == 0;
  }

  acceptor* acceptor_of(int fd) noexcept {
    for (auto& a : acceptors_)
      if (a && a->fd == fd && !a->closed) return a.get();
    return nullptr;
  }

  acceptor* waiting_on(const io_op& op) noexcept {
    if (op.code != op_code::accept) return nullptr;
    for (auto& a : acceptors_)
      if (a && !a->closed && a->waiters.contains(op)) return a.get();
    return nullptr;
  }

  bool accept_multishot(io_op& op) {
    acceptor* a = acceptor_of(op.fd);
    if (!a) {
      std::size_t i = 0;
      while (i < acceptors_.size() && acceptors_[i]) ++i;
      if (i == acceptors_.size()) acceptors_.emplace_back();
      acceptors_[i] = std::make_unique<acceptor>();
      a = acceptors_[i].get();
      a->fd = op.fd;
    }
    if (!a->ready.empty()) {  // came while nobody waited
      op.result = a->ready.front();
      a->ready.pop_front();
      return true;
    }
    core_.register_op(op);
    a->waiters.push(op);
    if (!a->armed) arm_acceptor(*a);
    return false;
  }

  void arm_acceptor(acceptor& a) {
    std::size_t i = 0;
    while (acceptors_[i].get() != &a) ++i;
    io_uring_sqe* sqe = sqe_for_op();
    ::io_uring_prep_multishot_accept(sqe, a.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ::io_uring_sqe_set_data64(sqe, acceptor_tag + i);
    a.armed = true;
    a.stopping = false;
  }

  // A completion of acceptor i's request.
  void accepted(std::size_t i, int res, std::uint32_t flags) {
    acceptor& a = *acceptors_[i];
    const bool more = (flags & IORING_CQE_F_MORE) != 0;
    if (!more) a.armed = false;
    if (a.closed) {  // the listener is gone: nobody will claim this
      if (res >= 0) ::close(res);
      if (!a.armed) acceptors_[i].reset();
      return;
    }
    if (a.stopping && res == -ECANCELED) {  // our cancel, not a failure
      a.stopping = false;
      if (!a.waiters.empty()) arm_acceptor(a);
      return;
    }
    if (a.waiters.empty()) {
      a.ready.push_back(res);
      if (a.armed && !a.stopping && a.ready.size() >= acceptor_max_ready) {
        a.stopping = true;
        cancel_raw(acceptor_tag + i);
      }
      return;
    }
    io_op* w = a.waiters.pop();
    // The request ended (an error, or a full completion queue): the
    // remaining waiters need it again; otherwise the next accept arms it.
    if (!a.armed && !a.waiters.empty()) arm_acceptor(a);
    core_.complete_op(w->id, res);  // may accept again, or close the listener: a is not used after
  }

  // The listener fd is being closed: its waiters end with -ECANCELED (next
  // turn, as the kernel's would), unclaimed connections are closed, and the
  // request's last completion frees the acceptor.
  void stop_acceptor(int fd) noexcept {
    for (auto& a : acceptors_) {
      if (!a || a->fd != fd || a->closed) continue;
      a->closed = true;
      while (io_op* w = a->waiters.pop()) core_.defer_completion(*w, -ECANCELED);
      for (int r : a->ready)
        if (r >= 0) ::close(r);
      a->ready.clear();
      if (!a->armed) a.reset();  // else the close's cancel-by-fd ends the request
    }
  }

  // The streaming fast path. A recv that filled its whole buffer says more
  // data is likely waiting: the next recv on that descriptor, and the sends
  // between, are tried at once as plain non-blocking system calls, and only
  // what would block goes to the ring. A stream then reads and echoes
  // without a ring round trip per chunk (so without one loop turn per
  // chunk), as a readiness loop does; a short read or EAGAIN ends it.
  // Pingpong traffic never fills its buffer and always takes the ring. A
  // budget per descriptor and turn keeps one stream from holding the loop.
  struct fd_hint {
    bool streaming = false;
    turn_budget budget;
  };

  bool try_now(io_op& op) noexcept {
    const bool pooled = op.code == op_code::recv_pooled && op.args.recv.buf == nullptr;
    const bool recv = (op.code == op_code::recv && op.args.recv.flags == 0) || pooled;
    if (!recv && op.code != op_code::send) return false;
    if (op.fd < 0 || static_cast<std::size_t>(op.fd) >= hints_.size()) return false;
    fd_hint& h = hints_[static_cast<std::size_t>(op.fd)];
    if (!h.streaming || !h.budget.spend(core_.turn())) return false;  // spent: the ring takes it
    const int r = try_io(op, MSG_DONTWAIT);
    if (r == -EAGAIN) {
      h.streaming = false;  // drained (recv) or full (send): back to the ring
      return false;
    }
    if (recv && r >= 0 && static_cast<std::size_t>(r) < op.args.recv.len) h.streaming = false;
    op.result = r;
    return true;
  }

  // What a completion from the ring says about its descriptor.
  void note(const io_op& op, int res) {
    const bool recv = (op.code == op_code::recv && op.args.recv.flags == 0) || op.code == op_code::recv_pooled;
    if (!recv || res <= 0) return;
    if (static_cast<std::size_t>(res) != op.args.recv.len || op.fd < 0) return;
    const auto i = static_cast<std::size_t>(op.fd);
    if (i >= hints_.size()) hints_.resize(i + 1 > hints_.size() * 2 ? i + 1 : hints_.size() * 2);
    hints_[i].streaming = true;
  }

  // The provided-buffer ring of pooled reads (kernel 5.19), made on the
  // first pooled read: uring_buf_ring_entries() blocks of the pool (256 by
  // default; read then, not compiled in: detail/tunable.hpp says why), each
  // replaced by a fresh one as soon as the kernel hands it out. More reads
  // completing in one kernel pass than the ring holds get ENOBUFS and are
  // read again into pool blocks (recent kernels run deferred task work 20 at
  // a time, so 256 is plenty). A ring that cannot be registered leaves
  // pooled reads on plain recvs into pool blocks.
  static constexpr int buf_group = 0;

  bool buffer_ring() {
    if (buf_ring_ || buf_ring_failed_) return buf_ring_ != nullptr;
    buf_ring_failed_ = true;
    if (!features_.provided_buffer_rings) return false;
    const std::size_t want = uring_buf_ring_setting.get();
    if (!valid_buf_ring_entries(want)) return false;  // the setters validate: never, in practice
    buf_ring_entries_ = static_cast<unsigned>(want);
    const unsigned entries = buf_ring_entries_;
    void* mem = ::mmap(nullptr, entries * sizeof(io_uring_buf), PROT_READ | PROT_WRITE,
                       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) return false;
    auto* br = static_cast<io_uring_buf_ring*>(mem);
    ::io_uring_buf_ring_init(br);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(mem);
    reg.ring_entries = entries;
    reg.bgid = buf_group;
    if (::io_uring_register_buf_ring(&ring_, &reg, 0) != 0) {
      ::munmap(mem, entries * sizeof(io_uring_buf));
      return false;
    }
    buf_ring_ = br;
    ring_blocks_.resize(entries);
    for (unsigned i = 0; i < entries; ++i) {
      ring_blocks_[i] = block_pool::take();
      ::io_uring_buf_ring_add(br, ring_blocks_[i], block_pool::block_size, static_cast<unsigned short>(i),
                              ::io_uring_buf_ring_mask(entries), static_cast<int>(i));
    }
    ::io_uring_buf_ring_advance(br, static_cast<int>(entries));
    buf_ring_failed_ = false;
    return true;
  }

  // Takes block bid out of the ring and puts a fresh one in its place.
  std::byte* refill(unsigned bid) {
    std::byte* b = ring_blocks_[bid];
    ring_blocks_[bid] = block_pool::take();
    ::io_uring_buf_ring_add(buf_ring_, ring_blocks_[bid], block_pool::block_size, static_cast<unsigned short>(bid),
                            ::io_uring_buf_ring_mask(buf_ring_entries_), 0);
    ::io_uring_buf_ring_advance(buf_ring_, 1);
    return b;
  }

  void forget(int fd) noexcept {
    if (fd >= 0 && static_cast<std::size_t>(fd) < hints_.size()) hints_[static_cast<std::size_t>(fd)].streaming = false;
  }

  bool probe() {
    io_uring_probe* pr = ::io_uring_get_probe_ring(&ring_);
    if (!pr) return false;
    const bool ok = ::io_uring_opcode_supported(pr, IORING_OP_SOCKET);
    features_.multishot_accept = ok;
    features_.provided_buffer_rings = ok;
    features_.msg_ring = ::io_uring_opcode_supported(pr, IORING_OP_MSG_RING);
    features_.send_zc = ::io_uring_opcode_supported(pr, IORING_OP_SEND_ZC);
    features_.multishot_recv = features_.send_zc;  // both arrived in 6.0
    ::io_uring_free_probe(pr);
    return ok;
  }

  // A free submission entry, or nullptr once the ring cannot enter the
  // kernel. A full ring is handed to the kernel; a submission refused for a
  // while (EAGAIN, EBUSY: the completion queue is full) makes room by
  // reaping, a bounded number of times, then counts as a failure.
  io_uring_sqe* try_sqe() {
    for (int tries = 0;; ++tries) {
      if (io_uring_sqe* sqe = ::io_uring_get_sqe(&ring_)) return sqe;
      if (tries > max_transient) fail(EBUSY);
      if (failed_) return nullptr;
      const int rc = ::io_uring_submit(&ring_);
      note_enter(rc);
      if (rc == -EAGAIN || rc == -EBUSY) {
        note_enter(::io_uring_get_events(&ring_));
        harvest();
      }
    }
  }

  // For operations the loop starts: a ring that failed is reported at once.
  io_uring_sqe* sqe_for_op() {
    io_uring_sqe* sqe = try_sqe();
    if (!sqe) throw enter_failure();
    return sqe;
  }

  // Never throws (abandon runs in destructors): a cancel a failed ring
  // cannot take is dropped; nothing will complete there anyway.
  void cancel_raw(std::uint64_t id) {
    io_uring_sqe* sqe = try_sqe();
    if (!sqe) return;
    ::io_uring_prep_cancel64(sqe, id, 0);
    ::io_uring_sqe_set_data64(sqe, internal_tag);
  }

  // --- io_uring_enter failures ----------------------------------------------------
  // EINTR (a signal), EAGAIN, EBUSY (the kernel is short of memory or the
  // completion queue is full: reaping makes room) and ETIME (the wait's
  // timeout) pass; anything else, EPERM from a seccomp filter, EBADF, means
  // the ring is dead, and the loop stops with that errno instead of coming
  // round for ever. A run of max_transient failures with nothing reaped
  // between counts as dead too.
  static constexpr int max_transient = 64;

  void note_enter(int rc) noexcept {
    if (rc >= 0 || rc == -EINTR || rc == -ETIME) {
      transient_ = 0;
    } else if (rc == -EAGAIN || rc == -EBUSY) {
      if (++transient_ > max_transient && ::io_uring_cq_ready(&ring_) == 0) fail(-rc);
    } else {
      fail(-rc);
    }
  }
  void fail(int err) noexcept {
    if (!failed_) failed_ = err;
  }
  error enter_failure() const {
    return error(errno_code(failed_), std::string("io_uring_enter ") + std::string(code_string(errno_code(failed_))) +
                                          ": the io_uring backend can no longer submit or wait (" +
                                          std::strerror(failed_) + "); the loop cannot go on");
  }

  // Submits one NOP and waits for it: 0, or the errno io_uring_enter gave.
  int probe_enter() {
    io_uring_sqe* sqe = ::io_uring_get_sqe(&ring_);
    if (!sqe) return EBUSY;
    ::io_uring_prep_nop(sqe);
    ::io_uring_sqe_set_data64(sqe, internal_tag);
    int rc;
    int tries = 0;
    do rc = ::io_uring_submit_and_wait(&ring_, 1);
    while ((rc == -EINTR || rc == -EAGAIN) && ++tries < max_transient);
    if (rc < 0) return -rc;
    io_uring_cqe* cqe = nullptr;
    if (::io_uring_peek_cqe(&ring_, &cqe) != 0 || !cqe) return EIO;  // entered, yet nothing completed
    ::io_uring_cqe_seen(&ring_, cqe);
    return 0;
  }

  void arm_wake() {
    io_uring_sqe* sqe = sqe_for_op();
    ::io_uring_prep_read(sqe, core_.waker().fd(), &wake_value_, sizeof wake_value_, 0);
    ::io_uring_sqe_set_data64(sqe, wake_tag);
  }

  void harvest() {
    unsigned head;
    unsigned n = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      batch_.push_back({cqe->user_data, cqe->res, cqe->flags});
      ++n;
    }
    ::io_uring_cq_advance(&ring_, n);
  }

  bool reaped(std::uint64_t id) const noexcept {
    for (const completion& c : batch_)
      if (c.user_data == id) return true;
    return false;
  }

  loop_core& core_;
  io_uring ring_{};
  uring_features features_;
  std::uint64_t wake_value_ = 0;
  std::vector<completion> batch_;
  std::vector<fd_hint> hints_;
  io_uring_buf_ring* buf_ring_ = nullptr;
  unsigned buf_ring_entries_ = 0;  // fixed when the ring is made
  bool buf_ring_failed_ = false;
  std::vector<std::byte*> ring_blocks_;
  std::vector<std::unique_ptr<acceptor>> acceptors_;
  int failed_ = 0;     // the errno that made io_uring_enter unusable
  int transient_ = 0;  // EAGAIN/EBUSY in a row
};

}  // namespace detail
NETXX_END_NAMESPACE
