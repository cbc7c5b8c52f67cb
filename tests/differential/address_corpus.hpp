#pragma once
// The corpus of tests/differential/address_diff_test.cpp: several thousand
// inputs for net.isIP*, new net.SocketAddress, SocketAddress.parse and
// net.BlockList, generated from a fixed seed (so a failure reproduces), in
// four kinds: valid forms, near-miss invalid forms, random mutations of valid
// forms, and adversarial text (NUL, non-ASCII, overlong, zone tricks).
//
// Each case is written as one JSON line for address_driver.js; netxx answers
// it in the same text form the driver uses, so the test compares strings.

#include <netxx/block_list.hpp>
#include <netxx/ip.hpp>
#include <netxx/socket_address.hpp>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace netxx_diff {

// ---------------------------------------------------------------- JSON text

// Exactly JSON.stringify's escaping for valid UTF-8 input.
inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          constexpr char hex[] = "0123456789abcdef";
          out += "\\u00";
          out += hex[u >> 4];
          out += hex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

inline std::string json_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += json_string(items[i]);
  }
  return out + "]";
}

// ---------------------------------------------------------------- cases

struct sa_opts {
  std::optional<std::string> address;
  std::optional<std::string> family;
  std::optional<std::int64_t> port;
  std::optional<std::int64_t> flowlabel;
};

struct arg {
  bool is_sa = false;
  std::string text;
  sa_opts sa;
};

struct bl_op {
  std::string op;  // addAddress, addRange, addSubnet, check
  arg a, b;
  int prefix = 0;
  std::optional<std::string> type;
};

enum class kind { isip, sa, parse, bl };

struct test_case {
  kind k = kind::isip;
  std::string category;
  std::string text;  // isip, parse
  sa_opts sa;        // sa
  bool node_aborts = false;
  std::vector<bl_op> ops;  // bl
};

inline std::string opt_json(const std::optional<std::string>& s) { return s ? json_string(*s) : "null"; }
inline std::string opt_json(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "null"; }

inline std::string sa_json(const sa_opts& o) {
  return "{\"address\":" + opt_json(o.address) + ",\"family\":" + opt_json(o.family) + ",\"port\":" +
         opt_json(o.port) + ",\"flowlabel\":" + opt_json(o.flowlabel) + "}";
}

inline std::string arg_json(const arg& a) { return a.is_sa ? "{\"sa\":" + sa_json(a.sa) + "}" : json_string(a.text); }

inline std::string to_json(const test_case& c) {
  switch (c.k) {
    case kind::isip: return "[\"isip\"," + json_string(c.text) + "]";
    case kind::parse: return "[\"parse\"," + json_string(c.text) + "]";
    case kind::sa: return "[\"sa\"," + sa_json(c.sa) + "," + (c.node_aborts ? "true" : "false") + "]";
    case kind::bl: {
      std::string s = "[\"bl\",[";
      for (std::size_t i = 0; i < c.ops.size(); ++i) {
        const auto& op = c.ops[i];
        if (i) s += ",";
        s += "[" + json_string(op.op) + "," + arg_json(op.a);
        if (op.op == "addRange") s += "," + arg_json(op.b);
        if (op.op == "addSubnet") s += "," + std::to_string(op.prefix);
        s += "," + opt_json(op.type) + "]";
      }
      return s + "]]";
    }
  }
  return "";
}

// ---------------------------------------------------------------- netxx's answers

inline std::string sa_text(const netxx::socket_address& a) {
  return "ok " + a.address().str() + " " + std::string(netxx::to_string(a.family())) + " " + std::to_string(a.port()) +
         " " + std::to_string(a.flowlabel());
}

inline std::string err_text(const netxx::error& e) { return "err " + std::string(e.code_string()) + " " + e.message(); }

inline netxx::socket_address make_sa(const sa_opts& o) {
  netxx::socket_address_options opts;
  if (o.address) opts.address = std::string_view(*o.address);
  if (o.family) opts.family = netxx::family_arg(std::string_view(*o.family));
  if (o.port) opts.port = *o.port;
  if (o.flowlabel) opts.flowlabel = *o.flowlabel;
  return netxx::socket_address(opts);
}

inline netxx::address_arg make_arg(const arg& a) {
  if (a.is_sa) return netxx::address_arg(make_sa(a.sa));
  return netxx::address_arg(std::string_view(a.text));
}

