// net.Socket as Node's stream.Duplex, the surface Node programs rely on:
// cork()/uncork(), the readable/writable state properties, `co_await
// end()` waiting for "finish", setDefaultEncoding, the highWaterMark
// option; and the socket's own rules around them: a write after the peer
// ended (Node's writeAfterFIN), a write pending when a connecting socket is
// destroyed, options set before connecting, addresses kept after the close.
#include <netinet/tcp.h>

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "net_test.hpp"

namespace {

using netxx_test::run_until;
using netxx_test::text;

void wait_ms(std::int64_t ms) {
  netxx_test::run_bounded([](std::int64_t t) -> net::task<> { co_await net::sleep(t); }(ms));
}

// A server on 127.0.0.1 (or ::1) that keeps what each connection sends.
struct collector {
  net::server srv;
  std::vector<net::socket> conns;
  std::string got;
  bool ended = false;
  explicit collector(std::string_view host = "127.0.0.1", bool flowing = true) {
    srv = net::create_server([this, flowing](net::socket c) {
      conns.push_back(c);
      c.on("error", [](const net::error&) {});
      if (flowing) c.on("data", [this](std::span<const std::byte> d) { got.append(text(d)); });
      c.on("end", [this] { ended = true; });
    });
    srv.listen(0, host);
  }
  ~collector() {
    for (auto& c : conns) c.destroy();
    srv.close();
    netxx_test::run_bounded();
  }
  std::uint16_t port() const { return srv.address()->port; }
};

int int_option(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  REQUIRE(::getsockopt(fd, level, name, &v, &len) == 0);
  return v;
}

}  // namespace

TEST_CASE("cork() holds writes until uncork(), which sends them together, in order", "[duplex][cork]") {
  collector peer;
  net::socket c = net::connect(peer.port(), "127.0.0.1");
  run_until([&] { return !c.connecting() && !peer.conns.empty(); });
  c.cork();
  CHECK(c.writable_corked() == 1);
  c.write("one,", net::write_callback{});
  c.cork();  // nested: two uncork() calls to send
  c.write("two,", net::write_callback{});
  c.write("three", net::write_callback{});
  wait_ms(20);
  CHECK(peer.got.empty());
  CHECK(c.writable_length() == 13);
  c.uncork();
  CHECK(c.writable_corked() == 1);
  wait_ms(20);
  CHECK(peer.got.empty());
  c.uncork();
  CHECK(c.writable_corked() == 0);
  run_until([&] { return peer.got.size() == 13; });
  CHECK(peer.got == "one,two,three");
  CHECK(c.writable_length() == 0);
}

TEST_CASE("end() uncorks: what was corked goes out before the FIN", "[duplex][cork]") {
  collector peer("::1");
  net::socket c = net::connect(peer.port(), "::1");
  c.cork();
  c.write("corked", net::write_callback{});
  c.end(" and ended");
  run_until([&] { return peer.ended; });
  CHECK(peer.got == "corked and ended");
  CHECK(c.writable_corked() == 0);
}

TEST_CASE("the readable and writable state properties follow Node's through a connection's life", "[duplex]") {
  collector peer;
  net::socket c = net::connect(peer.port(), "127.0.0.1");
  bool finished = false, ended = false, closed = false;
  bool finished_at_finish = false, ended_at_end = false, writable_at_finish = true;
  c.on("finish", [&] {
    finished = true;
    finished_at_finish = c.writable_finished();
    writable_at_finish = c.writable();
  });
  c.on("end", [&] {
    ended = true;
    ended_at_end = c.readable_ended();
  });
  c.on("close", [&](bool) { closed = true; });
  run_until([&] { return !c.connecting() && !peer.conns.empty(); });
  CHECK(c.readable());
  CHECK(c.writable());
  CHECK_FALSE(c.writable_ended());
  CHECK_FALSE(c.writable_finished());
  CHECK_FALSE(c.readable_ended());
  CHECK_FALSE(c.readable_flowing().has_value());  // Node's null: nobody asked for data yet
  c.pause();
  CHECK(c.readable_flowing() == std::optional<bool>(false));
  c.resume();
  CHECK(c.readable_flowing() == std::optional<bool>(true));
  c.end("bye");
  CHECK(c.writable_ended());  // at once, before "finish"
  CHECK_FALSE(c.writable());
  CHECK_FALSE(c.writable_finished());
  run_until([&] { return finished; });
  CHECK(finished_at_finish);
  CHECK_FALSE(writable_at_finish);
  // The peer ends in turn (it does not stay half open): "end", then the close.
  run_until([&] { return closed; });
  CHECK(ended);
  CHECK(ended_at_end);
  CHECK(c.readable_ended());
  CHECK_FALSE(c.readable());
}

