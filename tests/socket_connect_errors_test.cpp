// The text of a failed connect, to the letter of Node's: when the message
// ends in " - Local (address:port)" and when err.localAddress/localPort are
// set. Node adds the local end in two cases (lib/net.js): a connect the
// kernel refused later (afterConnect, createConnectionError) when a local
// port was asked for, naming the local address as asked (0.0.0.0 or :: when
// only the port was); and a connect(2) that failed at once (internalConnect),
// naming the socket's local end from getsockname, with no localAddress or
// localPort property. Checked against fixed expectations on 127.0.0.1 and
// ::1, then against Node v23.5.0 running the same connects.
#include <sstream>

#include "net_test.hpp"
#include "node.hpp"

namespace {

using netxx_test::run_bounded;

struct fixed_lookup {
  std::vector<net::dns::lookup_address> answer;
  void operator()(std::string_view, const net::dns::lookup_options&, net::dns::lookup_callback cb) const {
    cb(std::nullopt, answer);
  }
};

// A listener on 127.0.0.2:port that never accepts, with its queue filled:
// further SYNs are dropped, so a connect to it neither succeeds nor fails
// (as in socket_happy_eyeballs_test).
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
    for (int k = 0; k < 2; ++k) {  // backlog 0 holds one, and one spare; then SYNs are dropped
      int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
      fillers.push_back(c);
    }
    ::usleep(50'000);  // let the handshakes land in the queue
  }
  black_hole(const black_hole&) = delete;
  black_hole& operator=(const black_hole&) = delete;
  ~black_hole() {
    for (int c : fillers) ::close(c);
    ::close(lfd);
  }
};

// One connect that must fail: where to, and the local end asked for.
struct connect_case {
  std::string host = {};
  std::uint16_t port = 0;
  std::string local_address = {};  // "" for none
  std::uint16_t local_port = 0;
  // host is a name, and its lookup's answer (Happy Eyeballs): "ip/family,ip/family"
  std::string answer = {};
};

constexpr const char* dual = "::1/6,127.0.0.1/4";

std::vector<net::dns::lookup_address> parse_answer(const std::string& answer) {
  std::vector<net::dns::lookup_address> out;
  std::istringstream in(answer);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto slash = item.find('/');
    out.push_back({item.substr(0, slash), std::stoi(item.substr(slash + 1))});
  }
  return out;
}

// "message|localAddress|localPort", as the Node script prints it; an
// AggregateError's parts follow on lines of their own, indented.
std::string describe(const net::error& e) {
  std::string s = e.message() + "|" + (e.local_port() ? e.local_address() : "undefined") + "|" +
                  (e.local_port() ? std::to_string(*e.local_port()) : "undefined");
  for (const auto& x : e.errors()) s += "\n  " + describe(x);
  return s;
}

net::error connect_error(const connect_case& c) {
  auto body = [&c]() -> net::task<net::error> {
    net::connect_options o{
        .port = c.port, .host = c.host, .local_address = c.local_address, .local_port = c.local_port};
    if (!c.answer.empty()) o.lookup = fixed_lookup{parse_answer(c.answer)};
    try {
      co_await net::connect(o);
    } catch (const net::error& e) {
      co_return e;
    }
    co_return net::error(net::errc::err_socket_closed, "connected");
  };
  return run_bounded(body());
}

// The same connects in Node, one after the other, each described as describe() does.
const char* const node_script = R"(
const net = require('net');
const cases = JSON.parse(process.argv[1]);
const show = (e) => [`${e.message}|${e.localAddress}|${e.localPort}`, ...(e.errors || []).map((x) => '  ' + show(x))].join('\n');
(function next(i) {
  if (i === cases.length) return;
  const c = cases[i];
  const o = { host: c.host, port: c.port };
  if (c.local_address) o.localAddress = c.local_address;
  if (c.local_port) o.localPort = c.local_port;
  if (c.answer) o.lookup = (h, opts, cb) => cb(null, c.answer.split(',').map((x) => ({ address: x.split('/')[0], family: +x.split('/')[1] })));
  net.connect(o).on('connect', () => { console.log('connected'); process.exit(2); })
    .on('error', (e) => { console.log(show(e)); setImmediate(next, i + 1); });
})(0);
)";

