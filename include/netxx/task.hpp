#pragma once
/// net::task<T>: the coroutine type of every awaitable call in netxx.
/// Lazy (nothing runs until awaited or spawned), move-only, exceptions
/// propagate to the awaiter, and control passes between awaiter and awaited
/// by symmetric transfer, in constant stack: a loop of a million
/// synchronously-completing co_awaits, or a million-deep chain, is fine.
///
/// Why a trampoline: the standard makes symmetric transfer a tail call only
/// in spirit. Clang guarantees it; GCC does not at -O0 or under ASan, where a
/// million transfers overflow the stack. So every resumption netxx starts
/// goes through detail::resume(), and a transfer inside it hands the next
/// handle back to that loop instead of nesting a call. A task resumed by
/// someone else's code falls back to plain symmetric transfer.

#include <coroutine>
#include <cstdio>
#include <exception>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>
#include <variant>

#include "config.hpp"
#include "detail/recycling_allocator.hpp"

NETXX_BEGIN_NAMESPACE

template <typename T = void>
class task;

namespace detail {

struct trampoline_state {
  std::coroutine_handle<> next;
  bool active = false;
};
inline trampoline_state& trampoline() noexcept {
  static thread_local trampoline_state t;
  return t;
}

/// Resumes h, then whatever it transferred control to, until the chain
/// suspends for real. The one way netxx resumes a coroutine.
inline void resume(std::coroutine_handle<> h) {
  trampoline_state& t = trampoline();
  const bool outer = !t.active;
  auto saved = std::exchange(t.next, {});
  t.active = true;
  h.resume();
  while (auto n = std::exchange(t.next, {})) n.resume();
  t.next = saved;
  if (outer) t.active = false;
}

/// Symmetric transfer to h: through the trampoline when one is running.
inline std::coroutine_handle<> transfer_to(std::coroutine_handle<> h) noexcept {
  trampoline_state& t = trampoline();
  if (!t.active || h == std::noop_coroutine()) return h;
  t.next = h;
  return std::noop_coroutine();
}

struct task_promise_base {
  std::coroutine_handle<> continuation = std::noop_coroutine();
  // Set by spawn(): the frame owns itself and reports an escaping exception.
  bool detached = false;

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
      auto& p = h.promise();
      if (p.detached) {
        // A detached task frees itself; report what escaped it first.
        if (p.has_exception()) p.report_detached_exception();
        h.destroy();
        return std::noop_coroutine();
      }
      return transfer_to(p.continuation);
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  final_awaiter final_suspend() const noexcept { return {}; }

  // Frames come from the thread's recycling cache: a server makes and
  // unmakes one per connection (see detail/recycling_allocator.hpp).
  static void* operator new(std::size_t n) { return recycled_allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept { recycled_deallocate(p, n); }
};

/// Called with an exception that escaped a spawned (detached) task.
using unhandled_exception_handler = void (*)(std::exception_ptr);

inline void default_unhandled_exception(std::exception_ptr e) {
  // Like an uncaught exception in Node or in a std::thread: report, then end
  // the process. Never swallowed. set_unhandled_exception_handler replaces it.
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    std::fprintf(stderr, "netxx: exception escaped a spawned task: %s\n", x.what());
  } catch (...) {
    std::fprintf(stderr, "netxx: non-standard exception escaped a spawned task\n");
  }
  std::terminate();
}

inline unhandled_exception_handler& unhandled_handler() noexcept {
  static thread_local unhandled_exception_handler h = &default_unhandled_exception;
  return h;
}

template <typename T>
struct task_promise final : task_promise_base {
  std::variant<std::monostate, T, std::exception_ptr> result;

  task<T> get_return_object() noexcept;
  template <typename U>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    result.template emplace<1>(std::forward<U>(v));
  }
  void unhandled_exception() noexcept { result.template emplace<2>(std::current_exception()); }
  bool has_exception() const noexcept { return result.index() == 2; }
  void report_detached_exception() { unhandled_handler()(std::get<2>(result)); }

  T take() {
    if (result.index() == 2) std::rethrow_exception(std::get<2>(result));
    return std::move(std::get<1>(result));
  }
};

template <>
struct task_promise<void> final : task_promise_base {
  std::exception_ptr error;

  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void unhandled_exception() noexcept { error = std::current_exception(); }
  bool has_exception() const noexcept { return error != nullptr; }
  void report_detached_exception() { unhandled_handler()(error); }

  void take() {
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace detail

/// Replaces what happens when an exception escapes a spawned task on this
/// thread (default: print it to stderr and std::terminate, as Node ends the
/// process on an uncaught exception). Returns the previous handler.
inline detail::unhandled_exception_handler set_unhandled_exception_handler(
    detail::unhandled_exception_handler h) noexcept {
  return std::exchange(detail::unhandled_handler(), h ? h : &detail::default_unhandled_exception);
}

/// A lazy coroutine producing a T (or an exception). `co_await` it to run it.
template <typename T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task() noexcept = default;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() {
    if (h_) h_.destroy();
  }

  /// True when this object holds a coroutine (not moved-from or default).
  bool valid() const noexcept { return static_cast<bool>(h_); }
  /// True once the coroutine has run to its end.
  bool done() const noexcept { return h_ && h_.done(); }

  auto operator co_await() && noexcept {
    struct awaiter {
      std::coroutine_handle<promise_type> h;
      bool await_ready() const noexcept { return !h || h.done(); }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        h.promise().continuation = awaiting;
        return detail::transfer_to(h);  // start the child without growing the stack
      }
      T await_resume() { return h.promise().take(); }
    };
    return awaiter{h_};
  }

  /// For the runtime: give up ownership of the frame.
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, {}); }
  std::coroutine_handle<promise_type> handle() const noexcept { return h_; }

 private:
  std::coroutine_handle<promise_type> h_;
};

namespace detail {
template <typename T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}
}  // namespace detail

/// Starts a task now, detached: it runs until its first suspension before
/// spawn returns, owns itself, and frees itself when done. An exception that
/// escapes it goes to the unhandled-exception handler, never dropped.
template <typename T>
void spawn(task<T> t) {
  auto h = t.release();
  if (!h) return;
  h.promise().detached = true;
  detail::resume(h);
}

NETXX_END_NAMESPACE
