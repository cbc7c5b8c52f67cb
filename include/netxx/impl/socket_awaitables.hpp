// SPDX-License-Identifier: BSL-1.0
#pragma once
// The awaitables of net::socket, one per operation: connect, read (into the
// caller's buffer, or a block of the pool), write, and end. Each lives in the
// awaiting coroutine's frame; starting one allocates nothing.

#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

#include "../buffer.hpp"
#include "../config.hpp"
#include "../detail/block_pool.hpp"
#include "../detail/op.hpp"
#include "../errors.hpp"
#include "../task.hpp"
#include "stream_state.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

/// What `socket.connect(...)` returns: awaiting it waits for the outcome.
template <typename Backend>
class connect_awaitable {
 public:
  explicit connect_awaitable(std::shared_ptr<socket_state<Backend>> s) : s_(std::move(s)) {}
  bool await_ready() const noexcept { return !s_->connecting; }
  void await_suspend(std::coroutine_handle<> h) { s_->more().connect_waiter = h; }
  // Abortable (detail/abort.hpp): destroys the socket with ABORT_ERR, as
  // Node's `signal` option does while connecting.
  loop_core& abort_core() const noexcept { return s_->loop->core(); }
  void abort() noexcept {
    if (s_->connecting && s_->x && s_->x->connect_waiter) s_->destroy(error(errc::abort_err));
  }
  // Stopped before it was awaited: the connect started by connect() stops too.
  void abandon_unstarted() noexcept {
    if (s_->connecting) s_->destroy(error(errc::abort_err));
  }
  void await_resume() {
    if (s_->x && s_->x->connect_failure) {
      const auto failure = std::exchange(s_->x->connect_failure, nullptr);
      throw *failure;
    }
    if (s_->destroyed || s_->fd < 0) {
      if (const error* e = s_->destroyed_by()) throw *e;
      throw error(errc::err_socket_closed_before_connection);
    }
  }

 private:
  std::shared_ptr<socket_state<Backend>> s_;
};


// Fails at once, before suspending, when the socket cannot do the operation.
// A code, not an error: it sits in every awaiter (in the coroutine frame),
// and a net::error with its strings is over 200 bytes.
template <typename Backend>
std::optional<errc> closed_error(const std::shared_ptr<socket_state<Backend>>& s) {
  if (!s || s->destroyed || (s->fd < 0 && !s->connecting)) return errc::err_socket_closed;
  return std::nullopt;
}
// What an operation cut short by destroy() throws: destroy's error if it had one.
template <typename Backend>
error cut_short(const std::shared_ptr<socket_state<Backend>>& s) {
  if (const error* e = s ? s->destroyed_by() : nullptr) return *e;
  return error(errc::err_socket_closed);
}

