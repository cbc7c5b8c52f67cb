// net.isIP, net.isIPv4, net.isIPv6 (the spec's examples, then the corners the
// differential test also sweeps), and the address text netxx writes.

#include "catch.hpp"

#include <netxx/ip.hpp>

#include <string>

namespace net = netxx;

TEST_CASE("isIP answers the spec's examples") {
  CHECK(net::is_ip("::1") == 6);
  CHECK(net::is_ip("127.0.0.1") == 4);
  CHECK(net::is_ip("127.000.000.001") == 0);
  CHECK(net::is_ip("127.0.0.1/24") == 0);
  CHECK(net::is_ip("fhqwhgads") == 0);
  CHECK(net::is_ipv4("127.0.0.1"));
  CHECK_FALSE(net::is_ipv4("127.000.000.001"));
  CHECK_FALSE(net::is_ipv4("127.0.0.1/24"));
  CHECK_FALSE(net::is_ipv4("fhqwhgads"));
  CHECK(net::is_ipv6("::1"));
  CHECK_FALSE(net::is_ipv6("fhqwhgads"));
}

TEST_CASE("isIPv4 rejects leading zeros, out-of-range parts and anything around the quad") {
  for (const char* s : {"0.0.0.0", "255.255.255.255", "1.22.199.250", "10.0.0.1"}) CHECK(net::is_ipv4(s));
  for (const char* s : {"", "01.2.3.4", "1.2.3.04", "00.0.0.0", "256.1.1.1", "1.2.3.255 ", " 1.2.3.4", "1.2.3",
                        "1.2.3.4.5", "1..2.3", "1.2.3.4.", "+1.2.3.4", "0x7f.0.0.1", "1.2.3.1000", "1.2.3.4\n"})
    CHECK_FALSE(net::is_ipv4(s));
  CHECK_FALSE(net::is_ipv4(std::string("1.2.3.4\0", 8)));
}

TEST_CASE("isIPv6 accepts every compression position and rejects a :: that stands for nothing") {
  for (const char* s : {"::", "1::", "::1", "1:2:3:4:5:6:7:8", "1::8", "1:2::7:8", "1:2:3:4:5:6:7::",
                        "::2:3:4:5:6:7:8", "1:2:3:4:5:6::8", "1::3:4:5:6:7:8", "0000:0000:0000:0000:0000:0000:0000:0001",
                        "ABCD:ef01::", "fE80::1"})
    CHECK(net::is_ipv6(s));
  for (const char* s : {"", ":", ":::", "1:::2", ":1::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
                        "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::", "g::", "1:2:3:4:5:6:7:8:", "[::1]"})
    CHECK_FALSE(net::is_ipv6(s));
}

TEST_CASE("isIPv6 takes a strict dotted quad in the last 32 bits only") {
  for (const char* s : {"::1.2.3.4", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1::1.2.3.4", "1:2:3:4:5::1.2.3.4"})
    CHECK(net::is_ipv6(s));
  for (const char* s : {"1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "::01.2.3.4", "::1.2.3.256", "1.2.3.4::",
                        "::1.2.3.4:1", "1:2:3:4:5:6::1.2.3.4"})
    CHECK_FALSE(net::is_ipv6(s));
}

TEST_CASE("isIPv6 takes a zone id of letters, digits, '-', '.' and ':' only") {
  for (const char* s : {"fe80::1%eth0", "::1%1", "::1%a-b", "::1%.", "::1%:", "fe80::1%en0.1:2"}) CHECK(net::is_ipv6(s));
  for (const char* s : {"fe80::1%", "::1%a_b", "::1%%", "::1%a%b", "::1%/", "::1%\xc3\xa9", "1.2.3.4%eth0"})
    CHECK_FALSE(net::is_ipv6(s));
  CHECK(net::is_ip("fe80::1%eth0") == 6);
}

TEST_CASE("isIP answers 0 for non-ASCII text, even digits from other scripts") {
  CHECK(net::is_ip("\xef\xbc\x91.2.3.4") == 0);  // fullwidth 1
  CHECK(net::is_ip("\xd9\xa1.2.3.4") == 0);      // Arabic-Indic 1
  CHECK(net::is_ip("::\xc3\xa9") == 0);
}

TEST_CASE("IPv6 text is written as Node writes it") {
  auto fmt = [](const char* s) { return std::string(net::detail::format_ipv6(*net::detail::parse_ipv6(s)).view()); };
  CHECK(fmt("::2") == "::2");
  CHECK(fmt("::0.0.1.2") == "::102");
  CHECK(fmt("::1.2.3.4") == "::1.2.3.4");
  CHECK(fmt("::ffff:0.0.1.2") == "::ffff:0.0.1.2");
  CHECK(fmt("0:0:0:0:0:ffff:0:0") == "::ffff:0.0.0.0");
  CHECK(fmt("0:0:0:0:1:ffff:1.2.3.4") == "::1:ffff:102:304");
  CHECK(fmt("::fffe:1.2.3.4") == "::fffe:102:304");
  CHECK(fmt("1:0:0:2:0:0:3:4") == "1::2:0:0:3:4");
  CHECK(fmt("1:0:0:1:0:0:0:1") == "1:0:0:1::1");
  CHECK(fmt("0:0:1:0:0:0:0:0") == "0:0:1::");
  CHECK(fmt("1:0:2:3:4:5:6:7") == "1:0:2:3:4:5:6:7");
  CHECK(fmt("ABCD:0001::") == "abcd:1::");
  CHECK(fmt("::") == "::");
}

TEST_CASE("family names read in any case, as Node lower-cases them") {
  CHECK(net::family_arg("IPv6").get() == net::family::ipv6);
  CHECK(net::family_arg("IPV4").get() == net::family::ipv4);
  CHECK_FALSE(net::family_arg("ipv5").get());
  CHECK_THROWS_WITH(net::family_arg("ipv5").value(), "The property 'options.family' is invalid. Received 'ipv5'");
  CHECK_THROWS_WITH(net::family_arg("it's").value(), "The property 'options.family' is invalid. Received \"it's\"");
  CHECK(net::to_string(net::family::ipv6) == "ipv6");
}
