// The low-level operations both backends serve: accept, connect, recv, send,
// sendmsg (writev), close, cancel. Over loopback IPv4 and IPv6 and Unix sockets.
#include <signal.h>
#include <sys/stat.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "net_test.hpp"

using netxx_test::bytes;
using netxx_test::text;

namespace {

const char* family_name(int f) { return f == AF_INET ? "IPv4" : f == AF_INET6 ? "IPv6" : "Unix"; }

// A listening socket on loopback (port 0) or at a Unix path; returns fd and address.
struct listener {
  int fd = -1;
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string path;

  explicit listener(int family) {
    fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    if (family == AF_UNIX) {
      path = (std::filesystem::temp_directory_path() / ("netxx-io-" + std::to_string(::getpid()) + ".sock")).string();
      ::unlink(path.c_str());
      auto* a = reinterpret_cast<sockaddr_un*>(&addr);
      a->sun_family = AF_UNIX;
      std::strncpy(a->sun_path, path.c_str(), sizeof a->sun_path - 1);
      len = sizeof(sockaddr_un);
    } else if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof(sockaddr_in);
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      len = sizeof(sockaddr_in6);
    }
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
    REQUIRE(::listen(fd, 64) == 0);
    if (family != AF_UNIX) REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  }
  ~listener() {
    if (fd >= 0) net::loop::current().close_now(fd);
    if (!path.empty()) ::unlink(path.c_str());
  }
};

}  // namespace

TEST_CASE("accept, connect, send, recv and close move bytes over a real connection", "[io]") {
  const int family = GENERATE(AF_INET, AF_INET6, AF_UNIX);
  CAPTURE(family_name(family));
  auto& loop = net::loop::current();
  const int fds_before = netxx_test::open_fds();
  {
    listener l(family);
    auto server = [&]() -> net::task<std::string> {
      sockaddr_storage peer{};
      socklen_t plen = sizeof peer;
      auto a = co_await loop.accept(l.fd, reinterpret_cast<sockaddr*>(&peer), &plen);
      REQUIRE(a.ok());
      int c = static_cast<int>(a.value());
      CHECK((::fcntl(c, F_GETFL) & O_NONBLOCK) != 0);  // accepted sockets are non-blocking
      std::string got;
      std::array<std::byte, 7> buf;
      for (;;) {
        auto r = co_await loop.recv(c, buf);
        REQUIRE(r.ok());
        if (r.value() == 0) break;  // the peer ended
        got.append(text(std::span(buf).first(r.value())));
        auto w = co_await loop.send(c, std::span<const std::byte>(buf).first(r.value()));
        REQUIRE(w.ok());
      }
      auto cl = co_await loop.close(c);
      CHECK(cl.ok());
      co_return got;
    };
    auto client = [&]() -> net::task<std::string> {
      int s = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      auto c = co_await loop.connect(s, reinterpret_cast<sockaddr*>(&l.addr), l.len);
      REQUIRE(c.ok());
      const std::string msg = "hello, loop: a message longer than one read";
      auto w = co_await loop.send(s, bytes(msg));
      REQUIRE(w.value() == msg.size());
      std::string echoed;
      std::array<std::byte, 64> buf;
      while (echoed.size() < msg.size()) {
        auto r = co_await loop.recv(s, buf);
        REQUIRE(r.ok());
        REQUIRE(r.value() > 0);
        echoed.append(text(std::span(buf).first(r.value())));
      }
      ::shutdown(s, SHUT_WR);
      co_await loop.close(s);
      co_return echoed;
    };
    auto both = [&]() -> net::task<std::pair<std::string, std::string>> {
      std::string srv;
      bool srv_done = false;
      auto run_server = [&]() -> net::task<> {
        srv = co_await server();
        srv_done = true;
      };
      net::spawn(run_server());
      std::string cli = co_await client();
      while (!srv_done) co_await net::sleep(1);
      co_return std::pair{srv, cli};
    };
    auto [srv, cli] = netxx_test::run_bounded(both());
    CHECK(srv == "hello, loop: a message longer than one read");
    CHECK(cli == srv);
  }
  CHECK(loop.core().refs() == 0);
  CHECK(netxx_test::open_fds() == fds_before);
}

