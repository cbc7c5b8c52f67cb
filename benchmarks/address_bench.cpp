// Checks per second of net::block_list (merged intervals, O(log n)) against a
// linear scan that tries every rule per check, as Node's BlockList does, for
// 10, 1,000 and 100,000 rules; and isIP parses per second. Same workload as
// address_bench.js, which measures Node itself.
//
//   build/benchmarks/address_bench            # netxx and the linear scan
//   node benchmarks/address_bench.js          # Node v23.5.0, same rules and queries

#include <netxx/block_list.hpp>

#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

#include "address_workload.hpp"

namespace net = netxx;
using clock_type = std::chrono::steady_clock;

namespace {

// Node's algorithm in C++: rules newest first, each one tried in turn, with
// the same per-rule semantics as netxx (so the only difference is O(n) vs
// O(log n)). The address is parsed once per check, as in Node.
struct linear_list {
  struct rule {
    net::block_list::rule_kind kind;
    net::detail::u128 lo, hi;  // the rule's IPv6 interval (what an IPv6 query sees)
    bool v4_ok;                // whether an IPv4 query can match it
    std::uint32_t v4lo, v4hi;
  };
  std::vector<rule> rules;

  // One interval per rule, as netxx's rule_list() holds it (no merging).
  void add(const net::block_list::rule& r) {
    rule x{r.kind, {}, {}, false, 0, 0};
    const auto k = net::detail::key_of(r.first);
    const auto k2 = net::detail::key_of(r.kind == net::block_list::rule_kind::range ? r.second : r.first);
    x.lo = k;
    x.hi = k2;
    if (r.kind == net::block_list::rule_kind::subnet) {
      const int bits = r.first.family() == net::family::ipv4 ? r.prefix + 96 : r.prefix;
      net::detail::u128 mask{};
      if (bits >= 64) {
        mask.hi = ~0ULL;
        mask.lo = bits == 128 ? ~0ULL : ~(~0ULL >> (bits - 64));
      } else if (bits > 0) {
        mask.hi = ~(~0ULL >> bits);
      }
      x.lo = {k.hi & mask.hi, k.lo & mask.lo};
      x.hi = {k.hi | ~mask.hi, k.lo | ~mask.lo};
    }
    x.v4_ok = net::detail::is_mapped(x.lo) && net::detail::is_mapped(x.hi);
    x.v4lo = net::detail::low32(x.lo);
    x.v4hi = net::detail::low32(x.hi);
    rules.insert(rules.begin(), x);  // newest first
  }

  bool check(std::string_view text, bool v6) const {
    const auto a = net::address_arg(text).try_resolve(v6 ? net::family::ipv6 : net::family::ipv4);
    if (!a) return false;
    const auto k = net::detail::key_of(*a);
    for (const auto& r : rules) {
      if (a->family() == net::family::ipv4) {
        const auto v = net::detail::low32(k);
        if (r.v4_ok && v >= r.v4lo && v <= r.v4hi) return true;
      } else if (!(k < r.lo) && !(r.hi < k)) {
        return true;
      }
    }
    return false;
  }
};

template <class F>
double per_second(F&& f, std::size_t batch) {
  // Repeat batches until 0.3 s have passed; report the rate.
  std::size_t done = 0;
  const auto start = clock_type::now();
  double elapsed = 0;
  do {
    f();
    done += batch;
    elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  } while (elapsed < 0.3);
  return static_cast<double>(done) / elapsed;
}

volatile std::size_t sink;

}  // namespace

int main() {
  fmt::print("{:<28} {:>8} {:>16} {:>16} {:>9}\n", "benchmark", "rules", "netxx/s", "linear scan/s", "ratio");
  for (std::size_t n : {10u, 1000u, 100000u}) {
    const auto specs = netxx_bench::rules(n, 42);
    net::block_list bl;
    const auto build_start = clock_type::now();
    for (const auto& r : specs) {
      const net::family_arg type = r.v6 ? net::family::ipv6 : net::family::ipv4;
      switch (r.kind) {
        case 0: bl.add_address(r.a, type); break;
        case 1: bl.add_range(r.a, r.b, type); break;
        default: bl.add_subnet(r.a, r.prefix, type); break;
      }
    }
    const double build_s = std::chrono::duration<double>(clock_type::now() - build_start).count();
    linear_list linear;
    for (const auto& r : bl.rule_list()) linear.add(r);
    const auto qs = netxx_bench::queries(4096, 7, specs);
    std::size_t hits_fast = 0, hits_linear = 0;
    for (const auto& q : qs) {
      hits_fast += bl.check(q.text, q.v6 ? net::family::ipv6 : net::family::ipv4);
      hits_linear += linear.check(q.text, q.v6);
    }
    if (hits_fast != hits_linear) {
      fmt::print("MISMATCH: netxx {} hits, linear scan {}\n", hits_fast, hits_linear);
      return 1;
    }
    const double fast = per_second(
        [&] {
          std::size_t h = 0;
          for (const auto& q : qs) h += bl.check(q.text, q.v6 ? net::family::ipv6 : net::family::ipv4);
          sink = h;
        },
        qs.size());
    const std::size_t slow_batch = n >= 100000 ? 64 : qs.size();
    const double slow = per_second(
        [&] {
          std::size_t h = 0;
          for (std::size_t i = 0; i < slow_batch; ++i) h += linear.check(qs[i].text, qs[i].v6);
          sink = h;
        },
        slow_batch);
    fmt::print("{:<28} {:>8} {:>16.0f} {:>16.0f} {:>8.1f}x   ({} of {} queries blocked)\n", "block_list.check(string)", n,
               fast, slow, fast / slow, hits_fast, qs.size());
    fmt::print("{:<28} {:>8} {:>16.0f}   (rules added per second, one run)\n", "block_list.add_*(string)", n,
               static_cast<double>(n) / build_s);
  }
  const auto inputs = netxx_bench::is_ip_inputs(4096, 3);
  const double ip = per_second(
      [&] {
        std::size_t s = 0;
        for (const auto& in : inputs) s += static_cast<std::size_t>(net::is_ip(in));
        sink = s;
      },
      inputs.size());
  fmt::print("{:<28} {:>8} {:>16.0f}\n", "is_ip", "-", ip);
}
