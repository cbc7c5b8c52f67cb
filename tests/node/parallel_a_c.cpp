// Node v23.5.0's test/parallel/test-net-{a..c}*.js (but connect-*, which
// are in parallel_connect.cpp), ported to netxx: one TEST_CASE per Node file,
// Node's assertions kept. See common.hpp.
#include <cstddef>
#include <string>
#include <vector>

#include "common.hpp"

using node_test::node_common;

namespace {

// A JavaScript string of code points below 256 (String.fromCharCode(i)),
// as the UTF-8 std::string netxx's text is.
std::string from_char_code(unsigned c) {
  std::string s;
  if (c < 0x80) {
    s.push_back(static_cast<char>(c));
  } else {
    s.push_back(static_cast<char>(0xC0 | (c >> 6)));
    s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
  return s;
}

// A UTF-8 text as code points (what a JS string of latin1 text indexes).
std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(b);
      i += 1;
    } else if ((b & 0xE0) == 0xC0 && i + 1 < s.size()) {
      out.push_back(static_cast<char32_t>(((b & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F)));
      i += 2;
    } else {
      out.push_back(0xFFFD);
      i += 1;
    }
  }
  return out;
}

std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace

// test/parallel/test-net-access-byteswritten.js
TEST_CASE("test-net-access-byteswritten") {
  // Not portable: the file reads the bytesWritten getter off the prototypes
  // (net.Socket.prototype, tls.TLSSocket, tty streams) without an object; C++
  // member functions cannot be called without an object.
  SUCCEED("not portable: prototype getters");
}

// test/parallel/test-net-after-close.js
TEST_CASE("test-net-after-close") {
  node_common common;
  auto server = net::create_server([](net::socket s) { s.end(); });

  server.listen(0, common.must_call([&] {
    auto c = net::create_connection(server.address()->port);
    c.on("close", common.must_call([&, c](bool) mutable {
      // assert.strictEqual(c._handle, null): the internal handle has no C++ form.
      CHECK_NOTHROW([&] {
        c.set_no_delay();
        c.set_keep_alive();
        (void)c.buffer_size();
        c.pause();
        c.resume();
        (void)c.address();
        (void)c.remote_address();
        (void)c.remote_port();
      }());
      server.close();
    }));
  }));
  common.run();
}

// test/parallel/test-net-allow-half-open.js
TEST_CASE("test-net-allow-half-open") {
  node_common common;
  auto server = net::create_server(common.must_call([](net::socket socket) {
    socket.end(std::vector<std::byte>(1024));
  }));
  server.listen(0, common.must_call([&] {
    auto socket = net::connect(server.address()->port);
    // assert(socket.allowHalfOpen === false);
    // NETXX-MISSING: socket.allow_half_open() (the property; only the option exists)
    socket.resume();
    socket.on("end", common.must_call([&, socket] {
      node_common::next_tick([&, socket] {
        // Ensure socket is not destroyed straight away
        // without proper shutdown.
        CHECK(!socket.destroyed());
        server.close();
      });
    }));
    socket.on("finish", common.must_call([socket] { CHECK(!socket.destroyed()); }));
    socket.on("close", common.must_call());
  }));
  common.run();
}

// test/parallel/test-net-binary.js
TEST_CASE("test-net-binary") {
  node_common common;
  std::string binary_string;
  for (int i = 255; i >= 0; i--) {
    // The eval of an octal escape is JS-only: String.fromCharCode(i) is the same string.
    binary_string += from_char_code(static_cast<unsigned>(i));
  }

  // safe constructor: net.Server(fn) without new is a JS-only form.
  auto echo_server = net::create_server([](net::socket connection) {
    connection.set_encoding("latin1");
    connection.on("data", [connection](std::span<const std::byte> chunk) mutable {
      connection.write(as_text(chunk), "latin1");
    });
    connection.on("end", [connection]() mutable { connection.end(); });
  });
  echo_server.listen(0);

  std::string recv;
  unsigned j = 0;
  net::socket c;

  echo_server.on("listening", [&] {
    c = net::create_connection({.port = echo_server.address()->port});

    c.set_encoding("latin1");
    c.on("data", [&](std::span<const std::byte> chunk) {
      const unsigned n = j + static_cast<unsigned>(code_points(as_text(chunk)).size());
      while (j < n && j < 256) {
        c.write(from_char_code(j), "latin1");
        j++;
      }
      if (j == 256) {
        c.end();
      }
      recv += as_text(chunk);
    });

    c.on("connect", [&] { c.write(binary_string, "binary"); });

    c.on("close", [&](bool) { echo_server.close(); });
  });

  common.run();
  // process.on('exit')
  const auto a = code_points(recv);
  CHECK(2 * 256 == a.size());
  if (a.size() == 512) {
    std::vector<char32_t> first(a.begin(), a.begin() + 256);
    std::reverse(first.begin(), first.end());
    std::vector<char32_t> second(a.begin() + 256, a.end());
    CHECK(first == second);
  }
}

