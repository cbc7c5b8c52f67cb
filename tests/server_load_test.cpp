// net.Server and the socket stream core under load (issue 4, awaitable face),
// over real loopback sockets: 1,000 concurrent echo clients moving 1 MiB each,
// 10,000 connect/close cycles without a descriptor leak, close() with open
// connections, and reuse_port across two loops on two threads.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net_test.hpp"

namespace {

using netxx_test::byte_stream;
using netxx_test::connect_v4;
using netxx_test::loopback4;
using netxx_test::settle;

// --- 1,000 clients x 1 MiB --------------------------------------------------

struct client_result {
  std::uint64_t written = 0;
  std::uint64_t read = 0;
  bool same = true;
  bool done = false;
  std::string error;
};

struct load_state {
  std::uint16_t port = 0;
  std::uint64_t per_client = 0;
  int served = 0;
  int finished = 0;
  std::vector<std::string> server_errors;
  std::vector<client_result> results;
};

// The server side: a coroutine echo, until the peer ends; then ends its side.
net::task<> echo(net::socket s, load_state& st) {
  try {
    std::vector<std::byte> buf(32 * 1024);
    while (std::size_t n = co_await s.read(buf)) co_await s.write(std::span<const std::byte>(buf).first(n));
    co_await s.end();
  } catch (const std::exception& e) {
    st.server_errors.emplace_back(e.what());
  }
  ++st.served;
}

net::task<> accept_n(net::server& srv, int n, load_state& st) {
  try {
    for (int i = 0; i < n; ++i) net::spawn(echo(co_await srv.accept(), st));
  } catch (const std::exception& e) {
    st.server_errors.emplace_back(std::string("accept: ") + e.what());
  }
}

// One client: connects, writes its stream from a second task while this one
// reads the echo and compares it, byte for byte, with the stream.
net::task<> load_client(int id, load_state& st) {
  client_result& r = st.results[static_cast<std::size_t>(id)];
  try {
    const int fd = co_await connect_v4(st.port);
    if (fd < 0) {
      r.error = "connect " + std::string(net::code_string(net::errno_code(-fd)));
    } else {
      auto& loop = net::loop::current();
      net::socket s = net::socket::adopt(loop, fd, AF_INET);
      const byte_stream bs{static_cast<std::uint64_t>(id) + 1};
      net::spawn(netxx_test::write_stream(s, bs, st.per_client, static_cast<unsigned>(id) * 7919u + 1u, r.written, r.error));
      std::vector<std::byte> buf(32 * 1024);
      while (std::size_t n = co_await s.read(buf)) {
        if (r.same && !bs.matches(r.read, std::span<const std::byte>(buf).first(n))) r.same = false;
        r.read += n;
      }
      s.destroy();
    }
  } catch (const std::exception& e) {
    r.error += std::string(" read: ") + e.what();
  }
  r.done = true;
  ++st.finished;
}

// --- connect/close cycles ---------------------------------------------------

struct cycle_state {
  std::uint16_t port = 0;
  int next = 0;       // cycles handed out
  int total = 0;
  int clean = 0;      // cycles whose client saw the server's FIN as end of stream
  int accepted = 0;
  std::vector<std::string> errors;
};

net::task<> accept_and_close(net::server& srv, cycle_state& st) {
  try {
    while (st.accepted < st.total) {
      net::socket s = co_await srv.accept();
      ++st.accepted;
      s.destroy();  // the server closes first: TIME_WAIT stays on its side
    }
  } catch (const std::exception& e) {
    st.errors.emplace_back(std::string("accept: ") + e.what());
  }
}

net::task<> cycle_worker(cycle_state& st) {
  auto& loop = net::loop::current();
  while (st.next < st.total) {
    ++st.next;
    try {
      const int fd = co_await connect_v4(st.port);
      if (fd < 0) {
        st.errors.emplace_back("connect " + std::string(net::code_string(net::errno_code(-fd))));
        continue;
      }
      net::socket c = net::socket::adopt(loop, fd, AF_INET);
      std::array<std::byte, 16> buf;
      const std::size_t n = co_await c.read(buf);
      if (n == 0) ++st.clean;
      c.destroy();
    } catch (const std::exception& e) {
      st.errors.emplace_back(e.what());
    }
  }
}

// --- reuse_port -------------------------------------------------------------

struct port_worker {
  std::atomic<int> accepted{0};
  std::atomic<bool> listening{false};
  std::atomic<bool> finished{false};
  net::loop* loop = nullptr;
  net::server* srv = nullptr;
  std::string error;
};

net::task<> accept_until_closed(net::server& srv, port_worker& w, std::atomic<int>& total) {
  std::vector<net::socket> keep;  // held open until the server closes
  try {
    for (;;) {
      keep.push_back(co_await srv.accept());
      ++w.accepted;
      ++total;
    }
  } catch (const net::error& e) {
    if (e.code() != net::errc::err_server_not_running) w.error = e.what();
  }
}

// One thread: its own loop (net::loop::current() is per thread) and its own
// server on the shared port.
// The thread stays (loop and server alive) until may_exit, so a post() from
// the main thread never reaches a loop that is gone.
void serve_on_thread(port_worker& w, std::atomic<int>& port, std::atomic<int>& total, std::atomic<bool>& may_exit) {
  try {
    auto srv = net::create_server();
    net::listen_options o{.port = port.load(), .host = "127.0.0.1", .reuse_port = true};
    srv.listen(o);
    if (port.load() == 0) port = srv.address()->port;
    w.loop = &net::loop::current();
    w.srv = &srv;
    w.listening = true;
    netxx_test::run_bounded(accept_until_closed(srv, w, total), 30'000);
    settle();
    w.finished = true;
    while (!may_exit) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  } catch (const std::exception& e) {
    w.error = e.what();
    w.finished = true;
  }
}

template <typename Pred>
bool wait_for(Pred p, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!p()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("1,000 concurrent clients each sending 1 MiB of random data in random-sized writes get back exactly what they sent",
          "[server][socket][load]") {
  constexpr int clients = 1000;
  net::loop::current();  // the loop's own descriptors are not the test's
  const int fds_before = netxx_test::open_fds();
  const auto t0 = std::chrono::steady_clock::now();
  load_state st;
  st.per_client = 1024 * 1024;
  st.results.resize(clients);
  {
    auto srv = net::create_server({.no_delay = true});
    net::listen_options o{.port = 0, .host = "127.0.0.1", .backlog = 2048};
    srv.listen(o);
    st.port = srv.address()->port;
    auto body = [](net::server& srv, load_state& st) -> net::task<std::size_t> {
      net::spawn(accept_n(srv, clients, st));
      for (int i = 0; i < clients; ++i) net::spawn(load_client(i, st));
      std::size_t peak = 0;
      while (st.finished < clients || st.served < clients) {
        peak = std::max(peak, srv.get_connections());
        co_await net::sleep(10);
      }
      co_return peak;
    };
    const std::size_t peak = netxx_test::run_bounded(body(srv, st), 240'000);
    CHECK(peak > 1);  // the connections were served concurrently
    CHECK(srv.get_connections() == 0);
    srv.close();
  }
  settle();
  const double secs = seconds_since(t0);
  std::fprintf(stderr, "[%s] 1,000 clients x 1 MiB echoed in %.2f s\n", netxx_test::requested_backend().c_str(), secs);

  CHECK(st.server_errors.empty());
  if (!st.server_errors.empty()) FAIL_CHECK("first server error: " << st.server_errors.front());
  int exact = 0;
  const client_result* first_bad = nullptr;
  int first_bad_id = -1;
  for (int i = 0; i < clients; ++i) {
    const auto& r = st.results[static_cast<std::size_t>(i)];
    if (r.done && r.error.empty() && r.written == st.per_client && r.read == st.per_client && r.same) {
      ++exact;
    } else if (!first_bad) {
      first_bad = &r;
      first_bad_id = i;
    }
  }
  if (first_bad) {
    INFO("client " << first_bad_id << ": written " << first_bad->written << ", read " << first_bad->read
                   << ", same " << first_bad->same << ", error '" << first_bad->error << "'");
    CHECK(false);
  }
  CHECK(exact == clients);
  CHECK(netxx_test::open_fds() == fds_before);
}

TEST_CASE("10,000 connect/close cycles leave the number of open descriptors where it started", "[server][socket][fds]") {
  net::loop::current();
  const int fds_before = netxx_test::open_fds();
  cycle_state st;
  st.total = 10'000;
  {
    auto srv = net::create_server();
    srv.listen({.port = 0, .host = "127.0.0.1"});
    st.port = srv.address()->port;
    const int fds_listening = netxx_test::open_fds();
    auto body = [](net::server& srv, cycle_state& st) -> net::task<> {
      net::spawn(accept_and_close(srv, st));
      std::vector<net::task<>> workers;
      for (int i = 0; i < 50; ++i) workers.push_back(cycle_worker(st));  // 50 cycles in flight
      for (auto& w : workers) net::spawn(std::move(w));
      while (st.next < st.total || st.accepted < st.total) co_await net::sleep(5);
      co_await net::sleep(5);  // the last clients read their end of stream
    };
    const auto t0 = std::chrono::steady_clock::now();
    netxx_test::run_bounded(body(srv, st), 120'000);
    std::fprintf(stderr, "[%s] 10,000 connect/close cycles in %.2f s\n", netxx_test::requested_backend().c_str(),
                 seconds_since(t0));
    CHECK(netxx_test::open_fds() == fds_listening);  // with the server in both readings
    CHECK(srv.get_connections() == 0);
    srv.close();
  }
  settle();
  CHECK(st.errors.empty());
  if (!st.errors.empty()) FAIL_CHECK("first error: " << st.errors.front() << " (" << st.errors.size() << " in all)");
  CHECK(st.accepted == st.total);
  CHECK(st.clean == st.total);
  CHECK(netxx_test::open_fds() == fds_before);
}

TEST_CASE("close() with open connections: the server stops accepting but the accepted connections keep working",
          "[server][socket][close]") {
  net::loop::current();
  const int fds_before = netxx_test::open_fds();
  std::optional<net::server> holder(net::create_server());
  net::server& srv = *holder;
  srv.listen({.port = 0, .host = "127.0.0.1"});
  const std::uint16_t port = srv.address()->port;

  struct outcome {
    std::string refused;           // the error of a connect after close()
    std::string echoed;            // what the old connection echoed after close()
    std::size_t connections = 0;   // getConnections() after close()
    bool listening = true;
    bool end_of_stream = false;
  };
  auto body = [](net::server& srv, std::uint16_t port) -> net::task<outcome> {
    auto& loop = net::loop::current();
    outcome out;
    const int fd = co_await connect_v4(port);
    if (fd < 0) throw std::runtime_error("first connect failed");
    net::socket client = net::socket::adopt(loop, fd, AF_INET);
    net::socket conn = co_await srv.accept();

    srv.close();
    out.listening = srv.listening();
    out.connections = srv.get_connections();

    const int refused = co_await connect_v4(port);
    if (refused >= 0) {
      loop.close_now(refused);
      out.refused = "connected";
    } else {
      out.refused = std::string(net::code_string(net::errno_code(-refused)));
    }

    // The connection accepted before close() still echoes, both ways.
    auto echo_conn = [](net::socket s) -> net::task<> {
      std::array<std::byte, 256> buf;
      while (std::size_t n = co_await s.read(buf)) co_await s.write(std::span<const std::byte>(buf).first(n));
      co_await s.end();
    };
    net::spawn(echo_conn(conn));
    co_await client.write("still here after close()");
    co_await client.end();
    std::array<std::byte, 256> buf;
    while (std::size_t n = co_await client.read(buf)) out.echoed.append(netxx_test::text(std::span(buf).first(n)));
    out.end_of_stream = true;
    client.destroy();
    co_return out;
  };
  const outcome out = netxx_test::run_bounded(body(srv, port), 10'000);
  CHECK_FALSE(out.listening);
  CHECK(out.connections == 1);
  CHECK(out.refused == "ECONNREFUSED");
  CHECK(out.echoed == "still here after close()");
  CHECK(out.end_of_stream);
  settle();  // the echo task finishes and drops the accepted socket
  CHECK(srv.get_connections() == 0);
  holder.reset();
  settle();
  CHECK(netxx_test::open_fds() == fds_before);
}

TEST_CASE("reuse_port lets two loops on two threads share a port, and the kernel spreads connections over both",
          "[server][reuse_port][threads]") {
  constexpr int connections = 200;
  const int fds_before = netxx_test::open_fds();
  std::atomic<int> port{0};
  std::atomic<int> total{0};
  std::atomic<bool> may_exit{false};
  port_worker a, b;

  std::thread ta([&] { serve_on_thread(a, port, total, may_exit); });
  const bool a_up = wait_for([&] { return a.listening.load() || a.finished.load(); }, std::chrono::seconds(10));
  std::thread tb;
  bool b_up = false;
  if (a_up && a.listening) {
    tb = std::thread([&] { serve_on_thread(b, port, total, may_exit); });
    b_up = wait_for([&] { return b.listening.load() || b.finished.load(); }, std::chrono::seconds(10));
  }

  std::vector<int> clients;
  bool all_accepted = false;
  if (a.listening && b.listening) {
    const sockaddr_in to = loopback4(static_cast<std::uint16_t>(port.load()));
    for (int i = 0; i < connections; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // blocking: this thread has no loop to run
      if (fd < 0) break;
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
        ::close(fd);
        break;
      }
      clients.push_back(fd);
    }
    all_accepted = wait_for([&] { return total.load() >= connections; }, std::chrono::seconds(10));
  }
  // Stop both loops from here: post() is the one thread-safe entry; close()
  // wakes the pending accept with ERR_SERVER_NOT_RUNNING.
  for (port_worker* w : {&a, &b})
    if (w->listening && !w->finished) w->loop->post([w] { w->srv->close(); });
  wait_for([&] { return a.finished.load() && (!tb.joinable() || b.finished.load()); }, std::chrono::seconds(10));
  may_exit = true;
  ta.join();
  if (tb.joinable()) tb.join();
  for (int fd : clients) ::close(fd);

  std::fprintf(stderr, "[%s] reuse_port: %d + %d connections\n", netxx_test::requested_backend().c_str(),
               a.accepted.load(), b.accepted.load());
  INFO("thread A: " << a.accepted << " accepted, error '" << a.error << "'; thread B: " << b.accepted
                    << " accepted, error '" << b.error << "'");
  REQUIRE(a_up);
  REQUIRE(b_up);
  CHECK(a.error.empty());
  CHECK(b.error.empty());
  CHECK(clients.size() == static_cast<std::size_t>(connections));
  CHECK(all_accepted);
  CHECK(a.accepted > 0);
  CHECK(b.accepted > 0);
  CHECK(a.accepted + b.accepted == connections);
  CHECK(netxx_test::open_fds() == fds_before);  // both loops, servers and connections are gone with their threads
}

// --- Regressions: bugs these proofs found in the write path ----------------------
// Each once failed on at least one backend; the cause was an awaitable write
// going around the socket's write queue (fixed: writes are ordered, and end()
// and the handle count wait for them).

namespace {

struct stream_pair {
  net::socket client, server;
};

net::task<stream_pair> connected_sockets(net::server& srv) {
  const int fd = co_await connect_v4(srv.address()->port);
  if (fd < 0) throw std::runtime_error("connect failed");
  net::socket c = net::socket::adopt(net::loop::current(), fd, AF_INET);
  net::socket s = co_await srv.accept();
  co_return stream_pair{c, s};
}

net::task<> write_and_count(net::socket s, std::span<const std::byte> data, int& done, std::string& error) {
  try {
    co_await s.write(data);
  } catch (const std::exception& e) {
    error = e.what();
  }
  ++done;
}

net::task<> read_to_end(net::socket s, std::vector<std::byte>& got, bool& done) {
  std::vector<std::byte> buf(64 * 1024);
  try {
    while (std::size_t n = co_await s.read(buf)) got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  } catch (const std::exception&) {
  }
  done = true;
}

}  // namespace

// Was a bug, both backends: end() shut the socket down at once, while a write
// awaited by another task is still in flight; the peer gets the FIN early
// (io_uring: 0 of the 8 MiB, epoll: ~3.9 MiB) and the writer "write EPIPE".
// Node sends the FIN after every byte written before end().
TEST_CASE("end() while a write is still in flight sends the FIN after that write's bytes", "[regression][socket]") {
  auto srv = net::create_server();
  srv.listen({.port = 0, .host = "127.0.0.1"});
  std::vector<std::byte> data(8 * 1024 * 1024, std::byte{'A'});
  struct outcome {
    std::size_t received = 0;
    std::string write_error;
  };
  auto body = [](net::server& srv, std::span<const std::byte> data) -> net::task<outcome> {
    stream_pair p = co_await connected_sockets(srv);
    int written = 0;
    outcome out;
    net::spawn(write_and_count(p.client, data, written, out.write_error));  // suspends: 8 MiB is more than the socket takes
    p.client.end();  // not awaited: that resumes at "finish", which needs the reader below
    std::vector<std::byte> got;
    bool eof = false;
    co_await read_to_end(p.server, got, eof);
    while (written < 1) co_await net::sleep(1);
    out.received = got.size();
    p.client.destroy();
    p.server.destroy();
    co_return out;
  };
  const outcome out = netxx_test::run_bounded(body(srv, data), 10'000);
  CHECK(out.write_error.empty());
  CHECK(out.received == data.size());
  srv.close();
  settle();
}

// KNOWN BUG, epoll: two writes awaited by two tasks on one socket interleave
// on the wire (each resumes its partial send when EPOLLOUT comes, in turn);
// the peer sees A..A B..B A..A B..B. Node keeps each write whole, in call
// order. (io_uring keeps them whole here.)
TEST_CASE("two writes in flight on one socket arrive whole and in call order", "[regression][socket]") {
  auto srv = net::create_server();
  srv.listen({.port = 0, .host = "127.0.0.1"});
  std::vector<std::byte> a(8 * 1024 * 1024, std::byte{'A'}), b(8 * 1024 * 1024, std::byte{'B'});
  auto body = [](net::server& srv, std::span<const std::byte> a, std::span<const std::byte> b) -> net::task<std::vector<std::byte>> {
    stream_pair p = co_await connected_sockets(srv);
    int written = 0;
    std::string ea, eb;
    std::vector<std::byte> got;
    bool eof = false;
    net::spawn(write_and_count(p.client, a, written, ea));
    net::spawn(write_and_count(p.client, b, written, eb));
    net::spawn(read_to_end(p.server, got, eof));
    while (written < 2) co_await net::sleep(1);
    co_await p.client.end();
    while (!eof) co_await net::sleep(1);
    p.client.destroy();
    p.server.destroy();
    co_return got;
  };
  const std::vector<std::byte> got = netxx_test::run_bounded(body(srv, a, b), 10'000);
  REQUIRE(got.size() == a.size() + b.size());
  std::size_t runs = 1;
  for (std::size_t i = 1; i < got.size(); ++i) runs += got[i] != got[i - 1];
  CHECK(runs == 2);
  CHECK(got.front() == std::byte{'A'});
  srv.close();
  settle();
}

// KNOWN BUG, both backends (the uncommitted socket.hpp of the event face):
// end() makes the socket hold itself (hold()) until it has read the peer's
// end of stream, but with the awaitable face nobody reads once the handles
// are gone: a server that writes, ends and drops its socket keeps the
// descriptor open and get_connections() at 1 forever, after the peer closed.
// Node closes it when the peer's FIN arrives (allowHalfOpen false).
TEST_CASE("write, end, then drop the socket: its descriptor is closed once the peer closes", "[regression][socket][fds]") {
  net::loop::current();
  std::optional<net::server> holder(net::create_server());
  net::server& srv = *holder;
  srv.listen({.port = 0, .host = "127.0.0.1"});
  const int fds_listening = netxx_test::open_fds();
  int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // a plain blocking peer
  const sockaddr_in to = loopback4(srv.address()->port);
  REQUIRE(::connect(c, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
  auto body = [](net::server& srv) -> net::task<> {
    net::socket s = co_await srv.accept();
    co_await s.write("bye");
    co_await s.end();
  };  // the last handle goes with the frame
  netxx_test::run_bounded(body(srv), 5'000);
  char buf[16];
  CHECK(::read(c, buf, sizeof buf) == 3);
  CHECK(::read(c, buf, sizeof buf) == 0);  // our FIN arrived
  ::close(c);                              // and the peer's goes back
  netxx_test::run_bounded([]() -> net::task<> { co_await net::sleep(20); }(), 5'000);
  CHECK(srv.get_connections() == 0);
  CHECK(netxx_test::open_fds() == fds_listening);
  holder.reset();
  settle();
}

TEST_CASE("an event-face write issued while an awaitable write is in flight goes after it", "[regression][socket]") {
  auto srv = net::create_server();
  srv.listen({.port = 0, .host = "127.0.0.1"});
  constexpr std::size_t n = 8 * 1024 * 1024;  // more than the kernel's buffers: the first write stays in flight
  std::vector<std::byte> a(n, std::byte{'A'});
  auto body = [](net::server& srv, std::vector<std::byte>& a) -> net::task<std::vector<std::byte>> {
    auto p = co_await connected_sockets(srv);
    int done = 0;
    std::string err;
    net::spawn(write_and_count(p.client, a, done, err));
    bool cb_done = false;
    p.client.write(std::string_view("BBBB"), [&cb_done](std::error_code) { cb_done = true; });  // Node: after
    std::vector<std::byte> got;
    bool read_done = false;
    net::spawn(read_to_end(p.server, got, read_done));
    while (done < 1 || !cb_done) co_await net::sleep(1);
    co_await p.client.end();
    while (!read_done) co_await net::sleep(1);
    co_return got;
  };
  auto got = netxx_test::run_bounded(body(srv, a), 20'000);
  REQUIRE(got.size() == n + 4);
  std::size_t first_b = 0;
  while (first_b < got.size() && got[first_b] == std::byte{'A'}) ++first_b;
  CHECK(first_b == n);
  srv.close();
  settle();
}
