// Node v23.5.0's test/parallel/test-net-socket-*.js, ported: one TEST_CASE
// per Node file, named after it, Node's assertions unchanged (see common.hpp).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"

using node_test::node_common;

namespace {
std::span<const std::byte> buf(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }
}  // namespace

// test/parallel/test-net-socket-byteswritten.js
TEST_CASE("test-net-socket-byteswritten") {
  node_common common;
  net::server server = net::create_server([](net::socket socket) { socket.end(); });
  server.listen(0, common.must_call([&] {
    auto socket = net::connect(server.address()->port);
    // Cork the socket, then write twice; this should cause a writev, which
    // previously caused an err in the bytesWritten count.
    socket.cork();
    socket.write("one");
    socket.write("tw\xc3\xb8");  // new Buffer('twø', 'utf8')
    socket.uncork();

    // one = 3 bytes, twø = 4 bytes
    CHECK(socket.bytes_written() == 3 + 4);

    socket.on("connect", common.must_call([socket] { CHECK(socket.bytes_written() == 3 + 4); }));
    socket.on("end", common.must_call([socket, &server] {
      CHECK(socket.bytes_written() == 3 + 4);
      server.close();
    }));
  }));
  common.run();
}

// test/parallel/test-net-socket-close-after-end.js
TEST_CASE("test-net-socket-close-after-end") {
  node_common common;
  net::server server = net::create_server();
  server.on("connection", common.must_call([&](net::socket socket) {
    auto end_emitted = std::make_shared<bool>(false);
    // NETXX-MISSING: the "readable" event and the synchronous socket.read():
    // socket.once('readable', () => setTimeout(() => socket.read(), 100));
    socket.on("end", [end_emitted] { *end_emitted = true; });
    socket.on("close", common.must_call([end_emitted, &server](bool) {
      CHECK(*end_emitted);
      server.close();
    }));
    socket.end("foo");
  }));
  // NETXX-MISSING: server.listen(callback) with no port; listen(0, cb) is its meaning.
  server.listen(0, common.must_call([&] {
    auto socket = std::make_shared<net::socket>();
    *socket = net::create_connection(server.address()->port, [socket] { socket->end("foo"); });
  }));
  common.run();
}

// test/parallel/test-net-socket-connect-invalid-autoselectfamily.js
TEST_CASE("test-net-socket-connect-invalid-autoselectfamily") {
  // Not portable: the whole file passes a string ('INVALID') where a boolean
  // is expected (ERR_INVALID_ARG_TYPE); autoSelectFamily is a bool in C++.
  SUCCEED("not portable: a dynamic type error");
}

// test/parallel/test-net-socket-connect-invalid-autoselectfamilyattempttimeout.js
TEST_CASE("test-net-socket-connect-invalid-autoselectfamilyattempttimeout") {
  for (std::int64_t timeout : {-10, 0}) {
    node_common::assert_throws(
        [&] {
          net::connect({.port = 8080, .auto_select_family = true, .auto_select_family_attempt_timeout = timeout});
        },
        "ERR_OUT_OF_RANGE");
    node_common::assert_throws([&] { net::set_default_auto_select_family_attempt_timeout(timeout); },
                               "ERR_OUT_OF_RANGE");
  }
  // Check the default value of autoSelectFamilyAttemptTimeout is 10
  // if passed number is less than 10
  for (std::int64_t timeout : {1, 9}) {
    net::set_default_auto_select_family_attempt_timeout(timeout);
    CHECK(net::get_default_auto_select_family_attempt_timeout() == 10);
  }
  // Node's process ends here; this executable goes on: the default back.
  net::set_default_auto_select_family_attempt_timeout(250);
}

// test/parallel/test-net-socket-connect-without-cb.js
TEST_CASE("test-net-socket-connect-without-cb") {
  node_common common;
  // This test ensures that socket.connect can be called without callback
  // which is optional.
  net::server server;
  server.on("connection", common.must_call([&](net::socket conn) {
    conn.end();
    server.close();
  }));
  net::socket client;
  server.listen(0, common.must_call([&] {
    client.on("connect", common.must_call([&] { client.end(); }));
    const auto address = *server.address();
    // Node passes the address object itself: its port, host undefined (localhost).
    client.connect(net::connect_options{.port = address.port});
  }));
  common.run();
}

// test/parallel/test-net-socket-connecting.js
TEST_CASE("test-net-socket-connecting") {
  node_common common;
  net::server server = net::create_server([&](net::socket conn) {
    conn.end();
    server.close();
  });
  server.listen(0, [&] {
    auto client = std::make_shared<net::socket>();
    *client = net::connect(server.address()->port, [client] {
      CHECK(client->connecting() == false);
      // Legacy getter: client._connecting (internal, not in C++)
      client->end();
    });
    CHECK(client->connecting() == true);
    // Legacy getter: client._connecting (internal, not in C++)
  });
  common.run();
}

