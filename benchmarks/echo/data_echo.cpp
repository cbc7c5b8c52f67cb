// SPDX-License-Identifier: BSL-1.0
// The event face's echo server written by hand, as Node users write one
// without pipe(): every "data" chunk is written back; a full write queue
// pauses reading until "drain". The socket ends itself when the peer does
// (allowHalfOpen is false). Usage: data_echo [port].
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <cstdlib>

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 8124;
  auto server = net::create_server({.no_delay = true}, [](net::socket c) {
    c.on("data", [c](std::span<const std::byte> chunk) mutable {
      if (!c.write(chunk, {})) c.pause();  // the bool write: with a callback (none)
    });
    c.on("drain", [c]() mutable { c.resume(); });
  });
  server.listen({.port = port, .host = "127.0.0.1"}, [&] {
    fmt::print("data echo server on 127.0.0.1:{} ({})\n", port, net::loop::current().backend_name());
    std::fflush(stdout);
  });
  return net::run();
}
