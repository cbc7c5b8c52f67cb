#pragma once
// Helpers shared by the I/O tests: the backend under test, bounded runs,
// descriptor counting, socket pairs on loopback and Unix sockets, raw
// loopback connects, a reproducible byte stream and its writer; Node and
// child processes come from node.hpp.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <netxx/net.hpp>

#include "catch.hpp"
#include "node.hpp"

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

namespace detail {
/// A timer that aborts the test (instead of letting it hang) after limit_ms;
/// unreferenced, so it keeps no run() going; closed when this goes.
struct run_bound {
  netxx::timer t;
  explicit run_bound(std::int64_t limit_ms)
      : t(netxx::set_timeout(
            [limit_ms] {
              std::fprintf(stderr, "test exceeded its %lld ms bound\n", static_cast<long long>(limit_ms));
              std::abort();
            },
            limit_ms)) {
    t.unref();
  }
  run_bound(const run_bound&) = delete;
  run_bound& operator=(const run_bound&) = delete;
  ~run_bound() { t.close(); }
};
}  // namespace detail

/// Runs t on this thread's loop, failing the test (instead of hanging) if it
/// has not completed after limit_ms.
template <typename T>
auto run_bounded(netxx::task<T> t, std::int64_t limit_ms = 20000) {
  detail::run_bound guard(limit_ms);
  return netxx::run(std::move(t));
}

/// netxx::run(): this thread's loop until nothing referenced is left,
/// failing the test (instead of hanging) after limit_ms.
inline void run_bounded(std::int64_t limit_ms = 20000) {
  detail::run_bound guard(limit_ms);
  netxx::run();
}

/// Runs the loop until pred() holds, failing the test (instead of hanging)
/// after limit_ms.
template <typename Pred>
void run_until(Pred pred, int limit_ms = 10'000) {
  auto body = [&]() -> netxx::task<> {
    while (!pred()) co_await netxx::sleep(1);
  };
  run_bounded(body(), limit_ms);
}

/// The loopback address of `family` (127.0.0.1 or ::1) with `port`, in ss; its length.
inline socklen_t loopback_address(int family, std::uint16_t port, sockaddr_storage& ss) {
  ss = {};
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof(sockaddr_in);
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  a->sin6_addr = in6addr_loopback;
  return sizeof(sockaddr_in6);
}

/// A TCP port on the loopback of `family` with nothing bound to it now (the
/// system's pick for a socket bound and closed at once): a connect to it is refused.
inline std::uint16_t unused_port(int family) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_storage ss{};
  socklen_t len = loopback_address(family, 0, ss);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0);
  ::close(fd);
  return family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
                           : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

/// A port free on every address of both families at the time of the call
/// (bound on the dual-stack wildcard ::): for a later bind to 0.0.0.0 or ::,
/// which a port taken on one loopback address only would refuse.
inline std::uint16_t unused_wildcard_port() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  const int off = 0;
  REQUIRE(::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_any;
  socklen_t len = sizeof a;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin6_port);
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
  socklen_t len = loopback_address(family, 0, ss);
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

/// Runs the loop for a moment, so what close() left for the next turn (Node
/// emits 'close' on a later tick; the server's state, and its descriptors,
/// live until then) has run before descriptors are counted.
inline void settle() {
  run_bounded([]() -> netxx::task<> { co_await netxx::sleep(1); }(), 5'000);
}

// --- raw loopback connects (the loop's connect, not net::connect) ------------------

/// An address to connect to: an IP literal and port, or a Unix socket path.
struct raw_address {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int domain = AF_UNIX;
};

/// host is an IPv4 or IPv6 literal; an empty host means the Unix `path`.
inline raw_address make_address(const std::string& host, std::uint16_t port, const std::string& path = {}) {
  raw_address a;
  if (host.empty()) {
    auto* un = reinterpret_cast<sockaddr_un*>(&a.ss);
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.c_str(), path.size() + 1);
    a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  } else if (host.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    ::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr);
    a.len = sizeof(sockaddr_in6);
    a.domain = AF_INET6;
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    ::inet_pton(AF_INET, host.c_str(), &in->sin_addr);
    a.len = sizeof(sockaddr_in);
    a.domain = AF_INET;
  }
  return a;
}

