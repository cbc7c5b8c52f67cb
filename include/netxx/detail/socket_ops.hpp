#pragma once
// Socket system calls shared by server and socket: creating, binding and
// listening, Unix paths (filesystem and abstract), options, names.

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "../config.hpp"
#include "../errors.hpp"
#include "../ip.hpp"
#include "../socket_address.hpp"
#include "sockaddr.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

/// Bytes of sun_path on Linux (108). All of them are usable, for a filesystem
/// path too: Linux takes a sun_path with no terminating NUL when the length
/// passed says where it ends. libuv (with UV_PIPE_NO_TRUNCATE, as Node calls
/// it) does the same, so Node listens on and connects to 108-byte paths.
constexpr std::size_t unix_path_max = sizeof(sockaddr_un::sun_path);

/// A Unix address: a filesystem path, or a Linux abstract name when the
/// first character is '\0'. Fails with EINVAL when it is empty or longer
/// than sun_path, as libuv does (Node: "listen EINVAL: invalid argument
/// <path>"); never truncates.
inline std::optional<socklen_t> to_unix_sockaddr(std::string_view path, sockaddr_storage& out, int& err) noexcept {
  std::memset(&out, 0, sizeof out);
  auto* un = reinterpret_cast<sockaddr_un*>(&out);
  un->sun_family = AF_UNIX;
  if (path.empty() || path.size() > unix_path_max) {
    err = EINVAL;
    return std::nullopt;
  }
  std::memcpy(un->sun_path, path.data(), path.size());
  // An abstract name is exactly its bytes. A filesystem path gets its NUL in
  // the length when there is room for one (the kernel stops at the first NUL
  // anyway); a 108-byte path ends where sun_path does.
  const bool abstract = path[0] == '\0';
  const std::size_t n = abstract || path.size() == unix_path_max ? path.size() : path.size() + 1;
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n);
}

/// An IP literal ("127.0.0.1", "::1", "fe80::1%eth0") and a port as a
/// sockaddr; std::nullopt when the text is no address of that family.
inline std::optional<socklen_t> to_ip_sockaddr(std::string_view ip, std::uint16_t port, int fam,
                                               sockaddr_storage& out) noexcept {
  std::memset(&out, 0, sizeof out);
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  if (ip.size() >= sizeof text) return std::nullopt;
  std::memcpy(text, ip.data(), ip.size());
  if (fam == 4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    if (::inet_pton(AF_INET, text, &sin->sin_addr) != 1) return std::nullopt;
    return static_cast<socklen_t>(sizeof(sockaddr_in));
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  if (char* pct = std::strchr(text, '%')) {  // a zone: an interface name or index
    *pct = '\0';
    const char* zone = pct + 1;
    unsigned idx = ::if_nametoindex(zone);
    if (idx == 0) {
      char* end = nullptr;
      idx = static_cast<unsigned>(std::strtoul(zone, &end, 10));
      if (end == zone || *end != '\0') idx = 0;
    }
    sin6->sin6_scope_id = idx;
  }
  if (::inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1) return std::nullopt;
  return static_cast<socklen_t>(sizeof(sockaddr_in6));
}

inline int set_int_option(int fd, int level, int name, int value) noexcept {
  return ::setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : -errno;
}

/// Node's socket.setKeepAlive(enable, initialDelay): SO_KEEPALIVE, and with
/// it TCP_KEEPIDLE (seconds, at least 1), TCP_KEEPINTVL=1, TCP_KEEPCNT=10 as libuv sets.
inline int set_keep_alive(int fd, bool enable, std::int64_t initial_delay_ms) noexcept {
  if (int r = set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, enable ? 1 : 0); r < 0 || !enable) return r;
  const int idle = initial_delay_ms >= 1000 ? static_cast<int>(initial_delay_ms / 1000) : 1;
  if (int r = set_int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle); r < 0) return r;
  if (int r = set_int_option(fd, IPPROTO_TCP, TCP_KEEPINTVL, 1); r < 0) return r;
  return set_int_option(fd, IPPROTO_TCP, TCP_KEEPCNT, 10);
}

/// The address of fd's own end (local = true) or its peer's, if IP.
inline std::optional<socket_address> socket_name(int fd, bool local) noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int r = local ? ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                : ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (r != 0) return std::nullopt;
  return from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

/// "IPv4" / "IPv6", as Node's address().family.
constexpr std::string_view family_string(family f) noexcept { return f == family::ipv4 ? "IPv4" : "IPv6"; }

}  // namespace detail
NETXX_END_NAMESPACE
