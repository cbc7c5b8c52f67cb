// socket.write() and every path that feeds the write engine: a write made in
// "connect" or "ready", from a write's own callback, from "drain", awaited,
// end(data), destroySoon(), pipe(). Each byte written must arrive exactly
// once, in program order; each callback must run exactly once.
//
// The regression tests are named after what they guard: a write the kernel
// did not take at once was started a second time when it was made inside
// "connect"/"ready" or from a write callback (io_uring: the same buffers in a
// second sendmsg, the peer got 12 bytes for "hello\n"; epoll: the op linked
// twice, the client hung, then spun at 100% CPU once the socket closed).
// Each runs against a Node v23.5.0 server (it hashes what arrives with
// sha256; skipped without NETXX_NODE23) and against a netxx reader.
//
// The randomized test runs seeded programs of writes from every context over
// TCP 127.0.0.1, ::1 and a Unix socket, to a netxx reader that pauses (so the
// writer meets backpressure and the slow path is taken often) and, for a
// share of them, to Node. NETXX_WRITE_SEED=<n> and NETXX_WRITE_PROGRAMS=<n>
// reproduce or scale it (default 2,000 programs; 400 under a sanitizer);
// NETXX_WRITE_ONLY=<index> runs one program of the seed, and prints it;
// NETXX_WRITE_MAX_FAILURES=<n> (default 3) programs fail before it stops.
#include <sys/resource.h>
#include <sys/socket.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "net_test.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define NETXX_WRITE_TEST_SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define NETXX_WRITE_TEST_SANITIZED 1
#  endif
#endif

namespace {

using netxx_test::byte_stream;
using netxx_test::bytes;

constexpr std::size_t KiB = 1024, MiB = 1024 * 1024;

// --- sha256 (FIPS 180-4), to compare with what Node's crypto computed ----------------

class sha256 {
 public:
  void update(std::span<const std::byte> d) {
    for (std::byte b : d) {
      block_[used_++] = static_cast<std::uint8_t>(b);
      if (used_ == 64) compress(), used_ = 0;
    }
    length_ += d.size();
  }
  std::string hex() {
    const std::uint64_t bits = length_ * 8;
    const std::byte one{0x80}, zero{0};
    update(std::span(&one, 1));
    while (used_ != 56) update(std::span(&zero, 1));
    for (int i = 7; i >= 0; --i) block_[used_++] = static_cast<std::uint8_t>(bits >> (8 * i));
    compress();
    std::string out;
    char buf[9];
    for (std::uint32_t v : h_) std::snprintf(buf, sizeof buf, "%08" PRIx32, v), out += buf;
    return out;
  }

 private:
  static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void compress() {
    static constexpr std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = std::uint32_t{block_[4 * i]} << 24 | std::uint32_t{block_[4 * i + 1]} << 16 |
             std::uint32_t{block_[4 * i + 2]} << 8 | block_[4 * i + 3];
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h_[0] += a, h_[1] += b, h_[2] += c, h_[3] += d, h_[4] += e, h_[5] += f, h_[6] += g, h_[7] += h;
  }
  std::uint32_t h_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::uint8_t block_[64] = {};
  std::size_t used_ = 0;
  std::uint64_t length_ = 0;
};

std::string sha256_of(std::string_view s) {
  sha256 h;
  h.update(bytes(s));
  return h.hex();
}

// sha256 of bytes [0, n) of bs.
std::string sha256_of(const byte_stream& bs, std::uint64_t n) {
  sha256 h;
  std::vector<std::byte> buf(256 * KiB);
  for (std::uint64_t off = 0; off < n;) {
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), n - off));
    bs.fill(off, std::span(buf).first(k));
    h.update(std::span(buf).first(k));
    off += k;
  }
  return h.hex();
}

// --- where the peers listen -------------------------------------------------------

enum class transport { tcp4, tcp6, unix_path };
constexpr transport all_transports[] = {transport::tcp4, transport::tcp6, transport::unix_path};
const char* name(transport t) { return t == transport::tcp4 ? "TCP 127.0.0.1" : t == transport::tcp6 ? "TCP ::1" : "Unix"; }

struct endpoints {
  std::uint16_t port4 = 0, port6 = 0;
  std::string path;
  net::connect_options to(transport t) const {
    if (t == transport::tcp4) return {.port = port4, .host = "127.0.0.1"};
    if (t == transport::tcp6) return {.port = port6, .host = "::1"};
    return {.path = path};
  }
};

// --- the Node peer ------------------------------------------------------------------

// Listens on 127.0.0.1, ::1 and a Unix path, prints "<port4> <port6>", then
// for each connection one line "<remotePort or -> <bytes> <sha256> <how>"
// when it ends ("end": the peer's FIN, then Node ends too), fails or closes.
// mode "count": reads everything (pausing now and then when "pause" is
// given); "reset": resetAndDestroy() once `resetAfter` bytes came; "echo":
// c.pipe(c), no report.
constexpr std::string_view node_peer_js = R"JS('use strict';
const net = require('net');
const crypto = require('crypto');
const [mode, path, resetAfterArg, pauseArg] = process.argv.slice(2);
const resetAfter = Number(resetAfterArg || 0);
const pausing = pauseArg === 'pause';
function onConnection(c) {
  if (mode === 'echo') { c.on('error', () => {}); c.pipe(c); return; }
  const port = c.remotePort === undefined ? '-' : String(c.remotePort);
  const h = crypto.createHash('sha256');
  let n = 0, done = false;
  const report = (how) => {
    if (done) return;
    done = true;
    process.stdout.write(`${port} ${n} ${h.digest('hex')} ${how}\n`);
  };
  c.on('data', (d) => {
    if (done) return;
    h.update(d);
    n += d.length;
    if (mode === 'reset' && n >= resetAfter) { report('reset'); c.resetAndDestroy(); return; }
    if (pausing && Math.random() < 0.05) {
      c.pause();
      setTimeout(() => c.resume(), 1 + Math.floor(Math.random() * 4));
    }
  });
  c.on('end', () => { report('end'); c.end(); });
  c.on('error', (e) => report('error:' + e.code));
  c.on('close', () => report('close'));
}
const s4 = net.createServer(onConnection), s6 = net.createServer(onConnection), su = net.createServer(onConnection);
let pending = 3;
const ready = () => { if (--pending === 0) process.stdout.write(`${s4.address().port} ${s6.address().port}\n`); };
s4.listen(0, '127.0.0.1', ready);
s6.listen(0, '::1', ready);
su.listen(path, ready);
)JS";

