// SPDX-License-Identifier: BSL-1.0
#pragma once
/// Awaiting several operations at once, as Node's Promise combinators do:
///
///   auto [a, b] = co_await net::when_all(s.read(x), t.read(y));   // Promise.all
///   auto first  = co_await net::when_any(s.read(x), net::sleep(500)); // Promise.race
///   auto each   = co_await net::when_all_settled(f(), g());       // Promise.allSettled
///   auto one    = co_await net::when_any_success(f(), g());       // Promise.any
///
/// Each argument is an abortable netxx operation (written inside the call:
/// it lives in the co_await expression) or a net::task. All start at once;
/// the combinator resumes when its answer is known. The operations it no
/// longer needs (the losers of when_any, the rest after when_all's first
/// failure) are aborted through their stop token, and every operation has
/// finished before it returns: nothing outlives its frame. A loser that
/// finished anyway has its value dropped (a read's bytes too: to bound a
/// read in time, net::timeout keeps them). Under a stop token of its own
/// (net::abortable, an outer task's), a stop aborts every operation.
///
/// A void operation's value is std::monostate.

#include <array>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "abortable.hpp"
#include "config.hpp"
#include "detail/abort.hpp"
#include "detail/recycling_allocator.hpp"
#include "errors.hpp"
#include "task.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

// What an operation gives when awaited (raw), and as a combinator holds it:
// std::monostate for nothing.
template <typename A, bool = is_task_v<std::remove_cvref_t<A>>>
struct operand_raw {
  using type = typename std::remove_cvref_t<A>::value_type;
};
template <typename A>
struct operand_raw<A, false> {
  using type = std::remove_cvref_t<decltype(std::declval<std::remove_cvref_t<A>&>().await_resume())>;
};
template <typename A>
struct operand_value {
  using raw = typename operand_raw<A>::type;
  using type = std::conditional_t<std::is_void_v<raw>, std::monostate, raw>;
};
template <typename A>
using operand_value_t = typename operand_value<A>::type;

/// The count of operations still running, and who waits for the last.
struct join_state {
  std::size_t left;
  std::coroutine_handle<> parent = std::noop_coroutine();
};

/// One operation of a combinator, run as a coroutine of its own. Its body
/// catches everything; at its end it counts down, and the last one hands
/// control to the combinator, which then frees every child.
class join_child {
 public:
  struct promise_type {
    join_state* state = nullptr;
    join_child get_return_object() noexcept {
      return join_child(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept {
      struct last {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) const noexcept {
          join_state& st = *h.promise().state;
          return --st.left == 0 ? transfer_to(st.parent) : std::noop_coroutine();
        }
        void await_resume() const noexcept {}
      };
      return last{};
    }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }  // the body catches everything
    static void* operator new(std::size_t n) { return recycled_allocate(n); }
    static void operator delete(void* p, std::size_t n) noexcept { recycled_deallocate(p, n); }
  };
  explicit join_child(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  join_child(join_child&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  join_child& operator=(join_child&&) = delete;
  ~join_child() {
    if (h_) h_.destroy();
  }
  void start(join_state& st) {
    h_.promise().state = &st;
    resume(h_);
  }

 private:
  std::coroutine_handle<promise_type> h_;
};

struct join_wait {
  join_state& st;
  bool await_ready() const noexcept { return st.left == 0; }
  void await_suspend(std::coroutine_handle<> h) const noexcept { st.parent = h; }
  void await_resume() const noexcept {}
};

// Runs one operation under token: its value into `value`, or its exception
// into `failure`; then `settled(index, ok)` says which finished how.
template <typename A, typename V, typename Settled>
join_child run_operand(A&& op, std::stop_token token, std::optional<V>& value, std::exception_ptr& failure,
                       Settled settled, std::size_t index) {
  bool ok = false;
  try {
    if constexpr (std::is_void_v<typename operand_value<A>::raw>) {
      co_await abortable(std::forward<A>(op), std::move(token));
      value.emplace();
    } else {
      value.emplace(co_await abortable(std::forward<A>(op), std::move(token)));
    }
    ok = true;
  } catch (...) {
    failure = std::current_exception();
  }
  settled(index, ok);
}

// The stop source every operation of a combinator runs under, stopped by
// the combinator itself or by the token the combinator runs under.
struct combinator_stop {
  std::stop_source source;
  struct forward {
    std::stop_source* s;
    void operator()() const noexcept { s->request_stop(); }
  };
  std::optional<std::stop_callback<forward>> from_outer;
  explicit combinator_stop(const std::stop_token& outer) {
    if (outer.stop_possible()) from_outer.emplace(outer, forward{&source});
  }
};

// Starts every operation (each runs to its first suspension), waits for the
// last. `settled` decides, as each finishes, whether to stop the others.
template <typename... V, typename... A, typename Settled, std::size_t... I>
task<void> run_all(std::tuple<std::optional<V>...>& values, std::array<std::exception_ptr, sizeof...(A)>& failures,
                   Settled settled, std::index_sequence<I...>, std::stop_token token, A&&... ops) {
  join_state st{sizeof...(A)};
  join_child children[] = {
      run_operand(std::forward<A>(ops), token, std::get<I>(values), failures[I], settled, I)...};
  for (auto& c : children) c.start(st);
  co_await join_wait{st};
}

// The value of operand `index` as the alternative of that index (its type
// may repeat another's, so the index, not the type, says which).
template <typename... V>
std::variant<V...> value_at(std::tuple<std::optional<V>...>& values, std::size_t index) {
  std::optional<std::variant<V...>> out;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((I == index ? (out.emplace(std::in_place_index<I>, std::move(*std::get<I>(values))), 0) : 0), ...);
  }(std::index_sequence_for<V...>{});
  return std::move(*out);
}

}  // namespace detail