/// One recv. The op lives here, in the awaiting frame. Pooled: into a
/// block of the pool that the backend takes once bytes are there, handed
/// to the caller as a net::buffer.
template <typename Backend, bool Pooled>
class basic_read_awaitable : public io_op {
 public:
  basic_read_awaitable(std::shared_ptr<socket_state<Backend>> s, std::span<std::byte> buf) : s_(std::move(s)) {
    code = Pooled ? op_code::recv_pooled : op_code::recv;
    complete = &on_complete;
    args.recv = {buf.data(), buf.size(), 0};
  }
  explicit basic_read_awaitable(std::shared_ptr<socket_state<Backend>> s) requires Pooled : s_(std::move(s)) {
    code = op_code::recv_pooled;
    complete = &on_complete;
    args.recv = {nullptr, block_pool::block_size, 0};
  }
  basic_read_awaitable(const basic_read_awaitable&) = delete;
  ~basic_read_awaitable() {
    if (in_flight()) s_->loop->abandon(*this);
    if (s_ && s_->pending_read == this) s_->pending_read = nullptr;
    if (s_ && s_->x && s_->x->failed_read == this) s_->x->failed_read = nullptr;
    if constexpr (Pooled) block_pool::give(static_cast<std::byte*>(args.recv.buf));
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    if ((early_ = closed_error(s_))) return false;
    s_->pulled = true;  // from now on each await asks for the next bytes: no read ahead
    if (!s_->rbuf_empty() || s_->rbuf_eof) {  // read ahead already: take it
      result = socket_state<Backend>::served_from_buffer;
      return false;
    }
    if (!s_->readable) {  // already at the end: 0 again, as a stream's read() after 'end'
      result = 0;
      return false;
    }
    waiter_ = h;
    if (s_->connecting || s_->flow_read.in_flight()) {  // parked: started once connected, or served by that read
      s_->pending_read = this;
      return true;
    }
    fd = s_->fd;
    counts_alive = s_->ref;
    if (s_->loop->start(*this)) return false;
    s_->pending_read = this;
    return true;
  }
  auto await_resume() {
    if (s_ && s_->pending_read == this) s_->pending_read = nullptr;
    if (early_) throw error(*early_);
    if (result == socket_state<Backend>::served_from_buffer) return from_buffer();
    if (result < 0) {
      if (result == -ECANCELED) throw aborted_ ? error(errc::abort_err) : cut_short(s_);
      throw error::from_syscall("read", errno_code(-result));
    }
    const auto n = static_cast<std::size_t>(result);
    s_->bytes_read += n;
    s_->touch();
    if (n == 0 && args.recv.len > 0 && s_->readable) s_->on_eof();  // "end", then end() unless allowHalfOpen
    if constexpr (Pooled) {
      auto* block = static_cast<std::byte*>(std::exchange(args.recv.buf, nullptr));
      if (n == 0) {
        block_pool::give(block);
        return buffer();
      }
      return buffer::adopt(block, n);
    } else {
      return n;
    }
  }

 private:
  // What the read ahead buffered; at its end, the FIN it read.
  auto from_buffer() {
    const bool eof = s_->rbuf_empty();
    if (eof && s_->readable) s_->on_eof();
    if constexpr (Pooled) {
      return eof ? buffer() : s_->take_buffered_block();
    } else {
      return eof ? std::size_t{0}
                 : s_->take_buffered({static_cast<std::byte*>(args.recv.buf), args.recv.len});
    }
  }
  static void on_complete(io_op* op, int) noexcept { resume(static_cast<basic_read_awaitable*>(op)->waiter_); }
  std::shared_ptr<socket_state<Backend>> s_;
  std::coroutine_handle<> waiter_;
  std::optional<errc> early_;
  bool aborted_ = false;

 public:
  // Abortable (detail/abort.hpp). No byte is lost: a read waiting for the
  // connection or for the socket's own read in flight stops waiting (what
  // that read brings stays buffered for the next one); a recv in the kernel
  // is cancelled, and one the kernel finished first returns its bytes.
  loop_core& abort_core() const noexcept { return s_->loop->core(); }
  void abort() noexcept {
    if (aborted_ || !waiter_) return;
    if (this->in_flight()) {
      aborted_ = true;
      s_->loop->cancel(this->id);
    } else if (s_->pending_read == this) {
      aborted_ = true;
      s_->pending_read = nullptr;
      this->result = -ECANCELED;
      resume(waiter_);
    }
    // else: its outcome is on the way (served from the buffer, or failed by destroy()).
  }
};

/// Resumes once all of data is in the kernel (or throws the write's
/// error). The bytes are not copied: they join the socket's write queue
/// as they are, and the frame waits. Discarded without co_await (the
/// event style's `s.write(data)`), it queues a copy as write(data, cb) does.
template <typename Backend>
class write_awaitable : private socket_state<Backend>::write_waiter {
 public:
  write_awaitable(std::shared_ptr<socket_state<Backend>> s, std::span<const std::byte> data) : s_(std::move(s)), data_(data) {
    this->done = &on_done;
  }
  write_awaitable(const write_awaitable&) = delete;
  ~write_awaitable() {
    if (!s_) return;
    if (phase_ == phase::queued) s_->forget_waiter(this);
    if (phase_ == phase::unused) s_->write(data_, {});  // the event style: fire and forget
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    phase_ = phase::told;
    if ((early_ = closed_error(s_))) return false;
    if (!s_->writable) {
      early_ = errc::err_stream_write_after_end;
      return false;
    }
    if (data_.empty()) return false;
    waiter_ = h;
    phase_ = phase::queued;
    submitting_ = true;
    s_->submit_awaited(data_, this);
    submitting_ = false;
    return phase_ == phase::queued;  // told already: the kernel took it all at once
  }
  void await_resume() {
    if (early_) throw error(*early_);
    if (!error_) return;
    if (error_ == errc::abort_err) throw error::aborted(errc::abort_err, this->written);
    if (error_ == errc::err_stream_destroyed) throw error(errc::err_socket_closed);
    if (const error* e = s_ ? s_->destroyed_by() : nullptr; e && e->code() == error_) throw *e;
    throw error::from_syscall("write", error_);
  }

