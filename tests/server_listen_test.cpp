// server.listen() as Node v23.5.0 has it (issue 11): a server with no
// "connection" listener, every listen form, the option rules and messages
// of test-net-server-listen-options.js and -signal.js, and each listen and
// createServer option read back from the kernel (getsockopt, stat).

#include <netinet/tcp.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <regex>
#include <string>

#include "net_test.hpp"

namespace {

std::string temp_path(const std::string& name) {
  return "/tmp/nx-listen-" + std::to_string(::getpid()) + "-" + name;
}

int int_option(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  REQUIRE(::getsockopt(fd, level, name, &v, &len) == 0);
  return v;
}

// The backlog the kernel holds for a listening TCP socket (TCP_INFO reports
// sk_max_ack_backlog in tcpi_sacked for a socket in LISTEN).
unsigned tcp_backlog(int fd) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  REQUIRE(::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0);
  return ti.tcpi_sacked;
}

// How many non-blocking connects a Unix listener nobody accepts from takes
// before EAGAIN: its backlog + 1 (the kernel refuses past backlog).
int unix_connects_taken(const std::string& path, int limit) {
  std::vector<int> fds;
  int taken = 0;
  for (; taken < limit; ++taken) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, path.c_str(), path.size() + 1);
    fds.push_back(fd);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0) break;
  }
  for (int fd : fds) ::close(fd);
  return taken;
}

// Node's `assert.throws(fn, { code, message })`.
template <typename F>
net::error thrown_by(F&& f) {
  try {
    f();
  } catch (const net::error& e) {
    return e;
  }
  FAIL("no error was thrown");
  return net::error(net::errc::err_invalid_arg_value);
}

}  // namespace

// --- B: a server nobody listens to for "connection" ------------------------------------

// The unclaimed socket reads from accept on (the socket's read side), so
// the client's FIN is seen and answered with nobody listening.
TEST_CASE("test-net-socket-end-before-connect: a server with no \"connection\" listener accepts, and the unclaimed "
          "socket ends as Node's",
          "[server][listen]") {
  auto server = net::create_server();
  int listening = 0, client_closed = 0, server_closed = 0;
  server.on("close", [&] { ++server_closed; });
  server.listen([&] {
    ++listening;
    auto socket = net::create_connection(server.address()->port);
    socket.on("close", [&](bool) {
      ++client_closed;
      server.close();
    });
    socket.end();
  });
  netxx_test::run_bounded();
  CHECK(listening == 1);
  CHECK(client_closed == 1);
  CHECK(server_closed == 1);
}

TEST_CASE("test-net-connect-keepalive: the unclaimed socket reads, so the client's end is answered",
          "[server][listen]") {
  for (const bool keep_alive : {true, false}) {
    auto server = net::create_server();
    int connected = 0, ended = 0;
    server.listen(0, [&] {
      auto client = net::connect(net::connect_options{.port = server.address()->port, .keep_alive = keep_alive,
                                                       .keep_alive_initial_delay = 123});
      client.on("connect", [&, client]() mutable {
        ++connected;
        if (keep_alive) CHECK(int_option(client.fd(), SOL_SOCKET, SO_KEEPALIVE) == 1);
        client.end();
      });
      client.on("end", [&] {
        ++ended;
        server.close();
      });
    });
    netxx_test::run_bounded();
    CHECK(connected == 1);
    CHECK(ended == 1);
  }
}

TEST_CASE("a listening server with no \"connection\" listener keeps run() going; accepted sockets stay open, "
          "kept for accept()",
          "[server][listen][alive]") {
  auto server = net::create_server();
  server.listen({.port = 0, .host = "127.0.0.1"});
  const auto port = server.address()->port;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto sa = netxx_test::loopback4(port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::write(fd, "hi", 2) == 2);
  std::size_t connections_seen = 0;
  bool still_open = false, closed_by_timer = false;
  auto t = net::set_timeout(
      [&] {
        connections_seen = server.get_connections();
        char c;
        const auto r = ::recv(fd, &c, 1, MSG_DONTWAIT);
        INFO("recv " << r << " errno " << errno);
        still_open = r < 0 && errno == EAGAIN;  // no end, no reset
        closed_by_timer = true;
        ::close(fd);
        net::spawn([](net::server& server) -> net::task<> {
          net::socket kept = co_await server.accept();  // the connection the server took before anyone asked
          kept.destroy();
          server.close();
        }(server));
      },
      50);
  t.unref();  // only the server keeps the loop going
  netxx_test::run_bounded();
  CHECK(closed_by_timer);
  CHECK(connections_seen == 1);
  CHECK(still_open);
  CHECK_FALSE(server.listening());
}

