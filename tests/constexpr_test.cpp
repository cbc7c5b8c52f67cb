// The address headers in constant expressions: what compiles here is proven
// before the program runs (gcc 12 and clang 14 with libstdc++ 12).

#include "catch.hpp"

#include <netxx/block_list.hpp>
#include <netxx/ip.hpp>
#include <netxx/socket_address.hpp>

namespace net = netxx;

static_assert(net::is_ip("::1") == 6);
static_assert(net::is_ip("127.0.0.1") == 4);
static_assert(net::is_ip("127.000.000.001") == 0);
static_assert(net::is_ip("fe80::1%eth0") == 6);
static_assert(net::is_ip("::ffff:1.2.3.4") == 6);
static_assert(net::is_ipv4("255.255.255.255") && !net::is_ipv4("256.0.0.0"));
static_assert(net::is_ipv6("1:2:3:4:5:6:7::") && !net::is_ipv6("1::2::3"));

static_assert(net::socket_address::parse("[::1]:80")->port() == 80);
static_assert(net::socket_address::parse("[::1]:80")->address() == "::1");
static_assert(net::socket_address::parse("123.1.2.3:1234")->address() == "123.1.2.3");
static_assert(!net::socket_address::parse("127.1"));
static_assert(net::socket_address().address() == "127.0.0.1");
static_assert(net::socket_address({.family = net::family::ipv6}).address() == "::");
static_assert(net::socket_address({.address = "0:0::FFFF:7b7b:7b7b", .family = "IPv6", .flowlabel = 5, .port = 9})
                  .address() == "::ffff:123.123.123.123");
static_assert(net::socket_address({.address = "::1", .family = "ipv6", .flowlabel = 5}).flowlabel() == 5);
static_assert(*net::socket_address::parse("1.2.3.4:1") < *net::socket_address::parse("1.2.3.4:2"));
static_assert(net::family_arg("IPV6").get() == net::family::ipv6);

constexpr bool spec_example() {
  net::block_list bl;
  bl.add_address("123.123.123.123");
  bl.add_range("10.0.0.1", "10.0.0.10");
  bl.add_subnet("8592:757c:efae:4e45::", 64, "ipv6");
  return bl.check("123.123.123.123") && bl.check("10.0.0.3") && !bl.check("222.111.111.222") &&
         bl.check("::ffff:7b7b:7b7b", "ipv6") && bl.check("::ffff:123.123.123.123", "ipv6") &&
         bl.check("8592:757c:efae:4e45:1:2:3:4", net::family::ipv6) && bl.rule_list().size() == 3;
}
static_assert(spec_example());

// Enough rules to split interval chunks, then merge them all into one.
constexpr bool many_rules() {
  net::block_list bl;
  for (int i = 0; i < 1200; i += 2) bl.add_address(net::socket_address::from_ipv4({10, 0, static_cast<std::uint8_t>(i / 256), static_cast<std::uint8_t>(i % 256)}));
  bool ok = bl.check("10.0.0.0") && !bl.check("10.0.0.1") && bl.check("10.0.4.174");
  bl.add_subnet("10.0.0.0", 16);
  return ok && bl.check("10.0.0.1") && bl.check("::ffff:10.0.255.255", "ipv6") && !bl.check("10.1.0.0");
}
static_assert(many_rules());

TEST_CASE("the address headers work in constant expressions (the static_asserts above compiled)") {
  constexpr bool ok = spec_example() && many_rules();
  CHECK(ok);
}
