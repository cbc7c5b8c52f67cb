// Node's `for await (const chunk of socket)`: a server that counts the bytes
// of each connection with net::chunks, reading each chunk only when the
// loop body asks for it (backpressure), in pooled blocks (no copy).
// Usage: 070-for-await-chunks [port] (default 8124). Try:
//   head -c 1000000 /dev/urandom | nc -N 127.0.0.1 8124
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <string>

net::task<> count(net::socket s) {
  const std::string peer = s.remote_address() + ":" + std::to_string(s.remote_port());
  std::size_t bytes = 0, chunks = 0;
  try {
    // JavaScript: for await (const chunk of socket) { bytes += chunk.length; ++chunks; }
    auto stream = net::chunks(s);  // when it goes, it destroys the socket, as for await does
    while (net::buffer chunk = co_await stream.next()) {  // empty = the peer ended
      bytes += chunk.size();
      ++chunks;
    }  // the chunk's block goes back to the pool here, before the next read
    fmt::print("{}: {} bytes in {} chunks\n", peer, bytes, chunks);
  } catch (const net::error& e) {
    fmt::print("{}: {} after {} bytes\n", peer, e.what(), bytes);  // e.g. "read ECONNRESET"
  }
  std::fflush(stdout);
}

net::task<> serve(int port) {
  auto server = net::create_server();
  co_await server.listen({.port = port, .host = "127.0.0.1"});
  fmt::print("counting bytes on 127.0.0.1:{} ({})\n", server.address()->port, net::loop::current().backend_name());
  std::fflush(stdout);
  for (;;) net::spawn(count(co_await server.accept()));
}

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 8124;
  return net::run(serve(port));
}
