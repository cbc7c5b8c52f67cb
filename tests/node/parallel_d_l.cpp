// Node v23.5.0's test/parallel/test-net-{d..l}*.js, ported to netxx: one
// TEST_CASE per Node file, Node's assertions kept. See common.hpp.
#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"

using node_test::node_common;

namespace {

std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A JS string's length for text of characters below U+10000: its code points.
std::size_t js_length(std::string_view utf8) {
  return static_cast<std::size_t>(
      std::count_if(utf8.begin(), utf8.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

// test/parallel/test-net-dns-custom-lookup.js
TEST_CASE("test-net-dns-custom-lookup") {
  node_common common;
  std::vector<net::server> servers;
  servers.reserve(2);
  std::function<void(int, std::function<void()>)> check = [&](int address_type, std::function<void()> cb) {
    servers.emplace_back();
    auto& server = servers.back();
    server = net::create_server([&server, cb](net::socket client) {
      client.end();
      server.close();
      if (cb) cb();
    });

    const std::string_view address = address_type == 4 ? node_common::localhost_ipv4 : "::1";
    auto lookup = [address_type](std::string_view, const net::dns::lookup_options&,
                                 net::dns::lookup_callback cb) {
      // dnsopts.family = addressType: the options are const in C++ (the
      // family asked for is already addressType, the connect option).
      // dnsopts.all: lookup_address values answer both forms.
      if (address_type == 4) {
        node_common::next_tick([cb = std::move(cb)]() mutable {
          cb(std::nullopt, {net::dns::lookup_address{std::string(node_common::localhost_ipv4), 4}});
        });
      } else {
        node_common::next_tick([cb = std::move(cb)]() mutable {
          cb(std::nullopt, {net::dns::lookup_address{"::1", 6}});
        });
      }
    };
    server.listen(0, address, common.must_call([&server, &common, address, address_type, lookup] {
      net::connect({.port = server.address()->port, .host = "localhost", .family = address_type, .lookup = lookup})
          .on("lookup", common.must_call([address, address_type](std::error_code err, std::string_view ip, int type,
                                                                  std::string_view) {
            CHECK(!err);
            CHECK(address == ip);
            CHECK(type == address_type);
          }));
    }));
  };

  check(4, [&] {
    if (node_common::has_ipv6()) check(6, {});
  });

  // Verify that bad lookup() IPs are handled.
  {
    net::connect({.port = 80,
                  .host = "localhost",
                  .lookup =
                      [](std::string_view, const net::dns::lookup_options&, net::dns::lookup_callback cb) {
                        // cb(null, undefined, 4): undefined is the empty string in C++.
                        cb(std::nullopt, {net::dns::lookup_address{"", 4}});
                      }})
        .on("error", common.expects_error("ERR_INVALID_IP_ADDRESS"));
  }
  common.run();
}

// test/parallel/test-net-dns-error.js
TEST_CASE("test-net-dns-error") {
  node_common common;
  // (The stored version builds a 256-character host of '*'; Node v23.5.0's
  // uses 64, which is what is resolved here.) Resolving hostname > 63
  // characters may return EAI_FAIL (permanent failure).
  const std::string host(64, '*');
  const std::array<std::string_view, 2> err_codes = {"ENOTFOUND", "EAI_FAIL"};
  auto includes = [err_codes](std::string_view c) {
    return std::find(err_codes.begin(), err_codes.end(), c) != err_codes.end();
  };

  auto socket = net::connect(42, host, node_common::must_not_call());
  socket.on("error", common.must_call([includes](const net::error& err) { CHECK(includes(err.code_string())); }));
  socket.on("lookup", common.must_call([includes](std::error_code err, std::string_view ip, int type, std::string_view) {
    CHECK(err);  // err instanceof Error
    CHECK(includes(net::code_string(err)));
    CHECK(ip.empty());  // undefined
    CHECK(type == 0);   // undefined
  }));
  common.run();
}

// test/parallel/test-net-dns-lookup.js
TEST_CASE("test-net-dns-lookup") {
  node_common common;
  net::server server;
  server = net::create_server([&](net::socket client) {
    client.end();
    server.close();
  });

  server.listen(0, "127.0.0.1", common.must_call([&] {
    net::connect(server.address()->port, "localhost")
        .on("lookup", common.must_call_at_least(
                          [](std::error_code err, std::string_view ip, int type, std::string_view host) {
                            CHECK(!err);
                            CHECK((ip == "127.0.0.1" || ip == "::1"));  // /^(127\.0\.0\.1|::1)$/
                            CHECK((type == 4 || type == 6));
                            CHECK(host == "localhost");
                          },
                          1));
  }));
  common.run();
}

// test/parallel/test-net-dns-lookup-skip.js
TEST_CASE("test-net-dns-lookup-skip") {
  node_common common;
  std::vector<net::server> servers;
  servers.reserve(2);
  auto check = [&](int address_type) {
    servers.emplace_back();
    auto& server = servers.back();
    server = net::create_server([&server](net::socket client) {
      client.end();
      server.close();
    });

    const std::string_view address = address_type == 4 ? "127.0.0.1" : "::1";
    server.listen(0, address, [&server, address] {
      net::connect(server.address()->port, address).on("lookup", node_common::must_not_call());
    });
  };

  check(4);
  if (node_common::has_ipv6()) check(6);
  common.run();
}

// test/parallel/test-net-during-close.js
TEST_CASE("test-net-during-close") {
  node_common common;

  auto server = net::create_server([](net::socket socket) { socket.end(); });

  net::socket client;
  server.listen(0, common.must_call([&] {
    client = net::create_connection(server.address()->port);
    server.close();
    // Server connection event has not yet fired client is still attempting to
    // connect. Accessing properties should not throw in this case.
    CHECK_NOTHROW([&] {
      (void)client.remote_address();
      (void)client.remote_family();
      (void)client.remote_port();
    }());
    // exit now, do not wait for the client error event: process.exit(0)
    // has no C++ form inside a test; the client is destroyed instead, so
    // nothing waits for it.
    client.destroy();
  }));
  common.run();
}

// test/parallel/test-net-eaddrinuse.js
TEST_CASE("test-net-eaddrinuse") {
  node_common common;
  auto server1 = net::create_server([](net::socket) {});
  auto server2 = net::create_server([](net::socket) {});
  server1.listen(0, common.must_call([&] {
    server2.on("error", [&](const net::error& error) {
      CHECK(error.message().find("EADDRINUSE") != std::string::npos);
      server1.close();
    });
    server2.listen(server1.address()->port);
  }));
  common.run();
}

// test/parallel/test-net-end-close.js
TEST_CASE("test-net-end-close") {
  // Not portable: the socket is built on a fake JS handle ({ readStart,
  // close } calling onread(UV_EOF)); a C++ socket's handle is a descriptor.
  SUCCEED("not portable: a fake internal handle");
}

// test/parallel/test-net-end-destroyed.js
TEST_CASE("test-net-end-destroyed") {
  node_common common;
  auto server = net::create_server();

  server.on("connection", common.must_call());

  // Ensure socket is not destroyed before
  // emitting 'end'.

  net::socket socket;
  server.listen(0, common.must_call([&] {
    socket = net::create_connection({.port = server.address()->port});

    socket.on("connect", common.must_call([&] {
      socket.on("end", common.must_call([&] {
        CHECK(socket.destroyed() == false);
        server.close();
      }));

      socket.end();
    }));
  }));
  common.run();
}

// test/parallel/test-net-end-without-connect.js
TEST_CASE("test-net-end-without-connect") {
  node_common common;
  net::socket sock;
  CHECK_NOTHROW(sock.end());  // Should not throw.
  common.run();
}

// test/parallel/test-net-error-twice.js
TEST_CASE("test-net-error-twice") {
  node_common common;
  const std::vector<std::byte> buf(10 * 1024 * 1024, std::byte{0x62});

  std::vector<net::error> errs;
  std::optional<net::socket> client_socket;
  std::optional<net::socket> server_socket;

  auto ready = [&] {
    if (client_socket && server_socket) {
      client_socket->destroy();
      server_socket->write(buf);
    }
  };

  net::server srv;
  srv = net::create_server([&](net::socket conn) {
    conn.on("error", [&](const net::error& err) {
      errs.push_back(err);
      // errs[0] === errs[1] (the same object twice): C++ keeps copies,
      // so the second emission is caught by the count at exit.
    });
    conn.on("close", [&](bool) { srv.unref(); });
    server_socket = conn;
    ready();
  });
  net::socket client;
  srv.listen(0, [&] {
    client = net::connect({.port = srv.address()->port});

    client.on("connect", [&] {
      client_socket = client;
      ready();
    });
  });
  common.run();
  // process.on('exit')
  CHECK(errs.size() == 1);
}

// test/parallel/test-net-isip.js
TEST_CASE("test-net-isip") {
  CHECK(net::is_ip("127.0.0.1") == 4);
  CHECK(net::is_ip("x127.0.0.1") == 0);
  CHECK(net::is_ip("example.com") == 0);
  CHECK(net::is_ip("0000:0000:0000:0000:0000:0000:0000:0000") == 6);
  CHECK(net::is_ip("0000:0000:0000:0000:0000:0000:0000:0000::0000") == 0);
  CHECK(net::is_ip("1050:0:0:0:5:600:300c:326b") == 6);
  CHECK(net::is_ip("2001:252:0:1::2008:6") == 6);
  CHECK(net::is_ip("2001:dead:beef:1::2008:6") == 6);
  CHECK(net::is_ip("2001::") == 6);
  CHECK(net::is_ip("2001:dead::") == 6);
  CHECK(net::is_ip("2001:dead:beef::") == 6);
  CHECK(net::is_ip("2001:dead:beef:1::") == 6);
  CHECK(net::is_ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == 6);
  CHECK(net::is_ip(":2001:252:0:1::2008:6:") == 0);
  CHECK(net::is_ip(":2001:252:0:1::2008:6") == 0);
  CHECK(net::is_ip("2001:252:0:1::2008:6:") == 0);
  CHECK(net::is_ip("2001:252::1::2008:6") == 0);
  CHECK(net::is_ip("::2001:252:1:2008:6") == 6);
  CHECK(net::is_ip("::2001:252:1:1.1.1.1") == 6);
  CHECK(net::is_ip("::2001:252:1:255.255.255.255") == 6);
  CHECK(net::is_ip("::2001:252:1:255.255.255.255.76") == 0);
  CHECK(net::is_ip("::anything") == 0);
  CHECK(net::is_ip("::1") == 6);
  CHECK(net::is_ip("::") == 6);
  CHECK(net::is_ip("0000:0000:0000:0000:0000:0000:12345:0000") == 0);
  CHECK(net::is_ip("0") == 0);
  CHECK(net::is_ip("") == 0);
  // isIP(), isIP(null), isIP(123), isIP(true), isIP({}) and objects with a
  // toString are dynamic JS types: is_ip takes a string_view.

  CHECK(net::is_ipv4("127.0.0.1") == true);
  CHECK(net::is_ipv4("example.com") == false);
  CHECK(net::is_ipv4("2001:252:0:1::2008:6") == false);
  CHECK(net::is_ipv4("") == false);
  // (no argument, null, 123, true, {}, toString objects: dynamic JS types)

  CHECK(net::is_ipv6("127.0.0.1") == false);
  CHECK(net::is_ipv6("example.com") == false);
  CHECK(net::is_ipv6("2001:252:0:1::2008:6") == true);
  CHECK(net::is_ipv6("") == false);
  // (no argument, null, 123, true, {}, toString objects: dynamic JS types)
}

// test/parallel/test-net-isipv4.js
TEST_CASE("test-net-isipv4") {
  const std::vector<std::string_view> v4 = {
      "0.0.0.0",       "8.8.8.8",       "127.0.0.1",       "100.100.100.100", "192.168.0.1",    "18.101.25.153",
      "123.23.34.2",   "172.26.168.134", "212.58.241.131", "128.0.0.0",       "23.71.254.72",   "223.255.255.255",
      "192.0.2.235",   "99.198.122.146", "46.51.197.88",   "173.194.34.134",
  };
  const std::vector<std::string_view> v4not = {
      ".100.100.100.100", "100..100.100.100.", "100.100.100.100.", "999.999.999.999",
      "256.256.256.256",  "256.100.100.100.100", "123.123.123",     "http://123.123.123",
      "1000.2.3.4",       "999.2.3.4",           "0000000192.168.0.200", "192.168.0.2000000000",
  };
  for (const auto ip : v4) {
    INFO(ip);
    CHECK(net::is_ipv4(ip) == true);
  }
  for (const auto ip : v4not) {
    INFO(ip);
    CHECK(net::is_ipv4(ip) == false);
  }
}

// test/parallel/test-net-isipv6.js
TEST_CASE("test-net-isipv6") {
  const std::vector<std::string_view> v6 = {
      "::", "1::", "::1", "1::8", "1::7:8", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6::8", "1:2:3:4:5:6:7::", "1:2:3:4:5::7:8",
      "1:2:3:4:5::8", "1:2:3::8", "1::4:5:6:7:8", "1::6:7:8", "1::3:4:5:6:7:8", "1:2:3:4::6:7:8", "1:2::4:5:6:7:8",
      "::2:3:4:5:6:7:8", "1:2::8", "2001:0000:1234:0000:0000:C1C0:ABCD:0876", "3ffe:0b00:0000:0000:0001:0000:0000:000a",
      "FF02:0000:0000:0000:0000:0000:0000:0001", "0000:0000:0000:0000:0000:0000:0000:0001",
      "0000:0000:0000:0000:0000:0000:0000:0000", "::ffff:192.168.1.26", "2::10", "ff02::1", "fe80::", "2002::",
      "2001:db8::", "2001:0db8:1234::", "::ffff:0:0", "::ffff:192.168.1.1", "1:2:3:4::8", "1::2:3:4:5:6:7",
      "1::2:3:4:5:6", "1::2:3:4:5", "1::2:3:4", "1::2:3", "::2:3:4:5:6:7", "::2:3:4:5:6", "::2:3:4:5", "::2:3:4",
      "::2:3", "::8", "1:2:3:4:5:6::", "1:2:3:4:5::", "1:2:3:4::", "1:2:3::", "1:2::", "1:2:3:4::7:8", "1:2:3::7:8",
      "1:2::7:8", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5::1.2.3.4", "1:2:3:4::1.2.3.4", "1:2:3::1.2.3.4", "1:2::1.2.3.4",
      "1::1.2.3.4", "1:2:3:4::5:1.2.3.4", "1:2:3::5:1.2.3.4", "1:2::5:1.2.3.4", "1::5:1.2.3.4", "1::5:11.22.33.44",
      "fe80::217:f2ff:254.7.237.98", "fe80::217:f2ff:fe07:ed62", "2001:DB8:0:0:8:800:200C:417A",
      "FF01:0:0:0:0:0:0:101", "0:0:0:0:0:0:0:1", "0:0:0:0:0:0:0:0", "2001:DB8::8:800:200C:417A", "FF01::101",
      "0:0:0:0:0:0:13.1.68.3", "0:0:0:0:0:FFFF:129.144.52.38", "::13.1.68.3", "::FFFF:129.144.52.38",
      "fe80:0000:0000:0000:0204:61ff:fe9d:f156", "fe80:0:0:0:204:61ff:fe9d:f156", "fe80::204:61ff:fe9d:f156",
      "fe80:0:0:0:204:61ff:254.157.241.86", "fe80::204:61ff:254.157.241.86", "fe80::1",
      "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8:85a3:0:0:8a2e:370:7334", "2001:db8:85a3::8a2e:370:7334",
      "2001:0db8:0000:0000:0000:0000:1428:57ab", "2001:0db8:0000:0000:0000::1428:57ab", "2001:0db8:0:0:0:0:1428:57ab",
      "2001:0db8:0:0::1428:57ab", "2001:0db8::1428:57ab", "2001:db8::1428:57ab", "::ffff:12.34.56.78",
      "::ffff:0c22:384e", "2001:0db8:1234:0000:0000:0000:0000:0000", "2001:0db8:1234:ffff:ffff:ffff:ffff:ffff",
      "2001:db8:a::123", "::ffff:192.0.2.128", "::ffff:c000:280", "a:b:c:d:e:f:f1:f2", "a:b:c::d:e:f:f1",
      "a:b:c::d:e:f", "a:b:c::d:e", "a:b:c::d", "::a", "::a:b:c", "::a:b:c:d:e:f:f1", "a::", "a:b:c::",
      "a:b:c:d:e:f:f1::", "a:bb:ccc:dddd:000e:00f:0f::", "0:a:0:a:0:0:0:a", "0:a:0:0:a:0:0:a", "2001:db8:1:1:1:1:0:0",
      "2001:db8:1:1:1:0:0:0", "2001:db8:1:1:0:0:0:0", "2001:db8:1:0:0:0:0:0", "2001:db8:0:0:0:0:0:0",
      "2001:0:0:0:0:0:0:0", "A:BB:CCC:DDDD:000E:00F:0F::", "0:0:0:0:0:0:0:a", "0:0:0:0:a:0:0:0", "0:0:0:a:0:0:0:0",
      "a:0:0:a:0:0:a:a", "a:0:0:a:0:0:0:a", "a:0:0:0:a:0:0:a", "a:0:0:0:a:0:0:0", "a:0:0:0:0:0:0:0",
      "fe80::7:8%eth0", "fe80::7:8%1",
  };
  const std::vector<std::string_view> v6not = {
      "", "1:", ":1", "11:36:12", "02001:0000:1234:0000:0000:C1C0:ABCD:0876", "2001:0000:1234:0000:00001:C1C0:ABCD:0876",
      "2001:0000:1234: 0000:0000:C1C0:ABCD:0876", "2001:1:1:1:1:1:255Z255X255Y255", "3ffe:0b00:0000:0001:0000:0000:000a",
      "FF02:0000:0000:0000:0000:0000:0000:0000:0001", "3ffe:b00::1::a", "::1111:2222:3333:4444:5555:6666::",
      "1:2:3::4:5::7:8", "12345::6:7:8", "1::5:400.2.3.4", "1::5:260.2.3.4", "1::5:256.2.3.4", "1::5:1.256.3.4",
      "1::5:1.2.256.4", "1::5:1.2.3.256", "1::5:300.2.3.4", "1::5:1.300.3.4", "1::5:1.2.300.4", "1::5:1.2.3.300",
      "1::5:900.2.3.4", "1::5:1.900.3.4", "1::5:1.2.900.4", "1::5:1.2.3.900", "1::5:300.300.300.300",
      "1::5:3000.30.30.30", "1::400.2.3.4", "1::260.2.3.4", "1::256.2.3.4", "1::1.256.3.4", "1::1.2.256.4",
      "1::1.2.3.256", "1::300.2.3.4", "1::1.300.3.4", "1::1.2.300.4", "1::1.2.3.300", "1::900.2.3.4", "1::1.900.3.4",
      "1::1.2.900.4", "1::1.2.3.900", "1::300.300.300.300", "1::3000.30.30.30", "::400.2.3.4", "::260.2.3.4",
      "::256.2.3.4", "::1.256.3.4", "::1.2.256.4", "::1.2.3.256", "::300.2.3.4", "::1.300.3.4", "::1.2.300.4",
      "::1.2.3.300", "::900.2.3.4", "::1.900.3.4", "::1.2.900.4", "::1.2.3.900", "::300.300.300.300",
      "::3000.30.30.30", "2001:DB8:0:0:8:800:200C:417A:221", "FF01::101::2", "1111:2222:3333:4444::5555:",
      "1111:2222:3333::5555:", "1111:2222::5555:", "1111::5555:", "::5555:", ":::", "1111:", ":",
      ":1111:2222:3333:4444::5555", ":1111:2222:3333::5555", ":1111:2222::5555", ":1111::5555", ":::5555",
      "1.2.3.4:1111:2222:3333:4444::5555", "1.2.3.4:1111:2222:3333::5555", "1.2.3.4:1111:2222::5555",
      "1.2.3.4:1111::5555", "1.2.3.4::5555", "1.2.3.4::", "fe80:0000:0000:0000:0204:61ff:254.157.241.086", "123",
      "ldkfj", "2001::FFD3::57ab", "2001:db8:85a3::8a2e:37023:7334", "2001:db8:85a3::8a2e:370k:7334",
      "1:2:3:4:5:6:7:8:9", "1::2::3", "1:::3:4:5", "1:2:3::4:5:6:7:8:9", "::ffff:2.3.4", "::ffff:257.1.2.3",
      "::ffff:12345678901234567890.1.26", "2001:0000:1234:0000:0000:C1C0:ABCD:0876 0",
      "02001:0000:1234:0000:0000:C1C0:ABCD:0876",
  };
  for (const auto ip : v6) {
    INFO(ip);
    CHECK(net::is_ipv6(ip) == true);
  }
  for (const auto ip : v6not) {
    INFO(ip);
    CHECK(net::is_ipv6(ip) == false);
  }
}

// test/parallel/test-net-keepalive.js
TEST_CASE("test-net-keepalive") {
  node_common common;
  net::socket server_connection;
  net::socket client_connection;
  net::server echo_server;
  echo_server = net::create_server([&](net::socket connection) {
    server_connection = connection;
    net::set_timeout(common.must_call([&] {
                       // make sure both connections are still open
                       CHECK(server_connection.ready_state_string() == "open");
                       CHECK(client_connection.ready_state_string() == "open");
                       server_connection.end();
                       client_connection.end();
                       echo_server.close();
                     }),
                     100);
    connection.set_timeout(0);
    // assert.notEqual(connection.setKeepAlive, undefined): a member function always exists.
    // send a keepalive packet after 50 ms
    connection.set_keep_alive(true, 50);
    connection.on("end", [connection]() mutable { connection.end(); });
  });
  echo_server.listen(0);

  echo_server.on("listening", [&] {
    client_connection = net::create_connection(echo_server.address()->port);
    client_connection.set_timeout(0);
  });
  common.run();
}

// test/parallel/test-net-large-string.js
TEST_CASE("test-net-large-string") {
  node_common common;
  const std::size_t k_pool_size = 40 * 1024;
  std::string data;
  for (std::size_t i = 0; i < k_pool_size; ++i) {
    data += "あ";  // 3bytes
  }
  std::size_t received_size = 0;
  const std::string_view encoding = "UTF-8";

  auto server = net::create_server([&](net::socket socket) {
    socket.set_encoding(encoding);
    // data.length: a JS string's length, here its characters.
    socket.on("data", [&](std::span<const std::byte> d) { received_size += js_length(as_text(d)); });
    socket.on("end", [socket]() mutable { socket.end(); });
  });

  net::socket client;
  server.listen(0, [&] {
    client = net::create_connection(server.address()->port);
    client.on("end", [&] { server.close(); });
    client.write(data, encoding);
    client.end();
  });
  common.run();
  // process.on('exit')
  CHECK(received_size == k_pool_size);
}

// test/parallel/test-net-listen-close-server.js
TEST_CASE("test-net-listen-close-server") {
  node_common common;
  auto server = net::create_server([](net::socket) {});
  server.listen(0, node_common::must_not_call());
  server.on("error", node_common::must_not_call());
  server.close();
  common.run();
}

// test/parallel/test-net-listen-error.js
TEST_CASE("test-net-listen-error") {
  node_common common;
  auto server = net::create_server([](net::socket) {});
  server.listen(1, "1.1.1.1", node_common::must_not_call());  // EACCES or EADDRNOTAVAIL
  server.on("error", common.must_call());
  common.run();
}

// test/parallel/test-net-listen-invalid-port.js
TEST_CASE("test-net-listen-invalid-port") {
  // This test ensures that port numbers are validated in *all* kinds of `listen`
  // calls. If an invalid port is supplied, ensures a `RangeError` is thrown.
  // https://github.com/nodejs/node/issues/5727
  node_common common;
  const std::int64_t invalid_port = static_cast<std::uint32_t>(-1);  // -1 >>> 0

  net::server s0;
  s0.listen(0, [&] {
    // this._connectionKey (`${family}:${address}:0`) is internal.
    (void)s0.address();
    s0.close();
  });

  // The first argument is a configuration object
  node_common::assert_throws([&] { net::server().listen({.port = invalid_port}, node_common::must_not_call()); },
                             "ERR_SOCKET_BAD_PORT");

  // The first argument is the port, no IP given.
  node_common::assert_throws([&] { net::server().listen(invalid_port, node_common::must_not_call()); },
                             "ERR_SOCKET_BAD_PORT");

  // The first argument is the port, the second an IP.
  node_common::assert_throws(
      [&] { net::server().listen(invalid_port, "0.0.0.0", node_common::must_not_call()); }, "ERR_SOCKET_BAD_PORT");
  common.run();
}

// test/parallel/test-net-listen-ipv6only.js
TEST_CASE("test-net-listen-ipv6only") {
  if (!node_common::has_ipv6()) {
    SUCCEED("no IPv6 support");
    return;
  }
  // This test ensures that dual-stack support is disabled when
  // we specify the `ipv6Only` option in `net.Server.listen()`.
  node_common common;
  const std::string_view host = "::";
  auto server = net::create_server();
  net::socket socket;
  server.listen({.port = 0, .host = host, .ipv6_only = true}, common.must_call([&] {
                  const auto port = server.address()->port;
                  socket = net::connect({.port = port, .host = "0.0.0.0"});

                  socket.on("connect", node_common::must_not_call());
                  socket.on("error", common.must_call([&](const net::error& err) {
                    CHECK(err.code_string() == "ECONNREFUSED");
                    server.close();
                  }));
                }));
  common.run();
}

// test/parallel/test-net-listen-twice.js
TEST_CASE("test-net-listen-twice") {
  // Not portable: the file forks a cluster worker (cluster.fork,
  // internalMessage NODE_CLUSTER) to listen twice in it; C++ has no cluster.
  SUCCEED("not portable: cluster");
}

// test/parallel/test-net-listening.js
TEST_CASE("test-net-listening") {
  node_common common;
  auto server = net::create_server();

  CHECK(server.listening() == false);

  // common.PORT: port 0 here, as the other ports
  server.listen(0, common.must_call([&] {
    CHECK(server.listening() == true);

    server.close(common.must_call([&](std::error_code) { CHECK(server.listening() == false); }));
  }));
  common.run();
}

// test/parallel/test-net-local-address-port.js
TEST_CASE("test-net-local-address-port") {
  node_common common;
  net::server server;
  server = net::create_server(common.must_call([&](net::socket socket) {
    CHECK(socket.local_address() == node_common::localhost_ipv4);
    CHECK(socket.local_port() == server.address()->port);
    CHECK(socket.local_family() == server.address()->family);
    socket.on("end", [&] { server.close(); });
    socket.resume();
  }));

  net::socket client;
  server.listen(0, node_common::localhost_ipv4, [&] {
    client = net::create_connection(server.address()->port, node_common::localhost_ipv4);
    client.on("connect", [&] { client.end(); });
  });
  common.run();
}

// test/parallel/test-net-localerror.js
TEST_CASE("test-net-localerror") {
  const auto connect = [](const net::connect_options& opts, std::string_view code) {
    node_common::assert_throws([&] { (void)net::connect(opts); }, code);
  };

  connect({.port = 0, .host = "localhost", .local_address = "foobar"}, "ERR_INVALID_IP_ADDRESS");

  // { localPort: 'foobar' } -> ERR_INVALID_ARG_TYPE: a string local port is
  // a dynamic JS type; local_port is an integer in C++.
}

// test/parallel/test-net-listen-after-destroying-stdin.js
TEST_CASE("test-net-listen-after-destroying-stdin") {
  // Just test that destroying stdin doesn't mess up listening on a server.
  // This is a regression test for
  // https://github.com/nodejs/node-v0.x-archive/issues/746.
  // process.stdin.destroy(): closing the test process's descriptor 0 has no
  // net counterpart (and would take stdin from the other test cases); the
  // rest is kept.
  node_common common;
  net::server server;
  server = net::create_server(common.must_call([&](net::socket socket) {
    socket.end(std::span<const std::byte>{}, common.must_call([](std::error_code) {}));  // finished...
    server.close(common.must_call([](std::error_code) {}));                              // closed
  }));

  net::socket client;
  server.listen(0, common.must_call([&] { client = net::create_connection(server.address()->port); }));
  common.run();
}

// test/parallel/test-net-listen-close-server-callback-is-not-function.js
TEST_CASE("test-net-listen-close-server-callback-is-not-function") {
  node_common common;
  auto server = net::create_server(node_common::must_not_call());

  server.on("close", common.must_call());

  server.listen(0, node_common::must_not_call());

  // server.close('bad argument'): a string where a callback goes is a
  // dynamic JS type; close() without a callback is the same call.
  server.close();
  common.run();
}

// test/parallel/test-net-listen-exclusive-random-ports.js
TEST_CASE("test-net-listen-exclusive-random-ports") {
  // Not portable: two cluster workers (cluster.fork, process.send) each
  // listen on port 0 with exclusive: true; C++ has no cluster.
  SUCCEED("not portable: cluster");
}

// test/parallel/test-net-listen-fd0.js
TEST_CASE("test-net-listen-fd0") {
  node_common common;
  // This should fail with an async EINVAL error, not throw an exception
  auto server = net::create_server(node_common::must_not_call());
  server.listen({.fd = 0});
  server.on("error", common.must_call([](const net::error& e) {
    // assert(e instanceof Error): a net::error.
    CHECK((e.code_string() == "EINVAL" || e.code_string() == "ENOTSOCK"));
  }));
  common.run();
}

// test/parallel/test-net-listen-handle-in-cluster-1.js
TEST_CASE("test-net-listen-handle-in-cluster-1") {
  // Not portable: the server is sent to a cluster worker (worker.send(null,
  // server)), where listen(handle) runs; C++ has no cluster nor handle passing.
  SUCCEED("not portable: cluster");
}

// test/parallel/test-net-listen-handle-in-cluster-2.js
TEST_CASE("test-net-listen-handle-in-cluster-2") {
  // Not portable: as test-net-listen-handle-in-cluster-1 (a cluster worker
  // given a server handle).
  SUCCEED("not portable: cluster");
}

// test/parallel/test-net-child-process-connect-reset.js
TEST_CASE("test-net-child-process-connect-reset") {
  // Not portable: the server runs in a child process (spawn with
  // process.argv[2] === 'child', IPC messages, cp.kill('SIGKILL')).
  SUCCEED("not portable: child process");
}

// test/parallel/test-net-deprecated-setsimultaneousaccepts.js
TEST_CASE("test-net-deprecated-setsimultaneousaccepts") {
  // Not portable: net._setSimultaneousAccepts (Windows-only, deprecated) and
  // common.expectWarning for its DeprecationWarning have no C++ form.
  SUCCEED("not portable: expectWarning on a deprecated internal");
}

// test/parallel/test-net-listen-port-option.js
TEST_CASE("test-net-listen-port-option") {
  // The stored copy of this file is old (it expects ERR_INVALID_PORT, a
  // code Node no longer has); Node v23.5.0 throws ERR_SOCKET_BAD_PORT for
  // these ports (checked with the binary), which is what is checked here.
  node_common common;
  std::vector<net::server> servers;
  servers.reserve(8);
  auto close = [&servers](std::size_t i) { return [&servers, i] { servers[i].close(); }; };

  // listenVariants: listen({port}, cb) and listen(port, cb)
  // listenVariant(undefined, common.mustCall(close)):
  // listen({port: undefined}, cb): a key present with the value undefined
  // ('port' in options) has no C++ form; listen_options{} is Node's {}, an
  // ERR_INVALID_ARG_VALUE (test-net-server-listen-options).
  // listen(undefined, cb) is listen(cb):
  servers.emplace_back();
  servers.back().listen(common.must_call(close(servers.size() - 1)));

  // listenVariant('0', ...): a string port is a dynamic JS type.

  // 'nan', 123.456, 1 / 0, -1 / 0, '+Infinity', '-Infinity': strings and
  // non-integers have no C++ form; -1 and 0x10000 do.
  for (const std::int64_t port : {std::int64_t{-1}, std::int64_t{0x10000}}) {
    node_common::assert_throws([&] { net::server().listen({.port = port}, node_common::must_not_call()); },
                               "ERR_SOCKET_BAD_PORT");
    node_common::assert_throws([&] { net::server().listen(port, node_common::must_not_call()); },
                               "ERR_SOCKET_BAD_PORT");
  }

  // [null, true, false] as port (ERR_INVALID_ARGS): dynamic JS types.
  common.run();
}
