// <netxx/fmt.hpp>: every public value type prints with fmt::format("{}", x)
// as Node prints the same value (`${err}`, console.log), with the string
// specs, and unquoted in ranges. Errors and addresses come from real
// connects and listens on 127.0.0.1 and ::1; the last case sets the same
// values beside Node v23.5.0's output.
#include <netxx/fmt.hpp>

#include <fmt/ranges.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "net_test.hpp"

namespace {

// The error a connect to host:port fails with.
net::error connect_error(std::string host, std::uint16_t port) {
  auto body = [&]() -> net::task<net::error> {
    try {
      co_await net::connect(port, host);
    } catch (const net::error& e) {
      co_return e;
    }
    co_return net::error(net::errc::err_socket_closed, "connected");
  };
  return netxx_test::run_bounded(body());
}

// The error a call throws at once.
template <class F>
std::optional<net::error> thrown(F&& f) {
  try {
    f();
  } catch (const net::error& e) {
    return e;
  }
  return std::nullopt;
}

// A pooled buffer holding `bytes`, as co_await socket.read() hands one out.
net::buffer buffer_of(const std::vector<unsigned char>& bytes) {
  std::byte* block = net::detail::block_pool::take();
  if (!bytes.empty()) std::memcpy(block, bytes.data(), bytes.size());  // an empty vector's data() may be null
  return net::buffer::adopt(block, bytes.size());
}

std::vector<unsigned char> counting(std::size_t n) {
  std::vector<unsigned char> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<unsigned char>(i);
  return v;
}

// What loop.features() gives: `backend`, fallen back from io_uring for `why` when it is set.
net::backend_features features(std::string_view backend, std::error_code why = {}) {
  net::backend_features f;
  f.backend = backend;
  f.fell_back = static_cast<bool>(why);
  f.uring_error = why;
  return f;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("netxx-" + std::to_string(::getpid()) + "-" + name)).string();
}

}  // namespace

TEST_CASE("a refused connect prints as Node's `${err}`, on 127.0.0.1 and ::1", "[fmt][errors]") {
  const auto p4 = netxx_test::unused_port(AF_INET), p6 = netxx_test::unused_port(AF_INET6);
  const auto e4 = connect_error("127.0.0.1", p4);
  CHECK(fmt::format("{}", e4) == "Error: connect ECONNREFUSED 127.0.0.1:" + std::to_string(p4));
  const auto e6 = connect_error("::1", p6);
  CHECK(fmt::format("{}", e6) == "Error: connect ECONNREFUSED ::1:" + std::to_string(p6));
  CHECK(fmt::format("{}", e6.code_string()) == "ECONNREFUSED");
}

