// Host names to ASCII (detail/idna.hpp) as Node v23.5.0's dns.lookup does it:
// ada 2.9.2's ada::idna::to_ascii, cut at NUL, then libuv's checks.
//
// The differential case runs Node once over a generated corpus (a fixed seed:
// mixed scripts, upper case, compatibility and full-width forms, ligatures,
// NFD sequences, joiners, bidi labels, "xn--" labels good and bad, empty
// labels, trailing dots, long labels, emoji, disallowed and ignored code
// points, invalid UTF-8) and compares every answer. The oracle is the function
// dns.lookup calls, ada::idna::to_ascii, which Node exposes as
// internalBinding('encoding_binding').toASCII (node --expose-internals).
// url.domainToASCII is not it: that is the URL host parser (percent-decoding,
// forbidden code points, IPv4 numbers: "a b", "x:80", "1.2.3" and "a%41b"
// differ), so it is only counted here, not compared.
//
// NETXX_NODE23: the Node binary (skipped, exit 77, without it).
// NETXX_DIFF_SEED: another corpus. NETXX_DIFF_KEEP=1: keep the corpus and answers.

#include "catch.hpp"

#include <netxx/detail/idna.hpp>

#include "node.hpp"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace net = netxx;
using net::detail::hostname_to_ascii;
using net::detail::idna_to_ascii;

namespace {

using netxx_test::env;

std::string hex(std::string_view s) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += d[c >> 4], out += d[c & 15];
  return out;
}

std::string unhex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  return out;
}

std::string cut_at_nul(std::string s) {
  if (auto p = s.find('\0'); p != std::string::npos) s.resize(p);
  return s;
}

