// The automatic backend falls back to epoll when io_uring cannot be set up:
// proven with a real refusal (a seccomp filter, as container runtimes install)
// and with an injected setup failure.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "net_test.hpp"

namespace {

#if defined(__x86_64__)
constexpr std::uint32_t this_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr std::uint32_t this_arch = AUDIT_ARCH_AARCH64;
#else
constexpr std::uint32_t this_arch = 0;  // no filter written for this architecture: the tests skip
#endif

// Makes one system call fail with EPERM in this process, as container
// runtimes' seccomp profiles do; a call made for another architecture (an
// x86-64 process can make i386 calls) is let through untouched.
bool block_syscall(long nr) {
  if (this_arch == 0) return false;
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, this_arch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(nr), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// Makes io_uring_setup fail with EPERM, as Docker's default profile does.
bool block_io_uring_setup() { return block_syscall(__NR_io_uring_setup); }

// Lets io_uring_setup through but refuses io_uring_enter: a ring can be made
// and never run (a profile that lists the io_uring calls one by one).
bool block_io_uring_enter() { return block_syscall(__NR_io_uring_enter); }

// Runs fn in a child process (the filter cannot be removed once set) and
// returns its exit code.
// A child that spins or hangs instead of answering is killed by SIGALRM
// after limit_s seconds (the result is then 128 + SIGALRM).
template <typename F>
int in_child(F fn, unsigned limit_s = 20) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(limit_s);
    ::_exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Sets (or, with nullptr, unsets) NETXX_BACKEND for the life of this object.
struct backend_env {
  std::optional<std::string> saved;
  explicit backend_env(const char* value) {
    if (const char* v = std::getenv("NETXX_BACKEND")) saved = v;
    value ? ::setenv("NETXX_BACKEND", value, 1) : ::unsetenv("NETXX_BACKEND");
  }
  backend_env(const backend_env&) = delete;
  backend_env& operator=(const backend_env&) = delete;
  ~backend_env() { saved ? ::setenv("NETXX_BACKEND", saved->c_str(), 1) : ::unsetenv("NETXX_BACKEND"); }
};

// A netxx echo over 127.0.0.1 on this thread's loop (net::server, net::connect,
// awaited reads and writes): 0 when the 64 KiB sent came back unchanged.
int echo_over_loopback() {
  auto body = []() -> net::task<int> {
    auto srv = net::create_server();
    co_await srv.listen({.port = 0, .host = "127.0.0.1"});
    net::spawn([](net::server& srv) -> net::task<> {
      net::socket s = co_await srv.accept();
      std::array<std::byte, 4096> buf;
      while (std::size_t n = co_await s.read(buf)) co_await s.write(std::span(buf).first(n));
      co_await s.end();
    }(srv));
    net::socket c = co_await net::connect({.port = srv.address()->port, .host = "127.0.0.1"});
    std::vector<std::byte> sent(64 * 1024);
    for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<std::byte>(i * 7 + i / 251);
    net::spawn([](net::socket c, std::span<const std::byte> data) -> net::task<> {
      co_await c.write(data);
      co_await c.end();
    }(c, sent));
    std::vector<std::byte> got;
    std::array<std::byte, 8192> buf;
    while (std::size_t n = co_await c.read(buf)) got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    srv.close();
    co_return got == sent ? 0 : 10;
  };
  try {
    return net::run(body());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo failed: %s\n", e.what());
    return 11;
  }
}

// A round trip on the loop, to show the fallen-back loop really works.
template <typename Loop>
bool round_trip(Loop& loop) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) return false;
  auto body = [&]() -> net::task<bool> {
    auto w = co_await loop.send(sv[0], netxx_test::bytes("ping"));
    std::array<std::byte, 8> buf;
    auto r = co_await loop.recv(sv[1], buf);
    co_return w.value() == 4 && r.value() == 4;
  };
  bool ok = loop.run(body());
  loop.close_now(sv[0]);
  loop.close_now(sv[1]);
  return ok;
}

}  // namespace

TEST_CASE("the automatic backend falls back to epoll when seccomp refuses io_uring_setup", "[backend]") {
  int rc = in_child([] {
    if (!block_io_uring_setup()) return 77;
    net::basic_loop<net::auto_backend> loop(std::in_place, net::backend_choice::automatic);
    auto f = loop.features();
    if (f.backend != "epoll") return 1;
    if (!f.fell_back) return 2;
    if (f.uring_error != std::errc::operation_not_permitted) return 3;
    return round_trip(loop) ? 0 : 4;
  });
  if (rc == 77) NETXX_SKIP("cannot install a seccomp filter here");
  CHECK(rc == 0);
}

TEST_CASE("NETXX_BACKEND=io_uring where io_uring is refused is a clear error, not a silent fallback",
          "[backend]") {
  int rc = in_child([] {
    if (!block_io_uring_setup()) return 77;
    try {
      net::basic_loop<net::auto_backend> loop(std::in_place, net::backend_choice::io_uring);
      return 1;
    } catch (const net::error& e) {
      if (e.code() != net::errc::err_backend_unavailable) return 2;
      if (std::string(e.what()).find("EPERM") == std::string::npos) return 3;
      return 0;
    }
  });
  if (rc == 77) NETXX_SKIP("cannot install a seccomp filter here");
  CHECK(rc == 0);
}

