// The client side of net::socket moving bulk data for real: net::connect's
// awaitable face (`co_await net::connect(...)`, then a writer and a reader
// coroutine on one socket at once) against a Node v23.5.0 echo server, and
// against our own echo server in the same process, over TCP and a Unix path.
// Every byte that comes back is compared with the seeded stream that was
// written (netxx_test::byte_stream), so nothing is kept in memory.
// The Node tests skip (exit 77) when NETXX_NODE23 does not name a Node v23.5.0.
//
// Size: 100 MiB per transfer (4 transfers per backend). Measured on 2 cores:
// g++ debug 0.75-0.95 s a transfer (4 s for the executable); g++ ASan+UBSan
// with the other core compiling 1.7-2.7 s a transfer (9 s for the
// executable). Each test prints its timings on stderr.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "net_test.hpp"

namespace {

using netxx_test::byte_stream;

constexpr std::uint64_t total = 100 * 1024 * 1024;

// A Node echo server (c.pipe(c)) on `host` port 0, or on a Unix `path`; prints
// its port (or "ready") once listening.
constexpr std::string_view node_echo_server = R"JS('use strict';
const net = require('net');
const [kind, where] = process.argv.slice(2);
const server = net.createServer((c) => { c.on('error', () => {}); c.pipe(c); });
const ready = () => process.stdout.write((kind === 'path' ? 'ready' : String(server.address().port)) + '\n');
if (kind === 'path') server.listen(where, ready); else server.listen(0, kind, ready);
)JS";

const std::string& script_file() {
  static netxx_test::temp_file f("client-peer.js", node_echo_server);
  return f.path;
}

struct transfer {
  std::uint64_t written = 0;
  std::uint64_t read = 0;
  bool same = true;
  bool writer_done = false;
  std::string error;
  double seconds = 0;
};

net::task<> writer(net::socket s, byte_stream bs, transfer& t) {
  co_await netxx_test::write_stream(s, bs, total, static_cast<unsigned>(bs.seed), t.written, t.error);
  t.writer_done = true;
}

// Connects with net::connect's awaitable face, then writes the stream from one
// coroutine while this one reads the echo and checks it, until the peer ends.
net::task<> round_trip(net::connect_options to, byte_stream bs, transfer& t) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    net::socket c = co_await net::connect(to);
    net::spawn(writer(c, bs, t));
    std::vector<std::byte> buf(64 * 1024);
    while (std::size_t n = co_await c.read(buf)) {
      if (t.same && !bs.matches(t.read, std::span<const std::byte>(buf).first(n))) t.same = false;
      t.read += n;
    }
    while (!t.writer_done) co_await net::sleep(1);
    c.destroy();
  } catch (const std::exception& e) {
    t.error += std::string(" client: ") + e.what();
  }
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void report(const char* what, const transfer& t) {
  std::fprintf(stderr, "[%s] %s: %llu MiB each way in %.2f s\n", netxx_test::requested_backend().c_str(), what,
               static_cast<unsigned long long>(total >> 20), t.seconds);
}

void check(const transfer& t) {
  CHECK(t.error.empty());
  CHECK(t.writer_done);
  CHECK(t.written == total);
  CHECK(t.read == total);
  CHECK(t.same);
}

// --- a Node echo server ------------------------------------------------------

struct node_run {
  std::string ready_line;
  int status = -1;
};

net::task<> against_node(std::string host, std::string path, netxx_test::node_child child, byte_stream bs,
                         transfer& t, node_run& run) {
  std::string pending;
  run.ready_line = co_await netxx_test::read_line(child.out, pending);
  if (path.empty() && !run.ready_line.empty() && run.ready_line != "ready") {
    net::connect_options to{.port = std::stoi(run.ready_line), .host = host};
    co_await round_trip(to, bs, t);
  } else if (!path.empty() && run.ready_line == "ready") {
    net::connect_options to{.path = path};
    co_await round_trip(to, bs, t);
  } else {
    t.error = "Node did not start: \"" + run.ready_line + "\"";
  }
  ::kill(child.pid, SIGTERM);
  run.status = co_await netxx_test::reap(child.pid);
  net::loop::current().close_now(child.out);
}