TEST_CASE("co_await end() resumes at finish, after the queued bytes reached a slow reader", "[duplex][end]") {
  const std::string kind = GENERATE(as<std::string>{}, "127.0.0.1", "::1");
  collector peer(kind, /*flowing=*/false);  // reads nothing until told
  const std::string payload(8 * 1024 * 1024, 'z');
  bool resumed = false, finish_before_resume = false, finished = false;
  auto body = [&]() -> net::task<> {
    net::socket c = co_await net::connect({.port = peer.port(), .host = kind});
    c.on("finish", [&] { finished = true; });
    c.write(payload, net::write_callback{});
    co_await c.end();
    finish_before_resume = finished;
    resumed = true;
  };
  net::spawn(body());
  wait_ms(50);
  CHECK_FALSE(resumed);  // the peer does not read: the bytes cannot all be in the kernel yet
  std::size_t got = 0;
  peer.conns.front().on("data", [&](std::span<const std::byte> d) { got += d.size(); });
  run_until([&] { return resumed; });
  CHECK(finish_before_resume);
  run_until([&] { return peer.ended; });
  CHECK(got == payload.size());
}

TEST_CASE("co_await end() throws what destroyed the socket first", "[duplex][end]") {
  // A port nobody listens on: the connect fails, and end() waited for it.
  const std::uint16_t port = netxx_test::unused_port(AF_INET);
  std::string code;
  auto body = [&]() -> net::task<> {
    net::socket c;
    c.on("error", [](const net::error&) {});
    c.connect(port, "127.0.0.1");
    c.write("never sent", net::write_callback{});
    try {
      co_await c.end();
      code = "resumed";
    } catch (const net::error& e) {
      code = std::string(e.code_string());
    }
  };
  netxx_test::run_bounded(body());
  CHECK(code == "ECONNREFUSED");
}

TEST_CASE("setDefaultEncoding encodes string writes and end(string) that name no encoding", "[duplex][encoding]") {
  collector peer;
  net::socket c = net::connect(peer.port(), "127.0.0.1");
  c.set_default_encoding("hex");
  c.write("6869", net::write_callback{});  // "hi"
  c.write("2c", net::write_callback{});    // ","
  c.end("746865726521");                     // "there!"
  run_until([&] { return peer.ended; });
  CHECK(peer.got == "hi,there!");
  net::socket d;
  CHECK_THROWS_WITH(d.set_default_encoding("nope"), "Unknown encoding: nope");
}

TEST_CASE("the highWaterMark option sets where write() starts returning false", "[duplex]") {
  collector peer;
  net::connect_options o{.port = peer.port(), .host = "127.0.0.1"};
  o.high_water_mark = 1024;
  net::socket c = net::connect(o);
  CHECK(c.writable_high_water_mark() == 1024);
  CHECK(c.readable_high_water_mark() == 1024);
  CHECK(c.write(std::string(1023, 'a'), net::write_callback{}));
  CHECK_FALSE(c.write(std::string(1, 'b'), net::write_callback{}));  // 1024 queued while connecting
  bool drained = false;
  c.on("drain", [&] { drained = true; });
  run_until([&] { return drained; });
  c.destroy();
}

