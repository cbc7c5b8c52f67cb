// Happy Eyeballs v2 (RFC 8305), beyond Node: connect_options::happy_eyeballs.
// A name resolves to a host that does not answer, then to one that does.
// Node's autoSelectFamily would try the first alone for its attempt timeout,
// then give it up; RFC 8305 starts the second `attempt_delay` ms after the
// first and keeps both in flight: the first to connect wins, the other is
// closed. Everything happens on this machine. Usage: 105-happy-eyeballs-v2.
#include <netxx/net.hpp>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <array>
#include <cstdint>

// A host that does not answer, made locally: a listener on 127.0.0.2 that
// never accepts, whose queue of one connection is filled, so the kernel drops
// every further SYN, as a firewall that drops packets would.
struct silent_host {
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  std::array<int, 2> fillers{};
  explicit silent_host(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
    ::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listener, 0);
    for (int& f : fillers) {
      f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      ::connect(f, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    ::usleep(50'000);  // the first filler's handshake lands in the queue
  }
  ~silent_host() {
    for (int f : fillers) ::close(f);
    ::close(listener);
  }
};

net::task<> demo() {
  // The host that answers: a server on 127.0.0.1 that greets and ends.
  net::server server = net::create_server([](net::socket c) { c.end("hello from 127.0.0.1\n"); });
  co_await server.listen({.port = 0, .host = "127.0.0.1"});
  const std::uint16_t port = server.address()->port;
  silent_host silent(port);  // the same port on 127.0.0.2 swallows SYNs

  // "dual.example" resolves to the silent host first: a lookup option stands
  // in for DNS. Without happy_eyeballs, this is Node's serial algorithm.
  net::connect_options o{.port = port,
                         .host = "dual.example",
                         .happy_eyeballs = net::happy_eyeballs_v2{.attempt_delay = 100}};
  o.lookup = [](std::string_view, const net::dns::lookup_options&, net::dns::lookup_callback cb) {
    cb(std::nullopt, {{"127.0.0.2", 4}, {"127.0.0.1", 4}});
  };

  net::socket c;
  c.on("connectionAttempt", [](std::string_view ip, std::uint16_t, int) { fmt::print("attempt {}\n", ip); });
  c.on("connectionAttemptFailed", [](std::string_view ip, std::uint16_t, int, const net::error& e) {
    fmt::print("failed {}: {}\n", ip, e.message());
  });
  try {
    co_await c.connect(o);  // resumes on "connect": 127.0.0.2's attempt is still pending, and is closed
    fmt::print("winner {}\n", c.remote_address());
    const auto attempted = c.auto_select_family_attempted_addresses();  // Node's autoSelectFamilyAttemptedAddresses
    for (const auto& a : *attempted) fmt::print("attempted {}\n", a);
    std::array<std::byte, 256> buf;
    while (std::size_t n = co_await c.read(buf))
      fmt::print("received {}", std::string_view(reinterpret_cast<const char*>(buf.data()), n));
  } catch (const net::error& e) {
    fmt::print("error {}\n", e.what());
  }
  server.close();
}

int main() {
  net::spawn(demo());
  net::run();  // until nothing is left: the server's close and the sockets' "close" come after demo() returns
}
