// SPDX-License-Identifier: BSL-1.0
#pragma once
// Socket system calls shared by server and socket: creating, binding and
// listening, Unix paths (filesystem and abstract), options, names.

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
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
  // Node hands libuv whole seconds (~~(initialDelay / 1000)); under one
  // second libuv leaves the system's idle time, interval and count alone.
  const std::int64_t seconds = initial_delay_ms / 1000;
  if (seconds < 1) return 0;
  const int idle = seconds > 2147483647 ? 2147483647 : static_cast<int>(seconds);
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

/// The path a Unix socket is bound to: a filesystem path, or an abstract name
/// with its leading NUL ("" when unbound); std::nullopt when getsockname fails.
inline std::optional<std::string> unix_socket_path(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  // A 108-byte path fills sun_path: the kernel's NUL after it lies
  // beyond the array, inside ss, and so does the length it returns.
  constexpr std::size_t off = offsetof(sockaddr_un, sun_path);
  const std::size_t n = len > off ? std::min<std::size_t>(len, sizeof ss) - off : 0;
  std::string path(reinterpret_cast<const char*>(&ss) + off, n);
  if (!path.empty() && path[0] != '\0') path.resize(std::min(path.find('\0'), path.size()));
  return path;
}

// --- listening (net.Server) -------------------------------------------------------

/// `host` as an address with `port` when it is an IP literal (netxx's
/// parser, zones included); std::nullopt for a name, which needs a lookup.
inline std::optional<socket_address> parse_host(std::string_view host, std::uint16_t port) {
  const int v = is_ip(host);
  if (v == 0) return std::nullopt;
  socket_address_options so;
  so.address = host;
  so.family = v == 4 ? family::ipv4 : family::ipv6;
  so.port = port;
  return socket_address(so);
}

/// A non-blocking TCP socket bound to `addr` and listening: 0 with the
/// descriptor in `out`, or the errno (nothing left open). SO_REUSEADDR as
/// libuv sets it (a restart is not refused over TIME_WAIT connections);
/// SO_REUSEPORT and IPV6_V6ONLY as asked.
inline int bind_listen(const socket_address& addr, int backlog, bool reuse_port, bool ipv6_only, int& out) noexcept {
  sockaddr_storage ss{};
  socklen_t len = to_sockaddr(addr, ss);
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  if (reuse_port) set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1);
  if (ss.ss_family == AF_INET6) set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, ipv6_only ? 1 : 0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, backlog) != 0) {
    int e = errno;
    ::close(fd);
    return e;
  }
  out = fd;
  return 0;
}

/// A non-blocking Unix socket bound to `path` (a filesystem path or an
/// abstract name) and listening: 0 with the descriptor in `out`, or the errno
/// (EINVAL for a path that does not fit; nothing left open).
inline int listen_unix(const std::string& path, int backlog, int& out) noexcept {
  sockaddr_storage ss{};
  int err = 0;
  auto len = to_unix_sockaddr(path, ss, err);
  if (!len) return err;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), *len) != 0 || ::listen(fd, backlog) != 0) {
    int e = errno;
    ::close(fd);
    return e;
  }
  out = fd;
  return 0;
}

/// Node's readableAll / writableAll, as libuv's uv_pipe_chmod does them: the
/// socket file's mode (stat) with the read or write bits for user, group and
/// others added, never taken away. 0, or the errno of stat or chmod.
inline int pipe_chmod(const std::string& path, bool readable_all, bool writable_all) noexcept {
  mode_t desired = 0;
  if (readable_all) desired |= S_IRUSR | S_IRGRP | S_IROTH;
  if (writable_all) desired |= S_IWUSR | S_IWGRP | S_IWOTH;
  if (desired == 0) return 0;
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return errno;
  if ((st.st_mode & desired) == desired) return 0;
  return ::chmod(path.c_str(), st.st_mode | desired) == 0 ? 0 : errno;
}

/// The address family of `fd` (AF_UNSPEC when it has no name) if it is a
/// stream socket; std::nullopt otherwise (Node's ERR_INVALID_FD_TYPE).
inline std::optional<int> stream_socket_family(int fd) noexcept {
  int type = 0;
  socklen_t tl = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM) return std::nullopt;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ss.ss_family;
}

/// Node's listen({fd}) on a descriptor the caller made: non-blocking, then
/// listening. 0 or the errno of listen().
inline int listen_on(int fd, int backlog) noexcept {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return ::listen(fd, backlog) == 0 ? 0 : errno;
}

/// "IPv4" / "IPv6", as Node's address().family.
constexpr std::string_view family_string(family f) noexcept { return f == family::ipv4 ? "IPv4" : "IPv6"; }

}  // namespace detail
NETXX_END_NAMESPACE