// --- test-net-server-listen-options.js ------------------------------------------------

TEST_CASE("test-net-server-listen-options", "[server][listen]") {
  int closes = 0;
  std::vector<net::server> servers;
  auto close_on_listening = [&](net::server& s) {
    return [&closes, s]() mutable {
      s.close();
      ++closes;
    };
  };
  {
    // listen(), listen(cb), listen(port), listen({port})
    auto a = net::create_server();
    a.listen();
    a.on("listening", close_on_listening(a));
    auto b = net::create_server();
    b.listen(close_on_listening(b));
    auto c = net::create_server();
    c.listen(0);
    c.on("listening", close_on_listening(c));
    auto d = net::create_server();
    d.listen({.port = 0});
    d.on("listening", close_on_listening(d));
    servers = {a, b, c, d};
  }
  // listen(port, cb) and listen({ port }, cb). Ports '0' (a string), undefined,
  // null, NaN, 123.456 and +-Infinity have no C++ int64 counterpart.
  for (int form = 0; form < 2; ++form) {
    auto listen = [&](std::int64_t port, auto cb) {
      auto s = net::create_server();
      servers.push_back(s);
      if (form == 0)
        s.listen(net::listen_options{.port = port}, cb);
      else
        s.listen(port, cb);
      return s;
    };
    auto s = listen(0, [] {});
    s.on("listening", close_on_listening(s));
    for (std::int64_t bad : {std::int64_t{-1}, std::int64_t{65536}}) {
      auto e = thrown_by([&] { listen(bad, [] { FAIL_CHECK("must not call"); }); });
      CHECK(e.code_string() == "ERR_SOCKET_BAD_PORT");
      CHECK(std::string(e.what()) ==
            "options.port should be >= 0 and < 65536. Received type number (" + std::to_string(bad) + ").");
    }
  }
  // In listen(options, cb), port takes precedence over path.
  {
    auto e = thrown_by([&] {
      net::create_server().listen(net::listen_options{.port = -1, .path = temp_path("pipe")},
                                  [] { FAIL_CHECK("must not call"); });
    });
    CHECK(e.code_string() == "ERR_SOCKET_BAD_PORT");
  }
  // shouldFailToListen: the objects with neither port nor path. (false,
  // true, {port: false}, {port: true}, {path: -1} and {host: {port: 3000}}
  // are JavaScript types C++ does not let through.)
  const std::regex no_port_or_path(R"(^The argument 'options' must have the property "port" or "path"\. Received .+$)");
  auto should_fail_to_listen = [&](const net::listen_options& o, const std::string& exact) {
    auto e = thrown_by([&] { net::create_server().listen(o, [] { FAIL_CHECK("must not call"); }); });
    CHECK(e.code_string() == "ERR_INVALID_ARG_VALUE");
    if (exact.find('\n') == std::string::npos)  // Node's own cases are one line (`.` stops at a newline)
      CHECK(std::regex_match(std::string(e.what()), no_port_or_path));
    CHECK(std::string(e.what()) ==
          "The argument 'options' must have the property \"port\" or \"path\". Received " + exact);
  };
  should_fail_to_listen({.fd = -1}, "{ fd: -1 }");  // an invalid fd as listen(handle)
  should_fail_to_listen({}, "{}");
  should_fail_to_listen({.host = "localhost"}, "{ host: 'localhost' }");
  should_fail_to_listen({.exclusive = true}, "{ exclusive: true }");
  // Node's util.inspect breaks a long object over lines, and the message
  // cuts it after 128 characters (both checked against Node v23.5.0).
  should_fail_to_listen({.host = "h", .backlog = 5, .exclusive = true, .ipv6_only = true, .reuse_port = true,
                         .readable_all = true, .writable_all = true},
                        "{\n  host: 'h',\n  backlog: 5,\n  exclusive: true,\n  ipv6Only: true,\n  reusePort: true,\n"
                        "  readableAll: true,\n  writableAll: true\n}");
  should_fail_to_listen({.host = std::string(200, 'a')}, "{\n  host: '" + std::string(117, 'a') + "...");
  std::stop_source src;
  should_fail_to_listen({.signal = src.get_token()}, "{ signal: AbortSignal { aborted: false } }");

  netxx_test::run_bounded();
  CHECK(closes == 6);
}

