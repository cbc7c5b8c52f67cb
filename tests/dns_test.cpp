// dns.lookup over the real getaddrinfo, with local names only.
//
// In this process's own namespaces the tests look up only what /etc/hosts
// answers (localhost, IPv4 or unspecified family, no hints) and what never
// reaches getaddrinfo (IP literals, the empty name, names IDNA refuses).
// Everything else (family 6, AI_ADDRCONFIG, names that are nowhere, a
// resolver that never answers) runs in a child in a network and mount
// namespace of its own (support/isolated.hpp): its own /etc/hosts,
// nsswitch.conf and resolv.conf (nameserver 127.0.0.1), only a loopback
// interface: no query can leave the machine. Those children re-run this
// executable on the hidden test "isolated child" with NETXX_DNS_SCENARIO set.
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <netxx/detail/idna.hpp>
#include <netxx/detail/thread_pool.hpp>

#include "isolated.hpp"
#include "net_test.hpp"

using net::dns::lookup_address;
using net::dns::lookup_options;
using net::dns::result_order;

namespace {

struct answer {
  int calls = 0;
  std::optional<net::error> err;
  std::vector<lookup_address> addrs;
};

// One lookup on `loop`, run to its answer (bounded by the caller's run).
template <typename Loop>
answer lookup_on(Loop& loop, std::string_view host, const lookup_options& o) {
  answer a;
  bool returned = false;
  net::dns::lookup(loop, host, o, [&](std::optional<net::error> err, std::vector<lookup_address> addrs) {
    CHECK(returned);  // never before lookup() returned
    ++a.calls;
    a.err = std::move(err);
    a.addrs = std::move(addrs);
  });
  returned = true;
  CHECK(a.calls == 0);
  loop.run();
  CHECK(a.calls == 1);
  return a;
}

// net::run(), failing the test (instead of hanging) after limit_ms.
void run_guarded(std::int64_t limit_ms = 20000) { netxx_test::run_bounded(limit_ms); }

answer lookup_now(std::string_view host, const lookup_options& o = {}) {
  return lookup_on(net::loop::current(), host, o);
}

std::string show(const std::vector<lookup_address>& v) {
  std::string s = "[";
  for (const auto& a : v) s += (s.size() > 1 ? ", " : "") + a.address + "/" + std::to_string(a.family);
  return s + "]";
}

// getaddrinfo called directly as Node calls it: the verbatim order.
std::vector<lookup_address> system_answer(const char* host, int family, int hints) {
  addrinfo req{};
  req.ai_family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : AF_UNSPEC;
  req.ai_socktype = SOCK_STREAM;
  req.ai_flags = hints;
  addrinfo* res = nullptr;
  std::vector<lookup_address> out;
  if (::getaddrinfo(host, nullptr, &req, &res) != 0) return out;
  for (addrinfo* p = res; p; p = p->ai_next) {
    char buf[INET6_ADDRSTRLEN];
    const void* src = p->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr)
                                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr);
    ::inet_ntop(p->ai_family, src, buf, sizeof buf);
    out.push_back({buf, family ? family : p->ai_family == AF_INET ? 4 : 6});
  }
  ::freeaddrinfo(res);
  return out;
}

void require_localhost_in_hosts() {
  if (!netxx_test::hosts_maps_localhost_to_127())
    NETXX_SKIP("/etc/hosts does not map localhost to 127.0.0.1: looking it up could send a DNS query");
}

void require_dns_error(const answer& a, std::string_view code, int uv_errno, std::string_view host) {
  REQUIRE(a.err.has_value());
  CHECK(a.addrs.empty());
  CHECK(a.err->code_string() == code);
  CHECK(a.err->what() == "getaddrinfo " + std::string(code) + " " + std::string(host));
  CHECK(a.err->syscall() == "getaddrinfo");
  CHECK(a.err->hostname() == host);
  CHECK(a.err->errno_value() == uv_errno);
}

// Runs scenario `name` of the hidden test below in an isolated namespace.
void in_namespace(const std::string& name, const netxx_test::isolated_env& env, int limit_seconds = 60,
                  double* seconds = nullptr) {
  const std::string exe = netxx_test::self_exe();
  REQUIRE(!exe.empty());
  auto r = netxx_test::run_isolated(env, {exe, "isolated child"}, {"NETXX_DNS_SCENARIO=" + name}, limit_seconds);
  if (r.refused) NETXX_SKIP(r.why);
  INFO("scenario " << name << ": " << r.why << "\n" << r.out);
  REQUIRE(r.ran);
  CHECK(r.status == 0);
  if (seconds) *seconds = r.seconds;
}

