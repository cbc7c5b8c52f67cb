// SPDX-License-Identifier: BSL-1.0
#pragma once
/// net.BlockList: rules that block IP addresses, ranges and subnets.
///
/// Node keeps a list of rules and tries each one per check (O(n)). netxx keeps
/// the same rules for rules(), and also folds them into sorted, disjoint,
/// merged intervals, one set per family of the checked address, so check() is
/// two binary searches (O(log n)) whatever the number of rules. Building and
/// checking work in constant expressions.

#include <algorithm>
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "config.hpp"
#include "errors.hpp"
#include "ip.hpp"
#include "socket_address.hpp"

NETXX_BEGIN_NAMESPACE

namespace detail {

/// An unsigned 128-bit integer made of two uint64 (unsigned __int128 is not
/// ISO C++ and warns under -Wpedantic).
struct u128 {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend constexpr bool operator==(const u128&, const u128&) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(const u128&, const u128&) noexcept = default;
};

constexpr u128 u128_max() noexcept { return {~std::uint64_t{0}, ~std::uint64_t{0}}; }
constexpr std::uint32_t max_of(std::uint32_t) noexcept { return ~std::uint32_t{0}; }
constexpr u128 max_of(const u128&) noexcept { return u128_max(); }
constexpr std::uint32_t next(std::uint32_t v) noexcept { return v + 1; }
constexpr std::uint32_t prev(std::uint32_t v) noexcept { return v - 1; }
constexpr u128 next(const u128& v) noexcept { return v.lo == ~std::uint64_t{0} ? u128{v.hi + 1, 0} : u128{v.hi, v.lo + 1}; }
constexpr u128 prev(const u128& v) noexcept { return v.lo == 0 ? u128{v.hi - 1, ~std::uint64_t{0}} : u128{v.hi, v.lo - 1}; }

constexpr u128 to_u128(const std::array<std::uint8_t, 16>& b) noexcept {
  u128 r;
  for (std::size_t k = 0; k < 8; ++k) r.hi = r.hi << 8 | b[k];
  for (std::size_t k = 8; k < 16; ++k) r.lo = r.lo << 8 | b[k];
  return r;
}

// ::ffff:0.0.0.0 .. ::ffff:255.255.255.255, where Node lets IPv4 and IPv6 meet.
constexpr u128 mapped_lo{0, 0x0000ffff00000000ULL};
constexpr u128 mapped_hi{0, 0x0000ffffffffffffULL};

constexpr bool is_mapped(const u128& v) noexcept { return v >= mapped_lo && v <= mapped_hi; }
constexpr std::uint32_t low32(const u128& v) noexcept { return static_cast<std::uint32_t>(v.lo); }

/// An address as Node's BlockList compares it: IPv4 as its IPv4-mapped IPv6.
constexpr u128 key_of(const socket_address& a) noexcept {
  const auto& b = a.bytes();
  if (a.family() == family::ipv4) {
    const std::uint32_t v = static_cast<std::uint32_t>(b[0]) << 24 | static_cast<std::uint32_t>(b[1]) << 16 |
                            static_cast<std::uint32_t>(b[2]) << 8 | b[3];
    return {0, 0x0000ffff00000000ULL | v};
  }
  return to_u128(b);
}

/// Node's SocketAddress::compare: an IPv4 and an IPv6 address are comparable
/// only when the IPv6 one is IPv4-mapped.
constexpr std::partial_ordering node_compare(const socket_address& a, const socket_address& b) noexcept {
  const u128 ka = key_of(a), kb = key_of(b);
  if (a.family() != b.family() && !is_mapped(a.family() == family::ipv6 ? ka : kb))
    return std::partial_ordering::unordered;
  return ka <=> kb;
}

template <class T>
struct interval {
  T lo;
  T hi;
};

/// A set of integers kept as sorted, disjoint, non-adjacent intervals, in
/// chunks of at most 2 * chunk_size so that an insert moves O(chunk_size +
/// chunks) elements rather than O(n), and a lookup is two binary searches.
template <class T>
class interval_set {
 public:
  static constexpr std::size_t chunk_size = 256;

  constexpr bool contains(const T& x) const noexcept {
    auto it = std::upper_bound(firsts_.begin(), firsts_.end(), x);
    if (it == firsts_.begin()) return false;
    const auto& ch = chunks_[static_cast<std::size_t>(it - firsts_.begin() - 1)];
    auto jt = std::upper_bound(ch.begin(), ch.end(), x, [](const T& v, const interval<T>& iv) { return v < iv.lo; });
    return !(std::prev(jt)->hi < x);
  }

