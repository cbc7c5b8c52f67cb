// listen with options, as the spec's
//   server.listen({ host: 'localhost', port: 80, exclusive: true });
// `exclusive` only matters to Node's cluster module, which C++ has no
// counterpart of: it is accepted and changes nothing. Port 80 needs root,
// so this example takes port 0 (any free port) unless one is given.
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <cstdlib>

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  auto server = net::create_server([](net::socket c) { c.end("hi\n"); });
  server.on("error", [](const net::error& err) { fmt::print(stderr, "{}\n", err.what()); });
  server.listen({.port = port, .host = "localhost", .exclusive = true}, [&server] {
    fmt::print("listening on port {}\n", server.address()->port);
    server.close();
  });
  return net::run();
}
