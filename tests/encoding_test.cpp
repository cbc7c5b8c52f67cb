// Node's string encodings (encoding.hpp): names and ERR_UNKNOWN_ENCODING,
// Buffer.from(text, enc) vectors for each encoding, StringDecoder holding
// characters across writes, and properties on random input (pieces of a
// utf8 or base64 stream join up to the whole; hex, base64, latin1 and utf16le
// round-trip). The vectors come from Node v23.5.0; encoding_diff_test checks
// the same against Node itself on a generated corpus.

#include "catch.hpp"

#include <netxx/encoding.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace net = netxx;
using net::encoding;

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