// test/parallel/test-net-bind-twice.js
TEST_CASE("test-net-bind-twice") {
  node_common common;
  auto server1 = net::create_server(node_common::must_not_call());
  auto server2 = net::create_server(node_common::must_not_call());
  server1.listen(0, "127.0.0.1", common.must_call([&] {
    server2.listen(server1.address()->port, "127.0.0.1", node_common::must_not_call());

    server2.on("error", common.must_call([&](const net::error& e) {
      CHECK(e.code_string() == "EADDRINUSE");
      server1.close();
    }));
  }));
  common.run();
}

// test/parallel/test-net-buffersize.js
TEST_CASE("test-net-buffersize") {
  node_common common;
  const std::size_t iter = 10;

  net::server server;
  server = net::create_server([&](net::socket socket) {
    socket.set_no_delay(false);
    // socket.on('readable', () => socket.read()): netxx has no "readable"
    // event (issue 11 F); a "data" listener consumes the same bytes.
    socket.on("data", [](std::span<const std::byte>) {});
    socket.on("end", [&] { server.close(); });
  });

  server.listen(0, common.must_call([&] {
    auto client = net::connect(server.address()->port);
    client.set_no_delay(false);

    client.on("finish", common.must_call([client] { CHECK(client.buffer_size() == 0); }));

    for (std::size_t i = 1; i < iter; i++) {
      client.write("a");
      CHECK(client.buffer_size() == i);
    }

    client.end();
  }));
  common.run();
}

// test/parallel/test-net-bytes-read.js
TEST_CASE("test-net-bytes-read") {
  node_common common;
  const std::vector<std::byte> big(1024 * 1024);

  net::server server;
  server = net::create_server([&](net::socket socket) {
    socket.end(big);
    server.close();
  });
  std::uint64_t prev = 0;
  net::socket socket;
  auto check_raise = [&prev](std::uint64_t value) {
    CHECK(value > prev);
    prev = value;
  };
  server.listen(0, [&] {
    socket = net::connect(server.address()->port, [&] {
      socket.on("data", [&](std::span<const std::byte>) { check_raise(socket.bytes_read()); });

      socket.on("end", common.must_call([&] {
        CHECK(socket.bytes_read() == prev);
        CHECK(big.size() == prev);
      }));

      socket.on("close", common.must_call([&](bool) {
        // assert(!socket._handle): the internal handle has no C++ form.
        CHECK(socket.bytes_read() == prev);
        CHECK(big.size() == prev);
      }));
    });
    socket.end();
  });
  common.run();
}

// test/parallel/test-net-bytes-stats.js
TEST_CASE("test-net-bytes-stats") {
  node_common common;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  int count = 0;

  auto tcp = net::create_server([&](net::socket s) {
    // trigger old mode.
    s.resume();

    s.on("end", [&, s] { bytes_read += s.bytes_read(); });
  });

  net::socket socket;
  tcp.listen(0, [&] {
    socket = net::create_connection(tcp.address()->port);

    socket.on("connect", [&] {
      count++;
      socket.write("foo", [&](std::error_code) { socket.end("bar"); });
    });

    socket.on("finish", [&] { bytes_written += socket.bytes_written(); });

    socket.on("close", [&](bool) {
      if (count < 2) {
        socket.connect(tcp.address()->port);
      } else {
        tcp.close();
      }
    });
  });

  common.run();
  // process.on('exit')
  CHECK(bytes_read == 12);
  CHECK(bytes_written == 12);
}