TEST_CASE("Node's own errors print with their class and [code], as NodeError's toString", "[fmt][errors]") {
  SECTION("a bad port, thrown by connect and by listen: RangeError") {
    const auto c = thrown([] { net::connect(70000, "127.0.0.1"); });
    REQUIRE(c);
    CHECK(fmt::format("{}", *c) ==
          "RangeError [ERR_SOCKET_BAD_PORT]: Port should be >= 0 and < 65536. Received type number (70000).");
    auto srv = net::create_server();
    const auto l = thrown([&] { srv.listen({.port = 70000}); });
    REQUIRE(l);
    CHECK(fmt::format("{}", *l) ==
          "RangeError [ERR_SOCKET_BAD_PORT]: options.port should be >= 0 and < 65536. Received type number (70000).");
  }
  SECTION("a TypeError, an Error with a code, an AbortError, and the one Node's C++ throws without [code]") {
    CHECK(fmt::format("{}", net::error(net::errc::err_invalid_arg_value, "The argument 'x' is invalid.")) ==
          "TypeError [ERR_INVALID_ARG_VALUE]: The argument 'x' is invalid.");
    CHECK(fmt::format("{}", net::error(net::errc::err_stream_destroyed)) ==
          "Error [ERR_STREAM_DESTROYED]: Cannot call write after a stream was destroyed");
    CHECK(fmt::format("{}", net::error(net::errc::abort_err)) == "AbortError: The operation was aborted");
    CHECK(fmt::format("{}", net::error(net::errc::err_invalid_address)) == "Error: Invalid socket address");
  }
  SECTION("listen and DNS failures, worded by Node's uvException and DNSException") {
    const auto busy = net::error::from_uv("listen", net::errno_code(EADDRINUSE), "127.0.0.1", 8124);
    CHECK(fmt::format("{}", busy) == "Error: listen EADDRINUSE: address already in use 127.0.0.1:8124");
    const auto dns = net::error::from_dns("getaddrinfo", net::errc::enotfound, "nonexistent.invalid");
    CHECK(fmt::format("{}", dns) == "Error: getaddrinfo ENOTFOUND nonexistent.invalid");
  }
  SECTION("an AggregateError: its stack line, then the parts where Node's empty message is") {
    const auto a = net::error::aggregate({net::error::from_connect(net::errno_code(ECONNREFUSED), "::1", 80),
                                          net::error::from_connect(net::errno_code(ECONNREFUSED), "127.0.0.1", 80)});
    CHECK(fmt::format("{}", a) ==
          "AggregateError [ECONNREFUSED]: connect ECONNREFUSED ::1:80; connect ECONNREFUSED 127.0.0.1:80");
  }
  SECTION("an error with no message: Error.prototype.toString leaves out the colon, NodeError's does not") {
    CHECK(fmt::format("{}", net::error(net::errno_code(EPIPE), "")) == "Error");
    CHECK(fmt::format("{}", net::error(net::errc::err_socket_closed, "")) == "Error [ERR_SOCKET_CLOSED]: ");
  }
  SECTION("errc: its code") {
    CHECK(fmt::format("{}", net::errc::err_socket_bad_port) == "ERR_SOCKET_BAD_PORT");
    CHECK(fmt::format("{}", net::errc::enotfound) == "ENOTFOUND");
    CHECK(fmt::format("{}", net::errc::abort_err) == "ABORT_ERR");
  }
}

TEST_CASE("address() prints as console.log prints Node's", "[fmt][address]") {
  SECTION("IPv4 and IPv6 servers") {
    auto s4 = net::create_server();
    s4.listen({.port = 0, .host = "127.0.0.1"});
    CHECK(fmt::format("{}", *s4.address()) ==
          "{ address: '127.0.0.1', family: 'IPv4', port: " + std::to_string(s4.address()->port) + " }");
    s4.close();
    auto s6 = net::create_server();
    s6.listen({.port = 0, .host = "::1"});
    CHECK(fmt::format("{}", *s6.address()) ==
          "{ address: '::1', family: 'IPv6', port: " + std::to_string(s6.address()->port) + " }");
    s6.close();
  }
  SECTION("a Unix server: the path, as console.log prints a string") {
    const std::string path = temp_path("fmt.sock");
    auto u = net::create_server();
    u.listen({.path = path});
    CHECK(fmt::format("{}", *u.address()) == path);
    u.close();
  }
  SECTION("a socket that is not connected: {}") {
    net::socket s;
    CHECK(fmt::format("{}", s.address()) == "{}");
  }
}

TEST_CASE("encodings, readyState and listener ids print as Node names them", "[fmt]") {
  CHECK(fmt::format("{} {} {} {} {} {} {}", net::encoding::utf8, net::encoding::utf16le, net::encoding::latin1,
                    net::encoding::ascii, net::encoding::hex, net::encoding::base64, net::encoding::base64url) ==
        "utf8 utf16le latin1 ascii hex base64 base64url");
  CHECK(fmt::format("{} {} {} {} {}", net::ready_state::opening, net::ready_state::open, net::ready_state::read_only,
                    net::ready_state::write_only, net::ready_state::closed) ==
        "opening open readOnly writeOnly closed");
  CHECK(fmt::format("{}", net::socket().get_ready_state()) == net::socket().ready_state_string());
  CHECK(fmt::format("{}", net::listener_id{42}) == "42");
  CHECK(fmt::format("{:>4}", net::listener_id{7}) == "   7");
}

