// SPDX-License-Identifier: BSL-1.0
#pragma once
/// Conversions between net::socket_address and the kernel's sockaddr, for the
/// I/O layers. Kept out of <netxx/socket_address.hpp> so that header stays
/// free of socket headers (and usable in constant expressions).

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

#include "../config.hpp"
#include "../socket_address.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

/// Writes `a` into `out` (sockaddr_in or sockaddr_in6, port and flow label in
/// network order, scope id kept) and returns the length to pass to the kernel.
inline socklen_t to_sockaddr(const socket_address& a, sockaddr_storage& out) noexcept {
  std::memset(&out, 0, sizeof out);
  if (a.family() == family::ipv4) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(a.port());
    std::memcpy(&sin.sin_addr, a.bytes().data(), 4);
    std::memcpy(&out, &sin, sizeof sin);
    return sizeof sin;
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(a.port());
  sin6.sin6_flowinfo = htonl(a.flowlabel());
  std::memcpy(&sin6.sin6_addr, a.bytes().data(), 16);
  sin6.sin6_scope_id = a.scope_id();
  std::memcpy(&out, &sin6, sizeof sin6);
  return sizeof sin6;
}

/// Reads an AF_INET or AF_INET6 address; std::nullopt for any other family
/// (AF_UNIX has no socket_address form) or a length too short for its family.
inline std::optional<socket_address> from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return std::nullopt;
  sa_family_t fam{};
  std::memcpy(&fam, reinterpret_cast<const char*>(sa) + offsetof(sockaddr, sa_family), sizeof fam);
  if (fam == AF_INET) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return std::nullopt;
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    std::array<std::uint8_t, 4> b{};
    std::memcpy(b.data(), &sin.sin_addr, 4);
    return socket_address::from_ipv4(b, ntohs(sin.sin_port));
  }
  if (fam == AF_INET6) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in6))) return std::nullopt;
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    std::array<std::uint8_t, 16> b{};
    std::memcpy(b.data(), &sin6.sin6_addr, 16);
    return socket_address::from_ipv6(b, ntohs(sin6.sin6_port), ntohl(sin6.sin6_flowinfo) & 0xFFFFF,
                                      sin6.sin6_scope_id);
  }
  return std::nullopt;
}

}  // namespace detail
NETXX_END_NAMESPACE
