// SPDX-License-Identifier: BSL-1.0
#pragma once
/// net.SocketAddress: an IP address, port and IPv6 flow label, as a small
/// regular value (comparable, hashable, usable as a map key) built and read in
/// constant expressions. Standard library only: the conversions to and from
/// sockaddr live in <netxx/detail/sockaddr.hpp>.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"
#include "errors.hpp"
#include "ip.hpp"

NETXX_BEGIN_NAMESPACE

/// The `options` of `new net.SocketAddress([options])`, with the spec's defaults.
/// `port` and `flowlabel` are wide signed integers so that the out-of-range
/// values Node rejects can be written, and are rejected with Node's errors;
/// Node's string form of `port` has no C++ counterpart. The strings are
/// views: they must outlive the constructor call (the usual inline
/// `{.address = "::1"}` does).
struct socket_address_options {
  /// Default: "127.0.0.1" for ipv4, "::" for ipv6 (std::nullopt picks it; "" is rejected as in Node).
  std::optional<std::string_view> address = std::nullopt;
  /// 'ipv4' (default) or 'ipv6'; a netxx::family or Node's string in any case.
  family_arg family = netxx::family::ipv4;
  /// IPv6 flow label, 0..0xFFFFF; ignored for ipv4.
  std::int64_t flowlabel = 0;
  /// 0..65535.
  std::int64_t port = 0;
};

namespace detail {

constexpr std::uint64_t two_pow_32 = 4294967296ULL;

// Node's ERR_OUT_OF_RANGE writes integers beyond 2**32 with '_' separators.
inline std::string out_of_range_received(std::int64_t v) {
  std::string s = std::to_string(v);
  const std::uint64_t mag = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  if (mag <= two_pow_32) return s;
  const std::size_t start = s[0] == '-' ? 1 : 0;
  std::string res;
  std::size_t i = s.size();
  for (; i >= start + 4; i -= 3) res = "_" + s.substr(i - 3, 3) + res;
  return s.substr(0, i) + res;
}

[[noreturn]] inline void throw_bad_port(std::string_view name, std::int64_t port) {
  throw_error(errc::err_socket_bad_port, std::string(name) + " should be >= 0 and < 65536. Received type number (" +
                                             std::to_string(port) + ").");
}

[[noreturn]] inline void throw_out_of_range(std::string_view name, std::string_view range, std::int64_t v) {
  throw_error(errc::err_out_of_range, "The value of \"" + std::string(name) + "\" is out of range. It must be " +
                                          std::string(range) + ". Received " + out_of_range_received(v));
}

}  // namespace detail

/// net.SocketAddress. Node's properties are member functions: address(),
/// family(), flowlabel(), port(). netxx additions: scope_id() (the IPv6 zone
/// index, set only by from_sockaddr/from_ipv6; Node drops the zone text from
/// every property, and so does the constructor here), bytes(), comparison and
/// std::hash.
class socket_address {
 public:
  /// The constructor's options, as `net::socket_address::options{...}`.
  using options = socket_address_options;

  /// `new net.SocketAddress()`: 127.0.0.1, port 0.
  constexpr socket_address() noexcept : bytes_{127, 0, 0, 1} {}