inline std::vector<std::string> ours(const test_case& c) {
  switch (c.k) {
    case kind::isip: {
      const std::string_view s = c.text;
      return {std::to_string(netxx::is_ip(s)) + " " + (netxx::is_ipv4(s) ? "true" : "false") + " " +
              (netxx::is_ipv6(s) ? "true" : "false")};
    }
    case kind::sa:
      try {
        return {sa_text(make_sa(c.sa))};
      } catch (const netxx::error& e) {
        return {err_text(e)};
      }
    case kind::parse: {
      auto p = netxx::socket_address::parse(c.text);
      return {p ? sa_text(*p) : "undefined"};
    }
    case kind::bl: {
      netxx::block_list bl;
      std::vector<std::string> out;
      for (const auto& op : c.ops) {
        try {
          netxx::family_arg type = op.type ? netxx::family_arg(std::string_view(*op.type))
                                           : netxx::family_arg(netxx::family::ipv4);
          if (op.op == "addAddress") bl.add_address(make_arg(op.a), type), out.push_back("ok");
          else if (op.op == "addRange") bl.add_range(make_arg(op.a), make_arg(op.b), type), out.push_back("ok");
          else if (op.op == "addSubnet") bl.add_subnet(make_arg(op.a), op.prefix, type), out.push_back("ok");
          else out.push_back(bl.check(make_arg(op.a), type) ? "true" : "false");
        } catch (const netxx::error& e) {
          out.push_back(err_text(e));
        }
      }
      out.push_back("rules");
      for (auto& r : bl.rules()) out.push_back(r);
      out.push_back(netxx::block_list::is_block_list(bl) ? "true" : "false");
      out.push_back(netxx::block_list::is_block_list(42) ? "true" : "false");
      return out;
    }
  }
  return {};
}

// ---------------------------------------------------------------- Node's view

