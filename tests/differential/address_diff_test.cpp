// Differential test: netxx's net.isIP*, net.SocketAddress, SocketAddress.parse
// and net.BlockList against Node v23.5.0 itself, on a generated corpus run
// through one Node process (address_driver.js). Every answer must be equal,
// apart from the deviations listed in docs/api.md, each of which is checked
// here to be exactly what that table says.
//
// NETXX_NODE23: the Node binary (skipped, exit 77, without it).
// NETXX_DIFF_SEED: another corpus (default 20231205). NETXX_DIFF_KEEP=1: keep
// the corpus and Node's answers (JSON lines) and print where they are.

#include "catch.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "address_corpus.hpp"
#include "node.hpp"

namespace {

using netxx_test::env;

// Reads one line of the driver's output: a JSON array of strings.
std::vector<std::string> parse_json_strings(const std::string& line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  auto expect = [&](char c) {
    if (i >= line.size() || line[i] != c) throw std::runtime_error("bad JSON from driver: " + line);
    ++i;
  };
  auto put_utf8 = [](std::string& s, unsigned cp) {
    if (cp < 0x80) s += static_cast<char>(cp);
    else if (cp < 0x800) s += static_cast<char>(0xC0 | cp >> 6), s += static_cast<char>(0x80 | (cp & 0x3F));
    else if (cp < 0x10000)
      s += static_cast<char>(0xE0 | cp >> 12), s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
          s += static_cast<char>(0x80 | (cp & 0x3F));
    else
      s += static_cast<char>(0xF0 | cp >> 18), s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
          s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), s += static_cast<char>(0x80 | (cp & 0x3F));
  };
  expect('[');
  while (i < line.size() && line[i] != ']') {
    if (!out.empty()) expect(',');
    expect('"');
    std::string s;
    while (i < line.size() && line[i] != '"') {
      char c = line[i++];
      if (c != '\\') {
        s += c;
        continue;
      }
      char e = line[i++];
      switch (e) {
        case 'n': s += '\n'; break;
        case 't': s += '\t'; break;
        case 'r': s += '\r'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'u': {
          unsigned cp = static_cast<unsigned>(std::stoul(line.substr(i, 4), nullptr, 16));
          i += 4;
          if (cp >= 0xD800 && cp < 0xDC00 && line.compare(i, 2, "\\u") == 0) {
            unsigned lo = static_cast<unsigned>(std::stoul(line.substr(i + 2, 4), nullptr, 16));
            i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          put_utf8(s, cp);
          break;
        }
        default: s += e;
      }
    }
    expect('"');
    out.push_back(std::move(s));
  }
  return out;
}

std::string show(const std::vector<std::string>& v) { return netxx_diff::json_array(v); }

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Which row of docs/api.md a difference between Node's SocketAddress.parse and
// its documentation belongs to; "" when it belongs to none.
std::string parse_deviation(const std::string& node, const std::string& doc) {
  if (node == "undefined") return "";
  if (doc == "undefined") return "Node accepts URL syntax beyond ip[:port]";
  auto n = words(node), d = words(doc);  // ok address family port flowlabel
  if (n.size() == 5 && d.size() == 5 && n[1] == d[1] && n[2] == d[2] && n[4] == d[4] && n[3] == "0" && d[3] == "80")
    return "Node reports port 80 as 0";
  return "";
}

}  // namespace