std::string to_json(const std::vector<connect_case>& cases) {
  std::string j = "[";
  for (const auto& c : cases) {
    j += (j.size() > 1 ? "," : "") + std::string("{\"host\":\"") + c.host + "\",\"port\":" + std::to_string(c.port) +
         ",\"local_address\":\"" + c.local_address + "\",\"local_port\":" + std::to_string(c.local_port) +
         ",\"answer\":\"" + c.answer + "\"}";
  }
  return j + "]";
}

}  // namespace

TEST_CASE("a refused connect names its local end only when a local port was asked for", "[connect][errors]") {
  const std::uint16_t p4 = netxx_test::unused_port(AF_INET), p6 = netxx_test::unused_port(AF_INET6);
  const std::string s4 = std::to_string(p4), s6 = std::to_string(p6);
  SECTION("local address and port, 127.0.0.1") {
    const auto lp = netxx_test::unused_port(AF_INET);
    const auto e = connect_error({"127.0.0.1", p4, "127.0.0.1", lp});
    CHECK(e.message() == "connect ECONNREFUSED 127.0.0.1:" + s4 + " - Local (127.0.0.1:" + std::to_string(lp) + ")");
    CHECK(e.local_address() == "127.0.0.1");
    CHECK(e.local_port() == lp);
  }
  SECTION("local address and port, ::1") {
    const auto lp = netxx_test::unused_port(AF_INET6);
    const auto e = connect_error({"::1", p6, "::1", lp});
    CHECK(e.message() == "connect ECONNREFUSED ::1:" + s6 + " - Local (::1:" + std::to_string(lp) + ")");
    CHECK(e.local_address() == "::1");
    CHECK(e.local_port() == lp);
  }
  SECTION("a local port alone: the address Node binds, 0.0.0.0 or ::") {
    // Bound on the wildcard: ports free there, not only on the loopback address.
    const auto lp4 = netxx_test::unused_wildcard_port();
    const auto e4 = connect_error({"127.0.0.1", p4, "", lp4});
    CHECK(e4.message() == "connect ECONNREFUSED 127.0.0.1:" + s4 + " - Local (0.0.0.0:" + std::to_string(lp4) + ")");
    CHECK(e4.local_address() == "0.0.0.0");
    CHECK(e4.local_port() == lp4);
    const auto lp6 = netxx_test::unused_wildcard_port();
    const auto e6 = connect_error({"::1", p6, "", lp6});
    CHECK(e6.message() == "connect ECONNREFUSED ::1:" + s6 + " - Local (:::" + std::to_string(lp6) + ")");
    CHECK(e6.local_address() == "::");
    CHECK(e6.local_port() == lp6);
  }
  SECTION("a local address alone, or nothing: no local end") {
    for (const auto& c : {connect_case{"127.0.0.1", p4, "127.0.0.1"}, connect_case{"::1", p6, "::1"},
                          connect_case{"127.0.0.1", p4}, connect_case{"::1", p6}}) {
      CAPTURE(c.host, c.local_address);
      const auto e = connect_error(c);
      CHECK(e.message() == "connect ECONNREFUSED " + c.host + ":" + std::to_string(c.port));
      CHECK(e.local_address().empty());
      CHECK_FALSE(e.local_port());
    }
  }
  SECTION("Happy Eyeballs: every attempt's error names the local port, bound on 0.0.0.0 or ::") {
    const auto lp = netxx_test::unused_wildcard_port();
    const auto e = connect_error({"dual.test", p4, "", lp, dual});
    REQUIRE(e.is_aggregate());
    REQUIRE(e.errors().size() == 2);
    CHECK(e.errors()[0].message() == "connect ECONNREFUSED ::1:" + s4 + " - Local (:::" + std::to_string(lp) + ")");
    CHECK(e.errors()[1].message() ==
          "connect ECONNREFUSED 127.0.0.1:" + s4 + " - Local (0.0.0.0:" + std::to_string(lp) + ")");
    CHECK(e.errors()[1].local_port() == lp);
  }
}

