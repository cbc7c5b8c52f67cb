// server.address() on an OS-assigned port, as the spec's example:
//   const server = net.createServer((socket) => {
//     socket.end('goodbye\n');
//   }).on('error', (err) => { throw err; });
//   server.listen(() => console.log('opened server on', server.address()));
#include <netxx/net.hpp>

#include <fmt/core.h>

int main() {
  auto server = net::create_server([](net::socket socket) { socket.end("goodbye\n"); });
  server.on("error", [](const net::error& err) { throw err; });
  server.listen([&server] {
    auto a = *server.address();
    fmt::print("opened server on {{ address: '{}', family: '{}', port: {} }}\n", a.address, a.family, a.port);
    server.close();  // the example ends here; the JavaScript one keeps serving
  });
  return net::run();
}