// test/parallel/test-net-socket-constructor.js
TEST_CASE("test-net-socket-constructor") {
  node_common common;
  auto test = [](net::socket& socket, bool readable, bool writable) {
    CHECK(socket.readable() == readable);
    CHECK(socket.writable() == writable);
  };
  {
    net::socket s;  // test(undefined, true, true): v23.5.0's values (its binary prints them)
    s.unref();
    test(s, true, true);
  }
  net::server server;
  server.on("connection", common.must_call([&](net::socket socket) {
    test(socket, true, true);
    // Not portable: new net.Socket({ handle: socket._handle }) (an internal handle).
    // Skipped: the new net.Socket({ fd }) forms: each would wrap the accepted
    // socket's descriptor a second time (two owners closing one descriptor).
    server.close();
  }));
  server.listen(0, common.must_call([&] {
    const auto port = server.address()->port;
    auto socket = std::make_shared<net::socket>();
    *socket = net::connect(port, common.must_call([socket, test]() mutable {
      test(*socket, true, true);
      socket->end();
    }));
    test(*socket, true, true);  // v23.5.0 (its binary prints true, true while connecting; the stored file is older)
  }));
  common.run();
}

// test/parallel/test-net-socket-destroy-send.js
TEST_CASE("test-net-socket-destroy-send") {
  node_common common;
  net::server server = net::create_server();
  server.listen(0, common.must_call([&] {
    const auto port = server.address()->port;
    auto conn = net::create_connection(port);
    conn.on("connect", common.must_call([&common, &server, conn]() mutable {
      // Test destroy returns this, even on multiple calls when it short-circuits.
      CHECK(&conn == &conn.destroy().destroy());
      // v23.5.0's file (an older one expected ERR_SOCKET_CLOSED on both; the
      // v23.5.0 binary gives the write callback ERR_STREAM_DESTROYED, no "error").
      conn.on("error", node_common::must_not_call("conn error"));
      conn.write(buf("kaboom"),
                 common.expects_error_code("ERR_STREAM_DESTROYED", "Cannot call write after a stream was destroyed"));
      server.close();
    }));
  }));
  common.run();
}

// test/parallel/test-net-socket-destroy-twice.js
TEST_CASE("test-net-socket-destroy-twice") {
  node_common common;
  // A port nobody listens on: one the system gave, then closed.
  std::uint16_t port = 0;
  {
    net::server probe;
    probe.listen(0);
    port = probe.address()->port;
    probe.close();
  }
  auto conn = net::create_connection(port);
  conn.on("error", common.must_call([conn](const net::error&) mutable { conn.destroy(); }));
  conn.on("close", common.must_call([](bool) {}));
  common.run();
}

// test/parallel/test-net-socket-end-before-connect.js
TEST_CASE("test-net-socket-end-before-connect") {
  node_common common;
  net::server server = net::create_server();
  server.listen(0, common.must_call([&] {
    auto socket = net::create_connection(server.address()->port);
    socket.on("close", common.must_call([&server](bool) { server.close(); }));
    socket.end();
  }));
  common.run();
}

// test/parallel/test-net-socket-end-callback.js
TEST_CASE("test-net-socket-end-callback") {
  node_common common;
  net::server server = net::create_server([](net::socket socket) { socket.resume(); });
  server.unref();
  server.listen(0, common.must_call([&] {
    const auto cb = common.must_call([](std::error_code) {}, 3);
    const auto port = server.address()->port;
    auto connect = [port](std::function<void(net::socket&)> end) {
      auto socket = std::make_shared<net::socket>();
      *socket = net::create_connection(port, [socket, end] { end(*socket); });
    };
    connect([cb](net::socket& s) { s.end(cb); });
    connect([cb](net::socket& s) { s.end("foo", cb); });
    connect([cb](net::socket& s) { s.end("foo", "utf8", cb); });
  }));
  common.run();
}

// test/parallel/test-net-socket-local-address.js
TEST_CASE("test-net-socket-local-address") {
  node_common common;
  int conns = 0;
  std::vector<std::uint16_t> client_local_ports;
  std::vector<std::uint16_t> server_remote_ports;
  net::socket client;
  net::server server = net::create_server([&](net::socket socket) {
    server_remote_ports.push_back(socket.remote_port());
    socket.end();
  });
  server.on("close", common.must_call([&] {
    CHECK(client_local_ports == server_remote_ports);  // client and server should agree on the ports used
    CHECK(2 == conns);
  }));
  std::function<void()> connect = [&] {
    if (conns == 2) {
      server.close();
      return;
    }
    conns++;
    client.once("close", [&](bool) { connect(); });
    client.connect(server.address()->port, node_common::localhost_ipv4,
                   [&] { client_local_ports.push_back(client.local_port()); });
  };
  server.listen(0, node_common::localhost_ipv4, [&] { connect(); });
  common.run();
}

// test/parallel/test-net-socket-no-halfopen-enforcer.js
TEST_CASE("test-net-socket-no-halfopen-enforcer") {
  // This test ensures that `net.Socket` does not inherit the no-half-open
  // enforcer from `stream.Duplex`.
  net::socket socket(net::socket_options{.allow_half_open = false});
  // Node counts 1: its own onReadableStreamEnd. netxx keeps that rule in the
  // socket's state, not in a listener (a deviation in docs/api.md), so no
  // listener at all: in particular no second, inherited enforcer.
  CHECK(socket.listener_count("end") == 0);
}

