// net::abortable and net::timeout (<netxx/abortable.hpp>): every awaitable
// aborted by a std::stop_token, from this thread and from another, or by a
// deadline, and what each leaves behind. Over TCP (127.0.0.1, ::1) and Unix
// sockets, on both backends.
#include <array>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "net_test.hpp"

using namespace std::chrono_literals;
using netxx_test::bytes;

namespace {

const char* family_name(int f) { return f == AF_INET ? "IPv4" : f == AF_INET6 ? "IPv6" : "Unix"; }

// Stops `source` from another thread after `delay`: a stop that does not come from the loop's thread.
struct stop_from_thread {
  std::jthread t;
  stop_from_thread(std::stop_source& source, std::chrono::milliseconds delay)
      : t([&source, delay] {
          std::this_thread::sleep_for(delay);
          source.request_stop();
        }) {}
};

// Drains fd (a non-blocking peer) until EOF; the count of bytes read.
net::task<std::size_t> drain_to_end(int fd) {
  std::size_t total = 0;
  std::array<char, 65536> buf;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      total += static_cast<std::size_t>(n);
    } else if (n == 0) {
      co_return total;
    } else {
      co_await net::sleep(1);
    }
  }
}

}  // namespace

TEST_CASE("abortable read: a stop from another thread throws ABORT_ERR, the socket stays open, no byte is lost",
          "[abortable][read]") {
  for (int family : {AF_INET, AF_INET6, AF_UNIX}) {
    CAPTURE(family_name(family));
    auto [a, b] = netxx_test::connected_pair(family);
    net::socket s(net::socket_options{.fd = a});
    auto body = [](net::socket s, int peer) -> net::task<std::string> {
      std::string got;
      {
        std::stop_source source;
        stop_from_thread stopper(source, 20ms);
        std::array<std::byte, 64> buf;
        try {
          co_await net::abortable(s.read(buf), source.get_token());
          FAIL_CHECK("the read was not aborted");
        } catch (const net::error& e) {
          CHECK(e.code() == net::errc::abort_err);
          CHECK(std::string(e.what()) == "The operation was aborted");
          CHECK(e.code_string() == "ABORT_ERR");
        }
      }
      CHECK_FALSE(s.destroyed());
      {
        std::stop_source source;
        stop_from_thread stopper(source, 20ms);
        try {
          co_await net::abortable(s.read(), source.get_token());  // the pooled read
          FAIL_CHECK("the pooled read was not aborted");
        } catch (const net::error& e) {
          CHECK(e.code() == net::errc::abort_err);
        }
      }
      REQUIRE(::write(peer, "after", 5) == 5);
      std::array<std::byte, 64> buf;
      const std::size_t n = co_await s.read(buf);
      got.assign(reinterpret_cast<const char*>(buf.data()), n);
      REQUIRE(::write(peer, " more", 5) == 5);
      net::buffer more = co_await s.read();
      got += more.text();
      co_return got;
    };
    CHECK(netxx_test::run_bounded(body(s, b)) == "after more");
    s.destroy();
    ::close(b);
    netxx_test::settle();  // destroy()'s "close" runs next tick
  }
}

TEST_CASE("abortable read: a token stopped before the read never starts it, and the next read gets the bytes",
          "[abortable][read]") {
  auto [a, b] = netxx_test::connected_pair(AF_INET);
  net::socket s(net::socket_options{.fd = a});
  auto body = [](net::socket s, int peer) -> net::task<std::string> {
    std::stop_source source;
    source.request_stop();
    REQUIRE(::write(peer, "kept", 4) == 4);
    std::array<std::byte, 16> buf;
    try {
      co_await net::abortable(s.read(buf), source.get_token());
      FAIL_CHECK("a read under a stopped token ran");
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::abort_err);
    }
    const std::size_t n = co_await s.read(buf);
    co_return std::string(reinterpret_cast<const char*>(buf.data()), n);
  };
  CHECK(netxx_test::run_bounded(body(s, b)) == "kept");
  s.destroy();
  ::close(b);
  netxx_test::settle();  // destroy()'s "close" runs next tick
}

