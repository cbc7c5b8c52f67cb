// Node v23.5.0 as a real peer of net.Server and the socket stream core
// (issue 4, awaitable face): a Node client against our echo server, and our
// client against a Node echo server, over IPv4, IPv6 and a Unix socket path.
// Skips (exit 77) when NETXX_NODE23 does not name a Node v23.5.0
// (scripts/fetch-node.sh fetches Node and prints its path).
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "net_test.hpp"

namespace {

// Node's side of both tests. Client mode: connects, writes `total` bytes of a
// seeded xorshift32 stream in random-sized writes (honouring backpressure),
// ends, collects the echo until 'end', compares, prints "OK <bytes>" or
// "MISMATCH <bytes>". Server mode: an echo server (c.pipe(c)) that prints its
// port (or "ready" for a path) once listening.
constexpr std::string_view node_script = R"JS('use strict';
const net = require('net');
const [mode, kind, where, totalArg, seedArg] = process.argv.slice(2);
if (mode === 'client') {
  const N = Number(totalArg);
  let s = (Number(seedArg) >>> 0) || 1;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  const data = Buffer.allocUnsafe(N);
  for (let i = 0; i < N; i++) data[i] = rnd() & 0xff;
  const c = net.connect(kind === 'path' ? { path: where } : { host: kind, port: Number(where) });
  const chunks = [];
  c.on('data', (d) => chunks.push(d));
  c.on('end', () => {
    const all = Buffer.concat(chunks);
    const ok = all.equals(data);
    process.stdout.write((ok ? 'OK ' : 'MISMATCH ') + all.length + '\n');
    process.exitCode = ok ? 0 : 1;
  });
  c.on('error', (e) => { process.stdout.write('ERROR ' + e.code + '\n'); process.exitCode = 2; });
  c.on('connect', () => {
    let off = 0;
    const pump = () => {
      while (off < N) {
        const n = Math.min(N - off, 1 + (rnd() % 65536));
        const more = c.write(data.subarray(off, off + n));
        off += n;
        if (!more) { c.once('drain', pump); return; }
      }
      c.end();
    };
    pump();
  });
} else {
  const server = net.createServer((c) => { c.on('error', () => {}); c.pipe(c); });
  const ready = () => process.stdout.write((kind === 'path' ? 'ready' : String(server.address().port)) + '\n');
  if (kind === 'path') server.listen(where, ready); else server.listen(0, kind, ready);
}
)JS";

using netxx_test::byte_stream;
using netxx_test::node_binary;
using netxx_test::node_child;
using netxx_test::read_all;
using netxx_test::read_line;
using netxx_test::reap;
using netxx_test::settle;
using netxx_test::temp_path;

// The script, written once per process to a temp file, removed at exit.
const std::string& script_file() {
  static netxx_test::temp_file f("peer.js", node_script);
  return f.path;
}

node_child spawn_node(const std::vector<std::string>& args) { return netxx_test::spawn_node(script_file(), args); }

// Where a test listens or connects: "127.0.0.1", "::1", or a Unix path.
struct place {
  const char* what;
  std::string host;  // empty for the Unix path
  std::string path;
};

std::vector<place> places() {
  return {{"IPv4", "127.0.0.1", {}}, {"IPv6", "::1", {}}, {"Unix path", {}, temp_path("node-peer.sock")}};
}

// A non-blocking socket connected with the loop's connect to host:port or path.
net::task<net::socket> connect_to(const place& p, std::uint16_t port) {
  const netxx_test::raw_address to = netxx_test::make_address(p.host, port, p.path);
  const int fd = co_await netxx_test::connect_raw(to);
  if (fd < 0) throw net::error::from_syscall("connect", net::errno_code(-fd));
  co_return net::socket::adopt(net::loop::current(), fd, to.domain);
}

// --- a Node client, our echo server ------------------------------------------

struct echo_outcome {
  std::string node_stdout;
  int status = -1;
  std::uint64_t echoed = 0;
  bool echo_done = false;
  std::string server_error;
};

net::task<> echo_once(net::server& srv, echo_outcome& out) {
  try {
    net::socket s = co_await srv.accept();
    std::vector<std::byte> buf(64 * 1024);
    while (std::size_t n = co_await s.read(buf)) co_await s.write(std::span<const std::byte>(buf).first(n));
    co_await s.end();
    out.echoed = s.bytes_written();
  } catch (const std::exception& e) {
    out.server_error = e.what();
  }
  out.echo_done = true;
}

