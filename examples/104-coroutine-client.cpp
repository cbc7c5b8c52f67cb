// A coroutine client: the awaitable face of net.connect and the socket.
// Connects, writes, ends its side, and reads until the server ends too.
// Usage: 104-coroutine-client [port] (default 8124; try 010-echo-server or
// 060-coroutine-echo-server).
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <array>
#include <cstdlib>
#include <string_view>

net::task<> talk(int port, int& status) {
  try {
    // Resumes once connected ("connect" and "ready"), or throws what "error" would carry.
    net::socket c = co_await net::connect({.port = port, .host = "127.0.0.1"});
    fmt::print("connected to {}:{} from port {}\n", c.remote_address(), c.remote_port(), c.local_port());
    co_await c.write("world!\r\n");  // resumes when the kernel took every byte
    co_await c.end();                // our FIN: the echo server ends in turn
    std::array<std::byte, 4096> buf;
    while (std::size_t n = co_await c.read(buf))  // 0 = the server ended
      fmt::print("received {:?}\n", std::string_view(reinterpret_cast<const char*>(buf.data()), n));
    fmt::print("disconnected from server ({} bytes read, {} written)\n", c.bytes_read(), c.bytes_written());
  } catch (const net::error& e) {
    fmt::print(stderr, "{}\n", e.what());  // e.g. "connect ECONNREFUSED 127.0.0.1:8124"
    status = 1;
  }
}

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 8124;
  int status = 0;
  net::spawn(talk(port, status));
  net::run();  // until nothing is left: the socket's "close" comes after talk() returns
  return status;
}
