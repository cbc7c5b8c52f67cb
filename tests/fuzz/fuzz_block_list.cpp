// libFuzzer target for net.BlockList: the input is a program of add/check
// operations. Properties: every check answers as Node's rule-by-rule scan
// (differential/block_list_reference.hpp); the bounds of every added range or
// subnet are blocked; string rules never fail other than with a netxx::error.
#include <netxx/block_list.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../differential/block_list_reference.hpp"

namespace net = netxx;

namespace {

struct reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() {
    if (!n) return 0;
    --n;
    return *p++;
  }
};

// Addresses from small spaces so that rules and checks meet: 10.0.x.y,
// ::ffff:10.0.x.y, 2001:db8::x:y, and the edges of the mapped block.
net::socket_address address(reader& r) {
  const std::uint8_t kind = r.byte() % 5, x = r.byte() % 4, y = r.byte();
  switch (kind) {
    case 0: return net::socket_address::from_ipv4({10, 0, x, y});
    case 1: return net::socket_address::from_ipv6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, x, y});
    case 2: return net::socket_address::from_ipv6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, x, y});
    case 3: return net::socket_address::from_ipv6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, static_cast<std::uint8_t>(0xfe + (y & 1)), 0xff, 0xff, 0xff, 0xff});
    default: return net::socket_address::from_ipv6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, y});
  }
}

// The address one above (+1) or below (-1) `a` in its family, wrapping.
net::socket_address neighbour(const net::socket_address& a, int step) {
  auto b = a.bytes();
  const std::size_t last = a.family() == net::family::ipv4 ? 3 : 15;
  for (std::size_t i = last + 1; i-- > 0;) {
    const bool carry = step > 0 ? b[i] == 0xff : b[i] == 0;
    b[i] = static_cast<std::uint8_t>(b[i] + step);
    if (!carry) break;
  }
  if (a.family() == net::family::ipv4) return net::socket_address::from_ipv4({b[0], b[1], b[2], b[3]});
  return net::socket_address::from_ipv6(b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  reader r{data, size};
  net::block_list bl;
  netxx_ref::reference_list ref;
  std::vector<net::socket_address> bounds;
  while (r.n) {
    const std::uint8_t op = r.byte() % 6;
    if (op == 0) {
      const auto a = address(r);
      bl.add_address(a);
      bounds.push_back(a);
    } else if (op == 1) {
      const auto a = address(r), b = address(r);
      if (netxx_ref::reference_list::compare(a, b) == 1) {
        try {
          bl.add_range(a, b);
          std::abort();  // Node rejects start > end
        } catch (const net::error& e) {
          if (e.code() != net::errc::err_invalid_arg_value) std::abort();
        }
        continue;
      }
      bl.add_range(a, b);
      if (netxx_ref::reference_list::compare(a, b) != 2) bounds.insert(bounds.end(), {a, b});
    } else if (op == 2) {
      const auto a = address(r);
      const int max = a.family() == net::family::ipv4 ? 32 : 128;
      const int prefix = r.byte() % (max + 1);
      bl.add_subnet(a, prefix);
      bounds.push_back(a);
    } else if (op == 3) {
      // A rule from text: whatever the bytes say, only netxx errors.
      const std::size_t len = r.byte() % 48;
      std::string text;
      for (std::size_t i = 0; i < len && r.n; ++i) text += static_cast<char>(r.byte());
      const char* type = r.byte() & 1 ? "ipv6" : "ipv4";
      bool added = false;
      try {
        bl.add_address(text, type);
        added = true;
      } catch (const net::error&) {
      }
      if (added && !bl.check(text, type)) std::abort();  // an address just added is blocked
    } else {
      const auto q = address(r);
      if (bl.check(q) != ref.check(q)) std::abort();
    }
    ref.rules = bl.rule_list();
  }
  for (const auto& b : bounds) {
    if (!bl.check(b)) std::abort();  // inside: blocked
    for (int step : {-1, 1}) {       // just outside: blocked only if another rule says so
      const auto n = neighbour(b, step);
      if (bl.check(n) != ref.check(n)) std::abort();
    }
  }
  return 0;
}