net::task<> node_client_run(net::server& srv, node_child child, echo_outcome& out) {
  net::spawn(echo_once(srv, out));
  out.node_stdout = co_await read_all(child.out);
  net::loop::current().close_now(child.out);
  out.status = co_await reap(child.pid);
  for (int i = 0; i < 200 && !out.echo_done; ++i) co_await net::sleep(5);
  if (!out.echo_done) {  // Node never connected, or the echo is stuck: wake it so it does not outlive `out`
    srv.close();
    while (!out.echo_done) co_await net::sleep(5);
  }
}

// --- our client, a Node echo server ------------------------------------------

struct client_outcome {
  std::string ready_line;
  std::uint64_t written = 0;
  std::uint64_t read = 0;
  bool same = true;
  std::string error;
  int status = -1;
};

net::task<> our_client_run(const place& p, node_child child, std::uint64_t total, client_outcome& out) {
  auto& loop = net::loop::current();
  std::string pending;
  out.ready_line = co_await read_line(child.out, pending);
  try {
    const auto port = p.path.empty() ? static_cast<std::uint16_t>(std::stoi(out.ready_line)) : std::uint16_t{0};
    net::socket s = co_await connect_to(p, port);
    const byte_stream bs{0x4e6f6465};  // "Node"
    net::spawn(netxx_test::write_stream(s, bs, total, static_cast<unsigned>(bs.seed), out.written, out.error));
    std::vector<std::byte> buf(64 * 1024), want(64 * 1024);
    while (std::size_t n = co_await s.read(buf)) {
      if (out.same) {
        bs.fill(out.read, std::span(want).first(n));
        if (std::memcmp(want.data(), buf.data(), n) != 0) out.same = false;
      }
      out.read += n;
    }
    s.destroy();
  } catch (const std::exception& e) {
    out.error += std::string(" client: ") + e.what();
  }
  ::kill(child.pid, SIGTERM);
  out.status = co_await reap(child.pid);
  loop.close_now(child.out);
}

}  // namespace

TEST_CASE("a Node v23.5.0 client gets every byte back from our echo server", "[node][interop][server]") {
  if (node_binary().empty()) NETXX_SKIP(netxx_test::node_unavailable());
  constexpr std::uint64_t total = 8 * 1024 * 1024;
  net::loop::current();
  const int fds_before = netxx_test::open_fds();
  for (const place& p : places()) {
    CAPTURE(p.what);
    auto srv = net::create_server();
    if (p.path.empty()) {
      net::listen_options o{.port = 0, .host = p.host};
      srv.listen(o);
    } else {
      net::listen_options o{.path = p.path};
      srv.listen(o);
    }
    const std::string where = p.path.empty() ? std::to_string(srv.address()->port) : p.path;
    const auto t0 = std::chrono::steady_clock::now();
    node_child child = spawn_node({"client", p.path.empty() ? p.host : "path", where, std::to_string(total), "12345"});
    echo_outcome out;
    netxx_test::run_bounded(node_client_run(srv, child, out), 60'000);
    std::fprintf(stderr, "[%s] Node client, %s: %.2f s\n", netxx_test::requested_backend().c_str(), p.what,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    CHECK(out.node_stdout == "OK " + std::to_string(total) + "\n");
    CHECK(WIFEXITED(out.status));
    CHECK(WEXITSTATUS(out.status) == 0);
    CHECK(out.server_error.empty());
    CHECK(out.echo_done);
    CHECK(out.echoed == total);
    if (srv.listening()) srv.close();
    settle();
  }
  CHECK(netxx_test::open_fds() == fds_before);
}

TEST_CASE("our client against a Node v23.5.0 echo server moves the bytes unchanged", "[node][interop][socket]") {
  if (node_binary().empty()) NETXX_SKIP(netxx_test::node_unavailable());
  constexpr std::uint64_t total = 16 * 1024 * 1024;
  net::loop::current();
  const int fds_before = netxx_test::open_fds();
  for (const place& p : places()) {
    CAPTURE(p.what);
    const auto t0 = std::chrono::steady_clock::now();
    node_child child = spawn_node({"server", p.path.empty() ? p.host : "path", p.path});
    client_outcome out;
    netxx_test::run_bounded(our_client_run(p, child, total, out), 60'000);
    std::fprintf(stderr, "[%s] Node echo server, %s: %.2f s\n", netxx_test::requested_backend().c_str(), p.what,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (!p.path.empty()) std::filesystem::remove(p.path);  // Node killed by SIGTERM leaves its socket file
    CHECK(out.error.empty());
    CHECK((p.path.empty() ? out.ready_line != "ready" : out.ready_line == "ready"));
    CHECK(out.written == total);
    CHECK(out.read == total);
    CHECK(out.same);
    CHECK(WIFSIGNALED(out.status));
    CHECK(WTERMSIG(out.status) == SIGTERM);
  }
  CHECK(netxx_test::open_fds() == fds_before);
}
