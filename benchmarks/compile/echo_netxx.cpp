// The compile benchmark's netxx program: a coroutine echo server, the same
// program as echo_asio.cpp. benchmarks/compile/run.sh times compiling it.
#include <netxx/net.hpp>

#include <array>
#include <cstddef>
#include <span>

net::task<> serve(net::socket c) {
  std::array<std::byte, 4096> buf;
  for (;;) {
    std::size_t n = co_await c.read(buf);
    if (n == 0) break;
    co_await c.write(std::span<const std::byte>(buf.data(), n));
  }
}

net::task<> accept_loop(net::server& server) {
  for (;;) net::spawn(serve(co_await server.accept()));
}

int main() {
  auto server = net::create_server();
  server.listen(7000);
  return net::run(accept_loop(server));
}