const char* debian_hosts =
    "127.0.0.1\tlocalhost\n"
    "127.0.1.1\tnetxx-box\n"
    "\n"
    "# The following lines are desirable for IPv6 capable hosts\n"
    "::1     localhost ip6-localhost ip6-loopback\n"
    "ff02::1 ip6-allnodes\n"
    "ff02::2 ip6-allrouters\n";

// A UDP socket on 127.0.0.1:53 of the namespace that reads nothing: the
// resolver's queries wait out its timeout there (resolv.conf options).
int blackhole_resolver() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

// Records on which thread the callback (and what it captures) was destroyed.
struct tracker {
  std::atomic<int>* destroyed;
  std::atomic<std::thread::id>* where;
  bool armed = true;
  tracker(std::atomic<int>* d, std::atomic<std::thread::id>* w) : destroyed(d), where(w) {}
  tracker(tracker&& o) noexcept : destroyed(o.destroyed), where(o.where) { o.armed = false; }
  tracker(const tracker&) = delete;
  ~tracker() {
    if (!armed) return;
    ++*destroyed;
    *where = std::this_thread::get_id();
  }
};

}  // namespace

// --- this process's namespaces: only what /etc/hosts answers, or no getaddrinfo at all ---

TEST_CASE("localhost resolves through /etc/hosts, family 4 and unspecified", "[dns]") {
  require_localhost_in_hosts();
  auto a = lookup_now("localhost", {.family = 4});
  REQUIRE_FALSE(a.err);
  CHECK(a.addrs == std::vector<lookup_address>{{"127.0.0.1", 4}});

  a = lookup_now("localhost", {.family = 4, .all = true});
  REQUIRE_FALSE(a.err);
  CHECK(a.addrs == system_answer("localhost", 4, 0));

  // Unspecified: 127.0.0.1, and ::1 too where /etc/hosts has it (Debian's
  // default); getaddrinfo's order, verbatim.
  a = lookup_now("localhost", {.all = true});
  REQUIRE_FALSE(a.err);
  INFO(show(a.addrs));
  CHECK(a.addrs == system_answer("localhost", 0, 0));
  CHECK(std::count(a.addrs.begin(), a.addrs.end(), lookup_address{"127.0.0.1", 4}) >= 1);
  for (const auto& x : a.addrs) CHECK((x == lookup_address{"127.0.0.1", 4} || x == lookup_address{"::1", 6}));

  a = lookup_now("localhost");
  REQUIRE_FALSE(a.err);
  REQUIRE(a.addrs.size() == 1);
  CHECK(a.addrs[0] == system_answer("localhost", 0, 0).at(0));

  // ASCII case does not matter (Node lowers it; /etc/hosts matching ignores it).
  a = lookup_now("LocalHost", {.family = 4});
  CHECK(a.addrs == std::vector<lookup_address>{{"127.0.0.1", 4}});
}