  constexpr void insert(T lo, T hi) {
    if (hi < lo) return;
    if (chunks_.empty()) {
      chunks_.push_back({interval<T>{lo, hi}});
      firsts_.push_back(lo);
      ++size_;
      return;
    }
    const std::size_t nch = chunks_.size();
    // First interval that overlaps or touches [lo, hi] from the left (hi_i >= lo - 1).
    auto touches_left = [&](const interval<T>& iv) { return lo == T{} || !(iv.hi < prev(lo)); };
    std::size_t c1 = 0;
    {
      std::size_t a = 0, b = nch;  // first chunk whose last interval touches
      while (a < b) {
        std::size_t m = (a + b) / 2;
        if (touches_left(chunks_[m].back())) b = m;
        else a = m + 1;
      }
      c1 = a;
    }
    if (c1 == nch) {  // after everything
      chunks_.back().push_back({lo, hi});
      ++size_;
      split_if_needed(nch - 1);
      return;
    }
    auto& ch1 = chunks_[c1];
    std::size_t i1 = 0;
    {
      std::size_t a = 0, b = ch1.size();
      while (a < b) {
        std::size_t m = (a + b) / 2;
        if (touches_left(ch1[m])) b = m;
        else a = m + 1;
      }
      i1 = a;
    }
    // Last interval that overlaps or touches from the right (lo_j <= hi + 1).
    auto reaches_right = [&](const interval<T>& iv) { return hi == max_of(hi) || !(next(hi) < iv.lo); };
    std::size_t c2 = c1;
    {
      std::size_t a = c1, b = nch;  // last chunk whose first interval reaches, as (a - 1)
      while (a < b) {
        std::size_t m = (a + b) / 2;
        if (reaches_right(chunks_[m].front())) a = m + 1;
        else b = m;
      }
      if (a == c1) {  // not even c1's first reaches: the new interval goes before (c1, i1) == (c1, 0)
        ch1.insert(ch1.begin() + static_cast<std::ptrdiff_t>(i1), interval<T>{lo, hi});
        ++size_;
        if (i1 == 0) firsts_[c1] = lo;
        split_if_needed(c1);
        return;
      }
      c2 = a - 1;
    }
    auto& ch2 = chunks_[c2];
    std::size_t i2 = 0;
    {
      std::size_t a = 0, b = ch2.size();  // last index reaching, as (a - 1)
      while (a < b) {
        std::size_t m = (a + b) / 2;
        if (reaches_right(ch2[m])) a = m + 1;
        else b = m;
      }
      i2 = a;  // one past
    }
    if (c1 == c2 && i2 <= i1) {  // no overlap: plain insert at (c1, i1)
      ch1.insert(ch1.begin() + static_cast<std::ptrdiff_t>(i1), interval<T>{lo, hi});
      ++size_;
      if (i1 == 0) firsts_[c1] = lo;
      split_if_needed(c1);
      return;
    }
    // Merge (c1, i1) .. (c2, i2 - 1) with [lo, hi].
    const T new_lo = ch1[i1].lo < lo ? ch1[i1].lo : lo;
    const T last_hi = ch2[i2 - 1].hi;
    const T new_hi = hi < last_hi ? last_hi : hi;
    if (c1 == c2) {
      size_ -= i2 - i1 - 1;
      ch1.erase(ch1.begin() + static_cast<std::ptrdiff_t>(i1) + 1, ch1.begin() + static_cast<std::ptrdiff_t>(i2));
      ch1[i1] = {new_lo, new_hi};
      if (i1 == 0) firsts_[c1] = new_lo;
      return;
    }
    size_ -= (ch1.size() - i1) + i2;
    ch1.erase(ch1.begin() + static_cast<std::ptrdiff_t>(i1), ch1.end());
    ch1.push_back({new_lo, new_hi});
    ++size_;
    if (i1 == 0) firsts_[c1] = new_lo;
    ch2.erase(ch2.begin(), ch2.begin() + static_cast<std::ptrdiff_t>(i2));
    std::size_t drop_from = c1 + 1;
    std::size_t drop_to = c2;  // chunks strictly between are swallowed whole
    for (std::size_t c = drop_from; c < drop_to; ++c) size_ -= chunks_[c].size();
    if (chunks_[c2].empty()) ++drop_to;
    else firsts_[c2] = chunks_[c2].front().lo;
    chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(drop_from),
                  chunks_.begin() + static_cast<std::ptrdiff_t>(drop_to));
    firsts_.erase(firsts_.begin() + static_cast<std::ptrdiff_t>(drop_from),
                  firsts_.begin() + static_cast<std::ptrdiff_t>(drop_to));
  }

  /// Number of disjoint intervals.
  constexpr std::size_t size() const noexcept { return size_; }

