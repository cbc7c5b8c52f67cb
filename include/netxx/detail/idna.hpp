#pragma once
// The host name Node hands to getaddrinfo: ada::idna::to_ascii() of the
// name (IDNA, UTS #46), then libuv's own IDNA pass and its 256-byte buffer.
// What is done here, and what is not:
//  - ASCII letters are lowered; labels split on '.' and on the three other
//    full stops IDNA knows (U+3002, U+FF0E, U+FF61);
//  - a label with non-ASCII characters becomes "xn--" + Punycode (RFC 3492);
//  - an "xn--" label must decode (Punycode) to something non-ASCII, or the
//    name is refused, as ada refuses it;
//  - refused, empty after conversion, or 256 bytes or more: libuv's EINVAL.
// Not done: UTS #46 mapping of non-ASCII characters (case folding, NFC,
// disallowed code points). Write non-ASCII names in lower case NFC, the form
// they are registered in, and they convert as Node converts them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "../config.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

/// Decodes one UTF-8 sequence at s[i]; advances i. nullopt: invalid
/// (overlong, surrogate, beyond U+10FFFF, truncated).
inline std::optional<char32_t> utf8_decode1(std::string_view s, std::size_t& i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int n;
  char32_t cp;
  if ((b0 & 0xE0) == 0xC0) {
    n = 1;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 2;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 3;
    cp = b0 & 0x07;
  } else {
    return std::nullopt;
  }
  if (i + static_cast<std::size_t>(n) >= s.size()) return std::nullopt;
  for (int k = 1; k <= n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr char32_t min_of[] = {0, 0x80, 0x800, 0x10000};
  if (cp < min_of[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  i += static_cast<std::size_t>(n) + 1;
  return cp;
}

// RFC 3492 parameters.
inline constexpr std::uint32_t puny_base = 36, puny_tmin = 1, puny_tmax = 26, puny_skew = 38, puny_damp = 700,
                                puny_initial_bias = 72, puny_initial_n = 128;

constexpr std::uint32_t puny_adapt(std::uint32_t delta, std::uint32_t points, bool first) noexcept {
  delta = first ? delta / puny_damp : delta / 2;
  delta += delta / points;
  std::uint32_t k = 0;
  while (delta > ((puny_base - puny_tmin) * puny_tmax) / 2) {
    delta /= puny_base - puny_tmin;
    k += puny_base;
  }
  return k + (puny_base - puny_tmin + 1) * delta / (delta + puny_skew);
}

constexpr char puny_digit(std::uint32_t d) noexcept {
  return static_cast<char>(d < 26 ? 'a' + d : '0' + (d - 26));
}

/// Punycode of a label's code points (without the "xn--"); nullopt on overflow.
inline std::optional<std::string> punycode_encode(std::u32string_view in) {
  std::string out;
  for (char32_t c : in)
    if (c < 0x80) out += static_cast<char>(c);
  const std::uint32_t basic = static_cast<std::uint32_t>(out.size());
  std::uint32_t h = basic;
  if (basic > 0) out += '-';
  std::uint32_t n = puny_initial_n, delta = 0, bias = puny_initial_bias;
  while (h < in.size()) {
    std::uint32_t m = 0xFFFFFFFF;
    for (char32_t c : in)
      if (c >= n && c < m) m = c;
    if (m - n > (0xFFFFFFFF - delta) / (h + 1)) return std::nullopt;
    delta += (m - n) * (h + 1);
    n = m;
    for (char32_t c : in) {
      if (c < n && ++delta == 0) return std::nullopt;
      if (c != n) continue;
      std::uint32_t q = delta;
      for (std::uint32_t k = puny_base;; k += puny_base) {
        const std::uint32_t t = k <= bias ? puny_tmin : k >= bias + puny_tmax ? puny_tmax : k - bias;
        if (q < t) break;
        out += puny_digit(t + (q - t) % (puny_base - t));
        q = (q - t) / (puny_base - t);
      }
      out += puny_digit(q);
      bias = puny_adapt(delta, h + 1, h == basic);
      delta = 0;
      ++h;
    }
    ++delta;
    ++n;
  }
  return out;
}

/// Decodes Punycode (without the "xn--"); nullopt when it is not valid.
inline std::optional<std::u32string> punycode_decode(std::string_view in) {
  std::u32string out;
  std::size_t b = in.rfind('-');
  if (b == std::string_view::npos) b = 0;
  for (std::size_t j = 0; j < b; ++j) {
    if (static_cast<unsigned char>(in[j]) >= 0x80) return std::nullopt;
    out += static_cast<char32_t>(in[j]);
  }
  std::uint32_t n = puny_initial_n, i = 0, bias = puny_initial_bias;
  for (std::size_t p = b > 0 ? b + 1 : 0; p < in.size();) {
    const std::uint32_t old_i = i;
    std::uint32_t w = 1;
    for (std::uint32_t k = puny_base;; k += puny_base) {
      if (p >= in.size()) return std::nullopt;
      const char c = in[p++];
      std::uint32_t digit;
      if (c >= 'a' && c <= 'z')
        digit = static_cast<std::uint32_t>(c - 'a');
      else if (c >= 'A' && c <= 'Z')
        digit = static_cast<std::uint32_t>(c - 'A');
      else if (c >= '0' && c <= '9')
        digit = static_cast<std::uint32_t>(c - '0') + 26;
      else
        return std::nullopt;
      if (digit > (0xFFFFFFFF - i) / w) return std::nullopt;
      i += digit * w;
      const std::uint32_t t = k <= bias ? puny_tmin : k >= bias + puny_tmax ? puny_tmax : k - bias;
      if (digit < t) break;
      if (w > 0xFFFFFFFF / (puny_base - t)) return std::nullopt;
      w *= puny_base - t;
    }
    const auto len = static_cast<std::uint32_t>(out.size()) + 1;
    bias = puny_adapt(i - old_i, len, old_i == 0);
    if (i / len > 0xFFFFFFFF - n) return std::nullopt;
    n += i / len;
    i %= len;
    if (n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF)) return std::nullopt;
    out.insert(out.begin() + i, static_cast<char32_t>(n));
    ++i;
  }
  return out;
}

/// The name getaddrinfo is given for `host`, or nullopt where Node's
/// getaddrinfo fails with EINVAL. `host` stops at its first NUL, as the
/// C string Node passes down does.
inline std::optional<std::string> hostname_to_ascii(std::string_view host) {
  if (auto nul = host.find('\0'); nul != std::string_view::npos) host = host.substr(0, nul);
  std::string out;
  std::u32string label;
  bool non_ascii = false;
  auto finish_label = [&]() -> bool {
    if (non_ascii) {
      auto p = punycode_encode(label);
      if (!p) return false;
      out += "xn--";
      out += *p;
    } else {
      std::string ascii(label.begin(), label.end());
      if (ascii.size() >= 4 && ascii.compare(0, 4, "xn--") == 0) {
        auto decoded = punycode_decode(std::string_view(ascii).substr(4));
        if (!decoded || decoded->empty()) return false;
        bool all_ascii = true;
        for (char32_t c : *decoded) all_ascii = all_ascii && c < 0x80;
        if (all_ascii) return false;
      }
      out += ascii;
    }
    label.clear();
    non_ascii = false;
    return true;
  };
  for (std::size_t i = 0; i < host.size();) {
    auto cp = utf8_decode1(host, i);
    if (!cp) return std::nullopt;
    char32_t c = *cp;
    if (c == '.' || c == 0x3002 || c == 0xFF0E || c == 0xFF61) {
      if (!finish_label()) return std::nullopt;
      out += '.';
      continue;
    }
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    if (c >= 0x80) non_ascii = true;
    label += c;
  }
  if (!finish_label()) return std::nullopt;
  if (out.empty() || out.size() >= 256) return std::nullopt;
  return out;
}

}  // namespace detail
NETXX_END_NAMESPACE