TEST_CASE("timeout read: TimeoutError (code 23's name, Node's message) when nothing comes; then the bytes that come",
          "[abortable][timeout][read]") {
  for (int family : {AF_INET, AF_INET6, AF_UNIX}) {
    CAPTURE(family_name(family));
    auto [a, b] = netxx_test::connected_pair(family);
    net::socket s(net::socket_options{.fd = a});
    auto body = [](net::socket s, int peer) -> net::task<std::string> {
      std::array<std::byte, 64> buf;
      try {
        co_await net::timeout(s.read(buf), 30ms);
        FAIL_CHECK("the read did not time out");
      } catch (const net::error& e) {
        CHECK(e.code() == net::errc::timeout_err);
        CHECK(std::string(e.what()) == "The operation was aborted due to timeout");
        CHECK(e.code_string() == "TimeoutError");
      }
      REQUIRE(::write(peer, "late", 4) == 4);
      // A deadline that does not pass leaves the value alone.
      const std::size_t n = co_await net::timeout(s.read(buf), 10s);
      co_return std::string(reinterpret_cast<const char*>(buf.data()), n);
    };
    CHECK(netxx_test::run_bounded(body(s, b)) == "late");
    s.destroy();
    ::close(b);
    netxx_test::settle();  // destroy()'s "close" runs next tick
  }
}

TEST_CASE("timeout write: a peer that does not read; the error says how many bytes went, and exactly those arrive",
          "[abortable][timeout][write]") {
  for (int family : {AF_INET, AF_INET6, AF_UNIX}) {
    CAPTURE(family_name(family));
    auto [a, b] = netxx_test::connected_pair(family);
    net::socket s(net::socket_options{.fd = a});
    auto body = [](net::socket s, int peer) -> net::task<std::pair<std::size_t, std::size_t>> {
      std::vector<std::byte> big(32u << 20, std::byte{'x'});  // far more than the socket buffers hold
      std::size_t written = 0;
      try {
        co_await net::timeout(s.write(big), 50ms);
        FAIL_CHECK("32 MiB went to a peer that does not read");
      } catch (const net::error& e) {
        CHECK(e.code() == net::errc::timeout_err);
        written = e.bytes_written();
      }
      CHECK(written > 0);
      CHECK(written < big.size());
      CHECK(s.writable_length() == 0);  // the rest is not queued
      CHECK_FALSE(s.destroyed());
      // The stream goes on after the bytes that were sent, once the peer reads.
      auto finish = [](net::socket s) -> net::task<> {
        co_await s.write(bytes("end"));
        co_await s.end();
      };
      auto [received, done] = co_await net::when_all(drain_to_end(peer), finish(s));
      (void)done;
      co_return std::pair{written, received};
    };
    const auto [written, received] = netxx_test::run_bounded(body(s, b));
    CHECK(received == written + 3);
    s.destroy();
    ::close(b);
    netxx_test::settle();  // destroy()'s "close" runs next tick
  }
}

TEST_CASE("abortable write: a stop before it starts sends nothing; one queued behind a send in flight drops its bytes",
          "[abortable][write]") {
  auto [a, b] = netxx_test::connected_pair(AF_INET);
  net::socket s(net::socket_options{.fd = a});
  auto body = [](net::socket s, int peer) -> net::task<std::size_t> {
    std::stop_source stopped;
    stopped.request_stop();
    try {
      co_await net::abortable(s.write(bytes("never")), stopped.get_token());
      FAIL_CHECK("a write under a stopped token ran");
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::abort_err);
      CHECK(e.bytes_written() == 0);
    }
    // Fill the socket: a big write that stays in flight, then a second one behind it.
    std::vector<std::byte> big(8u << 20, std::byte{'a'});
    std::vector<std::byte> second(1000, std::byte{'b'});
    std::stop_source source;
    auto first_write = [](net::socket s, std::span<const std::byte> d) -> net::task<> { co_await s.write(d); };
    net::spawn(first_write(s, big));
    stop_from_thread stopper(source, 30ms);
    try {
      co_await net::abortable(s.write(second), source.get_token());
      FAIL_CHECK("the queued write was not aborted");
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::abort_err);
      CHECK(e.bytes_written() == 0);
    }
    s.end();
    co_return co_await drain_to_end(peer);
  };
  CHECK(netxx_test::run_bounded(body(s, b)) == 8u << 20);  // all of the first write, nothing of the second
  s.destroy();
  ::close(b);
  netxx_test::settle();  // destroy()'s "close" runs next tick
}

TEST_CASE("abortable connect: the socket is destroyed with ABORT_ERR, as Node's signal does", "[abortable][connect]") {
  auto body = []() -> net::task<> {
    // A lookup that never answers keeps the socket connecting.
    net::connect_options o{.port = 80, .host = "never.invalid"};
    o.lookup = [](std::string_view, const net::dns::lookup_options&, net::dns::lookup_callback) {};
    net::socket s;
    // A stop from another thread is no referenced work (nor is Node's
    // AbortSignal): a timer keeps run() going until it comes.
    net::timer keep = net::set_timeout([] {}, 10'000);
    std::stop_source source;
    stop_from_thread stopper(source, 20ms);
    bool closed = false;
    s.on("close", [&](bool) { closed = true; });
    try {
      co_await net::abortable(s.connect(o), source.get_token());
      FAIL_CHECK("the connect was not aborted");
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::abort_err);
    }
    CHECK(s.destroyed());
    co_await net::sleep(5);
    CHECK(closed);
    keep.close();
  };
  netxx_test::run_bounded(body());
}

