// SPDX-License-Identifier: BSL-1.0
#pragma once
/// Aborting and time-limiting any operation: what Node does with an
/// AbortSignal (`{ signal }`) and AbortSignal.timeout(), for every awaitable
/// of netxx, in one form:
///
///   co_await net::abortable(s.read(buf), token);   // a std::stop_token
///   co_await net::timeout(s.read(buf), 5s);        // a deadline
///   co_await net::abortable(handle(s), token);     // a task: everything it awaits
///
/// A stopped token (from any thread) resumes the operation with
/// net::error(errc::abort_err), "The operation was aborted"; a deadline with
/// errc::timeout_err, "The operation was aborted due to timeout" (Node's
/// TimeoutError). An operation that already had its outcome keeps it. What
/// each operation leaves behind is its own (docs/api.md, "Beyond Node"): a
/// read loses no byte, a write says how much it sent (error::bytes_written),
/// a connect destroys its socket, an accept leaves the connection for the
/// next one.
///
/// A task awaited so runs under a token of its own: every abortable
/// operation it awaits (and every task it awaits, and so on down) is aborted
/// with it, and each later await throws at once. `co_await
/// net::get_stop_token()` inside a task gives that token, for work of its
/// own to watch.
///
/// The operation is held by reference while it lives in the co_await
/// expression (netxx's operations do not move): write the call inside
/// `co_await`, never `auto a = net::abortable(s.read(buf), t);`.

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "config.hpp"
#include "detail/abort.hpp"
#include "detail/loop_core.hpp"
#include "errors.hpp"
#include "task.hpp"

#if defined(__clang__)
#  define NETXX_LIFETIMEBOUND [[clang::lifetimebound]]
#else
#  define NETXX_LIFETIMEBOUND
#endif

NETXX_BEGIN_NAMESPACE
namespace detail {

inline error timed_out(const error& aborted) { return error::aborted(errc::timeout_err, aborted.bytes_written()); }

inline std::int64_t deadline_ms(std::chrono::nanoseconds d) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return ms < 0 ? 0 : ms;
}

/// A leaf operation with a deadline: the timer aborts it.
template <typename Op>
class [[nodiscard]] leaf_timeout {
 public:
  template <typename A>
  leaf_timeout(A&& op, std::int64_t ms) : op_(std::forward<A>(op)), ms_(ms) {
    timer_.fire = &on_fire;
    timer_.ref = false;  // the operation keeps the loop going, not its deadline
  }
  leaf_timeout(const leaf_timeout&) = delete;
  leaf_timeout& operator=(const leaf_timeout&) = delete;
  ~leaf_timeout() {
    if (core_) core_->disarm_timer(timer_);
  }

  bool await_ready() { return op().await_ready(); }
  bool await_suspend(std::coroutine_handle<> h) {
    if (!suspend_on(op(), h)) return false;
    core_ = &op().abort_core();
    core_->arm_timer(timer_, ms_);
    return true;
  }
  decltype(auto) await_resume() {
    if (core_) core_->disarm_timer(timer_);
    try {
      return op().await_resume();
    } catch (const error& e) {
      if (timed_out_ && e.code() == errc::abort_err) throw timed_out(e);
      throw;
    }
  }

  loop_core& abort_core() const noexcept { return op().abort_core(); }
  void abort() noexcept { op().abort(); }

 private:
  using op_type = std::remove_reference_t<Op>;
  op_type& op() noexcept { return op_; }
  const op_type& op() const noexcept { return op_; }
  struct hook : timer_node {
    leaf_timeout* self;
  };
  static void on_fire(timer_node* t) noexcept {
    auto* self = static_cast<hook*>(t)->self;
    self->timed_out_ = true;
    self->op().abort();
  }

  Op op_;
  std::int64_t ms_;
  hook timer_{{}, this};
  loop_core* core_ = nullptr;
  bool timed_out_ = false;
};

/// A task with a deadline: the timer stops the task's own token. The timer
/// is on the loop running on this thread when the task starts.
template <typename Task>
class [[nodiscard]] task_timeout {
 public:
  template <typename A>
  task_timeout(A&& t, std::int64_t ms) : inner_(std::forward<A>(t), std::stop_token()), ms_(ms) {
    inner_.make_stoppable();
    timer_.fire = &on_fire;
    timer_.ref = false;
  }
  task_timeout(const task_timeout&) = delete;
  task_timeout& operator=(const task_timeout&) = delete;
  ~task_timeout() {
    if (core_) core_->disarm_timer(timer_);
  }

  task_timeout& inherit(std::stop_token token) noexcept {
    inner_.inherit(std::move(token));
    return *this;
  }
  bool await_ready() const noexcept { return inner_.await_ready(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    core_ = loop_core::running_on_this_thread();
    if (!core_) throw std::logic_error("net::timeout: a task's deadline needs a loop running on this thread");
    core_->arm_timer(timer_, ms_);
    return inner_.await_suspend(h);
  }
  decltype(auto) await_resume() {
    if (core_) core_->disarm_timer(timer_);
    try {
      return inner_.await_resume();
    } catch (const error& e) {
      if (timed_out_ && e.code() == errc::abort_err) throw timed_out(e);
      throw;
    }
  }

 private:
  struct hook : timer_node {
    task_timeout* self;
  };
  static void on_fire(timer_node* t) noexcept {
    auto* self = static_cast<hook*>(t)->self;
    self->timed_out_ = true;
    self->inner_.abort();
  }

  task_abort_awaiter<Task> inner_;
  std::int64_t ms_;
  hook timer_{{}, this};
  loop_core* core_ = nullptr;
  bool timed_out_ = false;
};

}  // namespace detail

/// Awaits op under token: a stop (from any thread) aborts it with
/// ABORT_ERR. op is any abortable netxx operation, or a task (which then
/// runs under the token, and so does everything it awaits).
template <typename A>
auto abortable(A&& op NETXX_LIFETIMEBOUND, std::stop_token token) {
  using D = std::remove_cvref_t<A>;
  if constexpr (detail::is_task_v<D>) {
    static_assert(!std::is_lvalue_reference_v<A>, "net::abortable: pass the task by value (std::move it)");
    return detail::task_abort_awaiter<D>(std::move(op), std::move(token));
  } else {
    static_assert(detail::abortable_op<D>, "net::abortable: this awaitable has no abort() (see detail/abort.hpp)");
    return detail::abort_awaiter<A&&>(std::forward<A>(op), std::move(token));
  }
}

/// Awaits op, aborted with TimeoutError (errc::timeout_err) if it has not
/// finished after d (rounded up to milliseconds, the loop's clock, as Node's
/// AbortSignal.timeout()).
template <typename A, typename Rep, typename Period>
auto timeout(A&& op NETXX_LIFETIMEBOUND, std::chrono::duration<Rep, Period> d) {
  using D = std::remove_cvref_t<A>;
  const std::int64_t ms = detail::deadline_ms(d);
  if constexpr (detail::is_task_v<D>) {
    static_assert(!std::is_lvalue_reference_v<A>, "net::timeout: pass the task by value (std::move it)");
    return detail::task_timeout<D>(std::move(op), ms);
  } else {
    static_assert(detail::abortable_op<D>, "net::timeout: this awaitable has no abort() (see detail/abort.hpp)");
    return detail::leaf_timeout<A&&>(std::forward<A>(op), ms);
  }
}

/// Inside a task: `co_await net::get_stop_token()` is the token the task
/// runs under (empty when nothing can stop it).
inline detail::get_stop_token_t get_stop_token() noexcept { return {}; }

NETXX_END_NAMESPACE