 private:
  enum class phase : std::uint8_t { unused, queued, told };
  static void on_done(typename socket_state<Backend>::write_waiter* w, std::error_code ec) noexcept {
    auto* self = static_cast<write_awaitable*>(w);
    self->error_ = ec;
    self->phase_ = phase::told;
    if (!self->submitting_) resume(self->waiter_);
  }
  std::shared_ptr<socket_state<Backend>> s_;
  std::span<const std::byte> data_;
  std::coroutine_handle<> waiter_;
  std::error_code error_;
  std::optional<errc> early_;
  phase phase_ = phase::unused;
  bool submitting_ = false;

 public:
  // Abortable (detail/abort.hpp): the bytes not yet in the kernel are not
  // sent (a send in flight finishes first: the kernel reads this frame's
  // bytes), and the error says how many were (error::bytes_written). The
  // socket stays open, its stream cut after those bytes.
  loop_core& abort_core() const noexcept { return s_->loop->core(); }
  void abort() noexcept {
    if (phase_ == phase::queued) s_->abort_waiter(this);
  }
  // A stop before the write began: no write at all (not the discarded
  // write's copy that the destructor would send).
  void abandon_unstarted() noexcept { phase_ = phase::told; }
};

/// What end() returns. end() has already ended the socket; awaiting this
/// resumes at "finish" (everything written is in the kernel, and the FIN
/// went), or throws what destroyed the socket first.
template <typename Backend>
class end_awaitable : private socket_state<Backend>::write_waiter {
 public:
  explicit end_awaitable(std::shared_ptr<socket_state<Backend>> s) : s_(std::move(s)) { this->done = &on_done; }
  end_awaitable(const end_awaitable&) = delete;
  ~end_awaitable() {
    if (s_ && waiting_) s_->forget_waiter(this);
  }
  bool await_ready() const noexcept { return !s_ || s_->finish_emitted; }
  bool await_suspend(std::coroutine_handle<> h) {
    if (s_->destroyed) {
      error_ = s_->destroyed_by() ? s_->destroyed_by()->code() : make_error_code(errc::err_stream_destroyed);
      return false;
    }
    waiter_ = h;
    waiting_ = true;
    s_->more().end_waiters.push_back(this);
    return true;
  }
  void await_resume() {
    if (!error_) return;
    if (error_ == errc::abort_err) throw error(errc::abort_err);
    if (const error* e = s_ ? s_->destroyed_by() : nullptr; e && e->code() == error_) throw *e;
    throw error(errc::err_socket_closed);
  }

 private:
  static void on_done(typename socket_state<Backend>::write_waiter* w, std::error_code ec) noexcept {
    auto* self = static_cast<end_awaitable*>(w);
    self->error_ = ec;
    self->waiting_ = false;
    resume(self->waiter_);
  }
  std::shared_ptr<socket_state<Backend>> s_;
  std::coroutine_handle<> waiter_;
  std::error_code error_;
  bool waiting_ = false;

 public:
  // Abortable (detail/abort.hpp): stops waiting for "finish"; the socket
  // stays ended, and what was written still goes.
  loop_core& abort_core() const noexcept { return s_->loop->core(); }
  void abort() noexcept {
    if (!waiting_) return;
    s_->forget_waiter(this);
    waiting_ = false;
    error_ = make_error_code(errc::abort_err);
    resume(waiter_);
  }
};

}  // namespace detail
NETXX_END_NAMESPACE
