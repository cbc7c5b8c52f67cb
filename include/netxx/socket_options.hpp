// SPDX-License-Identifier: BSL-1.0
#pragma once
/// The options and plain types of net.Socket: what new net.Socket(),
/// socket.connect() and net.connect() take, readyState, address(), the
/// process-wide auto-select-family defaults, and the socket's events. No I/O.

#include <cstdint>
#include <functional>
#include <new>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "block_list.hpp"
#include "config.hpp"
#include "dns.hpp"
#include "errors.hpp"
#include "events.hpp"

NETXX_BEGIN_NAMESPACE

/// Node's socket.readyState.
enum class ready_state { opening, open, read_only, write_only, closed };

/// Node's readyState strings: "opening", "open", "readOnly", "writeOnly", "closed".
constexpr std::string_view to_string(ready_state s) noexcept {
  switch (s) {
    case ready_state::opening: return "opening";
    case ready_state::open: return "open";
    case ready_state::read_only: return "readOnly";
    case ready_state::write_only: return "writeOnly";
    case ready_state::closed: return "closed";
  }
  return "closed";
}

/// What Node's address() returns: { address, family, port } for IP sockets;
/// for Unix sockets `path` holds the path (Node returns the string) and the
/// rest is empty.
struct address_info {
  std::string address;
  std::string family;  // "IPv4" / "IPv6"; "" for a Unix socket
  std::uint16_t port = 0;
  std::string path;
  friend bool operator==(const address_info&, const address_info&) = default;
};

/// A write or end callback: Node's `callback(err)`; an empty code is success.
using write_callback = std::function<void(std::error_code)>;

namespace detail {
/// A T owned only by the object that constructed it, for the members of
/// options written inline in a co_await expression. g++ 12 (GCC bug 100611,
/// fixed in GCC 13) gives each non-trivially-destructible member of an
/// aggregate temporary in a co_await expression a bitwise twin in the
/// coroutine frame and destroys both: `co_await net::connect({.signal =
/// src.get_token()})` released the token's reference twice. The twin was not
/// constructed where it stands, so its destructor leaves the T alone; with
/// any other compiler this is a plain T.
template <typename T>
class self_owned {
 public:
  self_owned() noexcept(std::is_nothrow_default_constructible_v<T>) : self_(this) { ::new (&value_) T(); }
  template <typename U>
    requires(!std::is_same_v<std::remove_cvref_t<U>, self_owned> && std::is_constructible_v<T, U>)
  self_owned(U&& u) : self_(this) {  // NOLINT: implicit, as a plain T member converts
    ::new (&value_) T(std::forward<U>(u));
  }
  self_owned(const self_owned& o) : self_(this) { ::new (&value_) T(o.value_); }
  self_owned(self_owned&& o) noexcept(std::is_nothrow_move_constructible_v<T>) : self_(this) {
    ::new (&value_) T(std::move(o.value_));
  }
  self_owned& operator=(const self_owned& o) {
    value_ = o.value_;
    return *this;
  }
  self_owned& operator=(self_owned&& o) noexcept(std::is_nothrow_move_assignable_v<T>) {
    value_ = std::move(o.value_);
    return *this;
  }
  template <typename U>
    requires(!std::is_same_v<std::remove_cvref_t<U>, self_owned> && std::is_assignable_v<T&, U>)
  self_owned& operator=(U&& u) {
    value_ = std::forward<U>(u);
    return *this;
  }
  ~self_owned() {
    if (self_ == this) value_.~T();
  }

  const T& get() const noexcept { return value_; }
  operator const T&() const noexcept { return value_; }  // NOLINT: reads as the T it holds
  explicit operator bool() const noexcept
    requires std::is_constructible_v<bool, const T&>
  {
    return static_cast<bool>(value_);
  }
  template <typename... A>
    requires std::is_invocable_v<const T&, A...>
  decltype(auto) operator()(A&&... a) const {
    return value_(std::forward<A>(a)...);
  }

 private:
  union {
    T value_;
  };
  const self_owned* self_;
};
}  // namespace detail

/// Node's AbortSignal, as the `signal` option takes it: a std::stop_token
/// (`.signal = source.get_token()`); source.request_stop() is abort(). Not a
/// plain std::stop_token member so that g++ 12 releases it once (detail::self_owned).
class abort_signal {
 public:
  abort_signal() = default;
  abort_signal(std::stop_token token) noexcept : token_(std::move(token)) {}  // NOLINT: implicit on purpose
  /// Node's signal.aborted.
  bool stop_requested() const noexcept { return token_.get().stop_requested(); }
  /// Whether an abort can still come (false for the default, empty signal).
  bool stop_possible() const noexcept { return token_.get().stop_possible(); }
  const std::stop_token& token() const noexcept { return token_.get(); }
  operator const std::stop_token&() const noexcept { return token_.get(); }  // NOLINT

 private:
  detail::self_owned<std::stop_token> token_;
};

/// Node's `onread` option: reads go into a buffer of the caller's (no
/// allocation, no "data" event) and each chunk goes to `callback(nread, buf)`;
/// returning false pauses the socket (resume() starts reading again).
struct onread_options {
  std::span<std::byte> buffer{};                                          // reused for every read
  detail::self_owned<std::function<std::span<std::byte>()>> buffer_fn{};  // or: asked for a buffer before each read
  detail::self_owned<std::function<bool(std::size_t nread, std::span<std::byte> buf)>> callback{};
};

