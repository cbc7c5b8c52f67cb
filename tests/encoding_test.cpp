// Node's string encodings (encoding.hpp): names and ERR_UNKNOWN_ENCODING,
// Buffer.from(text, enc) vectors for each encoding, StringDecoder holding
// characters across writes, and properties on random input (pieces of a
// utf8 or base64 stream join up to the whole; hex, base64, latin1 and utf16le
// round-trip). The vectors come from Node v23.5.0; encoding_diff_test checks
// the same against Node itself on a generated corpus.

#include "catch.hpp"

#include <netxx/encoding.hpp>

#include "node.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace net = netxx;
using net::encoding;

// ---- the scalar implementation before the bulk kernels (commit 9cae6db), kept
// verbatim as the reference the fast paths must agree with --------------------
namespace ref {
inline constexpr char replacement[] = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// True when none of the 8 bytes at p has its high bit set.
inline bool ascii8(const unsigned char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return (w & 0x8080808080808080ull) == 0;
}

// Index of the first byte at or after i with its high bit set (or n).
inline std::size_t skip_ascii(const unsigned char* p, std::size_t i, std::size_t n) noexcept {
  while (i + 8 <= n && ascii8(p + i)) i += 8;
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

// One step of the WHATWG UTF-8 decoder (which V8's String::NewFromUtf8
// implements) at a non-ASCII lead byte: the length of the valid sequence at
// p, or, when invalid, the length of its maximal subpart (which becomes one
// U+FFFD; the byte after it is read afresh).
struct utf8_step {
  std::uint8_t len;
  bool valid;
  char32_t cp;
};

inline utf8_step utf8_next(const unsigned char* p, std::size_t n) noexcept {
  const unsigned b = p[0];
  unsigned need, lo = 0x80, hi = 0xBF;
  char32_t cp;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
    cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    cp = b & 0x0F;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;  // no UTF-16 surrogates in UTF-8
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    cp = b & 0x07;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false, 0};  // 80-C1 (stray continuation, overlong lead), F5-FF
  }
  for (unsigned k = 1; k <= need; ++k) {
    if (k >= n) return {static_cast<std::uint8_t>(k), false, 0};  // cut short
    const unsigned c = p[k];
    if (c < lo || c > hi) return {static_cast<std::uint8_t>(k), false, 0};
    cp = (cp << 6) | (c & 0x3F);
    lo = 0x80;
    hi = 0xBF;
  }
  return {static_cast<std::uint8_t>(need + 1), true, cp};
}

// Calls run(p, len) for each valid stretch and bad() for each U+FFFD, in
// order: the string V8 makes of these bytes. Valid input is one run.
template <class Run, class Bad>
void scan_utf8(const unsigned char* p, std::size_t n, Run&& run, Bad&& bad) {
  std::size_t i = 0, start = 0;
  while ((i = skip_ascii(p, i, n)) < n) {
    const utf8_step s = utf8_next(p + i, n - i);
    if (!s.valid) {
      if (i > start) run(p + start, i - start);
      bad();
      start = i + s.len;
    }
    i += s.len;
  }
  if (n > start) run(p + start, n - start);
}

inline bool valid_utf8(const unsigned char* p, std::size_t n) noexcept {
  for (std::size_t i = 0; (i = skip_ascii(p, i, n)) < n;) {
    const utf8_step s = utf8_next(p + i, n - i);
    if (!s.valid) return false;
    i += s.len;
  }
  return true;
}

