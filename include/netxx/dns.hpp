// SPDX-License-Identifier: BSL-1.0
#pragma once
/// dns.lookup, the name resolution net.connect uses (Node's `node:dns`
/// lookup(), not its c-ares resolver): getaddrinfo with Node's hints and
/// family, so /etc/hosts and nsswitch.conf are honoured, run on a small
/// process-wide worker pool (libuv's, UV_THREADPOOL_SIZE, default 4) and
/// answered on the loop that asked. IP literals and the empty name are
/// answered without getaddrinfo, on the next loop turn as Node answers them
/// (process.nextTick): a callback never runs before lookup() returns.
///
///   net::dns::lookup("localhost", {.all = true}, [](std::optional<net::error> err,
///                                                  std::vector<net::dns::lookup_address> addrs) {...});
///   std::vector<net::dns::lookup_address> a = co_await net::dns::lookup("localhost", {.family = 4});

#include <netdb.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <coroutine>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "config.hpp"
#include "detail/loop_core.hpp"
#include "detail/unique_function.hpp"
#include "errors.hpp"
#include "ip.hpp"
#include "loop.hpp"
#include "task.hpp"

NETXX_BEGIN_NAMESPACE
namespace dns {

/// dns.ADDRCONFIG, dns.V4MAPPED, dns.ALL: the `hints` flags lookup accepts
/// (getaddrinfo's own values, as in Node).
inline constexpr int addrconfig = AI_ADDRCONFIG, v4mapped = AI_V4MAPPED, all = AI_ALL;

/// The `order` option and dns.setDefaultResultOrder values: getaddrinfo's
/// order, or IPv4 (IPv6) addresses first, each group in getaddrinfo's order.
enum class result_order { verbatim, ipv4first, ipv6first };

/// Node's name of an order: "verbatim", "ipv4first", "ipv6first".
constexpr std::string_view to_string(result_order o) noexcept {
  switch (o) {
    case result_order::verbatim: return "verbatim";
    case result_order::ipv4first: return "ipv4first";
    case result_order::ipv6first: return "ipv6first";
  }
  return "?";
}

namespace detail {
inline std::atomic<result_order>& default_order() noexcept {
  static std::atomic<result_order> order{result_order::verbatim};
  return order;
}
}  // namespace detail

/// dns.getDefaultResultOrder(): process-wide, `verbatim` unless changed
/// (Node v23's default; Node's --dns-result-order flag has no C++ form).
inline result_order get_default_result_order() noexcept { return detail::default_order().load(std::memory_order_relaxed); }

/// dns.setDefaultResultOrder(order): for every later lookup without an
/// `order` (or `verbatim`) option, from any thread.
inline void set_default_result_order(result_order order) {
  if (order != result_order::verbatim && order != result_order::ipv4first && order != result_order::ipv6first)
    throw error(errc::err_invalid_arg_value,
                "The argument 'dnsOrder' must be one of: 'verbatim', 'ipv4first', 'ipv6first'. Received " +
                    std::to_string(static_cast<int>(order)));
  detail::default_order().store(order, std::memory_order_relaxed);
}

/// One answer: Node's `{ address, family }` (family 4 or 6).
struct lookup_address {
  std::string address;
  int family = 0;  // 4 or 6
  friend bool operator==(const lookup_address&, const lookup_address&) = default;
};

/// The options of dns.lookup(hostname, options, callback), Node's defaults.
/// Trivially destructible on purpose: g++ 12 destroys twice the members of
/// an options temporary written in a co_await expression (GCC bug 100611).
struct lookup_options {
  int family = 0;   // 0 (both), 4 or 6; Node's 'IPv4'/'IPv6' strings are 4/6 here
  int hints = 0;    // addrconfig | v4mapped | all
  bool all = false; // every address, not only the first
  std::optional<result_order> order{};  // unset: get_default_result_order()
  std::optional<bool> verbatim{};       // Node's older option: true = verbatim, false = ipv4first; `order` wins
};
static_assert(std::is_trivially_destructible_v<lookup_options>);

/// The answer: (error, addresses). Always a vector: with all == false it
/// holds the one address Node passes as (address, family). An error leaves it
/// empty. The empty host name answers no error and no address (Node's
/// `null` address; its family, 4 or 6 from the option, has no C++ form).
using lookup_callback = netxx::detail::move_only_function<void(std::optional<error> err, std::vector<lookup_address> addresses)>;

/// The `lookup` option of net.connect: a function that replaces dns.lookup.
/// It must call the callback exactly once, on the loop's thread.
using lookup_function = std::function<void(std::string_view hostname, const lookup_options& options, lookup_callback callback)>;

/// What lookup accepts as a callback.
template <typename F>
concept lookup_callback_for =
    std::is_invocable_r_v<void, std::decay_t<F>&, std::optional<error>, std::vector<lookup_address>>;

/// The ERR_INVALID_ARG_VALUE Node throws for options lookup cannot take
/// (hints first, then family, as Node checks them); nothing when they are good.
inline std::optional<error> validate(const lookup_options& options) {
  if ((options.hints & ~(addrconfig | v4mapped | all)) != 0)
    return error(errc::err_invalid_arg_value, "The argument 'hints' is invalid. Received " +
                                                  std::to_string(static_cast<std::uint32_t>(options.hints)));
  if (options.family != 0 && options.family != 4 && options.family != 6)
    return error(errc::err_invalid_arg_value,
                 "The property 'options.family' must be one of: 0, 4, 6. Received " + std::to_string(options.family));
  return std::nullopt;
}

namespace detail {

// libuv's numbers (Node's err.errno) for getaddrinfo's codes.
inline constexpr int uv_eai_addrfamily = -3000, uv_eai_again = -3001, uv_eai_badflags = -3002,
                     uv_eai_fail = -3004, uv_eai_family = -3005, uv_eai_memory = -3006, uv_eai_nodata = -3007,
                     uv_eai_noname = -3008, uv_eai_service = -3010, uv_eai_socktype = -3011;

/// Node's error for a getaddrinfo return code (sys_errno: errno when it is
/// EAI_SYSTEM). EAI_NONAME and EAI_NODATA read ENOTFOUND, as Node has it.
inline error getaddrinfo_error(int rc, int sys_errno, std::string_view hostname) {
  auto dns_error = [&](errc e, int uv) { return error::from_dns("getaddrinfo", make_error_code(e), hostname, uv); };
  switch (rc) {
    case EAI_NONAME: return dns_error(errc::enotfound, uv_eai_noname);
#ifdef EAI_NODATA
    case EAI_NODATA: return dns_error(errc::enotfound, uv_eai_nodata);
#endif
    case EAI_AGAIN: return dns_error(errc::eai_again, uv_eai_again);
    case EAI_FAIL: return dns_error(errc::eai_fail, uv_eai_fail);
    case EAI_FAMILY: return dns_error(errc::eai_family, uv_eai_family);
    case EAI_BADFLAGS: return dns_error(errc::eai_badflags, uv_eai_badflags);
    case EAI_MEMORY: return dns_error(errc::eai_memory, uv_eai_memory);
    case EAI_SERVICE: return dns_error(errc::eai_service, uv_eai_service);
    case EAI_SOCKTYPE: return dns_error(errc::eai_socktype, uv_eai_socktype);
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY: return dns_error(errc::eai_addrfamily, uv_eai_addrfamily);
#endif
    case EAI_SYSTEM: return error::from_dns("getaddrinfo", errno_code(sys_errno ? sys_errno : EIO), hostname);
    default: return dns_error(errc::eai_fail, uv_eai_fail);  // none other comes from getaddrinfo
  }
}

/// The text Node gives an address of getaddrinfo's answer (uv_inet_ntop,
/// the same BSD formatting as inet_ntop: "::ffff:127.0.0.1", no zone).
inline std::optional<std::string> address_text(const addrinfo& ai) {
  char buf[INET6_ADDRSTRLEN];
  const void* src;
  if (ai.ai_family == AF_INET)
    src = &reinterpret_cast<const sockaddr_in*>(ai.ai_addr)->sin_addr;
  else if (ai.ai_family == AF_INET6)
    src = &reinterpret_cast<const sockaddr_in6*>(ai.ai_addr)->sin6_addr;
  else
    return std::nullopt;
  if (!::inet_ntop(ai.ai_family, src, buf, sizeof buf)) return std::nullopt;
  return std::string(buf);
}

/// getaddrinfo as Node calls it (SOCK_STREAM, family, hints as flags) and
/// the answer as Node builds it: the order applied (a stable split by
/// family), only the first address unless `all`, each address's family the
/// requested one or else its own. Returns getaddrinfo's code (0, or an
/// EAI_*; EAI_NODATA when it answered nothing Node can use) and errno for
/// EAI_SYSTEM. Blocking: worker threads only.
inline int resolve(const std::string& ascii_host, int family, int hints, result_order order, bool all,
                   std::vector<lookup_address>& out, int& sys_errno) {
  addrinfo req{};
  req.ai_family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : AF_UNSPEC;
  req.ai_socktype = SOCK_STREAM;
  req.ai_flags = hints;
  addrinfo* res = nullptr;
  errno = 0;
  const int rc = ::getaddrinfo(ascii_host.c_str(), nullptr, &req, &res);
  sys_errno = errno;
  if (rc != 0) return rc;
  auto add = [&](bool v4, bool v6) {
    for (const addrinfo* p = res; p; p = p->ai_next) {
      if (!((v4 && p->ai_family == AF_INET) || (v6 && p->ai_family == AF_INET6))) continue;
      auto text = address_text(*p);
      if (!text) continue;
      const int fam = family ? family : netxx::is_ip(*text);
      out.push_back({std::move(*text), fam});
    }
  };
  switch (order) {
    case result_order::ipv4first: add(true, false), add(false, true); break;
    case result_order::ipv6first: add(false, true), add(true, false); break;
    default: add(true, true); break;
  }
  ::freeaddrinfo(res);
  if (out.empty()) return EAI_NODATA;
  if (!all) out.resize(1);
  return 0;
}

}  // namespace detail

/// dns.lookup(hostname, options, callback) on `loop` (call it on the loop's
/// thread). The callback runs on that loop, never before lookup returns.
/// Bad options throw at once, as Node throws: ERR_INVALID_ARG_VALUE
/// (validate()). Errors of the lookup go to the callback, worded as Node's:
/// `getaddrinfo ENOTFOUND some.host` (code ENOTFOUND, EAI_AGAIN, ...).
/// A lookup in flight keeps loop.run() going; destroying the loop first
/// drops its callback unanswered.
namespace detail {
// The lookup itself, once the callback is type-erased: compiled once per
// backend, whatever the callbacks.
template <typename Backend>
void start_lookup(basic_loop<Backend>& loop, std::string_view hostname, const lookup_options& options,
                  lookup_callback cb);
}  // namespace detail

template <typename Backend, typename F>
  requires lookup_callback_for<F>
void lookup(basic_loop<Backend>& loop, std::string_view hostname, const lookup_options& options, F&& callback) {
  detail::start_lookup(loop, hostname, options, lookup_callback(std::forward<F>(callback)));
}

/// dns.lookup(hostname, options, callback) on this thread's loop.
template <typename F>
  requires lookup_callback_for<F>
void lookup(std::string_view hostname, const lookup_options& options, F&& callback) {
  lookup(loop::current(), hostname, options, std::forward<F>(callback));
}

/// dns.lookup(hostname, callback): family 0, no hints, the first address.
template <typename F>
  requires lookup_callback_for<F>
void lookup(std::string_view hostname, F&& callback) {
  lookup(loop::current(), hostname, lookup_options{}, std::forward<F>(callback));
}

/// The awaitable form (dns.promises.lookup): starts at once, like Node's
/// promise; `co_await` gives the addresses or throws the net::error.
/// Destroying it (or the coroutine waiting on it) before the answer drops
/// the answer.
template <typename Backend>
class lookup_awaitable {
 public:
  lookup_awaitable(basic_loop<Backend>& loop, std::string_view hostname, const lookup_options& options);
  lookup_awaitable(lookup_awaitable&&) noexcept = default;
  lookup_awaitable& operator=(lookup_awaitable&&) = delete;
  ~lookup_awaitable() {
    if (st_) st_->waiter = {};
  }

