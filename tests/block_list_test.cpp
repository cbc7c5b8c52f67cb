// net.BlockList: the spec's example, each rule kind across both families
// (IPv4-mapped IPv6 meets IPv4 exactly where Node lets it), Node's errors,
// rules() text and order, and the O(log n) interval sets against a linear
// scan that applies Node's per-rule tests.

#include "catch.hpp"

#include <netxx/block_list.hpp>

#include "differential/block_list_reference.hpp"

#include <random>
#include <string>
#include <vector>

namespace net = netxx;
using strings = std::vector<std::string>;

TEST_CASE("BlockList: the spec's example") {
  net::block_list bl;
  bl.add_address("123.123.123.123");
  bl.add_range("10.0.0.1", "10.0.0.10");
  bl.add_subnet("8592:757c:efae:4e45::", 64, "ipv6");
  CHECK(bl.check("123.123.123.123"));
  CHECK(bl.check("10.0.0.3"));
  CHECK_FALSE(bl.check("222.111.111.222"));
  CHECK(bl.check("::ffff:7b7b:7b7b", "ipv6"));
  CHECK(bl.check("::ffff:123.123.123.123", "ipv6"));
  CHECK(bl.rules() == strings{"Subnet: IPv6 8592:757c:efae:4e45::/64", "Range: IPv4 10.0.0.1-10.0.0.10",
                              "Address: IPv4 123.123.123.123"});
}

TEST_CASE("BlockList ranges are inclusive and numeric") {
  net::block_list bl;
  bl.add_range("1.0.0.2", "2.0.0.1");
  CHECK(bl.check("1.0.0.2"));
  CHECK(bl.check("1.5.0.0"));
  CHECK(bl.check("2.0.0.1"));
  CHECK_FALSE(bl.check("1.0.0.1"));
  CHECK_FALSE(bl.check("2.0.0.2"));
  CHECK(bl.check("::ffff:1.5.0.0", "ipv6"));
}

TEST_CASE("BlockList subnets take prefixes 0 to 32 and 0 to 128") {
  net::block_list bl;
  bl.add_subnet("1.2.3.4", 32);
  CHECK(bl.check("1.2.3.4"));
  CHECK_FALSE(bl.check("1.2.3.5"));
  net::block_list all;
  all.add_subnet("1.2.3.4", 0);
  CHECK(all.check("5.6.7.8"));
  CHECK(all.check("::ffff:1.1.1.1", "ipv6"));
  CHECK_FALSE(all.check("::1", "ipv6"));
  net::block_list b31;
  b31.add_subnet("1.2.3.4", 31);
  CHECK(b31.check("1.2.3.5"));
  CHECK_FALSE(b31.check("1.2.3.6"));
  net::block_list v6all;
  v6all.add_subnet("::", 0, "ipv6");
  CHECK(v6all.check("1.2.3.4"));
  CHECK(v6all.check("ffff::1", "ipv6"));
  net::block_list m96;
  m96.add_subnet("::ffff:0:0", 96, "ipv6");
  CHECK(m96.check("1.2.3.4"));
  net::block_list m95;
  m95.add_subnet("::", 95, "ipv6");
  CHECK_FALSE(m95.check("1.2.3.4"));
  CHECK_FALSE(m95.check("::ffff:1.2.3.4", "ipv6"));
  net::block_list m120;
  m120.add_subnet("::ffff:1.2.3.4", 120, "ipv6");
  CHECK(m120.check("1.2.3.9"));
  CHECK_FALSE(m120.check("1.2.4.1"));
}