struct splitmix {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

// Pieces of labels, each chosen for a rule of UTS #46 or of ada's checks.
const std::vector<std::string> fragments = {
    // ASCII, upper case, hyphens, underscores, digits, ASCII a URL would refuse
    "example", "TEST", "Www", "a-b", "-lead", "trail-", "ab--cd", "_srv", "123", "0x7f", "a b", "a%41", "x:80",
    // Latin, Greek, Cyrillic, deviations and their capitals
    "b\u00fccher", "B\u00dcCHER", "caf\u00e9", "CAF\u00c9", "stra\u00dfe", "\u1e9e", "\u03c2", "\u03a3", "\u03c3",
    "\u03b5\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac", "\u043f\u0440\u0438\u043c\u0435\u0440",
    "\u041f\u0420\u0418\u041c\u0415\u0420", "\u0130stanbul", "\u0131", "\u01c5",
    // NFD and canonical ordering, Hangul jamo and syllables
    "cafe\u0301", "u\u0308", "A\u030a", "a\u0323\u0302", "a\u0302\u0323", "e\u0301\u0327", "\u1100\u1161\u11a8",
    "\u1100\u1161", "\ud55c\uad6d\uc5b4", "\uac00\u11a8", "\u0b47\u0b3e", "o\u031b\u0301",
    // compatibility forms, ligatures, full-width, the other full stops
    "\ufb01", "\ufb00", "\u216b", "\u2460", "\u338f", "\u2122", "\u00bd", "\uff21\uff22\uff23",
    "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45", "\uff11\uff12\uff13", "\u3002", "\uff0e", "\uff61",
    // scripts
    "\u4e2d\u6587", "\u3072\u3089\u304c\u306a", "\u30ab\u30bf\u30ab\u30ca", "\uff76\uff80\uff76\uff85",
    "\u0939\u093f\u0928\u094d\u0926\u0940", "\u0e44\u0e17\u0e22", "\u10d0\u10d1",
};
// These make most names they are in refused: drawn one time in four.
const std::vector<std::string> tricky = {
    // joiners: after a virama, in Arabic joining context, bare
    "\u0915\u094d\u200d\u0937", "\u0915\u094d\u200c\u0937", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
    "\u0628\u200c\u0628", "\u200c", "\u200d", "a\u200cb", "a\u200db", "\u0628\u200c", "\u08a1\u200c\u0628",
    // bidi
    "\u05e9\u05dc\u05d5\u05dd", "\u05d0" "1", "1\u05d0", "\u0627\u0661", "\u0627\u0661" "1", "a\u05d0",
    "\u05d0a", "\u05d0\u0300", "\u0645\u062b\u0627\u0644", "\u05d0-", "\u05d0\u05b0", "a\u05d0b",
    "\u06f1\u0627", "\u05d0\u2010", "\U00010f70",
    // emoji, with variation selectors and ZWJ sequences
    "\U0001f600", "\U0001f44d\U0001f3fd", "\u2764\ufe0f", "\U0001f3f3\ufe0f\u200d\U0001f308", "\u2603",
    // marks first, marks new in Unicode 14 and 15 (unknown to ada's validity data)
    "\u0301a", "\u0898a", "\U0001e4ec", "\U0001e4eca", "\u0903",
    // ignored, disallowed (some for IDNA2003's sake, some as they map to a '.'), mapped to space
    "\u04c0", "\u10a0", "\u2488", "\u33c7", "\ufe52", "\u2024",
    "\u00ad", "\u200b", "\ufe0f", "\U000e0100", "\u0080", "\u00a0", "\u2028", "\ufffd", "\ue000", "\U000e0001",
    "\u2066", "\u180e", "\u3164", "\u2ff0", "\u1806", "\u0378", std::string(1, '\0'),
    // "xn--" labels: good, upper case, bad Punycode, ASCII-only, disallowed or unnormalised content
    "xn--bcher-kva", "XN--BCHER-KVA", "xn--", "xn--zz", "xn---a", "xn--a-", "xn--abc", "xn--ls8h", "xn--0",
    "xn--99999999999", "xn--caf-dma", "xn--cafe-yvc", "xn--fiq228c", "xn--a-ecp", "xn--tda", "xn--Tda",
    "xn--55qx5d", "xn--zca", "xn--1ug", "xn--ssa", "xn--n3h", "xn--4ca", "xn--a", "xn--9", "xn--ab-", "xn---",
    "Xn--bcher-kva", "xn--bcher-kva-"};

// A name of 1 to 4 labels, each of 1 to 3 fragments, ASCII letters flipped to
// upper case now and then, on any of the four full stops, at times with an
// empty label or a trailing dot; a few very long.
std::string generate(splitmix& r) {
  static const std::vector<std::string> stops = {".", ".", ".", "\u3002", "\uff0e", "\uff61"};
  std::string name;
  const std::size_t labels = 1 + r.below(4);
  for (std::size_t l = 0; l < labels; ++l) {
    if (l) name += stops[r.below(stops.size())];
    if (r.below(25) == 0) continue;  // an empty label
    std::string label;
    const std::size_t n = 1 + r.below(3);
    for (std::size_t k = 0; k < n; ++k) {
      const auto& from = r.below(4) == 0 ? tricky : fragments;
      label += from[r.below(from.size())];
    }
    if (r.below(30) == 0) {
      const std::string one = label;
      while (label.size() < 70 + r.below(300)) label += one;  // past 63, 255 bytes
    }
    for (char& c : label)
      if (c >= 'a' && c <= 'z' && r.below(8) == 0) c = static_cast<char>(c - 'a' + 'A');
    name += label;
  }
  if (r.below(10) == 0) name += ".";
  return name;
}

std::vector<std::string> corpus(std::uint64_t seed) {
  std::vector<std::string> names = {
      "BÜCHER.test", "\ufb01.test", "\uff21\uff22\uff23.test", "cafe\u0301.test", "b\u00fccher.test", "", ".", "..",
      "a..b", "a.", "localhost", "LOCALHOST", "xn--bcher-kva.test", std::string(255, 'a'), std::string(256, 'a'),
      std::string("a\0b", 3), std::string("\xc3\xa9\0a", 4), std::string("a\0\xc3\xa9", 4), "bad\xff.test",
      "\xc0\xaf", "\xed\xa0\x80", "\xe4\xb8", "\xf4\x90\x80\x80", "\xf0\x9f\x98", "a\xe3\x80\x82" "b"};
  for (const auto* list : {&fragments, &tricky})
    for (const auto& f : *list) names.push_back(f), names.push_back(f + ".test");
  splitmix r{seed};
  while (names.size() < 4000) names.push_back(generate(r));
  return names;
}

constexpr std::string_view driver = R"js(
'use strict';
// Reads hex names, one a line; writes, one a line, the hex of
// ada::idna::to_ascii(name) (the function dns.lookup calls) and of
// url.domainToASCII(name). A name that is not UTF-8 is read as Buffer reads it
// (U+FFFD), which ada refuses as it refuses the bytes.
const fs = require('fs');
const url = require('url');
const { internalBinding } = require('internal/test/binding');
const { toASCII } = internalBinding('encoding_binding');
const names = fs.readFileSync(process.argv[2], 'latin1').split('\n');
names.pop();
const out = names.map((h) => {
  const s = Buffer.from(h, 'hex').toString('utf8');
  return Buffer.from(toASCII(s), 'latin1').toString('hex') + ' ' + Buffer.from(url.domainToASCII(s), 'latin1').toString('hex');
});
fs.writeFileSync(process.argv[3], out.join('\n') + '\n');
)js";

}  // namespace

