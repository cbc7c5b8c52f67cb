// SPDX-License-Identifier: BSL-1.0
#pragma once
/// Node's string encodings, as sockets use them: `socket.setEncoding(enc)`
/// decodes "data" with a `string_decoder.StringDecoder`, and
/// `socket.write(string, enc)` / `end(string, enc)` encode with
/// `Buffer.from(string, enc)`. Byte for byte as Node v23.5.0
/// (tests/differential/encoding_diff_test.cpp runs Node itself).
///
/// A JavaScript string is a `std::string` of UTF-8 here. Two places where the
/// two models differ, and what netxx does:
///  - A decoded piece can hold a lone UTF-16 surrogate in Node (utf16le data
///    cut inside a surrogate pair at an odd byte count, or a lone surrogate in
///    the data). UTF-8 cannot carry one: each lone surrogate becomes U+FFFD
///    (EF BF BD), which is exactly what Node puts on the wire when that string
///    is written as utf8 (`Buffer.from(piece, 'utf8')`). Pieces are therefore
///    always valid UTF-8; the one loss is that two pieces which Node's string
///    concatenation would join back into one astral character stay two U+FFFD.
///  - Text given to encode() that is not valid UTF-8 is read as Node reads
///    such bytes (`buffer.toString('utf8')`, the WHATWG decoder V8 uses): each
///    maximal invalid subsequence becomes one U+FFFD. Valid UTF-8 is taken as is.
///
/// Standard library only; no I/O. The bulk of base64, hex and UTF-8 runs in
/// the kernels of detail/base64_hex.hpp and detail/utf8.hpp (AVX2 when the CPU
/// has it, else scalar; detail/encoding_simd.hpp decides); what Node decodes
/// leniently is decoded here step by step, from the first group that needs it.

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config.hpp"
#include "detail/base64_hex.hpp"
#include "detail/utf8.hpp"
#include "errors.hpp"

NETXX_BEGIN_NAMESPACE

/// Node's string encodings (the names `Buffer.isEncoding` accepts, which
/// `setEncoding`, `write`, `end` and `StringDecoder` take).
enum class encoding : std::uint8_t { utf8, utf16le, latin1, ascii, hex, base64, base64url };

