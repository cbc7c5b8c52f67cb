// socket.read() without a buffer: Node's paused-mode read(), each chunk in a
// net::buffer lent by the per-thread block pool. Over TCP (127.0.0.1, ::1)
// and Unix sockets, on both backends.
#include <sys/resource.h>

#include <array>
#include <string>
#include <vector>

#include "net_test.hpp"

using netxx_test::bytes;
using pool = net::detail::block_pool;

namespace {

const char* family_name(int f) { return f == AF_INET ? "IPv4" : f == AF_INET6 ? "IPv6" : "Unix"; }

// Writes all of data to a non-blocking descriptor, waiting while it is full.
net::task<> write_all(int fd, std::span<const std::byte> data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0)
      off += static_cast<std::size_t>(n);
    else
      co_await net::sleep(1);
  }
}

}  // namespace

TEST_CASE("read() resumes with what arrived in a pooled buffer, and an empty one at the end", "[socket][read]") {
  for (int family : {AF_INET, AF_INET6, AF_UNIX}) {
    CAPTURE(family_name(family));
    const auto before = pool::in_use();
    auto [a, b] = netxx_test::connected_pair(family);
    net::socket s(net::socket_options{.fd = a});
    auto body = [](net::socket s, int peer) -> net::task<std::vector<std::string>> {
      std::vector<std::string> got;
      REQUIRE(::write(peer, "hello", 5) == 5);
      net::buffer first = co_await s.read();
      got.emplace_back(first.text());
      REQUIRE(::write(peer, " world", 6) == 6);
      ::shutdown(peer, SHUT_WR);
      while (net::buffer more = co_await s.read()) got.emplace_back(more.text());
      net::buffer after_end = co_await s.read();  // the end again, as a stream's read() after 'end'
      got.emplace_back(after_end.empty() ? "<end>" : "<more>");
      co_return got;
    };
    const auto got = netxx_test::run_bounded(body(s, b));
    REQUIRE(got.size() == 3);
    CHECK(got[0] == "hello");
    CHECK(got[1] == " world");
    CHECK(got[2] == "<end>");
    CHECK(s.bytes_read() == 11);
    s.destroy();
    ::close(b);
    netxx_test::settle();
    CHECK(pool::in_use() - before <= 256);  // io_uring's ring keeps its blocks; no buffer is left out
  }
}

TEST_CASE("8 MiB read through pooled buffers arrives unchanged, at most 64 KiB each, while the caller keeps them",
          "[socket][read]") {
  for (int family : {AF_INET, AF_UNIX}) {
    CAPTURE(family_name(family));
    auto [a, b] = netxx_test::connected_pair(family);
    net::socket s(net::socket_options{.fd = a});
    const netxx_test::byte_stream stream{7};
    constexpr std::size_t total = 8u << 20;
    std::vector<std::byte> sent(total);
    stream.fill(0, sent);
    net::spawn([](int fd, std::span<const std::byte> data) -> net::task<> {
      co_await write_all(fd, data);
      ::shutdown(fd, SHUT_WR);
    }(b, sent));
    auto body = [](net::socket s) -> net::task<std::vector<net::buffer>> {
      std::vector<net::buffer> kept;  // every block stays lent until the end
      while (net::buffer chunk = co_await s.read()) kept.push_back(std::move(chunk));
      co_return kept;
    };
    const auto kept = netxx_test::run_bounded(body(s));
    std::size_t pos = 0, largest = 0;
    bool same = true;
    for (const net::buffer& k : kept) {
      same = same && stream.matches(pos, k);
      pos += k.size();
      largest = std::max(largest, k.size());
    }
    CHECK(pos == total);
    CHECK(same);
    CHECK(largest <= pool::block_size);
    CHECK(largest > 0);
    s.destroy();
    ::close(b);
    netxx_test::settle();
  }
}