TEST_CASE("sendmsg gathers several buffers into one write, in order", "[io]") {
  const int family = GENERATE(AF_INET, AF_UNIX);
  const auto fds_ = netxx_test::connected_pair(family);
  const int a = fds_.first, b = fds_.second;
  auto& loop = net::loop::current();
  std::string parts[] = {"first,", "second,", "third"};
  std::array<iovec, 3> iov{};
  for (std::size_t i = 0; i < 3; ++i) iov[i] = {parts[i].data(), parts[i].size()};
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  auto body = [&]() -> net::task<std::string> {
    auto w = co_await loop.sendmsg(a, msg);
    REQUIRE(w.value() == 18);
    std::string got;
    std::array<std::byte, 64> buf;
    while (got.size() < 18) {
      auto r = co_await loop.recv(b, buf);
      REQUIRE(r.value() > 0);
      got.append(text(std::span(buf).first(r.value())));
    }
    co_return got;
  };
  CHECK(netxx_test::run_bounded(body()) == "first,second,third");
  loop.close_now(a);
  loop.close_now(b);
}

TEST_CASE("recv resumes with 0 at end of stream", "[io]") {
  const auto fds_ = netxx_test::connected_pair(AF_INET6);
  const int a = fds_.first, b = fds_.second;
  auto& loop = net::loop::current();
  net::set_timeout([fd = b] { ::shutdown(fd, SHUT_WR); }, 5);
  auto reader = [&]() -> net::task<int> {
    std::array<std::byte, 8> buf;
    auto r = co_await loop.recv(a, buf);
    co_return r.res;
  };
  CHECK(netxx_test::run_bounded(reader()) == 0);
  loop.close_now(a);
  loop.close_now(b);
}

TEST_CASE("cancelling a pending recv with a stop_token resumes it with ABORT_ERR and leaks nothing",
          "[io][cancel]") {
  const int family = GENERATE(AF_INET, AF_INET6, AF_UNIX);
  CAPTURE(family_name(family));
  auto& loop = net::loop::current();
  const int fds_before = netxx_test::open_fds();
  const auto fds_ = netxx_test::connected_pair(family);
  const int a = fds_.first, b = fds_.second;
  for (int round = 0; round < 100; ++round) {
    std::stop_source src;
    net::set_timeout([&] { src.request_stop(); }, 1);
    auto body = [&]() -> net::task<std::error_code> {
      std::array<std::byte, 8> buf;
      auto r = co_await loop.recv(a, buf, 0, src.get_token());
      co_return r.error();
    };
    auto ec = netxx_test::run_bounded(body());
    REQUIRE(ec == net::errc::abort_err);
    REQUIRE(net::code_string(ec) == "ABORT_ERR");
  }
  CHECK(loop.core().refs() == 0);
  // The socket still works after all those cancels: nothing was consumed.
  REQUIRE(::write(b, "ok", 2) == 2);
  auto after = [&]() -> net::task<std::string> {
    std::array<std::byte, 8> buf;
    auto r = co_await loop.recv(a, buf);
    co_return std::string(text(std::span(buf).first(r.value())));
  };
  CHECK(netxx_test::run_bounded(after()) == "ok");
  loop.close_now(a);
  loop.close_now(b);
  CHECK(netxx_test::open_fds() == fds_before);
}

TEST_CASE("a stop requested on another thread cancels a pending recv", "[io][cancel]") {
  const auto fds_ = netxx_test::connected_pair(AF_UNIX);
  const int a = fds_.first, b = fds_.second;
  auto& loop = net::loop::current();
  std::stop_source src;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    src.request_stop();
  });
  auto body = [&]() -> net::task<std::error_code> {
    std::array<std::byte, 8> buf;
    auto r = co_await loop.recv(a, buf, 0, src.get_token());
    co_return r.error();
  };
  CHECK(netxx_test::run_bounded(body()) == net::errc::abort_err);
  t.join();
  loop.close_now(a);
  loop.close_now(b);
}

TEST_CASE("an operation whose token is already stopped fails at once without touching the socket",
          "[io][cancel]") {
  const auto fds_ = netxx_test::connected_pair(AF_UNIX);
  const int a = fds_.first, b = fds_.second;
  REQUIRE(::write(b, "data", 4) == 4);
  auto& loop = net::loop::current();
  std::stop_source src;
  src.request_stop();
  auto body = [&]() -> net::task<std::error_code> {
    std::array<std::byte, 8> buf;
    auto r = co_await loop.recv(a, buf, 0, src.get_token());
    co_return r.error();
  };
  CHECK(net::run(body()) == net::errc::abort_err);
  std::array<char, 8> buf{};
  CHECK(::read(a, buf.data(), buf.size()) == 4);  // the data is still there
  loop.close_now(a);
  loop.close_now(b);
}

