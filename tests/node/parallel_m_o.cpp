// Node v23.5.0's test/parallel/test-net-{m..o}*.js, ported to netxx: one
// TEST_CASE per Node file, Node's assertions kept. See common.hpp.
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"

using node_test::node_common;

namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

}  // namespace

// test/parallel/test-net-normalize-args.js
TEST_CASE("test-net-normalize-args") {
  // net._normalizeArgs and normalizedArgsSymbol are internals (--expose-internals):
  // the checks of the normalized arrays have no C++ form, nor has
  // socket.connect([{ port }, fn]) with a plain array (a dynamic JS type).
  node_common common;

  // Connecting to the server should succeed with a normalized array:
  // socket.connect(net._normalizeArgs([{ port }, common.mustCall()])) is
  // socket.connect({ port }, common.mustCall()).
  net::server server;
  server = net::create_server(common.must_call([&](net::socket connection) {
    connection.end();
    server.close();
  }));

  net::socket socket;
  server.listen(0, common.must_call([&] {
    const auto port = server.address()->port;
    socket.connect({.port = port}, common.must_call());
  }));
  common.run();
}

// test/parallel/test-net-onread-static-buffer.js
TEST_CASE("test-net-onread-static-buffer") {
  // The callback counts: the stored version of this file says mustCall()
  // (exactly once) for some variants, but Node v23.5.0 itself calls the
  // callback twice for this 11-byte message in an 8-byte buffer (checked
  // with the binary): mustCallAtLeast is what holds in Node.
  // Buffer and Uint8Array variants are the same bytes in C++; both are kept.
  node_common common;
  const auto message = bytes_of("hello world");
  std::vector<net::server> servers;
  std::vector<std::shared_ptr<net::socket>> clients;
  servers.reserve(8);

  auto serve = [&](auto on_listening) {
    servers.emplace_back();
    auto& server = servers.back();
    server = net::create_server(common.must_call([&server, &message](net::socket socket) {
      server.close();
      socket.end(message);
    }));
    server.listen(0, common.must_call([&server, on_listening]() mutable { on_listening(server.address()->port); }));
  };

  // Test typical usage (and: Test Uint8Array support)
  for (int variant = 0; variant < 2; ++variant) {
    serve([&](std::uint16_t port) {
      auto received = std::make_shared<std::size_t>(0);
      auto buffers = std::make_shared<std::vector<std::byte>>();
      auto sock_buf = std::make_shared<std::vector<std::byte>>(8);
      auto client = std::make_shared<net::socket>();
      clients.push_back(client);
      *client = net::connect({.port = port,
                              .onread = {.buffer = *sock_buf,
                                         .callback = common.must_call_at_least(
                                             [=](std::size_t nread, std::span<std::byte> buf) {
                                               CHECK(buf.data() == sock_buf->data());
                                               *received += nread;
                                               buffers->insert(buffers->end(), buf.begin(), buf.begin() + nread);
                                               return true;
                                             })}});
      client->on("data", node_common::must_not_call());
      client->on("end", common.must_call([=, &message] {
        CHECK(*received == message.size());
        CHECK(*buffers == message);
      }));
    });
  }

  // Test Buffer callback usage (and: Test Uint8Array callback support)
  for (int variant = 0; variant < 2; ++variant) {
    serve([&](std::uint16_t port) {
      auto received = std::make_shared<std::size_t>(0);
      auto incoming = std::make_shared<std::vector<std::byte>>();
      auto buf_pool = std::make_shared<std::vector<std::vector<std::byte>>>(3, std::vector<std::byte>(2));
      auto buf_pool_idx = std::make_shared<int>(-1);
      auto buf_pool_usage = std::make_shared<int>(0);
      auto client = std::make_shared<net::socket>();
      clients.push_back(client);
      *client = net::connect(
          {.port = port,
           .onread = {.buffer_fn =
                          [=]() -> std::span<std::byte> {
                            ++*buf_pool_usage;
                            *buf_pool_idx = (*buf_pool_idx + 1) % static_cast<int>(buf_pool->size());
                            return (*buf_pool)[static_cast<std::size_t>(*buf_pool_idx)];
                          },
                      .callback = common.must_call_at_least([=](std::size_t nread, std::span<std::byte> buf) {
                        CHECK(buf.data() == (*buf_pool)[static_cast<std::size_t>(*buf_pool_idx)].data());
                        *received += nread;
                        incoming->insert(incoming->end(), buf.begin(), buf.begin() + nread);
                        return true;
                      })}});
      client->on("data", node_common::must_not_call());
      client->on("end", common.must_call([=, &message] {
        CHECK(*received == message.size());
        CHECK(*incoming == message);
        CHECK(*buf_pool_usage == 7);
      }));
    });
  }

  // Test explicit socket pause (variant 0) and implicit socket pause (variant 1)
  for (int variant = 0; variant < 2; ++variant) {
    serve([&, variant](std::uint16_t port) {
      auto received = std::make_shared<std::size_t>(0);
      auto buffers = std::make_shared<std::vector<std::byte>>();
      auto sock_buf = std::make_shared<std::vector<std::byte>>(8);
      auto paused = std::make_shared<bool>(false);
      auto client = std::make_shared<net::socket>();
      clients.push_back(client);
      std::weak_ptr<net::socket> self = client;
      *client = net::connect({.port = port,
                              .onread = {.buffer = *sock_buf,
                                         .callback = common.must_call_at_least(
                                             [=](std::size_t nread, std::span<std::byte> buf) {
                                               CHECK(*paused == false);
                                               CHECK(buf.data() == sock_buf->data());
                                               *received += nread;
                                               buffers->insert(buffers->end(), buf.begin(), buf.begin() + nread);
                                               *paused = true;
                                               if (variant == 0) self.lock()->pause();
                                               net::set_timeout(
                                                   [=] {
                                                     *paused = false;
                                                     self.lock()->resume();
                                                   },
                                                   100);
                                               return variant == 0;  // implicit: return false
                                             })}});
      client->on("data", node_common::must_not_call());
      client->on("end", common.must_call([=, &message] {
        CHECK(*received == message.size());
        CHECK(*buffers == message);
      }));
    });
  }
  common.run();
}