/// 127.0.0.1:port.
inline sockaddr_in loopback4(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/// A non-blocking client socket connected with the loop's connect: its
/// descriptor, or -errno on failure.
inline netxx::task<int> connect_raw(raw_address to) {
  auto& loop = netxx::loop::current();
  int fd = ::socket(to.domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) co_return -errno;
  const netxx::io_result r = co_await loop.connect(fd, reinterpret_cast<const sockaddr*>(&to.ss), to.len);
  if (!r.ok()) {
    loop.close_now(fd);
    co_return r.res;
  }
  co_return fd;
}

/// connect_raw to 127.0.0.1:port.
inline netxx::task<int> connect_v4(std::uint16_t port) {
  const sockaddr_in in = loopback4(port);
  raw_address to;
  std::memcpy(&to.ss, &in, sizeof in);
  to.len = sizeof in;
  to.domain = AF_INET;
  return connect_raw(to);
}

// --- a reproducible byte stream ---------------------------------------------------

/// A reproducible pseudo-random byte stream: byte p of stream `seed` is byte
/// p % 8 of splitmix64's output for word p / 8. Stateless, so the writer and
/// the checker can each produce any stretch of it, and no client has to keep
/// what it sent in memory to compare what comes back.
struct byte_stream {
  std::uint64_t seed = 0;

  std::uint64_t word(std::uint64_t i) const noexcept {
    std::uint64_t z = (seed << 40) + i + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Writes bytes [pos, pos + out.size()) of the stream into out.
  void fill(std::uint64_t pos, std::span<std::byte> out) const noexcept {
    std::size_t k = 0;
    while (k < out.size()) {
      const std::uint64_t p = pos + k;
      const std::uint64_t w = word(p / 8);
      const std::size_t from = static_cast<std::size_t>(p % 8);
      const std::size_t n = std::min<std::size_t>(8 - from, out.size() - k);
      std::memcpy(out.data() + k, reinterpret_cast<const unsigned char*>(&w) + from, n);
      k += n;
    }
  }
  /// True when got is exactly bytes [pos, pos + got.size()) of the stream.
  bool matches(std::uint64_t pos, std::span<const std::byte> got) const {
    thread_local std::vector<std::byte> want;  // no suspension between fill and compare
    want.resize(got.size());
    fill(pos, want);
    return std::memcmp(want.data(), got.data(), got.size()) == 0;
  }
};

/// A random write size, log-uniform from 1 byte to 64 KiB: many tiny writes,
/// many large ones.
inline std::size_t random_size(std::mt19937& rng) {
  const unsigned bits = rng() % 17;
  return 1 + rng() % (std::size_t{1} << bits);
}

/// Writes `total` bytes of bs to s in random-sized awaited writes (sizes
/// drawn from `seed`), then ends. Adds the bytes written to `written`; an
/// error is appended to `error` ("write: ...").
template <typename Socket>
netxx::task<> write_stream(Socket s, byte_stream bs, std::uint64_t total, unsigned seed, std::uint64_t& written,
                           std::string& error) {
  try {
    std::mt19937 rng(seed);
    std::vector<std::byte> buf(64 * 1024);
    std::uint64_t off = 0;
    while (off < total) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(total - off, random_size(rng)));
      auto chunk = std::span(buf).first(n);
      bs.fill(off, chunk);
      co_await s.write(std::span<const std::byte>(chunk));
      off += n;
    }
    written = off;
    co_await s.end();
  } catch (const std::exception& e) {
    error += std::string("write: ") + e.what();
  }
}

}  // namespace netxx_test