TEST_CASE("listen({port, path}): the port wins, as in Node", "[server][listen]") {
  const std::string path = temp_path("port-and-path.sock");
  ::unlink(path.c_str());
  auto s = net::create_server();
  s.listen({.port = 0, .path = path});
  REQUIRE(s.listening());
  auto a = s.address();
  REQUIRE(a);
  CHECK(a->port > 0);
  CHECK(a->path.empty());
  struct stat st {};
  CHECK(::stat(path.c_str(), &st) != 0);  // no socket file
  s.close();
  netxx_test::run_bounded();
}

// --- test-net-server-listen-options-signal.js ---------------------------------------------

TEST_CASE("test-net-server-listen-options-signal", "[server][listen][signal]") {
  // ('INVALID_SIGNAL' as a signal is a type error C++ does not let through.)
  SECTION("close") {
    auto server = net::create_server();
    std::stop_source controller;
    int closes = 0;
    server.on("close", [&] { ++closes; });
    server.listen(net::listen_options{.port = 0, .signal = controller.get_token()});
    controller.request_stop();
    netxx_test::run_bounded();
    CHECK(closes == 1);
    CHECK_FALSE(server.listening());
  }
  SECTION("close with pre-aborted signal: it listens, then closes; \"listening\" never comes") {
    auto server = net::create_server();
    std::stop_source aborted;
    aborted.request_stop();
    int closes = 0, listenings = 0;
    server.on("close", [&] { ++closes; });
    server.on("listening", [&] { ++listenings; });
    net::listen_options o{.port = 0, .signal = aborted.get_token()};
    server.listen(o);
    CHECK(server.listening());  // Node: true right after listen()
    netxx_test::run_bounded();
    CHECK(closes == 1);
    CHECK(listenings == 0);
    CHECK_FALSE(server.listening());
  }
}

TEST_CASE("close() of a server that is not listening: \"close\" still comes, the callback gets ERR_SERVER_NOT_RUNNING",
          "[server][listen]") {
  auto server = net::create_server();
  int closes = 0;
  std::error_code got;
  server.on("close", [&] { ++closes; });
  server.close([&](std::error_code ec) { got = ec; });
  netxx_test::run_bounded();
  CHECK(closes == 1);
  CHECK(got == net::errc::err_server_not_running);
}

// --- the listen forms ------------------------------------------------------------------

TEST_CASE("listen() and listen(cb): an OS-assigned port on the unspecified address", "[server][listen]") {
  auto s = net::create_server();
  bool called = false;
  s.listen([&] {
    called = true;
    auto a = s.address();
    REQUIRE(a);
    CHECK((a->address == "::" || a->address == "0.0.0.0"));
    CHECK(a->port > 0);
    s.close();
  });
  netxx_test::run_bounded();
  CHECK(called);
}

TEST_CASE("backlog, in its three forms, reaches listen(2)", "[server][listen][options]") {
  SECTION("listen(port, host, backlog, cb)") {
    auto s = net::create_server();
    bool called = false;
    s.listen(0, "127.0.0.1", 7, [&] { called = true; });
    CHECK(tcp_backlog(s.fd()) == 7);
    s.close();
    netxx_test::run_bounded();
    CHECK_FALSE(called);  // closed before the next tick: no "listening", as in Node
  }
  SECTION("listen(port, host, backlog) and listen({backlog}); 0 is Node's default 511") {
    auto s = net::create_server();
    s.listen(0, "127.0.0.1", 9);
    CHECK(tcp_backlog(s.fd()) == 9);
    s.close();
    auto t = net::create_server();
    t.listen({.port = 0, .host = "127.0.0.1", .backlog = 3});
    CHECK(tcp_backlog(t.fd()) == 3);
    t.close();
    auto u = net::create_server();
    u.listen({.port = 0, .host = "127.0.0.1", .backlog = 0});
    CHECK(tcp_backlog(u.fd()) == 511);  // somaxconn is 4096 by default: 511 stands
    u.close();
    netxx_test::run_bounded();
  }
  SECTION("listen_path(path, backlog[, cb])") {
    const std::string path = temp_path("backlog.sock");
    ::unlink(path.c_str());
    auto s = net::create_server();
    s.listen_path(path, 2, [] {});
    s.unref();  // nobody accepts while the connects below run: no loop turn in between
    CHECK(unix_connects_taken(path, 50) == 3);
    s.close();
    netxx_test::run_bounded();
  }
}