// test/parallel/test-net-options-lookup.js
TEST_CASE("test-net-options-lookup") {
  // ['foobar', 1, {}, []] as `lookup` -> ERR_INVALID_ARG_TYPE: dynamic JS
  // types; the lookup option is a function type in C++.
  // (The stored version is older; this is Node v23.5.0's form, which
  // connects to port 0, as lookup is emitted before connecting.)
  node_common common;
  auto connect_does_not_throw = [](net::dns::lookup_function input) {
    return net::connect({.port = 0, .host = "localhost", .lookup = std::move(input)});
  };

  std::vector<net::socket> sockets;
  CHECK_NOTHROW(sockets.push_back(
      connect_does_not_throw([](std::string_view, const net::dns::lookup_options&, net::dns::lookup_callback) {})));

  {
    // Verify that an error is emitted when an invalid address family is returned.
    auto s = connect_does_not_throw([](std::string_view, const net::dns::lookup_options&, net::dns::lookup_callback cb) {
      // options.all: [{ address: '127.0.0.1', family: 100 }]; else ('127.0.0.1', 100)
      cb(std::nullopt, {net::dns::lookup_address{"127.0.0.1", 100}});
    });
    s.on("error", common.must_call([](const net::error& e) {
      CHECK(e.code_string() == "ERR_INVALID_ADDRESS_FAMILY");
      // host: 'localhost', port: 0 (Node's error has them as properties;
      // netxx's has address() and port())
      CHECK(e.message() == "Invalid address family: 100 localhost:0");
    }));
    sockets.push_back(s);
  }
  common.run();
}