// Appends the UTF-8 text V8 makes of bytes read as UTF-8.
inline void append_utf8(std::string& out, const unsigned char* p, std::size_t n) {
  scan_utf8(
      p, n, [&](const unsigned char* q, std::size_t len) { out.append(reinterpret_cast<const char*>(q), len); },
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
  constexpr char digits[] = "0123456789abcdef";
  const std::size_t old = out.size();
  out.resize(old + 2 * n);
  char* d = out.data() + old;
  for (std::size_t i = 0; i < n; ++i) {
    d[2 * i] = digits[p[i] >> 4];
    d[2 * i + 1] = digits[p[i] & 15];
  }
}

inline void append_base64(std::string& out, const unsigned char* p, std::size_t n, bool url) {
  const char* abc = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                        : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::size_t full = n / 3 * 3, rest = n - full;
  const std::size_t old = out.size();
  out.resize(old + full / 3 * 4 + (rest == 0 ? 0 : url ? rest + 1 : 4));
  char* d = out.data() + old;
  for (std::size_t i = 0; i < full; i += 3, d += 4) {
    const std::uint32_t v = (std::uint32_t(p[i]) << 16) | (std::uint32_t(p[i + 1]) << 8) | p[i + 2];
    d[0] = abc[v >> 18];
    d[1] = abc[(v >> 12) & 63];
    d[2] = abc[(v >> 6) & 63];
    d[3] = abc[v & 63];
  }
  if (rest) {  // base64 pads to 4 characters with '='; base64url does not pad
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

inline int unhex(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Node's hex writer: pairs of digits (either case) until the first pair that
// is not one; an odd last digit is dropped.
inline std::size_t hex_decode(unsigned char* dst, std::string_view src) noexcept {
  std::size_t i = 0;
  for (; 2 * i + 1 < src.size(); ++i) {
    const int a = unhex(static_cast<unsigned char>(src[2 * i]));
    const int b = unhex(static_cast<unsigned char>(src[2 * i + 1]));
    if (a < 0 || b < 0) break;
    dst[i] = static_cast<unsigned char>(a << 4 | b);
  }
  return i;
}

// Both alphabets; 64 and above is not a digit ('=' and whitespace included).
inline unsigned unbase64(unsigned char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return 255;
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

  // One group read a character at a time; false when decoding stops.
  auto slow_group = [&]() -> bool {
    unsigned hi = 0, lo = 0;
    for (int phase = 0; phase < 4; ++phase) {
      for (;;) {
        const unsigned char c = src[i];
        lo = unbase64(c);
        ++i;
        if (lo < 64) break;
        if (c == '=' || i >= srclen) return false;
      }
      switch (phase) {
        case 1: dst[k++] = static_cast<unsigned char>(((hi & 0x3F) << 2) | ((lo & 0x30) >> 4)); break;
        case 2: dst[k++] = static_cast<unsigned char>(((hi & 0x0F) << 4) | ((lo & 0x3C) >> 2)); break;
        case 3: dst[k++] = static_cast<unsigned char>(((hi & 0x03) << 6) | (lo & 0x3F)); break;
        default: break;
      }
      if (i >= srclen || k >= dstlen) return false;
      hi = lo;
    }
    return true;
  };

  while (i < max_i && k < max_k) {
    const unsigned a = unbase64(src[i]), b = unbase64(src[i + 1]), c = unbase64(src[i + 2]),
                   d = unbase64(src[i + 3]);
    if ((a | b | c | d) >= 64) {
      if (!slow_group()) return k;
      max_i = i + (srclen - i) / 4 * 4;
    } else {
      const std::uint32_t v = a << 18 | b << 12 | c << 6 | d;
      dst[k] = static_cast<unsigned char>(v >> 16);
      dst[k + 1] = static_cast<unsigned char>(v >> 8);
      dst[k + 2] = static_cast<unsigned char>(v);
      i += 4;
      k += 3;
    }
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


std::string encode(std::string_view text, encoding enc) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::string out;
  switch (enc) {
    case encoding::utf8:
      append_utf8(out, p, n);
      return out;
    case encoding::hex: {
      narrowed s;
      narrow(s, text);
      out.resize(s.bytes.size() / 2);
      out.resize(hex_decode(reinterpret_cast<unsigned char*>(out.data()), s.bytes));
      return out;
    }
    case encoding::base64:
    case encoding::base64url: {
      narrowed s;
      narrow(s, text);
      const std::size_t max = base64_room(s);
      out.resize(max);
      out.resize(base64_decode(reinterpret_cast<unsigned char*>(out.data()), max, s));
      return out;
    }
    default:
      throw std::logic_error("ref::encode: not a bulk encoding");
  }
}

std::string decode(std::string_view bytes, encoding enc) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::string out;
  switch (enc) {
    case encoding::utf8: append_utf8(out, p, bytes.size()); break;
    case encoding::hex: append_hex(out, p, bytes.size()); break;
    case encoding::base64: append_base64(out, p, bytes.size(), false); break;
    case encoding::base64url: append_base64(out, p, bytes.size(), true); break;
    default: throw std::logic_error("ref::decode: not a bulk encoding");
  }
  return out;
}

}  // namespace ref

namespace {

std::span<const std::byte> bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string text(const std::vector<std::byte>& v) { return {reinterpret_cast<const char*>(v.data()), v.size()}; }

std::string hex(std::string_view s) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += d[c >> 4], out += d[c & 15];
  return out;
}

std::string enc_hex(std::string_view s, encoding e) { return hex(text(net::encode(s, e))); }

// One decoder run: each write's piece, then end()'s.
std::vector<std::string> decode(encoding e, std::initializer_list<std::string_view> writes) {
  net::string_decoder d(e);
  std::vector<std::string> out;
  for (auto w : writes) out.push_back(d.write(bytes(w)));
  out.push_back(d.end());
  return out;
}

using pieces = std::vector<std::string>;

bool valid_utf8(std::string_view s) {
  // Re-encoding as utf8 keeps valid UTF-8 as it is and changes anything else.
  return text(net::encode(s, encoding::utf8)) == s;
}

}  // namespace

TEST_CASE("encoding names: Node's normalizeEncoding, case-insensitive, with its aliases") {
  CHECK(net::parse_encoding("utf8") == encoding::utf8);
  CHECK(net::parse_encoding("UTF-8") == encoding::utf8);
  CHECK(net::parse_encoding("") == encoding::utf8);  // Node's default for ''
  CHECK(net::parse_encoding("ucs2") == encoding::utf16le);
  CHECK(net::parse_encoding("UCS-2") == encoding::utf16le);
  CHECK(net::parse_encoding("Utf-16LE") == encoding::utf16le);
  CHECK(net::parse_encoding("utf16le") == encoding::utf16le);
  CHECK(net::parse_encoding("binary") == encoding::latin1);
  CHECK(net::parse_encoding("LATIN1") == encoding::latin1);
  CHECK(net::parse_encoding("aScIi") == encoding::ascii);
  CHECK(net::parse_encoding("HEX") == encoding::hex);
  CHECK(net::parse_encoding("Base64") == encoding::base64);
  CHECK(net::parse_encoding("BASE64URL") == encoding::base64url);
  for (std::string_view bad : {"buffer", "utf16", "utf-16", "latin-1", "utf 8", " utf8", "utf8 ", "xyz",
                               "base64url2", "b\xC3\xA9"})
    CHECK_FALSE(net::parse_encoding(bad));
  CHECK_FALSE(net::parse_encoding(std::string_view("utf8\0", 5)));
  static_assert(net::parse_encoding("Latin1") == encoding::latin1);  // usable at compile time

  for (encoding e : {encoding::utf8, encoding::utf16le, encoding::latin1, encoding::ascii, encoding::hex,
                     encoding::base64, encoding::base64url})
    CHECK(net::parse_encoding(net::to_string(e)) == e);
  CHECK(net::to_string(encoding::utf16le) == "utf16le");
  CHECK(net::to_string(encoding::latin1) == "latin1");
  CHECK(net::string_decoder("ucs-2").get_encoding() == encoding::utf16le);
  CHECK(net::string_decoder().get_encoding() == encoding::utf8);
}

TEST_CASE("an unknown encoding is Node's ERR_UNKNOWN_ENCODING: \"Unknown encoding: <name>\"") {
  try {
    net::encoding_from("xyz");
    FAIL("no throw");
  } catch (const net::error& e) {
    CHECK(e.code() == net::errc::err_unknown_encoding);
    CHECK(e.code_string() == "ERR_UNKNOWN_ENCODING");
    CHECK(e.message() == "Unknown encoding: xyz");
    CHECK(std::string_view(e.what()) == "Unknown encoding: xyz");
  }
  CHECK_THROWS_WITH(net::string_decoder("buffer"), "Unknown encoding: buffer");
  CHECK_THROWS_WITH(net::encoding_from("x\xC3\xA9"), "Unknown encoding: x\xC3\xA9");
  CHECK(net::encoding_from("Binary") == encoding::latin1);
}

TEST_CASE("encode: Buffer.from(text, enc) for the text encodings") {
  const std::string s = "h\xC3\xA9 \xE2\x82\xAC\xF0\x9F\x98\x80";  // "hé €😀"
  CHECK(enc_hex(s, encoding::utf8) == "68c3a920e282acf09f9880");
  CHECK(enc_hex(s, encoding::utf16le) == "6800e9002000ac203dd800de");
  // The low byte of each UTF-16 code unit: U+20AC -> ac, U+1F600 (d83d de00) -> 3d 00.
  CHECK(enc_hex(s, encoding::latin1) == "68e920ac3d00");
  CHECK(enc_hex(s, encoding::ascii) == "68e920ac3d00");
  CHECK(net::encode("", encoding::utf8).empty());
  CHECK(net::encode("", encoding::base64).empty());
}

TEST_CASE("encode: text that is not UTF-8 is read as Node reads such bytes, one U+FFFD per bad subsequence") {
  CHECK(enc_hex("a\x80z", encoding::utf8) == "61efbfbd7a");
  CHECK(enc_hex("\xF0\x9F\x98", encoding::utf8) == "efbfbd");           // cut 4-byte sequence: one
  CHECK(enc_hex("\xED\xA0\x80", encoding::utf8) == "efbfbdefbfbdefbfbd");  // a surrogate: three
  CHECK(enc_hex("\xC0\xAF", encoding::utf8) == "efbfbdefbfbd");          // overlong
  CHECK(enc_hex("\x80", encoding::utf16le) == "fdff");
  CHECK(enc_hex("\x80", encoding::latin1) == "fd");
}

TEST_CASE("encode: hex stops at the first bad pair and drops an odd last digit") {
  CHECK(enc_hex("00ff7F80", encoding::hex) == "00ff7f80");
  CHECK(enc_hex("ABCDEF", encoding::hex) == "abcdef");
  CHECK(enc_hex("abc", encoding::hex) == "ab");
  CHECK(enc_hex("12zz34", encoding::hex) == "12");
  CHECK(enc_hex("zz12", encoding::hex) == "");
  CHECK(enc_hex("1 2", encoding::hex) == "");
  // Node's hex writer narrows each UTF-16 unit to its low byte: U+0161 reads as 'a'.
  CHECK(enc_hex("\xC5\xA1\xC5\xA1", encoding::hex) == "aa");
}

TEST_CASE("encode: base64 and base64url are Node's lenient decoder") {
  CHECK(text(net::encode("SGVsbG8sIHdvcmxkIQ==", encoding::base64)) == "Hello, world!");
  CHECK(text(net::encode("SGVsbG8sIHdvcmxkIQ", encoding::base64)) == "Hello, world!");  // padding optional
  // Either alphabet under either name.
  CHECK(enc_hex("8J-YgA", encoding::base64) == "f09f9880");
  CHECK(enc_hex("8J+YgA==", encoding::base64url) == "f09f9880");
  CHECK(enc_hex("-_+/", encoding::base64) == "fbffbf");
  // Whitespace and other non-digits are skipped; the first '=' ends the data.
  CHECK(enc_hex("Q Q\nQ=", encoding::base64) == "4104");
  CHECK(enc_hex("QU\tJD\r\nRA==", encoding::base64) == "41424344");
  CHECK(enc_hex("QQ==QQ", encoding::base64) == "41");
  CHECK(enc_hex("QQ=Q", encoding::base64) == "41");
  CHECK(enc_hex("=QUJD", encoding::base64) == "");
  CHECK(enc_hex("Q", encoding::base64) == "");  // one digit is no byte
  CHECK(enc_hex("QR==", encoding::base64) == "41");  // stray low bits ignored
  // Narrowed units: U+0151 reads as 'Q', U+013D as '='.
  CHECK(enc_hex("\xC5\x91QQQ", encoding::base64) == "410410");
  CHECK(enc_hex("Q\xC4\xBDQQ", encoding::base64) == "");
  CHECK(enc_hex("QQQ\xC4\xBD", encoding::base64) == "4104");
  // Long text (Buffer.from sizes the buffer from byteLength past 1024 units).
  std::string long_b64;
  for (int i = 0; i < 400; ++i) long_b64 += "QUJD";
  CHECK(net::encode(long_b64 + "RA==", encoding::base64).size() == 1201);
}

TEST_CASE("encode_to appends to an existing buffer of any byte type") {
  std::vector<std::byte> v = {std::byte{1}};
  net::encode_to(v, "ff", encoding::hex);
  net::encode_to(v, "QQ==", encoding::base64);
  REQUIRE(v.size() == 3);
  CHECK(v[0] == std::byte{1});
  CHECK(v[1] == std::byte{0xff});
  CHECK(v[2] == std::byte{0x41});
  std::string s = "x";
  net::encode_to(s, "\xC3\xA9", encoding::latin1);
  net::encode_to(s, "\x80", encoding::utf8);
  CHECK(s == "x\xE9\xEF\xBF\xBD");
  std::vector<unsigned char> u;
  net::encode_to(u, "A", encoding::utf16le);
  CHECK(u == std::vector<unsigned char>{0x41, 0x00});
}

TEST_CASE("string_decoder utf8 holds a cut character until the rest arrives") {
  // The doc's example: € (E2 82 AC) in three writes.
  net::string_decoder d;
  CHECK(d.write(bytes("\xE2")).empty());
  CHECK(d.buffered_bytes() == 1);
  CHECK(d.write(bytes("\x82")).empty());
  CHECK(d.end(bytes("\xAC")) == "\xE2\x82\xAC");
  CHECK(d.buffered_bytes() == 0);

  CHECK(decode(encoding::utf8, {"a\xF0\x9F", "\x98", "\x80"
                                                     "b"}) == pieces{"a", "", "\xF0\x9F\x98\x80" "b", ""});
  // Cut, then ended: the held bytes are one U+FFFD, as V8 reads them.
  CHECK(decode(encoding::utf8, {"\xF0\x9F"}) == pieces{"", "\xEF\xBF\xBD"});
  // Cut, then a byte that is no continuation: U+FFFD, then that byte.
  CHECK(decode(encoding::utf8, {"\xE2", "A\x82"}) == pieces{"", "\xEF\xBF\xBD" "A\xEF\xBF\xBD", ""});
  // Held even when the lead byte cannot start a valid sequence with what follows (as Node does).
  CHECK(decode(encoding::utf8, {"\xF0\x80\x80"}) == pieces{"", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"});
  // Nothing is held for bytes no lead byte claims.
  CHECK(decode(encoding::utf8, {"\x80\x80"}) == pieces{"\xEF\xBF\xBD\xEF\xBF\xBD", ""});
}

TEST_CASE("string_decoder utf8: invalid input becomes U+FFFD as V8 counts it") {
  CHECK(decode(encoding::utf8, {"\xC3\x28\xA0\xA1\xE2\x28\xA1"}) ==
        pieces{"\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD", ""});
  CHECK(decode(encoding::utf8, {"\xF0\x90" "A"}) == pieces{"\xEF\xBF\xBD" "A", ""});  // one for the subpart
  CHECK(decode(encoding::utf8, {"\xED\xA0\x80"}) == pieces{"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", ""});
  CHECK(decode(encoding::utf8, {"\xF4\x90\x80\x80"}) ==  // above U+10FFFF
        pieces{"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", ""});
  // Valid text comes through unchanged (the fast path).
  const std::string ok = "plain ascii, then h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 and more ascii text";
  CHECK(decode(encoding::utf8, {ok}) == pieces{ok, ""});
}

TEST_CASE("string_decoder utf16le: odd bytes and split surrogate pairs are held") {
  CHECK(decode(encoding::utf16le, {"A", std::string_view("\0B\0", 3)}) == pieces{"", "AB", ""});
  // U+1F600 = D83D DE00, cut after the high surrogate: held, then joined.
  CHECK(decode(encoding::utf16le, {"\x3D\xD8", std::string_view("\x00\xDE", 2)}) ==
        pieces{"", "\xF0\x9F\x98\x80", ""});
  // Held across three writes.
  CHECK(decode(encoding::utf16le, {"\x3D\xD8", std::string_view("\0", 1), "\xDE"}) ==
        pieces{"", "", "\xF0\x9F\x98\x80", ""});
  // But a high surrogate completed from a held odd byte is not held again
  // (Node's rule): it goes out alone, as does its low half later.
  CHECK(decode(encoding::utf16le, {"\x3D", "\xD8", std::string_view("\x00\xDE", 2)}) ==
        pieces{"", "\xEF\xBF\xBD", "\xEF\xBF\xBD", ""});
  // Ended on a high surrogate: it is lone, so U+FFFD; an odd last byte is dropped.
  CHECK(decode(encoding::utf16le, {"\x3D\xD8"}) == pieces{"", "\xEF\xBF\xBD"});
  CHECK(decode(encoding::utf16le, {std::string_view("A\0B", 3)}) == pieces{"A", ""});
  // An odd cut inside the pair: Node emits each half as a lone surrogate in
  // its own piece (its string concatenation would rejoin them); as UTF-8 each
  // is U+FFFD, what Node sends when writing such a piece as utf8.
  CHECK(decode(encoding::utf16le, {std::string_view("\x3D\xD8\x00", 3), "\xDE"}) ==
        pieces{"\xEF\xBF\xBD", "\xEF\xBF\xBD", ""});
  // Lone surrogates inside one piece.
  CHECK(decode(encoding::utf16le, {std::string_view("\x00\xD8" "A\x00\x00\xDC", 6)}) ==
        pieces{"\xEF\xBF\xBD" "A\xEF\xBF\xBD", ""});
  CHECK(decode(encoding::utf16le, {"\xFB\xFF\xBF\x01"}) == pieces{"\xEF\xBF\xBB\xC6\xBF", ""});
}

TEST_CASE("string_decoder latin1, ascii and hex need no state") {
  const std::string_view b = "\xFB\xFF\xBF\x01";
  CHECK(decode(encoding::latin1, {b}) == pieces{"\xC3\xBB\xC3\xBF\xC2\xBF\x01", ""});
  // Node's ascii decoding clears the high bit.
  CHECK(decode(encoding::ascii, {b}) == pieces{"{\x7F?\x01", ""});
  CHECK(decode(encoding::ascii, {"\xC1"}) == pieces{"A", ""});
  CHECK(decode(encoding::hex, {b, ""}) == pieces{"fbffbf01", "", ""});
}

TEST_CASE("string_decoder base64 and base64url: whole groups of 3 bytes; end() pads base64 only") {
  const std::string_view b = "\xFB\xFF\xBF\x01";
  CHECK(decode(encoding::base64, {b}) == pieces{"+/+/", "AQ=="});
  CHECK(decode(encoding::base64url, {b}) == pieces{"-_-_", "AQ"});
  CHECK(decode(encoding::base64, {"\x01"}) == pieces{"", "AQ=="});
  CHECK(decode(encoding::base64, {"\x01\x02", "\x03\x04"}) == pieces{"", "AQID", "BA=="});
  CHECK(decode(encoding::base64url, {"\x01", "\x02", "\x03\x04\x05\x06"}) == pieces{"", "", "AQIDBAUG", ""});
}

TEST_CASE("string_decoder: write_to and end_to append; the decoder is reusable after end()") {
  net::string_decoder d(encoding::utf8);
  std::string out = ">";
  d.write_to(out, bytes("a\xC3"));
  CHECK(out == ">a");
  d.write_to(out, bytes("\xA9"));
  d.end_to(out);
  CHECK(out == ">a\xC3\xA9");
  CHECK(d.write(bytes("\xE2\x82")).empty());
  CHECK(d.end() == "\xEF\xBF\xBD");
  CHECK(d.write(bytes("ok")) == "ok");  // a fresh stream
  CHECK(d.end().empty());
}

TEST_CASE("string_decoder properties on random streams cut at random places") {
  std::mt19937 gen(12345);
  auto random_bytes = [&](std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
      // Bias towards bytes that make UTF-8 and UTF-16 interesting.
      static constexpr unsigned char pool[] = {'a', 0x00, 0x7F, 0x80, 0xBF, 0xC2, 0xC3, 0xE2, 0xED,
                                               0xF0, 0xF4, 0x9F, 0xD8, 0xDC, 0xFF, 0x3D};
      s += static_cast<char>(gen() % 3 ? pool[gen() % sizeof pool] : gen() & 0xFF);
    }
    return s;
  };
  for (int round = 0; round < 400; ++round) {
    const std::string s = random_bytes(gen() % 40);
    std::vector<std::size_t> cuts = {0, s.size()};
    for (int k = 0; k < 3; ++k) cuts.push_back(s.empty() ? 0 : gen() % s.size());
    std::sort(cuts.begin(), cuts.end());
    for (encoding e : {encoding::utf8, encoding::utf16le, encoding::latin1, encoding::ascii, encoding::hex,
                       encoding::base64, encoding::base64url}) {
      net::string_decoder whole(e), parts(e);
      const std::string one = whole.end(bytes(s));
      std::string joined;
      for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
        const std::string piece = parts.write(bytes(std::string_view(s).substr(cuts[k], cuts[k + 1] - cuts[k])));
        CHECK(valid_utf8(piece));
        joined += piece;
      }
      joined += parts.end();
      CHECK(valid_utf8(joined));
      INFO("encoding " << net::to_string(e) << ", bytes " << hex(s));
      if (e != encoding::utf16le) CHECK(joined == one);  // utf16le: a pair cut at an odd place is two U+FFFD
      // The text encodes back to the bytes where the encoding is lossless.
      if (e == encoding::hex || e == encoding::base64 || e == encoding::base64url || e == encoding::latin1)
        CHECK(text(net::encode(one, e)) == s);
      if (e == encoding::utf8 && valid_utf8(s)) CHECK(one == s);
    }
  }
}

// ---- the bulk kernels (AVX2 where the CPU has it, else tables) ----------------
// Each test runs with the scalar kernels forced, then, where the CPU has
// AVX2, with the AVX2 kernels; every answer must be the reference's.

namespace {

// The kernel sets to try: scalar always, AVX2 when this CPU has it.
std::vector<bool> kernel_sets() {
  net::detail::force_scalar_encodings(false);
  std::vector<bool> sets = {true};
  if (net::detail::avx2_encodings()) sets.push_back(false);
  return sets;
}

struct forced_kernels {
  explicit forced_kernels(bool scalar) { net::detail::force_scalar_encodings(scalar); }
  ~forced_kernels() { net::detail::force_scalar_encodings(false); }
  forced_kernels(const forced_kernels&) = delete;
  forced_kernels& operator=(const forced_kernels&) = delete;
};

const char* kernel_name(bool scalar) { return scalar ? "scalar" : "avx2"; }

std::string mine_decode(std::string_view b, encoding e) {
  namespace d = net::detail::enc;
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  std::string out;
  switch (e) {
    case encoding::utf8: d::append_utf8(out, p, b.size()); break;
    case encoding::hex: d::append_hex(out, p, b.size()); break;
    case encoding::base64: d::append_base64(out, p, b.size(), false); break;
    case encoding::base64url: d::append_base64(out, p, b.size(), true); break;
    default: break;
  }
  return out;
}

// `s` copied to `offset` bytes past a 64-byte boundary, as a view.
struct placed {
  std::vector<char> storage;
  std::string_view view;
  placed(std::string_view s, std::size_t offset) : storage(s.size() + offset + 64) {
    auto addr = reinterpret_cast<std::uintptr_t>(storage.data());
    char* at = storage.data() + ((64 - addr % 64) % 64) + offset;
    std::copy(s.begin(), s.end(), at);
    view = std::string_view(at, s.size());
  }
};

constexpr std::string_view base64_digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_";

std::string random_base64(std::mt19937& gen, std::size_t n) {
  std::string s(n, 'A');
  for (auto& c : s) c = base64_digits[gen() % base64_digits.size()];
  return s;
}

std::string random_hex(std::mt19937& gen, std::size_t n) {
  static constexpr std::string_view digits = "0123456789abcdefABCDEF";
  std::string s(n, '0');
  for (auto& c : s) c = digits[gen() % digits.size()];
  return s;
}

std::string random_bytes(std::mt19937& gen, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xFF);
  return s;
}

void put_utf8(std::string& s, char32_t cp) {
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | cp >> 6), s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | cp >> 12), s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | cp >> 18), s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), s += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Valid UTF-8 of about n bytes: runs of ASCII, 2-, 3- and 4-byte characters
// and the edges of each range.
std::string random_utf8(std::mt19937& gen, std::size_t n) {
  static constexpr char32_t edges[] = {0x00,   0x7F,   0x80,   0x7FF,   0x800,   0xD7FF,  0xE000,
                                       0xFFFD, 0xFFFF, 0x10000, 0x1F600, 0xFFFFF, 0x10FFFF};
  std::string s;
  while (s.size() < n) {
    const unsigned kind = gen() % 6;
    const std::size_t run = 1 + gen() % 40;
    for (std::size_t k = 0; k < run && s.size() < n; ++k) {
      char32_t cp;
      switch (kind) {
        case 0: case 1: cp = 0x20 + gen() % 0x5F; break;
        case 2: cp = 0x80 + gen() % 0x780; break;
        case 3: cp = 0x800 + gen() % 0xF800; if (cp >= 0xD800 && cp < 0xE000) cp += 0x800; break;
        case 4: cp = 0x10000 + gen() % 0x100000; break;
        default: cp = edges[gen() % std::size(edges)]; break;
      }
      put_utf8(s, cp);
    }
  }
  return s;
}

}  // namespace

