// net::run_workers (<netxx/workers.hpp>): n threads, each with its own loop
// and its own server on one port with reuse_port; stop() closes them all,
// lets open connections finish and joins; what escapes a worker reaches the
// caller. The clients here are blocking sockets on the test's thread (it
// runs no loop), each read bounded by SO_RCVTIMEO; every join is bounded.
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "net_test.hpp"

namespace {

// A port of 127.0.0.1 kept for the test: a socket bound to it with
// SO_REUSEPORT and never listening. The workers' listening sockets (same
// user, SO_REUSEPORT) join it on the port; only listening sockets get
// connections, so it takes none, and no other program can take the port.
struct reserved_port {
  int fd = -1;
  std::uint16_t port = 0;
  reserved_port() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0);
    sockaddr_in a = netxx_test::loopback4(0);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  reserved_port(const reserved_port&) = delete;
  ~reserved_port() { ::close(fd); }
};

// A blocking client with bounded reads; -1 when the connect fails (errno says why).
int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const sockaddr_in to = netxx_test::loopback4(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// Sends `text` and reads it back: true when the echo is exact.
bool echoes(int fd, const std::string& text) {
  if (::send(fd, text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size())) return false;
  std::string got;
  char buf[256];
  while (got.size() < text.size()) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got == text;
}

// Waits for the end of the stream (0) or an error; true on a clean end.
bool ends(int fd) {
  char buf[64];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return false;
  }
}

// join() (or stop()) on another thread, bounded: a group that never ends
// aborts the test instead of hanging it. Returns what it threw.
std::exception_ptr bounded(std::function<void()> f, std::chrono::seconds limit = std::chrono::seconds(20)) {
  auto done = std::async(std::launch::async, [f = std::move(f)]() -> std::exception_ptr {
    try {
      f();
    } catch (...) {
      return std::current_exception();
    }
    return nullptr;
  });
  if (done.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "workers did not end within %lld s\n", static_cast<long long>(limit.count()));
    std::abort();
  }
  return done.get();
}

net::error thrown_error(const std::exception_ptr& e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const net::error& err) {
    return err;
  } catch (const std::exception& other) {
    FAIL_CHECK("not a net::error: " << other.what());
  }
  FAIL_CHECK("nothing was thrown");
  return net::error(net::errc::err_invalid_arg_value);
}

// Per-worker figures, each written only by its worker's thread and read
// after join() (which orders them): nothing shared on the path of a connection.
// (Catch2 v2 is not thread-safe: the workers record, the test's thread checks.)
struct alignas(64) per_worker {
  int connections = 0;
  std::string backend;
  std::string ended_with;  // what ended a task's accept loop
};

// An echo server with the event face, counting the connections of its worker.
net::server echo_server(std::uint16_t port, per_worker& mine) {
  mine.backend = std::string(net::loop::current().backend_name());
  auto s = net::create_server({.no_delay = true}, [&mine](net::socket c) {
    ++mine.connections;
    c.on("error", [](const net::error&) {});  // a peer's reset is its own business
    c.pipe(c);
  });
  s.listen({.port = port, .host = "127.0.0.1", .reuse_port = true});
  return s;
}

void check_backends(const std::vector<per_worker>& w) {
  const std::string want = netxx_test::requested_backend() == "uring" ? "io_uring" : netxx_test::requested_backend();
  for (const auto& x : w) {
    if (!want.empty()) CHECK(x.backend == want);  // each thread's loop read NETXX_BACKEND
  }
}

}  // namespace

