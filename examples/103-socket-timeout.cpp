// socket.setTimeout(): "timeout" after 3 s of inactivity. Nothing is closed
// for you: the listener ends the socket, as in the spec's
//   socket.setTimeout(3000);
//   socket.on('timeout', () => {
//     console.log('socket timeout');
//     socket.end();
//   });
// Against 010-echo-server: the greeting arrives, then nothing for 3 s.
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <string_view>

int main() {
  net::socket socket = net::connect(8124);
  socket.on("data", [](std::span<const std::byte> data) {
    fmt::print("received {:?}\n", std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  });
  socket.set_timeout(3000);
  socket.on("timeout", [&socket] {
    fmt::print("socket timeout\n");
    socket.end();
  });
  socket.on("close", [](bool had_error) { fmt::print("closed (had_error: {})\n", had_error); });
  return net::run();
}