TEST_CASE("closing a descriptor resumes what waits on it with ABORT_ERR", "[io][cancel]") {
  const auto fds_ = netxx_test::connected_pair(AF_INET);
  const int a = fds_.first, b = fds_.second;
  auto& loop = net::loop::current();
  std::error_code got;
  auto reader = [&]() -> net::task<> {
    std::array<std::byte, 8> buf;
    auto r = co_await loop.recv(a, buf);
    got = r.error();
  };
  auto closer = [&]() -> net::task<> {
    co_await net::sleep(2);
    auto c = co_await loop.close(a);
    CHECK(c.ok());
  };
  auto both = [&]() -> net::task<> {
    net::spawn(reader());
    co_await closer();
    while (!got) co_await net::sleep(1);
  };
  netxx_test::run_bounded(both());
  CHECK(got == net::errc::abort_err);
  loop.close_now(b);
}

TEST_CASE("destroying a coroutine with a recv in flight abandons it safely", "[io][cancel]") {
  auto& loop = net::loop::current();
  const int fds_before = netxx_test::open_fds();
  const auto fds_ = netxx_test::connected_pair(AF_INET);
  const int a = fds_.first, b = fds_.second;
  {
    auto reader = [&]() -> net::task<> {
      std::array<std::byte, 4096> buf;  // in the frame: freed with it
      co_await loop.recv(a, buf);
    };
    auto t = reader();
    auto h = t.handle();
    net::detail::resume(h);  // start it: the recv is now in the kernel
    CHECK(loop.core().refs() == 1);
  }  // t destroyed here, the recv still pending
  CHECK(loop.core().refs() == 0);
  // Data that arrives now must not be written into the freed frame (ASan
  // would see it), and must still be readable.
  REQUIRE(::write(b, "late", 4) == 4);
  auto after = [&]() -> net::task<std::string> {
    std::array<std::byte, 8> buf;
    auto r = co_await loop.recv(a, buf);
    co_return std::string(text(std::span(buf).first(r.value())));
  };
  CHECK(netxx_test::run_bounded(after()) == "late");
  loop.close_now(a);
  loop.close_now(b);
  CHECK(netxx_test::open_fds() == fds_before);
}

TEST_CASE("connect to a closed port fails with ECONNREFUSED", "[io][errors]") {
  const int family = GENERATE(AF_INET, AF_INET6);
  auto& loop = net::loop::current();
  // Bind a port, then close it: nothing listens there.
  sockaddr_storage ss{};
  socklen_t len;
  {
    listener l(family);
    ss = l.addr;
    len = l.len;
  }
  auto body = [&]() -> net::task<std::error_code> {
    int s = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    auto r = co_await loop.connect(s, reinterpret_cast<sockaddr*>(&ss), len);
    co_await loop.close(s);
    co_return r.error();
  };
  auto ec = netxx_test::run_bounded(body());
  CHECK(ec == std::errc::connection_refused);
  CHECK(net::code_string(ec) == "ECONNREFUSED");
}

