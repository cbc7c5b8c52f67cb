// The spec's echo server (net.createServer): greets each client with
// "hello\r\n", then echoes what it sends, on TCP port 8124.
//   JavaScript:
//     const server = net.createServer((c) => {
//       console.log('client connected');
//       c.on('end', () => console.log('client disconnected'));
//       c.write('hello\r\n');
//       c.pipe(c);
//     });
//     server.on('error', (err) => { throw err; });
//     server.listen(8124, () => console.log('server bound'));
// Try it with: telnet localhost 8124
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
  server.listen(8124, [] { fmt::print("server bound\n"); });
  return net::run();
}