  /// Visits the intervals in order (tests check the invariants with it).
  template <class F>
  constexpr void for_each(F&& f) const {
    for (const auto& ch : chunks_)
      for (const auto& iv : ch) f(iv);
  }

 private:
  constexpr void split_if_needed(std::size_t c) {
    if (chunks_[c].size() <= 2 * chunk_size) return;
    auto& ch = chunks_[c];
    std::vector<interval<T>> upper(ch.begin() + static_cast<std::ptrdiff_t>(chunk_size), ch.end());
    ch.erase(ch.begin() + static_cast<std::ptrdiff_t>(chunk_size), ch.end());
    const T first = upper.front().lo;
    chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(c) + 1, std::move(upper));
    firsts_.insert(firsts_.begin() + static_cast<std::ptrdiff_t>(c) + 1, first);
  }

  std::vector<std::vector<interval<T>>> chunks_;
  std::vector<T> firsts_;  // chunks_[c].front().lo
  std::size_t size_ = 0;
};

}  // namespace detail

/// An address argument of net.BlockList: an address string (read with the
/// call's `type`) or a net::socket_address (whose own family wins).
class address_arg {
 public:
  /// Address text, read with the call's `type` (implicit: an argument reads as in Node).
  constexpr address_arg(std::string_view text) noexcept : text_(text) {}  // NOLINT
  /// Address text.
  constexpr address_arg(const char* text) noexcept : text_(text) {}  // NOLINT
  /// Address text.
  address_arg(const std::string& text) noexcept : text_(text) {}  // NOLINT
  /// A net.SocketAddress: its own family wins over `type`, as in Node.
  constexpr address_arg(const socket_address& address) noexcept : address_(address), is_address_(true) {}  // NOLINT

  /// The address, built as Node builds it (`new SocketAddress({address, family})`), with its errors.
  constexpr socket_address resolve(const family_arg& type) const {
    if (is_address_) return address_;
    return socket_address({.address = text_, .family = type});
  }
  /// As resolve(), std::nullopt instead of an error (BlockList.check's leniency).
  constexpr std::optional<socket_address> try_resolve(const family_arg& type) const noexcept {
    if (is_address_) return address_;
    const auto fam = type.get();
    if (!fam) return std::nullopt;
    if (*fam == family::ipv4) {
      auto b = detail::parse_ipv4(text_);
      if (!b) return std::nullopt;
      return socket_address::from_ipv4(*b);
    }
    auto b = detail::parse_ipv6(text_.substr(0, text_.find('%')));
    if (!b) return std::nullopt;
    return socket_address::from_ipv6(*b);
  }

 private:
  // Not std::optional: gcc 12 under sanitizers warns (wrongly) that its
  // payload may be read uninitialised.
  std::string_view text_;
  socket_address address_;
  bool is_address_ = false;
};

/// net.BlockList. The `type` arguments take a netxx::family or Node's string
/// ('ipv4' default, 'ipv6', any case); address arguments take a string or a
/// net::socket_address, as in Node.
class block_list {
 public:
  /// What kind of rule, as rules() names it.
  enum class rule_kind : std::uint8_t { address, range, subnet };
  /// One added rule, as given.
  struct rule {
    rule_kind kind;
    socket_address first;   // the address, the range start, or the network
    socket_address second;  // the range end (else unused)
    int prefix;             // the subnet prefix (else 0)
  };

  /// `new net.BlockList()`: no rules.
  constexpr block_list() = default;

  /// blockList.addAddress(address[, type]).
  constexpr void add_address(const address_arg& address, const family_arg& type = family::ipv4) {
    const socket_address a = address.resolve(type);
    const detail::u128 k = detail::key_of(a);
    v6_.insert(k, k);
    if (detail::is_mapped(k)) v4_.insert(detail::low32(k), detail::low32(k));
    rules_.push_back({rule_kind::address, a, a, 0});
  }

  /// blockList.addRange(start, end[, type]): inclusive. ERR_INVALID_ARG_VALUE
  /// when start comes after end; an IPv4 and a non-mapped IPv6 bound are
  /// accepted, as Node accepts them, and then match only what Node matches.
  constexpr void add_range(const address_arg& start, const address_arg& end, const family_arg& type = family::ipv4) {
    const socket_address s = start.resolve(type);
    const socket_address e = end.resolve(type);
    if (detail::node_compare(s, e) == std::partial_ordering::greater)
      throw_error(errc::err_invalid_arg_value,
                  "The argument 'start' must come before end. Received " + detail::inspect(s));
    const detail::u128 ks = detail::key_of(s), ke = detail::key_of(e);
    // Node compares an IPv4 with an IPv6 address only when the IPv6 one is
    // IPv4-mapped: a non-mapped IPv6 query needs two IPv6 bounds; an IPv4
    // query needs two bounds inside the mapped block.
    const bool both_v6 = s.family() == family::ipv6 && e.family() == family::ipv6;
    if (both_v6) {
      v6_.insert(ks, ke);
    } else {
      const detail::u128 lo = ks < detail::mapped_lo ? detail::mapped_lo : ks;
      const detail::u128 hi = detail::mapped_hi < ke ? detail::mapped_hi : ke;
      v6_.insert(lo, hi);
    }
    if (detail::is_mapped(ks) && detail::is_mapped(ke)) v4_.insert(detail::low32(ks), detail::low32(ke));
    rules_.push_back({rule_kind::range, s, e, 0});
  }