TEST_CASE("abortable accept: the server keeps listening; the connection that comes later waits for the next accept",
          "[abortable][accept]") {
  for (const char* host : {"127.0.0.1", "::1"}) {
    CAPTURE(host);
    auto body = [](std::string host) -> net::task<bool> {
      net::server server;
      co_await server.listen({.port = 0, .host = host});
      std::stop_source source;
      stop_from_thread stopper(source, 20ms);
      try {
        co_await net::abortable(server.accept(), source.get_token());
        FAIL_CHECK("the accept was not aborted");
      } catch (const net::error& e) {
        CHECK(e.code() == net::errc::abort_err);
      }
      CHECK(server.listening());
      net::socket client = co_await net::connect({.port = server.address()->port, .host = host});
      net::socket conn = co_await net::timeout(server.accept(), 5s);
      const bool got = conn.remote_port() == client.local_port();
      INFO("accepted from port " << conn.remote_port() << ", the client is on " << client.local_port());
      CHECK(got);
      client.destroy();
      conn.destroy();
      server.close();
      co_return got;
    };
    CHECK(netxx_test::run_bounded(body(host)));
  }
}

TEST_CASE("timeout end: stops waiting for \"finish\"; the socket stays ended", "[abortable][timeout][end]") {
  auto [a, b] = netxx_test::connected_pair(AF_UNIX);
  net::socket s(net::socket_options{.fd = a});
  auto body = [](net::socket s) -> net::task<> {
    s.write(std::vector<std::byte>(8u << 20, std::byte{'z'}));  // the event style: queued, a peer that does not read
    try {
      co_await net::timeout(s.end(), 30ms);
      FAIL_CHECK("finish came although the peer reads nothing");
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::timeout_err);
    }
    CHECK_FALSE(s.writable());
    CHECK(s.writable_length() > 0);  // still going
  };
  netxx_test::run_bounded(body(s));
  s.destroy();
  ::close(b);
  netxx_test::settle();  // destroy()'s "close" runs next tick
}

TEST_CASE("timeout close: stops waiting while a connection lives; the server no longer listens",
          "[abortable][timeout][close]") {
  auto body = []() -> net::task<> {
    net::server server;
    co_await server.listen({.port = 0, .host = "127.0.0.1"});
    net::socket client = net::connect({.port = server.address()->port, .host = "127.0.0.1"});
    net::socket conn = co_await server.accept();
    try {
      co_await net::timeout(server.close(), 30ms);
      FAIL_CHECK("the server closed with a connection open");
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::timeout_err);
    }
    CHECK_FALSE(server.listening());
    client.destroy();
    conn.destroy();
  };
  netxx_test::run_bounded(body());
}

TEST_CASE("abortable sleep and dns::lookup", "[abortable][sleep][dns]") {
  auto body = []() -> net::task<> {
    std::stop_source source;
    stop_from_thread stopper(source, 20ms);
    try {
      co_await net::abortable(net::sleep(10'000), source.get_token());
      FAIL_CHECK("the sleep was not aborted");
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::abort_err);
    }
    std::stop_source stopped;
    stopped.request_stop();
    try {
      co_await net::abortable(net::dns::lookup("localhost"), stopped.get_token());
      FAIL_CHECK("a lookup under a stopped token answered");
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::abort_err);
    }
    // Not stopped: the answer comes.
    std::stop_source idle;
    auto found = co_await net::abortable(net::dns::lookup("127.0.0.1"), idle.get_token());
    REQUIRE(found.size() == 1);
    CHECK(found[0].address == "127.0.0.1");
  };
  netxx_test::run_bounded(body());
}