/// Node's `normalizeEncoding`: ASCII case-insensitive; "utf-8" is utf8;
/// "ucs2", "ucs-2", "utf-16le" are utf16le; "binary" is latin1. The empty name
/// is utf8, as Node reads it (`new StringDecoder('')`, `Buffer.from(s, '')`).
/// Anything else (including "buffer", which only `write` accepts) is nullopt.
constexpr std::optional<encoding> parse_encoding(std::string_view name) noexcept {
  if (name.empty()) return encoding::utf8;
  if (name.size() > 9) return std::nullopt;
  char buf[9]{};
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    buf[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view s(buf, name.size());
  if (s == "utf8" || s == "utf-8") return encoding::utf8;
  if (s == "utf16le" || s == "utf-16le" || s == "ucs2" || s == "ucs-2") return encoding::utf16le;
  if (s == "latin1" || s == "binary") return encoding::latin1;
  if (s == "ascii") return encoding::ascii;
  if (s == "hex") return encoding::hex;
  if (s == "base64") return encoding::base64;
  if (s == "base64url") return encoding::base64url;
  return std::nullopt;
}

/// Node's canonical name (what `decoder.encoding` and
/// `socket.readableEncoding` report): "utf8", "utf16le", "latin1", ...
constexpr std::string_view to_string(encoding e) noexcept {
  switch (e) {
    case encoding::utf8: return "utf8";
    case encoding::utf16le: return "utf16le";
    case encoding::latin1: return "latin1";
    case encoding::ascii: return "ascii";
    case encoding::hex: return "hex";
    case encoding::base64: return "base64";
    case encoding::base64url: return "base64url";
  }
  return "utf8";
}

/// parse_encoding, or Node's TypeError: net::error ERR_UNKNOWN_ENCODING
/// "Unknown encoding: <name>".
inline encoding encoding_from(std::string_view name) {
  if (auto e = parse_encoding(name)) return *e;
  throw error(errc::err_unknown_encoding, "Unknown encoding: " + std::string(name));
}

namespace detail::enc {

inline constexpr char replacement[] = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Calls run(p, len) for each valid stretch and bad() for each U+FFFD, in
// order: the string V8 makes of these bytes. Valid input is one run.
template <class Run, class Bad>
void scan_utf8(const unsigned char* p, std::size_t n, Run&& run, Bad&& bad) {
  std::size_t i = 0, start = 0;
  while (i < n) {
    // Whole valid characters in bulk, then the decoder step by step up to and
    // past the next invalid sequence (the bulk kernel may stop a little short
    // of it), then in bulk again.
    i += utf8_valid_prefix(p + i, n - i);
    while ((i = skip_ascii(p, i, n)) < n) {
      const utf8_step s = utf8_next(p + i, n - i);
      if (!s.valid) {
        if (i > start) run(p + start, i - start);
        bad();
        i = start = i + s.len;
        break;
      }
      i += s.len;
    }
  }
  if (n > start) run(p + start, n - start);
}

inline bool valid_utf8(const unsigned char* p, std::size_t n) noexcept { return utf8_valid_prefix(p, n) == n; }

// Appends the UTF-8 text V8 makes of bytes read as UTF-8.
inline void append_utf8(std::string& out, const unsigned char* p, std::size_t n) {
  if (utf8_valid_prefix(p, n) == n) {
    out.append(reinterpret_cast<const char*>(p), n);
    return;
  }
  // Each U+FFFD takes 3 bytes where the input had 1 to 3: room for some, so
  // that text with a few invalid bytes is allocated once (growing it by
  // doubling was most of the cost, past 64 KiB).
  out.reserve(out.size() + n + n / 8 + 16);
  scan_utf8(
      p, n, [&](const unsigned char* q, std::size_t run) { out.append(reinterpret_cast<const char*>(q), run); },
      [&] { out.append(replacement, 3); });
}

inline void put_code_point(std::string& out, char32_t cp) {
  char b[4];
  std::size_t n;
  if (cp < 0x80) {
    b[0] = static_cast<char>(cp);
    n = 1;
  } else if (cp < 0x800) {
    b[0] = static_cast<char>(0xC0 | (cp >> 6));
    b[1] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = static_cast<char>(0xE0 | (cp >> 12));
    b[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    b[2] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    b[0] = static_cast<char>(0xF0 | (cp >> 18));
    b[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    b[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    b[3] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 4;
  }
  out.append(b, n);
}

// UTF-16 code units in, UTF-8 out: a surrogate pair is one code point, a
// lone surrogate is U+FFFD (V8's WriteUtf8 with REPLACE_INVALID_UTF8).
class utf16_to_utf8 {
 public:
  explicit utf16_to_utf8(std::string& out) noexcept : out_(out) {}
  void put(char16_t u) {
    if (high_) {
      if (u >= 0xDC00 && u <= 0xDFFF) {
        put_code_point(out_, 0x10000 + ((char32_t(high_) - 0xD800) << 10) + (char32_t(u) - 0xDC00));
        high_ = 0;
        return;
      }
      out_.append(replacement, 3);
      high_ = 0;
    }
    if (u >= 0xD800 && u <= 0xDBFF)
      high_ = u;
    else if (u >= 0xDC00 && u <= 0xDFFF)
      out_.append(replacement, 3);
    else
      put_code_point(out_, u);
  }
  void put_le(const unsigned char* p, std::size_t n) {  // n even
    for (std::size_t i = 0; i + 1 < n; i += 2) put(static_cast<char16_t>(p[i] | (p[i + 1] << 8)));
  }
  void finish() {
    if (high_) out_.append(replacement, 3);
    high_ = 0;
  }

 private:
  std::string& out_;
  char16_t high_ = 0;
};

inline void append_latin1(std::string& out, const unsigned char* p, std::size_t n) {
  std::size_t i = skip_ascii(p, 0, n);
  out.append(reinterpret_cast<const char*>(p), i);
  if (i == n) return;
  const std::size_t old = out.size();
  out.resize(old + 2 * (n - i));
  char* d = out.data() + old;
  for (; i < n; ++i) {
    if (p[i] < 0x80) {
      *d++ = static_cast<char>(p[i]);
    } else {
      *d++ = static_cast<char>(0xC0 | (p[i] >> 6));
      *d++ = static_cast<char>(0x80 | (p[i] & 0x3F));
    }
  }
  out.resize(static_cast<std::size_t>(d - out.data()));
}

// Node's ascii decoding clears the high bit of every byte.
inline void append_ascii(std::string& out, const unsigned char* p, std::size_t n) {
  const std::size_t old = out.size();
  out.append(reinterpret_cast<const char*>(p), n);
  if (skip_ascii(p, 0, n) < n)
    for (std::size_t i = old; i < out.size(); ++i) out[i] = static_cast<char>(out[i] & 0x7F);
}

inline void append_hex(std::string& out, const unsigned char* p, std::size_t n) {
  const std::size_t old = out.size();
  out.resize(old + 2 * n);
  hex_encode(out.data() + old, p, n);
}

inline void append_base64(std::string& out, const unsigned char* p, std::size_t n, bool url) {
  const std::size_t rest = n % 3;
  const std::size_t old = out.size();
  out.resize(old + n / 3 * 4 + (rest == 0 ? 0 : url ? rest + 1 : 4));
  char* d = out.data() + old;
  const std::size_t full = base64_encode_groups(d, p, n, url);
  d += full / 3 * 4;
  if (rest) {  // base64 pads to 4 characters with '='; base64url does not pad
    const char* abc = base64_abc[url ? 1 : 0];
    const std::uint32_t v = (std::uint32_t(p[full]) << 16) | (rest == 2 ? std::uint32_t(p[full + 1]) << 8 : 0);
    d[0] = abc[v >> 18];
    d[1] = abc[(v >> 12) & 63];
    if (rest == 2) d[2] = abc[(v >> 6) & 63];
    if (!url) {
      if (rest == 1) d[2] = '=';
      d[3] = '=';
    }
  }
}

// ---- encode direction (Buffer.from(string, enc)) ---------------------------

// Calls f(char16_t) for each UTF-16 code unit of the JavaScript string that
// these UTF-8 bytes stand for.
template <class F>
void for_each_unit(const unsigned char* p, std::size_t n, F&& f) {
  std::size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      f(static_cast<char16_t>(p[i++]));
      continue;
    }
    const utf8_step s = utf8_next(p + i, n - i);
    i += s.len;
    if (!s.valid) {
      f(u'\uFFFD');
    } else if (s.cp >= 0x10000) {
      f(static_cast<char16_t>(0xD800 + ((s.cp - 0x10000) >> 10)));
      f(static_cast<char16_t>(0xDC00 + ((s.cp - 0x10000) & 0x3FF)));
    } else {
      f(static_cast<char16_t>(s.cp));
    }
  }
}

// The string as Node's hex and base64 writers see it: the low byte of each
// UTF-16 code unit (V8 hands them uint16_t units which they narrow to uint8_t),
// plus whether each of the last two units is exactly '=' (base64's length
// estimate compares whole units, so U+013D is '=' to the decoder only).
struct narrowed {
  std::string_view bytes;
  std::string storage;  // used only when the text is not all ASCII
  bool last_eq = false, second_last_eq = false;
};

inline void narrow(narrowed& s, std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  if (skip_ascii(p, 0, text.size()) == text.size()) {
    s.bytes = text;
  } else {
    s.storage.reserve(text.size());
    char16_t last = 0, second_last = 0;
    for_each_unit(p, text.size(), [&](char16_t u) {
      s.storage.push_back(static_cast<char>(u & 0xFF));
      second_last = last;
      last = u;
    });
    s.bytes = s.storage;
    s.last_eq = last == u'=';
    s.second_last_eq = s.storage.size() >= 2 && second_last == u'=';
    return;
  }
  s.last_eq = !s.bytes.empty() && s.bytes.back() == '=';
  s.second_last_eq = s.bytes.size() >= 2 && s.bytes[s.bytes.size() - 2] == '=';
}

struct base64_step {
  std::size_t i, k;
  bool go_on;
};

// One group of Node's lenient decoder read a character at a time from src[i]:
// four digits (bytes to dst[k]), skipping characters that are no digit;
// go_on is false when decoding stops ('=', the end of src, dst full).
inline base64_step base64_slow_group(const unsigned char* src, std::size_t srclen, unsigned char* dst,
                                     std::size_t dstlen, std::size_t i, std::size_t k) noexcept {
  unsigned hi = 0, lo = 0;
  for (int phase = 0; phase < 4; ++phase) {
    for (;;) {
      const unsigned char c = src[i];
      lo = base64_values[c];
      ++i;
      if (lo < 64) break;
      if (c == '=' || i >= srclen) return {i, k, false};
    }
    switch (phase) {
      case 1: dst[k++] = static_cast<unsigned char>(((hi & 0x3F) << 2) | ((lo & 0x30) >> 4)); break;
      case 2: dst[k++] = static_cast<unsigned char>(((hi & 0x0F) << 4) | ((lo & 0x3C) >> 2)); break;
      case 3: dst[k++] = static_cast<unsigned char>(((hi & 0x03) << 6) | (lo & 0x3F)); break;
      default: break;
    }
    if (i >= srclen || k >= dstlen) return {i, k, false};
    hi = lo;
  }
  return {i, k, true};
}

// Node's lenient base64 writer (both alphabets; characters that are not
// digits are skipped, the first '=' met between digits ends the data, a lone
// trailing digit is dropped), writing at most dstlen bytes. Decoding runs in
// groups of four digits; a group that meets a non-digit is read one character
// at a time. The bound on the fast groups comes from the length of the text
// (less up to two trailing '=' units), as in Node.
inline std::size_t base64_decode(unsigned char* dst, std::size_t dstlen, const narrowed& s) noexcept {
  const auto* src = reinterpret_cast<const unsigned char*>(s.bytes.data());
  const std::size_t srclen = s.bytes.size();
  std::size_t size = srclen;
  if (size < 2) {
    size = 0;
  } else if (s.last_eq) {
    --size;
    if (s.second_last_eq) --size;
  }
  const std::size_t estimate = size > 1 ? size / 4 * 3 + (size % 4 + 1) / 2 : 0;
  const std::size_t max_k = (dstlen < estimate ? dstlen : estimate) / 3 * 3;
  std::size_t max_i = srclen / 4 * 4, i = 0, k = 0;

  // One group read a character at a time; false when decoding stops. (A
  // function of values rather than a lambda on i and k: they stay in registers.)
  auto slow_group = [&]() -> bool {
    const base64_step r = base64_slow_group(src, srclen, dst, dstlen, i, k);
    i = r.i;
    k = r.k;
    return r.go_on;
  };

  while (i < max_i && k < max_k) {
    const std::size_t by_src = (max_i - i) / 4, by_dst = (max_k - k) / 3;
    const std::size_t groups = by_src < by_dst ? by_src : by_dst;
    const std::size_t g = base64_decode_groups(dst + k, src + i, groups);
    i += 4 * g;
    k += 3 * g;
    if (g == groups) break;
    if (!slow_group()) return k;  // the group at i holds a character that is no digit
    max_i = i + (srclen - i) / 4 * 4;
  }
  if (i < srclen && k < dstlen) slow_group();
  return k;
}

// The room Buffer.from gives the base64 writer: four bytes per unit for a
// short string, else `byteLength` (3/4 of the length less two trailing '=').
inline std::size_t base64_room(const narrowed& s) noexcept {
  const std::size_t len = s.bytes.size();
  if (len < 1024) return 4 * len;  // Buffer.poolSize >>> 1 is 4096 bytes
  std::size_t n = len;
  if (s.last_eq) {
    --n;
    if (n > 1 && s.second_last_eq) --n;
  }
  return n * 3 / 4;
}

// What encode_to appends to.
template <class B>
concept byte_buffer = requires(B& b, std::size_t n) {
  b.resize(n);
  { b.size() } -> std::convertible_to<std::size_t>;
  { b.data() };
} && sizeof(typename B::value_type) == 1 && std::is_trivially_copyable_v<typename B::value_type>;

}  // namespace detail::enc

/// `Buffer.from(text, enc)` appended to `out` (a std::vector<std::byte>,
/// std::string, std::vector<char>, ...): the bytes `socket.write(text, enc)`
/// sends. utf8: the text itself (see the top of this header for text that is
/// not UTF-8); utf16le: little-endian code units; latin1 and ascii: the low
/// byte of each UTF-16 code unit; hex: digit pairs up to the first bad pair;
/// base64 and base64url: Node's lenient decoder, either alphabet.
template <detail::enc::byte_buffer Buffer>
void encode_to(Buffer& out, std::string_view text, encoding enc) {
  namespace d = detail::enc;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size(), old = out.size();
  auto room = [&](std::size_t max) {
    out.resize(old + max);
    return reinterpret_cast<unsigned char*>(out.data()) + old;
  };
  switch (enc) {
    case encoding::utf8: {
      if (d::valid_utf8(p, n)) {
        if (n) std::memcpy(room(n), p, n);
        return;
      }
      unsigned char* w = room(3 * n);
      std::size_t k = 0;
      d::scan_utf8(
          p, n,
          [&](const unsigned char* q, std::size_t len) {
            std::memcpy(w + k, q, len);
            k += len;
          },
          [&] {
            std::memcpy(w + k, d::replacement, 3);
            k += 3;
          });
      out.resize(old + k);
      return;
    }
    case encoding::utf16le: {
      unsigned char* const w = room(2 * n);
      unsigned char* e = w;
      const std::size_t ascii = d::skip_ascii(p, 0, n);
      for (std::size_t i = 0; i < ascii; ++i, e += 2) e[0] = p[i], e[1] = 0;
      d::for_each_unit(p + ascii, n - ascii, [&e](char16_t u) {
        e[0] = static_cast<unsigned char>(u & 0xFF);
        e[1] = static_cast<unsigned char>(u >> 8);
        e += 2;
      });
      out.resize(old + static_cast<std::size_t>(e - w));
      return;
    }
    case encoding::latin1:
    case encoding::ascii: {  // Node writes both the same way
      unsigned char* const w = room(n);
      const std::size_t ascii = d::skip_ascii(p, 0, n);
      if (ascii) std::memcpy(w, p, ascii);
      unsigned char* e = w + ascii;
      d::for_each_unit(p + ascii, n - ascii, [&e](char16_t u) { *e++ = static_cast<unsigned char>(u & 0xFF); });
      out.resize(old + static_cast<std::size_t>(e - w));
      return;
    }
    case encoding::hex: {
      d::narrowed s;
      d::narrow(s, text);
      const auto* q = reinterpret_cast<const unsigned char*>(s.bytes.data());
      out.resize(old + d::hex_decode(room(s.bytes.size() / 2), q, s.bytes.size()));
      return;
    }
    case encoding::base64:
    case encoding::base64url: {  // one decoder for both, as in Node
      // Clean text first: digits of either alphabet and at most two '=' at
      // the end decode straight, to exactly their bytes.
      std::size_t digits = n;
      if (digits >= 2 && p[digits - 1] == '=') digits -= p[digits - 2] == '=' ? 2 : 1;
      const std::size_t groups = digits / 4, rest = digits % 4;
      unsigned char* w = room(3 * groups + (rest < 2 ? 0 : rest - 1));
      if (d::base64_decode_groups(w, p, groups) == groups) {
        const auto& t = d::base64_decode_table;
        const unsigned char* tail = p + 4 * groups;
        const std::uint32_t v = rest == 0   ? 0
                                : rest == 1 ? t[0][tail[0]]
                                : rest == 2 ? t[0][tail[0]] | t[1][tail[1]]
                                            : t[0][tail[0]] | t[1][tail[1]] | t[2][tail[2]];
        if (!(v >> 24)) {
          if (rest >= 2) w[3 * groups] = static_cast<unsigned char>(v);
          if (rest == 3) w[3 * groups + 1] = static_cast<unsigned char>(v >> 8);
          return;
        }
      }
      // Anything else (whitespace, '=' inside, other characters, text that is
      // not ASCII): Node's lenient decoder, from the start.
      d::narrowed s;
      d::narrow(s, text);
      const std::size_t max = d::base64_room(s);
      out.resize(old + d::base64_decode(room(max), max, s));
      return;
    }
  }
}

/// `Buffer.from(text, enc)`: the bytes a JavaScript string becomes.
inline std::vector<std::byte> encode(std::string_view text, encoding enc) {
  std::vector<std::byte> out;
  encode_to(out, text, enc);
  return out;
}

/// Node's `string_decoder.StringDecoder`: turns a byte stream into text piece
/// by piece, holding back the bytes of a character cut at the end of a piece
/// until the next write() or end(). It is what `socket.setEncoding(enc)` runs
/// each "data" chunk through. Holds at most 4 bytes; no allocation beyond the
/// returned text.
///  - utf8: invalid sequences become U+FFFD as V8 counts them (one per maximal
///    invalid subpart); a cut character is held exactly when Node holds it.
///  - utf16le: an odd last byte is held, and a high surrogate ending an
///    even-length piece; a lone surrogate in a piece is U+FFFD (see the top of
///    this header); end() drops an odd last byte.
///  - latin1: byte → U+0000..U+00FF; ascii: byte & 0x7F; hex: lower case.
///  - base64 / base64url: whole 3-byte groups; end() encodes the rest,
///    padded with '=' for base64 and unpadded for base64url.
class string_decoder {
 public:
  /// `new StringDecoder(enc)`.
  explicit string_decoder(encoding enc = encoding::utf8) noexcept : enc_(enc) {}
  /// `new StringDecoder(name)`: throws ERR_UNKNOWN_ENCODING as Node does.
  explicit string_decoder(std::string_view name) : enc_(encoding_from(name)) {}

  /// `decoder.write(buffer)`.
  std::string write(std::span<const std::byte> bytes) {
    std::string out;
    write_to(out, bytes);
    return out;
  }
  /// `decoder.end()`: what is held back, as Node flushes it; the decoder is
  /// then ready for a new stream.
  std::string end() {
    std::string out;
    end_to(out);
    return out;
  }
  /// `decoder.end(buffer)`: write(buffer) then end().
  std::string end(std::span<const std::byte> bytes) {
    std::string out;
    write_to(out, bytes);
    end_to(out);
    return out;
  }

  /// write(), appending to `out` instead of returning a new string.
  void write_to(std::string& out, std::span<const std::byte> bytes);
  /// end(), appending to `out`.
  void end_to(std::string& out);

  /// `decoder.encoding` (its canonical name is to_string(get_encoding())).
  encoding get_encoding() const noexcept { return enc_; }
  /// How many bytes are held back for the next write() or end() (0 to 4).
  std::size_t buffered_bytes() const noexcept { return buffered_; }

 private:
  // Decodes bytes that need no state across calls (one whole part).
  void decode_part(std::string& out, const unsigned char* p, std::size_t n) const {
    namespace d = detail::enc;
    switch (enc_) {
      case encoding::utf8: d::append_utf8(out, p, n); break;
      case encoding::utf16le: {
        d::utf16_to_utf8 w(out);
        w.put_le(p, n);
        w.finish();
        break;
      }
      case encoding::latin1: d::append_latin1(out, p, n); break;
      case encoding::ascii: d::append_ascii(out, p, n); break;
      case encoding::hex: d::append_hex(out, p, n); break;
      case encoding::base64: d::append_base64(out, p, n, false); break;
      case encoding::base64url: d::append_base64(out, p, n, true); break;
    }
  }

  encoding enc_;
  std::uint8_t buffered_ = 0;  // bytes in held_
  std::uint8_t missing_ = 0;   // bytes still needed to complete held_
  std::array<unsigned char, 4> held_{};
};

inline void string_decoder::write_to(std::string& out, std::span<const std::byte> bytes) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  if (enc_ == encoding::latin1 || enc_ == encoding::ascii || enc_ == encoding::hex) {
    decode_part(out, data, n);
    return;
  }
  out.reserve(out.size() + (enc_ == encoding::utf8 ? n : n / 3 * 4 + 4));
  const bool utf16 = enc_ == encoding::utf16le;
  // utf16le: the completed held character and the body are one JavaScript
  // string in Node, so a surrogate pair split between them joins up.
  detail::enc::utf16_to_utf8 units(out);

  // First finish the character held from the last write, if any.
  if (missing_ > 0) {
    if (enc_ == encoding::utf8) {
      // A byte that is no continuation byte ends the held character early
      // (V8 then sees it cut short) and starts the body.
      for (std::size_t i = 0; i < n && i < missing_; ++i) {
        if ((data[i] & 0xC0) != 0x80) {
          missing_ = 0;
          std::memcpy(held_.data() + buffered_, data, i);
          buffered_ = static_cast<std::uint8_t>(buffered_ + i);
          data += i;
          n -= i;
          break;
        }
      }
    }
    const std::size_t found = n < missing_ ? n : missing_;
    if (found) std::memcpy(held_.data() + buffered_, data, found);
    data += found;
    n -= found;
    missing_ = static_cast<std::uint8_t>(missing_ - found);
    buffered_ = static_cast<std::uint8_t>(buffered_ + found);
    if (missing_ == 0) {
      if (utf16)
        units.put_le(held_.data(), buffered_);
      else
        decode_part(out, held_.data(), buffered_);
      buffered_ = 0;
    }
  }

  if (n > 0) {
    // Then hold back the end of this piece if it cuts a character.
    if (enc_ == encoding::utf8) {
      if (data[n - 1] & 0x80) {
        // Walk back to the lead byte of the last character (at most 4 bytes).
        for (std::size_t i = n - 1;; --i) {
          ++buffered_;
          if ((data[i] & 0xC0) == 0x80) {
            if (buffered_ >= 4 || i == 0) {  // no lead byte in reach: V8's problem
              buffered_ = 0;
              break;
            }
          } else {
            std::uint8_t total;
            if ((data[i] & 0xE0) == 0xC0)
              total = 2;
            else if ((data[i] & 0xF0) == 0xE0)
              total = 3;
            else if ((data[i] & 0xF8) == 0xF0)
              total = 4;
            else {  // ASCII or F8-FF: nothing to wait for
              buffered_ = 0;
              break;
            }
            if (buffered_ >= total) {  // complete (or too long): nothing to wait for
              buffered_ = 0;
              total = 0;
            }
            missing_ = static_cast<std::uint8_t>(total - buffered_);
            break;
          }
        }
      }
    } else if (utf16) {
      if (n % 2 == 1) {
        buffered_ = 1;
        missing_ = 1;
      } else if ((data[n - 1] & 0xFC) == 0xD8) {  // a high surrogate, waiting for its pair
        buffered_ = 2;
        missing_ = 2;
      }
    } else {  // base64, base64url: whole groups of 3 bytes only
      buffered_ = static_cast<std::uint8_t>(n % 3);
      if (buffered_ > 0) missing_ = static_cast<std::uint8_t>(3 - buffered_);
    }
    if (buffered_ > 0) {
      n -= buffered_;
      std::memcpy(held_.data(), data + n, buffered_);
    }
    if (utf16)
      units.put_le(data, n);
    else
      decode_part(out, data, n);
  }
  if (utf16) units.finish();
}

inline void string_decoder::end_to(std::string& out) {
  if (enc_ == encoding::utf16le && buffered_ % 2 == 1) {  // a lone last byte is dropped
    --buffered_;
    --missing_;
  }
  if (buffered_ == 0) return;
  decode_part(out, held_.data(), buffered_);
  buffered_ = 0;
  missing_ = 0;
}

NETXX_END_NAMESPACE
