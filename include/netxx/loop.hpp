// SPDX-License-Identifier: BSL-1.0
#pragma once
/// The event loop: one per thread, as Node has one per process. basic_loop is
/// a template over its backend; net::loop uses the automatic backend, which
/// takes io_uring and falls back to epoll at run time when io_uring cannot be
/// set up. NETXX_BACKEND=io_uring|epoll forces one. Built with
/// NETXX_DISABLE_IO_URING, the automatic backend is epoll alone and nothing
/// of liburing is included.

#include <sys/socket.h>

#include <coroutine>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

#include "config.hpp"
#include "detail/epoll/backend.hpp"
#include "detail/loop_core.hpp"
#include "detail/op.hpp"
#include "detail/unique_function.hpp"
#include "detail/uring/config.hpp"
#ifndef NETXX_DISABLE_IO_URING
#  include "detail/uring/backend.hpp"
#endif
#include "errors.hpp"
#include "task.hpp"

NETXX_BEGIN_NAMESPACE

/// Which backend a loop runs on, and what its kernel offered.
struct backend_features {
  std::string_view backend;           // "io_uring" or "epoll"
  bool fell_back = false;             // automatic backend: io_uring was refused
  std::error_code uring_error;         // why, when it fell back
  detail::uring_features uring;       // all false under epoll
  bool uring_compiled = detail::uring_compiled;  // false in an epoll-only build (NETXX_DISABLE_IO_URING)
};

/// Backend choice for the automatic backend.
enum class backend_choice { automatic, io_uring, epoll };

/// Reads NETXX_BACKEND: "io_uring" (or "uring"), "epoll"; unset or empty
/// for automatic. Any other value throws ERR_INVALID_ARG_VALUE naming the
/// allowed ones (a typo must not quietly give a backend nobody asked for).
inline backend_choice backend_from_env() {
  const char* v = std::getenv("NETXX_BACKEND");
  if (!v || !*v) return backend_choice::automatic;
  std::string_view s(v);
  if (s == "io_uring" || s == "uring") return backend_choice::io_uring;
  if (s == "epoll") return backend_choice::epoll;
  throw error(errc::err_invalid_arg_value,
              std::string("NETXX_BACKEND=").append(s).append(
                  " is not a backend: allowed values are io_uring, uring, epoll (unset or empty: automatic)"));
}

NETXX_END_NAMESPACE

#define NETXX_LOOP_BACKEND_TYPES 1  // what detail/auto_backend.hpp needs is declared
#include "detail/auto_backend.hpp"

NETXX_BEGIN_NAMESPACE

/// The outcome of a low-level I/O operation: a count (or a new descriptor),
/// or an error. Cancellation reads as ABORT_ERR, as Node's AbortSignal does.
struct io_result {
  int res = 0;

  bool ok() const noexcept { return res >= 0; }
  explicit operator bool() const noexcept { return ok(); }
  std::size_t value() const noexcept { return res >= 0 ? static_cast<std::size_t>(res) : 0; }
  std::error_code error() const noexcept {
    if (res >= 0) return {};
    if (res == -ECANCELED) return make_error_code(errc::abort_err);
    return errno_code(-res);
  }
};

template <typename Backend>
class basic_loop;

namespace detail {

/// What a stop_token runs for an operation in flight: a cancel by id, safe
/// from any thread and after the operation is gone.
template <typename Backend>
struct canceller {
  basic_loop<Backend>* loop;
  std::uint64_t id;
  void operator()() const noexcept { loop->cancel(id); }
};

/// The awaiter of every low-level operation. The io_op lives here, in the
/// awaiting frame: starting an operation allocates nothing.
template <typename Backend>
class io_awaitable : public io_op {
 public:
  io_awaitable(basic_loop<Backend>& loop, op_code c, int fd_, io_op::args_t a, std::stop_token st = {})
      : loop_(&loop), stop_(std::move(st)) {
    code = c;
    fd = fd_;
    args = a;
    complete = &on_complete;
  }
  io_awaitable(const io_awaitable&) = delete;
  io_awaitable& operator=(const io_awaitable&) = delete;
  ~io_awaitable() {
    stop_cb_.reset();
    if (in_flight()) loop_->abandon(*this);
  }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    if (stop_.stop_requested()) {
      result = -ECANCELED;
      return false;
    }
    waiter_ = h;
    if (loop_->start(*this)) return false;
    if (stop_.stop_possible()) stop_cb_.emplace(stop_, canceller<Backend>{loop_, id});
    return true;
  }
  io_result await_resume() noexcept {
    stop_cb_.reset();
    return {result};
  }
  // Abortable (detail/abort.hpp): cancelled in the kernel; the result then
  // reads ABORT_ERR (an io_result, never thrown), or what finished first.
  loop_core& abort_core() const noexcept { return loop_->core(); }
  void abort() noexcept {
    if (in_flight()) loop_->cancel(id);
  }