TEST_CASE("BlockList matches IPv4 and IPv6 against each other only through IPv4-mapped addresses, as Node does") {
  net::block_list v6range;
  v6range.add_range("::", "ffff::", "ipv6");
  CHECK_FALSE(v6range.check("1.2.3.4"));  // the bounds are not IPv4-mapped: Node cannot compare
  CHECK(v6range.check("::ffff:1.2.3.4", "ipv6"));
  CHECK(v6range.check("::1", "ipv6"));

  net::block_list mixed;  // an IPv4 start and a non-mapped IPv6 end, as SocketAddress objects
  mixed.add_range(net::socket_address({.address = "1.0.0.0"}),
                  net::socket_address({.address = "ffff::", .family = net::family::ipv6}));
  CHECK(mixed.rules() == strings{"Range: IPv4 1.0.0.0-ffff::"});
  CHECK_FALSE(mixed.check("1.2.3.4"));
  CHECK(mixed.check("::ffff:1.2.3.4", "ipv6"));
  CHECK_FALSE(mixed.check("::ffff:0.2.3.4", "ipv6"));
  CHECK_FALSE(mixed.check("fff::", "ipv6"));

  net::block_list mixed2;
  mixed2.add_range(net::socket_address({.address = "::1", .family = net::family::ipv6}),
                   net::socket_address({.address = "1.0.0.0"}));
  CHECK_FALSE(mixed2.check("0.2.3.4"));
  CHECK(mixed2.check("::ffff:0.2.3.4", "ipv6"));
  CHECK_FALSE(mixed2.check("::2", "ipv6"));

  net::block_list mapped;
  mapped.add_address("::ffff:1.2.3.4", "ipv6");
  CHECK(mapped.check("1.2.3.4"));
}

TEST_CASE("BlockList throws Node's errors for bad rules and answers false for bad checks") {
  net::block_list bl;
  CHECK_THROWS_WITH(bl.add_subnet("1.2.3.4", 33),
                    "The value of \"prefix\" is out of range. It must be >= 0 && <= 32. Received 33");
  CHECK_THROWS_WITH(bl.add_subnet("1.2.3.4", -1),
                    "The value of \"prefix\" is out of range. It must be >= 0 && <= 32. Received -1");
  CHECK_THROWS_WITH(bl.add_subnet("::1", 129, "ipv6"),
                    "The value of \"prefix\" is out of range. It must be >= 0 && <= 128. Received 129");
  CHECK_THROWS_WITH(bl.add_range("1.2.3.5", "1.2.3.4"),
                    "The argument 'start' must come before end. Received SocketAddress { address: '1.2.3.5', port: "
                    "0, family: 'ipv4', flowlabel: 0 }");
  CHECK_THROWS_WITH(bl.add_address("1.2.3.4", "ipv6"), "Invalid socket address");
  CHECK_THROWS_WITH(bl.add_address("1.2.3.4", "foo"), "The property 'options.family' is invalid. Received 'foo'");
  try {
    bl.add_subnet("1.2.3.4", 33);
  } catch (const net::error& e) {
    CHECK(e.code() == net::errc::err_out_of_range);
    CHECK(e.code_string() == "ERR_OUT_OF_RANGE");
  }
  try {
    bl.add_range("::2", "::1", "ipv6");
  } catch (const net::error& e) {
    CHECK(e.code_string() == "ERR_INVALID_ARG_VALUE");
  }
  CHECK(bl.rules().empty());
  CHECK_FALSE(bl.check("1.2.3.4", "foo"));
  CHECK_FALSE(bl.check("nope"));
  CHECK_FALSE(bl.check(std::string_view("1.2.3.4\0", 8)));
}

TEST_CASE("BlockList rules() lists newest first, with addresses as Node writes them") {
  net::block_list bl;
  bl.add_subnet("1.2.3.4", 16);
  bl.add_address("5.5.5.5");
  bl.add_range("1.1.1.1", "1.1.1.2");
  bl.add_address(net::socket_address({.address = "::1", .family = net::family::ipv6, .port = 80}));
  bl.add_subnet("0:0:0:0:0:FFFF:1.2.3.4", 120, "IPv6");
  CHECK(bl.rules() == strings{"Subnet: IPv6 ::ffff:1.2.3.4/120", "Address: IPv6 ::1", "Range: IPv4 1.1.1.1-1.1.1.2",
                              "Address: IPv4 5.5.5.5", "Subnet: IPv4 1.2.3.4/16"});
  CHECK(bl.rule_list().size() == 5);
}