// The text Node's C++ layer really parses: Utf8Value hands a C string to
// libuv, so a NUL ends it; uv_ip6_addr copies at most 39 characters before a
// '%'. These are deviations netxx does not copy (docs/api.md); the test
// checks that Node's answers are netxx's answers on this truncated text.
inline std::string node_view_text(std::string s, std::optional<netxx::family> fam) {
  if (auto nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
  if (fam == netxx::family::ipv6) {
    const auto pct = s.find('%');
    if (pct != std::string::npos && pct > 39) s = s.substr(0, 39) + s.substr(pct);
  }
  return s;
}

inline std::optional<netxx::family> family_of(const std::optional<std::string>& type) {
  if (!type) return netxx::family::ipv4;
  return netxx::family_arg(std::string_view(*type)).get();
}

// Node picks the default address from the family string before lower-casing
// it: 'IPv4' gets '::' (then fails as an IPv4 address). netxx follows the
// documentation: 127.0.0.1 for ipv4 in any case.
inline sa_opts node_view(sa_opts o) {
  if (o.address) o.address = node_view_text(*o.address, family_of(o.family));
  else if (o.family && *o.family != "ipv4") o.address = "::";
  return o;
}

inline arg node_view(arg a, const std::optional<std::string>& type) {
  if (a.is_sa) a.sa = node_view(a.sa);
  else a.text = node_view_text(a.text, family_of(type));
  return a;
}

inline test_case node_view(test_case c) {
  if (c.k == kind::sa) c.sa = node_view(c.sa);
  for (auto& op : c.ops) {
    op.a = node_view(op.a, op.type);
    op.b = node_view(op.b, op.type);
  }
  return c;
}

// Node v23.5.0 aborts (a failed CHECK) on these SocketAddress options: a
// flowlabel of 2**31 or more passes validateUint32 but not `flowlabel | 0`'s
// IsUint32 CHECK; an IPv6 flowlabel above 0xFFFFF fails set_flow_label's CHECK
// once the address parsed.
inline bool node_aborts(const sa_opts& o) {
  const auto fam = family_of(o.family);
  if (!fam) return false;
  if (o.port && (*o.port < 0 || *o.port > 65535)) return false;
  const std::int64_t fl = o.flowlabel.value_or(0);
  if (fl < 0 || fl > 4294967295LL) return false;
  if (fl >= 2147483648LL) return true;
  if (*fam != netxx::family::ipv6 || fl <= 0xFFFFF) return false;
  const std::string addr = node_view(o).address.value_or("::");
  return netxx::detail::parse_ipv6(std::string_view(addr).substr(0, addr.find('%'))).has_value();
}

// ---------------------------------------------------------------- generator

class generator {
 public:
  explicit generator(std::uint64_t seed) : rng_(seed) {}

  std::vector<test_case> corpus() {
    std::vector<test_case> out;
    auto make = [](kind k, std::string cat) {
      test_case c;
      c.k = k;
      c.category = std::move(cat);
      return c;
    };
    auto add_isip = [&](std::string cat, std::string s) {
      test_case c = make(kind::isip, std::move(cat));
      c.text = std::move(s);
      out.push_back(std::move(c));
    };
    for (const char* s : fixed_) add_isip("fixed", s);
    for (int i = 0; i < 400; ++i) add_isip("valid-ipv4", ipv4());
    for (int i = 0; i < 300; ++i) add_isip("invalid-ipv4", bad_ipv4());
    for (int i = 0; i < 900; ++i) add_isip("valid-ipv6", ipv6());
    for (int i = 0; i < 300; ++i) add_isip("zoned-ipv6", ipv6() + zone());
    for (int i = 0; i < 300; ++i) add_isip("invalid-ipv6", bad_ipv6());
    for (int i = 0; i < 1200; ++i) add_isip("mutated", mutate(any_address()));
    for (int i = 0; i < 200; ++i) add_isip("adversarial", adversarial());

    for (int i = 0; i < 1500; ++i) {
      test_case c = make(kind::sa, "socket-address");
      c.sa = sa_options();
      c.node_aborts = node_aborts(c.sa);
      out.push_back(std::move(c));
    }
    for (int i = 0; i < 1500; ++i) {
      test_case c = make(kind::parse, "parse");
      c.text = parse_input();
      out.push_back(std::move(c));
    }
    for (int i = 0; i < 400; ++i) {
      test_case c = make(kind::bl, "block-list");
      c.ops = block_list_ops();
      out.push_back(std::move(c));
    }
    return out;
  }

 private:
  std::mt19937_64 rng_;

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int percent) { return uniform(0, 99) < percent; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(uniform(0, static_cast<int>(v.size()) - 1))];
  }

  static constexpr const char* fixed_[] = {
      "", "::", "::1", "127.0.0.1", "127.000.000.001", "127.0.0.1/24", "fhqwhgads", "0.0.0.0", "255.255.255.255",
      "256.0.0.0", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "fe80::1%eth0", "fe80::1%", "::1%1", "1::",
      "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1::2::3", ":::", "::::",
      ":1::", "1:::2", "::ffff:1.2.3.4", "::ffff:7b7b:7b7b", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4",
      "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "::1.2.3.256", "::01.2.3.4", "12345::", "1:2:3:4:5:6:7:8%x",
      "::ffff:1.2.3.4%eth0", "1.2.3.4%eth0", "[::1]", "::1 ", " ::1", "1.2.3.4\n", "FE80::ABCD", "fe80::1%eth0.1:2-3",
      "fe80::1%eth_0", "fe80::1%%", "0::0", "0000:0000:0000:0000:0000:0000:0000:0001", "00000::1",
      "0001:0002:0003:0004:0005:0006:0007:0008X%z", "0000:0000:0000:0000:0000:ffff:255.255.255.255%eth0",
  };

  std::string ipv4() {
    if (chance(10)) return pick(std::vector<std::string>{"0.0.0.0", "255.255.255.255", "127.0.0.1", "10.0.0.1"});
    std::string s;
    for (int k = 0; k < 4; ++k) {
      if (k) s += '.';
      s += std::to_string(chance(30) ? pick(std::vector<int>{0, 1, 9, 10, 99, 100, 199, 200, 249, 250, 255})
                                     : uniform(0, 255));
    }
    return s;
  }

  std::string bad_ipv4() {
    switch (uniform(0, 9)) {
      case 0: return "0" + ipv4();
      case 1: return ipv4() + "." + std::to_string(uniform(0, 255));
      case 2: return std::to_string(uniform(0, 255)) + "." + std::to_string(uniform(0, 255)) + "." +
                     std::to_string(uniform(0, 255));
      case 3: return std::to_string(uniform(256, 999)) + ".1.1.1";
      case 4: return ipv4() + ".";
      case 5: return "1.2.3." + std::to_string(uniform(256, 9999));
      case 6: return "1..2.3";
      case 7: return "1.2.3.0" + std::to_string(uniform(0, 9));
      case 8: return "0x7f.0.0.1";
      default: return "+1.2.3.4";
    }
  }

  std::string hex_group(unsigned v) {
    constexpr char lower[] = "0123456789abcdef";
    constexpr char upper[] = "0123456789ABCDEF";
    const char* digits = chance(20) ? upper : lower;
    std::string s;
    for (int shift = 12; shift >= 0; shift -= 4) s += digits[(v >> shift) & 0xf];
    if (chance(70)) {  // no leading zeros, usually
      auto nz = s.find_first_not_of('0');
      s = nz == std::string::npos ? "0" : s.substr(nz);
    }
    return s;
  }

  // IPv6 text from 8 random words, some zero runs, written with or without
  // "::" at any zero run, sometimes with a dotted-quad tail.
  std::string ipv6() {
    std::vector<unsigned> w(8);
    for (auto& x : w) x = chance(25) ? 0u : static_cast<unsigned>(uniform(0, 0xffff));
    if (chance(40)) {  // a zero run of random length at a random place
      int start = uniform(0, 7), len = uniform(1, 8 - start);
      for (int k = start; k < start + len; ++k) w[static_cast<std::size_t>(k)] = 0;
    }
    if (chance(10)) w = {0, 0, 0, 0, 0, 0xffff, static_cast<unsigned>(uniform(0, 0xffff)), static_cast<unsigned>(uniform(0, 0xffff))};
    const bool tail = chance(20);
    const int groups = tail ? 6 : 8;
    // Zero runs, any of which may become "::".
    std::vector<std::pair<int, int>> runs;
    for (int k = 0; k < groups;) {
      if (w[static_cast<std::size_t>(k)] != 0) { ++k; continue; }
      int j = k;
      while (j < groups && w[static_cast<std::size_t>(j)] == 0) ++j;
      runs.push_back({k, j - k});
      k = j;
    }
    int gap = -1, gap_len = 0;
    if (!runs.empty() && chance(80)) {
      auto r = pick(runs);
      gap = r.first + uniform(0, r.second - 1);  // compress a sub-run: every compression position
      gap_len = uniform(1, r.first + r.second - gap);
    }
    auto join = [&](int from, int to) {
      std::string out;
      for (int k = from; k < to; ++k) out += (k > from ? ":" : "") + hex_group(w[static_cast<std::size_t>(k)]);
      return out;
    };
    std::string s;
    if (gap >= 0) {
      const std::string after = join(gap + gap_len, groups);
      s = join(0, gap) + "::" + after;
      if (tail) s += (after.empty() ? "" : ":") + ipv4();
    } else {
      s = join(0, groups);
      if (tail) s += ":" + ipv4();
    }
    return s;
  }

  std::string zone() {
    static const std::vector<std::string> zones = {"%eth0", "%lo", "%1", "%en0.1", "%a-b", "%x:y", "%", "%eth_0",
                                                   "%\xc3\xa9", "%%", "%eth0%", "%-", "%.", "%:"};
    return pick(zones);
  }

  std::string bad_ipv6() {
    switch (uniform(0, 9)) {
      case 0: return ipv6() + ":";
      case 1: return ":" + ipv6();
      case 2: return "1:2:3:4:5:6:7:8:" + hex_group(static_cast<unsigned>(uniform(0, 0xffff)));
      case 3: return "12345::" + hex_group(static_cast<unsigned>(uniform(0, 0xffff)));
      case 4: return hex_group(1) + "::" + hex_group(2) + "::" + hex_group(3);
      case 5: return "::ffff:" + bad_ipv4();
      case 6: return "g" + ipv6();
      case 7: return "[" + ipv6() + "]";
      case 8: return ipv6() + "::";
      default: return "1:2:3:4:5:6:7";
    }
  }

  std::string any_address() {
    switch (uniform(0, 3)) {
      case 0: return ipv4();
      case 1: return ipv6() + (chance(20) ? zone() : "");
      case 2: return pick(std::vector<std::string>(std::begin(fixed_), std::end(fixed_)));
      default: return ipv6();
    }
  }

  std::string mutate(std::string s) {
    static const std::vector<std::string> alphabet = {"0", "1", "9", "a", "f", "F", "g", ":", "::", ".", "%", "[",
                                                      "]", " ", "\t", "\n", std::string(1, '\0'), "\xc3\xa9", "/",
                                                      "-", "_", "x", "\xe2\x80\xa8", "\xf0\x9f\x98\x80"};
    const int n = uniform(1, 3);
    for (int i = 0; i < n; ++i) {
      const std::size_t pos = s.empty() ? 0 : static_cast<std::size_t>(uniform(0, static_cast<int>(s.size())));
      switch (uniform(0, 4)) {
        case 0:
          if (pos < s.size()) s.erase(pos, 1);
          break;
        case 1: s.insert(pos, pick(alphabet)); break;
        case 2:
          if (pos < s.size()) s.replace(pos, 1, pick(alphabet));
          break;
        case 3: s = s.substr(0, pos); break;
        default: s += s.substr(pos); break;
      }
    }
    // Only ASCII edits above split a multi-byte character; keep UTF-8 valid.
    return valid_utf8(s) ? s : mutate(any_address());
  }

  static bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
      const auto u = static_cast<unsigned char>(s[i]);
      std::size_t len = u < 0x80 ? 1 : (u >> 5) == 6 ? 2 : (u >> 4) == 14 ? 3 : (u >> 3) == 30 ? 4 : 0;
      if (len == 0 || i + len > s.size()) return false;
      for (std::size_t k = 1; k < len; ++k)
        if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
      i += len;
    }
    return true;
  }

  std::string adversarial() {
    switch (uniform(0, 9)) {
      case 0: return std::string(static_cast<std::size_t>(uniform(1, 80)), ':');
      case 1: return ipv4() + std::string(1, '\0') + "junk";
      case 2: return ipv6() + std::string(1, '\0');
      case 3: {
        std::string s;
        for (int k = 0; k < 8; ++k) s += (k ? ":" : "") + std::string(4, '0');
        return s + std::string(static_cast<std::size_t>(uniform(1, 5)), 'Z') + zone();
      }
      case 4: return "fe80::1%" + std::string(static_cast<std::size_t>(uniform(50, 300)), 'a');
      case 5: return "\xef\xbc\x91.2.3.4";  // fullwidth digit one
      case 6: return std::string(static_cast<std::size_t>(uniform(100, 2000)), '1');
      case 7: return "0000:0000:0000:0000:0000:ffff:" + ipv4() + zone();
      case 8: return ipv6() + "%" + std::string(1, '\0') + "eth0";
      default: return "1.2.3.4" + std::string(static_cast<std::size_t>(uniform(1, 3)), ' ');
    }
  }

  std::optional<std::string> family_text() {
    static const std::vector<std::string> fams = {"ipv4", "ipv6", "IPv4", "IPV6", "Ipv6", "ipv5", "", "v4", "inet6",
                                                  "ipv4 ", "\xc4\xb0pv4", "it's", "\t\x01", std::string(200, 'x')};
    if (chance(30)) return std::nullopt;
    return chance(80) ? pick(std::vector<std::string>{"ipv4", "ipv6"}) : pick(fams);
  }

  sa_opts sa_options() {
    sa_opts o;
    o.family = family_text();
    const bool six = o.family && netxx::detail::iequals(*o.family, "ipv6");
    if (chance(85)) {
      const int r = uniform(0, 9);
      if (r < 4) o.address = six ? ipv6() : ipv4();
      else if (r < 5) o.address = six ? ipv4() : ipv6();
      else if (r < 6) o.address = ipv6() + zone();
      else if (r < 8) o.address = mutate(any_address());
      else o.address = adversarial();
    }
    if (chance(60)) {
      static const std::vector<std::int64_t> ports = {0, 1, 80, 443, 8080, 65535, 65536, -1, 70000, 4294967296LL,
                                                      -2147483648LL};
      o.port = chance(70) ? uniform(0, 65535) : pick(ports);
    }
    if (chance(50)) {
      static const std::vector<std::int64_t> labels = {0, 1, 0xFFFFF, 0x100000, 0x7FFFFFFF, 2147483648LL,
                                                       4294967295LL, 4294967296LL, 4294967297LL, -1,
                                                       9007199254740991LL};
      o.flowlabel = chance(60) ? uniform(0, 0xFFFFF) : pick(labels);
    }
    return o;
  }

  std::string parse_input() {
    std::string host;
    switch (uniform(0, 9)) {
      case 0: case 1: case 2: host = ipv4(); break;
      case 3: case 4: host = "[" + ipv6() + "]"; break;
      case 5: host = ipv6(); break;
      case 6: host = pick(std::vector<std::string>{"127.1", "0x7f.0.0.1", "0177.0.0.1", "1.2.3.4.", "2130706433",
                                                   "localhost", "example.com", "%31.2.3.4", "1.2.3.04", "[::1%eth0]",
                                                   "[1.2.3.4]", "[::FFFF:1.2.3.4]", "[fe80::1%251]", "", "[]",
                                                   "1.2.3.256", "[::1", "::1]", "[::1]]", "4294967296"});
        break;
      case 7: host = "[" + bad_ipv6() + "]"; break;
      case 8: host = bad_ipv4(); break;
      default: host = mutate(chance(50) ? ipv4() : "[" + ipv6() + "]"); break;
    }
    std::string port;
    if (chance(60)) {
      static const std::vector<std::string> ports = {":", ":0", ":80", ":080", ":0080", ":443", ":65535", ":65536",
                                                     ":99999", ":-1", ":a", ":1a", ": 1", ":8080", ":00000000001"};
      port = chance(60) ? ":" + std::to_string(uniform(0, 65535)) : pick(ports);
    }
    std::string s = host + port;
    if (chance(12)) {
      static const std::vector<std::string> around = {"/", "/path", "?q=1", "#frag", " ", "\t", "\\x"};
      s += pick(around);
    }
    if (chance(5)) s = pick(std::vector<std::string>{" ", "user@", "u:p@", "\t", "http://"}) + s;
    if (chance(4) && s.size() > 1) s.insert(static_cast<std::size_t>(uniform(1, static_cast<int>(s.size()) - 1)), "\t");
    return s;
  }

  // Addresses from small spaces, so that rules and checks meet.
  std::string bl_v4() {
    return "10." + std::to_string(uniform(0, 2)) + "." + std::to_string(uniform(0, 3)) + "." +
           std::to_string(uniform(0, 255));
  }
  std::string bl_v6() {
    switch (uniform(0, 3)) {
      case 0: return "::ffff:" + bl_v4();
      case 1: return "2001:db8::" + hex_group(static_cast<unsigned>(uniform(0, 40)));
      case 2: return "2001:db8:" + hex_group(static_cast<unsigned>(uniform(0, 2))) + "::" +
                     hex_group(static_cast<unsigned>(uniform(0, 0xffff)));
      default: return pick(std::vector<std::string>{"::", "::1", "ffff::", "::ffff:0:0", "::ffff:ffff:ffff",
                                                    "fe80::1%eth0", "::fffe:ffff:ffff", "::1:0:0:0"});
    }
  }

  std::optional<std::string> bl_type(bool six) {
    if (chance(5)) return pick(std::vector<std::string>{"IPv6", "IPV4", "ipv7", ""});
    if (six) return std::string("ipv6");
    return chance(50) ? std::optional<std::string>{} : std::optional<std::string>{"ipv4"};
  }

  arg bl_arg(bool six) {
    arg a;
    if (chance(12)) {  // a net.SocketAddress, of either family
      a.is_sa = true;
      const bool sa_six = chance(50);
      a.sa.address = sa_six ? bl_v6() : bl_v4();
      a.sa.family = sa_six ? "ipv6" : "ipv4";
      if (chance(30)) a.sa.port = uniform(0, 65535);
      return a;
    }
    if (chance(4)) {
      a.text = chance(50) ? mutate(six ? bl_v6() : bl_v4()) : adversarial();
      return a;
    }
    if (chance(5)) six = !six;  // the other family's text for this type
    a.text = six ? bl_v6() : bl_v4();
    return a;
  }

  std::vector<bl_op> block_list_ops() {
    std::vector<bl_op> ops;
    const int rules = uniform(1, 12), checks = uniform(5, 40);
    for (int i = 0; i < rules; ++i) {
      bl_op op;
      const bool six = chance(45);
      op.type = bl_type(six);
      switch (uniform(0, 2)) {
        case 0:
          op.op = "addAddress";
          op.a = bl_arg(six);
          break;
        case 1:
          op.op = "addRange";
          op.a = bl_arg(six);
          op.b = bl_arg(six);
          break;
        default:
          op.op = "addSubnet";
          op.a = bl_arg(six);
          op.prefix = chance(8) ? pick(std::vector<int>{-1, 33, 129, 1000}) : uniform(0, six ? 128 : 32);
          if (six && chance(50)) op.prefix = uniform(90, 128);
          if (!six && chance(40)) op.prefix = uniform(14, 32);
          break;
      }
      ops.push_back(std::move(op));
    }
    for (int i = 0; i < checks; ++i) {
      bl_op op;
      op.op = "check";
      const bool six = chance(45);
      op.type = bl_type(six);
      op.a = bl_arg(six);
      ops.push_back(std::move(op));
    }
    // Interleave: a few checks before some rules too.
    if (ops.size() > 3 && chance(50)) std::swap(ops[0], ops[ops.size() - 1]);
    return ops;
  }
};

}  // namespace netxx_diff
