// SPDX-License-Identifier: BSL-1.0
#pragma once
/// {fmt} formatters for netxx's value types. The only netxx header that
/// includes fmt: the others stay standard-library only. Each value prints as
/// Node prints the same value, so a program's output can be set beside Node's:
///
///   socket_address    "1.2.3.4:80" / "[::1]:80" (what SocketAddress.parse reads back)
///   family            "ipv4" / "ipv6"
///   ip_string         "::1" (socket_address::address())
///   error             `${err}` (String(err)) in Node, the first line of its report:
///                     "Error: connect ECONNREFUSED 127.0.0.1:80",
///                     "RangeError [ERR_SOCKET_BAD_PORT]: Port should be >= 0 and < 65536. ...",
///                     "AbortError: The operation was aborted". One exception: Node's
///                     AggregateError has an empty message and prints as a bare
///                     "AggregateError"; netxx prints its stack line,
///                     "AggregateError [ECONNREFUSED]: ", followed by what() (the
///                     parts' messages joined by "; "), so the line says what failed.
///   errc              its code: "ERR_SOCKET_BAD_PORT", "ENOTFOUND"
///   address_info      console.log(server.address()):
///                     "{ address: '127.0.0.1', family: 'IPv4', port: 8080 }";
///                     a Unix socket's path as console.log prints a string (unquoted);
///                     "{}" for the empty one (socket.address() when not connected)
///   encoding          Node's name: "utf8", "hex", "base64url"
///   ready_state       socket.readyState: "opening", "open", "readOnly", "writeOnly", "closed"
///   buffer            console.log(buf): "<Buffer 68 65 6c 6c 6f>", and past Node's
///                     50 bytes (buffer.INSPECT_MAX_BYTES) " ... 14 more bytes"
///   block_list        console.log(blockList), always on one line (Node breaks a long
///                     list across lines): "BlockList { rules: [ 'Address: IPv4 1.2.3.4' ] }"
///   backend_features  netxx's own (Node has none): "io_uring (ext_arg, multishot_accept, ...)",
///                     "epoll", "epoll (fell back from io_uring: EPERM: operation not permitted)",
///                     "epoll (io_uring compiled out)" in an epoll-only build
///   listener_id       its number (Node has none), with the integer specs
///
/// All but listener_id take the string specs (fill, alignment, width,
/// precision): fmt::format("{:>21}", addr). In a range (fmt/ranges.h) they
/// print unquoted, "[1.2.3.4:80, [::1]:80]": they are not strings.
///
/// Not here: std::error_code (fmt 10's <fmt/std.h> defines formatter<std::error_code>,
/// which a second definition would collide with; net::code_string(ec) gives Node's
/// code) and std::optional<address_info> (fmt 9 has no optional formatter: format *opt).
///
/// It includes the header of every type it formats, loop.hpp (and so liburing's) among
/// them: a formatter that depends on which headers came first would silently go missing.

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "block_list.hpp"
#include "buffer.hpp"
#include "config.hpp"
#include "encoding.hpp"
#include "errors.hpp"
#include "events.hpp"
#include "ip.hpp"
#include "loop.hpp"
#include "socket_address.hpp"
#include "socket_options.hpp"
#include "task.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

/// The base of netxx's text formatters: the string specs, but never the
/// debug (quoted) form that fmt's range formatter asks of a formatter that
/// has set_debug_format(). fmt's own ostream formatter deletes it the same way.
struct text_formatter : fmt::formatter<std::string_view> {
  void set_debug_format() = delete;

 protected:
  template <class FormatContext>
  auto write(std::string_view s, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<std::string_view>::format(s, ctx);
  }
};

/// String(err) as Node computes it (Error.prototype.toString, which NodeError
/// overrides with `${name} [${code}]: ${message}`), with an AggregateError's
/// parts where Node's empty message is.
inline std::string error_line(const error& e) {
  const std::string name = inspect_name(e);
  if (e.is_aggregate()) return name + ": " + e.what();
  // Error.prototype.toString leaves out ": " when the message is empty; NodeError's does not.
  if (e.message().empty() && name.find(" [") == std::string::npos) return name;
  return name + ": " + e.message();
}

/// console.log of what address() returns.
inline std::string inspect_address_info(const address_info& a) {
  if (!a.path.empty()) return a.path;
  if (a.address.empty() && a.family.empty() && a.port == 0) return "{}";
  return "{ address: " + inspect_string(a.address) + ", family: " + inspect_string(a.family) +
         ", port: " + std::to_string(a.port) + " }";
}

/// Node's Buffer.prototype[inspect.custom] with buffer.INSPECT_MAX_BYTES (50).
inline std::string inspect_bytes(const std::byte* data, std::size_t size) {
  constexpr std::size_t max_bytes = 50;
  constexpr char hex[] = "0123456789abcdef";
  const std::size_t shown = std::min(size, max_bytes);
  std::string s = "<Buffer ";
  s.reserve(s.size() + shown * 3 + 24);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto b = static_cast<unsigned>(data[i]);
    if (i) s += ' ';
    s += hex[b >> 4];
    s += hex[b & 0xf];
  }
  if (const std::size_t rest = size - shown)
    s.append(" ... ").append(std::to_string(rest)).append(rest > 1 ? " more bytes" : " more byte");
  return s += '>';
}

/// console.log(blockList): Node's BlockList inspects as `BlockList ${inspect({rules})}`.
inline std::string inspect_block_list(const block_list& b) {
  const auto rules = b.rules();
  if (rules.empty()) return "BlockList { rules: [] }";
  std::string s = "BlockList { rules: [ ";
  for (std::size_t i = 0; i < rules.size(); ++i) s.append(i ? ", " : "").append(inspect_string(rules[i]));
  return s + " ] }";
}