TEST_CASE("a buffer prints as console.log prints a Buffer, cut after 50 bytes", "[fmt][buffer]") {
  CHECK(fmt::format("{}", buffer_of({'h', 'e', 'l', 'l', 'o'})) == "<Buffer 68 65 6c 6c 6f>");
  CHECK(fmt::format("{}", net::buffer()) == "<Buffer >");
  CHECK(fmt::format("{}", buffer_of({0x00, 0x0f, 0xf0, 0xff})) == "<Buffer 00 0f f0 ff>");
  const auto fifty = fmt::format("{}", buffer_of(counting(50)));
  CHECK(fifty.size() == std::string("<Buffer >").size() + 50 * 3 - 1);
  CHECK(fifty.ends_with(" 30 31>"));
  const auto more = fmt::format("{}", buffer_of(counting(51)));
  CHECK(more == fifty.substr(0, fifty.size() - 1) + " ... 1 more byte>");
  CHECK(fmt::format("{}", buffer_of(counting(60))) == fifty.substr(0, fifty.size() - 1) + " ... 10 more bytes>");
}

TEST_CASE("a block list prints as console.log prints a BlockList, on one line", "[fmt][block_list]") {
  net::block_list b;
  CHECK(fmt::format("{}", b) == "BlockList { rules: [] }");
  b.add_address("1.2.3.4");
  CHECK(fmt::format("{}", b) == "BlockList { rules: [ 'Address: IPv4 1.2.3.4' ] }");
  b.add_range("10.0.0.1", "10.0.0.10");
  b.add_subnet("8592:757c:efae:4e45::", 64, "ipv6");
  // Node breaks this one across lines (util.inspect's 80 columns); the formatter keeps one.
  CHECK(fmt::format("{}", b) ==
        "BlockList { rules: [ 'Subnet: IPv6 8592:757c:efae:4e45::/64', 'Range: IPv4 10.0.0.1-10.0.0.10', "
        "'Address: IPv4 1.2.3.4' ] }");
}

TEST_CASE("backend features: the backend, why it fell back, io_uring's features", "[fmt][loop]") {
  CHECK(fmt::format("{}", features("epoll")) == "epoll");
  CHECK(fmt::format("{}", features("epoll", net::errno_code(EPERM))) ==
        "epoll (fell back from io_uring: EPERM: operation not permitted)");
  CHECK(fmt::format("{}", features("epoll", net::errno_code(ENOSYS))) ==
        "epoll (fell back from io_uring: ENOSYS: function not implemented)");
  CHECK(fmt::format("{}", features("io_uring")) == "io_uring (no optional features)");
  auto epoll_only = features("epoll");
  epoll_only.uring_compiled = false;  // what an epoll-only build (NETXX_DISABLE_IO_URING) reports
  CHECK(fmt::format("{}", epoll_only) == "epoll (io_uring compiled out)");
  auto u = features("io_uring");
  u.uring.ext_arg = u.uring.multishot_accept = u.uring.send_zc = true;
  CHECK(fmt::format("{}", u) == "io_uring (ext_arg, multishot_accept, send_zc)");
  // This thread's loop names the backend NETXX_BACKEND asked for.
  const auto mine = fmt::format("{}", net::loop::current().features());
  if (const auto asked = netxx_test::requested_backend(); !asked.empty()) CHECK(mine.starts_with(asked));
  CHECK(mine.starts_with(net::loop::current().backend_name()));
}

TEST_CASE("the string specs apply: fill, alignment, width, precision", "[fmt][specs]") {
  const auto a = net::socket_address::parse("1.2.3.4:80");
  REQUIRE(a);
  CHECK(fmt::format("[{:>12}]", *a) == "[  1.2.3.4:80]");
  CHECK(fmt::format("[{:<12}]", *a) == "[1.2.3.4:80  ]");
  CHECK(fmt::format("[{:*^14}]", net::ready_state::read_only) == "[***readOnly***]");
  CHECK(fmt::format("[{:.5}]", net::error(net::errc::abort_err)) == "[Abort]");
  CHECK(fmt::format("[{:>{}}]", net::encoding::hex, 5) == "[  hex]");
  CHECK(fmt::format("[{:<10}]", net::errc::abort_err) == "[ABORT_ERR ]");
}

