// net.Socket as Node's stream.Readable: reading starts at connect and at
// accept whoever listens, what nobody consumed waits in the readable buffer
// (readableLength) up to the high-water mark, "end" comes once that buffer
// is consumed, and awaited reads take from it first. Over TCP on 127.0.0.1
// and ::1 and over Unix sockets.
#include <filesystem>
#include <string>

#include "net_test.hpp"

namespace {

using netxx_test::run_until;
using netxx_test::text;

// Where a test listens: "127.0.0.1", "::1", or a Unix socket path.
std::string listen_target(const std::string& kind) {
  if (kind != "unix") return kind;
  const auto p = std::filesystem::temp_directory_path() /
                 ("netxx-readable-" + std::to_string(::getpid()) + ".sock");
  std::filesystem::remove(p);
  return p.string();
}

void listen_on(net::server& server, const std::string& kind, const std::string& target) {
  if (kind == "unix")
    server.listen(net::listen_options{.path = target});
  else
    server.listen(net::listen_options{.port = 0, .host = target});
}

net::socket connect_to(const net::server& server, const std::string& kind, const std::string& target) {
  if (kind == "unix") return net::create_connection(target);
  return net::create_connection({.port = server.address()->port, .host = target});
}

// Runs the loop for ms, whatever happens meanwhile.
void wait_ms(std::int64_t ms) {
  netxx_test::run_bounded([](std::int64_t t) -> net::task<> { co_await net::sleep(t); }(ms));
}

std::string big(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

}  // namespace

TEST_CASE("a socket nobody reads from still sees the peer's FIN: end, then its own end, then close", "[readable]") {
  const std::string kind = GENERATE(as<std::string>{}, "127.0.0.1", "::1", "unix");
  const std::string target = listen_target(kind);
  bool server_end = false, server_close = false, client_end = false, client_close = false;
  bool destroyed_at_end = true;
  net::socket accepted;
  // No "data" listener on the accepted socket, and none on the client.
  auto server = net::create_server([&](net::socket c) {
    accepted = c;
    c.on("end", [&, c] {
      server_end = true;
      destroyed_at_end = c.destroyed();
    });
    c.on("close", [&](bool) { server_close = true; });
  });
  listen_on(server, kind, target);
  auto client = connect_to(server, kind, target);
  client.on("connect", [&, client]() mutable { client.end(); });
  client.on("end", [&] { client_end = true; });
  client.on("close", [&](bool) {
    client_close = true;
    server.close();
  });
  netxx_test::run_bounded();
  CHECK(server_end);
  CHECK_FALSE(destroyed_at_end);  // Node: not destroyed before "end" (test-net-end-destroyed)
  CHECK(server_close);
  CHECK(client_end);  // the server ended its side on its own (allowHalfOpen false)
  CHECK(client_close);
  CHECK(accepted.destroyed());
}

TEST_CASE("a reset is seen with no data listener: error ECONNRESET, then close", "[readable]") {
  const std::string kind = GENERATE(as<std::string>{}, "127.0.0.1", "::1");
  std::string code;
  bool closed_with_error = false;
  net::server server;
  server = net::create_server([&](net::socket c) {
    c.on("error", [&](const net::error& e) { code = std::string(e.code_string()); });
    c.on("close", [&](bool had_error) {
      closed_with_error = had_error;
      server.close();
    });
  });
  listen_on(server, kind, kind);
  auto client = connect_to(server, kind, kind);
  client.on("connect", [client]() mutable {
    net::set_timeout([client]() mutable { client.reset_and_destroy(); }, 20);
  });
  netxx_test::run_bounded();
  CHECK(code == "ECONNRESET");
  CHECK(closed_with_error);
}

TEST_CASE("what nobody consumes waits in the readable buffer up to the high-water mark, then reading stops",
          "[readable]") {
  const std::string kind = GENERATE(as<std::string>{}, "127.0.0.1", "unix");
  const std::string target = listen_target(kind);
  const std::string payload = big(4 * 1024 * 1024);
  std::string got;
  net::socket accepted;
  std::size_t buffered_before_flowing = 0;
  bool writer_blocked = false;
  auto server = net::create_server([&](net::socket c) { accepted = c; });
  listen_on(server, kind, target);
  auto client = connect_to(server, kind, target);
  client.on("connect", [&, client]() mutable {
    writer_blocked = !client.write(payload, net::write_callback{});
    client.end();
  });
  // Give the reader's side time to fill its buffer; nobody reads it.
  run_until([&] { return accepted && accepted.readable_length() >= accepted.readable_high_water_mark(); });
  wait_ms(20);  // turns more: reading has stopped
  buffered_before_flowing = accepted.readable_length();
  CHECK(buffered_before_flowing >= accepted.readable_high_water_mark());
  // At most one block of the pool past the mark: a read that crossed it.
  CHECK(buffered_before_flowing < accepted.readable_high_water_mark() + 64 * 1024);
  CHECK(writer_blocked);
  CHECK(client.buffer_size() > 0);  // the rest waits on the writer's side: reading stopped
  CHECK_FALSE(accepted.readable_ended());
  // Then a consumer: every byte, in order, then "end".
  bool ended = false;
  accepted.on("data", [&](std::span<const std::byte> d) { got.append(text(d)); });
  accepted.on("end", [&] { ended = true; });
  run_until([&] { return ended; });
  CHECK(got.size() == payload.size());
  CHECK(got == payload);
  CHECK(accepted.readable_ended());
  server.close();
  netxx_test::run_bounded();
}

TEST_CASE("end waits until the buffered bytes are consumed", "[readable]") {
  const std::string kind = GENERATE(as<std::string>{}, "127.0.0.1", "::1", "unix");
  const std::string target = listen_target(kind);
  net::socket accepted;
  int ends = 0;
  std::string got;
  std::string order;
  auto server = net::create_server([&](net::socket c) {
    accepted = c;
    c.on("end", [&] {
      ++ends;
      order += "end;";
    });
  });
  listen_on(server, kind, target);
  auto client = connect_to(server, kind, target);
  client.on("connect", [client]() mutable { client.end("hello"); });
  // "hello" and the FIN are read ahead; nothing consumes "hello", so no "end".
  run_until([&] { return accepted && accepted.readable_length() == 5; });
  wait_ms(20);
  CHECK(ends == 0);
  CHECK_FALSE(accepted.readable_ended());
  accepted.on("data", [&](std::span<const std::byte> d) {
    got.append(text(d));
    order += "data;";
  });
  run_until([&] { return ends == 1; });
  CHECK(got == "hello");
  CHECK(order == "data;end;");
  CHECK(accepted.readable_length() == 0);
  server.close();
  netxx_test::run_bounded();
}

TEST_CASE("pause() lets reading go on into the buffer; resume() delivers it in order", "[readable]") {
  const std::string kind = GENERATE(as<std::string>{}, "127.0.0.1", "unix");
  const std::string target = listen_target(kind);
  std::string got;
  net::socket accepted;
  bool ended = false;
  auto server = net::create_server([&](net::socket c) {
    accepted = c;
    c.pause();
    c.on("data", [&](std::span<const std::byte> d) { got.append(text(d)); });  // paused: no flowing yet
    c.on("end", [&] { ended = true; });
  });
  listen_on(server, kind, target);
  auto client = connect_to(server, kind, target);
  client.on("connect", [client]() mutable {
    client.write("one,");
    client.write("two,");
    client.end("three");
  });
  run_until([&] { return accepted && accepted.readable_length() == 13; });
  CHECK(got.empty());
  CHECK(accepted.is_paused());
  CHECK_FALSE(ended);
  accepted.resume();
  run_until([&] { return ended; });
  CHECK(got == "one,two,three");
  server.close();
  netxx_test::run_bounded();
}

TEST_CASE("pauseOnConnect reads nothing at all until resume()", "[readable]") {
  std::string got;
  net::socket accepted;
  auto server = net::create_server(net::server_options{.pause_on_connect = true}, [&](net::socket c) { accepted = c; });
  server.listen(0, "127.0.0.1");
  auto client = net::create_connection({.port = server.address()->port, .host = "127.0.0.1"});
  bool written = false;
  client.on("connect", [&, client]() mutable { client.write("abc", [&](std::error_code) { written = true; }); });
  run_until([&] { return written && accepted; });
  wait_ms(20);
  CHECK(accepted.readable_length() == 0);  // Node's readStop: not even read ahead
  CHECK(accepted.bytes_read() == 0);
  accepted.on("data", [&](std::span<const std::byte> d) { got.append(text(d)); });
  accepted.resume();
  run_until([&] { return got == "abc"; });
  client.destroy();
  server.close();
  netxx_test::run_bounded();
}

TEST_CASE("an awaited read takes what was read ahead first, then reads on; end follows the last byte", "[readable]") {
  const std::string kind = GENERATE(as<std::string>{}, "127.0.0.1", "::1", "unix");
  const std::string target = listen_target(kind);
  auto server = net::create_server();
  listen_on(server, kind, target);
  std::string got;
  bool end_event = false;
  // The client writes and ends at once; the server waits before reading, so
  // everything is read ahead into its buffer first.
  auto run = [&]() -> net::task<> {
    auto client = connect_to(server, kind, target);
    client.on("connect", [client]() mutable {
      client.write("first,");
      client.end("second");
    });
    net::socket s = co_await server.accept();
    s.on("end", [&] { end_event = true; });
    while (s.readable_length() < 12) co_await net::sleep(1);
    CHECK(s.bytes_read() == 12);  // counted when read from the kernel, as Node's bytesRead
    std::array<std::byte, 4> small;
    std::size_t n = co_await s.read(small);  // a part of the first chunk
    got.append(text(std::span(small).first(n)));
    CHECK(n == 4);
    CHECK(s.readable_length() == 8);
    net::buffer rest = co_await s.read();  // the rest, as a pooled buffer
    got.append(rest.text());
    CHECK_FALSE(end_event);
    net::buffer eof = co_await s.read();  // the FIN behind them
    CHECK(eof.empty());
    CHECK(end_event);
    CHECK(s.readable_ended());
    server.close();
  };
  netxx_test::run_bounded(run());
  netxx_test::run_bounded();
  CHECK(got == "first,second");
}

TEST_CASE("an awaited read made while a read ahead is in flight is served by it, in order", "[readable]") {
  auto server = net::create_server();
  server.listen(0, "127.0.0.1");
  std::string got;
  auto run = [&]() -> net::task<> {
    auto client = net::create_connection({.port = server.address()->port, .host = "127.0.0.1"});
    net::socket s = co_await server.accept();
    co_await net::sleep(5);  // the read ahead is armed and waits for bytes
    client.write("ping");
    std::array<std::byte, 16> buf;
    std::size_t n = co_await s.read(buf);
    got.append(text(std::span(buf).first(n)));
    client.end("pong");
    while (std::size_t m = co_await s.read(buf)) got.append(text(std::span(buf).first(m)));
    server.close();
  };
  netxx_test::run_bounded(run());
  netxx_test::run_bounded();
  CHECK(got == "pingpong");
}
