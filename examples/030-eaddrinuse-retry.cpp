// The spec's retry after EADDRINUSE: when the port is taken, wait a second,
// close and listen again.
//   server.on('error', (e) => {
//     if (e.code === 'EADDRINUSE') {
//       console.error('Address in use, retrying...');
//       setTimeout(() => { server.close(); server.listen(PORT, HOST); }, 1000);
//     }
//   });
// Run two copies: the second retries until the first is stopped.
#include <netxx/net.hpp>

#include <fmt/core.h>

constexpr int port = 8124;
constexpr std::string_view host = "127.0.0.1";

int main() {
  auto server = net::create_server([](net::socket c) { c.end("bye\n"); });
  server.on("error", [&server](const net::error& e) {
    if (e.code_string() == "EADDRINUSE") {
      fmt::print(stderr, "Address in use, retrying...\n");
      net::set_timeout([&server] {
        server.close();
        server.listen(port, host);
      }, 1000);
    }
  });
  server.on("listening", [] { fmt::print("listening on {}:{}\n", host, port); });
  server.listen(port, host);
  return net::run();
}
