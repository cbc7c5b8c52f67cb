// Happy Eyeballs (autoSelectFamily): the lookup option hands several
// addresses on loopback; refused ports, and a listener whose accept queue is
// full (so its SYNs go unanswered) play the unreachable hosts. Nothing leaves
// the machine.
#include <filesystem>

#include "net_test.hpp"

namespace {

using netxx_test::run_bounded;

std::string str(std::string_view v) { return std::string(v); }

using netxx_test::run_until;

// A lookup that answers with fixed addresses, and remembers what it was asked.
struct fixed_lookup {
  std::vector<net::dns::lookup_address> answer;
  std::shared_ptr<std::vector<net::dns::lookup_options>> asked = std::make_shared<std::vector<net::dns::lookup_options>>();
  void operator()(std::string_view, const net::dns::lookup_options& o, net::dns::lookup_callback cb) const {
    asked->push_back(o);
    if (o.all)
      cb(std::nullopt, answer);
    else
      cb(std::nullopt, {answer.front()});
  }
};

// A port of 127.0.0.1 with nothing listening on it (used a moment ago, then closed).
std::uint16_t closed_port() {
  auto [a, b] = netxx_test::connected_pair(AF_INET);
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(b, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(a);
  ::close(b);
  return ntohs(sa.sin_port);
}

// Records every event of a connecting socket as text.
struct recorder {
  std::vector<std::string> events;
  bool closed = false;
  std::optional<net::error> error;
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
    // remoteAddress read at "connect" is kept after the close, as Node's
    // _peername is (the server here closes at once, and the client reads
    // from connect on, so it may be closed by the time the test looks).
    s.on("connect", [this, &s] {
      events.push_back("connect");
      (void)s.remote_address();
    });
    s.on("error", [this](const net::error& e) { error = e; });
    s.on("close", [this](bool) { closed = true; });
  }
};

// A listening socket on 127.0.0.1 whose port is then free on ::1 too (a
// refused port there), run by our server so the connection is accepted.
struct v4_server {
  net::server srv = net::create_server([](net::socket c) { c.destroy(); });
  v4_server() { srv.listen({.port = 0, .host = "127.0.0.1"}); }
  ~v4_server() {
    bool closed = false;
    srv.close([&](std::error_code) { closed = true; });
    run_until([&] { return closed; });
    // One more turn: the cancelled accept comes back (io_uring) and the state is freed.
    run_bounded([]() -> net::task<> { co_await net::sleep(1); }(), 5'000);
  }
  std::uint16_t port() const { return srv.address()->port; }
};

// A listener on 127.0.0.2:port that never accepts, with its queue filled:
// further SYNs are dropped, so a connect to it neither succeeds nor fails.
struct black_hole {
  int lfd = -1;
  std::vector<int> fillers;
  explicit black_hole(std::uint16_t port) {
    lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(0x7f000002);  // 127.0.0.2
    REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(lfd, 0) == 0);
    // backlog 0 holds one connection; after it (and one spare) SYNs are dropped.
    for (int k = 0; k < 2; ++k) {
      int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
      fillers.push_back(c);
    }
    ::usleep(50'000);  // let the handshakes land in the queue
  }
  ~black_hole() {
    for (int c : fillers) ::close(c);
    ::close(lfd);
  }
};

}  // namespace

TEST_CASE("a refused first family falls back to the other: events in order, attempted addresses listed",
          "[happy-eyeballs]") {
  v4_server srv;
  const std::uint16_t port = srv.port();
  fixed_lookup lookup{{{"::1", 6}, {"127.0.0.1", 4}}};
  net::connect_options o{.port = port, .host = "dual.test"};
  o.lookup = lookup;
  net::socket c = net::connect(o);
  recorder r;
  r.attach(c);
  std::vector<std::string> lookups;
  c.on("lookup", [&](std::error_code, std::string_view ip, int fam, std::string_view host) {
    lookups.push_back(str(ip) + "/" + std::to_string(fam) + "/" + str(host));
  });
  run_until([&] { return !r.events.empty() && r.events.back() == "connect"; });
  CHECK(lookups == std::vector<std::string>{"::1/6/dual.test", "127.0.0.1/4/dual.test"});
  CHECK(r.events == std::vector<std::string>{"attempt ::1 6", "failed ::1 ECONNREFUSED", "attempt 127.0.0.1 4", "connect"});
  REQUIRE(c.auto_select_family_attempted_addresses());
  CHECK(*c.auto_select_family_attempted_addresses() ==
        std::vector<std::string>{"::1:" + std::to_string(port), "127.0.0.1:" + std::to_string(port)});
  REQUIRE(lookup.asked->size() == 1);
  CHECK(lookup.asked->front().all);
  CHECK(lookup.asked->front().hints == net::dns::addrconfig);  // Node's default when no family is given
  CHECK(c.remote_address() == "127.0.0.1");
  c.destroy();
  run_until([&] { return r.closed; });
}

TEST_CASE("families alternate, starting with the family of the first address, each address tried once",
          "[happy-eyeballs]") {
  // Every port refused: the order of the attempts is all there is to see.
  const std::uint16_t port = closed_port();
  fixed_lookup lookup{{{"127.0.0.1", 4}, {"127.0.0.3", 4}, {"127.0.0.1", 4}, {"::1", 6}, {"127.0.0.4", 4}}};
  net::connect_options o{.port = port, .host = "many.test"};
  o.lookup = lookup;
  net::socket c = net::connect(o);
  recorder r;
  r.attach(c);
  run_until([&] { return r.closed; });
  CHECK(r.events == std::vector<std::string>{"attempt 127.0.0.1 4", "failed 127.0.0.1 ECONNREFUSED",
                                              "attempt ::1 6",       "failed ::1 ECONNREFUSED",
                                              "attempt 127.0.0.3 4", "failed 127.0.0.3 ECONNREFUSED",
                                              "attempt 127.0.0.4 4", "failed 127.0.0.4 ECONNREFUSED"});
  // One error holding them all, its code the first one's (Node's NodeAggregateError).
  REQUIRE(r.error);
  CHECK(r.error->is_aggregate());
  CHECK(r.error->code_string() == "ECONNREFUSED");
  CHECK(r.error->message().empty());
  REQUIRE(r.error->errors().size() == 4);
  CHECK(r.error->errors()[0].message() == "connect ECONNREFUSED 127.0.0.1:" + std::to_string(port));
  CHECK(r.error->errors()[1].message() == "connect ECONNREFUSED ::1:" + std::to_string(port));
  CHECK(std::string(r.error->what()).find("connect ECONNREFUSED 127.0.0.4") != std::string::npos);
  CHECK(c.auto_select_family_attempted_addresses()->size() == 4);
}

TEST_CASE("an address that does not answer is abandoned after the attempt timeout", "[happy-eyeballs]") {
  v4_server srv;  // 127.0.0.1:port answers
  const std::uint16_t port = srv.port();
  black_hole hole(port);  // 127.0.0.2:port swallows SYNs
  fixed_lookup lookup{{{"127.0.0.2", 4}, {"::1", 6}, {"127.0.0.1", 4}}};
  net::connect_options o{.port = port, .host = "slow.test", .auto_select_family_attempt_timeout = 50};
  o.lookup = lookup;
  net::socket c = net::connect(o);
  recorder r;
  r.attach(c);
  run_until([&] { return r.closed || (!r.events.empty() && r.events.back() == "connect"); });
  CHECK(r.events == std::vector<std::string>{"attempt 127.0.0.2 4", "timeout 127.0.0.2", "attempt ::1 6",
                                              "failed ::1 ECONNREFUSED", "attempt 127.0.0.1 4", "connect"});
  CHECK(c.remote_address() == "127.0.0.1");
  c.destroy();
  run_until([&] { return r.closed; });
}

TEST_CASE("when the last address fails too, the timed-out ones are in the error as ETIMEDOUT", "[happy-eyeballs]") {
  const std::uint16_t port = closed_port();
  black_hole hole(port);
  fixed_lookup lookup{{{"127.0.0.2", 4}, {"::1", 6}}};
  net::connect_options o{.port = port, .host = "slow.test", .auto_select_family_attempt_timeout = 20};
  o.lookup = lookup;
  auto body = [&]() -> net::task<net::error> {
    try {
      co_await net::connect(o);
    } catch (const net::error& e) {
      co_return e;
    }
    co_return net::error(net::errc::err_socket_closed);
  };
  const net::error e = run_bounded(body());
  REQUIRE(e.errors().size() == 2);
  CHECK(e.code_string() == "ETIMEDOUT");
  CHECK(e.errors()[0].message() == "connect ETIMEDOUT 127.0.0.2:" + std::to_string(port));
  CHECK(e.errors()[1].message() == "connect ECONNREFUSED ::1:" + std::to_string(port));
}

TEST_CASE("no auto-selection with a family, a local address, or auto_select_family = false", "[happy-eyeballs]") {
  v4_server srv;
  const std::uint16_t port = srv.port();
  struct variant {
    const char* what;
    net::connect_options o;
  };
  variant variants[] = {
      {"family 4", {.port = port, .host = "x.test", .family = 4}},
      {"local address", {.port = port, .host = "x.test", .local_address = "127.0.0.1"}},
      {"auto_select_family = false", {.port = port, .host = "x.test", .auto_select_family = false}},
  };
  for (auto& v : variants) {
    CAPTURE(v.what);
    fixed_lookup lookup{{{"127.0.0.1", 4}, {"::1", 6}}};
    v.o.lookup = lookup;
    net::socket c = net::connect(v.o);
    recorder r;
    r.attach(c);
    run_until([&] { return r.closed || (!r.events.empty() && r.events.back() == "connect"); });
    CHECK(r.events == std::vector<std::string>{"attempt 127.0.0.1 4", "connect"});
    CHECK_FALSE(c.auto_select_family_attempted_addresses());
    REQUIRE(lookup.asked->size() == 1);
    CHECK_FALSE(lookup.asked->front().all);
    c.destroy();
    run_until([&] { return r.closed; });
  }
}

TEST_CASE("a single address after filtering connects without the multi-attempt machinery", "[happy-eyeballs]") {
  v4_server srv;
  fixed_lookup lookup{{{"127.0.0.1", 4}, {"127.0.0.1", 4}}};
  net::connect_options o{.port = srv.port(), .host = "one.test"};
  o.lookup = lookup;
  net::socket c = net::connect(o);
  recorder r;
  r.attach(c);
  run_until([&] { return r.closed || (!r.events.empty() && r.events.back() == "connect"); });
  CHECK(r.events == std::vector<std::string>{"attempt 127.0.0.1 4", "connect"});
  CHECK_FALSE(c.auto_select_family_attempted_addresses());
  c.destroy();
  run_until([&] { return r.closed; });
}

TEST_CASE("destroy() during the attempts stops them: no further attempt, no error", "[happy-eyeballs]") {
  const std::uint16_t port = closed_port();
  black_hole hole(port);
  fixed_lookup lookup{{{"127.0.0.2", 4}, {"::1", 6}}};
  net::connect_options o{.port = port, .host = "slow.test", .auto_select_family_attempt_timeout = 5000};
  o.lookup = lookup;
  net::socket c = net::connect(o);
  recorder r;
  r.attach(c);
  const int fds_before = netxx_test::open_fds();
  c.on("connectionAttempt", [&](std::string_view, std::uint16_t, int) {
    net::set_timeout([c]() mutable { c.destroy(); }, 20);
  });
  run_until([&] { return r.closed; });
  CHECK(r.events == std::vector<std::string>{"attempt 127.0.0.2 4"});
  CHECK_FALSE(r.error);
  net::run();  // the cancelled attempt's completion closes its descriptor
  CHECK(netxx_test::open_fds() <= fds_before);
}

TEST_CASE("happy_eyeballs_order: the first answer's family first, then alternating, each address once",
          "[happy-eyeballs][order]") {
  using A = net::dns::lookup_address;
  using net::detail::happy_eyeballs_order;
  CHECK(happy_eyeballs_order({}).empty());
  // Node's internalConnectMultiple: 6 first here, because the first answer is IPv6.
  CHECK(happy_eyeballs_order({{"::1", 6}, {"127.0.0.1", 4}, {"::2", 6}, {"::3", 6}, {"127.0.0.2", 4}}) ==
        std::vector<A>{{"::1", 6}, {"127.0.0.1", 4}, {"::2", 6}, {"127.0.0.2", 4}, {"::3", 6}});
  CHECK(happy_eyeballs_order({{"10.0.0.1", 4}, {"10.0.0.2", 4}, {"::1", 6}}) ==
        std::vector<A>{{"10.0.0.1", 4}, {"::1", 6}, {"10.0.0.2", 4}});
  // Duplicates go; what is not an IP of family 4 or 6 is left out.
  CHECK(happy_eyeballs_order({{"127.0.0.1", 4}, {"127.0.0.1", 4}, {"::1", 6}, {"::1", 6}}) ==
        std::vector<A>{{"127.0.0.1", 4}, {"::1", 6}});
  CHECK(happy_eyeballs_order({{"not-an-ip", 4}, {"127.0.0.1", 5}, {"::1", 6}}) == std::vector<A>{{"::1", 6}});
  CHECK(happy_eyeballs_order({{"example.com", 4}}).empty());
}
