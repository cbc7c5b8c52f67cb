// SPDX-License-Identifier: BSL-1.0
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

#include <cxxabi.h>

#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <new>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>
#include <vector>

#include "config.hpp"
#include "detail/recycling_allocator.hpp"
#include "errors.hpp"
#include "ip.hpp"

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
  // The token the task runs under (net::abortable, net::timeout, when_any's
  // losers): every abortable operation it awaits is aborted by it. Empty for
  // a task nobody can stop, which then awaits as if this were not here.
  std::stop_token stop_token_;
  // Set by spawn(): the frame owns itself and reports an escaping exception.
  bool detached = false;

  // Hands stop_token_ to what the task awaits (detail/abort.hpp).
  template <typename A>
  decltype(auto) await_transform(A&& a);

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

/// The start of the first line of Node's report: the error's class name, and
/// for Node's own ERR_* errors their code in brackets ("TypeError
/// [ERR_INVALID_ARG_TYPE]"), as Node's NodeError names itself.
inline std::string inspect_name(const error& e) {
  const std::string code(e.code_string());
  if (e.is_aggregate()) return "AggregateError [" + code + "]";
  if (e.code().category() != netxx_category()) return "Error";
  switch (static_cast<errc>(e.code().value())) {
    case errc::abort_err: return "AbortError";
    case errc::timeout_err: return "DOMException [TimeoutError]";  // AbortSignal.timeout()'s reason
    case errc::err_invalid_address: return "Error";  // thrown by Node's C++ side: no [code]
    case errc::err_invalid_arg_type:
    case errc::err_invalid_arg_value:
    case errc::err_missing_args:
    case errc::err_invalid_handle_type:
    case errc::err_invalid_fd_type:
    case errc::err_unknown_encoding:
    case errc::err_invalid_ip_address: return "TypeError [" + code + "]";
    case errc::err_out_of_range:
    case errc::err_socket_bad_port:
    case errc::err_invalid_addrtype: return "RangeError [" + code + "]";
    default: break;
  }
  // The getaddrinfo codes are DNSExceptions: plain "Error".
  return code.starts_with("ERR_") ? "Error [" + code + "]" : "Error";
}

/// What Node prints for an uncaught error (util.inspect of it), without the
/// stack Node has and C++ has not: "Error: connect ECONNREFUSED
/// 127.0.0.1:1", for an "error" nobody listened to the line "Emitted 'error'
/// event on Socket instance", then the properties in the order Node's error
/// constructor sets them ({ errno, code, syscall, address, port }).
inline std::string inspect(const error& e, std::string_view emitter, int indent) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  std::string out = inspect_name(e) + ": " + e.message();
  if (!emitter.empty())
    out.append("\n").append(pad).append("Emitted 'error' event on ").append(emitter).append(" instance");

  std::vector<std::pair<std::string_view, std::string>> props;
  const bool system = e.code().category() == std::system_category() || e.code().category() == std::generic_category();
  auto code = [&] { props.emplace_back("code", inspect_string(e.code_string())); };
  auto errno_value = [&] {
    props.emplace_back("errno", e.errno_value() != 0 ? std::to_string(e.errno_value()) : std::string("undefined"));
  };
  auto syscall = [&] { props.emplace_back("syscall", inspect_string(e.syscall())); };
  auto address_port = [&] {
    if (!e.address().empty()) props.emplace_back("address", inspect_string(e.address()));
    if (e.port() && *e.port() > 0) props.emplace_back("port", std::to_string(*e.port()));
  };
  switch (e.is_aggregate() ? error::shape::plain : e.shape_) {
    case error::shape::plain:
      if (system && !e.is_aggregate()) errno_value();
      if (e.code()) code();
      break;
    case error::shape::syscall:
      errno_value();
      code();
      syscall();
      address_port();
      if (e.local_port()) {
        props.emplace_back("localAddress", inspect_string(e.local_address()));
        props.emplace_back("localPort", std::to_string(*e.local_port()));
      }
      break;
    case error::shape::uv:
      code();
      errno_value();
      syscall();
      address_port();
      break;
    case error::shape::dns:
      errno_value();
      code();
      syscall();
      if (!e.hostname().empty()) props.emplace_back("hostname", inspect_string(e.hostname()));
      break;
  }
  if (e.is_aggregate()) {
    std::string list = "[\n";
    const auto errors = e.errors();
    for (std::size_t i = 0; i < errors.size(); ++i) {
      const char* separator = i + 1 < errors.size() ? ",\n" : "\n";
      list.append(pad).append("    ").append(inspect(errors[i], {}, indent + 4)).append(separator);
    }
    props.emplace_back("[errors]", list.append(pad).append("  ]"));
  }
  if (props.empty()) return out;
  out += " {\n";
  for (std::size_t i = 0; i < props.size(); ++i)
    out.append(pad).append("  ").append(props[i].first).append(": ").append(props[i].second).append(
        i + 1 < props.size() ? ",\n" : "\n");
  return out.append(pad).append("}");
}

