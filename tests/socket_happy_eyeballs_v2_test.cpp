// Happy Eyeballs v2 (RFC 8305, connect_options::happy_eyeballs): attempts
// overlap. The lookup option hands chosen loopback addresses; a listener
// whose accept queue is full plays the host that does not answer (its SYNs
// are dropped), a port nobody listens on the host that refuses, and a
// listener that never accepts the host that answers (the handshake is the
// kernel's: no descriptor appears on the server side, so the counts of open
// descriptors are the client's alone). Order and counts only, no timing.
#include <arpa/inet.h>
#include <fcntl.h>

#include <stop_token>

#include "net_test.hpp"

namespace {

using netxx_test::open_fds;
using netxx_test::run_until;

// The descriptors open now, this thread's loop (its own ring or epoll
// descriptors) made first, so they are not counted as the connect's.
int fds_with_loop() {
  (void)net::loop::current();
  return open_fds();
}

std::string str(std::string_view v) { return std::string(v); }

// A lookup that answers with fixed addresses.
struct fixed_lookup {
  std::vector<net::dns::lookup_address> answer;
  void operator()(std::string_view, const net::dns::lookup_options& o, net::dns::lookup_callback cb) const {
    CHECK(o.all);
    cb(std::nullopt, answer);
  }
};

int bound_listener(int af, const char* ip, std::uint16_t port, int backlog) {
  const int fd = ::socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (af == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    ::inet_pton(AF_INET, ip, &a->sin_addr);
    len = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    ::inet_pton(AF_INET6, ip, &a->sin6_addr);
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    len = sizeof(sockaddr_in6);
  }
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0);
  REQUIRE(::listen(fd, backlog) == 0);
  return fd;
}

std::uint16_t port_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

// 127.0.0.1:port answers (the kernel completes the handshake; nobody accepts).
struct answering {
  int fd;
  answering() : fd(bound_listener(AF_INET, "127.0.0.1", 0, 16)) {}
  ~answering() { ::close(fd); }
  std::uint16_t port() const { return port_of(fd); }
};

