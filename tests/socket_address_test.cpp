// net.SocketAddress: options and defaults, Node's validation errors,
// SocketAddress.parse, value semantics (comparison, hashing) and the
// sockaddr conversions of <netxx/detail/sockaddr.hpp>.

#include "catch.hpp"

#include <netxx/detail/sockaddr.hpp>
#include <netxx/fmt.hpp>
#include <netxx/socket_address.hpp>

#include <map>
#include <string>
#include <unordered_set>

namespace net = netxx;

namespace {
template <class F>
void require_error(F&& f, net::errc code, const std::string& message) {
  try {
    f();
    FAIL("no error thrown, expected " << message);
  } catch (const net::error& e) {
    CHECK(e.code() == code);
    CHECK(e.message() == message);
  }
}
}  // namespace

TEST_CASE("SocketAddress defaults to 127.0.0.1 for ipv4 and :: for ipv6, port 0, flowlabel 0") {
  net::socket_address a;
  CHECK(a.address() == "127.0.0.1");
  CHECK(a.family() == net::family::ipv4);
  CHECK(a.port() == 0);
  CHECK(a.flowlabel() == 0);
  net::socket_address b({.family = net::family::ipv6});
  CHECK(b.address() == "::");
  net::socket_address c({.address = "::1", .family = "IPv6", .flowlabel = 0xFFFFF, .port = 443});
  CHECK(c.address() == "::1");
  CHECK(c.family() == net::family::ipv6);
  CHECK(c.flowlabel() == 0xFFFFF);
  CHECK(c.port() == 443);
}

TEST_CASE("SocketAddress drops an IPv6 zone id and ignores the flowlabel of an ipv4 address") {
  CHECK(net::socket_address({.address = "fe80::1%eth0", .family = "ipv6"}).address() == "fe80::1");
  CHECK(net::socket_address({.address = "fe80::1%", .family = "ipv6"}).address() == "fe80::1");
  CHECK(net::socket_address({.address = "1.1.1.1", .flowlabel = 0x7fffffff}).flowlabel() == 0);
  CHECK(net::socket_address({.address = "1.1.1.1", .flowlabel = 4294967295}).flowlabel() == 0);
}

TEST_CASE("SocketAddress rejects bad options with Node's codes and messages") {
  require_error([] { net::socket_address({.address = "::1", .family = "x"}); }, net::errc::err_invalid_arg_value,
                "The property 'options.family' is invalid. Received 'x'");
  require_error([] { net::socket_address({.port = 70000}); }, net::errc::err_socket_bad_port,
                "options.port should be >= 0 and < 65536. Received type number (70000).");
  require_error([] { net::socket_address({.port = -1}); }, net::errc::err_socket_bad_port,
                "options.port should be >= 0 and < 65536. Received type number (-1).");
  require_error([] { net::socket_address({.flowlabel = -1}); }, net::errc::err_out_of_range,
                "The value of \"options.flowlabel\" is out of range. It must be >= 0 && <= 4294967295. Received -1");
  require_error([] { net::socket_address({.flowlabel = 4294967297}); }, net::errc::err_out_of_range,
                "The value of \"options.flowlabel\" is out of range. It must be >= 0 && <= 4294967295. Received "
                "4_294_967_297");
  require_error([] { net::socket_address({.address = "foo"}); }, net::errc::err_invalid_address,
                "Invalid socket address");
  require_error([] { net::socket_address({.address = ""}); }, net::errc::err_invalid_address, "Invalid socket address");
  require_error([] { net::socket_address({.address = "1.2.3.4", .family = "ipv6"}); }, net::errc::err_invalid_address,
                "Invalid socket address");
  CHECK(net::error(net::errc::err_invalid_address).code_string() == "ERR_INVALID_ADDRESS");
}

TEST_CASE("SocketAddress rejects an IPv6 flowlabel above 0xFFFFF instead of aborting as Node does") {
  require_error([] { net::socket_address({.address = "::1", .family = "ipv6", .flowlabel = 0x100000}); },
                net::errc::err_out_of_range,
                "The value of \"options.flowlabel\" is out of range. It must be >= 0 && <= 1048575. Received 1048576");
}

TEST_CASE("SocketAddress judges the whole text where Node cuts it at a NUL or after 39 characters before '%'") {
  require_error([] { net::socket_address({.address = std::string_view("1.2.3.4\0zz", 10)}); },
                net::errc::err_invalid_address, "Invalid socket address");
  require_error(
      [] { net::socket_address({.address = "0001:0002:0003:0004:0005:0006:0007:0008X%z", .family = "ipv6"}); },
      net::errc::err_invalid_address, "Invalid socket address");
  CHECK(net::socket_address({.address = "0000:0000:0000:0000:0000:ffff:255.255.255.255%eth0", .family = "ipv6"})
            .address() == "::ffff:255.255.255.255");
}

