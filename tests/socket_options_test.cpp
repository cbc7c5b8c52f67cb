// net.Socket's constructor options (fd, allowHalfOpen, onread, signal) and
// the methods of the rest of the socket: setTimeout and the "timeout" event,
// resetAndDestroy.
#include <fcntl.h>

#include <filesystem>
#include <stop_token>

#include "net_test.hpp"

namespace {

using netxx_test::bytes;
using netxx_test::run_bounded;
using netxx_test::text;
std::string text_of(std::span<const std::byte> d) { return std::string(netxx_test::text(d)); }

using netxx_test::run_until;

// A server whose accepted sockets are handed to a test's function.
struct test_server {
  std::vector<net::socket> accepted;
  net::server srv;
  explicit test_server(const net::listen_options& o) {
    srv = net::create_server([this](net::socket c) {
      // The peer resets on purpose in some tests: the accepted socket reads
      // from accept on and sees it, and an "error" nobody listens to is fatal.
      c.on("error", [](const net::error&) {});
      accepted.push_back(c);
    });
    srv.listen(o);
  }
  ~test_server() {
    for (auto& c : accepted) c.destroy();
    bool closed = false;
    srv.close([&](std::error_code) { closed = true; });
    run_until([&] { return closed; });
    // One more turn: the cancelled accept comes back (io_uring) and the state is freed.
    run_bounded([]() -> net::task<> { co_await net::sleep(1); }(), 5'000);
  }
  std::uint16_t port() const { return srv.address()->port; }
};

}  // namespace

TEST_CASE("setTimeout: \"timeout\" after idleness, nothing closed, activity postpones it, 0 disables it",
          "[socket][timeout]") {
  test_server ts({.port = 0, .host = "127.0.0.1"});
  auto body = [&]() -> net::task<> {
    net::socket c = co_await net::connect({.port = ts.port(), .host = "127.0.0.1"});
    CHECK_FALSE(c.timeout());
    int timeouts = 0;
    c.on("timeout", [&] { ++timeouts; });
    c.set_timeout(30);
    CHECK(c.timeout() == 30);
    co_await net::sleep(80);
    CHECK(timeouts == 1);  // once: the timer is not re-armed until there is activity
    CHECK_FALSE(c.destroyed());
    CHECK(c.ready_state_string() == "open");

    // Writing every 10 ms keeps it quiet.
    timeouts = 0;
    for (int k = 0; k < 8; ++k) {
      co_await c.write(bytes("x"));
      co_await net::sleep(10);
    }
    CHECK(timeouts == 0);
    co_await net::sleep(60);
    CHECK(timeouts == 1);

    // 0 disables it.
    timeouts = 0;
    c.set_timeout(0);
    co_await net::sleep(60);
    CHECK(timeouts == 0);
    CHECK(c.timeout() == 0);
    c.destroy();
  };
  run_bounded(body());
}

TEST_CASE("setTimeout's callback is a once listener; reads count as activity; the timer does not keep run() alive",
          "[socket][timeout]") {
  test_server ts({.port = 0, .host = "::1"});
  net::socket c = net::connect(ts.port(), "::1");
  int fired = 0;
  c.set_timeout(40, [&] { ++fired; });
  c.on("data", [](std::span<const std::byte>) {});
  bool connected = false;
  c.on("connect", [&] { connected = true; });
  run_until([&] { return connected && !ts.accepted.empty(); });
  // The server talks every 10 ms for a while: no timeout.
  auto talk = [&]() -> net::task<> {
    for (int k = 0; k < 8; ++k) {
      co_await ts.accepted.front().write(bytes("y"));
      co_await net::sleep(10);
    }
  };
  run_bounded(talk());
  CHECK(fired == 0);
  run_until([&] { return fired == 1; });
  // An idle timer alone does not keep the loop running (Node's timeout is unref'd).
  c.set_timeout(100000);
  ts.accepted.front().unref();
  c.unref();
  ts.srv.unref();
  net::run();  // returns though the timer is armed
  CHECK(fired == 1);
  ts.srv.ref();
  c.destroy();
}

TEST_CASE("net::connect's timeout option arms setTimeout before connecting", "[socket][timeout]") {
  test_server ts({.port = 0, .host = "127.0.0.1"});
  net::socket c = net::connect({.port = ts.port(), .host = "127.0.0.1", .timeout = 25});
  CHECK(c.timeout() == 25);
  bool timed_out = false;
  c.on("timeout", [&] {
    timed_out = true;
    c.end();
  });
  run_until([&] { return timed_out; });
  c.destroy();
}

TEST_CASE("resetAndDestroy sends an RST: the peer's read fails with ECONNRESET", "[socket][reset]") {
  test_server ts({.port = 0, .host = "127.0.0.1"});
  auto body = [&]() -> net::task<std::string> {
    net::socket c = co_await net::connect({.port = ts.port(), .host = "127.0.0.1"});
    while (ts.accepted.empty()) co_await net::sleep(1);
    net::socket peer = ts.accepted.front();
    bool closed = false;
    c.on("close", [&](bool had_error) {
      CHECK_FALSE(had_error);
      closed = true;
    });
    c.reset_and_destroy();
    CHECK(c.destroyed());
    std::array<std::byte, 16> buf{};
    std::string outcome;
    try {
      const std::size_t n = co_await peer.read(buf);
      outcome = "read " + std::to_string(n);
    } catch (const net::error& e) {
      outcome = std::string(e.code_string());
    }
    while (!closed) co_await net::sleep(1);
    co_return outcome;
  };
  CHECK(run_bounded(body()) == "ECONNRESET");
}

TEST_CASE("resetAndDestroy while connecting resets once connected; on a Unix socket it is ERR_INVALID_HANDLE_TYPE; "
          "unconnected it is ERR_SOCKET_CLOSED",
          "[socket][reset]") {
  test_server ts({.port = 0, .host = "127.0.0.1"});
  net::socket c = net::connect(ts.port(), "127.0.0.1");
  bool connected = false, closed = false;
  c.on("connect", [&] { connected = true; });
  c.on("close", [&](bool) { closed = true; });
  c.reset_and_destroy();
  CHECK(c.connecting());
  run_until([&] { return closed; });
  CHECK_FALSE(connected);  // reset before "connect", as Node's _reset on 'connect' destroys first

  const std::string path =
      (std::filesystem::temp_directory_path() / ("netxx-reset-" + std::to_string(::getpid()))).string();
  test_server us({.path = path});
  auto body = [&]() -> net::task<std::string> {
    net::socket u = co_await net::connect(path);
    try {
      u.reset_and_destroy();
    } catch (const net::error& e) {
      u.destroy();
      co_return std::string(e.code_string());
    }
    co_return "no throw";
  };
  CHECK(run_bounded(body()) == "ERR_INVALID_HANDLE_TYPE");

  net::socket fresh;
  std::string code;
  fresh.on("error", [&](const net::error& e) { code = std::string(e.code_string()); });
  fresh.reset_and_destroy();
  run_until([&] { return !code.empty(); });
  CHECK(code == "ERR_SOCKET_CLOSED");
}

TEST_CASE("signal: a stop request destroys the socket with ABORT_ERR, connected or connecting", "[socket][signal]") {
  test_server ts({.port = 0, .host = "127.0.0.1"});
  std::stop_source stop;
  net::connect_options o{.port = ts.port(), .host = "127.0.0.1"};
  o.signal = stop.get_token();
  net::socket c = net::connect(o);
  std::string code;
  bool closed = false;
  c.on("error", [&](const net::error& e) { code = std::string(e.code_string()) + ": " + e.message(); });
  c.on("close", [&](bool had_error) { closed = had_error; });
  c.on("connect", [&] { stop.request_stop(); });
  run_until([&] { return closed; });
  CHECK(code == "ABORT_ERR: The operation was aborted");

  // Already stopped: destroyed at once, the error next tick.
  std::stop_source early;
  early.request_stop();
  net::socket d(net::socket_options{.signal = early.get_token()});
  std::string code2;
  d.on("error", [&](const net::error& e) { code2 = std::string(e.code_string()); });
  run_until([&] { return !code2.empty(); });
  CHECK(code2 == "ABORT_ERR");
  CHECK(d.destroyed());
}

TEST_CASE("onread: every chunk lands in the one caller buffer, no \"data\"; returning false pauses", "[socket][onread]") {
  test_server ts({.port = 0, .host = "127.0.0.1"});
  std::array<std::byte, 4096> buffer{};
  std::string got;
  int calls = 0;
  bool same_buffer = true;
  bool data_event = false;
  net::connect_options o{.port = ts.port(), .host = "127.0.0.1"};
  o.onread.buffer = buffer;
  o.onread.callback = [&](std::size_t n, std::span<std::byte> buf) {
    same_buffer = same_buffer && buf.data() == buffer.data() && buf.size() == buffer.size();
    got += text(std::span(buf).first(n));
    return ++calls < 2;  // pause after the second chunk
  };
  net::socket c = net::connect(o);
  c.on("data", [&](std::span<const std::byte>) { data_event = true; });
  run_until([&] { return !ts.accepted.empty(); });
  net::socket peer = ts.accepted.front();
  auto talk = [&]() -> net::task<> {
    co_await peer.write(bytes("one"));
    while (calls < 1) co_await net::sleep(1);
    co_await peer.write(bytes("two"));
    while (calls < 2) co_await net::sleep(1);
    co_await peer.write(bytes("three"));
    co_await net::sleep(50);
  };
  run_bounded(talk());
  CHECK(got == "onetwo");  // paused: "three" waits in the kernel
  CHECK(c.is_paused());
  c.resume();
  run_until([&] { return got == "onetwothree"; });
  CHECK(same_buffer);
  CHECK_FALSE(data_event);
  c.destroy();
}

TEST_CASE("onread with a buffer function asks it for each next buffer", "[socket][onread]") {
  test_server ts({.port = 0, .host = "127.0.0.1"});
  std::array<std::array<std::byte, 8>, 2> buffers{};
  int asked = 0;
  std::string got;
  net::socket_options so;
  so.onread.buffer_fn = [&]() -> std::span<std::byte> { return buffers[static_cast<std::size_t>(asked++ % 2)]; };
  so.onread.callback = [&](std::size_t n, std::span<std::byte> buf) {
    got += text(std::span(buf).first(n));
    return true;
  };
  net::socket c(so);
  c.connect(ts.port(), "127.0.0.1");
  run_until([&] { return !ts.accepted.empty(); });
  auto talk = [&]() -> net::task<> { co_await ts.accepted.front().write(bytes("0123456789abcdef")); };
  run_bounded(talk());
  run_until([&] { return got.size() == 16; });
  CHECK(got == "0123456789abcdef");
  CHECK(asked >= 3);  // once at the start, then after every read
  c.destroy();
}

TEST_CASE("the fd option wraps an open socket; a descriptor that is no stream socket is ERR_INVALID_FD_TYPE",
          "[socket][fd]") {
  for (int family : {AF_INET, AF_UNIX}) {
    CAPTURE(family);
    auto [a, b] = netxx_test::connected_pair(family);
    net::socket s(net::socket_options{.fd = a});
    CHECK_FALSE(s.pending());
    CHECK(s.ready_state_string() == "open");
    CHECK(s.fd() == a);
    auto body = [&, peer = b]() -> net::task<std::string> {
      co_await s.write(bytes("via fd"));
      char buf[16];
      ssize_t n;
      while ((n = ::read(peer, buf, sizeof buf)) < 0 && errno == EAGAIN) co_await net::sleep(1);
      s.destroy();
      co_return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    };
    CHECK(run_bounded(body()) == "via fd");
    ::close(b);
  }
  const int file = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  try {
    net::socket bad(net::socket_options{.fd = file});
    FAIL("accepted a character device");
  } catch (const net::error& e) {
    CHECK(e.code_string() == "ERR_INVALID_FD_TYPE");
    CHECK(e.message() == "Unsupported fd type: TTY");
  }
  ::close(file);
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  try {
    net::socket bad(net::socket_options{.fd = p[0]});
    FAIL("accepted a pipe");
  } catch (const net::error& e) {
    CHECK(e.message() == "Unsupported fd type: PIPE");
  }
  ::close(p[0]);
  ::close(p[1]);
}

TEST_CASE("allow_half_open: after the peer's FIN the client can still write", "[socket][half-open]") {
  test_server ts({.port = 0, .host = "127.0.0.1"});
  net::socket c = net::connect({.port = ts.port(), .host = "127.0.0.1", .allow_half_open = true});
  bool ended = false;
  c.on("data", [](std::span<const std::byte>) {});
  c.on("end", [&] { ended = true; });
  run_until([&] { return !ts.accepted.empty(); });
  net::socket peer = ts.accepted.front();
  peer.end();
  run_until([&] { return ended; });
  CHECK(c.ready_state_string() == "writeOnly");
  auto body = [&]() -> net::task<std::string> {
    co_await c.write(bytes("after your end"));
    c.end();
    std::array<std::byte, 64> buf{};
    std::string got;
    while (std::size_t n = co_await peer.read(buf)) got += text(std::span(buf).first(n));
    co_return got;
  };
  CHECK(run_bounded(body()) == "after your end");
}

TEST_CASE("setEncoding: \"data\" carries decoded text and never splits a character, even fed a byte at a time",
          "[socket][encoding]") {
  test_server ts({.port = 0, .host = "127.0.0.1"});
  const std::string text = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80!";  // héllo € 😀!
  struct expectation {
    net::encoding enc;
    std::string decoded;
  };
  const expectation cases[] = {
      {net::encoding::utf8, text},
      {net::encoding::hex, "68c3a96c6c6f20e282ac20f09f988021"},
      {net::encoding::base64, "aMOpbGxvIOKCrCDwn5iAIQ=="},
      {net::encoding::latin1, "h\xC3\x83\xC2\xA9llo \xC3\xA2\xC2\x82\xC2\xAC \xC3\xB0\xC2\x9F\xC2\x98\xC2\x80!"},
  };
  for (const auto& c : cases) {
    CAPTURE(net::to_string(c.enc));
    net::socket client = net::connect(ts.port(), "127.0.0.1");
    client.set_encoding(c.enc);
    CHECK(client.readable_encoding() == c.enc);
    std::vector<std::string> pieces;
    bool ended = false;
    client.on("data", [&](std::span<const std::byte> d) { pieces.emplace_back(text_of(d)); });
    client.on("end", [&] { ended = true; });
    const std::size_t before = ts.accepted.size();
    run_until([&] { return ts.accepted.size() > before; });
    net::socket peer = ts.accepted.back();
    auto feed = [&]() -> net::task<> {
      for (char ch : text) {
        co_await peer.write(bytes(std::string_view(&ch, 1)));
        co_await net::sleep(1);
      }
      peer.end();
    };
    run_bounded(feed());
    run_until([&] { return ended; });
    std::string joined;
    for (const auto& p : pieces) joined += p;
    CHECK(joined == c.decoded);
    if (c.enc == net::encoding::utf8)
      for (const auto& p : pieces) CHECK(p.find("\xEF\xBF\xBD") == std::string::npos);  // no U+FFFD: nothing was cut
    client.destroy();
  }
}

TEST_CASE("write and end with an encoding send the bytes Buffer.from would make; an unknown name is "
          "ERR_UNKNOWN_ENCODING",
          "[socket][encoding]") {
  test_server ts({.port = 0, .host = "127.0.0.1"});
  net::socket client = net::connect(ts.port(), "127.0.0.1");
  client.write("68656c6c6f", net::encoding::hex);
  client.write(" w", "latin1");
  client.end("b3JsZA", net::encoding::base64url);
  run_until([&] { return !ts.accepted.empty(); });
  auto body = [&]() -> net::task<std::string> {
    std::array<std::byte, 64> buf{};
    std::string got;
    while (std::size_t n = co_await ts.accepted.front().read(buf)) got += text(std::span(buf).first(n));
    co_return got;
  };
  CHECK(run_bounded(body()) == "hello world");
  net::socket other;
  try {
    other.write("x", "klingon");
    FAIL("no throw");
  } catch (const net::error& e) {
    CHECK(e.code_string() == "ERR_UNKNOWN_ENCODING");
    CHECK(e.message() == "Unknown encoding: klingon");
  }
  try {
    other.set_encoding("nope");
    FAIL("no throw");
  } catch (const net::error& e) {
    CHECK(e.message() == "Unknown encoding: nope");
  }
}