  /// `new net.SocketAddress(options)`, validating in Node's order with Node's
  /// errors: ERR_INVALID_ARG_VALUE (family), ERR_SOCKET_BAD_PORT,
  /// ERR_OUT_OF_RANGE (flowlabel), ERR_INVALID_ADDRESS (address).
  /// Deviations (docs/api.md): an IPv6 flowlabel above 0xFFFFF is
  /// ERR_OUT_OF_RANGE (Node aborts the process), a flowlabel of 2**31 and more
  /// is accepted for ipv4 and out of range for ipv6 (Node aborts), text with a
  /// NUL or an over-long zoned IPv6 is judged whole (Node truncates it), and
  /// the default address follows the family in any case ('IPv4' gets
  /// 127.0.0.1; Node picks '::' before lower-casing it).
  constexpr explicit socket_address(const options& o) {
    const netxx::family fam = o.family.value();
    const std::string_view text = o.address ? *o.address : (fam == netxx::family::ipv4 ? "127.0.0.1" : "::");
    if (o.port < 0 || o.port > 65535) detail::throw_bad_port("options.port", o.port);
    if (o.flowlabel < 0 || o.flowlabel > 4294967295LL)
      detail::throw_out_of_range("options.flowlabel", ">= 0 && <= 4294967295", o.flowlabel);
    family_ = fam;
    port_ = static_cast<std::uint16_t>(o.port);
    if (fam == netxx::family::ipv4) {
      auto b = detail::parse_ipv4(text);
      if (!b) throw_error(errc::err_invalid_address);
      for (std::size_t k = 0; k < 4; ++k) bytes_[k] = (*b)[k];
    } else {
      // libuv takes everything after the first '%' as the zone, unchecked.
      auto b = detail::parse_ipv6(text.substr(0, text.find('%')));
      if (!b) throw_error(errc::err_invalid_address);
      bytes_ = *b;
      if (o.flowlabel > 0xFFFFF) detail::throw_out_of_range("options.flowlabel", ">= 0 && <= 1048575", o.flowlabel);
      flowlabel_ = static_cast<std::uint32_t>(o.flowlabel);
    }
  }

  /// An IPv4 address from its four bytes (network order). netxx addition.
  static constexpr socket_address from_ipv4(const std::array<std::uint8_t, 4>& b, std::uint16_t port = 0) noexcept {
    socket_address a;
    a.bytes_ = {b[0], b[1], b[2], b[3]};
    a.port_ = port;
    return a;
  }
  /// An IPv6 address from its sixteen bytes (network order). netxx addition;
  /// the flow label is masked to its 20 bits.
  static constexpr socket_address from_ipv6(const std::array<std::uint8_t, 16>& b, std::uint16_t port = 0,
                                            std::uint32_t flowlabel = 0, std::uint32_t scope_id = 0) noexcept {
    socket_address a;
    a.family_ = netxx::family::ipv6;
    a.bytes_ = b;
    a.port_ = port;
    a.flowlabel_ = flowlabel & 0xFFFFF;
    a.scope_id_ = scope_id;
    return a;
  }

  /// `SocketAddress.parse(input)`: "123.1.2.3:1234", "[1::1]:1234", "1.2.3.4",
  /// "[::1]"; std::nullopt where Node returns undefined. Follows the
  /// documentation where Node's URL-parser implementation departs from it
  /// (docs/api.md): the port is kept even when it is 80, and only dotted-quad
  /// IPv4 and bracketed IPv6 without zone are addresses (no "127.1", "0x7f.1",
  /// paths, userinfo, whitespace or percent-encoding).
  static constexpr std::optional<socket_address> parse(std::string_view input) noexcept {
    std::string_view host;
    std::string_view rest;
    bool v6 = false;
    if (!input.empty() && input[0] == '[') {
      const auto close = input.find(']');
      if (close == std::string_view::npos) return std::nullopt;
      host = input.substr(1, close - 1);
      rest = input.substr(close + 1);
      v6 = true;
    } else {
      const auto colon = input.find(':');
      host = input.substr(0, colon);
      rest = colon == std::string_view::npos ? std::string_view{} : input.substr(colon);
    }
    std::uint32_t port = 0;
    if (!rest.empty()) {
      if (rest[0] != ':') return std::nullopt;
      for (std::size_t k = 1; k < rest.size(); ++k) {
        const char c = rest[k];
        if (c < '0' || c > '9') return std::nullopt;
        port = port * 10 + static_cast<std::uint32_t>(c - '0');
        if (port > 65535) return std::nullopt;
      }
    }
    if (v6) {
      auto b = detail::parse_ipv6(host);
      if (!b) return std::nullopt;
      return from_ipv6(*b, static_cast<std::uint16_t>(port));
    }
    auto b = detail::parse_ipv4(host);
    if (!b) return std::nullopt;
    return from_ipv4(*b, static_cast<std::uint16_t>(port));
  }

