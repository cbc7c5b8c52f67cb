// SPDX-License-Identifier: BSL-1.0
// The event face's echo server, as the spec writes it and as shared/bench's
// Node server runs it: `net.createServer(c => c.pipe(c))`, with TCP_NODELAY
// as every other server of the benchmark. Usage: pipe_echo [port].
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <cstdlib>

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 8124;
  auto server = net::create_server({.no_delay = true}, [](net::socket c) { c.pipe(c); });
  server.listen({.port = port, .host = "127.0.0.1"}, [&] {
    fmt::print("pipe echo server on 127.0.0.1:{} ({})\n", port, net::loop::current().backend_name());
    std::fflush(stdout);
  });
  return net::run();
}