TEST_CASE("base64 decoding (Buffer.from): the bulk kernels agree with the reference, every length, alignment and bad character") {
  std::mt19937 gen(2024);
  static constexpr std::string_view bad[] = {" ", "\n", "\r\n", "=", "==", "*", ".", "\x80", "\xFF",
                                             "\xC5\x91" /* U+0151: 'Q' */, "\xC4\xBD" /* U+013D: '=' */,
                                             "\xC3\xA9", "\0", "\x7F", "@", "[", "`", "{", ":", ","};
  for (bool scalar : kernel_sets()) {
    forced_kernels k(scalar);
    INFO("kernels " << kernel_name(scalar));
    std::size_t checked = 0, mismatches = 0;
    auto check = [&](std::string_view s) {
      for (encoding e : {encoding::base64, encoding::base64url}) {
        ++checked;
        const std::string want = ref::encode(s, e), got = text(net::encode(s, e));
        if (got != want && ++mismatches <= 10) FAIL_CHECK("text " << hex(s) << "\n want " << hex(want) << "\n got  " << hex(got));
      }
    };
    for (std::size_t len = 0; len <= 200; ++len) {
      const std::string digits = random_base64(gen, len);
      for (std::string_view pad : {"", "=", "==", "==="})
        for (std::size_t offset = 0; offset < 32; ++offset) check(placed(digits + std::string(pad), offset).view);
      for (std::size_t at = 0; at <= len; ++at)  // one character that is no digit, at each place
        for (int t = 0; t < 2; ++t) {
          std::string s = digits;
          s.insert(at, bad[gen() % std::size(bad)]);
          check(placed(s, gen() % 32).view);
          s = digits;
          if (at < len) s.replace(at, 1, bad[gen() % std::size(bad)]);
          check(s);
        }
    }
    // Long text: past 1024 units Buffer.from sizes its buffer from byteLength;
    // MIME line breaks; a few bad characters anywhere.
    for (std::size_t len : {1020u, 1021u, 1022u, 1023u, 1024u, 1025u, 1026u, 1027u, 1028u, 1365u, 1366u, 4095u, 4096u,
                            4097u, 4098u, 65536u}) {
      const std::string digits = random_base64(gen, len);
      check(digits);
      check(digits + "=");
      check(digits + "==");
      std::string mime;
      for (std::size_t i = 0; i < len; i += 76) mime += digits.substr(i, 76) + "\r\n";
      check(mime);
      for (int t = 0; t < 20; ++t) {
        std::string s = digits;
        for (int m = 0, count = 1 + static_cast<int>(gen() % 3); m < count; ++m) s.insert(gen() % (s.size() + 1), bad[gen() % std::size(bad)]);
        check(s);
      }
    }
    for (int t = 0; t < 500; ++t) check(random_bytes(gen, gen() % 300));
    INFO(checked << " texts checked");
    CHECK(mismatches == 0);
  }
}

