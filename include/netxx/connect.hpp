// SPDX-License-Identifier: BSL-1.0
#pragma once
/// net.connect() and net.createConnection(): a new socket that starts
/// connecting at once, usable in the event style and awaitable.

#include <coroutine>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include "config.hpp"
#include "loop.hpp"
#include "socket.hpp"
#include "socket_options.hpp"

NETXX_BEGIN_NAMESPACE

/// What net::connect returns: the socket itself (the event style uses it at
/// once: `auto c = net::connect(8124, [] {...}); c.on("data", ...)`), and an
/// awaitable of it: `net::socket c = co_await net::connect({.port = 8124})`
/// resumes once connected, or throws what "error" would have carried.
template <typename Backend>
class basic_connecting_socket : public basic_socket<Backend> {
 public:
  explicit basic_connecting_socket(basic_socket<Backend> s) : basic_socket<Backend>(std::move(s)) {}
  bool await_ready() const noexcept { return !detail::socket_access::state(*this)->connecting; }
  void await_suspend(std::coroutine_handle<> h) { detail::socket_access::state(*this)->more().connect_waiter = h; }
  basic_socket<Backend> await_resume() {
    as_connect().await_resume();
    return *this;
  }
  // Abortable (detail/abort.hpp), as socket.connect()'s awaitable is.
  detail::loop_core& abort_core() const noexcept { return detail::socket_access::state(*this)->loop->core(); }
  void abort() noexcept { as_connect().abort(); }
  void abandon_unstarted() noexcept { as_connect().abandon_unstarted(); }

 private:
  // socket.connect()'s awaitable on the same state: its rules, written once.
  typename basic_socket<Backend>::connect_awaitable as_connect() const {
    return typename basic_socket<Backend>::connect_awaitable(detail::socket_access::state(*this));
  }
};
using connecting_socket = basic_connecting_socket<auto_backend>;

namespace detail {
/// The socket half of net.connect's options (Node hands them to new Socket()).
inline socket_options socket_part(const connect_options& o) {
  return {.fd = o.fd,
          .allow_half_open = o.allow_half_open,
          .readable = o.readable,
          .writable = o.writable,
          .onread = o.onread,
          .signal = o.signal,
          .no_delay = o.no_delay,
          .keep_alive = o.keep_alive,
          .keep_alive_initial_delay = o.keep_alive_initial_delay,
          .block_list = o.block_list,
          .high_water_mark = o.high_water_mark};
}
template <typename Backend, typename... Listener>
basic_connecting_socket<Backend> connect_with(const connect_options& o, basic_loop<Backend>& loop,
                                              Listener&&... listener) {
  basic_socket<Backend> s(socket_part(o), loop);
  if (o.timeout > 0) s.set_timeout(o.timeout);
  s.connect(o, std::forward<Listener>(listener)...);
  return basic_connecting_socket<Backend>(std::move(s));
}
}  // namespace detail

namespace detail {
/// net.connect and net.createConnection (one function under two names). A
/// template, so that nothing is instantiated before a program calls it.
template <typename Backend>
struct connect_fn {
  using connecting_socket = basic_connecting_socket<Backend>;
  /// (options[, connectListener]): a new socket (with the socket options
  /// and `timeout`) that starts connecting at once.
  connecting_socket operator()(const connect_options& o) const {
    return connect_with(o, basic_loop<Backend>::current());
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  connecting_socket operator()(const connect_options& o, F&& listener) const {
    return connect_with(o, basic_loop<Backend>::current(), std::forward<F>(listener));
  }
  /// (path[, connectListener]): IPC.
  connecting_socket operator()(std::string_view path) const { return (*this)(connect_options{.path = path}); }
  template <typename F>
    requires std::is_invocable_v<F&>
  connecting_socket operator()(std::string_view path, F&& listener) const {
    return (*this)(connect_options{.path = path}, std::forward<F>(listener));
  }
  /// (port[, host][, connectListener]).
  connecting_socket operator()(std::int64_t port, std::string_view host = {}) const {
    return (*this)(connect_options{.port = port, .host = host});
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  connecting_socket operator()(std::int64_t port, F&& listener) const {
    return (*this)(connect_options{.port = port}, std::forward<F>(listener));
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  connecting_socket operator()(std::int64_t port, std::string_view host, F&& listener) const {
    return (*this)(connect_options{.port = port, .host = host}, std::forward<F>(listener));
  }
};
}  // namespace detail

/// net.connect(...): see detail::connect_fn for the forms.
inline constexpr detail::connect_fn<auto_backend> connect{};
/// net.createConnection(...): the same function as net.connect.
inline constexpr detail::connect_fn<auto_backend> create_connection{};

NETXX_END_NAMESPACE
