// Differential test: net::dns::lookup against Node v23.5.0's dns.lookup, the
// same cases through both, in the same place: each environment below is a
// network + mount namespace of its own (support/isolated.hpp: its own
// /etc/hosts, nsswitch.conf, resolv.conf = 127.0.0.1 of the namespace, only
// a loopback interface, with extra addresses so that AI_ADDRCONFIG sees an
// IPv4-only, IPv6-only, dual or bare machine). No query can leave it. A last
// run in this process's own namespaces looks up only localhost (IPv4 or
// unspecified, no hints), literals and bad arguments, which /etc/hosts or
// nothing at all answers.
//
// Every answer must be equal: addresses and their order, families, error
// codes, errno, messages, what throws. The one mapping: Node's (null, family)
// for the empty name is the C++ empty vector; both print it as "ok".
//
// NETXX_NODE23: the Node binary (skipped, exit 77, without it).

#include <fstream>
#include <sstream>

#include "isolated.hpp"
#include "net_test.hpp"

using net::dns::lookup_address;
using net::dns::lookup_options;
using net::dns::result_order;

namespace {

using netxx_test::env;

struct lookup_case {
  std::string host;
  lookup_options options;
};

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_case(const lookup_case& c) {
  std::string o = "{\"family\":" + std::to_string(c.options.family) + ",\"hints\":" + std::to_string(c.options.hints) +
                  ",\"all\":" + (c.options.all ? "true" : "false");
  if (c.options.order) o += ",\"order\":" + json_string(net::dns::to_string(*c.options.order));
  if (c.options.verbatim) o += std::string(",\"verbatim\":") + (*c.options.verbatim ? "true" : "false");
  return "[" + json_string(c.host) + "," + o + "}]";
}

// The corpus. `local_only`: what may be looked up outside a namespace.
std::vector<lookup_case> make_cases(bool local_only) {
  std::vector<lookup_case> cases;
  const int ac = net::dns::addrconfig, v4m = net::dns::v4mapped, all = net::dns::all;
  std::vector<std::string> hosts = {"localhost", "LOCALHOST", "127.0.0.1", "::1", "::ffff:127.0.0.1",
                                    "fe80::1%lo", "2001:DB8::1", ""};
  if (!local_only) {
    for (const char* h : {"ip6-localhost", "multi", "dup4", "b\xc3\xbc" "cher.test", "B\xc3\xbc" "cher\xe3\x80\x82test",
                          "netxx-test.invalid", "xn--zz", "XN--ZZ.test", "localhost."})
      hosts.emplace_back(h);
    hosts.push_back(std::string(256, 'a'));
    hosts.push_back(std::string(255, 'a'));
    hosts.push_back(std::string("localhost\0junk", 14));
  }
  const std::vector<int> families = local_only ? std::vector<int>{0, 4} : std::vector<int>{0, 4, 6};
  const std::vector<int> hint_sets = local_only ? std::vector<int>{0} : std::vector<int>{0, ac, v4m, v4m | all, ac | v4m};
  const std::optional<result_order> orders[] = {std::nullopt, result_order::ipv4first, result_order::ipv6first};
  for (const auto& h : hosts)
    for (int f : families)
      for (int hints : hint_sets)
        for (bool a : {false, true})
          for (auto o : orders) cases.push_back({h, {.family = f, .hints = hints, .all = a, .order = o}});
  for (const char* h : {"localhost", "::1"}) {
    cases.push_back({h, {.all = true, .verbatim = false}});
    cases.push_back({h, {.all = true, .verbatim = true}});
    cases.push_back({h, {.all = true, .order = result_order::verbatim, .verbatim = false}});
  }
  // Bad arguments (thrown, whatever the name).
  for (const char* h : {"localhost", "127.0.0.1", ""}) {
    cases.push_back({h, {.family = 5}});
    cases.push_back({h, {.family = -1}});
    cases.push_back({h, {.hints = 1024}});
    cases.push_back({h, {.hints = -1}});
    cases.push_back({h, {.family = 5, .hints = 2}});
    cases.push_back({h, {.family = 7, .hints = 64, .all = true}});
  }
  return cases;
}

std::string format(const std::optional<net::error>& err, const std::vector<lookup_address>& addrs) {
  if (err)
    return "err " + std::string(err->code_string()) + " errno=" + std::to_string(err->errno_value()) +
           " syscall=" + err->syscall() + " hostname=" + err->hostname() + " msg=" + err->message();
  std::string s = "ok";
  for (const auto& a : addrs) s += " " + a.address + "/" + std::to_string(a.family);
  return s;
}

// netxx's answers to the corpus, one line each, in order.
std::vector<std::string> answer_all(const std::vector<lookup_case>& cases) {
  std::vector<std::string> out;
  for (const auto& c : cases) {
    bool returned = false;
    std::string line;
    try {
      net::dns::lookup(c.host, c.options, [&](std::optional<net::error> err, std::vector<lookup_address> addrs) {
        line = (returned ? "" : "SYNC ") + format(err, addrs);
      });
      returned = true;
      net::run();
    } catch (const net::error& e) {
      line = "throw " + std::string(e.code_string()) + " msg=" + e.message();
    }
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

struct environment {
  const char* name;
  netxx_test::isolated_env env;
};

const char* extra_hosts =
    "127.0.0.2 multi\n::2 multi\n127.0.0.3 multi\n::ffff:127.0.0.4 multi\n1:0:0:1::1 multi\n"
    "127.0.0.5 dup4\n127.0.0.5 dup4\n"
    "127.0.0.9 xn--bcher-kva.test\n";
const char* debian_hosts =
    "127.0.0.1\tlocalhost\n127.0.1.1\tnetxx-box\n\n"
    "# The following lines are desirable for IPv6 capable hosts\n"
    "::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n";

std::string temp_file(const std::string& name) { return netxx_test::temp_path("dnsdiff-" + name); }

// Compares Node's lines with netxx's; reports every difference.
void compare(const std::string& where, const std::vector<lookup_case>& cases, const std::vector<std::string>& node,
             const std::vector<std::string>& ours) {
  INFO("environment: " << where);
  REQUIRE(node.size() == cases.size());
  REQUIRE(ours.size() == cases.size());
  int differences = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (node[i] == ours[i]) continue;
    if (++differences > 20) break;
    FAIL_CHECK("case " << json_case(cases[i]) << "\n  node:  " << node[i] << "\n  netxx: " << ours[i]);
  }
  CHECK(differences == 0);
  // The corpus means something here: addresses and errors both came back.
  const auto answered = std::count_if(node.begin(), node.end(), [](const std::string& l) { return l.rfind("ok ", 0) == 0; });
  const auto failed = std::count_if(node.begin(), node.end(), [](const std::string& l) { return l.rfind("err ", 0) == 0; });
  const auto thrown = std::count_if(node.begin(), node.end(), [](const std::string& l) { return l.rfind("throw ", 0) == 0; });
  CHECK(answered > 0);
  CHECK(thrown == 18);
  if (where != "local") CHECK(failed > 0);
  UNSCOPED_INFO(where << ": " << cases.size() << " cases, " << answered << " with addresses, " << failed
                      << " errors, " << thrown << " thrown");
}

}  // namespace

TEST_CASE("dns.lookup answers as Node v23.5.0 does, in isolated namespaces and with the local /etc/hosts",
          "[dns][differential]") {
  const std::string node = netxx_test::node_binary();
  if (node.empty()) NETXX_SKIP(netxx_test::node_unavailable());
  const std::string src = env("NETXX_SOURCE_DIR");
  if (src.empty()) NETXX_SKIP("NETXX_SOURCE_DIR is not set (CTest sets it): cannot find dns_driver.js");
  const std::string driver = src + "/tests/differential/dns_driver.js";
  const std::string exe = netxx_test::self_exe();
  REQUIRE(!exe.empty());

  auto run_both = [&](const std::string& where, const std::vector<lookup_case>& cases,
                      const netxx_test::isolated_env* isolated) {
    const std::string cases_path = temp_file(where + ".jsonl"), node_out = temp_file(where + ".node"),
                      ours_out = temp_file(where + ".netxx");
    {
      std::ofstream f(cases_path);
      for (const auto& c : cases) f << json_case(c) << "\n";
    }
    std::vector<std::string> node_lines, our_lines;
    if (isolated) {
      auto r = netxx_test::run_isolated(*isolated, {node, "--no-deprecation", driver, cases_path, node_out});
      if (r.refused) NETXX_SKIP(r.why);
      INFO(r.why << r.out);
      REQUIRE(r.ran);
      REQUIRE(r.status == 0);
      r = netxx_test::run_isolated(*isolated, {exe, "dns differential driver"},
                                   {"NETXX_DNS_DIFF_OUT=" + ours_out, "NETXX_DNS_DIFF_LOCAL=0"});
      INFO(r.why << r.out);
      REQUIRE(r.ran);
      REQUIRE(r.status == 0);
      node_lines = read_lines(node_out);
      our_lines = read_lines(ours_out);
    } else {
      const auto r = netxx_test::run_node({"--no-deprecation", driver, cases_path, node_out});
      INFO(r.out);
      REQUIRE(r.ok());
      node_lines = read_lines(node_out);
      our_lines = answer_all(cases);
    }
    for (const auto& p : {cases_path, node_out, ours_out}) std::remove(p.c_str());
    compare(where, cases, node_lines, our_lines);
  };

  const auto corpus = make_cases(false);
  const environment envs[] = {
      {"dual", {.hosts = std::string(debian_hosts) + extra_hosts, .lo_addresses = {"10.99.0.1", "fd99::1"}}},
      {"ipv4-only", {.hosts = std::string("127.0.0.1 localhost\n") + extra_hosts, .lo_addresses = {"10.99.0.1"}}},
      {"ipv6-only", {.hosts = std::string(debian_hosts) + extra_hosts, .lo_addresses = {"fd99::1"}}},
      {"bare, files only", {.hosts = "127.0.0.1 localhost\n", .nsswitch = "hosts: files\n"}},
  };
  for (const auto& e : envs) {
    SECTION(e.name) { run_both(e.name, corpus, &e.env); }
  }
  SECTION("this machine's /etc/hosts, localhost only") {
    if (!netxx_test::hosts_maps_localhost_to_127())
      NETXX_SKIP("/etc/hosts has no 127.0.0.1 localhost: looking it up could send a DNS query");
    run_both("local", make_cases(true), nullptr);
  }
}

// netxx's side in an isolated namespace: this executable, run again there.
TEST_CASE("dns differential driver", "[.dns_diff_driver]") {
  const std::string out = env("NETXX_DNS_DIFF_OUT");
  if (out.empty()) {
    SUCCEED("run only by the differential test, inside its namespace");
    return;
  }
  const auto lines = answer_all(make_cases(env("NETXX_DNS_DIFF_LOCAL") == "1"));
  std::ofstream f(out);
  for (const auto& l : lines) f << l << "\n";
  REQUIRE(f.good());
}
