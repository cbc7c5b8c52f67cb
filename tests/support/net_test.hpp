#pragma once
// Helpers shared by the I/O tests: the backend under test, bounded runs,
// descriptor counting, socket pairs on loopback and Unix sockets.

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <netxx/net.hpp>

#include "catch.hpp"

namespace netxx_test {

/// The backend NETXX_BACKEND asks for ("" when automatic).
inline std::string requested_backend() {
  const char* v = std::getenv("NETXX_BACKEND");
  return v ? v : "";
}

/// Number of open descriptors of this process.
inline int open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    --n;  // the directory stream itself
  }
  return n;
}

/// Runs t on this thread's loop, failing the test (instead of hanging) if it
/// has not completed after limit_ms.
template <typename T>
auto run_bounded(netxx::task<T> t, std::int64_t limit_ms = 20000) {
  auto guard = netxx::set_timeout(
      [limit_ms] {
        std::fprintf(stderr, "test exceeded its %lld ms bound\n", static_cast<long long>(limit_ms));
        std::abort();
      },
      limit_ms);
  guard.unref();
  struct closer {
    netxx::timer& t;
    ~closer() { t.close(); }
  } c{guard};
  return netxx::run(std::move(t));
}

/// A connected pair of non-blocking stream sockets of the given family
/// (AF_INET on 127.0.0.1, AF_INET6 on ::1, AF_UNIX via socketpair).
inline std::pair<int, int> connected_pair(int family) {
  if (family == AF_UNIX) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    return {sv[0], sv[1]};
  }
  int lfd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(lfd >= 0);
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof(sockaddr_in6);
  }
  REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&ss), len) == 0);
  REQUIRE(::listen(lfd, 1) == 0);
  REQUIRE(::getsockname(lfd, reinterpret_cast<sockaddr*>(&ss), &len) == 0);
  int c = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(::connect(c, reinterpret_cast<sockaddr*>(&ss), len) == 0);
  int s = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  REQUIRE(s >= 0);
  ::close(lfd);
  ::fcntl(c, F_SETFL, O_NONBLOCK);
  ::fcntl(s, F_SETFL, O_NONBLOCK);
  return {c, s};
}

inline std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}
inline std::string_view text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace netxx_test
