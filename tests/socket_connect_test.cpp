// The client side of net.Socket: socket.connect / net.connect /
// net.createConnection in every form, the "connect", "ready", "lookup" and
// "connectionAttempt*" events, connecting/pending/readyState, the lookup
// option, Happy Eyeballs, and the errors Node gives for bad input.
#include <netinet/tcp.h>

#include <filesystem>
#include <thread>

#include "net_test.hpp"

namespace {

using netxx_test::bytes;
using netxx_test::run_bounded;

std::string temp_path(std::string_view name) {
  return (std::filesystem::temp_directory_path() /
          ("netxx-connect-" + std::to_string(::getpid()) + "-" + std::string(name)))
      .string();
}

// An echo server on the given place; the event face, as the spec's example.
struct echo_server {
  net::server srv = net::create_server([](net::socket c) { c.pipe(c); });
  explicit echo_server(const net::listen_options& o) { srv.listen(o); }
  ~echo_server() {
    // Closed when its last connection ends; other servers of the test may still listen.
    bool closed = false;
    srv.close([&](std::error_code) { closed = true; });
    auto wait = [&]() -> net::task<> {
      while (!closed) co_await net::sleep(1);
    };
    run_bounded(wait(), 10'000);
    // One more turn: the cancelled accept comes back (io_uring) and the state is freed.
    run_bounded([]() -> net::task<> { co_await net::sleep(1); }(), 5'000);
  }
  std::uint16_t port() const { return srv.address()->port; }
};

// A port with nothing listening on it (bound, then closed).
std::uint16_t closed_port(int family = AF_INET) {
  auto [c, s] = netxx_test::connected_pair(family);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&ss), &len);
  ::close(c);
  ::close(s);
  return family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
                           : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

using netxx_test::run_until;

std::string str(std::string_view v) { return std::string(v); }

}  // namespace

TEST_CASE("connect reaches a server over IPv4, IPv6, a Unix path and an abstract name, and echoes", "[connect]") {
  const std::string path = temp_path("echo.sock");
  const std::string abstract = std::string(1, '\0') + "netxx-connect-" + std::to_string(::getpid());
  struct where {
    const char* what;
    net::listen_options listen;
    bool ipc;
    std::string_view host;
    std::string_view family;
  };
  const where places[] = {
      {"IPv4", {.port = 0, .host = "127.0.0.1"}, false, "127.0.0.1", "IPv4"},
      {"IPv6", {.port = 0, .host = "::1"}, false, "::1", "IPv6"},
      {"Unix path", {.path = path}, true, path, ""},
      {"abstract", {.path = abstract}, true, abstract, ""},
  };
  for (const auto& w : places) {
    CAPTURE(w.what);
    echo_server es(w.listen);
    std::vector<std::string> seen;
    net::connect_options o;
    if (w.ipc)
      o.path = w.host;
    else
      o = {.port = es.port(), .host = w.host};
    net::socket c = net::connect(o);
    CHECK(c.connecting());
    CHECK(c.pending());
    CHECK(c.ready_state_string() == "opening");
    c.on("connectionAttempt", [&](std::string_view ip, std::uint16_t port, int fam) {
      seen.push_back("attempt " + str(ip) + " " + std::to_string(port) + " " + std::to_string(fam));
    });
    c.on("connect", [&] { seen.push_back("connect"); });
    c.on("ready", [&] {
      seen.push_back("ready");
      c.write("ping", {});
      c.end();
    });
    std::string got;
    c.on("data", [&](std::span<const std::byte> d) { got += netxx_test::text(d); });
    bool closed = false;
    c.on("close", [&](bool had_error) {
      CHECK_FALSE(had_error);
      closed = true;
    });
    run_until([&] { return closed; });
    CHECK(got == "ping");
    const std::string expected_attempt = w.ipc ? "attempt " + str(w.host) + " 0 0"
                                               : "attempt " + str(w.host) + " " + std::to_string(es.port()) + " " +
                                                     (w.family == "IPv4" ? "4" : "6");
    CHECK(seen == std::vector<std::string>{expected_attempt, "connect", "ready"});
    CHECK(c.ready_state_string() == "closed");
  }
}

TEST_CASE("a connected socket knows both ends, and connecting/pending turn false", "[connect]") {
  echo_server es({.port = 0, .host = "127.0.0.1"});
  auto body = [&]() -> net::task<> {
    net::socket c = co_await net::connect({.port = es.port(), .host = "127.0.0.1"});
    CHECK_FALSE(c.connecting());
    CHECK_FALSE(c.pending());
    CHECK(c.ready_state_string() == "open");
    CHECK(c.remote_address() == "127.0.0.1");
    CHECK(c.remote_port() == es.port());
    CHECK(c.remote_family() == "IPv4");
    CHECK(c.local_address() == "127.0.0.1");
    CHECK(c.local_port() != 0);
    co_await c.write(bytes("abc"));
    std::array<std::byte, 8> buf{};
    const std::size_t n = co_await c.read(buf);
    CHECK(netxx_test::text(std::span(buf).first(n)) == "abc");
    c.destroy();
  };
  run_bounded(body());
}

TEST_CASE("the port/host and path forms, with and without a listener, all connect", "[connect]") {
  const std::string path = temp_path("forms.sock");
  echo_server tcp({.port = 0, .host = "127.0.0.1"});
  echo_server ipc({.path = path});
  const std::uint16_t port = tcp.port();
  int connected = 0;
  std::vector<net::socket> keep;
  keep.push_back(net::connect(port, "127.0.0.1", [&] { ++connected; }));
  keep.push_back(net::create_connection(path, [&] { ++connected; }));
  keep.push_back(net::create_connection({.port = port, .host = "127.0.0.1"}, [&] { ++connected; }));
  net::socket a;
  a.connect(port, "127.0.0.1", [&] { ++connected; });
  net::socket b;
  b.connect(path, [&] { ++connected; });
  net::socket d;
  d.connect({.port = port, .host = "127.0.0.1"}, [&] { ++connected; });
  keep.push_back(a);
  keep.push_back(b);
  keep.push_back(d);
  run_until([&] { return connected == 6; });
  for (auto& s : keep) s.destroy();
  run_until([&] { return tcp.srv.get_connections() == 0 && ipc.srv.get_connections() == 0; });
  CHECK(connected == 6);
}

TEST_CASE("host defaults to localhost", "[connect]") {
  // localhost is 127.0.0.1 and/or ::1 (Happy Eyeballs tries both): listen on both.
  echo_server v4({.port = 0, .host = "127.0.0.1"});
  const std::uint16_t port = v4.port();
  std::optional<echo_server> v6;
  try {
    v6.emplace(net::listen_options{.port = port, .host = "::1"});
  } catch (const net::error&) {  // ::1:port taken by someone else: 127.0.0.1 still answers
  }
  auto body = [&]() -> net::task<std::string> {
    net::socket c = co_await net::connect(port);
    std::string where = c.remote_address();
    c.destroy();
    co_return where;
  };
  const std::string where = run_bounded(body());
  CHECK((where == "127.0.0.1" || where == "::1"));
}

TEST_CASE("a refused connection is an \"error\" worded as Node's, then \"close\"(true)", "[connect][errors]") {
  const std::uint16_t port = closed_port();
  net::socket c = net::connect(port, "127.0.0.1");
  std::optional<net::error> err;
  std::vector<std::string> order;
  c.on("connectionAttemptFailed", [&](std::string_view ip, std::uint16_t p, int fam, const net::error& e) {
    order.push_back("failed " + str(ip) + ":" + std::to_string(p) + " " + std::to_string(fam) + " " +
                    str(e.code_string()));
  });
  c.on("error", [&](const net::error& e) {
    order.push_back("error");
    err = e;
  });
  bool closed = false;
  c.on("close", [&](bool had_error) {
    order.push_back(had_error ? "close(true)" : "close(false)");
    closed = true;
  });
  run_until([&] { return closed; });
  REQUIRE(err);
  CHECK(err->code_string() == "ECONNREFUSED");
  CHECK(err->message() == "connect ECONNREFUSED 127.0.0.1:" + std::to_string(port));
  CHECK(err->syscall() == "connect");
  CHECK(err->address() == "127.0.0.1");
  CHECK(err->port() == port);
  CHECK(order == std::vector<std::string>{"failed 127.0.0.1:" + std::to_string(port) + " 4 ECONNREFUSED", "error",
                                          "close(true)"});
  CHECK(c.destroyed());
  CHECK_FALSE(c.connecting());
}

TEST_CASE("co_await connect throws the connect error and never reports it as unhandled", "[connect][errors]") {
  const std::uint16_t port = closed_port(AF_INET6);
  auto body = [&]() -> net::task<std::string> {
    net::socket c;
    try {
      co_await c.connect(port, "::1");
    } catch (const net::error& e) {
      co_return e.message();
    }
    co_return "connected?";
  };
  CHECK(run_bounded(body()) == "connect ECONNREFUSED ::1:" + std::to_string(port));
}

TEST_CASE("IPC errors: a missing path is ENOENT, a path too long is EINVAL", "[connect][errors]") {
  const std::string missing = temp_path("missing.sock");
  const std::string too_long = "/tmp/" + std::string(200, 'x');
  for (const auto& [path, code] : {std::pair{missing, "ENOENT"}, std::pair{too_long, "EINVAL"}}) {
    CAPTURE(path);
    auto body = [&, p = path]() -> net::task<net::error> {
      try {
        co_await net::connect(p);
      } catch (const net::error& e) {
        co_return e;
      }
      co_return net::error(net::errc::err_socket_closed);
    };
    const net::error e = run_bounded(body());
    CHECK(e.code_string() == code);
    // Node names the pipe's local end, which it has not, when the path does not fit.
    CHECK(e.message() == std::string("connect ") + code + " " + path +
                             (code == std::string("EINVAL") ? " - Local (undefined:undefined)" : ""));
  }
}

TEST_CASE("bad arguments throw at once with Node's codes and messages", "[connect][errors]") {
  net::socket s;
  auto code_of = [&](auto&& call) -> std::string {
    try {
      call();
    } catch (const net::error& e) {
      return std::string(e.code_string()) + ": " + e.message();
    }
    return "no throw";
  };
  CHECK(code_of([&] { s.connect(net::connect_options{}); }) ==
        "ERR_MISSING_ARGS: The \"options\" or \"port\" or \"path\" argument must be specified");
  CHECK(code_of([&] { s.connect(65536); }) ==
        "ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type number (65536).");
  CHECK(code_of([&] { s.connect(-1, "127.0.0.1"); }) ==
        "ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type number (-1).");
  CHECK(code_of([&] { s.connect({.port = 80, .local_address = "x"}); }) ==
        "ERR_INVALID_IP_ADDRESS: Invalid IP address: x");
  CHECK(code_of([&] { s.connect({.port = 80, .host = "localhost", .auto_select_family_attempt_timeout = 0}); }) ==
        "ERR_OUT_OF_RANGE: The value of \"options.autoSelectFamilyAttemptTimeout\" is out of range. It must be >= 1 "
        "&& <= 2147483647. Received 0");
  CHECK(code_of([&] { s.connect({.port = 80, .host = "localhost", .family = 5}); }) ==
        "ERR_INVALID_ARG_VALUE: The property 'options.family' must be one of: 0, 4, 6. Received 5");
  CHECK(code_of([&] { net::set_default_auto_select_family_attempt_timeout(0); }) ==
        "ERR_OUT_OF_RANGE: The value of \"value\" is out of range. It must be >= 1 && <= 2147483647. Received 0");
  CHECK(code_of([&] { s.set_timeout(-1); }) ==
        "ERR_OUT_OF_RANGE: The value of \"msecs\" is out of range. It must be a non-negative finite number. Received -1");
  // Nothing started: the socket is as new.
  CHECK_FALSE(s.connecting());
  CHECK(s.ready_state_string() == "open");
  CHECK(s.pending());
}

TEST_CASE("the auto-select-family defaults are Node's and can be changed", "[connect]") {
  CHECK(net::get_default_auto_select_family());
  CHECK(net::get_default_auto_select_family_attempt_timeout() == 250);
  net::set_default_auto_select_family_attempt_timeout(5);  // raised to the 10 ms floor
  CHECK(net::get_default_auto_select_family_attempt_timeout() == 10);
  net::set_default_auto_select_family_attempt_timeout(250);
  net::set_default_auto_select_family(false);
  CHECK_FALSE(net::get_default_auto_select_family());
  net::set_default_auto_select_family(true);
}

TEST_CASE("writes and end() before the connection is up go out once connected", "[connect]") {
  echo_server es({.port = 0, .host = "127.0.0.1"});
  net::socket c = net::connect(es.port(), "127.0.0.1");
  CHECK(c.write(bytes("early "), {}));
  CHECK(c.write(bytes("bird"), {}));
  c.end();
  CHECK(c.ready_state_string() == "opening");
  std::string got;
  bool ended = false;
  c.on("data", [&](std::span<const std::byte> d) { got += netxx_test::text(d); });
  c.on("end", [&] { ended = true; });
  run_until([&] { return ended; });
  CHECK(got == "early bird");
}

TEST_CASE("an awaited read or write issued while connecting completes after the connection", "[connect]") {
  echo_server es({.port = 0, .host = "::1"});
  auto body = [&]() -> net::task<std::string> {
    net::socket c = net::connect(es.port(), "::1");
    CHECK(c.connecting());
    co_await c.write(bytes("while connecting"));
    std::array<std::byte, 64> buf{};
    std::string got;
    while (got.size() < 16) {
      const std::size_t n = co_await c.read(buf);
      if (n == 0) break;
      got += netxx_test::text(std::span(buf).first(n));
    }
    c.destroy();
    co_return got;
  };
  CHECK(run_bounded(body()) == "while connecting");
}

TEST_CASE("a read awaited on a socket whose connection fails throws the connect error", "[connect][errors]") {
  const std::uint16_t port = closed_port();
  auto body = [&]() -> net::task<std::string> {
    net::connect_options o{.port = port, .host = "127.0.0.1"};
    net::socket c(net::socket_options{});
    c.on("error", [](const net::error&) {});
    c.connect(o);
    std::array<std::byte, 8> buf{};
    try {
      co_await c.read(buf);
    } catch (const net::error& e) {
      co_return std::string(e.code_string());
    }
    co_return "no throw";
  };
  CHECK(run_bounded(body()) == "ECONNREFUSED");
}

TEST_CASE("destroy() while connecting stops it: no \"connect\", \"close\"(false), the awaiter is told",
          "[connect]") {
  echo_server es({.port = 0, .host = "127.0.0.1"});
  net::socket c = net::connect(es.port(), "127.0.0.1");
  bool connected = false, closed = false;
  c.on("connect", [&] { connected = true; });
  c.on("close", [&](bool had_error) {
    CHECK_FALSE(had_error);
    closed = true;
  });
  c.destroy();
  CHECK_FALSE(c.connecting());
  run_until([&] { return closed; });
  CHECK_FALSE(connected);

  auto body = [&]() -> net::task<std::string> {
    net::socket d;
    auto pending = d.connect(es.port(), "127.0.0.1");
    net::set_timeout([d]() mutable { d.destroy(); }, 0);
    try {
      co_await pending;
    } catch (const net::error& e) {
      co_return std::string(e.code_string());
    }
    co_return d.destroyed() ? "destroyed without a throw" : "connected";
  };
  const std::string r = run_bounded(body());
  // The connect may win the race on loopback; destroyed before it, the awaiter hears why.
  CHECK((r == "ERR_SOCKET_CLOSED_BEFORE_CONNECTION" || r == "connected"));
}

TEST_CASE("the lookup option replaces DNS: \"lookup\" carries its answer, and its errors become \"error\"",
          "[connect][lookup]") {
  echo_server es({.port = 0, .host = "127.0.0.1"});
  std::vector<std::string> asked;
  net::connect_options o{.port = es.port(), .host = "my.test.name", .family = 4, .auto_select_family = false};
  o.lookup = [&](std::string_view host, const net::dns::lookup_options& lo, net::dns::lookup_callback cb) {
    asked.push_back(str(host) + " family=" + std::to_string(lo.family) + " all=" + (lo.all ? "1" : "0"));
    cb(std::nullopt, {{"127.0.0.1", 4}});
  };
  net::socket c = net::connect(o);
  std::vector<std::string> lookups;
  c.on("lookup", [&](std::error_code ec, std::string_view addr, int fam, std::string_view host) {
    lookups.push_back(str(addr) + " " + std::to_string(fam) + " " + str(host) + (ec ? " err" : ""));
  });
  bool connected = false;
  c.on("connect", [&] {
    connected = true;
    c.destroy();
  });
  run_until([&] { return connected; });
  CHECK(asked == std::vector<std::string>{"my.test.name family=4 all=0"});
  CHECK(lookups == std::vector<std::string>{"127.0.0.1 4 my.test.name"});

  // A failing lookup: "lookup" with the error, then the error itself.
  net::connect_options bad{.port = 1, .host = "nowhere.test"};
  bad.lookup = [](std::string_view host, const net::dns::lookup_options&, net::dns::lookup_callback cb) {
    cb(net::error(net::errc::enotfound, "getaddrinfo ENOTFOUND " + std::string(host)), {});
  };
  net::socket d = net::connect(bad);
  std::string lookup_err, error_msg;
  d.on("lookup", [&](std::error_code ec, std::string_view, int, std::string_view) {
    lookup_err = std::string(net::code_string(ec));
  });
  d.on("error", [&](const net::error& e) { error_msg = e.message(); });
  run_until([&] { return d.destroyed() && !error_msg.empty(); });
  CHECK(lookup_err == "ENOTFOUND");
  CHECK(error_msg == "getaddrinfo ENOTFOUND nowhere.test");

  // An answer that is no IP address.
  net::connect_options junk{.port = 1, .host = "junk.test", .auto_select_family = false};
  junk.lookup = [](std::string_view, const net::dns::lookup_options&, net::dns::lookup_callback cb) {
    cb(std::nullopt, {{"not-an-ip", 4}});
  };
  net::socket j = net::connect(junk);
  std::string junk_err;
  j.on("error", [&](const net::error& e) { junk_err = std::string(e.code_string()) + ": " + e.message(); });
  run_until([&] { return !junk_err.empty(); });
  CHECK(junk_err == "ERR_INVALID_IP_ADDRESS: Invalid IP address: not-an-ip");
}

TEST_CASE("an IP host skips the lookup: no \"lookup\" event", "[connect][lookup]") {
  echo_server es({.port = 0, .host = "127.0.0.1"});
  bool looked_up = false, asked = false;
  net::connect_options o{.port = es.port(), .host = "127.0.0.1"};
  o.lookup = [&](std::string_view, const net::dns::lookup_options&, net::dns::lookup_callback) { asked = true; };
  net::socket c = net::connect(o);
  c.on("lookup", [&](std::error_code, std::string_view, int, std::string_view) { looked_up = true; });
  bool connected = false;
  c.on("connect", [&] {
    connected = true;
    c.destroy();
  });
  run_until([&] { return connected; });
  CHECK_FALSE(looked_up);
  CHECK_FALSE(asked);
}

TEST_CASE("outgoing block_list: a blocked address fails with ERR_IP_BLOCKED before any packet", "[connect][errors]") {
  echo_server es({.port = 0, .host = "127.0.0.1"});
  net::block_list bl;
  bl.add_address("127.0.0.1");
  auto body = [&]() -> net::task<std::string> {
    net::connect_options o{.port = es.port(), .host = "127.0.0.1", .block_list = &bl};
    try {
      co_await net::connect(o);
    } catch (const net::error& e) {
      co_return std::string(e.code_string()) + ": " + e.message();
    }
    co_return "connected";
  };
  CHECK(run_bounded(body()) == "ERR_IP_BLOCKED: IP(127.0.0.1) is blocked by net.BlockList");
  CHECK(es.srv.get_connections() == 0);
}

TEST_CASE("local_address and local_port bind our end; a taken local port is a bind error", "[connect]") {
  echo_server es({.port = 0, .host = "127.0.0.1"});
  const std::uint16_t local = closed_port();
  auto body = [&]() -> net::task<> {
    net::socket c = co_await net::connect({.port = es.port(), .host = "127.0.0.1", .local_address = "127.0.0.1",
                                           .local_port = local});
    CHECK(c.local_port() == local);
    CHECK(c.local_address() == "127.0.0.1");
    // The same local port again, while the first is connected: EADDRINUSE, worded as Node's.
    try {
      co_await net::connect({.port = es.port(), .host = "127.0.0.1", .local_port = local});
      FAIL("connected twice from one local port");
    } catch (const net::error& e) {
      CHECK(e.code_string() == "EADDRINUSE");
      CHECK(e.message() == "bind EADDRINUSE 0.0.0.0:" + std::to_string(local));
    }
    c.destroy();
  };
  run_bounded(body());
}

TEST_CASE("no_delay and keep_alive options are set on the connected socket", "[connect]") {
  echo_server es({.port = 0, .host = "127.0.0.1"});
  auto body = [&]() -> net::task<> {
    net::socket c = co_await net::connect(
        {.port = es.port(), .host = "127.0.0.1", .no_delay = true, .keep_alive = true, .keep_alive_initial_delay = 5000});
    auto opt = [&](int level, int name) {
      int v = -1;
      socklen_t len = sizeof v;
      ::getsockopt(c.fd(), level, name, &v, &len);
      return v;
    };
    CHECK(opt(IPPROTO_TCP, TCP_NODELAY) == 1);
    CHECK(opt(SOL_SOCKET, SO_KEEPALIVE) == 1);
    CHECK(opt(IPPROTO_TCP, TCP_KEEPIDLE) == 5);
    CHECK(opt(IPPROTO_TCP, TCP_KEEPINTVL) == 1);
    CHECK(opt(IPPROTO_TCP, TCP_KEEPCNT) == 10);
    c.set_no_delay(false);
    CHECK(opt(IPPROTO_TCP, TCP_NODELAY) == 0);
    c.set_no_delay();
    CHECK(opt(IPPROTO_TCP, TCP_NODELAY) == 1);
    c.set_keep_alive(false);
    CHECK(opt(SOL_SOCKET, SO_KEEPALIVE) == 0);
    c.destroy();
  };
  run_bounded(body());
}

TEST_CASE("set_keep_alive(true) under a second of delay leaves the system's idle time, as Node's", "[connect]") {
  // Node v23.5.0 (strace): setKeepAlive(true, 0) and (true, 500) set only
  // SO_KEEPALIVE; (true, 5000) also TCP_KEEPIDLE 5, TCP_KEEPINTVL 1, TCP_KEEPCNT 10.
  echo_server es({.port = 0, .host = "127.0.0.1"});
  auto body = [&]() -> net::task<> {
    net::socket c = co_await net::connect({.port = es.port(), .host = "127.0.0.1"});
    auto opt = [&](int level, int name) {
      int v = -1;
      socklen_t len = sizeof v;
      ::getsockopt(c.fd(), level, name, &v, &len);
      return v;
    };
    const int idle = opt(IPPROTO_TCP, TCP_KEEPIDLE), intvl = opt(IPPROTO_TCP, TCP_KEEPINTVL),
              cnt = opt(IPPROTO_TCP, TCP_KEEPCNT);
    REQUIRE(idle != 1);  // the system's (7200 by default), not the value a wrong rule would set
    for (std::int64_t delay : {0, 500, 999}) {
      CAPTURE(delay);
      c.set_keep_alive(true, delay);
      CHECK(opt(SOL_SOCKET, SO_KEEPALIVE) == 1);
      CHECK(opt(IPPROTO_TCP, TCP_KEEPIDLE) == idle);
      CHECK(opt(IPPROTO_TCP, TCP_KEEPINTVL) == intvl);
      CHECK(opt(IPPROTO_TCP, TCP_KEEPCNT) == cnt);
    }
    c.set_keep_alive(true, 2500);
    CHECK(opt(IPPROTO_TCP, TCP_KEEPIDLE) == 2);
    c.destroy();
  };
  run_bounded(body());
}

TEST_CASE("a socket connects again from its own \"close\" listener, keeping its listeners", "[connect]") {
  echo_server es({.port = 0, .host = "127.0.0.1"});
  net::socket c;
  int connects = 0, closes = 0;
  const std::uint16_t port = es.port();
  c.on("connect", [&] {
    ++connects;
    c.end();
  });
  c.on("data", [](std::span<const std::byte>) {});  // reading is what sees the server's end
  c.on("close", [&](bool) {
    if (++closes < 3) c.connect(port, "127.0.0.1");
  });
  c.connect(port, "127.0.0.1");
  run_until([&] { return closes == 3; });
  CHECK(connects == 3);
}

TEST_CASE("an event-style socket whose handles are all dropped while connecting lives on, as Node's does",
          "[connect][lifetime]") {
  echo_server es({.port = 0, .host = "127.0.0.1"});
  bool connected = false, closed = false;
  std::string got;
  {
    auto c = net::connect(es.port(), "127.0.0.1");
    c.on("connect", [&] { connected = true; });
    c.on("data", [&](std::span<const std::byte> d) { got += netxx_test::text(d); });
    c.on("close", [&](bool) { closed = true; });
    c.end("bye");
  }  // no handle left
  run_until([&] { return closed; });
  CHECK(connected);
  CHECK(got == "bye");
}

TEST_CASE("an awaitable-face socket closes when its last handle goes: the peer reads the end", "[connect][lifetime]") {
  net::server srv = net::create_server();
  srv.listen({.port = 0, .host = "127.0.0.1"});
  const std::uint16_t port = srv.address()->port;
  auto body = [&]() -> net::task<std::size_t> {
    {
      net::socket c = co_await net::connect({.port = port, .host = "127.0.0.1"});
    }  // dropped, never ended
    net::socket peer = co_await srv.accept();
    std::array<std::byte, 8> buf{};
    co_return co_await peer.read(buf);
  };
  CHECK(run_bounded(body()) == 0);
  srv.close();
  net::run();
}
