// Awaiting several operations at once: Node's Promise.race, Promise.all and
// Promise.any over sockets (beyond Node's net). Two servers answer, one
// quickly, one slowly; the client asks both and takes the first answer, the
// other read is aborted (and has finished before when_any returns).
// Usage: 091-when-any
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <string>
#include <variant>

// A server that answers `reply` after `delay_ms`.
net::task<net::server> answering(std::string reply, int delay_ms) {
  auto server = net::create_server([reply, delay_ms](net::socket s) {
    net::timer answer = net::set_timeout([s, reply]() mutable { s.end(reply); }, delay_ms);
    s.on("close", [answer](bool) mutable { answer.close(); });  // no answer for a client gone
  });
  co_await server.listen({.port = 0, .host = "127.0.0.1"});
  co_return server;
}

net::task<> ask_both() {
  net::server fast = co_await answering("fast answer", 10);
  net::server slow = co_await answering("slow answer", 5'000);

  // Promise.all: both connections, at once.
  auto [a, b] = co_await net::when_all(net::connect({.port = fast.address()->port, .host = "127.0.0.1"}),
                                       net::connect({.port = slow.address()->port, .host = "127.0.0.1"}));
  fmt::print("connected to both\n");

  // Promise.race: the first read to finish; the other is aborted.
  auto first = co_await net::when_any(a.read(), b.read());
  const char* who = first.index() == 0 ? "fast" : "slow";
  fmt::print("first: {} server said {:?}\n", who, std::visit([](auto& buf) { return std::string(buf.text()); }, first));

  // Promise.any: the first to succeed; a refused connection is only a failure among others.
  auto port_of = [](const net::server& s) { return s.address()->port; };
  fast.close();  // refuses from now on
  try {
    auto any = co_await net::when_any_success(net::connect({.port = port_of(slow), .host = "127.0.0.1"}),
                                              net::connect({.port = 1, .host = "127.0.0.1"}));
    fmt::print("any: connection {} succeeded\n", any.index());
    std::get<0>(any).destroy();
  } catch (const net::error& e) {
    fmt::print("any: all failed: {}\n", e.what());
  }
  a.destroy();
  b.destroy();
  slow.close();
}

int main() {
  net::spawn(ask_both());
  return net::run();  // to the end: the servers' "close" comes after ask_both() returns
}