/// Promise.all: every operation's value, in order; the first failure
/// aborts the others and is thrown once they have all finished.
template <typename... A>
task<std::tuple<detail::operand_value_t<A>...>> when_all(A&&... ops) {
  static_assert(sizeof...(A) > 0, "net::when_all needs at least one operation");
  detail::combinator_stop stop(co_await get_stop_token());
  std::tuple<std::optional<detail::operand_value_t<A>>...> values;
  std::array<std::exception_ptr, sizeof...(A)> failures{};
  std::optional<std::size_t> first_failure;
  auto settled = [&](std::size_t i, bool ok) {
    if (!ok && !first_failure) {
      first_failure = i;
      stop.source.request_stop();
    }
  };
  co_await detail::run_all(values, failures, settled, std::index_sequence_for<A...>{}, stop.source.get_token(),
                           std::forward<A>(ops)...);
  if (first_failure) std::rethrow_exception(failures[*first_failure]);
  co_return std::apply([](auto&... v) { return std::tuple<detail::operand_value_t<A>...>(std::move(*v)...); },
                       values);
}

/// Promise.race: the first operation to finish decides (its value, as the
/// alternative of its index, or its exception); the others are aborted and
/// have finished before it returns.
template <typename... A>
task<std::variant<detail::operand_value_t<A>...>> when_any(A&&... ops) {
  static_assert(sizeof...(A) > 0, "net::when_any needs at least one operation");
  detail::combinator_stop stop(co_await get_stop_token());
  std::tuple<std::optional<detail::operand_value_t<A>>...> values;
  std::array<std::exception_ptr, sizeof...(A)> failures{};
  std::optional<std::size_t> winner;
  auto settled = [&](std::size_t i, bool) {
    if (!winner) {
      winner = i;
      stop.source.request_stop();
    }
  };
  co_await detail::run_all(values, failures, settled, std::index_sequence_for<A...>{}, stop.source.get_token(),
                           std::forward<A>(ops)...);
  if (failures[*winner]) std::rethrow_exception(failures[*winner]);
  co_return detail::value_at(values, *winner);
}

/// One outcome of when_all_settled (Promise.allSettled's { status, value }
/// or { status, reason }): the value, or the exception.
template <typename T>
using settled = std::variant<T, std::exception_ptr>;

/// Promise.allSettled: waits for every operation, aborts none, and gives
/// each outcome in order.
template <typename... A>
task<std::tuple<settled<detail::operand_value_t<A>>...>> when_all_settled(A&&... ops) {
  static_assert(sizeof...(A) > 0, "net::when_all_settled needs at least one operation");
  detail::combinator_stop stop(co_await get_stop_token());
  std::tuple<std::optional<detail::operand_value_t<A>>...> values;
  std::array<std::exception_ptr, sizeof...(A)> failures{};
  auto settled_fn = [](std::size_t, bool) {};
  co_await detail::run_all(values, failures, settled_fn, std::index_sequence_for<A...>{}, stop.source.get_token(),
                           std::forward<A>(ops)...);
  co_return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::tuple<settled<detail::operand_value_t<A>>...>(
        (failures[I] ? settled<detail::operand_value_t<A>>(std::in_place_index<1>, failures[I])
                     : settled<detail::operand_value_t<A>>(std::in_place_index<0>, std::move(*std::get<I>(values))))...);
  }(std::index_sequence_for<A...>{});
}

/// Promise.any: the first operation to succeed (its value, as the
/// alternative of its index); the others are aborted. When all fail:
/// Node's AggregateError, "All promises were rejected", with every
/// net::error in errors() (an exception of another type is thrown as it is).
template <typename... A>
task<std::variant<detail::operand_value_t<A>...>> when_any_success(A&&... ops) {
  static_assert(sizeof...(A) > 0, "net::when_any_success needs at least one operation");
  detail::combinator_stop stop(co_await get_stop_token());
  std::tuple<std::optional<detail::operand_value_t<A>>...> values;
  std::array<std::exception_ptr, sizeof...(A)> failures{};
  std::optional<std::size_t> winner;
  auto settled = [&](std::size_t i, bool ok) {
    if (ok && !winner) {
      winner = i;
      stop.source.request_stop();
    }
  };
  co_await detail::run_all(values, failures, settled, std::index_sequence_for<A...>{}, stop.source.get_token(),
                           std::forward<A>(ops)...);
  if (!winner) {
    std::vector<error> errors;
    for (auto& f : failures) {
      try {
        std::rethrow_exception(f);
      } catch (const error& e) {
        errors.push_back(e);
      }
    }
    throw error::aggregate(std::move(errors), "All promises were rejected");
  }
  co_return detail::value_at(values, *winner);
}

NETXX_END_NAMESPACE
