// The event face of net.Server and net.Socket, as the spec describes it:
// "connection", "listening", "close", "error", "drop"; "data", "end",
// "close", "error", "drain"; write/end/destroy/pause/resume/pipe.
#include <arpa/inet.h>
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>
#include <tuple>

#include "net_test.hpp"

namespace {

// A blocking client on its own thread, so the loop thread can run the server.
struct client {
  int fd = -1;
  explicit client(const net::server& srv) {
    auto a = *srv.address();
    sockaddr_storage ss{};
    socklen_t len;
    if (!a.path.empty()) {
      int err = 0;
      len = *net::detail::to_unix_sockaddr(a.path, ss, err);
    } else {
      auto sa = net::socket_address(net::socket_address_options{
          .address = a.address, .family = a.family == "IPv4" ? net::family::ipv4 : net::family::ipv6, .port = a.port});
      len = net::detail::to_sockaddr(sa, ss);
    }
    fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ~client() {
    if (fd >= 0) ::close(fd);
  }
  void send(std::string_view s) const { REQUIRE(::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size())); }
  void end() const { ::shutdown(fd, SHUT_WR); }
  std::string read_all() const {
    std::string got;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
    return got;
  }
};

using netxx_test::run_until;

}  // namespace

TEST_CASE("the spec's echo server: greets with hello, pipes back, and sees the client leave", "[events][server]") {
  const std::string path = (std::filesystem::temp_directory_path() / ("netxx-ev-" + std::to_string(::getpid()))).string();
  const bool unix_socket = GENERATE(false, true);
  CAPTURE(unix_socket);
  bool disconnected = false, listening = false;
  auto server = net::create_server([&](net::socket c) {
    c.on("end", [&] { disconnected = true; });
    c.write("hello\r\n");
    c.pipe(c);
  });
  server.on("error", [](const net::error& e) { FAIL(e.what()); });
  if (unix_socket)
    server.listen_path(path, [&] { listening = true; });
  else
    server.listen(0, "127.0.0.1", [&] { listening = true; });
  std::string got;
  std::thread t([&] {
    client c(server);
    c.send("echo me");
    c.end();
    got = c.read_all();
  });
  run_until([&] { return disconnected && !got.empty(); });
  t.join();
  CHECK(listening);
  CHECK(got == "hello\r\necho me");
  server.close();
  net::run();
}

TEST_CASE("data, end and close arrive in order; without allowHalfOpen the server ends too", "[events][socket]") {
  std::vector<std::string> log;
  std::string data;
  auto server = net::create_server([&](net::socket c) {
    c.on("data", [&](std::span<const std::byte> chunk) { data.append(netxx_test::text(chunk)); });
    c.on("end", [&] { log.push_back("end"); });
    c.on("close", [&](bool had_error) { log.push_back(had_error ? "close(error)" : "close"); });
  });
  server.listen(0, "::1");
  std::string reply = "unset";
  std::thread t([&] {
    client c(server);
    c.send("one,");
    c.send("two");
    c.end();
    reply = c.read_all();  // returns when the server's FIN arrives
  });
  run_until([&] { return log.size() == 2; });
  t.join();
  CHECK(data == "one,two");
  CHECK(log == std::vector<std::string>{"end", "close"});
  CHECK(reply.empty());
  server.close();
  net::run();
}

TEST_CASE("with allowHalfOpen the socket may still write after the peer ended", "[events][socket]") {
  auto server = net::create_server({.allow_half_open = true}, [](net::socket c) {
    c.on("end", [c]() mutable {
      c.write("after your end");
      c.end();
    });
    c.resume();
  });
  server.listen(0, "127.0.0.1");
  std::string reply;
  bool done = false;
  std::thread t([&] {
    client c(server);
    c.end();
    reply = c.read_all();
    done = true;
  });
  run_until([&] { return done; });
  t.join();
  CHECK(reply == "after your end");
  server.close();
  net::run();
}

