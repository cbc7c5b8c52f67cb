// Regressions found while writing the client examples and interop tests:
// the idle timeout as shared state refreshed by every kind of activity, and
// io_uring completions of cancelled operations arriving after the socket or
// server that owned them was closed and dropped (a use-after-free under ASan).
#include <array>
#include <string>
#include <vector>

#include "net_test.hpp"

// socket.hpp keeps what set_timeout() was given (Node's socket.timeout) in the
// handle (basic_socket::timeout_), not in the shared state: a copy of the
// handle does not see it, and net::connect({.timeout = ms}) sets it on a
// handle it then moves from, so the socket it returns says nullopt. Node:
// `net.connect({port, timeout: 50}).timeout === 50`.
TEST_CASE("socket.timeout is shared by the handles and set by net::connect's timeout option",
          "[client][timeout]") {
  net::socket a;
  a.set_timeout(5000);
  net::socket b = a;
  CHECK(a.timeout().value_or(-1) == 5000);
  CHECK(b.timeout().value_or(-1) == 5000);
  auto srv = net::create_server();
  srv.listen({.port = 0, .host = "127.0.0.1"});
  net::connect_options o{.port = srv.address()->port, .host = "127.0.0.1", .timeout = 50};
  net::socket c = net::connect(o);
  CHECK(c.timeout().value_or(-1) == 50);
  c.destroy();
  a.destroy();
  srv.close();
  netxx_test::settle();
}