TEST_CASE("listen(handle): another server's listening socket, or a socket's bound descriptor", "[server][listen]") {
  SECTION("a net.Server: this one takes over its connections") {
    int to_first = 0, to_second = 0;
    auto first = net::create_server([&](net::socket c) {
      ++to_first;
      c.destroy();
    });
    auto second = net::create_server([&](net::socket c) {
      ++to_second;
      c.destroy();
    });
    first.listen({.port = 0, .host = "127.0.0.1"});
    bool listened = false;
    second.listen(first, [&] {
      listened = true;
      CHECK(second.address()->port == first.address()->port);
      auto c = net::create_connection(first.address()->port, "127.0.0.1");
      c.on("close", [&](bool) {
        first.close();
        second.close();
      });
      c.resume();  // (issue 11 A: netxx reads only from here)
    });
    netxx_test::run_bounded();
    CHECK(listened);
    CHECK(to_first == 0);
    CHECK(to_second == 1);
  }
  SECTION("a net.Socket wrapping a bound descriptor") {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto sa = netxx_test::loopback4(0);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    net::socket bound(net::socket_options{.fd = fd, .readable = false, .writable = false});
    int served = 0;
    auto s = net::create_server([&](net::socket c) {
      ++served;
      c.end("hi");
    });
    s.listen(bound, 5, [&] {
      auto c = net::create_connection(s.address()->port, "127.0.0.1");
      c.on("close", [&](bool) { s.close(); });
      c.resume();
    });
    CHECK(tcp_backlog(s.fd()) == 5);
    netxx_test::run_bounded();
    CHECK(served == 1);
    bound.destroy();
  }
  SECTION("a socket with no descriptor: ERR_INVALID_ARG_VALUE") {
    net::socket none;
    auto e = thrown_by([&] { net::create_server().listen(none); });
    CHECK(e.code_string() == "ERR_INVALID_ARG_VALUE");
  }
}

// --- options read back from the kernel ----------------------------------------------------

TEST_CASE("SO_REUSEADDR on the listening socket; ipv6Only refuses IPv4, without it v4-mapped peers come in",
          "[server][listen][options]") {
  auto v4 = net::create_server();
  v4.listen({.port = 0, .host = "127.0.0.1"});
  CHECK(int_option(v4.fd(), SOL_SOCKET, SO_REUSEADDR) == 1);
  v4.close();

  for (const bool only : {true, false}) {
    INFO("ipv6_only " << only);
    std::string remote;
    auto s = net::create_server([&](net::socket c) {
      remote = std::string(c.remote_address());
      c.destroy();
    });
    s.listen({.port = 0, .host = "::", .ipv6_only = only});
    CHECK(int_option(s.fd(), SOL_SOCKET, SO_REUSEADDR) == 1);
    CHECK(int_option(s.fd(), IPPROTO_IPV6, IPV6_V6ONLY) == (only ? 1 : 0));
    std::string outcome;
    auto c = net::create_connection(s.address()->port, "127.0.0.1");
    c.on("connect", [&] { outcome = "connected"; });
    c.on("error", [&](const net::error& e) { outcome = std::string(e.code_string()); });
    c.on("close", [&](bool) { s.close(); });
    c.resume();
    netxx_test::run_bounded();
    if (only) {
      CHECK(outcome == "ECONNREFUSED");
    } else {
      CHECK(outcome == "connected");
      CHECK(remote == "::ffff:127.0.0.1");
    }
  }
}

