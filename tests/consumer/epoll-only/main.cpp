// An epoll-only netxx, used from outside: echoes over 127.0.0.1, ::1 and a
// Unix socket, prints the backend, and checks that io_uring, asked for, is
// the error saying it was compiled out.
#include <netxx/net.hpp>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace {

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
  std::vector<std::byte> sent(256 * 1024);
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<std::byte>(i * 7 + i / 251);
  net::spawn([](net::socket c, std::span<const std::byte> data) -> net::task<> {
    co_await c.write(data);
    co_await c.end();
  }(c, sent));
  std::vector<std::byte> got;
  while (net::buffer b = co_await c.read()) got.insert(got.end(), b.bytes().begin(), b.bytes().end());
  srv.close();
  co_return got == sent;
}

}  // namespace

int main() {
  try {
    net::basic_loop<net::auto_backend> uring(std::in_place, net::backend_choice::io_uring);
    std::puts("consumer-epoll-only: a loop was made on io_uring");
    return 1;
  } catch (const net::error& e) {
    if (e.code() != net::errc::err_backend_unavailable) return 2;
    std::printf("consumer-epoll-only: io_uring asked for: %s\n", e.what());
  }
  const std::string path = "/tmp/netxx-consumer-epoll-only-" + std::to_string(::getpid()) + ".sock";
  const bool v4 = net::run(echo({.port = 0, .host = "127.0.0.1"}, {.host = "127.0.0.1"}));
  const bool v6 = net::run(echo({.port = 0, .host = "::1"}, {.host = "::1"}));
  const bool local = net::run(echo({.path = path}, {.path = path}));
  const auto f = net::loop::current().features();
  std::printf("consumer-epoll-only: echo 127.0.0.1 %s, ::1 %s, Unix %s on %s (io_uring compiled %s)\n",
              v4 ? "ok" : "FAILED", v6 ? "ok" : "FAILED", local ? "ok" : "FAILED", std::string(f.backend).c_str(),
              f.uring_compiled ? "in" : "out");
  return v4 && v6 && local && f.backend == "epoll" && !f.uring_compiled ? 0 : 3;
}
