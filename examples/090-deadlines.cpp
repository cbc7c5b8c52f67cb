// Deadlines and aborts on any operation (beyond Node's net: its nearest
// idiom is `{ signal: AbortSignal.timeout(ms) }`). A server greets each
// client after a delay and ends; the client waits for the greeting with a
// deadline, then for what comes next until a std::stop_source is stopped
// from another thread.
// Usage: 090-deadlines <greeting delay in ms> <deadline in ms>
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <stop_token>
#include <thread>

net::task<> client(std::uint16_t port, std::chrono::milliseconds deadline) {
  net::socket c = co_await net::connect({.port = port, .host = "127.0.0.1"});
  try {
    // The read is aborted when the deadline passes: TimeoutError, and the socket stays open.
    net::buffer greeting = co_await net::timeout(c.read(), deadline);
    fmt::print("greeting: {:?}\n", greeting.text());
  } catch (const net::error& e) {
    fmt::print("no greeting: {} ({})\n", e.what(), e.code_string());
  }
  // A stop from another thread aborts a read the same way: ABORT_ERR.
  std::stop_source stop;
  std::jthread operator_thread([&stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop.request_stop();
  });
  try {
    net::buffer more = co_await net::abortable(c.read(), stop.get_token());
    fmt::print("then: {}\n", more.empty() ? "the server ended" : "more bytes");
  } catch (const net::error& e) {
    fmt::print("read stopped: {} ({})\n", e.what(), e.code_string());
  }
  c.destroy();
}

int main(int argc, char** argv) {
  const int delay = argc > 1 ? std::atoi(argv[1]) : 500;
  const auto deadline = std::chrono::milliseconds(argc > 2 ? std::atoi(argv[2]) : 100);
  net::spawn([](int delay, std::chrono::milliseconds deadline) -> net::task<> {
    auto server = net::create_server([delay](net::socket s) {
      net::timer greet = net::set_timeout([s]() mutable { s.end("hello\n"); }, delay);
      s.on("close", [greet](bool) mutable { greet.close(); });  // no greeting for a client gone
    });
    co_await server.listen({.port = 0, .host = "127.0.0.1"});
    co_await client(server.address()->port, deadline);
    server.close();
  }(delay, deadline));
  return net::run();  // to the end: the server's "close" comes after the client is done
}