TEST_CASE("write returns false at the high-water mark and drain follows when the queue empties",
          "[events][socket][backpressure]") {
  std::vector<std::string> log;
  std::size_t buffered_at_false = 0;
  std::size_t callbacks = 0;
  auto server = net::create_server({.high_water_mark = 16 * 1024}, [&](net::socket c) {
    std::vector<std::byte> big(32 * 1024 * 1024, std::byte{'q'});  // more than the kernel buffers hold
    const bool ok = c.write(big, [&](std::error_code ec) {
      if (!ec) ++callbacks;
    });
    log.push_back(ok ? "true" : "false");
    buffered_at_false = c.buffer_size();
    c.on("drain", [&, c]() mutable {
      log.push_back("drain");
      CHECK(c.buffer_size() == 0);
      c.destroy_soon();  // end, then destroy once written: this socket never reads
    });
  });
  server.listen(0, "127.0.0.1");
  std::size_t received = 0;
  std::thread t([&] {
    client c(server);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // let the queue fill first
    received = c.read_all().size();
  });
  run_until([&] { return log.size() == 2; });
  t.join();
  CHECK(log == std::vector<std::string>{"false", "drain"});
  CHECK(buffered_at_false > 16 * 1024);
  CHECK(callbacks == 1);  // once all of it reached the kernel
  CHECK(received == 32 * 1024 * 1024);
  server.close();
  net::run();
}

// Node's bytesWritten is what write() was given (what its handle took, plus
// what is still buffered): 15 right after a write made while connecting
// (test-net-connect-buffer), the whole buffer right after end(buf)
// (test-net-bytes-written-large); a socket that connects again counts anew
// (test-net-bytes-stats).
TEST_CASE("bytes_written counts what write() was given, queued bytes included, and from 0 on a new connect",
          "[events][socket]") {
  auto server = net::create_server([](net::socket c) { c.resume(); });  // reads and discards
  server.listen(0, "127.0.0.1");
  const std::uint16_t port = server.address()->port;
  net::socket c;
  std::vector<std::uint64_t> seen;
  int closes = 0;
  c.on("data", [](std::span<const std::byte>) {});  // flowing, to see the server's end
  c.on("close", [&](bool) {
    seen.push_back(c.bytes_written());
    if (++closes == 1)
      c.connect(port, "127.0.0.1", [&] {
        seen.push_back(c.bytes_written());
        c.end();
      });
  });
  c.connect(port, "127.0.0.1", [] {});
  c.write("0123456789abcde", net::write_callback{});
  seen.push_back(c.bytes_written());
  const std::vector<std::byte> big(10'000'000, std::byte{'z'});
  c.end(big);
  seen.push_back(c.bytes_written());
  run_until([&] { return closes == 2; });
  CHECK(seen == std::vector<std::uint64_t>{15, 10'000'015, 10'000'015, 0, 0});
  server.close();
  net::run();
}

// Node counts the bytes of a write as buffered until they are written, so
// write() says false for a chunk of the high-water mark or more even when the
// kernel takes all of it at once, and "drain" follows (next tick).
TEST_CASE("a write of the high-water mark or more returns false even when the kernel takes it all, then drain",
          "[events][socket][backpressure]") {
  for (const bool with_callback : {false, true}) {
    CAPTURE(with_callback);
    std::vector<std::string> log;
    auto server = net::create_server({.high_water_mark = 1024}, [&](net::socket c) {
      const std::string chunk(2048, 'w');  // fits in any socket buffer
      const bool ok = with_callback ? c.write(chunk, [&](std::error_code ec) { log.push_back(ec ? "cb error" : "cb"); })
                                    : c.write(chunk, net::write_callback{});
      log.push_back(ok ? "true" : "false");
      log.push_back("buffered " + std::to_string(c.buffer_size() > 0 ? 1 : 0));
      const bool small = c.write("x", net::write_callback{});
      log.push_back(small ? "small true" : "small false");
      c.on("drain", [&, c]() mutable {
        log.push_back("drain");
        c.destroy_soon();  // end, then destroy once written: this socket never reads
      });
    });
    server.listen(0, "127.0.0.1");
    std::size_t received = 0;
    std::thread t([&] {
      client c(server);
      received = c.read_all().size();
    });
    run_until([&] { return received == 2049 && std::count(log.begin(), log.end(), "drain") == 1; });
    t.join();
    REQUIRE(log.size() >= 4);
    CHECK(log[0] == "false");
    CHECK(std::count(log.begin(), log.end(), "drain") == 1);
    CHECK(received == 2049);
    if (with_callback) CHECK(std::count(log.begin(), log.end(), "cb") == 1);
    server.close();
    net::run();
  }
}

