#pragma once
// Node's BlockList, rule by rule, from its source (src/node_sockaddr.cc):
// each check tries every rule in turn. Written without netxx's interval code,
// as the reference for block_list_test and the block_list fuzzer.

#include <netxx/block_list.hpp>

#include <array>
#include <cstdint>
#include <vector>

namespace netxx_ref {

namespace net = netxx;

struct reference_list {
  std::vector<net::block_list::rule> rules;

  static std::array<std::uint8_t, 16> v6(const net::socket_address& a) {
    if (a.family() == net::family::ipv6) return a.bytes();
    std::array<std::uint8_t, 16> m{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    for (int k = 0; k < 4; ++k) m[static_cast<std::size_t>(12 + k)] = a.bytes()[static_cast<std::size_t>(k)];
    return m;
  }
  static bool mapped(const std::array<std::uint8_t, 16>& b) {
    for (int k = 0; k < 10; ++k)
      if (b[static_cast<std::size_t>(k)]) return false;
    return b[10] == 0xff && b[11] == 0xff;
  }
  // -1, 0, 1, or 2 for "not comparable".
  static int compare(const net::socket_address& a, const net::socket_address& b) {
    if (a.family() != b.family() && !mapped(a.family() == net::family::ipv6 ? a.bytes() : b.bytes())) return 2;
    auto x = v6(a), y = v6(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  static bool in_network(const net::socket_address& ip, const net::socket_address& netw, int prefix) {
    if (ip.family() == net::family::ipv6 && netw.family() == net::family::ipv4 && !mapped(ip.bytes())) return false;
    int bits = netw.family() == net::family::ipv4 ? prefix + 96 : prefix;
    auto x = v6(ip), y = v6(netw);
    for (int k = 0; k < bits; ++k) {
      const auto byte = static_cast<std::size_t>(k / 8);
      const int bit = 7 - k % 8;
      if (((x[byte] >> bit) & 1) != ((y[byte] >> bit) & 1)) return false;
    }
    return true;
  }
  bool check(const net::socket_address& a) const {
    for (const auto& r : rules) {
      switch (r.kind) {
        case net::block_list::rule_kind::address:
          if (compare(r.first, a) == 0) return true;
          break;
        case net::block_list::rule_kind::range: {
          int lo = compare(a, r.first), hi = compare(a, r.second);
          if (lo != 2 && hi != 2 && lo >= 0 && hi <= 0) return true;
          break;
        }
        case net::block_list::rule_kind::subnet:
          if (in_network(a, r.first, r.prefix)) return true;
          break;
      }
    }
    return false;
  }
};


}  // namespace netxx_ref