TEST_CASE("a task under a token: the stop aborts what it awaits, and every later await throws at once",
          "[abortable][task]") {
  auto [a, b] = netxx_test::connected_pair(AF_INET6);
  net::socket s(net::socket_options{.fd = a});
  auto body = [](net::socket s) -> net::task<> {
    std::vector<std::string> seen;
    auto worker = [](net::socket s, std::vector<std::string>& seen) -> net::task<int> {
      const std::stop_token own = co_await net::get_stop_token();
      CHECK(own.stop_possible());
      std::array<std::byte, 16> buf;
      try {
        co_await s.read(buf);  // no abortable() here: the task's token reaches it
      } catch (const net::error& e) {
        seen.push_back(std::string(e.code_string()));
      }
      try {
        co_await net::sleep(10'000);
      } catch (const net::error& e) {
        seen.push_back("sleep " + std::string(e.code_string()));
      }
      auto inner = [](net::socket s) -> net::task<> {
        std::array<std::byte, 16> buf;
        co_await s.read(buf);
      };
      try {
        co_await inner(s);  // a task it awaits runs under its token too
      } catch (const net::error& e) {
        seen.push_back("inner " + std::string(e.code_string()));
      }
      co_return 7;
    };
    std::stop_source source;
    stop_from_thread stopper(source, 20ms);
    const int v = co_await net::abortable(worker(s, seen), source.get_token());
    CHECK(v == 7);
    CHECK(seen == std::vector<std::string>{"ABORT_ERR", "sleep ABORT_ERR", "inner ABORT_ERR"});
    CHECK_FALSE(s.destroyed());
    // A task awaited with no token runs as before: its token cannot stop.
    auto plain = []() -> net::task<bool> { co_return (co_await net::get_stop_token()).stop_possible(); };
    CHECK_FALSE(co_await plain());
  };
  netxx_test::run_bounded(body(s));
  s.destroy();
  ::close(b);
  netxx_test::settle();  // destroy()'s "close" runs next tick
}

TEST_CASE("timeout on a task: TimeoutError out of the task; nested deadlines each keep their own name",
          "[abortable][timeout][task]") {
  auto [a, b] = netxx_test::connected_pair(AF_UNIX);
  net::socket s(net::socket_options{.fd = a});
  auto body = [](net::socket s) -> net::task<> {
    auto reader = [](net::socket s) -> net::task<std::size_t> {
      std::array<std::byte, 16> buf;
      co_return co_await s.read(buf);
    };
    try {
      co_await net::timeout(reader(s), 30ms);
      FAIL_CHECK("the task did not time out");
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::timeout_err);
    }
    // The outer deadline passes first: the inner operation is aborted by it,
    // and what comes out is the outer's TimeoutError.
    auto nested = [](net::socket s) -> net::task<std::string> {
      std::array<std::byte, 16> buf;
      try {
        co_await net::timeout(s.read(buf), 10s);
      } catch (const net::error& e) {
        co_return std::string(e.code_string());
      }
      co_return "read";
    };
    CHECK(co_await net::timeout(nested(s), 30ms) == "ABORT_ERR");
  };
  netxx_test::run_bounded(body(s));
  s.destroy();
  ::close(b);
  netxx_test::settle();  // destroy()'s "close" runs next tick
}

TEST_CASE("a stop racing the read's completion never resumes a finished frame (ASan proves it)",
          "[abortable][read][race]") {
  auto [a, b] = netxx_test::connected_pair(AF_INET);
  net::socket s(net::socket_options{.fd = a});
  auto body = [](net::socket s, int peer) -> net::task<std::size_t> {
    std::size_t got = 0;
    for (int i = 0; i < 300; ++i) {
      std::stop_source source;
      std::jthread t([&source, peer] {
        [[maybe_unused]] auto r = ::write(peer, "x", 1);
        source.request_stop();
      });
      std::array<std::byte, 8> buf;
      try {
        got += co_await net::abortable(s.read(buf), source.get_token());
      } catch (const net::error& e) {
        CHECK(e.code() == net::errc::abort_err);
      }
    }
    // Every byte written is read by someone: what aborted reads left is still there.
    ::shutdown(peer, SHUT_WR);
    std::array<std::byte, 512> buf;
    while (const std::size_t n = co_await s.read(buf)) got += n;
    co_return got;
  };
  CHECK(netxx_test::run_bounded(body(s, b)) == 300);
  s.destroy();
  ::close(b);
  netxx_test::settle();  // destroy()'s "close" runs next tick
}

TEST_CASE("abortable listen: a token already stopped closes the server, whether the host needs a lookup or not",
          "[abortable][listen]") {
  for (const char* host : {"localhost", "127.0.0.1"}) {
    CAPTURE(host);
    auto body = [](std::string host) -> net::task<> {
      net::server server;
      bool closed = false;
      server.on("close", [&] { closed = true; });
      std::stop_source stopped;
      stopped.request_stop();
      try {
        co_await net::abortable(server.listen({.port = 0, .host = host}), stopped.get_token());
        FAIL_CHECK("the listen was not aborted");
      } catch (const net::error& e) {
        CHECK(e.code() == net::errc::abort_err);
      }
      co_await net::sleep(20);  // the lookup, if any, has answered: it must not listen now
      CHECK_FALSE(server.listening());
      CHECK(closed);
    };
    netxx_test::run_bounded(body(host));
  }
}
