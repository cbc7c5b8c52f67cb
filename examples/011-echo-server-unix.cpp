// The same echo server on a Unix domain socket, as the spec's
// `server.listen('/tmp/echo.sock', ...)`. Try it with: nc -U /tmp/echo.sock
#include <netxx/net.hpp>

#include <fmt/core.h>

int main() {
  auto server = net::create_server([](net::socket c) {
    fmt::print("client connected\n");
    c.on("end", [] { fmt::print("client disconnected\n"); });
    c.write("hello\r\n");
    c.pipe(c);
  });
  server.on("error", [](const net::error& err) { throw err; });
  server.listen_path("/tmp/echo.sock", [] { fmt::print("server bound\n"); });
  return net::run();
}