TEST_CASE("the orders: verbatim keeps getaddrinfo's, ipv4first and ipv6first split it stably", "[dns]") {
  require_localhost_in_hosts();
  const auto verbatim = system_answer("localhost", 0, 0);
  std::vector<lookup_address> v4, v6;
  for (const auto& a : verbatim) (a.family == 4 ? v4 : v6).push_back(a);
  auto cat = [](std::vector<lookup_address> a, const std::vector<lookup_address>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  CHECK(lookup_now("localhost", {.all = true, .order = result_order::verbatim}).addrs == verbatim);
  CHECK(lookup_now("localhost", {.all = true, .order = result_order::ipv4first}).addrs == cat(v4, v6));
  CHECK(lookup_now("localhost", {.all = true, .order = result_order::ipv6first}).addrs == cat(v6, v4));
  CHECK(lookup_now("localhost", {.all = true, .verbatim = false}).addrs == cat(v4, v6));
  CHECK(lookup_now("localhost", {.all = true, .order = result_order::verbatim, .verbatim = false}).addrs == verbatim);
  CHECK(lookup_now("localhost", {.order = result_order::ipv6first}).addrs.at(0) == cat(v6, v4).at(0));

  CHECK(net::dns::get_default_result_order() == result_order::verbatim);  // Node v23's default
  net::dns::set_default_result_order(result_order::ipv6first);
  CHECK(net::dns::get_default_result_order() == result_order::ipv6first);
  CHECK(lookup_now("localhost", {.all = true}).addrs == cat(v6, v4));
  CHECK(lookup_now("localhost", {.all = true, .verbatim = true}).addrs == verbatim);
  net::dns::set_default_result_order(result_order::verbatim);
  CHECK(lookup_now("localhost", {.all = true}).addrs == verbatim);
  CHECK_THROWS_AS(net::dns::set_default_result_order(static_cast<result_order>(7)), net::error);
  CHECK(net::dns::to_string(result_order::ipv4first) == "ipv4first");
}

TEST_CASE("IP literals answer themselves with their own family, whatever the options", "[dns]") {
  struct lit {
    const char* text;
    int family;
  };
  for (lit l : {lit{"127.0.0.1", 4}, lit{"10.1.2.3", 4}, lit{"::1", 6}, lit{"::ffff:127.0.0.1", 6},
                lit{"fe80::1%eth0", 6}, lit{"2001:DB8::1", 6}}) {
    CAPTURE(l.text);
    for (int family : {0, 4, 6}) {
      for (bool all : {false, true}) {
        auto a = lookup_now(l.text, {.family = family, .hints = net::dns::addrconfig, .all = all});
        REQUIRE_FALSE(a.err);
        // Node returns the text as given (not canonicalised) and its own family,
        // even when `family` asks for the other one.
        CHECK(a.addrs == std::vector<lookup_address>{{l.text, l.family}});
      }
    }
  }
}

TEST_CASE("the empty host name answers no error and no address", "[dns]") {
  // Node: callback(null, null, family === 6 ? 6 : 4), or (null, []) with all.
  for (int family : {0, 4, 6})
    for (bool all : {false, true}) {
      auto a = lookup_now("", {.family = family, .all = all});
      CHECK_FALSE(a.err);
      CHECK(a.addrs.empty());
    }
}

TEST_CASE("bad family or hints throw ERR_INVALID_ARG_VALUE from lookup itself, as Node throws", "[dns]") {
  auto expect_throw = [](std::string_view host, lookup_options o, const std::string& message) {
    CAPTURE(host, message);
    bool called = false;
    try {
      net::dns::lookup(host, o, [&](auto, auto) { called = true; });
      FAIL("no exception");
    } catch (const net::error& e) {
      CHECK(e.code_string() == "ERR_INVALID_ARG_VALUE");
      CHECK(e.what() == message);
    }
    run_guarded();
    CHECK_FALSE(called);
  };
  expect_throw("localhost", {.family = 5}, "The property 'options.family' must be one of: 0, 4, 6. Received 5");
  expect_throw("localhost", {.family = -1}, "The property 'options.family' must be one of: 0, 4, 6. Received -1");
  expect_throw("localhost", {.hints = 1024}, "The argument 'hints' is invalid. Received 1024");
  // Node reads hints as an unsigned 32-bit number (hints >>> 0).
  expect_throw("localhost", {.hints = -1}, "The argument 'hints' is invalid. Received 4294967295");
  // hints are checked before family; literals and the empty name are checked too.
  expect_throw("localhost", {.family = 5, .hints = 2}, "The argument 'hints' is invalid. Received 2");
  expect_throw("127.0.0.1", {.hints = 99999}, "The argument 'hints' is invalid. Received 99999");
  expect_throw("", {.family = 5}, "The property 'options.family' must be one of: 0, 4, 6. Received 5");
  // Every valid combination is accepted.
  for (int h : {0, net::dns::addrconfig, net::dns::v4mapped, net::dns::all,
                net::dns::addrconfig | net::dns::v4mapped | net::dns::all})
    CHECK_FALSE(net::dns::validate({.family = 6, .hints = h}));
}

TEST_CASE("IDNA: what getaddrinfo is given for a name", "[dns][idna]") {
  using net::detail::hostname_to_ascii;
  CHECK(hostname_to_ascii("localhost") == "localhost");
  CHECK(hostname_to_ascii("LOCALHOST") == "localhost");
  CHECK(hostname_to_ascii("localhost.") == "localhost.");
  CHECK(hostname_to_ascii("b\xc3\xbc" "cher.test") == "xn--bcher-kva.test");
  CHECK(hostname_to_ascii("\xe4\xb8\xad\xe6\x96\x87.test") == "xn--fiq228c.test");
  CHECK(hostname_to_ascii("\xc3\xbc") == "xn--tda");
  CHECK(hostname_to_ascii("a\xe3\x80\x82" "b") == "a.b");  // U+3002 IDEOGRAPHIC FULL STOP
  CHECK(hostname_to_ascii("xn--bcher-kva.test") == "xn--bcher-kva.test");
  CHECK(hostname_to_ascii("XN--BCHER-KVA.test") == "xn--bcher-kva.test");
  CHECK(hostname_to_ascii("a b") == "a b");      // ASCII passes as it is (getaddrinfo judges)
  CHECK(hostname_to_ascii("foo_bar") == "foo_bar");
  CHECK(hostname_to_ascii(std::string_view("a\0b", 3)) == "a");  // a C string stops at NUL
  CHECK(hostname_to_ascii(std::string(255, 'a')) == std::string(255, 'a'));
  CHECK_FALSE(hostname_to_ascii(std::string(256, 'a')));
  CHECK_FALSE(hostname_to_ascii("xn--zz"));
  CHECK_FALSE(hostname_to_ascii("xn--"));
  CHECK_FALSE(hostname_to_ascii("xn---a"));
  CHECK(hostname_to_ascii("xn--a-") == "xn--a-");  // decodes to "a": ada 2.9.2 accepts it (Node: ENOTFOUND)
  CHECK_FALSE(hostname_to_ascii("xn--abc"));  // valid Punycode of C1 controls, which UTS #46 disallows
  CHECK_FALSE(hostname_to_ascii("\xc0\xaf"));  // overlong
  CHECK_FALSE(hostname_to_ascii("\xed\xa0\x80"));  // surrogate
  // Node's punycode.encode() of the same strings, and back.
  struct vec {
    std::u32string text;
    const char* puny;
  };
  for (const vec& v : {vec{U"\u00fc", "tda"}, vec{U"b\u00fccher", "bcher-kva"}, vec{U"\u4e2d\u6587", "fiq228c"},
                       vec{U"\U0001F600x", "x-iv3s"}, vec{U"\u00e9t\u00e9", "t-9fab"},
                       vec{U"\u3072\u3089\u304c\u306a", "v8j0cwa6g"},
                       vec{U"\u30c9\u30e1\u30a4\u30f3\u540d\u4f8b", "eckwd4c7cu47r2wf"}, vec{U"abc", "abc-"}}) {
    CHECK(net::detail::punycode_encode(v.text) == v.puny);
    CHECK(net::detail::punycode_decode(v.puny) == v.text);
  }
  CHECK_FALSE(net::detail::punycode_decode("zz"));
  CHECK(net::detail::punycode_decode("-a") == std::u32string(1, U'\u0080'));  // ada: a leading '-' delimits
}

TEST_CASE("a callback never runs before lookup returns", "[dns]") {
  require_localhost_in_hosts();
  int answered = 0;
  bool returned[4] = {};
  const char* hosts[4] = {"localhost", "127.0.0.1", "::1", ""};
  for (int i = 0; i < 4; ++i) {
    net::dns::lookup(hosts[i], {.family = 4}, [&, i](auto, auto) {
      CHECK(returned[i]);
      ++answered;
    });
    returned[i] = true;
  }
  CHECK(answered == 0);
  run_guarded();
  CHECK(answered == 4);
}

TEST_CASE("200 concurrent lookups are all answered, on at most UV_THREADPOOL_SIZE threads", "[dns]") {
  require_localhost_in_hosts();
  constexpr int n = 200;
  int answered = 0, good = 0;
  for (int i = 0; i < n; ++i)
    net::dns::lookup("localhost", {.family = 4}, [&](std::optional<net::error> err, std::vector<lookup_address> a) {
      ++answered;
      if (!err && a == std::vector<lookup_address>{{"127.0.0.1", 4}}) ++good;
    });
  run_guarded();  // returns once every answer is in
  CHECK(answered == n);
  CHECK(good == n);
  CHECK(net::detail::thread_pool::threads() >= 1);
  CHECK(net::detail::thread_pool::threads() <= net::dns::threadpool_size());
  const char* env = std::getenv("UV_THREADPOOL_SIZE");
  CHECK(net::dns::threadpool_size() == net::detail::threadpool_size_from(env));
}

TEST_CASE("UV_THREADPOOL_SIZE is read as libuv reads it", "[dns]") {
  using net::detail::threadpool_size_from;
  CHECK(threadpool_size_from(nullptr) == 4);
  CHECK(threadpool_size_from("8") == 8);
  CHECK(threadpool_size_from("0") == 1);
  CHECK(threadpool_size_from("abc") == 1);
  CHECK(threadpool_size_from("1024") == 1024);
  CHECK(threadpool_size_from("5000") == 1024);
  CHECK(threadpool_size_from("-1") == 1024);  // libuv keeps it unsigned
}

TEST_CASE("run() stays alive while a lookup is in flight, and only that long", "[dns]") {
  require_localhost_in_hosts();
  auto& loop = net::loop::current();
  REQUIRE_FALSE(loop.alive());
  bool answered = false;
  net::dns::lookup("localhost", {.family = 4}, [&](auto, auto) { answered = true; });
  CHECK(loop.alive());
  run_guarded();
  CHECK(answered);
  CHECK_FALSE(loop.alive());
}

TEST_CASE("the awaitable form gives the addresses or throws the error", "[dns][awaitable]") {
  require_localhost_in_hosts();
  auto body = []() -> net::task<> {
    std::vector<lookup_address> a = co_await net::dns::lookup("localhost", {.family = 4});
    CHECK(a == std::vector<lookup_address>{{"127.0.0.1", 4}});
    a = co_await net::dns::lookup("::1");
    CHECK(a == std::vector<lookup_address>{{"::1", 6}});
    a = co_await net::dns::lookup(net::loop::current(), "127.0.0.1", {.all = true});
    CHECK(a == std::vector<lookup_address>{{"127.0.0.1", 4}});
    // (An error of the lookup itself is thrown as well: scenario "notfound-files".)
    std::string thrown;
    try {
      co_await net::dns::lookup("localhost", {.family = 7});
    } catch (const net::error& e) {
      thrown = e.code_string();
    }
    CHECK(thrown == "ERR_INVALID_ARG_VALUE");
    // Started at once (like Node's promise): already answered when awaited later.
    auto early = net::dns::lookup("localhost", {.family = 4});
    co_await net::sleep(50);
    a = co_await early;
    CHECK(a == std::vector<lookup_address>{{"127.0.0.1", 4}});
    // Dropped before the answer: the answer goes nowhere.
    { auto dropped = net::dns::lookup("localhost", {.family = 4}); }
  };
  netxx_test::run_bounded(body());
  run_guarded();
}

TEST_CASE("a loop with a named backend, and a user lookup function of lookup_function's type", "[dns]") {
  require_localhost_in_hosts();
  net::basic_loop<net::epoll_backend> loop;
  auto a = lookup_on(loop, "localhost", {.family = 4});
  CHECK(a.addrs == std::vector<lookup_address>{{"127.0.0.1", 4}});
  // What net.connect's `lookup` option holds: here one that forwards to dns.lookup.
  net::dns::lookup_function fn = [](std::string_view host, const lookup_options& o, net::dns::lookup_callback cb) {
    net::dns::lookup(host, o, std::move(cb));
  };
  std::vector<lookup_address> got;
  fn("::1", {}, [&](std::optional<net::error>, std::vector<lookup_address> v) { got = std::move(v); });
  run_guarded();
  CHECK(got == std::vector<lookup_address>{{"::1", 6}});
}

TEST_CASE("a loop destroyed before its lookup answers drops the callback on its own thread", "[dns]") {
  require_localhost_in_hosts();
  std::atomic<int> destroyed{0}, called{0};
  std::atomic<std::thread::id> where{};
  std::thread::id loop_thread;
  std::thread t([&] {
    loop_thread = std::this_thread::get_id();
    net::basic_loop<net::epoll_backend> loop;
    for (int i = 0; i < 20; ++i)
      net::dns::lookup(loop, "localhost", {.family = 4},
                       [tr = tracker(&destroyed, &where), &called](auto, auto) { ++called; });
    // And this thread's own loop, destroyed at thread exit.
    net::dns::lookup("localhost", {.family = 4}, [tr = tracker(&destroyed, &where), &called](auto, auto) { ++called; });
  });
  t.join();
  CHECK(destroyed == 21);
  CHECK(where.load() == loop_thread);
  // The workers finish and find the loops gone; nothing is posted anywhere.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(called == 0);
}

TEST_CASE("a forked child resolves on a pool of its own", "[dns]") {
  require_localhost_in_hosts();
  CHECK(lookup_now("localhost", {.family = 4}).addrs.size() == 1);  // the pool runs
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // A new loop: the inherited one shares its kernel objects with the parent.
    net::basic_loop<net::epoll_backend> loop;
    int ok = 0;
    net::dns::lookup(loop, "localhost", {.family = 4}, [&](std::optional<net::error> e, std::vector<lookup_address> a) {
      ok = !e && a.size() == 1 && a[0].address == "127.0.0.1";
    });
    auto guard = net::detail::monotonic_ms();
    while (loop.alive() && net::detail::monotonic_ms() - guard < 10000) loop.turn();
    ::_exit(ok ? 0 : 1);
  }
  int ws = 0;
  const auto start = std::chrono::steady_clock::now();
  while (::waitpid(pid, &ws, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(20)) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &ws, 0);
      FAIL("the child hangs");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(WIFEXITED(ws));
  CHECK(WEXITSTATUS(ws) == 0);
}

