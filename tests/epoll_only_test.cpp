// The epoll-only build: this file is compiled with NETXX_DISABLE_IO_URING
// (tests/CMakeLists.txt), the rest of the suite without. The loop runs on
// epoll, NETXX_BACKEND=io_uring is the error it is where io_uring cannot be
// set up (saying it was compiled out), features() says so, and nothing of
// liburing reached this file. tests/consumer/run.sh checks the same build
// from outside: no liburing header, no -luring.
#include <cstdlib>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "net_test.hpp"

#ifndef NETXX_DISABLE_IO_URING
#  error "tests/CMakeLists.txt compiles this file with NETXX_DISABLE_IO_URING"
#endif
#ifdef LIB_URING_H
#  error "liburing.h was included in an epoll-only build"
#endif

namespace {

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

// An echo through net::server and net::connect: true when the 64 KiB sent
// came back unchanged.
net::task<bool> echo(net::listen_options where, net::connect_options to) {
  auto srv = net::create_server();
  co_await srv.listen(where);
  if (to.path.empty()) to.port = srv.address()->port;
  net::spawn([](net::server& srv) -> net::task<> {
    net::socket s = co_await srv.accept();
    std::array<std::byte, 4096> buf;
    while (std::size_t n = co_await s.read(buf)) co_await s.write(std::span(buf).first(n));
    co_await s.end();
  }(srv));
  net::socket c = co_await net::connect(to);
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
  co_return got == sent;
}

}  // namespace

// A file built with the macro and one built without never share a type.
static_assert(std::is_same_v<net::loop, netxx::v0_2_epoll_only::loop>);

TEST_CASE("an epoll-only build runs on epoll and says io_uring is compiled out", "[backend][epoll-only]") {
  backend_env env(nullptr);
  const auto f = net::loop::current().features();
  CHECK(f.backend == "epoll");
  CHECK(net::loop::current().backend_name() == "epoll");
  CHECK_FALSE(f.uring_compiled);
  CHECK_FALSE(f.fell_back);  // nothing was tried, nothing refused
  CHECK_FALSE(f.uring_error);
  CHECK_FALSE(f.uring.ext_arg);
  CHECK_FALSE(f.uring.provided_buffer_rings);
  CHECK_FALSE(net::loop::current().backend().is_uring());
}

TEST_CASE("an epoll-only build echoes over 127.0.0.1, ::1 and a Unix socket", "[backend][epoll-only]") {
  backend_env env(nullptr);
  const int fds_before = netxx_test::open_fds();
  CHECK(netxx_test::run_bounded(echo({.port = 0, .host = "127.0.0.1"}, {.host = "127.0.0.1"})));
  CHECK(netxx_test::run_bounded(echo({.port = 0, .host = "::1"}, {.host = "::1"})));
  const std::string path = netxx_test::temp_path("epoll-only.sock");
  CHECK(netxx_test::run_bounded(echo({.path = path}, {.path = path})));
  netxx_test::settle();
  CHECK(net::loop::current().features().backend == "epoll");
  CHECK(netxx_test::open_fds() == fds_before);
}

TEST_CASE("NETXX_BACKEND=io_uring in an epoll-only build is ERR_NETXX_BACKEND_UNAVAILABLE saying why",
          "[backend][epoll-only]") {
  for (const char* name : {"io_uring", "uring"}) {
    INFO(name);
    backend_env env(name);
    try {
      net::basic_loop<net::auto_backend> loop;
      FAIL_CHECK("a loop was made with NETXX_BACKEND=" << name);
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::err_backend_unavailable);
      const std::string what = e.what();
      CHECK(what.find("compiled out") != std::string::npos);
      CHECK(what.find("NETXX_DISABLE_IO_URING") != std::string::npos);
    }
  }
  // Asked for in code, the same.
  CHECK_THROWS_AS(net::basic_loop<net::auto_backend>(std::in_place, net::backend_choice::io_uring), net::error);
  {
    backend_env env("epoll");
    net::basic_loop<net::auto_backend> loop;
    CHECK(loop.features().backend == "epoll");
  }
  {
    backend_env env(nullptr);
    net::basic_loop<net::epoll_backend> loop;  // naming epoll directly still works
    CHECK(loop.features().backend == "epoll");
    CHECK_FALSE(loop.features().uring_compiled);
  }
}