const std::string& node_script() {
  static netxx_test::temp_file f("write-peer.js", node_peer_js);
  return f.path;
}

/// What a peer saw of one connection.
struct peer_report {
  std::string port;  // the client's port, "-" on a Unix socket
  std::uint64_t bytes = 0;
  std::string sha;
  std::string how;  // "end", "reset", "close", "error:ECONNRESET"...
};

/// A Node v23.5.0 peer, its report lines collected on the loop as they come.
class node_peer {
 public:
  node_peer(const std::string& mode, const std::string& tag, std::uint64_t reset_after = 0, bool pause = false) {
    where_.path = netxx_test::temp_path("write-" + tag + ".sock");
    std::filesystem::remove(where_.path);
    child_ = netxx_test::spawn_node(node_script(),
                                    {mode, where_.path, std::to_string(reset_after), pause ? "pause" : "steady"});
    const std::string first = netxx_test::run_bounded(netxx_test::read_line(child_.out, pending_), 20'000);
    std::istringstream in(first);
    in >> where_.port4 >> where_.port6;
    if (!where_.port4 || !where_.port6) {
      failed_ = "Node did not start: \"" + first + "\"";
      return;
    }
    net::spawn(pump());
  }
  node_peer(const node_peer&) = delete;
  ~node_peer() {
    ::kill(child_.pid, SIGKILL);
    if (pumping_) netxx_test::run_until([&] { return !pumping_; }, 10'000);
    netxx_test::kill_child(child_);
    std::filesystem::remove(where_.path);
  }
  const std::string& failed() const { return failed_; }
  const endpoints& where() const { return where_; }

  /// The next report, waiting for it (on the loop) up to limit_ms.
  net::task<std::optional<peer_report>> next(std::int64_t limit_ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
    while (lines_.empty() && pumping_ && std::chrono::steady_clock::now() < until) co_await net::sleep(1);
    if (lines_.empty()) co_return std::nullopt;
    peer_report r;
    std::istringstream in(lines_.front());
    lines_.pop_front();
    in >> r.port >> r.bytes >> r.sha >> r.how;
    co_return r;
  }
  /// The report of the connection from local port `port` ("-" for Unix),
  /// skipping reports of earlier connections.
  net::task<std::optional<peer_report>> report_of(std::string port, std::int64_t limit_ms) {
    for (;;) {
      auto r = co_await next(limit_ms);
      if (!r || port == "-" || r->port == port) co_return r;
    }
  }

 private:
  net::task<> pump() {
    pumping_ = true;
    for (;;) {
      std::string line = co_await netxx_test::read_line(child_.out, pending_);
      if (line.empty()) break;  // Node's output closed: it is gone
      lines_.push_back(std::move(line));
    }
    pumping_ = false;
  }
  netxx_test::node_child child_;
  endpoints where_;
  std::string pending_, failed_;
  std::deque<std::string> lines_;
  bool pumping_ = false;
};

// --- the netxx reader -----------------------------------------------------------------

/// What the netxx reader does with one connection, and what it saw.
struct reader_job {
  std::optional<byte_stream> expect;  // check every byte against it (else keep the first bytes in `head`)
  std::uint64_t reset_after = 0;      // > 0: reset_and_destroy() once that many bytes came
  unsigned pause_every = 0;           // > 0: sleep 1-3 ms after every pause_every-th read
  std::size_t read_size = 64 * KiB;
  int rcvbuf = 0;                     // > 0: SO_RCVBUF of the accepted socket
  std::uint32_t seed = 1;
  // What it saw:
  std::uint64_t bytes = 0;
  bool same = true;
  std::string head;
  bool fin = false;
  std::string error;
  bool done = false;
};

net::task<> read_one(net::socket c, std::shared_ptr<reader_job> j) {
  try {
    if (j->rcvbuf > 0) ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &j->rcvbuf, sizeof j->rcvbuf);
    std::mt19937 rng(j->seed);
    std::vector<std::byte> buf(j->read_size);
    unsigned reads = 0;
    while (std::size_t n = co_await c.read(buf)) {
      const auto got = std::span<const std::byte>(buf).first(n);
      if (j->expect) {
        if (j->same && !j->expect->matches(j->bytes, got)) j->same = false;
      } else if (j->head.size() < 256) {
        j->head.append(netxx_test::text(got.first(std::min<std::size_t>(n, 256 - j->head.size()))));
      }
      j->bytes += n;
      if (j->reset_after && j->bytes >= j->reset_after) {
        c.reset_and_destroy();
        j->done = true;
        co_return;
      }
      if (j->pause_every && ++reads % j->pause_every == 0) co_await net::sleep(1 + rng() % 3);
    }
    j->fin = true;
    co_await c.end();
  } catch (const std::exception& e) {
    j->error = e.what();
  }
  j->done = true;
}

/// A netxx server on 127.0.0.1, ::1 and a Unix path; each connection takes
/// the job set for it (expect()), or is read and dropped.
class netxx_reader {
 public:
  explicit netxx_reader(const std::string& tag) {
    where_.path = netxx_test::temp_path("write-" + tag + "-us.sock");
    std::filesystem::remove(where_.path);
    for (auto* s : {&s4_, &s6_, &su_})
      *s = net::create_server([this](net::socket c) {
        auto j = std::exchange(next_, nullptr);
        net::spawn(read_one(std::move(c), j ? j : std::make_shared<reader_job>()));
      });
    s4_.listen({.port = 0, .host = "127.0.0.1"});
    s6_.listen({.port = 0, .host = "::1"});
    net::listen_options lo{.path = where_.path};
    su_.listen(lo);
    where_.port4 = s4_.address()->port;
    where_.port6 = s6_.address()->port;
  }
  netxx_reader(const netxx_reader&) = delete;
  ~netxx_reader() {
    int closed = 0;
    for (auto* s : {&s4_, &s6_, &su_}) s->close([&](std::error_code) { ++closed; });
    netxx_test::run_until([&] { return closed == 3; }, 10'000);
    netxx_test::settle();
  }
  const endpoints& where() const { return where_; }
  /// The job of the next connection accepted.
  void expect(std::shared_ptr<reader_job> j) { next_ = std::move(j); }

 private:
  endpoints where_;
  net::server s4_, s6_, su_;
  std::shared_ptr<reader_job> next_;
};

// --- a client's log ---------------------------------------------------------------------

/// What the client saw: its errors, "close", and each callback's calls.
struct client_log {
  std::vector<std::string> errors;
  int closes = 0;
  bool had_error = false;
  std::vector<int> cb_calls;          // per callback: how many times it ran
  std::vector<std::string> cb_errors;
  std::string port = "-";             // the client's local port, read in "connect" before anything is written
  /// A callback for the log: counts its calls, records an error.
  net::write_callback callback(std::function<void()> then = {}) {
    const std::size_t i = cb_calls.size();
    cb_calls.push_back(0);
    return [this, i, then = std::move(then)](std::error_code ec) {
      ++cb_calls[i];
      if (ec) cb_errors.push_back("callback " + std::to_string(i) + ": " + ec.message());
      if (then && cb_calls[i] == 1) then();
    };
  }
  void watch(net::socket& s) {
    // Flowing, as a Node client that wants to see the peer's end: a socket
    // that never reads never emits "end", so never closes.
    s.on("data", [](std::span<const std::byte>) {});
    // The first "connect" listener: a later one may write, and a write that
    // fails at once (the peer reset) closes the socket, and its port with it.
    s.on("connect", [this, s] { port = std::to_string(s.local_port()); });
    s.on("error", [this](const net::error& e) { errors.emplace_back(e.what()); });
    s.on("close", [this](bool err) {
      ++closes;
      had_error = had_error || err;
    });
  }
  bool callbacks_once() const {
    return std::all_of(cb_calls.begin(), cb_calls.end(), [](int n) { return n == 1; });
  }
  std::string describe() const {
    std::ostringstream o;
    o << "closes=" << closes << " had_error=" << had_error << " errors=[";
    for (auto& e : errors) o << e << "; ";
    o << "] callbacks=[";
    for (int n : cb_calls) o << n << ' ';
    o << "] callback errors=[";
    for (auto& e : cb_errors) o << e << "; ";
    return o.str() + "]";
  }
};

/// Runs the loop until done() or limit_ms: false when the time ran out. The
/// loop's timers still run when a socket hangs, so a hang is a failure
/// here, not an abort.
template <typename Pred>
bool run_for(Pred done, std::int64_t limit_ms) {
  auto body = [&]() -> net::task<bool> {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
    while (!done()) {
      if (std::chrono::steady_clock::now() >= until) co_return false;
      co_await net::sleep(1);
    }
    co_return true;
  };
  return netxx_test::run_bounded(body(), limit_ms + 30'000);
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

bool have_node() { return !netxx_test::node_binary().empty(); }

// The bytes [off, off + n) of bs, as a buffer a write copies from.
std::vector<std::byte> chunk_of(const byte_stream& bs, std::uint64_t off, std::size_t n) {
  std::vector<std::byte> v(n);
  bs.fill(off, v);
  return v;
}

// --- the regression cases, on either peer -------------------------------------------------

enum class peer_kind { node, netxx };
const char* name(peer_kind p) { return p == peer_kind::node ? "Node v23.5.0 server" : "netxx reader"; }

/// One client run: `start` connects and writes (it gets the log); then the
/// loop runs until "close" and the peer's report, within limit_ms. The
/// peer's view comes back as a report either way.
struct run_outcome {
  bool closed_in_time = false;
  std::optional<peer_report> peer;
  std::shared_ptr<reader_job> job;  // the netxx reader's, when it was the peer
};

run_outcome run_client(peer_kind pk, transport t, node_peer* node, netxx_reader* reader,
                       std::shared_ptr<reader_job> job, client_log& log,
                       const std::function<net::socket(const net::connect_options&)>& start,
                       std::int64_t limit_ms = 10'000) {
  run_outcome out;
  const endpoints& ep = pk == peer_kind::node ? node->where() : reader->where();
  if (pk == peer_kind::netxx) reader->expect(job);
  out.job = job;
  net::socket s = start(ep.to(t));
  out.closed_in_time = run_for([&] { return log.closes > 0 && (pk == peer_kind::node || job->done); }, limit_ms);
  if (!out.closed_in_time) s.destroy();  // free the peer, and let the loop settle
  // Node names a Unix client by no port: any report is this one's.
  const std::string port = t == transport::unix_path ? std::string("-") : log.port;
  if (pk == peer_kind::node) {
    out.peer = netxx_test::run_bounded(node->report_of(port, out.closed_in_time ? 5'000 : 1'000), 30'000);
  } else {
    run_for([&] { return job->done; }, 2'000);
    out.peer = peer_report{port, job->bytes, "", job->fin ? "end" : job->error.empty() ? "close" : job->error};
  }
  run_for([&] { return log.closes > 0; }, 1'000);
  // The listeners and callbacks log into `log`, which the caller is about to drop.
  s.remove_all_listeners();
  if (!s.destroyed()) s.destroy();
  netxx_test::settle();
  return out;
}

/// The peers of a regression test: a Node server when Node can be had, and a netxx reader.
std::vector<peer_kind> peers() {
  if (have_node()) return {peer_kind::node, peer_kind::netxx};
  WARN("Node v23.5.0 side skipped: " << netxx_test::node_unavailable());
  return {peer_kind::netxx};
}

}  // namespace

TEST_CASE("write(\"hello\\n\", cb) inside \"connect\" arrives as exactly those 6 bytes, and cb runs once",
          "[write][regression]") {
  std::optional<node_peer> node;
  if (have_node()) node.emplace("count", "hello");
  if (node && !node->failed().empty()) FAIL(node->failed());
  netxx_reader reader("hello");
  for (peer_kind pk : peers())
    for (transport t : all_transports) {
      CAPTURE(name(pk), name(t));
      client_log log;
      auto job = std::make_shared<reader_job>();
      auto out = run_client(pk, t, node ? &*node : nullptr, &reader, job, log, [&](const net::connect_options& to) {
        net::socket c = net::connect(to);
        log.watch(c);
        c.on("connect", [&log, c]() mutable { c.write("hello\n", log.callback([c]() mutable { c.end(); })); });
        return c;
      });
      CHECK(out.closed_in_time);
      INFO(log.describe());
      CHECK(log.errors.empty());
      CHECK(log.cb_calls == std::vector<int>{1});
      CHECK(log.cb_errors.empty());
      CHECK(log.closes == 1);
      REQUIRE(out.peer);
      CHECK(out.peer->bytes == 6);
      CHECK(out.peer->how == "end");
      if (pk == peer_kind::node) CHECK(out.peer->sha == sha256_of("hello\n"));
      else CHECK(job->head == "hello\n");
    }
}

TEST_CASE("128 writes of 64 KiB, each from the previous write's callback, arrive once: 8 MiB, byte-exact",
          "[write][regression]") {
  std::optional<node_peer> node;
  if (have_node()) node.emplace("count", "chain");
  if (node && !node->failed().empty()) FAIL(node->failed());
  netxx_reader reader("chain");
  for (peer_kind pk : peers())
    for (transport t : all_transports) {
      CAPTURE(name(pk), name(t));
      const byte_stream bs{0xc4a1};
      client_log log;
      auto job = std::make_shared<reader_job>();
      job->expect = bs;
      int written = 0;
      std::function<void(net::socket)> next;
      next = [&](net::socket c) {
        if (written == 128) {
          c.end();
          return;
        }
        const auto data = chunk_of(bs, std::uint64_t{64 * KiB} * static_cast<unsigned>(written++), 64 * KiB);
        c.write(std::span<const std::byte>(data), log.callback([&, c] { next(c); }));
      };
      auto out = run_client(pk, t, node ? &*node : nullptr, &reader, job, log, [&](const net::connect_options& to) {
        net::socket c = net::connect(to);
        log.watch(c);
        c.on("connect", [&, c] { next(c); });
        return c;
      });
      CHECK(out.closed_in_time);
      INFO(log.describe());
      CHECK(written == 128);
      CHECK(log.errors.empty());
      CHECK(log.cb_calls.size() == 128);
      CHECK(log.callbacks_once());
      CHECK(log.cb_errors.empty());
      CHECK(log.closes == 1);
      REQUIRE(out.peer);
      CHECK(out.peer->bytes == 8 * MiB);
      CHECK(out.peer->how == "end");
      if (pk == peer_kind::node) CHECK(out.peer->sha == sha256_of(bs, 8 * MiB));
      else CHECK(job->same);
    }
}

TEST_CASE("8 MiB written inside \"connect\" arrive once, byte-exact", "[write][regression]") {
  std::optional<node_peer> node;
  if (have_node()) node.emplace("count", "big");
  if (node && !node->failed().empty()) FAIL(node->failed());
  netxx_reader reader("big");
  const byte_stream bs{0xb16};
  const auto data = chunk_of(bs, 0, 8 * MiB);
  const std::string want_sha = sha256_of(bs, 8 * MiB);
  for (peer_kind pk : peers())
    for (transport t : all_transports)
      for (bool with_callback : {false, true}) {
        CAPTURE(name(pk), name(t), with_callback);
        client_log log;
        auto job = std::make_shared<reader_job>();
        job->expect = bs;
        auto out = run_client(pk, t, node ? &*node : nullptr, &reader, job, log, [&](const net::connect_options& to) {
          net::socket c = net::connect(to);
          log.watch(c);
          c.on("connect", [&, c]() mutable {
            if (with_callback)
              c.write(std::span<const std::byte>(data), log.callback());
            else
              c.write(std::span<const std::byte>(data));
            c.end();
          });
          return c;
        });
        CHECK(out.closed_in_time);
        INFO(log.describe());
        CHECK(log.errors.empty());
        CHECK(log.callbacks_once());
        CHECK(log.cb_errors.empty());
        CHECK(log.closes == 1);
        REQUIRE(out.peer);
        CHECK(out.peer->bytes == 8 * MiB);
        CHECK(out.peer->how == "end");
        if (pk == peer_kind::node) CHECK(out.peer->sha == want_sha);
        else CHECK(job->same);
      }
}

TEST_CASE("a peer that resets mid-stream while a big write is queued: error and close, the loop ends, no spin",
          "[write][regression]") {
  constexpr std::uint64_t reset_after = 1 * MiB;
  std::optional<node_peer> node;
  if (have_node()) node.emplace("reset", "reset", reset_after);
  if (node && !node->failed().empty()) FAIL(node->failed());
  netxx_reader reader("reset");
  const byte_stream bs{0x5e7};
  const auto data = chunk_of(bs, 0, 32 * MiB);  // more than any loopback buffer takes at once
  for (peer_kind pk : peers())
    for (transport t : {transport::tcp4, transport::tcp6}) {  // an RST needs TCP
      CAPTURE(name(pk), name(t));
      client_log log;
      auto job = std::make_shared<reader_job>();
      job->expect = bs;
      job->reset_after = reset_after;
      auto out = run_client(pk, t, node ? &*node : nullptr, &reader, job, log, [&](const net::connect_options& to) {
        net::socket c = net::connect(to);
        log.watch(c);
        c.on("connect", [&, c]() mutable {
          c.write(std::span<const std::byte>(data), log.callback());
          c.end();
        });
        return c;
      });
      INFO(log.describe());
      CHECK(out.closed_in_time);
      CHECK(log.closes == 1);
      CHECK(log.had_error);
      CHECK(log.errors.size() == 1);
      CHECK(log.callbacks_once());
      CHECK(log.cb_errors.size() == 1);  // the write's callback gets the error
      REQUIRE(out.peer);
      CHECK(out.peer->bytes >= reset_after);
      // The socket is closed: the loop has nothing left to do, and must not spin while it waits.
      const double cpu0 = cpu_seconds();
      run_for([] { return false; }, 300);
      const double spent = cpu_seconds() - cpu0;
      CHECK(spent < 0.15);
    }
  // And run() returns: nothing of the reset socket keeps the loop alive.
  auto done = [&]() -> net::task<> { co_await net::sleep(1); };
  netxx_test::run_bounded(done(), 10'000);
}

// Node's test/parallel/test-net-write-connect-write.js: a write before
// "connect" and one inside it, echoed back by a server that pipes.
TEST_CASE("test-net-write-connect-write: a write before connect and one inside \"connect\" echo as 'before after'",
          "[write][node-port]") {
  struct server_side {
    const char* what;
    bool node;
  };
  std::vector<server_side> servers{{"netxx echo server", false}};
  if (have_node()) servers.push_back({"Node v23.5.0 echo server", true});
  else WARN("Node v23.5.0 side skipped: " << netxx_test::node_unavailable());
  for (const auto& side : servers) {
    CAPTURE(side.what);
    std::optional<node_peer> node;
    net::server server;
    std::uint16_t port = 0;
    if (side.node) {
      node.emplace("echo", "wcw");
      REQUIRE(node->failed().empty());
      port = node->where().port4;
    } else {
      server = net::create_server([](net::socket socket) { socket.pipe(socket); });
      server.listen({.port = 0, .host = "127.0.0.1"});
      port = server.address()->port;
    }
    std::string received;
    int ends = 0;
    client_log log;
    net::socket conn = net::connect(port, "127.0.0.1");
    log.watch(conn);
    conn.set_encoding(net::encoding::utf8);
    conn.write("before");
    conn.on("connect", [conn]() mutable { conn.write(" after"); });
    conn.on("data", [&, conn](std::span<const std::byte> buf) mutable {
      received += netxx_test::text(buf);
      conn.end();
    });
    conn.on("end", [&] {
      ++ends;  // common.mustCall
      if (!side.node) server.close();
    });
    const bool in_time = run_for([&] { return log.closes > 0; }, 10'000);
    if (!in_time) conn.destroy();
    CHECK(in_time);
    CHECK(ends == 1);
    CHECK(received == "before after");
    CHECK(log.errors.empty());
    if (!side.node && server.listening()) server.close();
    netxx_test::settle();
  }
}

// --- the randomized write programs ----------------------------------------------------------

namespace {

/// How a step is reached from the one before it.
enum class via : std::uint8_t {
  sync,      // right after it, in the same listener, callback or coroutine
  callback,  // from its write callback (the step before has one)
  drain,     // from the next "drain" when the write before returned false, else sync
  tick,      // from a later tick (loop.post)
};
/// Where the program's first step is made.
enum class first_at : std::uint8_t { before_connect, on_connect, on_ready };

enum class action : std::uint8_t {
  write_cb,        // write(data, cb)
  write_no_cb,     // write(data, write_callback{}): the bool form, for "drain"
  write_plain,     // write(data) as a statement: the event style, fire and forget
  write_awaited,   // co_await write(data), from a coroutine that goes on with the program
  end_plain,       // end()                               -- the last step
  end_data,        // end(data)
  end_data_cb,     // end(data, cb)
  end_awaited,     // co_await end()
  destroy_soon,    // destroySoon()
  pipe_in,         // other.pipe(s): another socket's bytes, then its end ends s
};
bool is_last(action a) { return a >= action::end_plain; }

struct step {
  action what;
  via how;
  std::size_t size;
};

struct program {
  std::uint64_t index = 0;
  transport where = transport::tcp4;
  bool node = false;  // read by Node, else by the netxx reader
  first_at first = first_at::on_connect;
  int sndbuf = 0;     // > 0: SO_SNDBUF of the client, set in "connect"
  unsigned pause_every = 0;
  std::size_t read_size = 64 * KiB;
  int rcvbuf = 0;
  std::vector<step> steps;
  std::uint64_t total() const {
    std::uint64_t n = 0;
    for (auto& s : steps) n += s.size;
    return n;
  }
};

const char* name(action a) {
  static constexpr const char* n[] = {"write_cb",  "write_no_cb",    "write_plain", "write_awaited", "end",
                                      "end(data)", "end(data, cb)", "co_await end", "destroy_soon",  "pipe_in"};
  return n[static_cast<int>(a)];
}
const char* name(via v) {
  static constexpr const char* n[] = {"sync", "callback", "drain", "tick"};
  return n[static_cast<int>(v)];
}
const char* name(first_at f) {
  static constexpr const char* n[] = {"before connect", "in \"connect\"", "in \"ready\""};
  return n[static_cast<int>(f)];
}

std::string describe(const program& p) {
  std::ostringstream o;
  o << "program " << p.index << ": " << name(p.where) << ", read by " << (p.node ? "Node" : "netxx")
    << ", first step " << name(p.first) << ", sndbuf " << p.sndbuf << ", reader pause_every " << p.pause_every
    << " read_size " << p.read_size << " rcvbuf " << p.rcvbuf << ", " << p.total() << " bytes in " << p.steps.size()
    << " steps:";
  for (auto& s : p.steps) o << "\n    " << name(s.what) << " " << s.size << " (via " << name(s.how) << ")";
  return o.str();
}

/// Mostly small (so thousands fit), some medium, a few large enough that the
/// kernel's buffer fills.
std::size_t random_write_size(std::mt19937_64& rng) {
  const unsigned r = rng() % 1000;
  if (r < 700) return 1 + rng() % 2048;
  if (r < 940) return 1 + rng() % (64 * KiB);
  if (r < 975) return 64 * KiB + rng() % (448 * KiB);
  if (r < 998) return 512 * KiB + rng() % (512 * KiB);
  return 1 * MiB + rng() % (7 * MiB + 1);  // up to 8 MiB
}

program make_program(std::uint64_t seed, std::uint64_t index, bool node_available) {
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ull + index);
  program p;
  p.index = index;
  p.where = all_transports[rng() % 3];
  p.node = node_available && rng() % 8 == 0;
  p.first = static_cast<first_at>(rng() % 3);
  p.sndbuf = rng() % 2 ? 0 : static_cast<int>(2 * KiB + rng() % (32 * KiB));
  p.pause_every = rng() % 3 ? static_cast<unsigned>(1 + rng() % 8) : 0;
  p.read_size = rng() % 2 ? 64 * KiB : 1 + rng() % (16 * KiB);
  // A receive buffer below loopback's 64 KiB segment never opens by a full
  // segment, so TCP sends no window update and the sender waits for its
  // backed-off window probes (seconds): small ones are for Unix sockets.
  p.rcvbuf = rng() % 3 == 0 ? static_cast<int>(2 * KiB + rng() % (32 * KiB)) : 0;
  if (p.where != transport::unix_path) p.rcvbuf = 0;
  const std::size_t writes = rng() % 10 == 0 ? 20 + rng() % 60 : 1 + rng() % 12;
  std::uint64_t budget = 12 * MiB;  // no program moves more than this
  for (std::size_t i = 0; i < writes; ++i) {
    step s{};
    const unsigned r = rng() % 10;
    s.what = r < 4 ? action::write_cb : r < 6 ? action::write_no_cb : r < 8 ? action::write_plain : action::write_awaited;
    s.size = std::min<std::uint64_t>(random_write_size(rng), budget);
    if (s.size == 0) break;
    budget -= s.size;
    p.steps.push_back(s);
  }
  const unsigned r = rng() % 12;
  step last{};
  last.what = r < 3 ? action::end_plain : r < 5 ? action::end_data : r < 7 ? action::end_data_cb
              : r < 9 ? action::end_awaited : r < 11 ? action::destroy_soon : action::pipe_in;
  last.size = last.what == action::end_data || last.what == action::end_data_cb || last.what == action::pipe_in
                  ? std::min<std::uint64_t>(1 + random_write_size(rng) % (256 * KiB), budget + 1)
                  : 0;
  p.steps.push_back(last);
  // Small buffers and small, paused reads make the slow path common; on a
  // program of megabytes they only make it take seconds.
  if (p.total() > 1 * MiB) {
    p.sndbuf = 0;
    p.rcvbuf = 0;
    p.read_size = 64 * KiB;
    p.pause_every = p.pause_every ? 8 : 0;
  }
  // And a reader of a few bytes at a time takes a turn (and a pause) per read.
  const std::uint64_t reads = p.total() / p.read_size;
  if (reads > 20'000 || (p.pause_every && reads / p.pause_every > 200))
    p.read_size = static_cast<std::size_t>(std::max<std::uint64_t>(p.read_size, p.total() / 200 + 1));
  // How each step is reached from the one before (the first: from where the program starts).
  p.steps.front().how = via::sync;
  for (std::size_t i = 1; i < p.steps.size(); ++i) {
    const action before = p.steps[i - 1].what;
    const unsigned v = rng() % 8;
    via how = v < 3 ? via::sync : v < 6 ? via::callback : v < 7 ? via::drain : via::tick;
    if (how == via::callback && before != action::write_cb) how = via::sync;
    if (how == via::drain && before != action::write_no_cb && before != action::write_cb) how = via::sync;
    p.steps[i].how = how;
  }
  return p;
}

/// A program being run: its socket, its place in the steps, what it wrote.
struct program_run : std::enable_shared_from_this<program_run> {
  const program p;  // a copy: what is posted may outlive the test's loop iteration
  byte_stream bs;
  net::socket s;
  client_log log;
  std::size_t next = 0;
  std::uint64_t issued = 0;
  bool issued_all = false;
  std::vector<std::string> awaited_errors;
  // pipe_in: the other socket and its writer
  net::socket pipe_src, pipe_feeder;
  bool piped = false;  // a default net::socket is a socket, not an empty handle: this says they are used
  bool feeder_done = false;
  std::string feeder_error;
  std::string port = "-";  // the local port once connected, as the Node reader reports it

  program_run(const program& prog, byte_stream b) : p(prog), bs(b) {}

  /// Issues steps from here while they follow synchronously.
  void go() {
    while (next < p.steps.size()) {
      const step st = p.steps[next++];
      const via following = next < p.steps.size() ? p.steps[next].how : via::sync;
      if (!issue(st, following)) return;
    }
  }
  void go_later() {
    auto self = shared_from_this();
    net::loop::current().post([self] { self->go(); });
  }

  // A callback that keeps this run alive until it has run (it logs into it).
  net::write_callback held(net::write_callback cb) {
    return [self = shared_from_this(), cb = std::move(cb)](std::error_code ec) { cb(ec); };
  }

  std::vector<std::byte> take(std::size_t n) {
    auto v = chunk_of(bs, issued, n);
    issued += n;
    return v;
  }

  // One step; true when the following one is to be issued now, by go().
  bool issue(const step& st, via following) {
    auto self = shared_from_this();
    if (is_last(st.what)) issued_all = true;
    switch (st.what) {
      case action::write_cb:
      case action::write_no_cb:
      case action::write_plain: {
        const auto data = take(st.size);
        bool ok = true;
        if (st.what == action::write_cb) {
          std::function<void()> then;
          if (following == via::callback) then = [self] { self->go(); };
          ok = s.write(std::span<const std::byte>(data), held(log.callback(std::move(then))));
          if (following == via::callback) return false;
        } else if (st.what == action::write_no_cb) {
          ok = s.write(std::span<const std::byte>(data), net::write_callback{});
        } else {
          s.write(std::span<const std::byte>(data));
        }
        if (following == via::drain && st.what != action::write_plain && !ok) {
          s.once("drain", [self] { self->go(); });
          return false;
        }
        if (following == via::tick) {
          go_later();
          return false;
        }
        return true;
      }
      case action::write_awaited:
        net::spawn(awaited_write(self, take(st.size), following));
        return false;
      case action::end_plain:
        s.end();
        return false;
      case action::end_data: {
        const auto data = take(st.size);
        s.end(std::span<const std::byte>(data));
        return false;
      }
      case action::end_data_cb: {
        const auto data = take(st.size);
        s.end(std::span<const std::byte>(data), held(log.callback()));
        return false;
      }
      case action::end_awaited:
        net::spawn(awaited_end(self));
        return false;
      case action::destroy_soon:
        s.destroy_soon();
        return false;
      case action::pipe_in:
        start_pipe(st.size);
        return false;
    }
    return false;
  }

  static net::task<> awaited_write(std::shared_ptr<program_run> self, std::vector<std::byte> data, via following) {
    try {
      co_await self->s.write(std::span<const std::byte>(data));
    } catch (const std::exception& e) {
      self->awaited_errors.emplace_back(std::string("co_await write: ") + e.what());
      co_return;
    }
    if (following == via::tick)
      self->go_later();
    else
      self->go();
  }
  static net::task<> awaited_end(std::shared_ptr<program_run> self) {
    try {
      co_await self->s.end();
    } catch (const std::exception& e) {
      self->awaited_errors.emplace_back(std::string("co_await end: ") + e.what());
    }
  }

  // Another socket (one end of a Unix pair, as new net.Socket({fd})) piped
  // into s; its peer writes n bytes of the stream and ends, which ends s.
  void start_pipe(std::size_t n) {
    auto [a, b] = netxx_test::connected_pair(AF_UNIX);
    piped = true;
    pipe_src = net::socket(net::socket_options{.fd = a});
    pipe_feeder = net::socket(net::socket_options{.fd = b});
    auto self = shared_from_this();
    pipe_src.on("error", [self](const net::error& e) { self->feeder_error += std::string(" source: ") + e.what(); });
    pipe_feeder.on("error", [self](const net::error& e) { self->feeder_error += std::string(" feeder: ") + e.what(); });
    pipe_src.pipe(s);
    net::spawn(feed(self, take(n)));
  }
  static net::task<> feed(std::shared_ptr<program_run> self, std::vector<std::byte> data) {
    try {
      std::size_t off = 0;
      while (off < data.size()) {  // in pieces, so the pipe sees several chunks
        const std::size_t k = std::min<std::size_t>(data.size() - off, 1 + (off * 7919 + 4099) % (48 * KiB));
        co_await self->pipe_feeder.write(std::span<const std::byte>(data).subspan(off, k));
        off += k;
      }
      co_await self->pipe_feeder.end();
    } catch (const std::exception& e) {
      self->feeder_error += std::string(" feed: ") + e.what();
    }
    self->feeder_done = true;
  }

  void start(const net::connect_options& to) {
    auto self = shared_from_this();
    s = net::connect(to);
    log.watch(s);
    if (p.where != transport::unix_path)
      s.on("connect", [self] { self->port = std::to_string(self->s.local_port()); });
    if (p.sndbuf > 0)
      s.on("connect", [self] { ::setsockopt(self->s.fd(), SOL_SOCKET, SO_SNDBUF, &self->p.sndbuf, sizeof(int)); });
    if (p.first == first_at::before_connect) go();
    else if (p.first == first_at::on_connect) s.once("connect", [self] { self->go(); });
    else s.once("ready", [self] { self->go(); });
  }
  void finish() {
    s.remove_all_listeners();
    if (!s.destroyed()) s.destroy();
    if (piped) {
      pipe_src.remove_all_listeners();
      pipe_src.destroy();
      pipe_feeder.remove_all_listeners();
      pipe_feeder.destroy();
    }
  }
};

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const std::string v = netxx_test::env(name);
  return v.empty() ? fallback : std::stoull(v, nullptr, 0);
}

}  // namespace

TEST_CASE("random write programs: every byte once, in program order; every callback once; no error",
          "[write][random]") {
#ifdef NETXX_WRITE_TEST_SANITIZED
  constexpr std::uint64_t default_programs = 400;
#else
  constexpr std::uint64_t default_programs = 2000;
#endif
  const std::uint64_t seed = env_number("NETXX_WRITE_SEED", 20250101);
  const std::uint64_t programs = env_number("NETXX_WRITE_PROGRAMS", default_programs);
  const std::string only = netxx_test::env("NETXX_WRITE_ONLY");
  const std::uint64_t max_failures = env_number("NETXX_WRITE_MAX_FAILURES", 3);
  const bool node_available = have_node();
  if (!node_available) WARN("Node v23.5.0 readers skipped: " << netxx_test::node_unavailable());

  std::optional<node_peer> node;
  if (node_available) node.emplace("count", "random", 0, true);
  if (node && !node->failed().empty()) FAIL(node->failed());
  netxx_reader reader("random");

  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t ran = 0, by_node = 0, bytes = 0, failures = 0;
  for (std::uint64_t i = only.empty() ? 0 : std::stoull(only); i < (only.empty() ? programs : std::stoull(only) + 1);
       ++i) {
    const program p = make_program(seed, i, node_available);
    if (!only.empty()) std::printf("%s\n", describe(p).c_str());
    const byte_stream bs{seed ^ (i << 20) ^ 0x77};
    auto run = std::make_shared<program_run>(p, bs);
    auto job = std::make_shared<reader_job>();
    if (!p.node) {
      job->expect = bs;
      job->pause_every = p.pause_every;
      job->read_size = p.read_size;
      job->rcvbuf = p.rcvbuf;
      job->seed = static_cast<std::uint32_t>(i);
      reader.expect(job);
    }
    const endpoints& ep = p.node ? node->where() : reader.where();
    run->start(ep.to(p.where));
    const std::int64_t limit = 5'000 + static_cast<std::int64_t>(p.total() / MiB) * 1'000;
    const bool in_time = run_for(
        [&] {
          return run->log.closes > 0 && (p.node || job->done) && (!run->piped || run->feeder_done);
        },
        limit);
    if (!in_time) run->s.destroy();
    std::optional<peer_report> seen;
    if (p.node) {
      seen = netxx_test::run_bounded(node->report_of(run->port, in_time ? 5'000 : 1'000), 30'000);
    } else {
      run_for([&] { return job->done; }, 2'000);
      seen = peer_report{"", job->bytes, "", job->fin ? "end" : job->error.empty() ? "close" : job->error};
    }
    const std::uint64_t want = run->issued;
    std::vector<std::string> wrong;
    if (!in_time) wrong.push_back("not closed within " + std::to_string(limit) + " ms");
    if (!run->issued_all) wrong.push_back("the program stopped at step " + std::to_string(run->next));
    if (!run->log.errors.empty() || run->log.had_error) wrong.push_back("errors: " + run->log.describe());
    if (run->log.closes != 1 && in_time) wrong.push_back("\"close\" " + std::to_string(run->log.closes) + " times");
    if (!run->log.callbacks_once() || !run->log.cb_errors.empty()) wrong.push_back("callbacks: " + run->log.describe());
    for (auto& e : run->awaited_errors) wrong.push_back(e);
    if (!run->feeder_error.empty()) wrong.push_back("pipe:" + run->feeder_error);
    if (!seen) {
      wrong.push_back("no report from the reader");
    } else {
      if (seen->bytes != want)
        wrong.push_back("the reader got " + std::to_string(seen->bytes) + " bytes for " + std::to_string(want) +
                        " written");
      if (seen->how != "end") wrong.push_back("the reader's connection ended by " + seen->how);
      if (p.node && seen->sha != sha256_of(bs, want)) wrong.push_back("Node's sha256 differs from what was written");
      if (!p.node && !job->same) wrong.push_back("the netxx reader got other bytes than were written");
    }
    run->finish();
    ++ran;
    by_node += p.node;
    bytes += want;
    if (!wrong.empty()) {
      ++failures;
      std::string msg = "NETXX_WRITE_SEED=" + std::to_string(seed) + " NETXX_WRITE_ONLY=" + std::to_string(i) +
                        " (backend " + netxx_test::requested_backend() + "): " + describe(p);
      for (auto& w : wrong) msg += "\n  - " + w;
      FAIL_CHECK(msg);
      if (failures >= max_failures) break;  // enough to go on; the rest would each wait for their bound
      netxx_test::settle();
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "[%s] %llu write programs (seed %llu, %llu read by Node), %.1f MiB, %.1f s, %llu failed\n",
               netxx_test::requested_backend().c_str(), static_cast<unsigned long long>(ran),
               static_cast<unsigned long long>(seed), static_cast<unsigned long long>(by_node),
               static_cast<double>(bytes) / MiB, secs, static_cast<unsigned long long>(failures));
  CHECK(failures == 0);
}