TEST_CASE("sockets waiting in read() hold no block: 400 idle readers, then all answered in one turn",
          "[socket][read]") {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < 2000 && lim.rlim_max >= 2000) {
    lim.rlim_cur = 2000;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur < 1000) NETXX_SKIP("needs 1000 descriptors");
  constexpr int n = 400;
  const auto before = pool::in_use();
  std::vector<net::socket> socks;
  std::vector<int> peers;
  for (int i = 0; i < n; ++i) {
    auto [a, b] = netxx_test::connected_pair(AF_UNIX);
    socks.emplace_back(net::socket_options{.fd = a});
    peers.push_back(b);
  }
  std::vector<std::string> got(n);
  int done = 0;
  for (int i = 0; i < n; ++i)
    net::spawn([](net::socket s, std::string& out, int& done) -> net::task<> {
      net::buffer b = co_await s.read();
      out = std::string(b.text());
      ++done;
    }(socks[static_cast<std::size_t>(i)], got[static_cast<std::size_t>(i)], done));
  netxx_test::settle();  // every reader is waiting now
  CHECK(done == 0);
  // 400 waiting readers with a 64 KiB buffer each would be 25 MiB; io_uring's
  // ring has 256 blocks, epoll takes none until bytes come.
  CHECK(pool::in_use() - before <= 256);
  // All peers write at once: more reads complete in one kernel pass than the
  // ring has blocks (io_uring: the rest fall back to pool blocks).
  for (int i = 0; i < n; ++i) {
    const std::string msg = "reader " + std::to_string(i);
    REQUIRE(::write(peers[static_cast<std::size_t>(i)], msg.data(), msg.size()) == static_cast<ssize_t>(msg.size()));
  }
  netxx_test::run_bounded([](int& done) -> net::task<> {
    for (int i = 0; i < 5000 && done < n; ++i) co_await net::sleep(1);
  }(done));
  CHECK(done == n);
  int right = 0;
  for (int i = 0; i < n; ++i) right += got[static_cast<std::size_t>(i)] == "reader " + std::to_string(i);
  CHECK(right == n);
  for (auto& s : socks) s.destroy();
  for (int p : peers) ::close(p);
  netxx_test::settle();
  CHECK(pool::in_use() - before <= 256);
}

TEST_CASE("read() cut short by destroy() throws ERR_SOCKET_CLOSED and gives its block back", "[socket][read]") {
  const auto before = pool::in_use();
  auto [a, b] = netxx_test::connected_pair(AF_INET);
  net::socket s(net::socket_options{.fd = a});
  auto body = [](net::socket s) -> net::task<std::string> {
    auto killer = net::set_timeout([s]() mutable { s.destroy(); }, 10);
    try {
      net::buffer never = co_await s.read();
      co_return "read " + std::to_string(never.size());
    } catch (const net::error& e) {
      co_return std::string(e.code_string());
    }
  };
  CHECK(netxx_test::run_bounded(body(s)) == "ERR_SOCKET_CLOSED");
  ::close(b);
  netxx_test::settle();
  CHECK(pool::in_use() - before <= 256);
}

TEST_CASE("a task destroyed while its read() waits leaves no block behind, and the socket reads on",
          "[socket][read]") {
  for (int family : {AF_INET, AF_UNIX}) {
    CAPTURE(family_name(family));
    auto [a, b] = netxx_test::connected_pair(family);
    net::socket s(net::socket_options{.fd = a});
    {
      auto waiter = [](net::socket s) -> net::task<> { net::buffer never = co_await s.read(); }(s);
      waiter.handle().resume();  // suspends in read()
      CHECK_FALSE(waiter.handle().done());
    }  // destroyed: its read is abandoned
    REQUIRE(::write(b, "next", 4) == 4);
    auto body = [](net::socket s) -> net::task<std::string> {
      net::buffer got = co_await s.read();
      co_return std::string(got.text());
    };
    CHECK(netxx_test::run_bounded(body(s)) == "next");
    s.destroy();
    ::close(b);
    netxx_test::settle();
  }
}

TEST_CASE("a buffer gives its block back when destroyed, moved from, or reset", "[socket][read]") {
  const auto before = pool::in_use();
  {
    net::buffer x = net::buffer::adopt(pool::take(), 3);
    CHECK(pool::in_use() == before + 1);
    net::buffer y = std::move(x);
    CHECK(x.empty());
    CHECK(y.size() == 3);
    CHECK(pool::in_use() == before + 1);
    y.reset();
    CHECK(pool::in_use() == before);
    CHECK_FALSE(y);
    net::buffer z = net::buffer::adopt(pool::take(), 1);
    z = net::buffer::adopt(pool::take(), 2);
    CHECK(pool::in_use() == before + 1);
  }
  CHECK(pool::in_use() == before);
}
