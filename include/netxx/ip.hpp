// SPDX-License-Identifier: BSL-1.0
#pragma once
/// net.isIP, net.isIPv4, net.isIPv6, and the address text forms shared by
/// <netxx/socket_address.hpp> and <netxx/block_list.hpp>.
///
/// Standard library only and constexpr throughout: no socket headers, no
/// allocation on the parse or format paths (clang 14 with libstdc++ 12 cannot
/// evaluate std::string in constant expressions, so text lives in ip_string).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"
#include "errors.hpp"

NETXX_BEGIN_NAMESPACE

/// The `family`/`type` value of net.SocketAddress and net.BlockList: Node's
/// strings 'ipv4' and 'ipv6'. The enumerator values are Node's isIP() answers.
enum class family : std::uint8_t { ipv4 = 4, ipv6 = 6 };

/// Node's spelling of a family: "ipv4" or "ipv6".
constexpr std::string_view to_string(family f) noexcept { return f == family::ipv6 ? "ipv6" : "ipv4"; }

/// An IP address in text, without allocating: the longest form netxx writes is
/// "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" (45 characters).
class ip_string {
 public:
  /// The longest address text.
  static constexpr std::size_t capacity = 45;

  /// Empty text.
  constexpr ip_string() noexcept = default;
  /// The text.
  constexpr std::string_view view() const noexcept { return {data_.data(), size_}; }
  /// Implicit, so the text reads where Node's string would.
  constexpr operator std::string_view() const noexcept { return view(); }  // NOLINT
  /// A std::string copy (not usable in constant expressions with libstdc++ 12 under clang 14).
  std::string str() const { return std::string(view()); }
  /// NUL-terminated characters.
  constexpr const char* data() const noexcept { return data_.data(); }
  /// Length in characters.
  constexpr std::size_t size() const noexcept { return size_; }
  /// Whether the text is empty.
  constexpr bool empty() const noexcept { return size_ == 0; }

  /// Appends a character; beyond `capacity` it is dropped (netxx never writes that much).
  constexpr void push_back(char c) noexcept {
    if (size_ < capacity) data_[size_++] = c;
  }
  /// Appends characters, as push_back does.
  constexpr void append(std::string_view s) noexcept {
    for (char c : s) push_back(c);
  }

  /// Compares the text.
  friend constexpr bool operator==(const ip_string& a, const ip_string& b) noexcept { return a.view() == b.view(); }
  /// Compares the text with a string.
  friend constexpr bool operator==(const ip_string& a, std::string_view b) noexcept { return a.view() == b; }

 private:
  std::array<char, capacity + 1> data_{};
  std::size_t size_ = 0;
};

namespace detail {

using ipv4_bytes = std::array<std::uint8_t, 4>;
using ipv6_bytes = std::array<std::uint8_t, 16>;

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Dotted-decimal IPv4 exactly as both Node's isIPv4 regex and libuv's
/// inet_pton accept it: four parts, 0-255, no leading zeros, nothing else.
constexpr std::optional<ipv4_bytes> parse_ipv4(std::string_view s) noexcept {
  ipv4_bytes out{};
  std::size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
    std::size_t start = i;
    unsigned value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
    }
    std::size_t digits = i - start;
    if (digits == 0 || value > 255 || (digits > 1 && s[start] == '0')) return std::nullopt;
    out[static_cast<std::size_t>(part)] = static_cast<std::uint8_t>(value);
  }
  if (i != s.size()) return std::nullopt;
  return out;
}