TEST_CASE("SocketAddress.parse reads ip[:port] and answers nullopt where Node answers undefined") {
  auto p = net::socket_address::parse("123.1.2.3:1234");
  REQUIRE(p);
  CHECK(p->address() == "123.1.2.3");
  CHECK(p->port() == 1234);
  CHECK(p->family() == net::family::ipv4);
  p = net::socket_address::parse("[1::1]:1234");
  REQUIRE(p);
  CHECK(p->address() == "1::1");
  CHECK(p->port() == 1234);
  CHECK(p->family() == net::family::ipv6);
  CHECK(net::socket_address::parse("1.2.3.4")->port() == 0);
  CHECK(net::socket_address::parse("[::1]")->address() == "::1");
  CHECK(net::socket_address::parse("1.2.3.4:")->port() == 0);
  CHECK(net::socket_address::parse("1.2.3.4:65535")->port() == 65535);
  CHECK(net::socket_address::parse("[::FFFF:1.2.3.4]:9")->address() == "::ffff:1.2.3.4");
  for (const char* s : {"", "::1", "[::1", "[::1]x", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:a", "localhost:80",
                        "[fe80::1%eth0]:80", "[1.2.3.4]:80", "1.2.3.256", "1::1:80"})
    CHECK_FALSE(net::socket_address::parse(s));
}

TEST_CASE("SocketAddress.parse keeps port 80 and rejects URL forms, as its documentation reads") {
  CHECK(net::socket_address::parse("1.2.3.4:80")->port() == 80);
  CHECK(net::socket_address::parse("1.2.3.4:0080")->port() == 80);
  for (const char* s : {"127.1", "0x7f.0.0.1", "1.2.3.4.", "1.2.3.4/x", "user@1.2.3.4", " 1.2.3.4", "1.2.\t3.4",
                        "%31.2.3.4", "1.2.3.04"})
    CHECK_FALSE(net::socket_address::parse(s));
}

TEST_CASE("socket_address compares and hashes every field, so it keys maps") {
  auto a = *net::socket_address::parse("1.2.3.4:80");
  auto b = *net::socket_address::parse("1.2.3.4:81");
  auto c = *net::socket_address::parse("[::1]:80");
  CHECK(a == *net::socket_address::parse("1.2.3.4:80"));
  CHECK(a != b);
  CHECK(a < b);
  CHECK(b < c);  // ipv4 before ipv6
  std::map<net::socket_address, int> m{{a, 1}, {b, 2}, {c, 3}};
  CHECK(m.at(c) == 3);
  std::unordered_set<net::socket_address> s{a, b, c, a};
  CHECK(s.size() == 3);
  CHECK(std::hash<net::socket_address>{}(a) == std::hash<net::socket_address>{}(*net::socket_address::parse("1.2.3.4:80")));
  CHECK(net::to_string(c) == "[::1]:80");
  CHECK(net::to_string(a) == "1.2.3.4:80");
}

TEST_CASE("socket_address converts to sockaddr and back without loss") {
  for (auto a : {*net::socket_address::parse("1.2.3.4:80"), *net::socket_address::parse("[fe80::1]:443"),
                 net::socket_address::from_ipv6(*net::detail::parse_ipv6("fe80::2"), 9, 0xABCDE, 3)}) {
    sockaddr_storage ss{};
    socklen_t len = net::detail::to_sockaddr(a, ss);
    CHECK(len == (a.family() == net::family::ipv4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
    auto back = net::detail::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
    REQUIRE(back);
    CHECK(*back == a);
  }
  sockaddr_storage ss{};
  auto v4 = *net::socket_address::parse("10.0.0.1:8080");
  net::detail::to_sockaddr(v4, ss);
  const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
  CHECK(sin->sin_port == htons(8080));
  CHECK(sin->sin_addr.s_addr == htonl(0x0A000001));
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  CHECK_FALSE(net::detail::from_sockaddr(reinterpret_cast<const sockaddr*>(&un), sizeof un));
  CHECK_FALSE(net::detail::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), 4));
  CHECK_FALSE(net::detail::from_sockaddr(nullptr, 0));
}

TEST_CASE("fmt formats a socket_address as text SocketAddress.parse reads back") {
  auto a = *net::socket_address::parse("[2001:db8::1]:8443");
  CHECK(fmt::format("{}", a) == "[2001:db8::1]:8443");
  CHECK(*net::socket_address::parse(fmt::format("{}", a)) == a);
  CHECK(fmt::format("{}", *net::socket_address::parse("10.0.0.1:9")) == "10.0.0.1:9");
  CHECK(fmt::format("{:>8}", net::family::ipv4) == "    ipv4");
  CHECK(fmt::format("{}", a.address()) == "2001:db8::1");
}