TEST_CASE("the automatic backend falls back when the io_uring setup call fails", "[backend]") {
  auto failing_setup = [](unsigned, io_uring*, io_uring_params*) -> int { return -ENOSYS; };
  net::basic_loop<net::auto_backend> loop(std::in_place, net::backend_choice::automatic, +failing_setup);
  auto f = loop.features();
  CHECK(f.backend == "epoll");
  CHECK(f.fell_back);
  CHECK(f.uring_error == std::errc::function_not_supported);
  CHECK(round_trip(loop));
}

TEST_CASE("naming a backend directly gives exactly that backend", "[backend]") {
  net::basic_loop<net::epoll_backend> e;
  CHECK(e.features().backend == "epoll");
  CHECK(round_trip(e));
  net::basic_loop<net::uring_backend> u;
  CHECK(u.features().backend == "io_uring");
  CHECK(u.features().uring.ext_arg);
  CHECK(round_trip(u));
}

TEST_CASE("a forced epoll backend never touches io_uring", "[backend]") {
  int rc = in_child([] {
    if (!block_io_uring_setup()) return 77;
    net::basic_loop<net::auto_backend> loop(std::in_place, net::backend_choice::epoll);
    auto f = loop.features();
    return f.backend == "epoll" && !f.fell_back && round_trip(loop) ? 0 : 1;
  });
  if (rc == 77) NETXX_SKIP("cannot install a seccomp filter here");
  CHECK(rc == 0);
}

TEST_CASE("the automatic backend falls back to epoll, and serves, when seccomp refuses only io_uring_enter",
          "[backend]") {
  // Before the start-up probe, such a loop kept io_uring, served nothing and
  // spun at 100% CPU: the alarm ends a child that does.
  int rc = in_child([] {
    backend_env env(nullptr);
    if (!block_io_uring_enter()) return 77;
    auto f = net::loop::current().features();
    if (f.backend != "epoll") return 1;
    if (!f.fell_back) return 2;
    if (f.uring_error != std::errc::operation_not_permitted) return 3;
    return echo_over_loopback();
  });
  if (rc == 77) NETXX_SKIP("cannot install a seccomp filter here");
  CHECK(rc == 0);
}

TEST_CASE("NETXX_BACKEND=io_uring where io_uring_enter is refused is a clear error, not a spin", "[backend]") {
  int rc = in_child([] {
    backend_env env("io_uring");
    if (!block_io_uring_enter()) return 77;
    try {
      net::loop::current();
      return 1;
    } catch (const net::error& e) {
      if (e.code() != net::errc::err_backend_unavailable) return 2;
      const std::string what = e.what();
      if (what.find("io_uring_enter") == std::string::npos) return 3;
      if (what.find("EPERM") == std::string::npos) return 4;
      return 0;
    }
  });
  if (rc == 77) NETXX_SKIP("cannot install a seccomp filter here");
  CHECK(rc == 0);
}

TEST_CASE("an io_uring loop whose io_uring_enter starts failing stops with an error naming it, never spins",
          "[backend]") {
  int rc = in_child([] {
    net::basic_loop<net::uring_backend> loop;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) return 5;
    if (!block_io_uring_enter()) return 77;
    auto body = [&]() -> net::task<int> {
      std::array<std::byte, 8> buf;
      auto r = co_await loop.recv(sv[1], buf);  // nothing comes: only the kernel could finish it
      co_return r.ok() ? 1 : 2;
    };
    try {
      loop.run(body());
      return 3;
    } catch (const net::error& e) {
      if (e.code() != std::errc::operation_not_permitted) return 4;
      const std::string what = e.what();
      if (what.find("io_uring_enter") == std::string::npos || what.find("EPERM") == std::string::npos) return 6;
      return 0;
    }
  });
  if (rc == 77) NETXX_SKIP("cannot install a seccomp filter here");
  CHECK(rc == 0);
}

TEST_CASE("an unknown NETXX_BACKEND is an error naming the allowed values", "[backend]") {
  {
    backend_env env("bogus");
    try {
      net::basic_loop<net::auto_backend> loop;
      FAIL("a loop was made with NETXX_BACKEND=bogus");
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::err_invalid_arg_value);
      const std::string what = e.what();
      CHECK(what.find("bogus") != std::string::npos);
      for (const char* allowed : {"io_uring", "uring", "epoll"}) CHECK(what.find(allowed) != std::string::npos);
    }
    CHECK_THROWS_AS(net::backend_from_env(), net::error);
  }
  {
    backend_env env("");  // empty: automatic, as unset
    CHECK(net::backend_from_env() == net::backend_choice::automatic);
  }
  {
    backend_env env(nullptr);
    CHECK(net::backend_from_env() == net::backend_choice::automatic);
  }
  {
    backend_env env("uring");
    CHECK(net::backend_from_env() == net::backend_choice::io_uring);
  }
  {
    backend_env env("epoll");
    CHECK(net::backend_from_env() == net::backend_choice::epoll);
    net::basic_loop<net::auto_backend> loop;
    CHECK(loop.features().backend == "epoll");
  }
}
