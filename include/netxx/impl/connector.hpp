// SPDX-License-Identifier: BSL-1.0
#pragma once
// The client's connect machine (Node's lookupAndConnect, internalConnect and
// internalConnectMultiple): the arguments' checks, the lookup, the Happy
// Eyeballs attempts with their timer, and the blockList check. It belongs to
// a socket's stream state (its Owner), whose events it emits and which it
// tells the outcome: owner.connected(fd, domain) or owner.destroy(error).
// Beyond Node, connect_options::happy_eyeballs runs RFC 8305's overlapping
// attempts instead of Node's serial ones (race_next and race_done).

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../block_list.hpp"
#include "../config.hpp"
#include "../detail/loop_core.hpp"
#include "../detail/op.hpp"
#include "../detail/sockaddr.hpp"
#include "../detail/socket_ops.hpp"
#include "../dns.hpp"
#include "../errors.hpp"
#include "../ip.hpp"
#include "../socket_options.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

/// The order in which Happy Eyeballs tries a lookup's answers (Node's
/// internalConnectMultiple): each IPv4 and IPv6 address once, the family of
/// the first answer first, then the families alternating. Anything that is
/// not an IP address of family 4 or 6 is left out.
inline std::vector<dns::lookup_address> happy_eyeballs_order(const std::vector<dns::lookup_address>& addrs) {
  std::vector<dns::lookup_address> groups[2];
  int first_family = 0;
  for (const auto& a : addrs) {
    if (is_ip(a.address) == 0 || (a.family != 4 && a.family != 6)) continue;
    if (first_family == 0) first_family = a.family;
    auto& g = groups[a.family == first_family ? 0 : 1];
    if (std::none_of(g.begin(), g.end(), [&](const auto& x) { return x.address == a.address; })) g.push_back(a);
  }
  std::vector<dns::lookup_address> order;
  order.reserve(groups[0].size() + groups[1].size());
  for (std::size_t i = 0; i < std::max(groups[0].size(), groups[1].size()); ++i) {
    if (i < groups[0].size()) order.push_back(groups[0][i]);
    if (i < groups[1].size()) order.push_back(groups[1][i]);
  }
  return order;
}

/// What connect(options) asks for, checked as Node checks it (it throws
/// Node's errors): the host (or the IPC path) and the attempt timeout.
struct connect_target {
  std::string host;  // the name, the IP, or the IPC path
  bool ipc = false;
  std::int64_t attempt_timeout = 250;
  std::optional<std::int64_t> race_delay;  // happy_eyeballs: RFC 8305's Connection Attempt Delay
};

inline connect_target check_connect_options(const connect_options& o) {
  if (o.path.empty() && !o.port)
    throw error(errc::err_missing_args, "The \"options\" or \"port\" or \"path\" argument must be specified");
  connect_target t;
  t.ipc = !o.path.empty();
  t.host = t.ipc ? std::string(o.path) : o.host.empty() ? std::string("localhost") : std::string(o.host);
  t.attempt_timeout = get_default_auto_select_family_attempt_timeout();
  if (t.ipc) return t;
  if (!o.local_address.empty() && is_ip(o.local_address) == 0)
    throw error(errc::err_invalid_ip_address, "Invalid IP address: " + std::string(o.local_address));
  if (*o.port < 0 || *o.port > 65535)
    throw error(errc::err_socket_bad_port,
                "Port should be >= 0 and < 65536. Received type number (" + std::to_string(*o.port) + ").");
  if (o.auto_select_family_attempt_timeout) {
    const std::int64_t timeout = *o.auto_select_family_attempt_timeout;
    if (timeout < 1 || timeout > 2147483647)
      throw error(errc::err_out_of_range,
                  "The value of \"options.autoSelectFamilyAttemptTimeout\" is out of range. It must be >= 1 && <= "
                  "2147483647. Received " + std::to_string(timeout));
    t.attempt_timeout = timeout < 10 ? 10 : timeout;
  }
  if (o.happy_eyeballs) {
    // Checked as Node checks its attempt timeout; the floor is RFC 8305's
    // (section 5: no attempt starts within 10 ms of the previous one).
    const std::int64_t delay = o.happy_eyeballs->attempt_delay;
    if (delay < 1 || delay > 2147483647)
      throw error(errc::err_out_of_range,
                  "The value of \"options.happyEyeballs.attemptDelay\" is out of range. It must be >= 1 && <= "
                  "2147483647. Received " + std::to_string(delay));
    t.race_delay = delay < 10 ? 10 : delay;
  }
  if (is_ip(t.host) == 0 && o.family != 0 && o.family != 4 && o.family != 6)
    throw error(errc::err_invalid_arg_value,
                "The property 'options.family' must be one of: 0, 4, 6. Received " + std::to_string(o.family));
  return t;
}

