// The same client on the Unix domain socket of 011-echo-server-unix, as the
// spec's `net.createConnection({ path: '/tmp/echo.sock' })`.
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <string_view>

int main() {
  net::socket client = net::create_connection({.path = "/tmp/echo.sock"}, [&client] {
    fmt::print("connected to server!\n");
    client.write("world!\r\n");
  });
  client.on("data", [&client](std::span<const std::byte> data) {
    fmt::print("{}\n", std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
    client.end();
  });
  client.on("end", [] { fmt::print("disconnected from server\n"); });
  return net::run();
}