TEST_CASE("BlockList.isBlockList is true for a block_list only") {
  net::block_list bl;
  const net::block_list& ref = bl;
  CHECK(net::block_list::is_block_list(bl));
  CHECK(net::block_list::is_block_list(ref));
  CHECK_FALSE(net::block_list::is_block_list(42));
  CHECK_FALSE(net::block_list::is_block_list(net::socket_address{}));
}


TEST_CASE("BlockList's merged intervals answer as a rule-by-rule scan, on random rule sets") {
  std::mt19937 rng(12345);
  auto u = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto addr = [&]() {
    std::array<std::uint8_t, 16> b{};
    switch (u(0, 3)) {
      case 0: return net::socket_address::from_ipv4({10, 0, static_cast<std::uint8_t>(u(0, 3)), static_cast<std::uint8_t>(u(0, 255))});
      case 1:
        b = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, static_cast<std::uint8_t>(u(0, 3)),
             static_cast<std::uint8_t>(u(0, 255))};
        return net::socket_address::from_ipv6(b);
      case 2:
        b = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(u(0, 3)),
             static_cast<std::uint8_t>(u(0, 255))};
        return net::socket_address::from_ipv6(b);
      default: {
        const char* fixed[] = {"::", "::1", "ffff::", "::ffff:0:0", "::ffff:ffff:ffff", "::fffe:ffff:ffff", "::1:0:0:0"};
        return net::socket_address::from_ipv6(*net::detail::parse_ipv6(fixed[u(0, 6)]));
      }
    }
  };
  for (int round = 0; round < 300; ++round) {
    net::block_list bl;
    netxx_ref::reference_list ref;
    const int n = u(1, 60);
    for (int i = 0; i < n; ++i) {
      const auto a = addr();
      switch (u(0, 2)) {
        case 0: bl.add_address(a); break;
        case 1: {
          auto b = addr();
          if (netxx_ref::reference_list::compare(a, b) == 1) continue;
          bl.add_range(a, b);
          break;
        }
        default: bl.add_subnet(a, a.family() == net::family::ipv4 ? u(16, 32) : u(88, 128)); break;
      }
      ref.rules = bl.rule_list();
    }
    for (int i = 0; i < 300; ++i) {
      const auto q = addr();
      INFO("round " << round << " query " << q.address().view());
      REQUIRE(bl.check(q) == ref.check(q));
    }
  }
}

TEST_CASE("interval sets stay sorted, disjoint and merged across chunk boundaries") {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    net::detail::interval_set<std::uint32_t> set;
    std::vector<bool> truth(20000, false);
    for (int i = 0; i < 3000; ++i) {
      std::uint32_t lo = rng() % 20000, len = rng() % (i % 100 == 0 ? 3000 : 8);
      std::uint32_t hi = std::min<std::uint32_t>(19999, lo + len);
      set.insert(lo, hi);
      for (auto k = lo; k <= hi; ++k) truth[k] = true;
    }
    std::uint32_t prev_hi = 0;
    bool first = true;
    std::size_t count = 0;
    set.for_each([&](const auto& iv) {
      CHECK(iv.lo <= iv.hi);
      if (!first) CHECK(iv.lo > prev_hi + 1);
      first = false;
      prev_hi = iv.hi;
      ++count;
    });
    CHECK(count == set.size());
    for (std::uint32_t k = 0; k < 20000; ++k) REQUIRE(set.contains(k) == truth[k]);
  }
  net::detail::interval_set<std::uint32_t> edges;
  edges.insert(0xFFFFFFF0u, 0xFFFFFFFFu);
  edges.insert(0, 0);
  edges.insert(1, 0xFFFFFFEFu);
  CHECK(edges.size() == 1);
  CHECK(edges.contains(0x80000000u));
}