// test/parallel/test-net-bytes-written-large.js
TEST_CASE("test-net-bytes-written-large") {
  node_common common;
  // Regression test for https://github.com/nodejs/node/issues/19562:
  // Writing to a socket first tries to push through as much data as possible
  // without blocking synchronously, and, if that is not enough, queues more
  // data up for asynchronous writing.
  // Check that `bytesWritten` accounts for both parts of a write.
  static constexpr std::size_t N = 10000000;

  // Variant 1: Write a Buffer.
  auto server1 = net::create_server(common.must_call([&](net::socket socket) {
    socket.end(std::vector<std::byte>(N), common.must_call([socket](std::error_code) {
      CHECK(socket.bytes_written() == N);
    }));
    CHECK(socket.bytes_written() == N);
  }));
  server1.listen(0, common.must_call([&] {
    auto client = net::connect(server1.address()->port);
    client.resume();
    client.on("close", common.must_call([&, client](bool) {
      CHECK(client.bytes_read() == N);
      server1.close();
    }));
  }));

  // Variant 2: Write a string.
  auto server2 = net::create_server(common.must_call([&](net::socket socket) {
    socket.end(std::string(N, 'a'), common.must_call([socket](std::error_code) {
      CHECK(socket.bytes_written() == N);
    }));
    CHECK(socket.bytes_written() == N);
  }));
  server2.listen(0, common.must_call([&] {
    auto client = net::connect(server2.address()->port);
    client.resume();
    client.on("close", common.must_call([&, client](bool) {
      CHECK(client.bytes_read() == N);
      server2.close();
    }));
  }));

  // Variant 2: writev() with mixed data.
  auto server3 = net::create_server(common.must_call([&](net::socket socket) {
    // socket.cork() / socket.uncork(): NETXX-MISSING: cork() and uncork() (issue 11 F); the writes are kept.
    socket.write(std::string(N, 'a'));
    CHECK(socket.bytes_written() == N);
    socket.write(std::vector<std::byte>(N));
    CHECK(socket.bytes_written() == 2 * N);
    socket.end("", common.must_call([socket](std::error_code) { CHECK(socket.bytes_written() == 2 * N); }));
  }));
  server3.listen(0, common.must_call([&] {
    auto client = net::connect(server3.address()->port);
    client.resume();
    client.on("close", common.must_call([&, client](bool) {
      CHECK(client.bytes_read() == 2 * N);
      server3.close();
    }));
  }));
  common.run();
}

// test/parallel/test-net-can-reset-timeout.js
TEST_CASE("test-net-can-reset-timeout") {
  node_common common;
  net::server server;
  server = net::create_server(common.must_call([&](net::socket stream) {
    stream.set_timeout(100);

    stream.resume();

    stream.on("timeout", common.must_call([stream]() mutable {
      // Try to reset the timeout.
      stream.write("WHAT.");
    }));

    stream.on("end", [stream]() mutable { stream.end(); });
  }));

  server.listen(0, common.must_call([&] {
    auto c = net::create_connection(server.address()->port);

    c.on("data", [c](std::span<const std::byte>) mutable { c.end(); });

    c.on("end", [&] { server.close(); });
  }));
  common.run();
}

// test/parallel/test-net-client-bind-twice.js
TEST_CASE("test-net-client-bind-twice") {
  // This tests that net.connect() from a used local port throws EADDRINUSE.
  node_common common;
  auto server1 = net::create_server(node_common::must_not_call());
  auto server2 = net::create_server(node_common::must_not_call());
  server1.listen(0, node_common::localhost_ipv4, common.must_call([&] {
    server2.listen(0, node_common::localhost_ipv4, common.must_call([&] {
      auto client = net::connect({.port = server1.address()->port,
                                  .host = node_common::localhost_ipv4,
                                  .local_address = node_common::localhost_ipv4,
                                  .local_port = server2.address()->port},
                                 node_common::must_not_call());

      client.on("error", common.must_call([&](const net::error& err) {
        CHECK(err.code_string() == "EADDRINUSE");
        server1.close();
        server2.close();
      }));
    }));
  }));
  common.run();
}