TEST_CASE("IDNA: the names Node v23.5.0 failed on, and what ada does", "[idna]") {
  CHECK(hostname_to_ascii("B\xc3\x9c" "CHER.test") == "xn--bcher-kva.test");  // BÜCHER: case folding
  CHECK(hostname_to_ascii("\xef\xac\x81.test") == "fi.test");                 // U+FB01 ligature
  CHECK(hostname_to_ascii("\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3.test") == "abc.test");  // full-width
  CHECK(hostname_to_ascii("cafe\xcc\x81.test") == "xn--caf-dma.test");        // NFD: NFC first
  CHECK(hostname_to_ascii("stra\xc3\x9f" "e") == "xn--strae-oqa");            // ß: a deviation, kept
  CHECK(hostname_to_ascii("\xe1\xba\x9e") == "ss");                           // ẞ: mapped
  CHECK(hostname_to_ascii("a\xc2\xad" "b") == "ab");                          // soft hyphen: ignored
  CHECK(hostname_to_ascii("a\xef\xbd\xa1" "b\xef\xbc\x8e" "c") == "a.b.c");   // U+FF61, U+FF0E
  CHECK_FALSE(hostname_to_ascii("\xe2\x92\x88"));                             // U+2488 "1.": disallowed
  CHECK_FALSE(hostname_to_ascii("a\xe2\x80\x8d" "b"));                        // ZWJ, no virama
  CHECK(hostname_to_ascii("\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8d\xe0\xa4\xb7"));  // ZWJ after a virama
  CHECK_FALSE(hostname_to_ascii("\xcc\x81" "a"));                             // a leading mark
  CHECK_FALSE(hostname_to_ascii("\xd7\x90" "a"));                             // RTL label ending in L
  CHECK_FALSE(hostname_to_ascii("\xc2\x80"));                                 // C1 control
  // ASCII goes through as it is (getaddrinfo judges), lowered; "xn--" labels are checked.
  CHECK(hostname_to_ascii("A B_C") == "a b_c");
  CHECK(hostname_to_ascii("xn--a-") == "xn--a-");  // ASCII-only Punycode: ada 2.9.2 accepts it
  CHECK_FALSE(hostname_to_ascii("xn--abc"));        // decodes to C1 controls
  CHECK(hostname_to_ascii("XN--TDA") == "xn--tda");  // lowered before it is decoded
  CHECK_FALSE(hostname_to_ascii("xn--t\xc3\xa9" "a"));  // a non-ASCII "xn--" label
  // ada's result is a C string to Node: cut at its first NUL, after the conversion.
  CHECK(hostname_to_ascii(std::string("a\0b", 3)) == "a");
  CHECK(hostname_to_ascii(std::string("a\0\xc3\xa9", 4)) == "xn--a");  // "xn--a\0-..." cut
  CHECK_FALSE(hostname_to_ascii(std::string("\0a", 2)));
  // Node: dns.lookup("localhost\0.xn--zz") is EINVAL, ("localhost\0é") ENOTFOUND (it looks up "xn--localhost").
  CHECK_FALSE(hostname_to_ascii(std::string("localhost\0.xn--zz", 17)));
  CHECK(hostname_to_ascii(std::string("localhost\0\xc3\xa9", 12)) == "xn--localhost");
  // libuv: an empty result, or 256 bytes and more, is EINVAL.
  CHECK(hostname_to_ascii(std::string(255, 'a')) == std::string(255, 'a'));
  CHECK_FALSE(hostname_to_ascii(std::string(256, 'a')));
  CHECK_FALSE(hostname_to_ascii("\xc2\xad"));  // only an ignored code point: empty
  // Invalid UTF-8 is refused (Node can only be given U+FFFD, refused too).
  CHECK_FALSE(hostname_to_ascii("bad\xff.test"));
  CHECK_FALSE(hostname_to_ascii("\xed\xa0\x80"));
  CHECK_FALSE(hostname_to_ascii("\xe4\xb8"));
}