TEST_CASE("pause() stops data events until resume(), without losing bytes", "[events][socket]") {
  std::string data;
  int chunks_while_paused = 0;
  bool paused = false;
  net::socket conn;
  auto server = net::create_server([&](net::socket c) {
    conn = c;
    c.on("data", [&, c](std::span<const std::byte> chunk) mutable {
      if (paused) ++chunks_while_paused;
      data.append(netxx_test::text(chunk));
      if (data.size() >= 5 && !paused && data.size() < 10) {
        c.pause();
        paused = true;
        CHECK(c.is_paused());
        net::set_timeout([&, c]() mutable {
          paused = false;
          c.resume();
        }, 30);
      }
    });
  });
  server.listen(0, "127.0.0.1");
  std::thread t([&] {
    client c(server);
    c.send("12345");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    c.send("67890");  // arrives while paused
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    c.end();
    c.read_all();
  });
  run_until([&] { return data.size() == 10 && conn.destroyed(); });
  t.join();
  CHECK(data == "1234567890");
  CHECK(chunks_while_paused == 0);
  server.close();
  net::run();
}

TEST_CASE("destroy(error) emits error then close(true); destroy() emits close(false)", "[events][socket]") {
  std::vector<std::string> log;
  std::error_code late_write;
  int connection = 0;
  auto server = net::create_server([&](net::socket c) {
    c.on("error", [&](const net::error& e) { log.push_back(std::string("error:") + e.what()); });
    c.on("close", [&](bool had_error) { log.push_back(had_error ? "close(true)" : "close(false)"); });
    if (connection++ == 0) {
      c.destroy(net::error(net::errc::err_socket_closed, "custom failure"));
    } else {
      c.destroy();
      c.write("late", [&](std::error_code ec) { late_write = ec; });
    }
    CHECK(c.destroyed());
  });
  server.listen(0, "127.0.0.1");
  std::thread t([&] {
    client a(server);
    a.read_all();
    client b(server);
    b.read_all();
  });
  run_until([&] { return log.size() == 3 && late_write; });
  t.join();
  CHECK(log == std::vector<std::string>{"error:custom failure", "close(true)", "close(false)"});
  CHECK(late_write == net::errc::err_stream_destroyed);
  server.close();
  net::run();
}

TEST_CASE("end(data, cb) after destroy(): the callback gets ERR_STREAM_DESTROYED; end(cb) never calls it (as Node)",
          "[events][socket]") {
  auto [a, b] = netxx_test::connected_pair(AF_UNIX);
  net::socket s(net::socket_options{.fd = a});
  std::vector<std::string> log;
  s.on("error", [&](const net::error& e) { log.push_back(std::string("error event ") + std::string(e.code_string())); });
  s.destroy();
  s.end("x", [&](std::error_code ec) { log.push_back("end(data) cb " + std::string(net::code_string(ec))); });
  s.end([&](std::error_code) { log.push_back("end() cb"); });
  CHECK(log.empty());  // next tick, never inside end()
  netxx_test::settle();
  // Node v23.5.0: "end cb ERR_STREAM_DESTROYED", no "error" event, nothing for end(cb).
  CHECK(log == std::vector<std::string>{"end(data) cb ERR_STREAM_DESTROYED"});
  ::close(b);
}

TEST_CASE("an error event nobody listens to is reported, never dropped", "[events][errors]") {
  static std::vector<std::string> reported;
  reported.clear();
  auto previous = net::set_unhandled_exception_handler([](std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      reported.emplace_back(x.what());
    }
  });
  auto a = net::create_server();
  a.listen(0, "127.0.0.1");
  a.unref();  // a listening server keeps run() going, as in Node: this one only holds the port
  auto b = net::create_server();
  b.listen(a.address()->port, "127.0.0.1");  // EADDRINUSE, no "error" listener
  net::run();
  net::set_unhandled_exception_handler(previous);
  REQUIRE(reported.size() == 1);
  CHECK(reported[0].find("listen EADDRINUSE") == 0);
  a.close();
  net::run();
}

TEST_CASE("server close completes only after its last connection ends, then emits close", "[events][server]") {
  std::vector<std::string> log;
  std::optional<net::socket> held;  // (a default net::socket is a new, unconnected socket)
  auto server = net::create_server([&](net::socket c) {
    held = c;
    c.resume();
  });
  server.on("close", [&] { log.push_back("server close"); });
  server.listen(0, "127.0.0.1");
  std::thread t([&] {
    client c(server);
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    c.end();
    c.read_all();
  });
  std::size_t counted = 99;
  run_until([&] { return held.has_value(); });
  server.get_connections([&](std::error_code, std::size_t n) { counted = n; });
  server.close([&](std::error_code ec) { log.push_back(ec ? "callback error" : "callback"); });
  CHECK_FALSE(server.listening());
  run_until([&] { return log.size() == 2; });
  t.join();
  CHECK(counted == 1);
  CHECK(log == std::vector<std::string>{"server close", "callback"});
  CHECK(held->destroyed());
  CHECK(server.get_connections() == 0);
}

