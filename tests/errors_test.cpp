// The error model: errno and Node's codes behind one std::error_code.
#include <set>
#include <string_view>

#include "net_test.hpp"

TEST_CASE("system errors carry Node's code strings", "[errors]") {
  CHECK(net::code_string(net::errno_code(ECONNREFUSED)) == "ECONNREFUSED");
  CHECK(net::code_string(net::errno_code(EADDRINUSE)) == "EADDRINUSE");
  CHECK(net::code_string(net::errno_code(ECONNRESET)) == "ECONNRESET");
  CHECK(net::code_string(net::errno_code(EPIPE)) == "EPIPE");
  CHECK(net::code_string(net::errno_code(EOPNOTSUPP)) == "ENOTSUP");  // libuv's name
  CHECK(net::code_string(std::make_error_code(std::errc::timed_out)) == "ETIMEDOUT");
  CHECK(net::code_string({}) == "");
}

TEST_CASE("Node's own codes form the netxx category and compare with errc", "[errors]") {
  std::error_code ec = net::errc::err_server_already_listen;
  CHECK(ec.category().name() == std::string("netxx"));
  CHECK(net::code_string(ec) == "ERR_SERVER_ALREADY_LISTEN");
  CHECK(net::code_string(net::errc::abort_err) == "ABORT_ERR");
  CHECK(net::code_string(net::errc::err_socket_closed) == "ERR_SOCKET_CLOSED");
  CHECK(net::code_string(net::errc::err_ip_blocked) == "ERR_IP_BLOCKED");
  CHECK(ec == net::errc::err_server_already_listen);
  CHECK(ec != net::errc::abort_err);
  CHECK(ec.message() == "Listen method has been called more than once without closing.");
}

TEST_CASE("a failed system call reads as Node words it", "[errors]") {
  auto e = net::error::from_syscall("connect", net::errno_code(ECONNREFUSED), "127.0.0.1", 9);
  CHECK(std::string(e.what()) == "connect ECONNREFUSED 127.0.0.1:9");
  CHECK(e.code_string() == "ECONNREFUSED");
  CHECK(e.syscall() == "connect");
  CHECK(e.address() == "127.0.0.1");
  CHECK(e.port() == 9);
  CHECK(e.errno_value() == -ECONNREFUSED);

  auto l = net::error::from_uv("listen", net::errno_code(EADDRINUSE), "::", 8124);
  CHECK(std::string(l.what()) == "listen EADDRINUSE: address already in use :::8124");
  auto p = net::error::from_uv("listen", net::errno_code(EACCES), "/root/x.sock");
  CHECK(std::string(p.what()) == "listen EACCES: permission denied /root/x.sock");
  // Port 0 is left out, as Node leaves it out.
  auto z = net::error::from_syscall("connect", net::errno_code(ECONNREFUSED), "127.0.0.1", 0);
  CHECK(std::string(z.what()) == "connect ECONNREFUSED 127.0.0.1");
}

TEST_CASE("netxx::error is a std::system_error whose what() is Node's message", "[errors]") {
  try {
    throw net::error(net::errc::err_socket_bad_port, "Port should be >= 0 and < 65536. Received type number (70000).");
  } catch (const std::system_error& e) {
    CHECK(e.code() == net::errc::err_socket_bad_port);
    CHECK(std::string(e.what()) == "Port should be >= 0 and < 65536. Received type number (70000).");
  }
  net::error plain(net::errc::abort_err);
  CHECK(std::string(plain.what()) == "The operation was aborted");
  CHECK(plain.errno_value() == 0);
}

TEST_CASE("every errc has a code string and a message, and no two share a code string", "[errors]") {
  // errc_table is generated from the same list as the enum: walking it walks every errc.
  std::set<std::string_view> codes;
  int expected_value = 1;
  for (const auto& row : net::detail::errc_table) {
    CAPTURE(static_cast<int>(row.value), row.code);
    CHECK(static_cast<int>(row.value) == expected_value++);  // 1, 2, ...: 0 stays success
    CHECK_FALSE(row.code.empty());
    CHECK_FALSE(row.message.empty());
    CHECK(codes.insert(row.code).second);
    const std::error_code ec = row.value;
    CHECK(net::code_string(ec) == row.code);
    CHECK(ec.message() == row.message);
    CHECK(std::string(net::error(row.value).what()) == row.message);
  }
  CHECK(codes.size() == std::size(net::detail::errc_table));
  std::set<std::string_view> names;
  std::set<int> values;
  for (const auto& row : net::detail::errno_table) {
    CAPTURE(row.value, row.name);
    CHECK_FALSE(row.name.empty());
    CHECK_FALSE(row.description.empty());
    CHECK(names.insert(row.name).second);
    CHECK(values.insert(row.value).second);
    CHECK(net::code_string(net::errno_code(row.value)) == row.name);
  }
  static_assert(net::detail::errc_name(net::errc::err_invalid_addrtype) == "ERR_INVALID_ADDRESS_FAMILY");
  static_assert(net::detail::uv_description(EADDRINUSE) == "address already in use");
}

TEST_CASE("the socket-option and socket-type errnos read with libuv's descriptions, as Node's messages do",
          "[errors]") {
  // util.getSystemErrorMessage in Node v23.5.0.
  CHECK(net::error::from_uv("bind", net::errno_code(EDESTADDRREQ)).message() ==
        "bind EDESTADDRREQ: destination address required");
  CHECK(net::error::from_uv("setsockopt", net::errno_code(ENOPROTOOPT)).message() ==
        "setsockopt ENOPROTOOPT: protocol not available");
  CHECK(net::error::from_uv("socket", net::errno_code(ESOCKTNOSUPPORT)).message() ==
        "socket ESOCKTNOSUPPORT: socket type not supported");
}