/// An "error" event emitted with no listener, as the unhandled-exception
/// handler receives it: the error itself (a handler catches it as
/// netxx::error) and the kind of object that emitted it ("Socket",
/// "Server"), which Node's report names.
class emitted_error final : public error {
 public:
  emitted_error(const error& e, std::string_view emitter) : error(e), emitter_(emitter) {}
  std::string_view emitter() const noexcept { return emitter_; }

 private:
  std::string_view emitter_;  // a string literal
};

inline std::string demangled(const char* name) {
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string s = status == 0 && d ? d : name;
  std::free(d);
  return s;
}

/// What Node writes to stderr for an uncaught exception, without the stack:
/// a netxx::error as Node inspects its Error (detail::inspect), any other
/// exception as "<its type>: <what()>".
inline std::string uncaught_report(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const emitted_error& x) {
    return inspect(x, x.emitter());
  } catch (const error& x) {
    return inspect(x);
  } catch (const std::exception& x) {
    return demangled(typeid(x).name()) + ": " + x.what();
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    return "Uncaught exception of type " + (t ? demangled(t->name()) : std::string("unknown"));
  }
}

/// Node's end of the process on an uncaught exception or an "error" nobody
/// listens to: the report on stderr, then exit status 1. stdio is flushed,
/// but no atexit handler or static destructor runs (std::_Exit): they would
/// tear down the loop while this very call is inside one of its turns.
[[noreturn]] inline void exit_uncaught(std::exception_ptr e) noexcept {
  std::string report;
  try {
    report = uncaught_report(e);
  } catch (...) {
    report = "Uncaught exception";
  }
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", report.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

/// Called with an exception that escaped a spawned (detached) task, or an
/// "error" event nobody listens to.
using unhandled_exception_handler = void (*)(std::exception_ptr);

/// Like an uncaught exception in Node: report, then end the process with
/// status 1. Never swallowed. set_unhandled_exception_handler replaces it.
inline void default_unhandled_exception(std::exception_ptr e) { exit_uncaught(std::move(e)); }

inline unhandled_exception_handler& unhandled_handler() noexcept {
  static thread_local unhandled_exception_handler h = &default_unhandled_exception;
  return h;
}

// What Node calls an uncaught exception takes two shapes in C++, and both
// end in std::terminate with the exception current: one that run() lets out
// and no caller catches (the runtime calls std::terminate before unwinding),
// and one a listener throws into a noexcept frame of the loop (a timer's
// callback, an I/O completion). The terminate handler that run() installs
// recognises both (the exception run() let out, or any exception while this
// thread is inside run()) and ends the process as Node does, instead of
// aborting. A caller that catches what run() lets out has it as any C++
// exception; any other call of std::terminate goes to the handler that was
// there before.
inline std::exception_ptr& escaping_exception() noexcept {
  static thread_local std::exception_ptr e;
  return e;
}
inline int& run_depth() noexcept {
  static thread_local int depth = 0;
  return depth;
}
inline std::terminate_handler& previous_terminate_handler() noexcept {
  static std::terminate_handler h = nullptr;
  return h;
}
[[noreturn]] inline void terminate_on_uncaught() noexcept {
  if (auto cur = std::current_exception(); cur && (run_depth() > 0 || cur == escaping_exception()))
    exit_uncaught(cur);
  if (auto h = previous_terminate_handler()) h();
  std::abort();
}

/// Held by run() while it runs: the terminate handler is in place (set
/// once per process) and knows this thread is in the loop.
struct run_guard {
  run_guard() noexcept {
    static const bool installed = [] {
      previous_terminate_handler() = std::set_terminate(&terminate_on_uncaught);
      return true;
    }();
    (void)installed;
    escaping_exception() = nullptr;
    ++run_depth();
  }
  run_guard(const run_guard&) = delete;
  run_guard& operator=(const run_guard&) = delete;
  ~run_guard() { --run_depth(); }
};

/// Marks e as leaving run(), just before it is thrown on.
inline void leaving_run(std::exception_ptr e) noexcept { escaping_exception() = std::move(e); }

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

/// Replaces what happens when an exception escapes a spawned task, or an
/// "error" event has no listener, on this thread (default: print Node's
/// report of it to stderr and exit with status 1, as Node does on an
/// uncaught exception). Returns the previous handler.
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

#include "detail/abort.hpp"  // task_promise_base::await_transform