TEST_CASE("readableAll / writableAll add mode bits to the socket file, as uv_pipe_chmod does", "[server][listen][options]") {
  struct rights {
    bool readable, writable;
    mode_t umask_bits, expected;
  };
  // The file starts as 0777 & ~umask; the bits are added, none taken away.
  for (const rights r : {rights{true, false, 022, 0755}, rights{true, false, 077, 0744},
                         rights{false, true, 077, 0722}, rights{true, true, 077, 0766},
                         rights{false, false, 077, 0700}}) {
    INFO("readable " << r.readable << " writable " << r.writable << " umask " << r.umask_bits);
    const std::string path = temp_path("mode.sock");
    ::unlink(path.c_str());
    const mode_t old = ::umask(r.umask_bits);
    auto s = net::create_server();
    s.listen({.path = path, .readable_all = r.readable, .writable_all = r.writable});
    ::umask(old);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == r.expected);
    s.close();
    netxx_test::run_bounded();
  }
  // An abstract name has no file: Node refuses the options at once (its message, typo included).
  auto e = thrown_by([] {
    net::create_server().listen(net::listen_options{.path = std::string_view("\0abc", 4), .readable_all = true});
  });
  CHECK(e.code_string() == "ERR_INVALID_ARG_VALUE");
  CHECK(std::string(e.what()) ==
        "The argument 'options' can not set readableAll or writableAllt to true when path is abstract unix socket. "
        "Received { path: '\\x00abc', readableAll: true }");
}

TEST_CASE("createServer noDelay, keepAlive and keepAliveInitialDelay reach the accepted sockets",
          "[server][options]") {
  struct want {
    net::server_options o;
    int nodelay, keepalive, keepidle;  // keepidle -1: not checked
  };
  const int system_idle = [] {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int v = int_option(fd, IPPROTO_TCP, TCP_KEEPIDLE);
    ::close(fd);
    return v;
  }();
  for (const want w : {want{{}, 0, 0, -1}, want{{.no_delay = true}, 1, 0, -1},
                       want{{.keep_alive = true, .keep_alive_initial_delay = 3000}, 0, 1, 3},
                       want{{.keep_alive = true}, 0, 1, system_idle}}) {
    INFO("no_delay " << w.o.no_delay << " keep_alive " << w.o.keep_alive << " delay " << w.o.keep_alive_initial_delay);
    int seen = 0;
    auto s = net::create_server(w.o, [&](net::socket c) {
      ++seen;
      CHECK(int_option(c.fd(), IPPROTO_TCP, TCP_NODELAY) == w.nodelay);
      CHECK(int_option(c.fd(), SOL_SOCKET, SO_KEEPALIVE) == w.keepalive);
      if (w.keepidle >= 0) CHECK(int_option(c.fd(), IPPROTO_TCP, TCP_KEEPIDLE) == w.keepidle);
      c.destroy();
    });
    s.listen({.port = 0, .host = "127.0.0.1"});
    auto c = net::create_connection(s.address()->port, "127.0.0.1");
    c.on("close", [&](bool) { s.close(); });
    c.resume();
    netxx_test::run_bounded();
    CHECK(seen == 1);
  }
}

// --- a host name: Node's lookupAndListen ----------------------------------------------------

TEST_CASE("listen(port, host name): looked up as dns.lookup does, listening() false until it answers",
          "[server][listen][dns]") {
  auto s = net::create_server();
  bool listened = false;
  s.listen(0, "localhost", [&] {
    listened = true;
    const auto where = s.address()->address;
    CHECK((where == "127.0.0.1" || where == "::1"));
    s.close();
  });
  CHECK_FALSE(s.listening());  // as Node's: the lookup answers later
  netxx_test::run_bounded();
  CHECK(listened);

  // A failed lookup is the server's "error", with Node's message.
  const std::string bad(300, 'a');  // over 255 bytes: refused before getaddrinfo, as libuv does
  auto t = net::create_server();
  std::string err;
  t.on("error", [&](const net::error& e) { err = e.what(); });
  t.listen(0, bad);
  CHECK_FALSE(t.listening());
  netxx_test::run_bounded();
  CHECK(err == "getaddrinfo EINVAL " + bad);

  // close() while the name is looked up: the answer is ignored, "close" comes.
  auto u = net::create_server();
  int closes = 0;
  bool u_listened = false;
  u.on("close", [&] { ++closes; });
  u.listen(0, "localhost", [&] { u_listened = true; });
  u.close();
  netxx_test::run_bounded();
  CHECK(closes == 1);
  CHECK_FALSE(u_listened);
  CHECK_FALSE(u.listening());
}