TEST_CASE("in ranges the values print unquoted, and the element specs apply", "[fmt][ranges]") {
  const std::vector<net::socket_address> v{*net::socket_address::parse("1.2.3.4:80"),
                                           *net::socket_address::parse("[::1]:8080")};
  CHECK(fmt::format("{}", v) == "[1.2.3.4:80, [::1]:8080]");
  CHECK(fmt::format("{::>12}", v) == "[  1.2.3.4:80,   [::1]:8080]");
  const std::vector<net::ready_state> states{net::ready_state::open, net::ready_state::closed};
  CHECK(fmt::format("{}", states) == "[open, closed]");
  const std::vector<net::family> families{net::family::ipv4, net::family::ipv6};
  CHECK(fmt::format("{}", families) == "[ipv4, ipv6]");
  CHECK(fmt::format("{}", std::vector{v[0].address(), v[1].address()}) == "[1.2.3.4, ::1]");
  // A string stays a string: fmt quotes it, as ever.
  CHECK(fmt::format("{}", std::vector<std::string>{"a"}) == "[\"a\"]");
}

TEST_CASE("the same values beside Node v23.5.0's `${err}` and console.log", "[fmt][node]") {
  if (netxx_test::node_binary().empty()) {
    WARN("skipped: " << netxx_test::node_unavailable());
    return;
  }
  const auto r4 = netxx_test::unused_port(AF_INET), r6 = netxx_test::unused_port(AF_INET6);
  const auto l4 = netxx_test::unused_port(AF_INET), l6 = netxx_test::unused_port(AF_INET6);
  const char* const script = R"(
const net = require('net');
const { inspect } = require('util');
const [r4, r6, l4, l6] = process.argv.slice(1).map(Number);
const out = [];
try { net.connect(70000, '127.0.0.1'); } catch (e) { out.push(`${e}`); }
try { net.createServer().listen({ port: 70000 }); } catch (e) { out.push(`${e}`); }
const bl = new net.BlockList();
out.push(inspect(bl));
bl.addAddress('1.2.3.4');
out.push(inspect(bl));
const counting = (n) => Buffer.from(Array.from({ length: n }, (_, i) => i));
for (const b of [Buffer.from('hello'), Buffer.alloc(0), counting(50), counting(51), counting(60)])
  out.push(inspect(b));
out.push(inspect(new net.Socket().address()));
const refused = (port, host) => new Promise((ok) => net.connect(port, host).on('error', (e) => ok(`${e}`)));
const listening = (port, host) => new Promise((ok) => {
  const s = net.createServer().listen(port, host, () => { const a = inspect(s.address()); s.close(() => ok(a)); });
});
(async () => {
  out.push(await refused(r4, '127.0.0.1'), await refused(r6, '::1'));
  out.push(await listening(l4, '127.0.0.1'), await listening(l6, '::1'));
  console.log(out.join('\n'));
})();
)";
  const auto node = netxx_test::run_node(
      {"-e", script, std::to_string(r4), std::to_string(r6), std::to_string(l4), std::to_string(l6)}, 60'000);
  INFO("Node printed:\n" << node.out);
  REQUIRE(node.ok());

  std::vector<std::string> ours;
  ours.push_back(fmt::format("{}", *thrown([] { net::connect(70000, "127.0.0.1"); })));
  auto bad = net::create_server();
  ours.push_back(fmt::format("{}", *thrown([&] { bad.listen({.port = 70000}); })));
  net::block_list bl;
  ours.push_back(fmt::format("{}", bl));
  bl.add_address("1.2.3.4");
  ours.push_back(fmt::format("{}", bl));
  for (const auto& b : {std::vector<unsigned char>{'h', 'e', 'l', 'l', 'o'}, std::vector<unsigned char>{},
                        counting(50), counting(51), counting(60)})
    ours.push_back(fmt::format("{}", buffer_of(b)));
  ours.push_back(fmt::format("{}", net::socket().address()));
  ours.push_back(fmt::format("{}", connect_error("127.0.0.1", r4)));
  ours.push_back(fmt::format("{}", connect_error("::1", r6)));
  for (const auto& [port, host] : {std::pair{l4, "127.0.0.1"}, std::pair{l6, "::1"}}) {
    auto s = net::create_server();
    s.listen({.port = port, .host = host});
    ours.push_back(fmt::format("{}", *s.address()));
    s.close();
  }
  CHECK(fmt::format("{}\n", fmt::join(ours, "\n")) == node.out);
}
