// net::when_all, when_any, when_all_settled, when_any_success
// (<netxx/compose.hpp>): Node's Promise.all, race, allSettled and any over
// socket operations and tasks. The operations a combinator no longer needs
// are aborted and have finished before it returns (ASan would see a frame
// resumed after it is gone). Over TCP (127.0.0.1, ::1) and Unix sockets, on
// both backends.
#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <variant>

#include "net_test.hpp"

using namespace std::chrono_literals;

namespace {

std::string as_text(std::span<const std::byte> b, std::size_t n) { return {reinterpret_cast<const char*>(b.data()), n}; }

struct pair_socket {
  net::socket s;
  int peer;
  explicit pair_socket(int family) {
    auto [a, b] = netxx_test::connected_pair(family);
    s = net::socket(net::socket_options{.fd = a});
    peer = b;
  }
  pair_socket(const pair_socket&) = delete;
  ~pair_socket() {
    s.destroy();
    if (peer >= 0) ::close(peer);
    netxx_test::settle();  // destroy()'s "close" runs next tick
  }
};

// A port of 127.0.0.1 that refuses connections.
std::uint16_t refusing_port() { return netxx_test::unused_port(AF_INET); }

}  // namespace

TEST_CASE("when_all: every value in order, from reads on three kinds of socket", "[compose][when_all]") {
  pair_socket v4(AF_INET), v6(AF_INET6), un(AF_UNIX);
  auto body = [](net::socket a, int pa, net::socket b, int pb, net::socket c, int pc) -> net::task<std::string> {
    REQUIRE(::write(pc, "three", 5) == 5);
    REQUIRE(::write(pa, "one", 3) == 3);
    REQUIRE(::write(pb, "two", 3) == 3);
    std::array<std::byte, 16> x, y;
    auto [n, buffer, m] = co_await net::when_all(a.read(x), b.read(), c.read(y));
    co_return as_text(x, n) + "," + std::string(buffer.text()) + "," + as_text(y, m);
  };
  CHECK(netxx_test::run_bounded(body(v4.s, v4.peer, v6.s, v6.peer, un.s, un.peer)) == "one,two,three");
}

