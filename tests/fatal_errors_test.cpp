// What a netxx program does when an "error" has no listener or an exception
// escapes, checked on real processes (fatal_errors_child): Node's report on
// stderr and exit status 1, as Node does, where netxx used to abort; a
// caller that catches, and an installed handler, keep working. Where Node
// v23.5.0 is at hand, its report of the same program is the reference: the
// same lines, less the JavaScript stack and source excerpt C++ has not.
#include <sys/wait.h>

#include <regex>
#include <sstream>

#include "net_test.hpp"
#include "node.hpp"

#ifndef NETXX_FATAL_ERRORS_CHILD
#error "NETXX_FATAL_ERRORS_CHILD: the path of fatal_errors_child (tests/CMakeLists.txt)"
#endif

namespace {

struct outcome {
  int exit_status = -1;  // -1: did not exit (signal, time-out)
  std::string out;       // stdout then stderr, merged
};

outcome run_child(const std::string& scenario, std::uint16_t port = 0) {
  auto r = netxx_test::run_program({NETXX_FATAL_ERRORS_CHILD, scenario, std::to_string(port)}, 20'000);
  INFO("child " << scenario << " printed:\n" << r.out);
  CHECK_FALSE(r.timed_out);
  if (WIFSIGNALED(r.status)) FAIL_CHECK("child " << scenario << " died of signal " << WTERMSIG(r.status));
  return {WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1, r.out};
}

// A listening socket on 127.0.0.1 (a port taken), closed when this goes.
struct taken_port {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  std::uint16_t port = 0;
  taken_port() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  taken_port(const taken_port&) = delete;
  taken_port& operator=(const taken_port&) = delete;
  ~taken_port() { ::close(fd); }
};

std::string refused_report(std::string_view address, std::uint16_t port, bool unlistened) {
  const std::string p = std::to_string(port);
  return "Error: connect ECONNREFUSED " + std::string(address) + ":" + p +
         (unlistened ? "\nEmitted 'error' event on Socket instance" : "") +
         " {\n"
         "  errno: -111,\n"
         "  code: 'ECONNREFUSED',\n"
         "  syscall: 'connect',\n"
         "  address: '" +
         std::string(address) +
         "',\n"
         "  port: " +
         p +
         "\n"
         "}\n";
}

// Node's report, or ours, reduced to the lines both have: no stack lines
// ("    at ..."), no source excerpt (what Node prints before the first blank
// line), no "Node.js v23.5.0" footer, and without the " at:" and " {" that
// Node hangs on stack lines.
std::vector<std::string> report_lines(const std::string& text, bool node) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  bool body = !node;
  static const std::regex stack_line(R"(^\s+at .*)");
  while (std::getline(in, line)) {
    if (!body) {
      body = line.empty();
      continue;
    }
    if (line == "started" || line.empty() || line.starts_with("Node.js v")) continue;
    if (std::regex_match(line, stack_line)) continue;
    for (std::string_view tail : {" at:", " {"})
      if (line.ends_with(tail)) line.resize(line.size() - tail.size());
    lines.push_back(line);
  }
  return lines;
}

// The child's report against Node's for the same program (skipped without Node).
void check_against_node(const std::string& ours, const std::string& js) {
  if (netxx_test::node_binary().empty()) {
    WARN("no Node comparison: " << netxx_test::node_unavailable());
    return;
  }
  const auto node = netxx_test::run_node({"-e", js}, 30'000);
  INFO("Node printed:\n" << node.out);
  CHECK(WIFEXITED(node.status));
  CHECK(WEXITSTATUS(node.status) == 1);
  CHECK(report_lines(ours, false) == report_lines(node.out, true));
}

}  // namespace

TEST_CASE("an unlistened socket \"error\": Node's report on stderr, exit status 1", "[fatal][errors]") {
  SECTION("127.0.0.1") {
    const auto port = netxx_test::unused_port(AF_INET);
    const auto r = run_child("socket-error", port);
    CHECK(r.exit_status == 1);
    CHECK(r.out == "started\n" + refused_report("127.0.0.1", port, true));
    check_against_node(r.out, "require('net').connect(" + std::to_string(port) + ", '127.0.0.1')");
  }
  SECTION("::1") {
    const auto port = netxx_test::unused_port(AF_INET6);
    const auto r = run_child("socket-error6", port);
    CHECK(r.exit_status == 1);
    CHECK(r.out == "started\n" + refused_report("::1", port, true));
    check_against_node(r.out, "require('net').connect(" + std::to_string(port) + ", '::1')");
  }
}

TEST_CASE("an unlistened server \"error\" (EADDRINUSE): Node's report naming the Server, exit status 1",
          "[fatal][errors]") {
  taken_port taken;
  const auto r = run_child("server-error", taken.port);
  const std::string p = std::to_string(taken.port);
  CHECK(r.exit_status == 1);
  CHECK(r.out ==
        "started\n"
        "Error: listen EADDRINUSE: address already in use 127.0.0.1:" +
            p +
            "\n"
            "Emitted 'error' event on Server instance {\n"
            "  code: 'EADDRINUSE',\n"
            "  errno: -98,\n"
            "  syscall: 'listen',\n"
            "  address: '127.0.0.1',\n"
            "  port: " +
            p +
            "\n"
            "}\n");
  check_against_node(r.out, "require('net').createServer().listen(" + p + ", '127.0.0.1')");
}

TEST_CASE("an exception out of the top-level task of `return net::run(task)`: reported, exit status 1",
          "[fatal][errors]") {
  SECTION("a netxx::error, as Node reports an unhandled rejection") {
    const auto port = netxx_test::unused_port(AF_INET);
    const auto r = run_child("task-throw", port);
    CHECK(r.exit_status == 1);
    CHECK(r.out == "started\n" + refused_report("127.0.0.1", port, false));
    check_against_node(r.out,
                       "const net = require('net'); (async () => { await new Promise((ok, fail) => "
                       "net.connect(" +
                           std::to_string(port) + ", '127.0.0.1', ok).on('error', fail)); })()");
  }
  SECTION("any other exception: its type and what()") {
    const auto r = run_child("task-throw-std");
    CHECK(r.exit_status == 1);
    CHECK(r.out == "started\nstd::runtime_error: boom\n");
  }
  SECTION("a caller that catches it has it, and the process goes on") {
    const auto port = netxx_test::unused_port(AF_INET);
    const auto r = run_child("task-caught", port);
    CHECK(r.exit_status == 0);
    CHECK(r.out == "started\ncaught: connect ECONNREFUSED 127.0.0.1:" + std::to_string(port) + "\n");
  }
}

TEST_CASE("a loop that cannot be made (NETXX_BACKEND names no backend): reported, exit status 1, no abort",
          "[fatal][errors]") {
  // net::run() makes the loop: its failure is uncaught like the task's own.
  const auto r = run_child("bad-backend");
  CHECK(r.exit_status == 1);
  CHECK(r.out ==
        "started\n"
        "TypeError [ERR_INVALID_ARG_VALUE]: NETXX_BACKEND=bogus is not a backend: allowed values are io_uring, "
        "uring, epoll (unset or empty: automatic) {\n"
        "  code: 'ERR_INVALID_ARG_VALUE'\n"
        "}\n");
}

TEST_CASE("an exception out of a spawned task or a listener ends the process as Node's does", "[fatal][errors]") {
  SECTION("spawned task") {
    const auto r = run_child("spawn-throw");
    CHECK(r.exit_status == 1);
    CHECK(r.out == "started\nstd::logic_error: escaped\n");
  }
  SECTION("a timer's listener, under net::run()") {
    const auto r = run_child("listener-throw");
    CHECK(r.exit_status == 1);
    CHECK(r.out == "started\nError [ERR_SOCKET_CLOSED]: Socket is closed {\n  code: 'ERR_SOCKET_CLOSED'\n}\n");
  }
}

TEST_CASE("set_unhandled_exception_handler still replaces the report and the exit", "[fatal][errors]") {
  const auto port = netxx_test::unused_port(AF_INET);
  const auto r = run_child("handler", port);
  CHECK(r.exit_status == 0);
  CHECK(r.out == "started\nrecorded: connect ECONNREFUSED 127.0.0.1:" + std::to_string(port) + "\nrun returned 0\n");
}

TEST_CASE("the report lists a netxx::error's fields as Node's inspect does", "[fatal][errors]") {
  using net::detail::inspect;
  CHECK(
      inspect(net::error::from_dns("getaddrinfo", net::make_error_code(net::errc::enotfound), "nowhere.invalid", -3008),
              "Socket") ==
      "Error: getaddrinfo ENOTFOUND nowhere.invalid\n"
      "Emitted 'error' event on Socket instance {\n"
      "  errno: -3008,\n"
      "  code: 'ENOTFOUND',\n"
      "  syscall: 'getaddrinfo',\n"
      "  hostname: 'nowhere.invalid'\n"
      "}");
  CHECK(inspect(net::error(net::errc::err_stream_write_after_end), "Socket") ==
        "Error [ERR_STREAM_WRITE_AFTER_END]: write after end\n"
        "Emitted 'error' event on Socket instance {\n"
        "  code: 'ERR_STREAM_WRITE_AFTER_END'\n"
        "}");
  CHECK(inspect(net::error(net::errc::err_socket_bad_port,
                           "Port should be >= 0 and < 65536. Received type number (-1).")) ==
        "RangeError [ERR_SOCKET_BAD_PORT]: Port should be >= 0 and < 65536. Received type number (-1). {\n"
        "  code: 'ERR_SOCKET_BAD_PORT'\n"
        "}");
  CHECK(inspect(net::error(net::errc::abort_err)) == "AbortError: The operation was aborted {\n  code: 'ABORT_ERR'\n}");
  CHECK(inspect(net::error::from_syscall("write", net::errno_code(EPIPE))) ==
        "Error: write EPIPE {\n  errno: -32,\n  code: 'EPIPE',\n  syscall: 'write'\n}");
  CHECK(inspect(net::error::from_connect(net::errno_code(ECONNREFUSED), "::1", 1, "::1", 45678)) ==
        "Error: connect ECONNREFUSED ::1:1 - Local (::1:45678) {\n"
        "  errno: -111,\n"
        "  code: 'ECONNREFUSED',\n"
        "  syscall: 'connect',\n"
        "  address: '::1',\n"
        "  port: 1,\n"
        "  localAddress: '::1',\n"
        "  localPort: 45678\n"
        "}");
  // Node's NodeAggregateError of a Happy Eyeballs connect that failed everywhere.
  CHECK(inspect(net::error::aggregate({net::error::from_connect(net::errno_code(ECONNREFUSED), "::1", 1),
                                       net::error::from_connect(net::errno_code(ECONNREFUSED), "127.0.0.1", 1)}),
                "Socket") ==
        "AggregateError [ECONNREFUSED]: \n"
        "Emitted 'error' event on Socket instance {\n"
        "  code: 'ECONNREFUSED',\n"
        "  [errors]: [\n"
        "    Error: connect ECONNREFUSED ::1:1 {\n"
        "      errno: -111,\n"
        "      code: 'ECONNREFUSED',\n"
        "      syscall: 'connect',\n"
        "      address: '::1',\n"
        "      port: 1\n"
        "    },\n"
        "    Error: connect ECONNREFUSED 127.0.0.1:1 {\n"
        "      errno: -111,\n"
        "      code: 'ECONNREFUSED',\n"
        "      syscall: 'connect',\n"
        "      address: '127.0.0.1',\n"
        "      port: 1\n"
        "    }\n"
        "  ]\n"
        "}");
}