// A listener on ip:port that never accepts, with its queue filled: further
// SYNs are dropped, so a connect to it neither succeeds nor fails. open()
// makes room again: the next SYN (a retransmission) is answered.
struct black_hole {
  int lfd = -1;
  std::vector<int> fillers;
  black_hole(const char* ip, std::uint16_t port) : lfd(bound_listener(AF_INET, ip, port, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, ip, &a.sin_addr);
    // backlog 0 holds one connection; the second filler's SYN is dropped, and
    // so is every SYN after it.
    for (int k = 0; k < 2; ++k) {
      const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
      fillers.push_back(c);
    }
    ::usleep(50'000);  // let the first handshake land in the queue
  }
  // The queued connection is taken and the filler still knocking goes, so
  // the next SYN to arrive finds room.
  void open() {
    ::fcntl(lfd, F_SETFL, O_NONBLOCK);  // an empty queue fails the check below, never blocks the loop
    const int taken = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    CHECK(taken >= 0);
    if (taken >= 0) ::close(taken);
    for (int c : fillers) ::close(c);
    fillers.clear();
  }
  ~black_hole() {
    for (int c : fillers) ::close(c);
    ::close(lfd);
  }
};

// A port of 127.0.0.1 (and so of every loopback address) that nothing listens on.
std::uint16_t closed_port() {
  const int fd = bound_listener(AF_INET, "127.0.0.1", 0, 1);
  const std::uint16_t p = port_of(fd);
  ::close(fd);
  return p;
}

// Records every event of a connecting socket as text.
struct recorder {
  std::vector<std::string> events;
  bool closed = false;
  std::optional<net::error> error;
  bool connected() const { return !events.empty() && events.back() == "connect"; }
  void attach(net::socket& s) {
    s.on("connectionAttempt", [this](std::string_view ip, std::uint16_t, int fam) {
      events.push_back("attempt " + str(ip) + " " + std::to_string(fam));
    });
    s.on("connectionAttemptFailed", [this](std::string_view ip, std::uint16_t, int, const net::error& e) {
      events.push_back("failed " + str(ip) + " " + str(e.code_string()));
    });
    s.on("connectionAttemptTimeout", [this](std::string_view ip, std::uint16_t, int) {
      events.push_back("timeout " + str(ip));
    });
    s.on("connect", [this] { events.push_back("connect"); });
    s.on("error", [this](const net::error& e) { error = e; });
    s.on("close", [this](bool) { closed = true; });
  }
};

net::connect_options racing(std::uint16_t port, const fixed_lookup& lookup, std::int64_t delay) {
  net::connect_options o{.port = port, .host = "race.test", .happy_eyeballs = net::happy_eyeballs_v2{.attempt_delay = delay}};
  o.lookup = lookup;
  return o;
}

// Ends a socket and lets the loop take back what it held (io_uring: a
// cancelled connect's completion comes a turn later).
void finish(net::socket& c, recorder& r) {
  c.destroy();
  run_until([&] { return r.closed; });
  netxx_test::run_bounded(5'000);
}

}  // namespace

TEST_CASE("v2: the next address starts while the first is still pending, and wins; the first is closed at once",
          "[happy-eyeballs-v2]") {
  answering good;
  const std::uint16_t port = good.port();
  black_hole hole("127.0.0.2", port);
  const int fds_before = fds_with_loop();
  net::socket c = net::connect(racing(port, {{{"127.0.0.2", 4}, {"127.0.0.1", 4}}}, 20));
  recorder r;
  r.attach(c);
  int fds_at_connect = -1;
  c.on("connect", [&] { fds_at_connect = open_fds(); });
  run_until([&] { return r.closed || r.connected(); });
  // The first attempt neither failed nor timed out: it was still in flight
  // when the second started, and the second won.
  CHECK(r.events == std::vector<std::string>{"attempt 127.0.0.2 4", "attempt 127.0.0.1 4", "connect"});
  CHECK(c.remote_address() == "127.0.0.1");
  REQUIRE(c.auto_select_family_attempted_addresses());
  CHECK(*c.auto_select_family_attempted_addresses() ==
        std::vector<std::string>{"127.0.0.2:" + std::to_string(port), "127.0.0.1:" + std::to_string(port)});
  // By "connect" the loser's descriptor is gone: the winner's alone is open.
  CHECK(fds_at_connect == fds_before + 1);
  finish(c, r);
  CHECK_FALSE(r.error);
  CHECK(open_fds() == fds_before);
}

TEST_CASE("v2: an attempt is not abandoned when the next starts: the first address can still win",
          "[happy-eyeballs-v2]") {
  // Neither answers at first; once the second attempt is under way the first
  // host makes room, and its SYN's retransmission (about a second later) is
  // answered. Node's serial algorithm would have dropped that attempt.
  const std::uint16_t port = closed_port();
  black_hole first("127.0.0.2", port);
  black_hole second("127.0.0.3", port);
  const int fds_before = fds_with_loop();
  net::socket c = net::connect(racing(port, {{{"127.0.0.2", 4}, {"127.0.0.3", 4}}}, 10));
  recorder r;
  r.attach(c);
  c.on("connectionAttempt", [&](std::string_view ip, std::uint16_t, int) {
    if (ip == "127.0.0.3") first.open();
  });
  int fds_at_connect = -1;
  c.on("connect", [&] { fds_at_connect = open_fds(); });
  run_until([&] { return r.closed || r.connected(); }, 20'000);
  CHECK(r.events == std::vector<std::string>{"attempt 127.0.0.2 4", "attempt 127.0.0.3 4", "connect"});
  CHECK(c.remote_address() == "127.0.0.2");
  // first.open() closed two descriptors (the accepted one and the filler);
  // the second attempt, still pending, was closed by the win.
  CHECK(fds_at_connect == fds_before + 1 - 2);
  finish(c, r);
  CHECK(open_fds() == fds_before - 2);
}

TEST_CASE("v2: a refused attempt starts the next at once, without waiting for the delay", "[happy-eyeballs-v2]") {
  answering good;  // 127.0.0.1 only: the same port refuses on ::1 and 127.0.0.3
  const std::uint16_t port = good.port();
  const int fds_before = fds_with_loop();
  // A delay of 24 days: only a failure can start the next attempt in this test's time.
  net::socket c = net::connect(racing(port, {{{"::1", 6}, {"127.0.0.3", 4}, {"127.0.0.1", 4}}}, 2147483647));
  recorder r;
  r.attach(c);
  run_until([&] { return r.closed || r.connected(); });
  CHECK(r.events == std::vector<std::string>{"attempt ::1 6", "failed ::1 ECONNREFUSED", "attempt 127.0.0.3 4",
                                              "failed 127.0.0.3 ECONNREFUSED", "attempt 127.0.0.1 4", "connect"});
  CHECK(c.remote_address() == "127.0.0.1");
  CHECK(c.auto_select_family_attempted_addresses()->size() == 3);
  finish(c, r);
  CHECK(open_fds() == fds_before);
}

TEST_CASE("v2: refused attempts beside one that does not answer: the next starts, the first stays in flight",
          "[happy-eyeballs-v2]") {
  // The first does not answer; the delay starts ::1, which is refused; the
  // third starts (at once, or by the delay if the refusal is slower than
  // 10 ms), and wins while the first is still pending.
  answering good;
  const std::uint16_t port = good.port();
  black_hole hole("127.0.0.2", port);
  const int fds_before = fds_with_loop();
  net::socket c = net::connect(racing(port, {{{"127.0.0.2", 4}, {"::1", 6}, {"127.0.0.1", 4}}}, 10));
  recorder r;
  r.attach(c);
  run_until([&] { return r.closed || r.connected(); });
  REQUIRE(r.events.size() == 5);
  CHECK(std::vector(r.events.begin(), r.events.begin() + 2) ==
        std::vector<std::string>{"attempt 127.0.0.2 4", "attempt ::1 6"});
  CHECK(std::is_permutation(r.events.begin() + 2, r.events.end() - 1,
                            std::vector<std::string>{"failed ::1 ECONNREFUSED", "attempt 127.0.0.1 4"}.begin()));
  CHECK(r.events.back() == "connect");
  CHECK(c.remote_address() == "127.0.0.1");
  finish(c, r);
  CHECK(open_fds() == fds_before);
}

TEST_CASE("v2: when every attempt fails, one aggregate error in the order tried, as autoSelectFamily's",
          "[happy-eyeballs-v2]") {
  const std::uint16_t port = closed_port();
  const std::string p = std::to_string(port);
  const int fds_before = fds_with_loop();
  net::socket c = net::connect(racing(port, {{{"127.0.0.1", 4}, {"127.0.0.3", 4}, {"::1", 6}}}, 10));
  recorder r;
  r.attach(c);
  run_until([&] { return r.closed; });
  CHECK(r.events == std::vector<std::string>{"attempt 127.0.0.1 4", "failed 127.0.0.1 ECONNREFUSED",
                                              "attempt ::1 6",       "failed ::1 ECONNREFUSED",
                                              "attempt 127.0.0.3 4", "failed 127.0.0.3 ECONNREFUSED"});
  REQUIRE(r.error);
  CHECK(r.error->is_aggregate());
  CHECK(r.error->code_string() == "ECONNREFUSED");
  CHECK(r.error->message().empty());
  REQUIRE(r.error->errors().size() == 3);
  CHECK(r.error->errors()[0].message() == "connect ECONNREFUSED 127.0.0.1:" + p);
  CHECK(r.error->errors()[1].message() == "connect ECONNREFUSED ::1:" + p);
  CHECK(r.error->errors()[2].message() == "connect ECONNREFUSED 127.0.0.3:" + p);
  REQUIRE(c.auto_select_family_attempted_addresses());
  CHECK(*c.auto_select_family_attempted_addresses() ==
        std::vector<std::string>{"127.0.0.1:" + p, "::1:" + p, "127.0.0.3:" + p});
  netxx_test::run_bounded(5'000);
  CHECK(open_fds() == fds_before);

  // The awaitable face throws the same error.
  auto body = [&]() -> net::task<net::error> {
    try {
      const fixed_lookup both{{{"::1", 6}, {"127.0.0.1", 4}}};
      const net::connect_options o = racing(port, both, 10);
      co_await net::connect(o);
    } catch (const net::error& e) {
      co_return e;
    }
    co_return net::error(net::errc::err_socket_closed);
  };
  const net::error e = netxx_test::run_bounded(body());
  REQUIRE(e.errors().size() == 2);
  CHECK(e.errors()[0].message() == "connect ECONNREFUSED ::1:" + p);
  CHECK(e.errors()[1].message() == "connect ECONNREFUSED 127.0.0.1:" + p);
}

TEST_CASE("v2: destroy() or the abort signal during the attempts closes every one of them", "[happy-eyeballs-v2]") {
  const std::uint16_t port = closed_port();
  black_hole first("127.0.0.2", port);
  black_hole second("127.0.0.3", port);
  for (const bool by_signal : {false, true}) {
    CAPTURE(by_signal);
    const int fds_before = fds_with_loop();
    std::stop_source stop;
    net::connect_options o = racing(port, {{{"127.0.0.2", 4}, {"127.0.0.3", 4}}}, 10);
    if (by_signal) o.signal = stop.get_token();
    net::socket c = net::connect(o);
    recorder r;
    r.attach(c);
    int fds_in_flight = -1, fds_after = -1;
    c.on("connectionAttempt", [&](std::string_view ip, std::uint16_t, int) {
      if (ip != "127.0.0.3") return;
      // A turn later, both connects are in the kernel's hands.
      net::set_timeout([&] {
        fds_in_flight = open_fds();
        if (by_signal)
          stop.request_stop();  // the socket is destroyed on the loop, next turn
        else
          c.destroy();
      }, 1);
    });
    c.on("close", [&](bool) { fds_after = open_fds(); });
    run_until([&] { return r.closed; });
    CHECK(r.events == std::vector<std::string>{"attempt 127.0.0.2 4", "attempt 127.0.0.3 4"});
    CHECK(fds_in_flight == fds_before + 2);  // both attempts were open together
    CHECK(fds_after == fds_before);          // and both closed by the destroy, before "close"
    if (by_signal) {
      REQUIRE(r.error);
      CHECK(r.error->code_string() == "ABORT_ERR");
    } else {
      CHECK_FALSE(r.error);
    }
    netxx_test::run_bounded(5'000);  // the cancelled connects come back and are let go
    CHECK(open_fds() == fds_before);
  }
}

TEST_CASE("v2: the option asks for auto-selection; a family or auto_select_family = false still opt out",
          "[happy-eyeballs-v2]") {
  answering good;
  const std::uint16_t port = good.port();
  // The process-wide default off: the option alone turns the race on.
  struct restore {
    ~restore() { net::set_default_auto_select_family(true); }
  } restore_default;
  net::set_default_auto_select_family(false);
  {
    net::socket c = net::connect(racing(port, {{{"::1", 6}, {"127.0.0.1", 4}}}, 2147483647));
    recorder r;
    r.attach(c);
    run_until([&] { return r.closed || r.connected(); });
    CHECK(r.events ==
          std::vector<std::string>{"attempt ::1 6", "failed ::1 ECONNREFUSED", "attempt 127.0.0.1 4", "connect"});
    finish(c, r);
  }
  net::set_default_auto_select_family(true);
  for (const bool by_family : {true, false}) {
    CAPTURE(by_family);
    net::connect_options o = racing(port, {{{"127.0.0.1", 4}, {"::1", 6}}}, 10);
    if (by_family)
      o.family = 4;
    else
      o.auto_select_family = false;
    o.lookup = [](std::string_view, const net::dns::lookup_options& lo, net::dns::lookup_callback cb) {
      CHECK_FALSE(lo.all);
      cb(std::nullopt, {{"127.0.0.1", 4}});
    };
    net::socket c = net::connect(o);
    recorder r;
    r.attach(c);
    run_until([&] { return r.closed || r.connected(); });
    CHECK(r.events == std::vector<std::string>{"attempt 127.0.0.1 4", "connect"});
    CHECK_FALSE(c.auto_select_family_attempted_addresses());
    finish(c, r);
  }
}

TEST_CASE("v2: the attempt delay is checked as Node checks its attempt timeout", "[happy-eyeballs-v2]") {
  for (const std::int64_t bad : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{2147483648}}) {
    CAPTURE(bad);
    net::connect_options o{.port = 80, .host = "race.test", .happy_eyeballs = net::happy_eyeballs_v2{.attempt_delay = bad}};
    try {
      net::socket c = net::connect(o);
      FAIL_CHECK("no throw");
    } catch (const net::error& e) {
      CHECK(e.code_string() == "ERR_OUT_OF_RANGE");
      CHECK(e.message() ==
            "The value of \"options.happyEyeballs.attemptDelay\" is out of range. It must be >= 1 && <= 2147483647. "
            "Received " + std::to_string(bad));
    }
  }
}

TEST_CASE("v2: with a local port the attempts cannot overlap: Node's serial attempts run", "[happy-eyeballs-v2]") {
  answering good;
  const std::uint16_t port = good.port();
  black_hole hole("127.0.0.2", port);
  const std::uint16_t local = closed_port();
  net::connect_options o = racing(port, {{{"127.0.0.2", 4}, {"127.0.0.1", 4}}}, 10);
  o.local_port = local;
  o.auto_select_family_attempt_timeout = 20;
  net::socket c = net::connect(o);
  recorder r;
  r.attach(c);
  run_until([&] { return r.closed || r.connected(); });
  // Racing, the second attempt could not bind the port the first holds.
  CHECK(r.events ==
        std::vector<std::string>{"attempt 127.0.0.2 4", "timeout 127.0.0.2", "attempt 127.0.0.1 4", "connect"});
  CHECK(c.local_port() == local);
  finish(c, r);
}