TEST_CASE("run_workers: 200 connections from different source ports are spread over more than one worker",
          "[workers]") {
  const int fds_before = netxx_test::open_fds();
  {
    reserved_port port;
    constexpr int workers = 2, connections = 200;
    std::vector<per_worker> seen(workers);
    auto group = net::run_workers(workers, [&](net::worker& w) { return echo_server(port.port, seen[w.index()]); });
    CHECK(group.size() == 2);
    int echoed = 0;
    for (int i = 0; i < connections; ++i) {
      const int fd = connect_to(port.port);
      if (fd < 0) break;
      echoed += echoes(fd, "ping " + std::to_string(i)) ? 1 : 0;
      ::close(fd);
    }
    CHECK(echoed == connections);
    const auto e = bounded([&] { group.stop(); });
    CHECK_FALSE(e);
    // After join, what each worker wrote is visible here.
    int total = 0, busy = 0;
    for (const auto& w : seen) {
      total += w.connections;
      busy += w.connections > 0 ? 1 : 0;
    }
    INFO("worker 0: " << seen[0].connections << ", worker 1: " << seen[1].connections);
    std::fprintf(stderr, "[%s] run_workers: %d + %d connections\n", netxx_test::requested_backend().c_str(),
                 seen[0].connections, seen[1].connections);
    CHECK(total == connections);
    CHECK(busy == 2);  // SO_REUSEPORT hashes the 4-tuple: 200 source ports do not all land on one socket
    check_backends(seen);
  }
  CHECK(netxx_test::open_fds() == fds_before);  // loops, rings, servers and connections went with their threads
}

namespace {
// A worker's main as a coroutine: pooled reads (061's echo), one task per
// connection; the server closes on the worker's signal, so accept() fails
// with ERR_SERVER_NOT_RUNNING and the main ends, its connections still served.
net::task<> echo(net::socket s) {
  try {
    while (net::buffer chunk = co_await s.read()) co_await s.write(chunk);
  } catch (const net::error&) {
  }
}

net::task<> serve(net::worker& w, std::uint16_t port, per_worker& mine) {
  mine.backend = std::string(net::loop::current().backend_name());
  auto server = net::create_server({.no_delay = true});
  co_await server.listen({.port = port, .host = "127.0.0.1", .reuse_port = true, .signal = w.signal()});
  try {
    for (;;) {
      net::spawn(echo(co_await server.accept()));
      ++mine.connections;
    }
  } catch (const net::error& e) {
    mine.ended_with = std::string(e.code_string());
  }
}
}  // namespace