// After a "timeout" the idle timer is not armed any more; socket_state::touch()
// arms it again, but an awaitable write only stamps last_active
// (write_awaitable::advance, socket.hpp: `if (s_->timeout_ms > 0)
// s_->last_active = ...`) without arming: a socket that only writes with
// co_await after its first timeout never times out again. Node refreshes the
// timer on every write, so 'timeout' comes again after the next idle period.
TEST_CASE("after a timeout, an awaited write is activity: the next idle period times out again",
          "[client][timeout]") {
  auto srv = net::create_server();
  srv.listen({.port = 0, .host = "127.0.0.1"});
  auto body = [](net::server& srv) -> net::task<int> {
    net::connect_options o{.port = srv.address()->port, .host = "127.0.0.1"};
    net::socket c = co_await net::connect(o);
    net::socket peer = co_await srv.accept();
    int timeouts = 0;
    c.set_timeout(30);
    c.on("timeout", [&timeouts] { ++timeouts; });
    for (int i = 0; i < 500 && timeouts < 1; ++i) co_await net::sleep(2);
    co_await c.write("x");     // activity after the first timeout
    co_await net::sleep(150);  // then idle for 5 times the timeout
    c.destroy();
    peer.destroy();
    srv.close();
    co_return timeouts;
  };
  CHECK(netxx_test::run_bounded(body(srv), 5'000) == 2);
  netxx_test::settle();
}

// The same with the other activity for comparison (passes): an awaited read
// goes through touch(), which arms the timer again.
TEST_CASE("after a timeout, an awaited read is activity: the next idle period times out again", "[client][timeout]") {
  auto srv = net::create_server();
  srv.listen({.port = 0, .host = "127.0.0.1"});
  auto body = [](net::server& srv) -> net::task<int> {
    net::connect_options o{.port = srv.address()->port, .host = "127.0.0.1"};
    net::socket c = co_await net::connect(o);
    net::socket peer = co_await srv.accept();
    int timeouts = 0;
    c.set_timeout(30);
    c.on("timeout", [&timeouts] { ++timeouts; });
    for (int i = 0; i < 500 && timeouts < 1; ++i) co_await net::sleep(2);
    co_await peer.write("y");
    std::array<std::byte, 8> buf;
    (void)co_await c.read(buf);
    co_await net::sleep(150);
    c.destroy();
    peer.destroy();
    srv.close();
    co_return timeouts;
  };
  CHECK(netxx_test::run_bounded(body(srv), 5'000) == 2);
  netxx_test::settle();
}

// io_uring only. destroy() closes the descriptor with close_now(), whose
// cancellation of the flowing read (socket_state::flow_read) completes on a
// later loop turn; destroy()'s posted "close" drops the last reference
// (socket.hpp, the lambda posted at the end of socket_state::destroy), and
// ~socket_state does not abandon flow_read, so the completion is delivered
// into freed memory (loop_core.hpp complete_op: `op->id = 0`, then
// op->complete). Needs: flowing ("data" listener), destroy() from outside a
// read completion (a coroutine, a timer), no handle left. The same holds for
// the write op (wop) in flight.
TEST_CASE("a flowing socket destroyed and dropped: the cancelled read's completion finds it gone",
          "[client][lifetime]") {
  auto srv = net::create_server();
  srv.listen({.port = 0, .host = "127.0.0.1"});
  std::vector<net::socket> accepted;
  srv.on("connection", [&accepted](net::socket s) { accepted.push_back(s); });
  netxx_test::run_bounded([](net::server& srv) -> net::task<> {
    net::connect_options o{.port = srv.address()->port, .host = "127.0.0.1"};
    net::socket c = co_await net::connect(o);
    c.on("data", [](std::span<const std::byte>) {});
    co_await net::sleep(5);
    c.destroy();
  }(srv), 5'000);  // the task's handle goes here; the "close" post and the cancellation remain
  netxx_test::settle();  // ASan: heap-use-after-free in loop_core::complete_op
  for (auto& s : accepted) s.destroy();
  srv.close();
  netxx_test::settle();
}

// io_uring only, server side, found with the client: close() cancels the
// event-face accept (server_state::aop) by closing the descriptor; when the
// server object goes before the loop turns again, ~server_state frees aop
// while its cancellation is still on the ring, and the next turn writes into
// it. A server object may go right after close() (Node's does).
TEST_CASE("a server closed and dropped before the loop turns: the cancelled accept's completion finds it gone",
          "[server][lifetime]") {
  {
    auto srv = net::create_server();
    srv.on("connection", [](net::socket) {});
    srv.listen({.port = 0, .host = "127.0.0.1"});
    netxx_test::run_bounded([](net::server& srv) -> net::task<> {
      co_await net::sleep(1);
      srv.close();
    }(srv), 5'000);
  }
  netxx_test::settle();  // ASan: heap-use-after-free in loop_core::complete_op
}

// An awaited write that finds other writes pending is queued behind them (a
// copy) and resumed by the queue's callback. That callback captured the
// awaiter itself: a task destroyed while its write waited in the queue (a
// task dropped at shutdown) left the queue a callback into freed memory,
// called once the peer read enough (a use-after-free under ASan).
TEST_CASE("a task destroyed while its awaited write waits behind queued writes is never resumed",
          "[socket][lifetime]") {
  for (int family : {AF_INET, AF_UNIX}) {
    CAPTURE(family);
    auto [a, b] = netxx_test::connected_pair(family);
    net::socket s(net::socket_options{.fd = a});
    const std::vector<std::byte> big(32 << 20, std::byte{'a'});
    CHECK_FALSE(s.write(std::span<const std::byte>(big), [](std::error_code) {}));  // more than the kernel takes
    bool resumed = false;
    {
      auto waiter = [](net::socket s, bool& resumed) -> net::task<> {
        co_await s.write("z");
        resumed = true;
      }(s, resumed);
      waiter.handle().resume();  // runs to the queued write, then suspends
      CHECK_FALSE(waiter.handle().done());
    }  // destroyed while its write is queued
    auto drain = [](int peer, std::size_t want) -> net::task<std::size_t> {
      std::vector<char> buf(1 << 16);
      std::size_t got = 0;
      while (got < want) {
        ssize_t n = ::read(peer, buf.data(), buf.size());
        if (n > 0) got += static_cast<std::size_t>(n);
        else if (n == 0) break;
        else co_await net::sleep(1);
      }
      co_return got;
    };
    // The copy still goes out, after the big write, and nobody is resumed.
    CHECK(netxx_test::run_bounded(drain(b, big.size() + 1)) == big.size() + 1);
    CHECK_FALSE(resumed);
    s.destroy();
    ::close(b);
    netxx_test::settle();
  }
}

// destroy() fails a read that was awaited while connecting, next tick. The
// posted call held the awaiter's address: a task destroyed in between (before
// that tick) was completed after its frame was freed.
TEST_CASE("a task destroyed after destroy() failed its parked read is not completed afterwards",
          "[socket][lifetime]") {
  auto srv = net::create_server();
  srv.listen({.port = 0, .host = "127.0.0.1"});
  net::connect_options o{.port = srv.address()->port, .host = "127.0.0.1"};
  net::socket c = net::connect(o);
  c.on("error", [](const net::error&) {});
  bool resumed = false;
  {
    auto reader = [](net::socket c, bool& resumed) -> net::task<> {
      std::array<std::byte, 16> buf;
      try {
        co_await c.read(buf);
      } catch (const net::error&) {
      }
      resumed = true;
    }(c, resumed);
    reader.handle().resume();  // parks its read: the socket is still connecting
    CHECK_FALSE(reader.handle().done());
    c.destroy();  // fails the parked read on the next tick
  }  // the task goes first
  netxx_test::settle();
  CHECK_FALSE(resumed);
  srv.close();
  netxx_test::settle();
}