inline std::string describe_backend(const backend_features& f) {
  std::string s(f.backend);
  if (!f.uring_compiled) return s + " (io_uring compiled out)";  // NETXX_DISABLE_IO_URING
  if (f.fell_back) {
    s += " (fell back from io_uring";
    if (const std::error_code& ec = f.uring_error) {
      const bool system = ec.category() == std::system_category() || ec.category() == std::generic_category();
      s.append(": ").append(code_string(ec)).append(": ").append(system ? std::string(uv_description(ec.value()))
                                                                      : ec.message());
    }
    return s + ")";
  }
  if (f.backend != "io_uring") return s;
  const auto& u = f.uring;
  const std::pair<bool, std::string_view> features[] = {
      {u.single_issuer, "single_issuer"},   {u.defer_taskrun, "defer_taskrun"},
      {u.ext_arg, "ext_arg"},               {u.multishot_accept, "multishot_accept"},
      {u.multishot_recv, "multishot_recv"}, {u.provided_buffer_rings, "provided_buffer_rings"},
      {u.registered_ring_fd, "registered_ring_fd"}, {u.msg_ring, "msg_ring"},
      {u.send_zc, "send_zc"}};
  std::string list;
  for (const auto& [on, name] : features)
    if (on) list.append(list.empty() ? "" : ", ").append(name);
  return s.append(" (").append(list.empty() ? "no optional features" : list).append(")");
}

}  // namespace detail
NETXX_END_NAMESPACE

/// net.SocketAddress as "address:port", IPv6 in brackets.
template <>
struct fmt::formatter<netxx::socket_address> : netxx::detail::text_formatter {
  template <class FormatContext>
  auto format(const netxx::socket_address& a, FormatContext& ctx) const -> decltype(ctx.out()) {
    return write(netxx::to_string(a), ctx);
  }
};

/// A family as Node spells it: "ipv4" / "ipv6".
template <>
struct fmt::formatter<netxx::family> : netxx::detail::text_formatter {
  template <class FormatContext>
  auto format(netxx::family f, FormatContext& ctx) const -> decltype(ctx.out()) {
    return write(netxx::to_string(f), ctx);
  }
};

/// An address text (socket_address::address()).
template <>
struct fmt::formatter<netxx::ip_string> : netxx::detail::text_formatter {
  template <class FormatContext>
  auto format(const netxx::ip_string& s, FormatContext& ctx) const -> decltype(ctx.out()) {
    return write(s.view(), ctx);
  }
};

/// An Error as Node's String(err) prints it (see the top of this file).
template <>
struct fmt::formatter<netxx::error> : netxx::detail::text_formatter {
  template <class FormatContext>
  auto format(const netxx::error& e, FormatContext& ctx) const -> decltype(ctx.out()) {
    return write(netxx::detail::error_line(e), ctx);
  }
};

/// Node's err.code of one of its own errors: "ERR_SOCKET_BAD_PORT".
template <>
struct fmt::formatter<netxx::errc> : netxx::detail::text_formatter {
  template <class FormatContext>
  auto format(netxx::errc e, FormatContext& ctx) const -> decltype(ctx.out()) {
    return write(netxx::detail::errc_name(e), ctx);
  }
};

/// server.address() / socket.address() as console.log prints it.
template <>
struct fmt::formatter<netxx::address_info> : netxx::detail::text_formatter {
  template <class FormatContext>
  auto format(const netxx::address_info& a, FormatContext& ctx) const -> decltype(ctx.out()) {
    return write(netxx::detail::inspect_address_info(a), ctx);
  }
};

/// An encoding by Node's name: "utf8", "latin1", "hex".
template <>
struct fmt::formatter<netxx::encoding> : netxx::detail::text_formatter {
  template <class FormatContext>
  auto format(netxx::encoding e, FormatContext& ctx) const -> decltype(ctx.out()) {
    return write(netxx::to_string(e), ctx);
  }
};

/// socket.readyState: "opening", "open", "readOnly", "writeOnly", "closed".
template <>
struct fmt::formatter<netxx::ready_state> : netxx::detail::text_formatter {
  template <class FormatContext>
  auto format(netxx::ready_state s, FormatContext& ctx) const -> decltype(ctx.out()) {
    return write(netxx::to_string(s), ctx);
  }
};

/// A Buffer as console.log prints it: "<Buffer 68 65 6c 6c 6f>".
template <>
struct fmt::formatter<netxx::buffer> : netxx::detail::text_formatter {
  template <class FormatContext>
  auto format(const netxx::buffer& b, FormatContext& ctx) const -> decltype(ctx.out()) {
    return write(netxx::detail::inspect_bytes(b.data(), b.size()), ctx);
  }
};

/// net.BlockList as console.log prints it, on one line.
template <>
struct fmt::formatter<netxx::block_list> : netxx::detail::text_formatter {
  template <class FormatContext>
  auto format(const netxx::block_list& b, FormatContext& ctx) const -> decltype(ctx.out()) {
    return write(netxx::detail::inspect_block_list(b), ctx);
  }
};

/// loop.features(): the backend, why it fell back, io_uring's optional features.
template <>
struct fmt::formatter<netxx::backend_features> : netxx::detail::text_formatter {
  template <class FormatContext>
  auto format(const netxx::backend_features& f, FormatContext& ctx) const -> decltype(ctx.out()) {
    return write(netxx::detail::describe_backend(f), ctx);
  }
};

/// What on() returned, as its number.
template <>
struct fmt::formatter<netxx::listener_id> : fmt::formatter<std::uint64_t> {
  template <class FormatContext>
  auto format(netxx::listener_id id, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<std::uint64_t>::format(static_cast<std::uint64_t>(id), ctx);
  }
};
