// Node v23.5.0 as a real peer of net.Server and the socket stream core
// (issue 4, awaitable face): a Node client against our echo server, and our
// client against a Node echo server, over IPv4, IPv6 and a Unix socket path.
// Skips (exit 77) when NETXX_NODE23 does not name an executable
// (scripts/fetch-node.sh fetches Node and prints its path).
#include <arpa/inet.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
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

std::string node_binary() {
  const char* p = std::getenv("NETXX_NODE23");
  if (!p || !*p || ::access(p, X_OK) != 0) return {};
  return p;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("netxx-" + std::to_string(::getpid()) + "-" + name)).string();
}

// The script, written once per process to a temp file, removed at exit.
const std::string& script_file() {
  struct file {
    std::string path = temp_path("peer.js");
    file() { std::ofstream(path) << node_script; }
    ~file() { std::filesystem::remove(path); }
  };
  static file f;
  return f.path;
}

// A Node child. Its stdout is one end of a socketpair (not a pipe), so the
// loop's recv works on it with both backends.
struct node_child {
  pid_t pid = -1;
  int out = -1;  // our end: non-blocking, close with the loop's close_now
};

node_child spawn_node(const std::vector<std::string>& args) {
  const std::string node = node_binary();
  std::vector<std::string> all{node, script_file()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw std::runtime_error("socketpair failed");
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // Node dies with the test
    if (::getppid() != parent) ::_exit(127);
    ::dup2(sv[1], STDOUT_FILENO);  // dup2 drops FD_CLOEXEC on the copy
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(sv[1]);
  ::fcntl(sv[0], F_SETFL, O_NONBLOCK);
  return {pid, sv[0]};
}

// Reads the child's stdout until a newline (the rest stays in `pending`).
net::task<std::string> read_line(int fd, std::string& pending) {
  auto& loop = net::loop::current();
  std::array<std::byte, 256> buf;
  for (;;) {
    if (auto nl = pending.find('\n'); nl != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      co_return line;
    }
    const net::io_result r = co_await loop.recv(fd, buf);
    if (!r.ok() || r.value() == 0) {
      std::string rest = std::move(pending);
      pending.clear();
      co_return rest;
    }
    pending.append(netxx_test::text(std::span(buf).first(r.value())));
  }
}

// Reads the child's stdout to its end (the child exited or closed it).
net::task<std::string> read_all(int fd) {
  auto& loop = net::loop::current();
  std::string out;
  std::array<std::byte, 256> buf;
  for (;;) {
    const net::io_result r = co_await loop.recv(fd, buf);
    if (!r.ok() || r.value() == 0) break;
    out.append(netxx_test::text(std::span(buf).first(r.value())));
  }
  co_return out;
}

// Reaps the child without blocking the loop.
net::task<int> reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) co_await net::sleep(5);
  co_return status;
}

// The same seeded pseudo-random stream for writing and for checking (see
// server_load_test.cpp): byte p is byte p % 8 of splitmix64 of word p / 8.
struct byte_stream {
  std::uint64_t seed = 0;
  std::uint64_t word(std::uint64_t i) const noexcept {
    std::uint64_t z = (seed << 40) + i + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  void fill(std::uint64_t pos, std::span<std::byte> out) const noexcept {
    std::size_t k = 0;
    while (k < out.size()) {
      const std::uint64_t p = pos + k;
      const std::uint64_t w = word(p / 8);
      const std::size_t from = static_cast<std::size_t>(p % 8);
      const std::size_t n = std::min<std::size_t>(8 - from, out.size() - k);
      std::memcpy(out.data() + k, reinterpret_cast<const unsigned char*>(&w) + from, n);
      k += n;
    }
  }
};

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
  auto& loop = net::loop::current();
  sockaddr_storage ss{};
  socklen_t len = 0;
  int domain = AF_UNIX;
  if (!p.path.empty()) {
    auto* un = reinterpret_cast<sockaddr_un*>(&ss);
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, p.path.c_str(), p.path.size() + 1);
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + p.path.size() + 1);
  } else if (p.host.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    ::inet_pton(AF_INET6, p.host.c_str(), &a->sin6_addr);
    len = sizeof(sockaddr_in6);
    domain = AF_INET6;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    ::inet_pton(AF_INET, p.host.c_str(), &a->sin_addr);
    len = sizeof(sockaddr_in);
    domain = AF_INET;
  }
  const int fd = ::socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  const net::io_result r = co_await loop.connect(fd, reinterpret_cast<const sockaddr*>(&ss), len);
  if (!r.ok()) {
    loop.close_now(fd);
    throw net::error::from_syscall("connect", r.error());
  }
  co_return net::socket::adopt(loop, fd, domain);
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

net::task<> write_stream(net::socket s, byte_stream bs, std::uint64_t total, client_outcome& out) {
  try {
    std::mt19937 rng(static_cast<unsigned>(bs.seed));
    std::vector<std::byte> buf(64 * 1024);
    std::uint64_t off = 0;
    while (off < total) {
      const std::size_t want = 1 + rng() % (std::size_t{1} << (rng() % 17));  // log-uniform, 1 B to 64 KiB
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(total - off, want));
      auto chunk = std::span(buf).first(n);
      bs.fill(off, chunk);
      co_await s.write(std::span<const std::byte>(chunk));
      off += n;
    }
    out.written = off;
    co_await s.end();
  } catch (const std::exception& e) {
    out.error += std::string("write: ") + e.what();
  }
}

net::task<> our_client_run(const place& p, node_child child, std::uint64_t total, client_outcome& out) {
  auto& loop = net::loop::current();
  std::string pending;
  out.ready_line = co_await read_line(child.out, pending);
  try {
    const auto port = p.path.empty() ? static_cast<std::uint16_t>(std::stoi(out.ready_line)) : std::uint16_t{0};
    net::socket s = co_await connect_to(p, port);
    const byte_stream bs{0x4e6f6465};  // "Node"
    net::spawn(write_stream(s, bs, total, out));
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

// Runs the loop for a moment, so what close() left for the next turn (Node
// emits 'close' on a later tick; the server's state, and its descriptors, live
// until then) has run before descriptors are counted.
void settle() {
  netxx_test::run_bounded([]() -> net::task<> { co_await net::sleep(1); }(), 5'000);
}

}  // namespace

TEST_CASE("a Node v23.5.0 client gets every byte back from our echo server", "[node][interop][server]") {
  if (node_binary().empty()) NETXX_SKIP("NETXX_NODE23 is not set to a Node v23.5.0 binary (scripts/fetch-node.sh)");
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
  if (node_binary().empty()) NETXX_SKIP("NETXX_NODE23 is not set to a Node v23.5.0 binary (scripts/fetch-node.sh)");
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