// test/parallel/test-net-socket-ready-without-cb.js
TEST_CASE("test-net-socket-ready-without-cb") {
  node_common common;
  // This test ensures that socket.connect can be called without callback
  // which is optional.
  net::server server;
  server.on("connection", common.must_call([&](net::socket conn) {
    conn.end();
    server.close();
  }));
  net::socket client;
  server.listen(0, "localhost", common.must_call([&] {
    client.on("ready", common.must_call([&] { client.end(); }));
    // Node passes the address object itself: its port, host undefined (localhost).
    client.connect(net::connect_options{.port = server.address()->port});
  }));
  common.run();
}

// test/parallel/test-net-socket-reset-send.js
TEST_CASE("test-net-socket-reset-send") {
  node_common common;
  net::server server = net::create_server();
  server.listen(0, common.must_call([&] {
    const auto port = server.address()->port;
    auto conn = net::create_connection(port);
    server.on("connection", [&common](net::socket socket) {
      socket.on("error", common.expects_error("ECONNRESET", "read ECONNRESET"));
    });
    conn.on("connect", common.must_call([&common, &server, conn]() mutable {
      CHECK(&conn == &conn.reset_and_destroy().destroy());
      conn.on("error", node_common::must_not_call("conn error"));
      conn.write(buf("fzfzfzfzfz"),
                 common.expects_error_code("ERR_STREAM_DESTROYED", "Cannot call write after a stream was destroyed"));
      server.close();
    }));
  }));
  common.run();
}

// test/parallel/test-net-socket-setnodelay.js
TEST_CASE("test-net-socket-setnodelay") {
  // Not portable: the first three parts hand new net.Socket() a mock
  // `handle` object to watch what setNoDelay() passes to it (an internal
  // handle; truthy/falsy JS values).
  net::socket socket;
  // setNoDelay() returns the socket (Node: `returned instanceof net.Socket`).
  auto& returned = socket.set_no_delay(true);
  CHECK(&returned == &socket);
}

// test/parallel/test-net-socket-timeout.js
TEST_CASE("test-net-socket-timeout") {
  node_common common;
  // Verify that invalid delays throw
  net::socket s;
  // Not portable: nonNumericDelays ('100', true, undefined, {}, ...), type errors.
  // badRangeDelays: -0.001, -Infinity, Infinity and NaN have no int64 form; -1:
  node_common::assert_throws([&] { s.set_timeout(-1, [] {}); }, "ERR_OUT_OF_RANGE");
  // validDelays: 0, 1, 1e6 (0.001 has no int64 form).
  for (std::int64_t d : {0, 1, 1000000}) s.set_timeout(d, [] {});
  // Not portable: invalidCallbacks (1, '100', null, Symbol...), type errors.

  net::server server;
  server.listen(0, common.must_call([&] {
    auto socket = net::create_connection(server.address()->port);
    CHECK(&socket.set_timeout(1, common.must_call([&server, socket]() mutable {
      socket.destroy();
      CHECK(&socket.set_timeout(1, node_common::must_not_call("timeout after destroy")) == &socket);
      server.close();
    })) == &socket);
  }));
  common.run();
}

// test/parallel/test-net-socket-timeout-unref.js
TEST_CASE("test-net-socket-timeout-unref") {
  node_common common;
  // Test that unref'ed sockets with timeouts do not prevent exit.
  net::server server = net::create_server([](net::socket c) {
    c.write("hello");
    c.unref();
  });
  server.listen(0);
  server.unref();

  int connections = 0;
  struct entry {
    net::socket socket;
    std::int64_t timeout;
  };
  std::vector<entry> sockets;
  const std::vector<std::int64_t> delays = {8, 5, 3, 6, 2, 4};
  for (auto t : delays) {
    auto socket = net::create_connection(server.address()->port, "localhost");
    socket.on("connect", common.must_call([&] {
      if (++connections == static_cast<int>(delays.size())) {
        for (auto& s : sockets) {
          auto sock = s.socket;
          s.socket.set_timeout(s.timeout, [sock]() mutable {
            sock.destroy();
            FAIL_CHECK("socket timed out unexpectedly");
          });
          s.socket.unref();
        }
      }
    }));
    sockets.push_back({socket, t * 1000});
  }
  common.run();
  for (auto& s : sockets) s.socket.destroy();  // Node's process exit closes them
}

// test/parallel/test-net-socket-write-after-close.js
TEST_CASE("test-net-socket-write-after-close") {
  // Not portable: both parts close the socket's internal handle
  // (client._handle.close()) under it, then write.
  SUCCEED("not portable: internal handle");
}

// test/parallel/test-net-socket-write-error.js
TEST_CASE("test-net-socket-write-error") {
  node_common common;
  net::server server = net::create_server();
  server.listen(0, [&] {
    auto client = std::make_shared<net::socket>();
    *client = net::create_connection(server.address()->port, [client] {
      // Not portable: client.write(1337) throws ERR_INVALID_ARG_TYPE (a number where data is expected).
      client->end();
    });
    client->on("end", [&server] { server.close(); });
  });
  common.run();
}
