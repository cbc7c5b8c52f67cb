// Node's `await once(emitter, name)`: the event face, awaited. A server
// listens in the event style and we await its "listening"; a client
// connects and we await its "connect", then the server's "connection";
// a connect to a port nobody listens on makes once() throw the "error".
#include <netxx/net.hpp>

#include <fmt/core.h>

net::task<> demo() {
  auto server = net::create_server();
  server.listen({.port = 0, .host = "127.0.0.1"});  // not awaited: "listening" follows
  co_await net::once<"listening">(server);          // a no-argument event: nothing to get
  const auto port = server.address()->port;
  fmt::print("listening\n");

  auto connection = net::once<"connection">(server);  // listens from here on, as Node's once()
  net::socket client;
  (void)client.connect({.port = port, .host = "127.0.0.1"});
  co_await net::once<"connect">(client);
  fmt::print("connect: to port {}: {}\n", client.remote_port(), client.remote_port() == port);
  net::socket peer = co_await connection;  // a one-argument event: its value
  fmt::print("connection: from port {}: {}\n", peer.remote_port(), peer.remote_port() == client.local_port());

  auto closed = net::once<"close">(client);
  client.end();
  peer.end();
  const bool had_error = co_await closed;
  fmt::print("close: had_error = {}\n", had_error);

  server.close();
  co_await net::once<"close">(server);
  net::socket refused;
  (void)refused.connect({.port = port, .host = "127.0.0.1"});  // nobody listens there any more
  try {
    co_await net::once<"connect">(refused);
  } catch (const net::error& e) {
    fmt::print("once() threw: {}\n", e.what());  // "connect ECONNREFUSED 127.0.0.1:<port>"
  }
}

int main() { return net::run(demo()); }