/// IPv6 text without a zone, as libuv's inet_pton (and, equivalently, Node's
/// isIPv6 regex without its zone suffix) accepts it: 1-4 hex digits per group,
/// at most one "::" standing for at least one zero group, an optional strict
/// dotted-quad tail in the last two groups.
constexpr std::optional<ipv6_bytes> parse_ipv6(std::string_view s) noexcept {
  std::array<std::uint16_t, 8> words{};
  int n = 0;     // groups written
  int gap = -1;  // group index where "::" stands
  std::size_t i = 0;
  const std::size_t len = s.size();
  if (len == 0) return std::nullopt;
  if (s[0] == ':') {
    if (len < 2 || s[1] != ':') return std::nullopt;
    gap = 0;
    i = 2;
    if (i == len) return ipv6_bytes{};
  }
  for (;;) {
    const std::size_t start = i;
    unsigned value = 0;
    while (i < len && i - start < 4) {
      int h = hex_value(s[i]);
      if (h < 0) break;
      value = (value << 4) | static_cast<unsigned>(h);
      ++i;
    }
    if (i == start) return std::nullopt;
    if (i < len && s[i] == '.') {
      if (n > 6) return std::nullopt;
      auto v4 = parse_ipv4(s.substr(start));
      if (!v4) return std::nullopt;
      words[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>((*v4)[0] << 8 | (*v4)[1]);
      words[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>((*v4)[2] << 8 | (*v4)[3]);
      break;
    }
    if (n == 8) return std::nullopt;
    words[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(value);
    if (i == len) break;
    if (s[i] != ':') return std::nullopt;
    ++i;
    if (i < len && s[i] == ':') {
      if (gap >= 0) return std::nullopt;
      gap = n;
      ++i;
      if (i == len) break;
    } else if (i == len) {
      return std::nullopt;
    }
  }
  if (gap < 0 && n != 8) return std::nullopt;
  if (gap >= 0 && n > 7) return std::nullopt;
  ipv6_bytes out{};
  // Groups after the gap move to the end; the gap itself stays zero.
  const int tail = gap >= 0 ? n - gap : 0;
  const int head = n - tail;
  for (int k = 0; k < head; ++k) {
    out[static_cast<std::size_t>(2 * k)] = static_cast<std::uint8_t>(words[static_cast<std::size_t>(k)] >> 8);
    out[static_cast<std::size_t>(2 * k + 1)] = static_cast<std::uint8_t>(words[static_cast<std::size_t>(k)]);
  }
  for (int k = 0; k < tail; ++k) {
    const auto w = words[static_cast<std::size_t>(head + k)];
    const int pos = 8 - tail + k;
    out[static_cast<std::size_t>(2 * pos)] = static_cast<std::uint8_t>(w >> 8);
    out[static_cast<std::size_t>(2 * pos + 1)] = static_cast<std::uint8_t>(w);
  }
  return out;
}

// Node's isIPv6 zone suffix: '%' then one or more of [0-9a-zA-Z.:-].
constexpr bool is_regex_zone(std::string_view z) noexcept {
  if (z.empty()) return false;
  for (char c : z) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
              c == ':';
    if (!ok) return false;
  }
  return true;
}

constexpr void append_decimal(ip_string& out, unsigned v) noexcept {
  char buf[10]{};
  int k = 0;
  do {
    buf[k++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (k > 0) out.push_back(buf[--k]);
}

constexpr void append_ipv4(ip_string& out, const std::uint8_t* b) noexcept {
  for (int k = 0; k < 4; ++k) {
    if (k) out.push_back('.');
    append_decimal(out, b[k]);
  }
}

constexpr ip_string format_ipv4(const ipv4_bytes& b) noexcept {
  ip_string out;
  append_ipv4(out, b.data());
  return out;
}

/// Node's text for an IPv6 address (libuv's inet_ntop as built into v23.5.0):
/// lowercase, no leading zeros, the first longest run of two or more zero
/// groups as "::", and a dotted-quad tail only for "::a.b.c.d" (six leading
/// zero groups) and "::ffff:a.b.c.d" — "::2" stays "::2".
constexpr ip_string format_ipv6(const ipv6_bytes& b) noexcept {
  std::array<unsigned, 8> w{};
  for (std::size_t k = 0; k < 8; ++k) w[k] = static_cast<unsigned>(b[2 * k] << 8 | b[2 * k + 1]);
  int best = -1, best_len = 0;
  for (int k = 0; k < 8;) {
    if (w[static_cast<std::size_t>(k)] != 0) {
      ++k;
      continue;
    }
    int j = k;
    while (j < 8 && w[static_cast<std::size_t>(j)] == 0) ++j;
    if (j - k > best_len) best = k, best_len = j - k;
    k = j;
  }
  if (best_len < 2) best = -1, best_len = 0;
  ip_string out;
  constexpr char hex[] = "0123456789abcdef";
  for (int k = 0; k < 8; ++k) {
    if (k == best) {
      out.push_back(':');
      if (k + best_len == 8) out.push_back(':');
      k += best_len - 1;
      continue;
    }
    if (k) out.push_back(':');
    if (k == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
      append_ipv4(out, b.data() + 12);
      break;
    }
    const unsigned v = w[static_cast<std::size_t>(k)];
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned nib = (v >> shift) & 0xf;
      if (nib || started || shift == 0) {
        out.push_back(hex[nib]);
        started = true;
      }
    }
  }
  return out;
}

constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (ascii_lower(a[k]) != b[k]) return false;
  return true;
}

// util.inspect() of a string, as Node's error messages quote a received value.
inline std::string inspect_string(std::string_view s) {
  char quote = '\'';
  if (s.find('\'') != std::string_view::npos) {
    if (s.find('"') == std::string_view::npos) quote = '"';
    else if (s.find('`') == std::string_view::npos && s.find("${") == std::string_view::npos) quote = '`';
  }
  constexpr char hex[] = "0123456789ABCDEF";
  std::string out(1, quote);
  for (std::size_t k = 0; k < s.size(); ++k) {
    const char c = s[k];
    const auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\b') {
      out += "\\b";
    } else if (c == '\f') {
      out += "\\f";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else if (u == 0xC2 && k + 1 < s.size() && static_cast<unsigned char>(s[k + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[k + 1]) <= 0x9F) {
      // A C1 control (U+0080..U+009F) in UTF-8: inspect escapes it too.
      const auto c1 = static_cast<unsigned char>(s[++k]);
      out += "\\x";
      out += hex[c1 >> 4];
      out += hex[c1 & 0xf];
    } else {
      out += c;
    }
  }
  out += quote;
  return out;
}

// ERR_INVALID_ARG_VALUE cuts the inspected value after 128 UTF-16 units.
inline std::string cut_inspected(std::string inspected) {
  std::size_t units = 0, k = 0;
  while (k < inspected.size() && units < 128) {
    const auto u = static_cast<unsigned char>(inspected[k]);
    const std::size_t len = u < 0x80 ? 1 : u < 0xE0 ? 2 : u < 0xF0 ? 3 : 4;
    units += len == 4 ? 2 : 1;
    k += len;
  }
  if (k >= inspected.size()) return inspected;
  return inspected.substr(0, k) + "...";
}

/// A string as ERR_INVALID_ARG_VALUE shows it: inspected, then cut.
inline std::string invalid_arg_received(std::string_view value) { return cut_inspected(inspect_string(value)); }

}  // namespace detail

/// net.isIPv4(input): dotted-decimal without leading zeros.
constexpr bool is_ipv4(std::string_view input) noexcept { return detail::parse_ipv4(input).has_value(); }

/// net.isIPv6(input): any IPv6 text form, with an optional zone id ("fe80::1%eth0").
constexpr bool is_ipv6(std::string_view input) noexcept {
  const auto pct = input.find('%');
  if (pct != std::string_view::npos && !detail::is_regex_zone(input.substr(pct + 1))) return false;
  return detail::parse_ipv6(input.substr(0, pct)).has_value();
}

/// net.isIP(input): 4, 6 or 0.
constexpr int is_ip(std::string_view input) noexcept {
  if (is_ipv4(input)) return 4;
  if (is_ipv6(input)) return 6;
  return 0;
}

/// The `family` option of net.SocketAddress and the `type` argument of
/// net.BlockList: a netxx::family, or Node's string ('ipv4'/'ipv6' in any
/// case). A string Node rejects is kept and rejected where Node rejects it,
/// with Node's ERR_INVALID_ARG_VALUE.
class family_arg {
 public:
  /// A family (implicit: an argument reads as in Node).
  constexpr family_arg(family f) noexcept : value_(f) {}  // NOLINT
  /// Node's string, any case; the view must outlive the call it is passed to.
  constexpr family_arg(std::string_view name) noexcept : name_(name) {  // NOLINT
    if (detail::iequals(name, "ipv4")) value_ = family::ipv4;
    else if (detail::iequals(name, "ipv6")) value_ = family::ipv6;
  }
  /// Node's string, any case.
  constexpr family_arg(const char* name) noexcept : family_arg(std::string_view(name)) {}  // NOLINT

  /// The family, or std::nullopt when the string named none.
  constexpr std::optional<family> get() const noexcept { return value_; }
  /// The family; throws ERR_INVALID_ARG_VALUE ("The property 'options.family' is invalid. ...") like Node.
  constexpr family value() const {
    if (!value_) throw_error(errc::err_invalid_arg_value,
                             "The property 'options.family' is invalid. Received " + detail::invalid_arg_received(name_));
    return *value_;
  }

 private:
  std::optional<family> value_;
  std::string_view name_;
};

NETXX_END_NAMESPACE
