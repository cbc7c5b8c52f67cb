// The examples are programs of their own: these run the built binaries as
// child processes and talk to them over loopback, on the backend the test is
// registered for (the children inherit NETXX_BACKEND), so an example that no
// longer does what its JavaScript twin does fails here.
#include <sys/wait.h>

#include <csignal>
#include <string>
#include <vector>

#include "net_test.hpp"

namespace {

std::string example(const std::string& name) { return std::string(NETXX_EXAMPLES_DIR) + "/" + name; }

// A port of 127.0.0.1 that nothing listens on (taken from the kernel, then let go).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = netxx_test::loopback4(0);
  socklen_t len = sizeof a;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct stopped_child {
  netxx_test::node_child c;
  ~stopped_child() {
    ::kill(c.pid, SIGKILL);
    int status = 0;
    ::waitpid(c.pid, &status, 0);
    net::loop::current().close_now(c.out);
  }
};

}  // namespace

TEST_CASE("the coroutine echo servers (060, 061) echo 1 MiB unchanged on the requested backend", "[examples]") {
  const std::string backend = netxx_test::requested_backend();
  for (const char* name : {"060-coroutine-echo-server", "061-pooled-echo-server"}) {
    CAPTURE(name);
    const std::uint16_t port = free_port();
    stopped_child server{netxx_test::spawn_child({example(name), std::to_string(port)})};
    auto body = [](int out, std::uint16_t port) -> net::task<std::pair<std::string, bool>> {
      std::string pending;
      std::string banner = co_await netxx_test::read_line(out, pending);  // printed once listening
      net::connect_options o{.port = port, .host = "127.0.0.1"};
      net::socket c = co_await net::connect(o);
      const netxx_test::byte_stream stream{42};
      std::vector<std::byte> sent(1 << 20);
      stream.fill(0, sent);
      std::vector<std::byte> got;
      net::spawn([](net::socket c, std::span<const std::byte> data) -> net::task<> {
        co_await c.write(data);
      }(c, sent));
      std::array<std::byte, 16 * 1024> buf;
      while (got.size() < sent.size()) {
        const std::size_t n = co_await c.read(buf);
        if (n == 0) break;
        got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      }
      c.destroy();
      co_return std::pair{banner, got == sent};
    };
    const auto [banner, same] = netxx_test::run_bounded(body(server.c.out, port));
    CHECK(banner.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
    if (!backend.empty()) CHECK(banner.find("(" + backend + ")") != std::string::npos);
    CHECK(same);
  }
}

TEST_CASE("the spec's echo server (010) greets the spec's client (100), which prints it and ends", "[examples]") {
  stopped_child server{netxx_test::spawn_child({example("010-echo-server")})};
  auto body = []() -> net::task<std::string> {
    // 010 listens on 8124, as in the spec; wait until it does. The probe
    // reads the greeting and ends politely: closing with bytes unread sends
    // an RST, and 010, like the spec's example, has no "error" listener on
    // its sockets, so a reset would end it (as it would end Node).
    auto& loop = net::loop::current();
    for (int i = 0; i < 500; ++i) {
      const int fd = co_await netxx_test::connect_v4(8124);
      if (fd < 0) {
        co_await net::sleep(10);
        continue;
      }
      std::array<std::byte, 64> buf;
      std::string greeting;
      while (greeting.find("hello\r\n") == std::string::npos) {
        const net::io_result r = co_await loop.recv(fd, buf);
        if (!r.ok() || r.value() == 0) break;
        greeting.append(netxx_test::text(std::span(buf).first(r.value())));
      }
      ::shutdown(fd, SHUT_WR);
      for (;;) {  // to the server's end, so nothing is left unread
        const net::io_result r = co_await loop.recv(fd, buf);
        if (!r.ok() || r.value() == 0) break;
      }
      loop.close_now(fd);
      break;
    }
    auto client = netxx_test::spawn_child({example("100-echo-client")});
    std::string out = co_await netxx_test::read_all(client.out);  // to its end: the client exited
    const int status = co_await netxx_test::reap(client.pid);
    net::loop::current().close_now(client.out);
    co_return out + "exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  };
  const std::string out = netxx_test::run_bounded(body());
  INFO("100-echo-client printed: " << out);
  CHECK(out.find("connected to server!\n") == 0);
  CHECK(out.find("hello\r\n") != std::string::npos);  // the greeting, then maybe the echo of world!
  CHECK(out.find("disconnected from server\n") != std::string::npos);
  CHECK(out.find("exit 0") != std::string::npos);
}

namespace {
// Runs an example to its end; what it printed, then "exit N".
std::string run_example(std::vector<std::string> argv) {
  auto body = [](std::vector<std::string> argv) -> net::task<std::string> {
    auto child = netxx_test::spawn_child(std::move(argv));
    std::string out = co_await netxx_test::read_all(child.out);
    const int status = co_await netxx_test::reap(child.pid);
    net::loop::current().close_now(child.out);
    co_return out + "exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  };
  return netxx_test::run_bounded(body(std::move(argv)));
}
}  // namespace

TEST_CASE("090-deadlines: the greeting in time, or TimeoutError; then a stop from another thread (ABORT_ERR)",
          "[examples]") {
  CHECK(run_example({example("090-deadlines"), "0", "5000"}) ==
        "greeting: \"hello\\n\"\nthen: the server ended\nexit 0");
  CHECK(run_example({example("090-deadlines"), "2000", "30"}) ==
        "no greeting: The operation was aborted due to timeout (TimeoutError)\n"
        "read stopped: The operation was aborted (ABORT_ERR)\nexit 0");
}

TEST_CASE("091-when-any: when_all connects both, when_any takes the fast answer, when_any_success skips a refusal",
          "[examples]") {
  CHECK(run_example({example("091-when-any")}) ==
        "connected to both\nfirst: fast server said \"fast answer\"\nany: connection 0 succeeded\nexit 0");
}

TEST_CASE("Happy Eyeballs v2 (105): the silent first address is still pending when the second wins", "[examples]") {
  const std::string out = run_example({example("105-happy-eyeballs-v2")});
  INFO("105-happy-eyeballs-v2 printed: " << out);
  // Both attempts started and neither failed: the first was not abandoned, the second won.
  CHECK(out.find("attempt 127.0.0.2\nattempt 127.0.0.1\nwinner 127.0.0.1\n") == 0);
  CHECK(out.find("failed") == std::string::npos);
  CHECK(out.find("attempted 127.0.0.2:") != std::string::npos);
  CHECK(out.find("attempted 127.0.0.1:") > out.find("attempted 127.0.0.2:"));
  CHECK(out.find("received hello from 127.0.0.1\n") != std::string::npos);
  CHECK(out.find("exit 0") != std::string::npos);
}

TEST_CASE("070 counts the bytes of each connection with net::chunks: 1 MiB, then a reset", "[examples]") {
  const std::uint16_t port = free_port();
  stopped_child server{netxx_test::spawn_child({example("070-for-await-chunks"), std::to_string(port)})};
  auto body = [](int out, std::uint16_t port) -> net::task<std::vector<std::string>> {
    std::vector<std::string> lines;
    std::string pending;
    lines.push_back(co_await netxx_test::read_line(out, pending));  // printed once listening
    net::socket c = co_await net::connect({.port = port, .host = "127.0.0.1"});
    std::vector<std::byte> data(1 << 20, std::byte{'x'});
    co_await c.write(data);
    co_await c.end();
    std::string reply;  // none: the server's loop ends, and destroys the socket, as Node's for await does
    while (net::buffer b = co_await c.read()) reply += b.text();
    lines.push_back("reply: \"" + reply + "\"");
    lines.push_back(co_await netxx_test::read_line(out, pending));
    // A peer that resets: the read's error reaches the loop over the chunks.
    net::socket r = co_await net::connect({.port = port, .host = "127.0.0.1"});
    co_await r.write("abc");
    co_await net::sleep(50);
    r.reset_and_destroy();
    lines.push_back(co_await netxx_test::read_line(out, pending));
    co_return lines;
  };
  const auto lines = netxx_test::run_bounded(body(server.c.out, port));
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].find("counting bytes on 127.0.0.1:" + std::to_string(port)) == 0);
  CHECK(lines[1] == "reply: \"\"");
  INFO(lines[2]);
  CHECK(lines[2].find("127.0.0.1:") == 0);
  CHECK(lines[2].find(": 1048576 bytes in ") != std::string::npos);
  INFO(lines[3]);
  CHECK(lines[3].find(": read ECONNRESET after 3 bytes") != std::string::npos);
}

TEST_CASE("071 awaits \"listening\", \"connect\", \"connection\" and \"close\" with net::once, and a refused connect throws",
          "[examples]") {
  auto body = []() -> net::task<std::string> {
    auto child = netxx_test::spawn_child({example("071-events-once")});
    std::string out = co_await netxx_test::read_all(child.out);
    const int status = co_await netxx_test::reap(child.pid);
    net::loop::current().close_now(child.out);
    co_return out + "exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  };
  const std::string out = netxx_test::run_bounded(body());
  INFO("071-events-once printed: " << out);
  CHECK(out.find("listening\nconnect: to port ") == 0);
  CHECK(out.find(": true\nconnection: from port ") != std::string::npos);
  CHECK(out.find(": true\nclose: had_error = false\nonce() threw: connect ECONNREFUSED 127.0.0.1:") !=
        std::string::npos);
  CHECK(out.find("exit 0") != std::string::npos);
}

TEST_CASE("the workers example (080) echoes on every worker, and SIGTERM drains and closes it: exit 0", "[examples]") {
  const std::string backend = netxx_test::requested_backend();
  const std::uint16_t port = free_port();
  stopped_child server{netxx_test::spawn_child({example("080-workers-signals"), "2", std::to_string(port)})};
  struct outcome {
    std::string banner, after_signal, rest;
    int echoed_before = 0, echoed_after = 0, status = -1;
  };
  auto body = [](netxx_test::node_child& child, std::uint16_t port) -> net::task<outcome> {
    outcome o;
    std::string pending, line;
    do {  // each worker's "listening" line, then the group's
      line = co_await netxx_test::read_line(child.out, pending);
      o.banner += line + "\n";
    } while (!line.empty() && line.find("workers listening") == std::string::npos);
    auto echo = [](net::socket& c, std::string text) -> net::task<bool> {
      co_await c.write(text);
      std::string got;
      std::array<std::byte, 256> buf;
      while (got.size() < text.size()) {
        const std::size_t n = co_await c.read(buf);
        if (n == 0) break;
        got.append(netxx_test::text(std::span(buf).first(n)));
      }
      co_return got == text;
    };
    std::vector<net::socket> clients;
    for (int i = 0; i < 6; ++i) {
      net::connect_options opts{.port = port, .host = "127.0.0.1"};
      clients.push_back(co_await net::connect(opts));
      o.echoed_before += co_await echo(clients.back(), "hello " + std::to_string(i)) ? 1 : 0;
    }
    ::kill(child.pid, SIGTERM);
    o.after_signal = co_await netxx_test::read_line(child.out, pending);  // printed before it closes
    // Closed, not gone: the open connections are still served.
    for (auto& c : clients) o.echoed_after += co_await echo(c, "still here") ? 1 : 0;
    for (auto& c : clients) co_await c.end();
    o.rest = pending + co_await netxx_test::read_all(child.out);
    o.status = co_await netxx_test::reap(child.pid);
    for (auto& c : clients) c.destroy();
    co_return o;
  };
  const outcome o = netxx_test::run_bounded(body(server.c, port));
  netxx_test::settle();  // the clients' "close" runs next tick (LeakSanitizer counts what is left)
  INFO("080 printed: " << o.banner << o.after_signal << "\n" << o.rest);
  CHECK(o.banner.find("2 workers listening on 127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(o.banner.find("worker 0 listening") != std::string::npos);
  CHECK(o.banner.find("worker 1 listening") != std::string::npos);
  if (!backend.empty()) CHECK(o.banner.find("(" + backend + ")") != std::string::npos);
  CHECK(o.echoed_before == 6);
  CHECK(o.after_signal == "SIGTERM: closing the servers; open connections finish first");
  CHECK(o.echoed_after == 6);
  CHECK(o.rest.find("worker 0 closed after serving ") != std::string::npos);
  CHECK(o.rest.find("worker 1 closed after serving ") != std::string::npos);
  CHECK(o.rest.find("all 2 workers stopped\n") != std::string::npos);
  CHECK(WIFEXITED(o.status));
  CHECK(WEXITSTATUS(o.status) == 0);
}