TEST_CASE("maxConnections drops what is over the limit with a drop event; 0 drops everything", "[events][server]") {
  const std::size_t limit = GENERATE(0u, 1u);
  CAPTURE(limit);
  int connections = 0;
  std::vector<net::drop_info> drops;
  std::vector<net::socket> keep;
  auto server = net::create_server([&](net::socket c) {
    ++connections;
    keep.push_back(c);
  });
  server.max_connections(limit);
  server.on("drop", [&](const net::drop_info& d) { drops.push_back(d); });
  server.listen(0, "127.0.0.1");
  std::thread t([&] {
    client a(server);
    client b(server);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  });
  run_until([&] { return static_cast<std::size_t>(connections) + drops.size() == 2; });
  t.join();
  CHECK(connections == static_cast<int>(limit));
  REQUIRE(drops.size() == 2 - limit);
  CHECK(drops[0].local_address == "127.0.0.1");
  CHECK(drops[0].local_port == server.address()->port);
  CHECK(drops[0].local_family == "IPv4");
  CHECK(drops[0].remote_address == "127.0.0.1");
  CHECK(drops[0].remote_port > 0);
  for (auto& s : keep) s.destroy();
  server.close();
  net::run();
}

TEST_CASE("a blocked peer is closed before any byte is read and never reaches connection", "[events][server]") {
  net::block_list blocked;
  blocked.add_address("127.0.0.1");
  int connections = 0;
  auto server = net::create_server({.block_list = &blocked}, [&](net::socket) { ++connections; });
  server.listen(0, "");  // dual-stack: ::1 is not blocked, 127.0.0.1 is (as ::ffff:127.0.0.1)
  const auto port = server.address()->port;
  std::string v4, v6 = "unset";
  std::thread t([&] {
    auto connect_read = [&](int family, const char* ip) {
      int fd = ::socket(family, SOCK_STREAM, 0);
      sockaddr_storage ss{};
      socklen_t len;
      if (family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        ::inet_pton(AF_INET, ip, &a->sin_addr);
        len = sizeof(sockaddr_in);
      } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        ::inet_pton(AF_INET6, ip, &a->sin6_addr);
        len = sizeof(sockaddr_in6);
      }
      REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0);
      ::write(fd, "x", 1);
      char buf[8];
      ssize_t n = ::read(fd, buf, sizeof buf);
      ::close(fd);
      return n <= 0 ? std::string("closed") : std::string(buf, static_cast<std::size_t>(n));
    };
    v4 = connect_read(AF_INET, "127.0.0.1");
  });
  run_until([&] { return !v4.empty(); });
  t.join();
  CHECK(v4 == "closed");
  CHECK(connections == 0);
  server.close();
  net::run();
}

TEST_CASE("a stop_token given as signal closes the server", "[events][server]") {
  std::stop_source src;
  bool closed = false;
  auto server = net::create_server();
  server.on("close", [&] { closed = true; });
  net::listen_options o{.port = 0, .host = "127.0.0.1"};
  o.signal = src.get_token();
  server.listen(o);
  CHECK(server.listening());
  net::set_timeout([&] { src.request_stop(); }, 5);
  net::run();
  CHECK(closed);
  CHECK_FALSE(server.listening());
}

TEST_CASE("pauseOnConnect: no data until the socket is resumed", "[events][server]") {
  std::string data;
  bool resumed = false;
  auto server = net::create_server({.pause_on_connect = true}, [&](net::socket c) {
    c.on("data", [&](std::span<const std::byte> chunk) {
      CHECK(resumed);
      data.append(netxx_test::text(chunk));
    });
    net::set_timeout([&, c]() mutable {
      resumed = true;
      c.resume();
    }, 20);
  });
  server.listen(0, "127.0.0.1");
  std::thread t([&] {
    client c(server);
    c.send("waited");
    c.end();
    c.read_all();
  });
  run_until([&] { return data == "waited"; });
  t.join();
  server.close();
  net::run();
}

TEST_CASE("the spec's EADDRINUSE retry: close and listen again from the error listener", "[events][server]") {
  auto holder = net::create_server();
  holder.listen(0, "127.0.0.1");
  const auto port = holder.address()->port;
  int attempts = 0;
  bool listening = false;
  auto server = net::create_server();
  server.on("error", [&](const net::error& e) {
    if (e.code_string() == "EADDRINUSE" && ++attempts < 5) {
      net::set_timeout([&] {
        server.close();
        server.listen(port, "127.0.0.1");
      }, 10);
    }
  });
  server.on("listening", [&] { listening = true; });
  server.listen(port, "127.0.0.1");
  net::set_timeout([&] { holder.close(); }, 25);  // the port frees up
  run_until([&] { return listening; });
  CHECK(attempts >= 1);
  CHECK(server.address()->port == port);
  server.close();
  net::run();
}