  /// blockList.addSubnet(net, prefix[, type]): prefix 0-32 (ipv4) or 0-128
  /// (ipv6), else ERR_OUT_OF_RANGE.
  constexpr void add_subnet(const address_arg& net, int prefix, const family_arg& type = family::ipv4) {
    const socket_address n = net.resolve(type);
    const int max = n.family() == family::ipv4 ? 32 : 128;
    if (prefix < 0 || prefix > max)
      detail::throw_out_of_range("prefix", max == 32 ? ">= 0 && <= 32" : ">= 0 && <= 128", prefix);
    // An IPv4 network is its IPv4-mapped block: 96 more prefix bits.
    const int bits = n.family() == family::ipv4 ? prefix + 96 : prefix;
    const detail::u128 k = detail::key_of(n);
    detail::u128 mask{};
    if (bits >= 64) {
      mask.hi = ~std::uint64_t{0};
      mask.lo = bits == 128 ? ~std::uint64_t{0} : ~(~std::uint64_t{0} >> (bits - 64));
    } else if (bits > 0) {
      mask.hi = ~(~std::uint64_t{0} >> bits);
    }
    const detail::u128 lo{k.hi & mask.hi, k.lo & mask.lo};
    const detail::u128 hi{k.hi | ~mask.hi, k.lo | ~mask.lo};
    v6_.insert(lo, hi);
    const detail::u128 mlo = lo < detail::mapped_lo ? detail::mapped_lo : lo;
    const detail::u128 mhi = detail::mapped_hi < hi ? detail::mapped_hi : hi;
    if (!(mhi < mlo)) v4_.insert(detail::low32(mlo), detail::low32(mhi));
    rules_.push_back({rule_kind::subnet, n, n, prefix});
  }

  /// blockList.check(address[, type]): false, not an error, for an address or
  /// type Node cannot read.
  constexpr bool check(const address_arg& address, const family_arg& type = family::ipv4) const noexcept {
    const auto a = address.try_resolve(type);
    if (!a) return false;
    const detail::u128 k = detail::key_of(*a);
    if (a->family() == family::ipv4) return v4_.contains(detail::low32(k));
    return v6_.contains(k);
  }

  /// blockList.rules: "Address: IPv4 1.2.3.4", "Range: IPv4 10.0.0.1-10.0.0.10",
  /// "Subnet: IPv6 8592:757c:efae:4e45::/64", newest first, as Node lists them.
  std::vector<std::string> rules() const {
    std::vector<std::string> out;
    out.reserve(rules_.size());
    for (auto it = rules_.rbegin(); it != rules_.rend(); ++it) {
      const auto fam = [](const socket_address& a) { return a.family() == family::ipv4 ? "IPv4 " : "IPv6 "; };
      std::string s;
      switch (it->kind) {
        case rule_kind::address:
          s = std::string("Address: ") + fam(it->first) + it->first.address().str();
          break;
        case rule_kind::range:
          s = std::string("Range: ") + fam(it->first) + it->first.address().str() + "-" + it->second.address().str();
          break;
        case rule_kind::subnet:
          s = std::string("Subnet: ") + fam(it->first) + it->first.address().str() + "/" +
              std::to_string(it->prefix);
          break;
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  /// The added rules, oldest first, as structured values (constexpr-friendly,
  /// unlike rules()). netxx addition.
  constexpr const std::vector<rule>& rule_list() const noexcept { return rules_; }

  /// BlockList.isBlockList(value): true for a net::block_list, decided at compile time.
  template <class T>
  static constexpr bool is_block_list(const T&) noexcept {
    return std::is_same_v<std::remove_cvref_t<T>, block_list>;
  }

 private:
  detail::interval_set<std::uint32_t> v4_;  // answers IPv4 queries
  detail::interval_set<detail::u128> v6_;   // answers IPv6 queries
  std::vector<rule> rules_;
};

NETXX_END_NAMESPACE
