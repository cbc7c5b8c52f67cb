// The programs fatal_errors_test runs as real processes, to check their exit
// status and what they print: each is a whole main as a netxx user writes it.
//   fatal_errors_child <scenario> [port]
// Every scenario first prints "started" to stdout (a pipe, so buffered): the
// report must not lose it.
#include <cstdio>
#include <cstdlib>
#include <netxx/net.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

net::task<> connect_refused(std::uint16_t port) {
  net::socket c = co_await net::connect({.port = port, .host = "127.0.0.1"});  // throws ECONNREFUSED
}

net::task<int> throws_std() {
  co_await net::sleep(1);
  throw std::runtime_error("boom");
}

void recorded(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    std::printf("recorded: %s\n", x.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string_view scenario = argv[1];
  const auto port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 0);
  std::printf("started\n");

  if (scenario == "socket-error" || scenario == "socket-error6") {
    // An "error" nobody listens to on a socket: connect to a closed port.
    net::connect({.port = port, .host = scenario == "socket-error" ? "127.0.0.1" : "::1"});
    return net::run();
  }
  if (scenario == "server-error") {
    // An "error" nobody listens to on a server: the port is taken.
    auto server = net::create_server();
    server.listen(port, "127.0.0.1");
    return net::run();
  }
  if (scenario == "bad-backend") {
    // The loop cannot be made: NETXX_BACKEND names no backend.
    ::setenv("NETXX_BACKEND", "bogus", 1);
    return net::run(throws_std());
  }
  if (scenario == "task-throw") return net::run(connect_refused(port));  // its exception, uncaught
  if (scenario == "task-throw-std") return net::run(throws_std());
  if (scenario == "task-caught") {
    // A C++ caller that catches what the top-level task threw keeps it.
    try {
      return net::run(connect_refused(port));
    } catch (const net::error& e) {
      std::printf("caught: %s\n", e.what());
      return 0;
    }
  }
  if (scenario == "spawn-throw") {
    net::spawn([]() -> net::task<> {
      co_await net::sleep(1);
      throw std::logic_error("escaped");
    }());
    return net::run();
  }
  if (scenario == "listener-throw") {
    net::set_timeout([] { throw net::error(net::errc::err_socket_closed); }, 1);
    return net::run();
  }
  if (scenario == "handler") {
    // An installed handler is called instead, and the process goes on.
    net::set_unhandled_exception_handler(&recorded);
    net::connect({.port = port, .host = "127.0.0.1"});
    const int r = net::run();
    std::printf("run returned %d\n", r);
    return r;
  }
  return 2;
}