// --- isolated namespaces: getaddrinfo may try the resolver, which is 127.0.0.1 in there ---

TEST_CASE("Debian's /etc/hosts: localhost is 127.0.0.1 and ::1; family, hints and orders", "[dns][isolated]") {
  in_namespace("debian", {.hosts = debian_hosts, .lo_addresses = {"10.99.0.1", "fd99::1"}});
}

TEST_CASE("an /etc/hosts with localhost as 127.0.0.1 only", "[dns][isolated]") {
  in_namespace("v4only", {.hosts = "127.0.0.1 localhost\n", .lo_addresses = {"10.99.0.1"}});
}

TEST_CASE("AI_ADDRCONFIG on a machine with IPv6 only, and with no address at all", "[dns][isolated]") {
  in_namespace("v6only", {.hosts = debian_hosts, .lo_addresses = {"fd99::1"}});
  in_namespace("noaddr", {.hosts = debian_hosts});
}

TEST_CASE("duplicates and several addresses stay as getaddrinfo gives them; IDNA names", "[dns][isolated]") {
  in_namespace("dups", {.hosts = "127.0.0.1 localhost\n127.0.0.1 localhost\n::1 localhost\n"
                                 "127.0.0.2 multi\n::2 multi\n127.0.0.3 multi\n::ffff:127.0.0.4 multi\n"
                                 "127.0.0.9 xn--bcher-kva.test\n",
                        .lo_addresses = {"10.99.0.1", "fd99::1"}});
}