TEST_CASE("async_dispose closes the server and resumes once it is closed", "[events][server]") {
  auto server = net::create_server();
  server.listen(0, "127.0.0.1");
  bool closed = false;
  server.on("close", [&] { closed = true; });
  auto body = [&]() -> net::task<> { co_await server.async_dispose(); };
  netxx_test::run_bounded(body());
  CHECK(closed);
  CHECK_FALSE(server.listening());
}

TEST_CASE("destroy() closes an idle descriptor before the loop sleeps, by the time run() returns, and at once outside it",
          "[events][socket][lifetime]") {
  // Under io_uring the close of an idle descriptor rides with the turn's
  // other submissions; none of that may be visible as a late close.
  for (int family : {AF_INET, AF_INET6, AF_UNIX}) {
    int a, b;
    std::tie(a, b) = netxx_test::connected_pair(family);
    bool peer_saw_eof = false;
    netxx_test::run_bounded([&]() -> net::task<> {
      net::socket s(net::socket_options{.fd = a});
      s.destroy();
      // The peer sees the end only once the descriptor is really closed.
      co_await net::loop::current().poll_readable(b);
      char c;
      peer_saw_eof = ::recv(b, &c, 1, 0) == 0;
    }());
    CHECK(peer_saw_eof);
    CHECK(::fcntl(a, F_GETFD) == -1);
    net::loop::current().close_now(b);  // b was polled: the backend must forget it

    // destroy() as the last thing run(task) does: closed when run returns.
    std::tie(a, b) = netxx_test::connected_pair(family);
    netxx_test::run_bounded([a]() -> net::task<> {
      net::socket s(net::socket_options{.fd = a});
      s.destroy();
      co_return;
    }());
    CHECK(::fcntl(a, F_GETFD) == -1);
    ::close(b);

    // Outside run(): closed at once.
    std::tie(a, b) = netxx_test::connected_pair(family);
    {
      net::socket s(net::socket_options{.fd = a});
      s.destroy();
      CHECK(::fcntl(a, F_GETFD) == -1);
    }
    ::close(b);
    netxx_test::settle();
  }
}

TEST_CASE("flowing sockets hold no read buffer while they wait; a chunk's block goes back after its data event",
          "[events][socket][memory]") {
  // Like co_await read(), the event face reads into blocks of the pool: 200
  // idle connections cost no 64 KiB buffer each.
  using net::detail::block_pool;
  constexpr int clients = 200;
  std::size_t bytes = 0;
  int connected = 0;
  auto server = net::create_server([&](net::socket c) {
    ++connected;
    c.on("data", [&](std::span<const std::byte> d) { bytes += d.size(); });
  });
  server.listen(0, "127.0.0.1");
  // One connection that has read once: under io_uring that sets up the
  // buffer ring, whose blocks count as taken from then on.
  {
    client warm(server);
    warm.send("w");
    run_until([&] { return bytes == 1; });
  }
  run_until([&] { return server.get_connections() == 0; });
  const std::ptrdiff_t before = block_pool::in_use();
  const std::size_t heap_before = ::mallinfo2().uordblks;  // every arena (zero under ASan)

  std::atomic<bool> go{false}, done{false};
  std::atomic<int> opened{0}, sent{0};
  std::thread t([&] {
    std::vector<std::unique_ptr<client>> cs;
    for (int i = 0; i < clients; ++i) {
      cs.push_back(std::make_unique<client>(server));
      if (cs.back()->fd >= 0) ++opened;
    }
    while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (auto& c : cs) sent += ::write(c->fd, "x", 1) == 1;  // no Catch assertion off the main thread
    while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  run_until([&] { return connected == clients + 1; });
  netxx_test::settle();  // every socket has its read armed and waits
  const std::ptrdiff_t idle = block_pool::in_use() - before;
  const std::size_t heap_idle = ::mallinfo2().uordblks - heap_before;
  go = true;
  run_until([&] { return bytes == 1 + clients; });
  const std::ptrdiff_t after = block_pool::in_use() - before;
  done = true;
  t.join();
  CHECK(opened == clients);
  CHECK(sent == clients);
  CHECK(idle == 0);
  CHECK(heap_idle / clients < 16 * 1024);  // a 64 KiB buffer per socket would be 4x that
  CHECK(after == 0);
  run_until([&] { return server.get_connections() == 0; });
  server.close();
  net::run();
}
