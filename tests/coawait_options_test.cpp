// Options written inline in a co_await expression, as the README writes
// them. g++ 12 (GCC bug 100611, fixed in GCC 13) destroys each
// non-trivially-destructible member of such an aggregate temporary twice:
// run under -fsanitize=address with g++ 12, this test is where that shows
// (a stop_token's state freed while the socket still watches it, a
// std::function's closure freed twice). The lambdas here capture only
// references: a by-value capture with a destructor is a member of the
// caller's own closure temporary, which g++ 12 destroys twice whatever the
// library does (the README's rule).
#include <array>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "net_test.hpp"

namespace {

using netxx_test::bytes;
using netxx_test::run_bounded;
using netxx_test::run_until;

// Three references: 24 bytes, more than std::function keeps in place, so
// the closure is on the heap and a second destruction is a double free.
struct refs {
  int& a;
  int& b;
  int& c;
};

}  // namespace

TEST_CASE("the README's connect, inline in co_await", "[coawait][options]") {
  auto body = []() -> net::task<> {
    auto srv = net::create_server([](net::socket s) { s.pipe(s); });
    co_await srv.listen({.port = 0});
    const auto port = static_cast<std::int64_t>(srv.address()->port);
    std::array<std::byte, 8> buf{};
    net::socket c = co_await net::connect({.port = port, .host = "localhost"});  // the README's form
    co_await c.write(bytes("hi"));
    std::size_t n = co_await c.read(buf);
    CHECK(netxx_test::text(std::span(buf).first(n)) == "hi");
    std::stop_source src;
    net::socket d = co_await net::connect({.port = port, .host = "127.0.0.1", .signal = src.get_token()});  // issue 12's
    co_await d.write(bytes("hi"));
    n = co_await d.read(buf);
    CHECK(netxx_test::text(std::span(buf).first(n)) == "hi");
    c.destroy();
    d.destroy();
    srv.close();
  };
  run_bounded(body());
}

TEST_CASE("every options struct with an owning member, inline in co_await, over 127.0.0.1 and ::1",
          "[coawait][options]") {
  for (const std::string host : {"127.0.0.1", "::1"}) {
    INFO(host);
    const int family = host == "::1" ? 6 : 4;
    std::stop_source server_stop, client_stop, socket_stop;
    int lookups = 0, chunks = 0, extra = 0;
    std::string received, received2;
    std::array<std::byte, 64> buffer{}, buffer2{};
    std::optional<std::string> client_error, socket_error;
    bool server_closed = false, client_closed = false, socket_closed = false;
    // Held out here: a socket or server nobody holds closes.
    net::server srv = net::create_server([](net::socket s) { s.write(bytes("ping")); });
    srv.on("close", [&] { server_closed = true; });
    net::socket c, s2;

    auto body = [&]() -> net::task<> {
      // listen_options: a signal.
      co_await srv.listen({.port = 0, .host = host, .signal = server_stop.get_token()});
      const auto port = static_cast<std::int64_t>(srv.address()->port);

      // dns.lookup's options (trivially destructible: nothing to destroy twice).
      std::vector<net::dns::lookup_address> found = co_await net::dns::lookup(host, {.family = family, .all = true});
      REQUIRE(found.size() == 1);
      CHECK(found[0].address == host);

      // connect_options: a lookup function, an onread buffer and callback, a signal.
      refs r{lookups, chunks, extra};
      c = co_await net::connect({
          .port = port,
          .host = "gcc12-trap.test",  // a name, so the lookup function is asked
          .lookup =
              [r, &host, family](std::string_view name, const net::dns::lookup_options&,
                                 net::dns::lookup_callback cb) {
                CHECK(name == "gcc12-trap.test");
                ++r.a;
                cb(std::nullopt, {{host, family}});
              },
          .onread = {.buffer = buffer,
                     .callback =
                         [r, &received, &buffer](std::size_t n, std::span<std::byte>) {
                           ++r.b;
                           received.append(netxx_test::text(std::span(buffer).first(n)));
                           return true;
                         }},
          .signal = client_stop.get_token(),
      });
      c.on("error", [&](const net::error& e) { client_error = std::string(e.code_string()); });
      c.on("close", [&](bool) { client_closed = true; });

      // socket_options: new net.Socket({onread, signal}) inside the co_await expression.
      co_await (s2 = net::socket({.onread = {.buffer = buffer2,
                                             .callback =
                                                 [r, &received2, &buffer2](std::size_t n, std::span<std::byte>) {
                                                   ++r.c;
                                                   received2.append(netxx_test::text(std::span(buffer2).first(n)));
                                                   return true;
                                                 }},
                                  .signal = socket_stop.get_token()}))
          .connect({.port = port, .host = host});
      s2.on("error", [&](const net::error& e) { socket_error = std::string(e.code_string()); });
      s2.on("close", [&](bool) { socket_closed = true; });
    };
    run_bounded(body());

    // The options are gone; what the sockets and the server kept must still work.
    run_until([&] { return received == "ping" && received2 == "ping"; });
    CHECK(lookups == 1);
    CHECK(chunks >= 1);
    CHECK(extra >= 1);
    client_stop.request_stop();  // the signals abort, as Node's AbortController.abort()
    socket_stop.request_stop();
    server_stop.request_stop();
    run_until([&] { return client_closed && socket_closed && server_closed; });
    CHECK(client_error == "ABORT_ERR");
    CHECK(socket_error == "ABORT_ERR");
  }
}

TEST_CASE("options built in a variable first, then awaited, still carry their signal", "[coawait][options]") {
  std::stop_source stop;
  std::optional<std::string> code;
  bool closed = false;
  auto body = [&]() -> net::task<> {
    auto srv = net::create_server([](net::socket) {});
    net::listen_options lo{.port = 0, .host = "127.0.0.1"};
    co_await srv.listen(lo);
    net::connect_options o{.port = static_cast<std::int64_t>(srv.address()->port), .host = "127.0.0.1",
                           .signal = stop.get_token()};
    net::connect_options copy = o;  // a copy owns its own reference
    o = net::connect_options{};
    net::socket c = co_await net::connect(copy);
    c.on("error", [&](const net::error& e) { code = std::string(e.code_string()); });
    c.on("close", [&](bool) { closed = true; });
    srv.close();
  };
  run_bounded(body());
  stop.request_stop();
  run_until([&] { return closed; });
  CHECK(code == "ABORT_ERR");
}