/// Whether a TCP connect failed in connect(2) itself, before any packet
/// went out, rather than later, in the handshake. Node words the two apart:
/// libuv returns the first from uv_tcp_connect, and Node's internalConnect
/// ends its message with the socket's local end from getsockname
/// (" - Local (0.0.0.0:0)"); the second comes to afterConnect, which names
/// a local end only when a local port was asked for. The backends cannot
/// say which it was (io_uring waits for the handshake inside the kernel), so
/// the errno does: these are the errors connect(2) returns before a SYN.
/// ENETUNREACH is one (no route; a broadcast or multicast address); an ICMP
/// network-unreachable answer to a SYN gives it too, and then netxx names
/// the local end where Node would not (docs/api.md, deviations).
constexpr bool connect_failed_at_once(int err) noexcept {
  switch (err) {
    case ENETUNREACH:
    case EACCES:
    case EPERM:
    case EADDRNOTAVAIL:
    case EADDRINUSE:
    case EINVAL:
    case EAFNOSUPPORT:
    case EISCONN:
    case EALREADY:
    case EBADF:
    case ENOTSOCK:
    case EPROTOTYPE:
    case ENOBUFS:
    case ENOMEM: return true;
    default: return false;
  }
}

/// "address:port" of fd's local end, as Node's _getsockname() gives it to
/// internalConnect's message.
inline std::string local_end(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "undefined:undefined";
  auto a = from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
  if (!a) return "undefined:undefined";
  return a->address().str() + ":" + std::to_string(a->port());
}

template <typename Owner>
struct connector {
  Owner* owner = nullptr;
  std::uint64_t gen = 0;  // a new connect() or a destroy() makes late answers stale
  std::string host;       // the name being connected to (Node's _host)
  std::string local_address;
  std::uint16_t port = 0, local_port = 0;
  const netxx::block_list* blocks = nullptr;

  // One connection attempt: a descriptor of its own and the kernel's connect.
  // It keeps the owner alive while the kernel has it.
  struct attempt_op : io_op {
    std::shared_ptr<Owner> st;
    std::uint64_t gen = 0;
    sockaddr_storage addr{};
    socklen_t addrlen = 0;
    std::string address;  // an IP, or the path of an IPC connect
    std::uint16_t port = 0;
    int family = 0;       // 4, 6, or 0 for a Unix path
    // Node's req.localAddress and req.localPort: the local end asked for, the
    // address defaulted to 0.0.0.0 or :: when only the port was given.
    std::string local_address;
    std::uint16_t local_port = 0;
    bool closed = false;  // its descriptor was closed early (a timed-out attempt bound to a local port, a loser)
    bool races = false;     // a Happy Eyeballs v2 attempt (in `racing` until it answers)
    std::size_t index = 0;  // its place among the candidates, for race_errors
  };
  attempt_op* attempt = nullptr;  // Node's one attempt at a time

  // Happy Eyeballs v2 (RFC 8305): every attempt started and not yet
  // answered, oldest first; the timer starts the next one. The errors are
  // kept by candidate, so the aggregate lists them in the order tried.
  std::optional<std::int64_t> race_delay;  // set: this connect races
  std::vector<attempt_op*> racing;
  std::vector<std::optional<error>> race_errors;