  /// socketaddress.address: Node's text of the address ("::ffff:1.2.3.4", "1::").
  constexpr ip_string address() const noexcept {
    if (family_ == netxx::family::ipv4) return detail::format_ipv4({bytes_[0], bytes_[1], bytes_[2], bytes_[3]});
    return detail::format_ipv6(bytes_);
  }
  /// socketaddress.family: netxx::family::ipv4 or ::ipv6 (to_string() gives Node's 'ipv4'/'ipv6').
  constexpr netxx::family family() const noexcept { return family_; }
  /// socketaddress.flowlabel: always 0 for ipv4.
  constexpr std::uint32_t flowlabel() const noexcept { return flowlabel_; }
  /// socketaddress.port.
  constexpr std::uint16_t port() const noexcept { return port_; }
  /// The IPv6 zone index (sin6_scope_id); netxx addition, 0 unless from_sockaddr/from_ipv6 set it.
  constexpr std::uint32_t scope_id() const noexcept { return scope_id_; }
  /// The address bytes in network order: 4 meaningful bytes for ipv4 (the rest zero), 16 for ipv6.
  constexpr const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }

  /// Every field takes part, so equal addresses are interchangeable as map keys.
  friend constexpr bool operator==(const socket_address&, const socket_address&) noexcept = default;
  /// Family first (ipv4 before ipv6), then address bytes, port, flow label, zone.
  friend constexpr std::strong_ordering operator<=>(const socket_address&, const socket_address&) noexcept = default;

 private:
  // Declaration order is the comparison order.
  netxx::family family_ = netxx::family::ipv4;
  std::array<std::uint8_t, 16> bytes_{};
  std::uint16_t port_ = 0;
  std::uint32_t flowlabel_ = 0;
  std::uint32_t scope_id_ = 0;
};

/// "1.2.3.4:80" / "[::1]:80": the text SocketAddress.parse reads back to the same address and port.
inline std::string to_string(const socket_address& a) {
  std::string s;
  if (a.family() == family::ipv6) s += '[';
  s += a.address().view();
  if (a.family() == family::ipv6) s += ']';
  s += ':';
  s += std::to_string(a.port());
  return s;
}

namespace detail {

// util.inspect() of a SocketAddress, as Node quotes one in error messages:
// one line while it fits inspect's 80 columns, else one property per line;
// ERR_INVALID_ARG_VALUE then cuts it after 128 characters.
inline std::string inspect(const socket_address& a) {
  const std::string entries[] = {"address: '" + a.address().str() + "'", "port: " + std::to_string(a.port()),
                                 "family: '" + std::string(to_string(a.family())) + "'",
                                 "flowlabel: " + std::to_string(a.flowlabel())};
  std::size_t total = 4 + 15;  // entry count + (entries + indentation + "{" + 10), as util.inspect counts
  for (const auto& e : entries) total += e.size();
  std::string s = "SocketAddress {";
  if (total <= 80) {
    for (std::size_t k = 0; k < 4; ++k) s += (k ? ", " : " ") + entries[k];
    s += " }";
  } else {
    for (std::size_t k = 0; k < 4; ++k) s += "\n  " + entries[k] + (k < 3 ? "," : "");
    s += "\n}";
  }
  if (s.size() > 128) s = s.substr(0, 128) + "...";
  return s;
}

}  // namespace detail

NETXX_END_NAMESPACE

/// Hashes every field operator== compares, so socket_address keys unordered containers.
template <>
struct std::hash<netxx::socket_address> {
  std::size_t operator()(const netxx::socket_address& a) const noexcept {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
    auto mix = [&h](std::uint64_t v) {
      h ^= v;
      h *= 1099511628211ULL;
    };
    mix(static_cast<std::uint64_t>(a.family()));
    for (auto b : a.bytes()) mix(b);
    mix(a.port());
    mix(a.flowlabel());
    mix(a.scope_id());
    return static_cast<std::size_t>(h);
  }
};
