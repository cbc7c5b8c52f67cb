#pragma once
/// {fmt} formatters for netxx values. The only netxx header that includes fmt:
/// the others stay standard-library only.
///
///   fmt::format("{}", addr)  -> "1.2.3.4:80" / "[::1]:80" (what SocketAddress.parse reads back)
///   fmt::format("{}", net::family::ipv6)  -> "ipv6"
///   fmt::format("{}", addr.address())     -> "::1"

#include <fmt/format.h>

#include <string_view>

#include "ip.hpp"
#include "socket_address.hpp"

/// net.SocketAddress as "address:port", IPv6 in brackets.
template <>
struct fmt::formatter<netxx::socket_address> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const netxx::socket_address& a, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<std::string_view>::format(std::string_view(netxx::to_string(a)), ctx);
  }
};

/// A family as Node spells it: "ipv4" / "ipv6".
template <>
struct fmt::formatter<netxx::family> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(netxx::family f, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<std::string_view>::format(netxx::to_string(f), ctx);
  }
};

/// An address text (socket_address::address()).
template <>
struct fmt::formatter<netxx::ip_string> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const netxx::ip_string& s, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<std::string_view>::format(s.view(), ctx);
  }
};
