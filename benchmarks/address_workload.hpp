#pragma once
// The rule sets and queries of the address benchmarks, from a 32-bit LCG that
// benchmarks/address_bench.js repeats step for step, so netxx, the linear
// scan and Node all see the same rules and the same queries.

#include <cstdint>
#include <string>
#include <vector>

namespace netxx_bench {

struct lcg {
  std::uint32_t x;
  std::uint32_t next() { return x = x * 1664525u + 1013904223u; }
};

inline std::string v4(std::uint32_t v) {
  return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 255) + "." + std::to_string((v >> 8) & 255) +
         "." + std::to_string(v & 255);
}

inline std::string hex(std::uint32_t v) {
  constexpr char d[] = "0123456789abcdef";
  std::string s;
  for (int shift = 12; shift >= 0; shift -= 4) s += d[(v >> shift) & 15];
  return s;
}

struct rule_spec {
  int kind;  // 0 address, 1 range, 2 subnet
  std::string a, b;
  int prefix;
  bool v6;
  std::uint32_t av;  // the IPv4 start as a number (0 for IPv6 rules)
};

// 80% IPv4 rules (addresses, ranges of up to 256, subnets /20-/32), 20% IPv6
// subnets in 2001:db8::/32.
inline std::vector<rule_spec> rules(std::size_t n, std::uint32_t seed) {
  lcg g{seed};
  std::vector<rule_spec> out;
  for (std::size_t i = 0; i < n; ++i) {
    if (g.next() % 5 == 0) {
      const std::string h1 = hex(g.next() >> 16);
      const std::string h2 = hex(g.next() >> 16);
      out.push_back({2, "2001:db8:" + h1 + ":" + h2 + "::", "", static_cast<int>(48 + g.next() % 17), true, 0});
      continue;
    }
    const std::uint32_t a = g.next();
    switch (g.next() % 3) {
      case 0: out.push_back({0, v4(a), "", 0, false, a}); break;
      case 1: {
        const std::uint32_t span = g.next() % 256;
        out.push_back({1, v4(a), v4(a > 0xFFFFFFFFu - span ? a : a + span), 0, false, a});
        break;
      }
      default: out.push_back({2, v4(a), "", static_cast<int>(20 + g.next() % 13), false, a}); break;
    }
  }
  return out;
}

struct query {
  std::string text;
  bool v6;
};

// 90% IPv4, 10% IPv6 (half of them IPv4-mapped); 40% land near a rule, so
// some are blocked.
inline std::vector<query> queries(std::size_t n, std::uint32_t seed, const std::vector<rule_spec>& rules) {
  lcg g{seed};
  std::vector<query> out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t r = g.next() % 20;
    if (r == 0) {
      const std::string h1 = hex(g.next() >> 16);
      const std::string h2 = hex(g.next() >> 16);
      out.push_back({"2001:db8:" + h1 + ":" + h2 + "::1", true});
    } else if (r == 1) {
      out.push_back({"::ffff:" + v4(g.next()), true});
    } else if (r < 10) {
      const rule_spec& near = rules[g.next() % rules.size()];
      if (near.v6) out.push_back({near.a + "1", true});
      else out.push_back({v4(near.av + g.next() % 64), false});
    } else {
      out.push_back({v4(g.next()), false});
    }
  }
  return out;
}

// Inputs for isIP: valid and invalid, both families.
inline std::vector<std::string> is_ip_inputs(std::size_t n, std::uint32_t seed) {
  lcg g{seed};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    switch (g.next() % 6) {
      case 0: out.push_back(v4(g.next())); break;
      case 1: out.push_back(v4(g.next()) + "0"); break;
      case 2: {
        const std::string a = hex(g.next() >> 16);
        const std::string b = hex(g.next() >> 16);
        out.push_back("2001:db8:" + a + "::" + b);
        break;
      }
      case 3: {
        const std::string a = hex(g.next() >> 16);
        const std::string b = hex(g.next() >> 16);
        const std::string c = hex(g.next() >> 16);
        out.push_back(a + ":" + b + ":0:0:1:2:3:" + c);
        break;
      }
      case 4: out.push_back("::ffff:" + v4(g.next())); break;
      default: out.push_back("fe80::" + hex(g.next() >> 16) + "%eth0"); break;
    }
  }
  return out;
}

}  // namespace netxx_bench