  // Happy Eyeballs: the addresses to try in turn, each with the attempt timeout.
  struct attempt_timer_node : timer_node {
    connector* self = nullptr;
  } attempt_timer;
  std::vector<dns::lookup_address> candidates;
  std::size_t next_candidate = 0;
  std::vector<error> attempt_errors;
  std::int64_t attempt_timeout = 250;
  bool multiple = false;
  std::optional<std::vector<std::string>> attempted_addresses;

  explicit connector(Owner* o) noexcept : owner(o) {
    attempt_timer.self = this;
    attempt_timer.fire = &on_attempt_timeout;
    attempt_timer.ref = false;  // the connect in flight keeps the loop alive
  }
  connector(const connector&) = delete;
  connector& operator=(const connector&) = delete;
  ~connector() {
    if (owner->loop) owner->loop->core().disarm_timer(attempt_timer);
  }

  /// This connect runs RFC 8305's overlapping attempts (several addresses
  /// and connect_options::happy_eyeballs).
  bool races() const noexcept { return multiple && race_delay.has_value(); }

  bool is_ipc() const noexcept { return port == 0 && !multiple && host.find('/') != std::string::npos; }

  /// Starts connecting to what `o` names (already checked into `t`): an IP
  /// or a path next tick, a name after its lookup.
  void start(const connect_options& o, connect_target t);

  /// The socket is destroyed: the attempt in flight stops (its completion
  /// closes its descriptor) and a lookup still out is ignored when it answers.
  void stop() noexcept;

  /// socket.ref()/unref(): every attempt in flight keeps the loop alive, or not.
  void set_ref(bool r) noexcept {
    owner->set_op_ref(attempt, r);
    for (attempt_op* a : racing) owner->set_op_ref(a, r);
  }

  /// Node's _undestroy(): the socket connects again.
  void reset() noexcept { attempted_addresses.reset(); }

  bool live(std::uint64_t g) const noexcept { return owner->connecting && g == gen; }

  /// The answer of the lookup (dns::lookup or the user's `lookup`).
  void after_lookup(std::uint64_t g, std::optional<error> err, std::vector<dns::lookup_address> addrs, bool all);

  std::optional<error> check_address(const dns::lookup_address& a) const;

  /// Node's connectErrorNT: the error is reported next tick.
  void fail_later(error e);

  /// A new descriptor for an attempt, bound to `local` (an address, "" for
  /// none) and local_port when either is asked for. Fails with Node's
  /// "bind ..." or a socket() error.
  std::unique_ptr<attempt_op> make_attempt(std::string_view address, int fam, std::string_view local_ip,
                                           std::optional<error>& failure);

  /// Starts the kernel's connect; false when it already completed (and was handled).
  bool launch(std::unique_ptr<attempt_op> owned);

  /// Node's internalConnect: one address (or an IPC path), no fallback.
  void connect_to(const std::string& address, int fam);

  /// Node's internalConnectMultiple: the next address, with the attempt timeout.
  void connect_next();

  static void on_attempt_timeout(timer_node* t) noexcept;

  /// Happy Eyeballs v2: starts the next candidate, every earlier attempt left
  /// in flight, and arms the Connection Attempt Delay for the one after;
  /// with none left and none in flight, fails with every attempt's error.
  void race_next();

  /// Happy Eyeballs v2: an attempt answered. The first success wins and the
  /// others are closed; a failure starts the next candidate at once.
  void race_done(std::unique_ptr<attempt_op> a, int res);

  /// Closes every racing attempt now (a winner, or the connect stopped);
  /// their completions, when they come, find them closed and let them go.
  void close_racing() noexcept;

  static void on_attempt_complete(io_op* op, int res) noexcept;

  void attempt_done(std::unique_ptr<attempt_op> a, int res);

  /// A failed attempt's error, worded as Node's afterConnect and
  /// internalConnect word it.
  static error attempt_error(const attempt_op& a, int res);

  /// Closes a failed attempt's descriptor (nothing is in flight on it any more).
  void close_failed(attempt_op& a) noexcept;
};

}  // namespace detail
NETXX_END_NAMESPACE

#if NETXX_HEADER_ONLY
#  include "connector.ipp"
#endif