TEST_CASE("a timed-out Happy Eyeballs attempt bound to a local port: ETIMEDOUT names it, the next binds it again",
          "[connect][errors]") {
  const std::uint16_t port = netxx_test::unused_port(AF_INET);
  black_hole hole(port);  // 127.0.0.2:port swallows SYNs; 127.0.0.1:port refuses
  const auto lp = netxx_test::unused_wildcard_port();
  const auto e = connect_error({"hole.test", port, "", lp, "127.0.0.2/4,127.0.0.1/4"});
  REQUIRE(e.is_aggregate());
  REQUIRE(e.errors().size() == 2);
  const std::string p = std::to_string(port), l = std::to_string(lp);
  CHECK(e.errors()[0].message() == "connect ETIMEDOUT 127.0.0.2:" + p + " - Local (0.0.0.0:" + l + ")");
  CHECK(e.errors()[0].local_port() == lp);
  CHECK(e.errors()[1].message() == "connect ECONNREFUSED 127.0.0.1:" + p + " - Local (0.0.0.0:" + l + ")");
}

TEST_CASE("a connect(2) that fails at once names the socket's local end, from getsockname", "[connect][errors]") {
  SECTION("a broadcast address: ENETUNREACH, unbound") {
    const auto e = connect_error({"255.255.255.255", 1});
    CHECK(e.message() == "connect ENETUNREACH 255.255.255.255:1 - Local (0.0.0.0:0)");
    CHECK_FALSE(e.local_port());  // Node sets no localAddress/localPort here
  }
  SECTION("with a local port: the bound end") {
    const auto lp = netxx_test::unused_port(AF_INET);
    const auto e = connect_error({"255.255.255.255", 1, "", lp});
    CHECK(e.message() == "connect ENETUNREACH 255.255.255.255:1 - Local (0.0.0.0:" + std::to_string(lp) + ")");
    CHECK_FALSE(e.local_port());
  }
  SECTION("an IPv6 multicast address") {
    const auto e = connect_error({"ff02::1", 1});
    CHECK(e.message() == "connect ENETUNREACH ff02::1:1 - Local (:::0)");
  }
}

TEST_CASE("connect errors read as Node v23.5.0's, case by case", "[connect][errors][node]") {
  if (netxx_test::node_binary().empty()) {
    WARN("skipped: " << netxx_test::node_unavailable());
    return;
  }
  const std::uint16_t p4 = netxx_test::unused_port(AF_INET), p6 = netxx_test::unused_port(AF_INET6);
  black_hole hole(p4);
  // Local ports are used one connect at a time, by netxx and then by Node.
  const std::vector<connect_case> cases = {
      {"127.0.0.1", p4, "127.0.0.1", netxx_test::unused_port(AF_INET)},
      {"::1", p6, "::1", netxx_test::unused_port(AF_INET6)},
      {"127.0.0.1", p4, "", netxx_test::unused_wildcard_port()},
      {"::1", p6, "", netxx_test::unused_wildcard_port()},
      {"127.0.0.1", p4, "127.0.0.1", 0},
      {"::1", p6, "::1", 0},
      {"127.0.0.1", p4, "", 0},
      {"255.255.255.255", 1, "", 0},
      {"255.255.255.255", 1, "", netxx_test::unused_wildcard_port()},
      {"255.255.255.255", 1, "0.0.0.0", netxx_test::unused_wildcard_port()},  // (a port of 0 would differ: the kernel's pick)
      {"ff02::1", 1, "", 0},
      {"dual.test", p4, "", netxx_test::unused_wildcard_port(), dual},
      {"dual.test", p4, "", 0, dual},
      {"hole.test", p4, "", netxx_test::unused_wildcard_port(), "127.0.0.2/4,127.0.0.1/4"},
      {"hole.test", p4, "", 0, "127.0.0.2/4,127.0.0.1/4"},
  };
  std::string ours;
  for (const auto& c : cases) ours += describe(connect_error(c)) + "\n";
  const auto node = netxx_test::run_node({"-e", node_script, to_json(cases)}, 60'000);
  INFO("Node printed:\n" << node.out);
  REQUIRE(node.ok());
  CHECK(ours == node.out);
}