TEST_CASE("netxx answers every corpus input exactly as Node v23.5.0, apart from the documented deviations") {
  if (netxx_test::node_binary().empty()) NETXX_SKIP(netxx_test::node_unavailable());
  const std::string src = env("NETXX_SOURCE_DIR");
  if (src.empty()) NETXX_SKIP("NETXX_SOURCE_DIR is not set (CTest sets it): cannot find address_driver.js");

  const std::uint64_t seed = env("NETXX_DIFF_SEED").empty() ? 20231205 : std::stoull(env("NETXX_DIFF_SEED"));
  netxx_diff::generator gen(seed);
  const auto corpus = gen.corpus();

  const std::string tmp = env("TMPDIR").empty() ? "/tmp" : env("TMPDIR");
  std::string dir_template = tmp + "/netxx-address-diff-XXXXXX";
  REQUIRE(::mkdtemp(dir_template.data()) != nullptr);
  const std::string dir = dir_template;
  const std::string corpus_path = dir + "/corpus.jsonl", answers_path = dir + "/answers.jsonl";
  {
    std::ofstream f(corpus_path, std::ios::binary);
    for (const auto& c : corpus) f << netxx_diff::to_json(c) << '\n';
  }
  const std::string driver = src + "/tests/differential/address_driver.js";
  const auto driven = netxx_test::run_node({driver, corpus_path, answers_path});
  INFO("driver output: " << driven.out);
  REQUIRE(driven.ok());

  std::ifstream f(answers_path, std::ios::binary);
  std::vector<std::vector<std::string>> answers;
  for (std::string line; std::getline(f, line);) answers.push_back(parse_json_strings(line));
  REQUIRE(answers.size() == corpus.size());

  std::size_t mismatches = 0, compared = 0;
  std::map<std::string, std::size_t> per_category, deviations;
  std::ostringstream report;
  auto mismatch = [&](const netxx_diff::test_case& c, const std::string& what) {
    if (++mismatches <= 25) report << "  " << what << "\n    case: " << netxx_diff::to_json(c) << "\n";
  };

  for (std::size_t i = 0; i < corpus.size(); ++i) {
    const auto& c = corpus[i];
    const auto& theirs = answers[i];
    const auto mine = netxx_diff::ours(c);
    ++per_category[c.category];
    ++compared;
    if (c.k == netxx_diff::kind::parse) {
      // Node's answer, then the documented grammar's answer (built in the
      // driver from Node's own isIPv4/isIPv6/SocketAddress).
      REQUIRE(theirs.size() == 2);
      if (mine[0] != theirs[1]) mismatch(c, "parse: netxx " + mine[0] + " | documented " + theirs[1]);
      if (theirs[0] != theirs[1]) {
        const std::string cat = parse_deviation(theirs[0], theirs[1]);
        if (cat.empty())
          mismatch(c, "parse deviation not in docs/api.md: node " + theirs[0] + " | documented " + theirs[1]);
        ++deviations["SocketAddress.parse: " + cat];
      }
      continue;
    }
    if (c.k == netxx_diff::kind::sa && c.node_aborts) {
      // Node would abort the process; netxx judges the address first, then
      // rejects the flow label cleanly (ipv6) or ignores it as the spec says
      // it does for ipv4.
      if (theirs != std::vector<std::string>{"node-aborts"}) mismatch(c, "driver ran an aborting case");
      const bool six = netxx_diff::family_of(c.sa.family) == netxx::family::ipv6;
      auto zero = c;
      zero.sa.flowlabel = 0;
      const std::string without = netxx_diff::ours(zero)[0];
      const bool ok = without.rfind("err ", 0) == 0 ? mine[0] == without
                      : six ? mine[0].rfind("err ERR_OUT_OF_RANGE The value of \"options.flowlabel\"", 0) == 0
                            : mine[0] == without;
      if (!ok) mismatch(c, "flowlabel Node aborts on: netxx " + mine[0]);
      ++deviations[six ? "IPv6 flowlabel above 0xFFFFF (Node aborts)" : "IPv4 flowlabel >= 2**31 (Node aborts)"];
      continue;
    }
    // Node answers as netxx does on the text Node's C++ layer really sees.
    const auto as_node_sees = netxx_diff::ours(netxx_diff::node_view(c));
    if (as_node_sees != theirs) mismatch(c, "node " + show(theirs) + "\n    netxx " + show(as_node_sees));
    if (as_node_sees != mine)
      ++deviations[c.k == netxx_diff::kind::sa && !c.sa.address
                       ? "default address for a non-lower-case 'ipv4' family (Node uses '::')"
                       : "address text cut at NUL / 39 characters before '%' (Node truncates)"];
  }

  std::ostringstream summary;
  summary << "differential corpus: " << compared << " cases (seed " << seed << ")\n";
  for (auto& [k, n] : per_category) summary << "  " << k << ": " << n << "\n";
  summary << "documented deviations met:\n";
  for (auto& [k, n] : deviations) summary << "  " << k << ": " << n << "\n";
  std::fputs(summary.str().c_str(), stdout);
  INFO(report.str());
  CHECK(mismatches == 0);
  CHECK(corpus.size() >= 5000);
  if (!env("NETXX_DIFF_KEEP").empty()) {  // to read the corpus and Node's answers side by side
    std::printf("corpus kept: %s, answers: %s\n", corpus_path.c_str(), answers_path.c_str());
    return;
  }
  std::remove(corpus_path.c_str());
  std::remove(answers_path.c_str());
  ::rmdir(dir.c_str());
}

TEST_CASE("Node v23.5.0 aborts the process on an IPv6 flowlabel above 0xFFFFF, where netxx throws ERR_OUT_OF_RANGE") {
  if (netxx_test::node_binary().empty()) NETXX_SKIP(netxx_test::node_unavailable());
  const std::string js =
      "new (require('net').SocketAddress)({address: '::1', family: 'ipv6', flowlabel: 0x100000}); "
      "console.log('survived')";
  const auto [rc, out, timed_out] = netxx_test::run_node({"-e", js});
  INFO(out);
  CHECK_FALSE(timed_out);
  CHECK(rc != 0);
  CHECK(out.find("survived") == std::string::npos);
  CHECK(out.find("Assertion failed") != std::string::npos);
  try {
    netxx::socket_address({.address = "::1", .family = netxx::family::ipv6, .flowlabel = 0x100000});
    FAIL("netxx accepted an IPv6 flowlabel of 0x100000");
  } catch (const netxx::error& e) {
    CHECK(e.code() == netxx::errc::err_out_of_range);
    CHECK(e.message() ==
          "The value of \"options.flowlabel\" is out of range. It must be >= 0 && <= 1048575. Received 1048576");
  }
}

TEST_CASE("Node v23.5.0 reads SocketAddress.parse input as a URL, where netxx follows its documentation") {
  if (netxx_test::node_binary().empty()) NETXX_SKIP(netxx_test::node_unavailable());
  const std::string js =
      "const p = require('net').SocketAddress.parse; "
      "for (const s of ['1.2.3.4:80', '127.1', '1.2.3.4/x']) { const a = p(s); "
      "console.log(a ? a.address + ' ' + a.port : 'undefined'); }";
  const auto [rc, out, timed_out] = netxx_test::run_node({"-e", js});
  REQUIRE(!timed_out);
  REQUIRE(rc == 0);
  CHECK(out == "1.2.3.4 0\n127.0.0.1 0\n1.2.3.4 0\n");
  CHECK(netxx::socket_address::parse("1.2.3.4:80")->port() == 80);
  CHECK_FALSE(netxx::socket_address::parse("127.1"));
  CHECK_FALSE(netxx::socket_address::parse("1.2.3.4/x"));
}
