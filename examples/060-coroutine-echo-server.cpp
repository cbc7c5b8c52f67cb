// A coroutine echo server: the DESIGN.md sketch, and the server the
// benchmarks measure. Usage: 060-coroutine-echo-server [port] (default 8124).
// Listens on 127.0.0.1 with TCP_NODELAY, one coroutine per connection.
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <array>
#include <cstdlib>

net::task<> echo(net::socket s) {
  std::array<std::byte, 64 * 1024> buf;
  try {
    while (std::size_t n = co_await s.read(buf))  // 0 = the peer ended
      co_await s.write(std::span(buf).first(n));  // resumes when the kernel took it
  } catch (const net::error& e) {
    // A peer that resets is its own business: drop the connection, keep serving.
  }
}

net::task<> serve(int port) {
  auto server = net::create_server({.no_delay = true});
  co_await server.listen({.port = port, .host = "127.0.0.1"});
  fmt::print("echo server on 127.0.0.1:{} ({})\n", server.address()->port, net::loop::current().backend_name());
  std::fflush(stdout);
  for (;;) net::spawn(echo(co_await server.accept()));
}

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 8124;
  return net::run(serve(port));
}
