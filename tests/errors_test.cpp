// The error model: errno and Node's codes behind one std::error_code.
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