  bool await_ready() const noexcept { return st_->done; }
  void await_suspend(std::coroutine_handle<> h) noexcept { st_->waiter = h; }
  std::vector<lookup_address> await_resume() {
    if (st_->err) throw std::move(*st_->err);
    return std::move(st_->addresses);
  }
  // Abortable (detail/abort.hpp): resumes now; getaddrinfo, which cannot be
  // stopped, finishes on its worker and its answer is dropped.
  netxx::detail::loop_core& abort_core() const noexcept { return *core_; }
  void abort() noexcept {
    if (st_->done || !st_->waiter) return;
    st_->err = error(errc::abort_err);
    st_->done = true;
    netxx::detail::resume(std::exchange(st_->waiter, {}));
  }

 private:
  struct state {
    std::coroutine_handle<> waiter;
    std::optional<error> err;
    std::vector<lookup_address> addresses;
    bool done = false;
  };
  std::shared_ptr<state> st_;
  netxx::detail::loop_core* core_;
};

/// co_await dns::lookup(loop, hostname, options).
template <typename Backend>
lookup_awaitable<Backend> lookup(basic_loop<Backend>& loop, std::string_view hostname,
                                 const lookup_options& options = {}) {
  return lookup_awaitable<Backend>(loop, hostname, options);
}

/// co_await dns::lookup(hostname, options), on this thread's loop.
template <typename Backend = auto_backend>
lookup_awaitable<Backend> lookup(std::string_view hostname, const lookup_options& options = {}) {
  return lookup_awaitable<Backend>(basic_loop<Backend>::current(), hostname, options);
}

/// The size of the worker pool getaddrinfo runs on (UV_THREADPOOL_SIZE,
/// read at the first lookup: unset 4, clamped to 1..1024 as libuv does).
NETXX_INLINE unsigned threadpool_size();

}  // namespace dns
NETXX_END_NAMESPACE

#if NETXX_HEADER_ONLY
#  include "impl/dns.ipp"
#endif
