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

#include "net_test.hpp"

namespace {

// Makes io_uring_setup fail with EPERM in this process, as Docker's default
// seccomp profile does.
bool block_io_uring_setup() {
#if defined(__x86_64__)
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
#else
  return false;
#endif
}

// Runs fn in a child process (the filter cannot be removed once set) and
// returns its exit code.
template <typename F>
int in_child(F fn) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(fn());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