 private:

  static void on_complete(io_op* op, int) noexcept { detail::resume(static_cast<io_awaitable*>(op)->waiter_); }

  basic_loop<Backend>* loop_;
  std::coroutine_handle<> waiter_;
  std::stop_token stop_;
  std::optional<std::stop_callback<canceller<Backend>>> stop_cb_;
};

/// Awaits a timer on the loop's heap. Registered in the op table as well, so
/// a cancel from another thread can name it safely.
template <typename Backend>
class sleep_awaitable : public io_op {
 public:
  sleep_awaitable(basic_loop<Backend>& loop, std::int64_t ms, std::stop_token st)
      : loop_(&loop), ms_(ms), stop_(std::move(st)) {
    code = op_code::timer;
    complete = &on_complete;
    timer_.fire = &on_fire;
    timer_.ref = false;  // the op entry keeps the loop alive, not the timer
  }
  sleep_awaitable(const sleep_awaitable&) = delete;
  sleep_awaitable& operator=(const sleep_awaitable&) = delete;
  ~sleep_awaitable() {
    stop_cb_.reset();
    auto& core = loop_->core();
    core.disarm_timer(timer_);
    if (in_flight()) {
      core.undefer(*this);
      core.abandon_op(*this, /*keep_slot=*/false);
    }
  }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    if (stop_.stop_requested()) {
      result = -ECANCELED;
      return false;
    }
    waiter_ = h;
    auto& core = loop_->core();
    core.register_op(*this);
    core.arm_timer(timer_, ms_);
    if (stop_.stop_possible()) stop_cb_.emplace(stop_, canceller<Backend>{loop_, id});
    return true;
  }
  void await_resume() {
    stop_cb_.reset();
    if (result == -ECANCELED) throw error(errc::abort_err);
  }

  // Abortable (detail/abort.hpp): as a stop_token of its own would.
  loop_core& abort_core() const noexcept { return loop_->core(); }
  void abort() noexcept {
    if (in_flight() && result != -ECANCELED) cancel_timer();
  }

  /// For the loop's cancel(): the timer stops, the waiter resumes next turn.
  void cancel_timer() noexcept {
    loop_->core().disarm_timer(timer_);
    loop_->core().defer_completion(*this, -ECANCELED);
  }

 private:
  struct timer_hook : timer_node {
    sleep_awaitable* self;
  };

  static void on_fire(timer_node* t) noexcept {
    auto* self = static_cast<timer_hook*>(t)->self;
    self->loop_->core().complete_op(self->id, 0);
  }
  static void on_complete(io_op* op, int) noexcept { detail::resume(static_cast<sleep_awaitable*>(op)->waiter_); }

  basic_loop<Backend>* loop_;
  std::int64_t ms_;
  std::stop_token stop_;
  std::coroutine_handle<> waiter_;
  timer_hook timer_{{}, this};
  std::optional<std::stop_callback<canceller<Backend>>> stop_cb_;
};

}  // namespace detail

/// Node's event loop (libuv's uv_loop_t), one per thread. run() returns when
/// nothing referenced is left: no ref'd handle, no pending request, no ref'd
/// armed timer, no posted call (libuv's rule, so ref()/unref() mean what they
/// mean in Node).
template <typename Backend>
class basic_loop {
 public:
  using backend_type = Backend;

  basic_loop() : backend_(core_) {}
  template <typename... Args>
  explicit basic_loop(std::in_place_t, Args&&... args) : backend_(core_, std::forward<Args>(args)...) {}
  basic_loop(const basic_loop&) = delete;
  basic_loop& operator=(const basic_loop&) = delete;
  /// Work still running for this loop on other threads (DNS lookups) is told
  /// the loop is gone first, while the backend can still be woken: it drops
  /// its answer instead of posting it here.
  ~basic_loop() { core_.remote_loop_gone(); }

