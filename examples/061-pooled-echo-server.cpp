// The coroutine echo server of 060, reading with socket.read() and no buffer
// of its own: each chunk comes in a net::buffer lent by the loop's pool
// (io_uring: a provided-buffer ring), so an idle connection holds no read
// memory at all. Usage: 061-pooled-echo-server [port] (default 8124).
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <cstdlib>

net::task<> echo(net::socket s) {
  try {
    while (net::buffer chunk = co_await s.read())  // empty = the peer ended
      co_await s.write(chunk);                      // the block goes back after the write
  } catch (const net::error& e) {
    // A peer that resets is its own business: drop the connection, keep serving.
  }
}

net::task<> serve(int port) {
  auto server = net::create_server({.no_delay = true});
  co_await server.listen({.port = port, .host = "127.0.0.1"});
  fmt::print("pooled echo server on 127.0.0.1:{} ({})\n", server.address()->port, net::loop::current().backend_name());
  std::fflush(stdout);
  for (;;) net::spawn(echo(co_await server.accept()));
}

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 8124;
  return net::run(serve(port));
}
