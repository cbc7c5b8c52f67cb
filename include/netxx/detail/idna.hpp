// SPDX-License-Identifier: BSL-1.0
#pragma once
// The host name Node hands to getaddrinfo: ada::idna::to_ascii() of the name
// (ada 2.9.2, in Node v23.5.0's cares_wrap GetAddrInfo), cut at its first NUL
// (ada's result is passed on as a C string), then libuv's own IDNA pass and
// its 256-byte buffer. ada's to_ascii is UTS #46 processing, nontransitional,
// UseSTD3ASCIIRules=false, CheckHyphens=false, VerifyDnsLength=false, with
// CheckJoiners and CheckBidi as ada does them; what is done here is what ada
// does, quirks included (so Node's answers are netxx's):
//  - all-ASCII input: A-Z lowered, labels split on '.', an "xn--" label must
//    decode to a valid label, every other label is copied as it is (spaces,
//    '_', controls: getaddrinfo judges);
//  - other input: invalid UTF-8 is refused; then the UTS #46 mapping (case
//    folding, compatibility forms, full-width, the full stops U+3002, U+FF0E,
//    U+FF61 to '.', soft hyphen and variation selectors dropped, a disallowed
//    code point refuses the name), NFC, split on '.'; an "xn--" label is
//    checked as above, an ASCII label copied, any other checked (the label
//    validity below) and written "xn--" + Punycode;
//  - an "xn--" label's Punycode must decode (ada's decoder: a leading '-'
//    is a delimiter, lower-case digits only), to something the mapping and
//    NFC leave unchanged, not empty, and valid; unlike UTS #46, one decoding
//    to ASCII only ("xn--a-") is accepted, as ada 2.9.2 accepts it;
//  - label validity (ada's is_label_valid): no leading combining mark; the
//    first U+200C/U+200D decides alone (after a virama: valid; U+200C with a
//    joining L or D anywhere before and R or D anywhere after: valid; else
//    invalid) and then no Bidi rule is applied; a label with an R, AL or AN
//    character must satisfy RFC 5893 as ada reads it (label by label);
//  - Unicode data: the mapping and NFC of IDNA/Unicode 15.0; the Bidi,
//    mark, virama and joining data that ada has, which predate Unicode 14.0
//    (scripts/gen-idna-tables.py says how detail/idna_tables.hpp is made).
// Refused (ada's empty answer), empty once cut at NUL, or 256 bytes or more:
// libuv's EINVAL, which dns.lookup reports as `getaddrinfo EINVAL host`.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "../config.hpp"
#include "idna_tables.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