// --- our own echo server -----------------------------------------------------

struct echo_result {
  bool done = false;
  std::string error;
};

net::task<> echo_one(net::server& srv, echo_result& r) {
  try {
    net::socket s = co_await srv.accept();
    std::vector<std::byte> buf(64 * 1024);
    while (std::size_t n = co_await s.read(buf)) co_await s.write(std::span<const std::byte>(buf).first(n));
    co_await s.end();
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  r.done = true;
}

net::task<> against_us(net::server& srv, net::connect_options to, byte_stream bs, transfer& t, echo_result& r) {
  net::spawn(echo_one(srv, r));
  co_await round_trip(to, bs, t);
  for (int i = 0; i < 1000 && !r.done; ++i) co_await net::sleep(1);
}

}  // namespace

TEST_CASE("net::connect to a Node v23.5.0 echo server: 100 MiB written and read at once come back unchanged",
          "[node][interop][client]") {
  if (netxx_test::node_binary().empty())
    NETXX_SKIP(netxx_test::node_unavailable());
  net::loop::current();
  const int fds_before = netxx_test::open_fds();
  struct place {
    const char* what;
    std::string host, path;
  };
  const std::vector<place> places{{"TCP 127.0.0.1", "127.0.0.1", {}},
                                  {"Unix path", {}, netxx_test::temp_path("client-node.sock")}};
  for (const place& p : places) {
    CAPTURE(p.what);
    netxx_test::node_child child =
        netxx_test::spawn_node(script_file(), {p.path.empty() ? p.host : "path", p.path.empty() ? "" : p.path});
    transfer t;
    node_run run;
    netxx_test::run_bounded(against_node(p.host, p.path, child, byte_stream{0xc11e47}, t, run), 60'000);
    report(p.what, t);
    if (!p.path.empty()) std::filesystem::remove(p.path);  // Node killed by SIGTERM leaves its socket file
    check(t);
    CHECK(WIFSIGNALED(run.status));
    CHECK(WTERMSIG(run.status) == SIGTERM);
  }
  netxx_test::settle();
  CHECK(netxx_test::open_fds() == fds_before);
}

TEST_CASE("net::connect to our own echo server in the same process: 100 MiB over TCP ::1 and over a Unix socket",
          "[interop][client][server]") {
  net::loop::current();
  const int fds_before = netxx_test::open_fds();
  {
    INFO("TCP ::1");
    auto srv = net::create_server();
    srv.listen({.port = 0, .host = "::1"});
    net::connect_options to{.port = srv.address()->port, .host = "::1"};
    transfer t;
    echo_result r;
    netxx_test::run_bounded(against_us(srv, to, byte_stream{6}, t, r), 60'000);
    report("our server, TCP ::1", t);
    check(t);
    CHECK(r.done);
    CHECK(r.error.empty());
    srv.close();
    netxx_test::settle();
  }
  {
    INFO("Unix socket");
    const std::string path = netxx_test::temp_path("client-us.sock");
    auto srv = net::create_server();
    net::listen_options lo{.path = path};
    srv.listen(lo);
    net::connect_options to{.path = path};
    transfer t;
    echo_result r;
    netxx_test::run_bounded(against_us(srv, to, byte_stream{7}, t, r), 60'000);
    report("our server, Unix socket", t);
    check(t);
    CHECK(r.done);
    CHECK(r.error.empty());
    srv.close();
    netxx_test::settle();
    CHECK_FALSE(std::filesystem::exists(path));  // the server removes its socket file on close
  }
  CHECK(netxx_test::open_fds() == fds_before);
}