  /// The loop of the calling thread, created on first use.
  static basic_loop& current();

  /// Runs until nothing referenced is left, or stop(). Returns 0. An
  /// exception out of a listener propagates; uncaught, it ends the process
  /// as Node's would (Node's report on stderr, exit status 1).
  int run();

  /// Runs the loop until `t` completes; returns its value (0 for a void
  /// task, so `return net::run(main_task());` is a whole main) or rethrows
  /// its exception. A caller may catch that exception; if none does, the
  /// process ends as Node's does on an uncaught exception: Node's report on
  /// stderr, exit status 1 (not std::terminate's abort). Work it spawned that
  /// is still pending stays on the loop for the next run(). Throws
  /// std::runtime_error when the loop runs out of referenced work while `t`
  /// still waits (it could never complete).
  template <typename T>
  auto run(task<T> t) -> std::conditional_t<std::is_void_v<T>, int, T> {
    if (!t.valid()) throw std::invalid_argument("netxx::run: empty task");
    stopped_ = false;
    detail::run_guard guard;
    run_scope scope(*this);
    run_result<T> r;
    task<void> d = drive(std::move(t), r);
    try {
      detail::resume(d.handle());
      while (!r.done) {
        if (stopped_ || !core_.alive())
          throw std::runtime_error(
              "netxx::run: the task waits for something that can never happen: no referenced work is left on the "
              "loop");
        turn();
      }
    } catch (...) {
      detail::leaving_run(std::current_exception());
      throw;
    }
    task_done_ = false;
    if (r.error) {
      detail::leaving_run(r.error);
      std::rethrow_exception(r.error);
    }
    if constexpr (std::is_void_v<T>) {
      return 0;
    } else {
      return std::move(*r.value);
    }
  }

  /// Runs one turn: timers, deferred completions, posted calls, then one
  /// wait for I/O (not blocking when block is false).
  void turn(bool block = true);

  /// Makes run() return after the current turn (uv_stop).
  void stop() noexcept { stopped_ = true; }

  /// Queues fn to run on this loop's thread; the one thread-safe entry.
  /// A posted call keeps run() going until it has run.
  void post(detail::unique_function fn) { core_.post(std::move(fn)); }

  /// The loop's cached monotonic time in milliseconds (uv_now).
  std::int64_t now() const noexcept { return core_.now(); }
  /// True while run() would keep going.
  bool alive() const noexcept { return core_.alive(); }
  /// The backend this loop runs on and the kernel features it found.
  backend_features features() const { return detail::features_of(backend_); }
  std::string_view backend_name() const { return features().backend; }

  // --- low-level awaitable operations on descriptors ------------------------------
  // Each resumes with an io_result; a stop_token cancels it (ABORT_ERR).
  // Descriptors used here must be closed with close()/close_now(), so the
  // backend forgets them.

  auto accept(int fd, sockaddr* addr, socklen_t* addrlen, std::stop_token st = {}) {
    return op(detail::op_code::accept, fd, {.accept = {addr, addrlen, 0}}, std::move(st));
  }
  auto connect(int fd, const sockaddr* addr, socklen_t addrlen, std::stop_token st = {}) {
    return op(detail::op_code::connect, fd, {.connect = {addr, addrlen}}, std::move(st));
  }
  auto recv(int fd, std::span<std::byte> buf, int flags = 0, std::stop_token st = {}) {
    return op(detail::op_code::recv, fd, {.recv = {buf.data(), buf.size(), flags}}, std::move(st));
  }
  auto send(int fd, std::span<const std::byte> buf, int flags = 0, std::stop_token st = {}) {
    return op(detail::op_code::send, fd, {.send = {buf.data(), buf.size(), flags}}, std::move(st));
  }
  /// Gathered send (writev): queued chunks go out in one system call.
  auto sendmsg(int fd, const msghdr& msg, int flags = 0, std::stop_token st = {}) {
    return op(detail::op_code::sendmsg, fd, {.sendmsg = {&msg, flags}}, std::move(st));
  }
  /// Resumes once fd is readable (0), without reading.
  auto poll_readable(int fd, std::stop_token st = {}) {
    return op(detail::op_code::poll_in, fd, {.none = {0}}, std::move(st));
  }
  /// Closes fd; what was in flight on it completes with ABORT_ERR.
  auto close(int fd) { return op(detail::op_code::close, fd, {.none = {0}}, {}); }
  /// Closes fd at once, from code that cannot await.
  int close_now(int fd) { return backend_.close_fd(fd); }
  /// close_now() for an owner that knows nothing is in flight on fd (io_uring:
  /// no cancel to submit first).
  int close_idle(int fd) noexcept { return backend_.close_idle_fd(fd); }
  /// Resumes after ms milliseconds (Node's timers/promises setTimeout);
  /// throws ABORT_ERR when st fires first.
  auto sleep(std::int64_t ms, std::stop_token st = {}) {
    return detail::sleep_awaitable<Backend>(*this, ms < 0 ? 0 : ms, std::move(st));
  }