TEST_CASE("stop() while clients are connected: the servers close at once, the open connections are still served "
          "until their peers end, then every worker joins",
          "[workers]") {
  const int fds_before = netxx_test::open_fds();
  {
    reserved_port port;
    constexpr int workers = 2, clients = 8;
    std::vector<per_worker> seen(workers);
    auto group = net::run_workers(workers, [&](net::worker& w) { return serve(w, port.port, seen[w.index()]); });
    std::vector<int> open;
    for (int i = 0; i < clients; ++i) {
      const int fd = connect_to(port.port);
      REQUIRE(fd >= 0);
      CHECK(echoes(fd, "before stop " + std::to_string(i)));
      open.push_back(fd);
    }
    group.request_stop();
    // The servers close on their threads: soon no worker takes a connection.
    bool refused = false;
    for (int i = 0; i < 2000 && !refused; ++i) {
      const int fd = connect_to(port.port);
      if (fd < 0) {
        refused = errno == ECONNREFUSED;
      } else {
        ::close(fd);  // one that came in before its worker's close: ends with it
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    CHECK(refused);
    // join() waits for the open connections, which are still echoed.
    auto joined = std::async(std::launch::async, [&] { return bounded([&] { group.join(); }); });
    for (int i = 0; i < clients; ++i) CHECK(echoes(open[static_cast<std::size_t>(i)], "after stop " + std::to_string(i)));
    CHECK(joined.wait_for(std::chrono::milliseconds(50)) == std::future_status::timeout);  // still connections
    for (int fd : open) {
      ::shutdown(fd, SHUT_WR);
      CHECK(ends(fd));  // the server ends its side once the peer has (allow_half_open false)
      ::close(fd);
    }
    CHECK_FALSE(joined.get());
    int total = 0;
    for (const auto& w : seen) {
      total += w.connections;
      CHECK(w.ended_with == "ERR_SERVER_NOT_RUNNING");  // the worker's signal closed its server
    }
    CHECK(total >= clients);
    check_backends(seen);
  }
  CHECK(netxx_test::open_fds() == fds_before);
}

TEST_CASE("an exception escaping a worker stops the group and is rethrown to the caller, never lost", "[workers]") {
  reserved_port port;
  std::vector<per_worker> seen(2);

  SECTION("setup throws on one worker: run_workers rethrows it, the other worker is stopped and joined") {
    auto run = [&] {
      auto g = net::run_workers(2, [&](std::size_t i) {
        if (i == 1) throw std::runtime_error("setup of worker 1 failed");
        return echo_server(port.port, seen[i]);
      });
    };
    const auto e = bounded(run);
    REQUIRE(e);
    try {
      std::rethrow_exception(e);
    } catch (const std::runtime_error& r) {
      CHECK(std::string(r.what()) == "setup of worker 1 failed");
    }
    CHECK(connect_to(port.port) < 0);  // nobody listens any more
  }

  SECTION("a spawned task throws: stop() (and the destructor) are not needed, join() rethrows it") {
    auto group = net::run_workers(2, [&](net::worker& w) {
      auto s = net::create_server([i = w.index()](net::socket c) {
        net::spawn([](net::socket c, std::size_t i) -> net::task<> {
          co_await c.read();
          throw std::runtime_error("boom in worker " + std::to_string(i));
        }(std::move(c), i));
      });
      s.listen({.port = port.port, .host = "127.0.0.1", .reuse_port = true});
      return s;
    });
    const int fd = connect_to(port.port);
    REQUIRE(fd >= 0);
    ::send(fd, "x", 1, MSG_NOSIGNAL);
    const auto e = bounded([&] { group.join(); });  // no stop(): the failure stops the group
    ::close(fd);
    REQUIRE(e);
    try {
      std::rethrow_exception(e);
    } catch (const std::runtime_error& r) {
      CHECK(std::string(r.what()).find("boom in worker ") == 0);
    }
    CHECK_FALSE(bounded([&] { group.join(); }));  // reported once
  }

  SECTION("nobody joins: the destructor stops the group and hands the error to this thread's unhandled-exception "
          "handler") {
    static std::exception_ptr handed;
    handed = nullptr;
    const auto previous = net::set_unhandled_exception_handler([](std::exception_ptr e) { handed = std::move(e); });
    {
      auto group = net::run_workers(2, [&](std::size_t) {
        auto s = net::create_server([](net::socket c) {
          net::spawn([](net::socket c) -> net::task<> {
            co_await c.read();
            throw std::runtime_error("nobody joined");
          }(std::move(c)));
        });
        s.listen({.port = port.port, .host = "127.0.0.1", .reuse_port = true});
        return s;
      });
      const int fd = connect_to(port.port);
      REQUIRE(fd >= 0);
      ::send(fd, "x", 1, MSG_NOSIGNAL);
      (void)ends(fd);  // the task threw: its socket went with its frame (an end or a reset)
      ::close(fd);
    }
    net::set_unhandled_exception_handler(previous);
    REQUIRE(handed);
    try {
      std::rethrow_exception(handed);
    } catch (const std::runtime_error& r) {
      CHECK(std::string(r.what()) == "nobody joined");
    }
  }

  SECTION("a worker's main task throws after a wait: join() rethrows it, the other main ends on its signal") {
    auto group = net::run_workers(2, [&](net::worker& w) -> net::task<> {
      auto s = net::create_server();
      co_await s.listen({.port = port.port, .host = "127.0.0.1", .reuse_port = true, .signal = w.signal()});
      net::socket c = co_await s.accept();  // the other worker's accept fails when the group stops
      throw net::error(net::errc::err_invalid_arg_value, "from the main task of worker " + std::to_string(w.index()));
    });
    const int fd = connect_to(port.port);
    REQUIRE(fd >= 0);
    const auto e = bounded([&] { group.join(); });
    ::close(fd);
    CHECK(std::string(thrown_error(e).what()).find("from the main task of worker ") == 0);
  }

  SECTION("a task waiting for something that never comes is reported, not left hanging") {
    // Found when the loop runs dry, right after start-up: run_workers or join() reports it.
    const auto e = bounded([&] {
      auto group = net::run_workers(1, [](std::size_t) -> net::task<> {
        co_await std::suspend_always{};  // nothing on the loop will ever resume it
      });
      group.join();
    });
    REQUIRE(e);
    try {
      std::rethrow_exception(e);
    } catch (const std::runtime_error& r) {
      CHECK(std::string(r.what()).find("waits for something that can never happen") != std::string::npos);
    }
  }
}

TEST_CASE("a worker whose listen fails: the others are stopped and run_workers throws Node's error", "[workers]") {
  reserved_port port;
  SECTION("a bad port: ERR_SOCKET_BAD_PORT, thrown by listen() as in Node") {
    const auto bad = bounded([&] {
      auto g = net::run_workers(3, [&](std::size_t i) {
        auto s = net::create_server([](net::socket c) { c.pipe(c); });
        s.listen({.port = i == 2 ? 65536 : port.port, .host = "127.0.0.1", .reuse_port = true});
        return s;
      });
    });
    const net::error err = thrown_error(bad);
    CHECK(err.code_string() == "ERR_SOCKET_BAD_PORT");
    CHECK(std::string(err.what()) == "options.port should be >= 0 and < 65536. Received type number (65536).");
    CHECK(connect_to(port.port) < 0);  // the workers that listened were stopped
  }

  SECTION("EADDRINUSE without reuse_port: the worker that lost the race fails, the winner is stopped") {
    const std::uint16_t shared = netxx_test::unused_port(AF_INET);
    const auto e = bounded([&] {
      auto g = net::run_workers(2, [&](std::size_t) {
        auto s = net::create_server([](net::socket c) { c.pipe(c); });
        s.listen({.port = shared, .host = "127.0.0.1"});  // no reuse_port: one bind wins
        return s;
      });
    });
    const net::error err = thrown_error(e);
    CHECK(err.code_string() == "EADDRINUSE");
    CHECK(std::string(err.what()) == "listen EADDRINUSE: address already in use 127.0.0.1:" + std::to_string(shared));
    CHECK(connect_to(shared) < 0);
  }
}

TEST_CASE("run_workers(n) with n < 1 throws ERR_OUT_OF_RANGE; run_workers(setup) runs one per available CPU",
          "[workers]") {
  for (const std::int64_t n : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{5'000'000'000}}) {
    INFO("n " << n);
    bool called = false;
    try {
      auto g = net::run_workers(n, [&](std::size_t) { called = true; });
      FAIL_CHECK("no error");
    } catch (const net::error& e) {
      CHECK(e.code_string() == "ERR_OUT_OF_RANGE");
      const std::string received = n == 5'000'000'000 ? "5_000_000_000" : std::to_string(n);
      // Node's validateInt32(n, 'n', 1), checked against Node v23.5.0.
      CHECK(std::string(e.what()) ==
            "The value of \"n\" is out of range. It must be >= 1 && <= 2147483647. Received " + received);
    }
    CHECK_FALSE(called);
  }
  std::atomic<int> ran{0};
  std::atomic<std::size_t> count{0};
  auto g = net::run_workers([&](net::worker& w) {
    count = w.count();
    ++ran;
  });
  CHECK(g.size() == net::available_parallelism());
  CHECK_FALSE(bounded([&] { g.join(); }));  // nothing to serve: each loop ends at once
  CHECK(ran == static_cast<int>(net::available_parallelism()));
  CHECK(count == net::available_parallelism());
  // Node's os.availableParallelism() on this process's CPUs.
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  CHECK(net::available_parallelism() == static_cast<std::size_t>(CPU_COUNT(&set)));
}