TEST_CASE("after the peer ended, without allowHalfOpen: a write in \"end\" goes out, one after our own end is "
          "Node's EPIPE 'ended by the other party'",
          "[duplex][half-open]") {
  collector peer;
  net::socket c = net::connect(peer.port(), "127.0.0.1");
  std::string in_end_code = "unset", late_code;
  bool error_event = false;
  c.on("error", [&](const net::error&) { error_event = true; });
  c.on("end", [&] {
    CHECK(c.writable());  // Node: still writable in "end"; the socket ends itself after
    c.write("in-end", [&](std::error_code ec) { in_end_code = std::string(net::code_string(ec)); });
  });
  c.on("close", [&](bool) {
    c.write("later", [&](std::error_code ec) {
      late_code = std::string(net::code_string(ec));
    });
  });
  run_until([&] { return !peer.conns.empty(); });
  peer.conns.front().end();
  run_until([&] { return !late_code.empty(); });
  CHECK(in_end_code == "");  // no error: code_string of an empty code
  CHECK(late_code == "EPIPE");
  CHECK_FALSE(error_event);  // destroyed already: Node's destroy(er) is a no-op then
  run_until([&] { return peer.got == "in-end"; });
}

TEST_CASE("the write pending when a connecting socket is destroyed gets ERR_SOCKET_CLOSED_BEFORE_CONNECTION",
          "[duplex]") {
  collector peer;
  net::socket c;
  bool connected = false;
  c.on("connect", [&] { connected = true; });
  c.connect(peer.port(), "127.0.0.1");
  CHECK(c.connecting());
  std::vector<std::string> codes;
  c.write("foo", [&](std::error_code ec) { codes.emplace_back(net::code_string(ec)); });
  c.write("bar", [&](std::error_code ec) { codes.emplace_back(net::code_string(ec)); });
  c.destroy();
  run_until([&] { return codes.size() == 2; });
  CHECK(codes == std::vector<std::string>{"ERR_SOCKET_CLOSED_BEFORE_CONNECTION", "ERR_STREAM_DESTROYED"});
  CHECK_FALSE(connected);
}

TEST_CASE("setNoDelay and setKeepAlive called before connecting apply once connected", "[duplex][options]") {
  const std::string kind = GENERATE(as<std::string>{}, "127.0.0.1", "::1");
  collector peer(kind);
  net::socket c;
  c.set_no_delay(true);
  c.set_keep_alive(true, 7000);
  bool connected = false;
  c.connect(peer.port(), kind, [&] { connected = true; });
  run_until([&] { return connected; });
  CHECK(int_option(c.fd(), IPPROTO_TCP, TCP_NODELAY) == 1);
  CHECK(int_option(c.fd(), SOL_SOCKET, SO_KEEPALIVE) == 1);
  CHECK(int_option(c.fd(), IPPROTO_TCP, TCP_KEEPIDLE) == 7);
  // And the last call wins, as Node keeps only the last value.
  net::socket d;
  d.set_no_delay(true);
  d.set_no_delay(false);
  bool d_connected = false;
  d.connect(peer.port(), kind, [&] { d_connected = true; });
  run_until([&] { return d_connected; });
  CHECK(int_option(d.fd(), IPPROTO_TCP, TCP_NODELAY) == 0);
}

TEST_CASE("addresses read while connected are kept after the close; never read, they are empty, as Node's",
          "[duplex][address]") {
  const std::string kind = GENERATE(as<std::string>{}, "127.0.0.1", "::1");
  collector peer(kind);
  net::socket read_early = net::connect(peer.port(), kind);
  net::socket never_read = net::connect(peer.port(), kind);
  std::uint16_t local_port = 0;
  read_early.on("connect", [&] {
    CHECK(read_early.remote_address() == kind);
    local_port = read_early.local_port();
  });
  int closed = 0;
  read_early.on("close", [&](bool) { ++closed; });
  never_read.on("close", [&](bool) { ++closed; });
  run_until([&] { return local_port != 0 && !never_read.connecting(); });
  read_early.destroy();
  never_read.destroy();
  run_until([&] { return closed == 2; });
  CHECK(read_early.remote_address() == kind);
  CHECK(read_early.remote_port() == peer.port());
  CHECK(read_early.remote_family() == (kind == "::1" ? "IPv6" : "IPv4"));
  CHECK(read_early.local_port() == local_port);
  CHECK(never_read.remote_address().empty());
  CHECK(never_read.remote_port() == 0);
}