TEST_CASE("names libuv refuses before getaddrinfo are EINVAL", "[dns][isolated]") { in_namespace("einval", {}); }

TEST_CASE("a name found nowhere: EAI_AGAIN when the resolver cannot be reached, ENOTFOUND from files alone",
          "[dns][isolated]") {
  in_namespace("notfound-dns", {});
  in_namespace("notfound-files", {.nsswitch = "hosts: files\n", .lo_addresses = {"10.99.0.1"}});
}

TEST_CASE("a resolver that never answers: run() waits for it, a destroyed loop does not", "[dns][isolated]") {
  in_namespace("slow", {});
}

TEST_CASE("exit with a lookup in flight neither hangs nor leaks", "[dns][isolated]") {
  double seconds = 0;
  in_namespace("exit-in-flight", {.resolv = "nameserver 127.0.0.1\noptions timeout:8 attempts:1\n"}, 60, &seconds);
  CHECK(seconds < 4);  // the resolver would take 8 s
}

// --- the scenarios, run inside the namespace ---

TEST_CASE("isolated child", "[.isolated_child]") {
  const char* scenario_env = std::getenv("NETXX_DNS_SCENARIO");
  if (!scenario_env) {
    SUCCEED("run only by the [isolated] tests, inside their namespace");
    return;
  }
  const std::string scenario = scenario_env;
  using V = std::vector<lookup_address>;
  const int addrconfig = net::dns::addrconfig, v4mapped = net::dns::v4mapped, all_flag = net::dns::all;

  if (scenario == "debian") {
    for (int hints : {0, addrconfig}) {
      CAPTURE(hints);
      const V verbatim = system_answer("localhost", 0, hints);
      INFO(show(verbatim));
      CHECK(std::count(verbatim.begin(), verbatim.end(), lookup_address{"127.0.0.1", 4}) == 1);
      CHECK(std::count(verbatim.begin(), verbatim.end(), lookup_address{"::1", 6}) == 1);
      CHECK(lookup_now("localhost", {.hints = hints, .all = true}).addrs == verbatim);
      CHECK(lookup_now("localhost", {.hints = hints}).addrs == V{verbatim.at(0)});
      CHECK(lookup_now("localhost", {.hints = hints, .all = true, .order = result_order::ipv4first}).addrs ==
            (V{{"127.0.0.1", 4}, {"::1", 6}}));
      CHECK(lookup_now("localhost", {.hints = hints, .all = true, .order = result_order::ipv6first}).addrs ==
            (V{{"::1", 6}, {"127.0.0.1", 4}}));
      CHECK(lookup_now("localhost", {.family = 6, .hints = hints, .all = true}).addrs == V{{"::1", 6}});
      // glibc reads the "::1 localhost" line as 127.0.0.1 for an IPv4 lookup:
      // 127.0.0.1 twice. Node keeps duplicates, so does netxx.
      const V v4 = lookup_now("localhost", {.family = 4, .hints = hints, .all = true}).addrs;
      CHECK(v4 == system_answer("localhost", 4, hints));
      CHECK(v4.size() >= 1);
      for (const auto& a : v4) CHECK(a == lookup_address{"127.0.0.1", 4});
    }
    // V4MAPPED adds nothing when there is IPv6; with ALL, the mapped IPv4 too.
    CHECK(lookup_now("localhost", {.family = 6, .hints = v4mapped, .all = true}).addrs == V{{"::1", 6}});
    const V both = lookup_now("localhost", {.family = 6, .hints = v4mapped | all_flag, .all = true}).addrs;
    INFO(show(both));
    CHECK(both == system_answer("localhost", 6, v4mapped | all_flag));
    CHECK(std::count(both.begin(), both.end(), lookup_address{"::1", 6}) == 1);
    CHECK(std::count(both.begin(), both.end(), lookup_address{"::ffff:127.0.0.1", 6}) >= 1);
    CHECK(lookup_now("ip6-localhost", {.all = true}).addrs == V{{"::1", 6}});
  } else if (scenario == "v4only") {
    CHECK(lookup_now("localhost", {.all = true}).addrs == V{{"127.0.0.1", 4}});
    CHECK(lookup_now("localhost", {.hints = addrconfig, .all = true}).addrs == V{{"127.0.0.1", 4}});
    // IPv6 asked for, none in /etc/hosts: the resolver is asked and cannot answer.
    require_dns_error(lookup_now("localhost", {.family = 6}), "EAI_AGAIN", -3001, "localhost");
    // ... unless IPv4-mapped addresses will do.
    CHECK(lookup_now("localhost", {.family = 6, .hints = v4mapped, .all = true}).addrs ==
          V{{"::ffff:127.0.0.1", 6}});
    // No IPv6 configured here: AI_ADDRCONFIG refuses IPv6 at once.
    require_dns_error(lookup_now("localhost", {.family = 6, .hints = addrconfig}), "ENOTFOUND", -3008, "localhost");
  } else if (scenario == "v6only") {
    // Unspecified with AI_ADDRCONFIG narrows to IPv6.
    CHECK(lookup_now("localhost", {.hints = addrconfig, .all = true}).addrs == V{{"::1", 6}});
    require_dns_error(lookup_now("localhost", {.family = 4, .hints = addrconfig}), "ENOTFOUND", -3008, "localhost");
    CHECK(lookup_now("localhost", {.all = true}).addrs == system_answer("localhost", 0, 0));
  } else if (scenario == "noaddr") {
    // Nothing configured but loopback: AI_ADDRCONFIG does not narrow an
    // unspecified family, and refuses a given one.
    CHECK(lookup_now("localhost", {.hints = addrconfig, .all = true}).addrs == system_answer("localhost", 0, addrconfig));
    require_dns_error(lookup_now("localhost", {.family = 4, .hints = addrconfig}), "ENOTFOUND", -3008, "localhost");
    require_dns_error(lookup_now("localhost", {.family = 6, .hints = addrconfig}), "ENOTFOUND", -3008, "localhost");
  } else if (scenario == "dups") {
    for (int family : {0, 4, 6})
      for (const char* host : {"localhost", "multi"}) {
        CAPTURE(family, host);
        const V got = lookup_now(host, {.family = family, .all = true}).addrs;
        INFO(show(got));
        CHECK(got == system_answer(host, family, 0));  // nothing merged, nothing reordered
      }
    const V multi = lookup_now("multi", {.all = true, .order = result_order::ipv4first}).addrs;
    V v4, v6;
    for (const auto& a : system_answer("multi", 0, 0)) (a.family == 4 ? v4 : v6).push_back(a);
    v4.insert(v4.end(), v6.begin(), v6.end());
    CHECK(multi == v4);
    CHECK(lookup_now("b\xc3\xbc" "cher.test", {.all = true}).addrs == V{{"127.0.0.9", 4}});
    CHECK(lookup_now("B\xc3\xbc" "cher\xe3\x80\x82TEST", {.family = 4}).addrs == V{{"127.0.0.9", 4}});
  } else if (scenario == "einval") {
    // Names libuv refuses before getaddrinfo: IDNA failures, 256 bytes or more.
    require_dns_error(lookup_now("xn--zz"), "EINVAL", -22, "xn--zz");
    require_dns_error(lookup_now("XN--ZZ.test", {.family = 4, .all = true}), "EINVAL", -22, "XN--ZZ.test");
    require_dns_error(lookup_now(std::string(256, 'a')), "EINVAL", -22, std::string(256, 'a'));
    require_dns_error(lookup_now("bad\xff.test"), "EINVAL", -22, "bad\xff.test");  // not UTF-8
    // 255 bytes go to getaddrinfo, which refuses a label over 63 bytes itself.
    require_dns_error(lookup_now(std::string(255, 'a')), "ENOTFOUND", -3008, std::string(255, 'a'));
  } else if (scenario == "notfound-dns") {
    require_dns_error(lookup_now("netxx-test.invalid"), "EAI_AGAIN", -3001, "netxx-test.invalid");
    require_dns_error(lookup_now("netxx-test.invalid", {.family = 6, .all = true}), "EAI_AGAIN", -3001,
                      "netxx-test.invalid");
  } else if (scenario == "notfound-files") {
    require_dns_error(lookup_now("netxx-test.invalid"), "ENOTFOUND", -3008, "netxx-test.invalid");
    require_dns_error(lookup_now("netxx-test.invalid", {.family = 4, .all = true}), "ENOTFOUND", -3008,
                      "netxx-test.invalid");
    auto body = []() -> net::task<std::string> {
      try {
        co_await net::dns::lookup("netxx-test.invalid", {.family = 4});
      } catch (const net::error& e) {
        co_return std::string(e.what());
      }
      co_return "";
    };
    CHECK(netxx_test::run_bounded(body()) == "getaddrinfo ENOTFOUND netxx-test.invalid");
  } else if (scenario == "slow") {
    const int sink = blackhole_resolver();
    // run() stays until the answer, which takes the resolver's timeout (1 s).
    const auto t0 = std::chrono::steady_clock::now();
    answer a;
    net::dns::lookup("slow.test", {.family = 4}, [&](std::optional<net::error> e, V v) {
      ++a.calls;
      a.err = std::move(e);
      a.addrs = std::move(v);
    });
    run_guarded();
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(a.calls == 1);
    CHECK(waited > 0.5);
    require_dns_error(a, "EAI_AGAIN", -3001, "slow.test");
    // Loops destroyed while their lookups wait on the resolver: the callbacks
    // go with the loop, on its thread, and are never called.
    std::atomic<int> destroyed{0}, called{0};
    std::atomic<std::thread::id> where{};
    std::thread::id loop_thread;
    std::thread t([&] {
      loop_thread = std::this_thread::get_id();
      net::basic_loop<net::epoll_backend> loop;
      net::dns::lookup(loop, "slow.test", {.family = 4}, [tr = tracker(&destroyed, &where), &called](auto, auto) { ++called; });
      net::dns::lookup("slow.test", {.family = 4}, [tr = tracker(&destroyed, &where), &called](auto, auto) { ++called; });
    });
    t.join();
    CHECK(destroyed == 2);
    CHECK(where.load() == loop_thread);
    // The workers come back from the resolver to loops that are gone.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    CHECK(called == 0);
    ::close(sink);
  } else if (scenario == "exit-in-flight") {
    blackhole_resolver();
    bool called = false;
    net::dns::lookup("slow.test", {.family = 4}, [&](auto, auto) { called = true; });
    net::loop::current().turn(false);
    // Long enough for a worker to be inside getaddrinfo, waiting on the resolver.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    net::loop::current().turn(false);
    CHECK_FALSE(called);
    // Returns now: the loop goes at thread exit, the pool at process exit,
    // with its worker still waiting on the resolver.
  } else {
    FAIL("unknown scenario " << scenario);
  }
}
