// The spec's net.BlockList example, line for line: block an address, a range
// and an IPv6 subnet, then check addresses, including IPv4 written as IPv6.
#include <netxx/block_list.hpp>
#include <netxx/fmt.hpp>

#include <fmt/format.h>

namespace net = netxx;

int main() {
  net::block_list block_list;
  block_list.add_address("123.123.123.123");
  block_list.add_range("10.0.0.1", "10.0.0.10");
  block_list.add_subnet("8592:757c:efae:4e45::", 64, "ipv6");

  fmt::print("{}\n", block_list.check("123.123.123.123"));  // Prints: true
  fmt::print("{}\n", block_list.check("10.0.0.3"));         // Prints: true
  fmt::print("{}\n", block_list.check("222.111.111.222"));  // Prints: false

  // IPv6 notation for IPv4 addresses works:
  fmt::print("{}\n", block_list.check("::ffff:7b7b:7b7b", "ipv6"));         // Prints: true
  fmt::print("{}\n", block_list.check("::ffff:123.123.123.123", "ipv6"));  // Prints: true

  // blockList.rules, newest first.
  for (const auto& rule : block_list.rules()) fmt::print("{}\n", rule);
}
