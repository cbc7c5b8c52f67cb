// The spec's client of the echo server (net.createConnection): says
// "world!\r\n", prints what comes back, and ends.
//   JavaScript:
//     const client = net.createConnection({ port: 8124 }, () => {
//       // 'connect' listener.
//       console.log('connected to server!');
//       client.write('world!\r\n');
//     });
//     client.on('data', (data) => {
//       console.log(data.toString());
//       client.end();
//     });
//     client.on('end', () => {
//       console.log('disconnected from server');
//     });
// Try it with 010-echo-server running (host "localhost", as in Node).
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <string_view>

int main() {
  // The listener runs from the loop, once connected: by then `client` is set.
  net::socket client = net::create_connection({.port = 8124}, [&client] {
    // 'connect' listener.
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