TEST_CASE("when_all: the first failure aborts the others and is thrown; the aborted read loses nothing",
          "[compose][when_all]") {
  pair_socket resetting(AF_INET), silent(AF_INET6);
  auto body = [](net::socket r, int rpeer, net::socket quiet, int qpeer) -> net::task<std::string> {
    // An RST: SO_LINGER 0 then close.
    const linger l{1, 0};
    ::setsockopt(rpeer, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    std::array<std::byte, 16> x, y;
    ::close(rpeer);
    std::string code;
    try {
      co_await net::when_all(quiet.read(y), r.read(x));
      FAIL_CHECK("when_all did not fail");
    } catch (const net::error& e) {
      code = std::string(e.code_string());
    }
    REQUIRE(::write(qpeer, "still here", 10) == 10);
    const std::size_t n = co_await quiet.read(y);
    co_return code + " " + as_text(y, n);
  };
  CHECK(netxx_test::run_bounded(body(resetting.s, resetting.peer, silent.s, silent.peer)) == "ECONNRESET still here");
  resetting.peer = -1;  // closed (reset) by the test
}

TEST_CASE("when_any: the first to finish wins, the losers are aborted (a read keeps its bytes for the next read)",
          "[compose][when_any]") {
  for (int family : {AF_INET, AF_INET6, AF_UNIX}) {
    CAPTURE(family);
    pair_socket p(family);
    auto body = [](net::socket s, int peer) -> net::task<std::string> {
      std::array<std::byte, 16> buf;
      // Nothing comes: the sleep wins, the read is aborted.
      auto first = co_await net::when_any(s.read(buf), net::sleep(20));
      CHECK(first.index() == 1);
      // Bytes come: the read wins, the long sleep is aborted (it does not hold the test for 10 s).
      REQUIRE(::write(peer, "data", 4) == 4);
      auto second = co_await net::when_any(net::sleep(10'000), s.read(buf));
      REQUIRE(second.index() == 1);
      co_return as_text(buf, std::get<1>(second));
    };
    CHECK(netxx_test::run_bounded(body(p.s, p.peer), 5'000) == "data");
  }
}

TEST_CASE("when_any: a failure that comes first is thrown, as Promise.race rejects", "[compose][when_any]") {
  auto body = []() -> net::task<std::string> {
    auto failing = [](std::uint16_t port) -> net::task<net::socket> {
      co_return co_await net::connect({.port = port, .host = "127.0.0.1"});
    };
    try {
      co_await net::when_any(failing(refusing_port()), net::sleep(10'000));
    } catch (const net::error& e) {
      co_return std::string(e.code_string());
    }
    co_return "no error";
  };
  CHECK(netxx_test::run_bounded(body(), 5'000) == "ECONNREFUSED");
}

TEST_CASE("when_all_settled: each outcome, value or exception, and nothing aborted", "[compose][when_all_settled]") {
  pair_socket p(AF_UNIX);
  auto body = [](net::socket s, int peer) -> net::task<> {
    REQUIRE(::write(peer, "ok", 2) == 2);
    std::array<std::byte, 8> buf;
    auto [read, connected, slept] = co_await net::when_all_settled(
        s.read(buf), net::connect({.port = refusing_port(), .host = "127.0.0.1"}), net::sleep(20));
    REQUIRE(read.index() == 0);
    CHECK(as_text(buf, std::get<0>(read)) == "ok");
    REQUIRE(connected.index() == 1);
    try {
      std::rethrow_exception(std::get<1>(connected));
    } catch (const net::error& e) {
      CHECK(e.code_string() == "ECONNREFUSED");
    }
    CHECK(slept.index() == 0);  // slept the whole time: nothing aborted it
  };
  netxx_test::run_bounded(body(p.s, p.peer));
}

TEST_CASE("when_any_success: the first success wins; all failing is Node's AggregateError",
          "[compose][when_any_success]") {
  auto body = []() -> net::task<> {
    net::server server;
    co_await server.listen({.port = 0, .host = "::1"});
    const auto port = server.address()->port;
    auto winner = co_await net::when_any_success(net::connect({.port = refusing_port(), .host = "127.0.0.1"}),
                                                 net::connect({.port = port, .host = "::1"}));
    REQUIRE(winner.index() == 1);
    net::socket c = std::get<1>(winner);
    CHECK(c.remote_port() == port);
    c.destroy();
    try {
      co_await net::when_any_success(net::connect({.port = refusing_port(), .host = "127.0.0.1"}),
                                     net::connect({.port = refusing_port(), .host = "127.0.0.1"}));
      FAIL_CHECK("two refused connects succeeded");
    } catch (const net::error& e) {
      CHECK(e.is_aggregate());
      CHECK(e.message() == "All promises were rejected");
      REQUIRE(e.errors().size() == 2);
      CHECK(e.errors()[0].code_string() == "ECONNREFUSED");
      CHECK(e.errors()[1].code_string() == "ECONNREFUSED");
    }
    server.close();
  };
  netxx_test::run_bounded(body());
}

TEST_CASE("a combinator under a token: a stop from another thread aborts every operation", "[compose][abortable]") {
  pair_socket a(AF_INET), b(AF_UNIX);
  auto body = [](net::socket x, net::socket y) -> net::task<std::string> {
    std::stop_source source;
    std::jthread stopper([&source] {
      std::this_thread::sleep_for(20ms);
      source.request_stop();
    });
    std::array<std::byte, 8> bx, by;
    try {
      co_await net::abortable(net::when_all(x.read(bx), y.read(by), net::sleep(10'000)), source.get_token());
    } catch (const net::error& e) {
      co_return std::string(e.code_string());
    }
    co_return "not aborted";
  };
  CHECK(netxx_test::run_bounded(body(a.s, b.s), 5'000) == "ABORT_ERR");
  CHECK_FALSE(a.s.destroyed());
}

TEST_CASE("combinators nest: a timeout around when_any around tasks", "[compose][timeout]") {
  auto body = []() -> net::task<std::string> {
    auto slow = [](int ms) -> net::task<int> {
      co_await net::sleep(ms);
      co_return ms;
    };
    try {
      co_await net::timeout(net::when_any(slow(5'000), slow(6'000)), 20ms);
    } catch (const net::error& e) {
      co_return std::string(e.code_string());
    }
    co_return "no timeout";
  };
  CHECK(netxx_test::run_bounded(body(), 5'000) == "TimeoutError");
}