/// new net.Socket([options]).
struct socket_options {
  int fd = -1;                      // wrap an open socket descriptor (TCP or Unix)
  bool allow_half_open = false;
  bool readable = true;             // with fd: false = never read from it
  bool writable = true;             // with fd: false = ended for writing from the start
  onread_options onread{};
  abort_signal signal{};            // destroys the socket with ABORT_ERR
  bool no_delay = false;            // applied once connected
  bool keep_alive = false;          // applied once connected
  std::int64_t keep_alive_initial_delay = 0;
  const netxx::block_list* block_list = nullptr;  // outgoing: a blocked address fails with ERR_IP_BLOCKED
  std::size_t high_water_mark = 64 * 1024;       // readable and writable highWaterMark (Node's default)
};

/// Beyond Node: Happy Eyeballs v2 (RFC 8305) in place of autoSelectFamily's
/// serial attempts. Node gives each address `autoSelectFamilyAttemptTimeout`
/// and abandons it for the next; here an address keeps its attempt while the
/// next one starts `attempt_delay` ms later (RFC 8305's Connection Attempt
/// Delay), so a slow host still wins if it answers first. An attempt that
/// fails starts the next one at once; the first to connect wins and the others
/// are closed. The addresses are ordered as Node's (RFC 8305 section 4 with a
/// First Address Family Count of 1). Nothing else changes: the same events,
/// except "connectionAttemptTimeout" (nothing is abandoned), the same
/// aggregate error when every attempt fails, the same attempted addresses.
/// With a `local_port`, Node's serial attempts run: attempts in flight
/// together could not share it.
struct happy_eyeballs_v2 {
  std::int64_t attempt_delay = 250;  // ms: 1 to 2147483647 (else ERR_OUT_OF_RANGE), raised to RFC 8305's floor of 10
};

/// socket.connect(options) and net.connect(options). A TCP connection names
/// `port` (and `host`, default "localhost"); an IPC one names `path` (a
/// filesystem path, or "\0name" for a Linux abstract name). net::connect
/// also takes the socket's own options (the fields after `path`) and
/// `timeout`, as Node's net.connect does. String fields are views: they are
/// copied before connect() returns. What owns something (lookup, onread's
/// functions, signal) is safe inline in co_await with g++ 12: see detail::self_owned.
struct connect_options {
  std::optional<std::int64_t> port{};
  std::string_view host{};               // default "localhost"
  std::string_view local_address{};
  std::uint16_t local_port = 0;
  int family = 0;                        // 0, 4 or 6
  int hints = 0;                         // dns::addrconfig | dns::v4mapped | dns::all
  detail::self_owned<dns::lookup_function> lookup{};  // replaces dns::lookup
  std::optional<bool> auto_select_family{};             // default: get_default_auto_select_family()
  std::optional<std::int64_t> auto_select_family_attempt_timeout{};  // ms, at least 10
  std::optional<happy_eyeballs_v2> happy_eyeballs{};  // beyond Node: RFC 8305 when set (and auto_select_family is not false)
  bool no_delay = false;
  bool keep_alive = false;
  std::int64_t keep_alive_initial_delay = 0;
  const netxx::block_list* block_list = nullptr;
  std::string_view path{};               // IPC
  // --- net.connect / net.createConnection only ---
  std::int64_t timeout = 0;              // socket.setTimeout(timeout) before connecting
  bool allow_half_open = false;
  int fd = -1;
  bool readable = true;
  bool writable = true;
  onread_options onread{};
  abort_signal signal{};
  std::size_t high_water_mark = 64 * 1024;
};

namespace detail {
inline bool& auto_select_family_default() noexcept {
  static bool value = true;  // Node >= 20
  return value;
}
inline std::int64_t& auto_select_family_attempt_timeout_default() noexcept {
  static std::int64_t value = 250;
  return value;
}
}  // namespace detail

/// net.getDefaultAutoSelectFamily().
inline bool get_default_auto_select_family() noexcept { return detail::auto_select_family_default(); }
/// net.setDefaultAutoSelectFamily(value).
inline void set_default_auto_select_family(bool value) noexcept { detail::auto_select_family_default() = value; }
/// net.getDefaultAutoSelectFamilyAttemptTimeout().
inline std::int64_t get_default_auto_select_family_attempt_timeout() noexcept {
  return detail::auto_select_family_attempt_timeout_default();
}
/// net.setDefaultAutoSelectFamilyAttemptTimeout(value): at least 1 (else
/// ERR_OUT_OF_RANGE), raised to 10.
inline void set_default_auto_select_family_attempt_timeout(std::int64_t value) {
  if (value < 1 || value > 2147483647)
    throw error(errc::err_out_of_range, "The value of \"value\" is out of range. It must be >= 1 && <= 2147483647. Received " +
                                            std::to_string(value));
  detail::auto_select_family_attempt_timeout_default() = value < 10 ? 10 : value;
}

/// The events of net.Socket, with their listener signatures.
using socket_emitter = event_emitter<
    event<"close", void(bool had_error)>,                    //
    event<"connect", void()>,                                //
    event<"connectionAttempt", void(std::string_view ip, std::uint16_t port, int family)>,
    event<"connectionAttemptFailed", void(std::string_view ip, std::uint16_t port, int family, const error& e)>,
    event<"connectionAttemptTimeout", void(std::string_view ip, std::uint16_t port, int family)>,
    event<"data", void(std::span<const std::byte> chunk)>,  //
    event<"drain", void()>,                                  //
    event<"end", void()>,                                    //
    event<"error", void(const error& e)>,                    //
    event<"finish", void()>,                                 // stream.Writable's, which end(cb) uses
    event<"lookup", void(std::error_code err, std::string_view address, int family, std::string_view host)>,
    event<"ready", void()>,                                  //
    event<"timeout", void()>>;

NETXX_END_NAMESPACE