namespace idna {

// (Plain loops, not <algorithm>: this header is in every TU that resolves names.)

/// How many entries of the sorted a[0, n) are <= key.
inline std::size_t count_le(const std::uint32_t* a, std::size_t n, std::uint32_t key) noexcept {
  std::size_t lo = 0, hi = n;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (a[mid] <= key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/// Index of the run holding `key` in a sorted array of run starts (the first starts at 0).
inline std::size_t run_of(const std::uint32_t* first, std::size_t n, std::uint32_t key) noexcept {
  return count_le(first, n, key) - 1;
}

/// The value of code point `c` in runs packed as (first code point << shift) | value.
inline std::uint32_t packed_run_value(const std::uint32_t* runs, std::size_t n, char32_t c, int shift) noexcept {
  if (c > 0x10FFFF) return 0;
  const std::uint32_t mask = (1u << shift) - 1;
  return runs[run_of(runs, n, (static_cast<std::uint32_t>(c) << shift) | mask)] & mask;
}

/// The whole of `s` as code points; nullopt when it is not UTF-8 (overlong,
/// surrogate, beyond U+10FFFF, truncated), as ada's decoder refuses it.
inline std::optional<std::u32string> utf8_to_utf32(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t n;
    char32_t cp;
    if (b0 < 0x80) {
      out += b0;
      ++i;
      continue;
    }
    if ((b0 & 0xE0) == 0xC0) {
      n = 1;
      cp = b0 & 0x1Fu;
    } else if ((b0 & 0xF0) == 0xE0) {
      n = 2;
      cp = b0 & 0x0Fu;
    } else if ((b0 & 0xF8) == 0xF0) {
      n = 3;
      cp = b0 & 0x07u;
    } else {
      return std::nullopt;
    }
    if (i + n >= s.size()) return std::nullopt;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    static constexpr char32_t min_of[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_of[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    out += cp;
    i += n + 1;
  }
  return out;
}

/// UTS #46 mapping of `in`; nullopt when a code point is disallowed.
inline std::optional<std::u32string> map(std::u32string_view in) {
  namespace t = idna_tables;
  std::u32string out;
  out.reserve(in.size());
  for (const char32_t c : in) {
    if (c > 0x10FFFF) return std::nullopt;
    const std::size_t i = run_of(t::map_start, std::size(t::map_start), c);
    const std::uint32_t v = t::map_data[i];
    switch (v & 7) {
      case 0:  // valid
        out += c;
        break;
      case 1:  // ignored
        break;
      case 2:  // disallowed
        return std::nullopt;
      case 3:  // one code point at a distance (unsigned arithmetic wraps to a negative one)
        out += static_cast<char32_t>(c + (v >> 3) - t::map_delta_bias);
        break;
      case 4:
        for (std::uint32_t k = v >> 8, e = k + ((v >> 3) & 31); k < e; ++k) out += t::map_pool[k];
        break;
      default:  // case pairs
        out += (c - t::map_start[i]) % 2 == 0 ? c + 1 : c;
        break;
    }
  }
  return out;
}

inline constexpr char32_t hangul_s = 0xAC00, hangul_l = 0x1100, hangul_v = 0x1161, hangul_t = 0x11A7;
inline constexpr char32_t hangul_lcount = 19, hangul_vcount = 21, hangul_tcount = 28,
                          hangul_scount = hangul_lcount * hangul_vcount * hangul_tcount;

inline std::uint8_t ccc(char32_t c) noexcept {
  return static_cast<std::uint8_t>(
      packed_run_value(idna_tables::ccc_runs, std::size(idna_tables::ccc_runs), c, 8));
}

/// The primary composite of (a, b), or 0.
inline char32_t compose_pair(char32_t a, char32_t b) noexcept {
  namespace t = idna_tables;
  if (a > 0x10FFFF || b > 0x10FFFF) return 0;
  const std::uint64_t key = (std::uint64_t{a} << 21) | b;
  std::size_t lo = 0, hi = std::size(t::compose_key);
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (t::compose_key[mid] < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < std::size(t::compose_key) && t::compose_key[lo] == key ? static_cast<char32_t>(t::compose_to[lo]) : 0;
}

/// NFC, as ada's normalize(): full canonical decomposition, canonical
/// ordering (a stable insertion sort on the combining class), composition.
inline void nfc(std::u32string& s) {
  namespace t = idna_tables;
  std::u32string d;
  d.reserve(s.size());
  for (const char32_t c : s) {
    if (c >= hangul_s && c < hangul_s + hangul_scount) {
      const char32_t si = c - hangul_s;
      d += hangul_l + si / (hangul_vcount * hangul_tcount);
      d += hangul_v + (si % (hangul_vcount * hangul_tcount)) / hangul_tcount;
      if (si % hangul_tcount != 0) d += hangul_t + si % hangul_tcount;
      continue;
    }
    const std::size_t i = count_le(t::decomp_cp, std::size(t::decomp_cp), c);
    if (i == 0 || t::decomp_cp[i - 1] != c) {
      d += c;
      continue;
    }
    const std::uint16_t v = t::decomp_val[i - 1];
    for (unsigned k = v >> 3u, e = k + (v & 7u); k < e; ++k) d += t::decomp_pool[k];
  }
  for (std::size_t i = 1; i < d.size(); ++i) {
    const std::uint8_t k = ccc(d[i]);
    if (k == 0) continue;
    const char32_t c = d[i];
    std::size_t j = i;
    for (; j != 0 && ccc(d[j - 1]) > k; --j) d[j] = d[j - 1];
    d[j] = c;
  }
  std::size_t in = 0, out = 0;
  for (; in < d.size(); ++in, ++out) {
    const char32_t c = d[in];
    d[out] = c;
    if (c >= hangul_l && c < hangul_l + hangul_lcount) {
      if (in + 1 < d.size() && d[in + 1] >= hangul_v && d[in + 1] < hangul_v + hangul_vcount) {
        d[out] = hangul_s + ((c - hangul_l) * hangul_vcount + d[in + 1] - hangul_v) * hangul_tcount;
        ++in;
        if (in + 1 < d.size() && d[in + 1] > hangul_t && d[in + 1] < hangul_t + hangul_tcount)
          d[out] += d[++in] - hangul_t;
      }
    } else if (c >= hangul_s && c < hangul_s + hangul_scount) {
      // Unreachable after the decomposition; kept as ada has it (it adds a
      // trailing consonant to a syllable that already has one).
      if ((c - hangul_s) % hangul_tcount != 0 && in + 1 < d.size() && d[in + 1] > hangul_t &&
          d[in + 1] < hangul_t + hangul_tcount)
        d[out] += d[++in] - hangul_t;
    } else if (c < 0x110000) {
      const std::size_t starter = out;
      int previous = -1;
      for (; in + 1 < d.size(); ++in) {
        const char32_t next = d[in + 1];
        const int k = ccc(next);
        if (previous < k) {
          if (const char32_t composite = compose_pair(d[starter], next)) {
            d[starter] = composite;
            continue;
          }
        }
        if (k == 0) break;
        previous = k;
        d[++out] = next;
      }
    }
  }
  d.resize(out);
  s = std::move(d);
}

// RFC 3492 parameters, in ada's signed 32-bit arithmetic.
inline constexpr std::int32_t puny_base = 36, puny_tmin = 1, puny_tmax = 26, puny_skew = 38, puny_damp = 700,
                              puny_initial_bias = 72;
inline constexpr std::uint32_t puny_initial_n = 128;

constexpr std::int32_t puny_adapt(std::int32_t d, std::int32_t n, bool first) noexcept {
  d = first ? d / puny_damp : d / 2;
  d += d / n;
  std::int32_t k = 0;
  while (d > ((puny_base - puny_tmin) * puny_tmax) / 2) {
    d /= puny_base - puny_tmin;
    k += puny_base;
  }
  return k + (((puny_base - puny_tmin + 1) * d) / (d + puny_skew));
}

constexpr std::int32_t puny_threshold(std::int32_t k, std::int32_t bias) noexcept {
  return k <= bias ? puny_tmin : k >= bias + puny_tmax ? puny_tmax : k - bias;
}

}  // namespace idna

/// Punycode of a label's code points (without the "xn--"), as ada encodes
/// it; nullopt on overflow (or a code point ada refuses to encode).
inline std::optional<std::string> punycode_encode(std::u32string_view in) {
  using namespace idna;
  std::string out;
  out.reserve(in.size());
  std::uint32_t n = puny_initial_n;
  std::int32_t d = 0, bias = puny_initial_bias;
  std::size_t h = 0;
  for (const char32_t c : in) {
    if (c < 0x80) {
      ++h;
      out += static_cast<char>(c);
    }
    if (c > 0x10FFFF || (c >= 0xD880 && c < 0xE000)) return std::nullopt;  // ada's bounds, 0xD880 as it has it
  }
  const std::size_t b = h;
  if (b > 0) out += '-';
  while (h < in.size()) {
    std::uint32_t m = 0x10FFFF;
    for (const char32_t c : in)
      if (c >= n && c < m) m = c;
    if (std::size_t{m - n} > static_cast<std::size_t>(0x7FFFFFFF - d) / (h + 1)) return std::nullopt;
    d += static_cast<std::int32_t>(std::size_t{m - n} * (h + 1));
    n = m;
    for (const char32_t c : in) {
      if (c < n) {
        if (d == 0x7FFFFFFF) return std::nullopt;
        ++d;
      }
      if (c != n) continue;
      std::int32_t q = d;
      for (std::int32_t k = puny_base;; k += puny_base) {
        const std::int32_t t = puny_threshold(k, bias);
        if (q < t) break;
        const std::int32_t digit = t + (q - t) % (puny_base - t);
        out += static_cast<char>(digit < 26 ? 'a' + digit : '0' + (digit - 26));
        q = (q - t) / (puny_base - t);
      }
      out += static_cast<char>(q < 26 ? 'a' + q : '0' + (q - 26));
      bias = puny_adapt(d, static_cast<std::int32_t>(h + 1), h == b);
      d = 0;
      ++h;
    }
    ++d;
    ++n;
  }
  return out;
}

/// Decodes Punycode (without the "xn--") as ada does; nullopt when it cannot.
/// The code points are not checked (the mapping that follows refuses what is
/// not a valid one).
inline std::optional<std::u32string> punycode_decode(std::string_view in) {
  using namespace idna;
  std::u32string out;
  std::int32_t written = 0, i = 0, bias = puny_initial_bias;
  std::uint32_t n = puny_initial_n;
  if (const std::size_t delimiter = in.find_last_of('-'); delimiter != std::string_view::npos) {
    for (const char c : in.substr(0, delimiter)) {
      if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
      out += static_cast<unsigned char>(c);
      ++written;
    }
    in.remove_prefix(delimiter + 1);
  }
  while (!in.empty()) {
    const std::int32_t old_i = i;
    std::int32_t w = 1;
    for (std::int32_t k = puny_base;; k += puny_base) {
      if (in.empty()) return std::nullopt;
      const char c = in.front();
      in.remove_prefix(1);
      std::int32_t digit;
      if (c >= 'a' && c <= 'z')
        digit = c - 'a';
      else if (c >= '0' && c <= '9')
        digit = c - '0' + 26;
      else
        return std::nullopt;  // upper case too: what reaches here is lowered
      if (digit > (0x7FFFFFFF - i) / w) return std::nullopt;
      i += digit * w;
      const std::int32_t t = puny_threshold(k, bias);
      if (digit < t) break;
      if (w > 0x7FFFFFFF / (puny_base - t)) return std::nullopt;
      w *= puny_base - t;
    }
    bias = puny_adapt(i - old_i, written + 1, old_i == 0);
    if (i / (written + 1) > static_cast<std::int32_t>(0x7FFFFFFF - n)) return std::nullopt;
    n += static_cast<std::uint32_t>(i / (written + 1));
    i %= written + 1;
    out.insert(out.begin() + i, static_cast<char32_t>(n));
    ++written;
    ++i;
  }
  return out;
}

namespace idna {

// The order of idna_tables::bidi_runs (the classes after ON never matter here).
enum bidi_class : std::uint8_t { NONE, L, R, AL, EN, ES, ET, AN, CS, NSM, BN, B, S, WS, ON };

inline std::uint32_t bidi_of(char32_t c) noexcept {
  return packed_run_value(idna_tables::bidi_runs, std::size(idna_tables::bidi_runs), c, 8);
}

/// ada 2.9.2's is_label_valid() (NFC and the mapping statuses are checked
/// before it).
inline bool label_valid(std::u32string_view label) {
  namespace t = idna_tables;
  if (label.empty()) return true;
  if (packed_run_value(t::mark_runs, std::size(t::mark_runs), label.front(), 1) != 0) return false;
  auto virama = [](char32_t c) {
    const std::size_t i = count_le(t::viramas, std::size(t::viramas), c);
    return i > 0 && t::viramas[i - 1] == c;
  };
  auto joining = [](char32_t c) { return packed_run_value(t::joining_runs, std::size(t::joining_runs), c, 2); };
  for (std::size_t i = 0; i < label.size(); ++i) {
    const char32_t c = label[i];
    if (c != 0x200C && c != 0x200D) continue;
    // The first joiner decides for the whole label (and the Bidi rule is not applied).
    if (i > 0 && virama(label[i - 1])) return true;
    if (c == 0x200D || i + 1 >= label.size()) return false;
    // ada looks for a joining L or D anywhere before, an R or D anywhere after.
    bool left = false, right = false;
    for (std::size_t k = 0; k < i; ++k) left = left || joining(label[k]) == 1 || joining(label[k]) == 3;
    for (std::size_t k = i + 1; k < label.size(); ++k) right = right || joining(label[k]) == 2 || joining(label[k]) == 3;
    return left && right;
  }
  std::size_t last = label.size();
  while (last > 0 && bidi_of(label[last - 1]) == NSM) --last;
  if (last == 0) return false;
  --last;  // the last character that is not NSM
  bool rtl = false;
  for (const char32_t x : label) {
    const auto b = bidi_of(x);
    rtl = rtl || b == R || b == AL || b == AN;
  }
  if (!rtl) return true;
  if (bidi_of(label[0]) == L) {
    // ada's LTR branch looks at the characters before the last non-NSM one only.
    for (std::size_t i = 0; i < last; ++i) {
      const auto b = bidi_of(label[i]);
      if (!(b == L || b == EN || b == ES || b == CS || b == ET || b == ON || b == BN || b == NSM))
        return false;
    }
    return true;
  }
  bool has_an = false, has_en = false;
  for (std::size_t i = 0; i <= last; ++i) {
    const auto b = bidi_of(label[i]);
    if (b == EN) {
      has_en = true;
      if (has_an) return false;
    } else if (b == AN) {
      has_an = true;
      if (has_en) return false;
    }
    if (!(b == R || b == AL || b == AN || b == EN || b == ES || b == CS || b == ET || b == ON || b == BN ||
          b == NSM))
      return false;
    if (i == last && !(b == R || b == AL || b == AN || b == EN)) return false;
  }
  return true;
}

/// An "xn--" label's Punycode (lowered), checked as ada checks it.
inline bool xn_label_valid(std::string_view puny) {
  auto decoded = punycode_decode(puny);
  if (!decoded) return false;
  auto mapped = map(*decoded);
  if (!mapped || *mapped != *decoded) return false;
  nfc(*mapped);
  if (*mapped != *decoded || mapped->empty()) return false;
  return label_valid(*mapped);
}

inline bool is_ascii(std::u32string_view label) noexcept {
  for (const char32_t c : label)
    if (c >= 0x80) return false;
  return true;
}

inline bool is_xn(std::u32string_view label) noexcept {
  return label.size() >= 4 && label[0] == 'x' && label[1] == 'n' && label[2] == '-' && label[3] == '-';
}

}  // namespace idna

/// ada::idna::to_ascii(`host`) of ada 2.9.2: the name in ASCII, or "" when
/// it is refused.
inline std::string idna_to_ascii(std::string_view host) {
  using namespace idna;
  std::string out;
  bool ascii = true;
  for (const char c : host) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    std::string lowered(host);
    for (char& c : lowered)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    std::string_view rest = lowered;
    for (;;) {
      const std::size_t dot = rest.find('.');
      const std::string_view label = rest.substr(0, dot);
      if (label.size() >= 4 && label.substr(0, 4) == "xn--" && !xn_label_valid(label.substr(4))) return {};
      out += label;
      if (dot == std::string_view::npos) break;
      out += '.';
      rest.remove_prefix(dot + 1);
      if (rest.empty()) break;
    }
    return out;
  }
  auto decoded = utf8_to_utf32(host);
  if (!decoded) return {};
  auto mapped = map(*decoded);
  if (!mapped) return {};
  nfc(*mapped);
  std::u32string_view rest = *mapped;
  while (!rest.empty()) {
    const std::size_t dot = rest.find(U'.');
    const std::u32string_view label = rest.substr(0, dot);
    if (is_xn(label)) {
      std::string ascii;
      for (const char32_t c : label) {
        if (c >= 0x80) return {};
        ascii += static_cast<char>(c);
      }
      if (!xn_label_valid(std::string_view(ascii).substr(4))) return {};
      out += ascii;
    } else if (is_ascii(label)) {
      for (const char32_t c : label) out += static_cast<char>(c);
    } else {
      if (!label_valid(label)) return {};
      auto puny = punycode_encode(label);
      if (!puny) return {};
      out += "xn--";
      out += *puny;
    }
    if (dot == std::u32string_view::npos) break;
    out += '.';
    rest.remove_prefix(dot + 1);
  }
  return out;
}

/// The name getaddrinfo is given for `host`, or nullopt where Node's
/// getaddrinfo fails with EINVAL: ada's answer, cut at its first NUL (Node
/// passes it on as a C string), must be neither empty nor 256 bytes or more
/// (libuv's buffer).
inline std::optional<std::string> hostname_to_ascii(std::string_view host) {
  std::string ascii = idna_to_ascii(host);
  if (const std::size_t nul = ascii.find('\0'); nul != std::string::npos) ascii.resize(nul);
  if (ascii.empty() || ascii.size() >= 256) return std::nullopt;
  return ascii;
}

}  // namespace detail
NETXX_END_NAMESPACE