// A chunk written back from a "data" listener that must be queued (a
// destination that does not read) takes the chunk's pool block rather than a
// copy; the listeners after the write still read the same bytes, even when
// the write's socket is destroyed between them, and what each destination's
// peer reads is what the source sent, in order.
TEST_CASE("a \"data\" chunk queued on two slow sockets reaches both intact; later listeners of the same emission "
          "still read it, even after one destination is destroyed",
          "[duplex][pipe]") {
  for (int family : {AF_INET, AF_INET6, AF_UNIX}) {
    CAPTURE(family);
    // (Plain ints, not structured bindings: clang 14 cannot capture those.)
    const auto src_pair = netxx_test::connected_pair(family);
    const auto b_pair = netxx_test::connected_pair(family);
    const auto c_pair = netxx_test::connected_pair(AF_UNIX);
    const int src_peer = src_pair.first, src_fd = src_pair.second;
    const int b_peer = b_pair.first, b_fd = b_pair.second;
    const int c_peer = c_pair.first, c_fd = c_pair.second;
    for (int fd : {b_fd, c_fd}) {  // small kernel buffers: the writes must queue
      const int small = 4096;
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    }
    std::string sent(1 << 20, '\0');
    for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);

    net::socket src({.fd = src_fd});
    net::socket b({.fd = b_fd});
    net::socket c({.fd = c_fd});
    for (auto* s : {&b, &c}) s->on("error", [](const net::error&) {});
    std::string seen;
    std::size_t chunks = 0;
    src.on("data", [&, b](std::span<const std::byte> chunk) mutable { b.write(chunk, {}); });
    src.on("data", [&, c](std::span<const std::byte> chunk) mutable {
      if (++chunks == 3) c.destroy();  // in the middle of the emission: the block it took is let go
      if (!c.destroyed()) c.write(chunk, {});
    });
    src.on("data", [&](std::span<const std::byte> chunk) { seen.append(text(chunk)); });
    src.on("end", [&] { b.end(); });

    ::fcntl(src_peer, F_SETFL, 0);  // blocking: the writer thread waits for the loop to read
    std::thread writer([&, fd = src_peer] {
      std::size_t off = 0;
      while (off < sent.size()) {
        const ssize_t n = ::write(fd, sent.data() + off, std::min<std::size_t>(sent.size() - off, 65536));
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      ::shutdown(fd, SHUT_WR);
    });
    // The destinations' peers read nothing until the source has sent it all.
    run_until([&] { return seen.size() == sent.size(); }, 20'000);
    writer.join();
    std::string got_b, got_c;
    bool b_ended = false;
    auto drain = [](int fd, std::string& into) {
      char buf[65536];
      for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
          into.append(buf, static_cast<std::size_t>(n));
          continue;
        }
        return n == 0;  // the end; -1: EAGAIN for now (or c's reset)
      }
    };
    run_until([&] {
      drain(c_peer, got_c);
      b_ended = b_ended || drain(b_peer, got_b);
      return b_ended;
    }, 20'000);
    CHECK(seen == sent);
    CHECK(got_b.size() == sent.size());
    CHECK(got_b == sent);
    CHECK(got_c.size() < sent.size());
    CHECK(got_c == sent.substr(0, got_c.size()));
    for (int fd : {src_peer, b_peer, c_peer}) ::close(fd);
    src.destroy();
    b.destroy();
    netxx_test::run_bounded();
  }
}
