#pragma once
// Node's test/common, as far as the ported net tests use it: mustCall,
// mustNotCall, mustSucceed, expectsError, PIPE, hasIPv6, localhostIPv4. A
// ported test makes one `node_common common;` and ends with
// `common.run();`: the loop runs until nothing referenced is left (as a Node
// test process runs until its loop is empty), bounded in time, and then
// every mustCall is checked as Node checks them at exit.
//
// Assertions inside callbacks use CHECK, never REQUIRE: a REQUIRE throws,
// and an exception out of a listener is not a test failure but a crash,
// as in Node.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "net_test.hpp"

namespace node_test {

using namespace std::string_view_literals;

class node_common {
 public:
  node_common() {
    previous_ = netxx::set_unhandled_exception_handler(&on_uncaught);
    uncaught() = {};
  }
  node_common(const node_common&) = delete;
  node_common& operator=(const node_common&) = delete;
  ~node_common() { netxx::set_unhandled_exception_handler(previous_); }

  /// common.mustCall(fn, exact = 1): fn, counted; run() checks the count.
  template <typename F>
  auto must_call(F fn, int exact = 1, const char* what = "mustCall") {
    auto calls = add(what, exact, false);
    return [fn = std::move(fn), calls]<typename... A>(A&&... args) mutable -> decltype(auto)
      requires std::is_invocable_v<F&, A&&...>
    {
      ++*calls;
      return fn(std::forward<A>(args)...);
    };
  }
  /// common.mustCall() with no function: a listener that only counts.
  auto must_call(int exact = 1, const char* what = "mustCall") {
    auto calls = add(what, exact, false);
    return [calls](auto&&...) { ++*calls; };
  }
  /// common.mustCallAtLeast(fn, minimum = 1).
  template <typename F>
  auto must_call_at_least(F fn, int minimum = 1, const char* what = "mustCallAtLeast") {
    auto calls = add(what, minimum, true);
    return [fn = std::move(fn), calls]<typename... A>(A&&... args) mutable -> decltype(auto)
      requires std::is_invocable_v<F&, A&&...>
    {
      ++*calls;
      return fn(std::forward<A>(args)...);
    };
  }
  /// common.mustNotCall(msg).
  static auto must_not_call(std::string what = "mustNotCall") {
    return [what](auto&&...) { FAIL_CHECK("function should not have been called: " << what); };
  }
  /// common.mustSucceed(fn): a callback whose error argument must be empty.
  template <typename F>
  auto must_succeed(F fn, int exact = 1) {
    return must_call(
        [fn = std::move(fn)]<typename... A>(std::error_code ec, A&&... rest) mutable
          requires std::is_invocable_v<F&, A&&...>
        {
          CHECK_FALSE(ec);
          fn(std::forward<A>(rest)...);
        },
        exact, "mustSucceed");
  }
  auto must_succeed() {
    return must_call([](std::error_code ec) { CHECK_FALSE(ec); }, 1, "mustSucceed");
  }
  /// common.expectsError({code, message}): an "error" listener (called once)
  /// that checks Node's code and, when given, its message.
  auto expects_error(std::string code, std::string message = {}, int exact = 1) {
    return must_call(
        [code, message](const netxx::error& e) {
          CHECK(e.code_string() == code);
          if (!message.empty()) CHECK(e.message() == message);
        },
        exact, "expectsError");
  }

  /// Runs the loop until it is empty (bounded), then checks every mustCall,
  /// and that no exception or unhandled "error" escaped.
  void run(std::int64_t limit_ms = 20000) {
    netxx_test::run_bounded(limit_ms);
    verify();
  }
  /// The same for a test written as a coroutine.
  template <typename T>
  void run(netxx::task<T> t, std::int64_t limit_ms = 20000) {
    netxx_test::run_bounded(std::move(t), limit_ms);
    netxx_test::run_bounded(limit_ms);
    verify();
  }

  void verify() {
    for (const auto& c : checks_) {
      INFO(c.what << " (expected " << (c.at_least ? "at least " : "exactly ") << c.expected << ", actual "
                  << *c.calls << ")");
      if (c.at_least)
        CHECK(*c.calls >= c.expected);
      else
        CHECK(*c.calls == c.expected);
    }
    checks_.clear();
    for (const auto& m : uncaught()) FAIL_CHECK("uncaught: " << m);
    uncaught().clear();
  }

  /// process.nextTick(fn) (and setImmediate(fn)): fn later on this thread's
  /// loop, after the current callback; it keeps run() going until it ran.
  template <typename F>
  static void next_tick(F fn) {
    netxx::loop::current().post(std::move(fn));
  }

  /// assert.throws(fn, {code[, message]}): fn throws a netxx::error with
  /// Node's code and, when given, its message. (Node's `name`, the JS class,
  /// has no C++ form.)
  template <typename F>
  static void assert_throws(F&& fn, std::string_view code, std::string_view message = {}) {
    try {
      std::forward<F>(fn)();
      FAIL_CHECK("Missing expected exception (" << code << ")");
    } catch (const netxx::error& e) {
      CHECK(e.code_string() == code);
      if (!message.empty()) CHECK(e.message() == message);
    }
  }

  /// common.PIPE: a Unix socket path, fresh for each call.
  static std::string pipe_path() {
    static int n = 0;
    const auto dir = std::filesystem::temp_directory_path();
    const std::string p = (dir / ("netxx-node-test." + std::to_string(::getpid()) + "." + std::to_string(n++) + ".sock")).string();
    std::filesystem::remove(p);
    return p;
  }
  static constexpr std::string_view localhost_ipv4 = "127.0.0.1";
  /// common.hasIPv6: ::1 can be bound here.
  static bool has_ipv6() {
    static const bool yes = [] {
      const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return false;
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_loopback;
      const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      return ok;
    }();
    return yes;
  }

  /// common.expectsError({code, message}) as a write or end callback (its
  /// argument is a std::error_code there).
  auto expects_error_code(std::string code, std::string message = {}, int exact = 1) {
    return must_call(
        [code, message](std::error_code ec) {
          CHECK(netxx::code_string(ec) == code);
          if (!message.empty()) CHECK(ec.message() == message);
        },
        exact, "expectsError");
  }

  /// common.PORT (test/sequential's fixed port): a port free now, a fresh
  /// one per call (the system's pick for a bound and closed socket), so
  /// ports PORT + n become free_port() calls.
  static std::uint16_t free_port() {
    const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    socklen_t len = sizeof a;
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin6_port);
    ::close(fd);
    return port;
  }

  /// Messages of the exceptions (and unhandled "error"s) that escaped.
  static std::vector<std::string>& uncaught() {
    static std::vector<std::string> v;
    return v;
  }

 private:
  struct check {
    std::string what;
    int expected;
    bool at_least;
    std::shared_ptr<int> calls;
  };
  std::shared_ptr<int> add(const char* what, int n, bool at_least) {
    checks_.push_back({what, n, at_least, std::make_shared<int>(0)});
    return checks_.back().calls;
  }
  static void on_uncaught(std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      uncaught().push_back(x.what());
    } catch (...) {
      uncaught().push_back("(non-standard exception)");
    }
  }
  std::vector<check> checks_;
  netxx::detail::unhandled_exception_handler previous_ = nullptr;
};

}  // namespace node_test