TEST_CASE("IDNA: ada's Punycode", "[idna]") {
  // Node's punycode.encode() of the same strings, and back.
  struct vec {
    std::u32string text;
    const char* puny;
  };
  for (const vec& v : {vec{U"\u00fc", "tda"}, vec{U"b\u00fccher", "bcher-kva"}, vec{U"\u4e2d\u6587", "fiq228c"},
                       vec{U"\U0001F600x", "x-iv3s"}, vec{U"\u00e9t\u00e9", "t-9fab"}, vec{U"abc", "abc-"}}) {
    CHECK(net::detail::punycode_encode(v.text) == v.puny);
    CHECK(net::detail::punycode_decode(v.puny) == v.text);
  }
  CHECK_FALSE(net::detail::punycode_decode("zz"));
  CHECK_FALSE(net::detail::punycode_decode("TDA"));  // lower-case digits only
  CHECK(net::detail::punycode_decode("-a") == std::u32string(1, U'\u0080'));  // a leading '-' is the delimiter
  CHECK_FALSE(net::detail::punycode_decode("99999999999"));                // overflow
  // An encoding that overflows ada's 32-bit delta: refused, so the name is.
  std::u32string big(3000, U'a');
  CHECK(net::detail::punycode_encode(big + U'\u00fc'));
  CHECK_FALSE(net::detail::punycode_encode(big + U'\U0010FFFD'));  // (0x10FFFD - 128) * 3001 > 2^31
}

TEST_CASE("IDNA: netxx converts every corpus name exactly as Node v23.5.0's dns.lookup does", "[idna][differential]") {
  if (netxx_test::node_binary().empty()) NETXX_SKIP(netxx_test::node_unavailable());
  const std::uint64_t seed = env("NETXX_DIFF_SEED").empty() ? 20241207 : std::stoull(env("NETXX_DIFF_SEED"));
  const auto names = corpus(seed);

  netxx_test::temp_file script("idna_driver.js", driver);
  std::string text;
  for (const auto& n : names) text += hex(n) + '\n';
  netxx_test::temp_file in("idna_names.txt", text);
  const std::string answers_path = netxx_test::temp_path("idna_answers.txt");
  const auto run = netxx_test::run_node({"--expose-internals", "--no-warnings", script.path, in.path, answers_path});
  INFO("driver output: " << run.out);
  REQUIRE(run.ok());

  std::ifstream f(answers_path, std::ios::binary);
  std::vector<std::string> node, url;
  for (std::string line; std::getline(f, line);) {
    const auto sp = line.find(' ');
    REQUIRE(sp != std::string::npos);
    node.push_back(unhex(line.substr(0, sp)));
    url.push_back(unhex(line.substr(sp + 1)));
  }
  if (env("NETXX_DIFF_KEEP").empty()) std::remove(answers_path.c_str());
  REQUIRE(node.size() == names.size());

  std::size_t equal = 0, refused = 0, punycoded = 0, url_differs = 0;
  std::ostringstream report;
  for (std::size_t i = 0; i < names.size(); ++i) {
    // What Node's binding returns is a C string too: compare after the cut.
    const std::string mine = cut_at_nul(idna_to_ascii(names[i]));
    const auto lookup = hostname_to_ascii(names[i]);
    const bool einval = node[i].empty() || node[i].size() >= 256;
    const bool same = mine == node[i] && (einval ? !lookup : lookup == node[i]);
    if (same) ++equal;
    else if (equal + 25 > i)
      report << "  name " << hex(names[i]) << ": node \"" << node[i] << "\", netxx \"" << mine << "\"\n";
    refused += node[i].empty();
    punycoded += node[i].find("xn--") != std::string::npos;
    url_differs += url[i] != node[i];
  }
  std::printf("idna differential: %zu names (seed %llu), %zu equal to Node's; %zu refused (EINVAL), %zu with "
              "Punycode; url.domainToASCII differs from dns.lookup's conversion on %zu\n",
              names.size(), static_cast<unsigned long long>(seed), equal, refused, punycoded, url_differs);
  INFO(report.str());
  CHECK(equal == names.size());
  CHECK(names.size() >= 1000);
  CHECK(refused > 100);  // the corpus reaches both sides
  CHECK(punycoded > 100);
}