TEST_CASE("sending to a peer that reset gives ECONNRESET or EPIPE, never SIGPIPE", "[io][errors]") {
  const auto fds_ = netxx_test::connected_pair(AF_INET);
  const int a = fds_.first, b = fds_.second;
  auto& loop = net::loop::current();
  // The peer closes with unread data in its buffer: the kernel answers with RST.
  REQUIRE(::write(a, "unread", 6) == 6);
  linger lg{1, 0};
  ::setsockopt(b, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(b);
  auto body = [&]() -> net::task<std::error_code> {
    std::vector<std::byte> chunk(64 * 1024);
    for (int i = 0; i < 64; ++i) {
      auto r = co_await loop.send(a, chunk);
      if (!r) co_return r.error();
    }
    co_return std::error_code{};
  };
  auto ec = netxx_test::run_bounded(body());
  CHECK((ec == std::errc::connection_reset || ec == std::errc::broken_pipe));
  loop.close_now(a);
}

TEST_CASE("a socket that always has data does not starve timers", "[io][fairness]") {
  const auto fds_ = netxx_test::connected_pair(AF_UNIX);
  const int a = fds_.first, b = fds_.second;
  auto& loop = net::loop::current();
  std::vector<std::byte> fill(100'000, std::byte{'z'});
  REQUIRE(::write(b, fill.data(), fill.size()) == static_cast<ssize_t>(fill.size()));
  bool timer_fired = false;
  std::size_t read_when_fired = 0;
  std::size_t total = 0;
  net::set_timeout([&] {
    timer_fired = true;
    read_when_fired = total;
  }, 1);
  auto reader = [&]() -> net::task<> {
    std::array<std::byte, 1> one;
    while (total < fill.size()) {
      auto r = co_await loop.recv(a, one);
      REQUIRE(r.value() == 1);
      ++total;
    }
  };
  netxx_test::run_bounded(reader());
  net::run();
  CHECK(timer_fired);
  CHECK(read_when_fired < fill.size());  // it fired while the reader was busy
  loop.close_now(a);
  loop.close_now(b);
}

// Reads that fill their whole buffer put the descriptor in the streaming fast
// path (io_uring: plain recv tried first; epoll: tried before waiting for an
// edge). A stream that ends exactly on a full buffer leaves it there: the next
// read must still wait for bytes that come later, and get exactly them.
TEST_CASE("a read after a stream that ended on a full buffer waits for the bytes that come later", "[io][fairness]") {
  for (int family : {AF_INET, AF_INET6, AF_UNIX}) {
    CAPTURE(family_name(family));
    const auto fds_ = netxx_test::connected_pair(family);
    const int a = fds_.first, b = fds_.second;
    auto& loop = net::loop::current();
    std::vector<std::byte> chunk(4096);
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<std::byte>(i * 7);
    auto body = [&]() -> net::task<std::string> {
      for (int i = 0; i < 16; ++i) {  // 16 full reads of what the peer sent at once
        REQUIRE(::write(b, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size()));
        std::size_t got = 0;
        std::vector<std::byte> in(chunk.size());
        while (got < in.size()) {
          auto r = co_await loop.recv(a, std::span(in).subspan(got));
          REQUIRE(r.value() > 0);
          got += r.value();
        }
        REQUIRE(in == chunk);
      }
      // Nothing more is there: the read waits; the bytes come 20 ms later.
      auto later = net::set_timeout([b] { REQUIRE(::write(b, "late", 4) == 4); }, 20);
      std::array<std::byte, 4096> buf;
      auto r = co_await loop.recv(a, buf);
      co_return std::string(text(std::span(buf).first(r.value())));
    };
    CHECK(netxx_test::run_bounded(body()) == "late");
    loop.close_now(a);
    loop.close_now(b);
  }
}

TEST_CASE("accepts waiting on one listener: a cancelled one ends with ABORT_ERR, the others each get a connection",
          "[io][cancel]") {
  // Under io_uring these accepts wait on the listener's one multishot request.
  const int family = GENERATE(AF_INET, AF_INET6, AF_UNIX);
  CAPTURE(family_name(family));
  auto& loop = net::loop::current();
  const int fds_before = netxx_test::open_fds();
  net::io_result r1{}, r2{}, r3{};  // outlive the listener, whose close ends a waiter left behind
  {
    listener l(family);
    struct outcome {
      std::error_code cancelled;
      int accepted = 0;
      int clients_served = 0;
    };
    auto body = [&]() -> net::task<outcome> {
      outcome out;
      std::stop_source stop;
      auto accept_one = [&](std::stop_token st) -> net::task<net::io_result> {
        co_return co_await loop.accept(l.fd, nullptr, nullptr, st);
      };
      auto first = accept_one(stop.get_token());
      auto second = accept_one({});
      auto third = accept_one({});
      auto run_one = [](net::task<net::io_result> t, net::io_result& r) -> net::task<> { r = co_await std::move(t); };
      net::spawn(run_one(std::move(first), r1));
      net::spawn(run_one(std::move(second), r2));
      net::spawn(run_one(std::move(third), r3));
      co_await loop.sleep(5);
      stop.request_stop();  // the first waiter leaves before any connection came
      co_await loop.sleep(5);
      out.cancelled = r1.error();
      std::vector<int> clients;
      for (int i = 0; i < 2; ++i) {
        int s = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        auto c = co_await loop.connect(s, reinterpret_cast<sockaddr*>(&l.addr), l.len);
        if (c.ok()) clients.push_back(s);
        else loop.close_now(s);
      }
      for (int i = 0; i < 100 && !(r2.res > 0 && r3.res > 0); ++i) co_await loop.sleep(2);
      for (net::io_result* r : {&r2, &r3}) {
        if (r->res <= 0) continue;
        ++out.accepted;
        // The accepted descriptor is a connection: a byte from it reaches a client.
        const int c = r->res;
        auto w = co_await loop.send(c, bytes("x"));
        if (w.ok()) ++out.clients_served;
        loop.close_now(c);
      }
      for (int s : clients) loop.close_now(s);
      co_return out;
    };
    const outcome out = netxx_test::run_bounded(body(), 10'000);
    CHECK(out.cancelled == net::errc::abort_err);
    CHECK(out.accepted == 2);
    CHECK(out.clients_served == 2);
  }
  netxx_test::settle();
  CHECK(netxx_test::open_fds() == fds_before);
}