TEST_CASE("hex decoding (Buffer.from): the bulk kernels stop at the first bad pair as the reference does") {
  std::mt19937 gen(7);
  static constexpr std::string_view bad[] = {"g", "G", " ", "\x80", ":", "@", "`", "/", "\xC5\xA1" /* U+0161: 'a' */, "\xFF", "\0", "x"};
  for (bool scalar : kernel_sets()) {
    forced_kernels k(scalar);
    INFO("kernels " << kernel_name(scalar));
    std::size_t mismatches = 0;
    auto check = [&](std::string_view s) {
      const std::string want = ref::encode(s, encoding::hex), got = text(net::encode(s, encoding::hex));
      if (got != want && ++mismatches <= 10) FAIL_CHECK("text " << s << "\n want " << hex(want) << "\n got  " << hex(got));
    };
    for (std::size_t len = 0; len <= 200; ++len) {
      const std::string digits = random_hex(gen, len);
      for (std::size_t offset = 0; offset < 32; ++offset) check(placed(digits, offset).view);
      for (std::size_t at = 0; at < len; ++at) {
        std::string s = digits;
        s.replace(at, 1, bad[gen() % std::size(bad)]);
        check(placed(s, gen() % 32).view);
      }
    }
    for (std::size_t len : {4096u, 4097u, 65536u}) {
      const std::string digits = random_hex(gen, len);
      check(digits);
      std::string s = digits;
      s[len - 7] = 'z';
      check(s);
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("base64, base64url and hex encoding (toString, StringDecoder): the bulk kernels agree with the reference") {
  std::mt19937 gen(99);
  for (bool scalar : kernel_sets()) {
    forced_kernels k(scalar);
    INFO("kernels " << kernel_name(scalar));
    std::size_t mismatches = 0;
    for (std::size_t len = 0; len <= 200; ++len) {
      const std::string b = random_bytes(gen, len);
      for (std::size_t offset = 0; offset < 32; ++offset) {
        const placed at(b, offset);
        for (encoding e : {encoding::base64, encoding::base64url, encoding::hex}) {
          const std::string want = ref::decode(at.view, e);
          if (mine_decode(at.view, e) != want && ++mismatches <= 10) FAIL_CHECK(net::to_string(e) << " of " << hex(b));
          if (net::string_decoder(e).end(bytes(at.view)) != want && ++mismatches <= 10)
            FAIL_CHECK("string_decoder " << net::to_string(e) << " of " << hex(b));
        }
      }
    }
    const std::string big = random_bytes(gen, 1 << 20);
    for (encoding e : {encoding::base64, encoding::base64url, encoding::hex})
      CHECK(mine_decode(big, e) == ref::decode(big, e));
    CHECK(mismatches == 0);
  }
}

TEST_CASE("UTF-8 validation and decoding: the bulk kernels agree with the reference on valid, cut and broken text") {
  std::mt19937 gen(31337);
  static constexpr unsigned char probes[] = {0x00, 'a', 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2,
                                             0xDF, 0xE0, 0xED, 0xEE, 0xEF, 0xF0, 0xF3, 0xF4, 0xF5, 0xF8, 0xFE, 0xFF};
  static constexpr std::string_view broken[] = {
      "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xE0\x9F\xBF", "\xF0\x80\x80\xAF", "\xF0\x8F\xBF\xBF",  // overlong
      "\xED\xA0\x80", "\xED\xBF\xBF", "\xED\xA0\x80\xED\xB0\x80",                                        // surrogates
      "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xF7\xBF\xBF\xBF", "\xF8\x88\x80\x80\x80", "\xFF",         // > U+10FFFF
      "\x80", "\xBF\xBF", "\xC2", "\xE2\x82", "\xF0\x9F\x98", "\xE2\x41", "\xF0\x9F\x41",                // stray, cut
  };
  for (bool scalar : kernel_sets()) {
    forced_kernels k(scalar);
    INFO("kernels " << kernel_name(scalar));
    std::size_t checked = 0, mismatches = 0;
    auto check = [&](std::string_view s) {
      ++checked;
      const auto* p = reinterpret_cast<const unsigned char*>(s.data());
      const std::string want = ref::decode(s, encoding::utf8);
      const bool ok = mine_decode(s, encoding::utf8) == want && text(net::encode(s, encoding::utf8)) == want &&
                      net::detail::enc::valid_utf8(p, s.size()) == ref::valid_utf8(p, s.size()) &&
                      net::string_decoder().end(bytes(s)) == net::string_decoder().end(bytes(want));
      if (!ok && ++mismatches <= 10) FAIL_CHECK("bytes " << hex(s) << "\n want " << hex(want));
    };
    for (std::size_t len = 0; len <= 200; ++len) {
      const std::string s = random_utf8(gen, len);
      for (std::size_t offset = 0; offset < 32; ++offset) check(placed(s, offset).view);
      for (std::size_t cut = 0; cut < s.size(); ++cut) check(std::string_view(s).substr(0, cut));  // cut anywhere
      for (std::size_t at = 0; at < s.size(); ++at) {                                              // one byte changed
        std::string m = s;
        m[at] = static_cast<char>(probes[gen() % std::size(probes)]);
        check(placed(m, gen() % 32).view);
      }
    }
    // Each broken sequence at every offset around the 32-byte blocks, in
    // ASCII and in multi-byte text, alone and followed by valid text.
    const std::string ascii(80, 'x'), multi = random_utf8(gen, 100);
    for (std::string_view b : broken)
      for (std::size_t at = 0; at <= 70; ++at) {
        check(ascii.substr(0, at) + std::string(b));
        check(ascii.substr(0, at) + std::string(b) + ascii);
        std::string m = multi.substr(0, at);
        while (!m.empty() && (static_cast<unsigned char>(m.back()) & 0xC0) == 0x80) m.pop_back();
        if (!m.empty() && static_cast<unsigned char>(m.back()) >= 0xC0) m.pop_back();
        check(m + std::string(b) + multi);
      }
    for (int t = 0; t < 2000; ++t) check(random_bytes(gen, gen() % 300));
    const std::string big = random_utf8(gen, 1 << 20);
    check(big);
    std::string sparse = big;
    for (std::size_t i = 517; i < sparse.size(); i += 1024) sparse[i] = '\xFF';
    check(sparse);
    // A stream cut at every place, in 1 to 3 pieces: the pieces join to the whole.
    const std::string s = random_utf8(gen, 120) + "\xF0\x9F\x98\x80\xC3" + random_utf8(gen, 60);
    const std::string whole = net::string_decoder().end(bytes(s));
    for (std::size_t i = 0; i <= s.size(); ++i)
      for (std::size_t j = i; j <= s.size(); j += 7) {
        net::string_decoder d;
        std::string joined = d.write(bytes(std::string_view(s).substr(0, i)));
        joined += d.write(bytes(std::string_view(s).substr(i, j - i)));
        joined += d.end(bytes(std::string_view(s).substr(j)));
        if (joined != whole && ++mismatches <= 10) FAIL_CHECK("cut at " << i << " and " << j);
      }
    INFO(checked << " buffers checked");
    CHECK(mismatches == 0);
  }
}

// Node itself on a few thousand random inputs for the bulk encodings, with
// each kernel set: Buffer.from(text, enc) and buf.toString(enc).
TEST_CASE("the bulk kernels give Node v23.5.0's answers on random text") {
  const std::string node = netxx_test::node_binary();
  if (node.empty()) NETXX_SKIP(netxx_test::node_unavailable());
  std::mt19937 gen(555);
  static constexpr std::string_view noise[] = {" ", "\n", "=", "*", "\x80", "\xC5\x91", "\xC4\xBD", "g", "\xE2\x82\xAC", "-", "_"};
  auto sized = [&] { return gen() % 4 == 0 ? gen() % 5000 : gen() % 130; };
  auto mess = [&](std::string s, unsigned odds) {
    if (gen() % odds == 0)
      for (int m = 0, count = 1 + static_cast<int>(gen() % 3); m < count; ++m)
        s.insert(gen() % (s.size() + 1), noise[gen() % std::size(noise)]);
    return s;
  };
  struct item {
    bool from;  // Buffer.from(text, enc); else buf.toString(enc)
    encoding enc;
    std::string input;
  };
  std::vector<item> items;
  for (int t = 0; t < 1200; ++t) {
    std::string s = random_base64(gen, sized());
    if (gen() % 3 == 0) s += gen() % 2 ? "=" : "==";
    items.push_back({true, gen() % 2 ? encoding::base64 : encoding::base64url, mess(s, 2)});
  }
  for (int t = 0; t < 500; ++t) items.push_back({true, encoding::hex, mess(random_hex(gen, sized()), 3)});
  for (int t = 0; t < 1000; ++t) {
    std::string s = random_utf8(gen, sized());
    if (gen() % 2 && !s.empty())
      for (int m = 0, count = 1 + static_cast<int>(gen() % 3); m < count; ++m) s[gen() % s.size()] = static_cast<char>(gen() & 0xFF);
    items.push_back({gen() % 4 == 0, encoding::utf8, s});
  }
  for (int t = 0; t < 600; ++t) {
    static constexpr encoding e[] = {encoding::base64, encoding::base64url, encoding::hex};
    items.push_back({false, e[t % 3], random_bytes(gen, sized())});
  }

  const std::string dir = netxx_test::temp_path("bulk-diff");
  const std::string cases = dir + ".cases", script = dir + ".js";
  {
    std::ofstream f(cases, std::ios::binary);
    for (const auto& it : items) f << (it.from ? "from " : "to ") << net::to_string(it.enc) << ' ' << hex(it.input) << '\n';
    std::ofstream(script, std::ios::binary) << R"js('use strict';
const lines = require('node:fs').readFileSync(process.argv[2], 'latin1').split('\n');
lines.pop();
const out = [];
for (const line of lines) {
  const [op, enc, h] = line.split(' ');
  const b = Buffer.from(h || '', 'hex');
  out.push(op === 'from' ? Buffer.from(b.toString('utf8'), enc).toString('hex')
                         : Buffer.from(b.toString(enc), 'utf8').toString('hex'));
}
process.stdout.write(out.join('\n') + '\n');
)js";
  }
  const auto r = netxx_test::run_program({node, script, cases}, 120'000, false);
  std::remove(cases.c_str());
  std::remove(script.c_str());
  REQUIRE(r.ok());
  std::vector<std::string> theirs;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) theirs.push_back(line);
  REQUIRE(theirs.size() == items.size());
  for (bool scalar : kernel_sets()) {
    forced_kernels k(scalar);
    INFO("kernels " << kernel_name(scalar));
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto& it = items[i];
      const std::string mine = it.from ? hex(text(net::encode(it.input, it.enc))) : hex(mine_decode(it.input, it.enc));
      if (mine != theirs[i] && ++mismatches <= 10)
        FAIL_CHECK((it.from ? "Buffer.from(" : "toString(") << net::to_string(it.enc) << ") of " << hex(it.input).substr(0, 400)
                   << "\n node  " << theirs[i].substr(0, 400) << "\n netxx " << mine.substr(0, 400));
    }
    INFO(items.size() << " inputs");
    CHECK(mismatches == 0);
  }
}
