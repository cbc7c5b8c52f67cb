// Closing a server with an AbortSignal, as the spec's
//   const controller = new AbortController();
//   server.listen({ host: 'localhost', port: 80, signal: controller.signal });
//   // Later, when you want to close the server.
//   controller.abort();
// In C++ the signal is a std::stop_token; request_stop() may come from any thread.
#include <netxx/net.hpp>

#include <fmt/core.h>

int main() {
  std::stop_source controller;
  auto server = net::create_server();
  server.on("close", [] { fmt::print("server closed by its signal\n"); });
  net::listen_options options{.port = 0, .host = "localhost"};
  options.signal = controller.get_token();
  server.listen(options, [&server] { fmt::print("listening on port {}\n", server.address()->port); });
  // Later, when you want to close the server.
  net::set_timeout([&controller] { controller.request_stop(); }, 100);
  return net::run();
}