  // --- for the layers above -----------------------------------------------------------
  detail::loop_core& core() noexcept { return core_; }
  Backend& backend() noexcept { return backend_; }
  bool start(detail::io_op& op) { return backend_.start(op); }
  void abandon(detail::io_op& op) { backend_.abandon(op); }

  /// Cancels an operation by id, from any thread (a stop_token may fire
  /// anywhere); on another thread it is posted to this loop.
  void cancel(std::uint64_t id);

 private:
  // Marks the loop as running, and hands the backend's queued work to the
  // kernel when the outermost run() returns (or throws).
  struct run_scope {
    basic_loop& l;
    explicit run_scope(basic_loop& loop) noexcept : l(loop) { l.core_.enter_run(); }
    run_scope(const run_scope&) = delete;
    run_scope& operator=(const run_scope&) = delete;
    ~run_scope() {
      l.core_.leave_run();
      if (!l.core_.running()) l.backend_.flush();
    }
  };

  detail::io_awaitable<Backend> op(detail::op_code c, int fd, detail::io_op::args_t a, std::stop_token st) {
    return detail::io_awaitable<Backend>(*this, c, fd, a, std::move(st));
  }

  // Awaits t (keeping its result in its own promise) and flags the end, so
  // the turn in progress does not go to sleep afterwards.
  template <typename T>
  struct run_result {
    std::optional<std::conditional_t<std::is_void_v<T>, char, T>> value;
    std::exception_ptr error;
    bool done = false;
  };
  template <typename T>
  task<void> drive(task<T> t, run_result<T>& r) {
    try {
      if constexpr (std::is_void_v<T>)
        co_await std::move(t);
      else
        r.value.emplace(co_await std::move(t));
    } catch (...) {
      r.error = std::current_exception();
    }
    r.done = true;
    task_done_ = true;
  }

  detail::loop_core core_;
  Backend backend_;
  bool stopped_ = false;
  bool task_done_ = false;
};

NETXX_END_NAMESPACE

NETXX_BEGIN_NAMESPACE

/// The backends, for basic_loop<B> and friends: naming one removes the
/// run-time dispatch of the automatic backend.
#ifndef NETXX_DISABLE_IO_URING
using uring_backend = detail::uring_backend;
#endif
using epoll_backend = detail::epoll_backend;
using auto_backend = detail::auto_backend;

/// The loop type of net::socket and net::server: automatic backend.
using loop = basic_loop<auto_backend>;

/// Runs this thread's loop until nothing referenced is left (Node's process
/// lifetime). Returns 0.
template <typename Backend = auto_backend>
int run() {
  detail::run_guard guard;  // from before the loop is made: a failure to make it is reported as Node's
  return basic_loop<Backend>::current().run();
}

/// Runs this thread's loop until t completes; its value, or its exception.
template <typename T>
auto run(task<T> t) {
  detail::run_guard guard;  // from before the loop is made: a failure to make it is reported as Node's
  return loop::current().run(std::move(t));
}

/// Resumes after ms milliseconds; ABORT_ERR if st fires first.
template <typename Backend = auto_backend>
auto sleep(std::int64_t ms, std::stop_token st = {}) {
  return basic_loop<Backend>::current().sleep(ms, std::move(st));
}

NETXX_END_NAMESPACE

#if NETXX_HEADER_ONLY
#  include "impl/loop.ipp"
#endif
