// The spec's `onread` client: every read lands in one 4 KiB buffer, reused,
// and goes to a callback instead of a "data" event.
//   JavaScript:
//     net.createConnection({
//       port: 8124,
//       onread: {
//         // Reuses a 4KiB Buffer for every read from the socket.
//         buffer: Buffer.alloc(4 * 1024),
//         callback: function(nread, buf) {
//           // Received data is available in `buf` from 0 to `nread`.
//           console.log(buf.toString('utf8', 0, nread));
//         },
//       },
//     });
// The spec's client only listens; this one also says "world!\r\n" and ends,
// so that it finishes when 010-echo-server ends the connection in turn.
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <array>
#include <string_view>

int main() {
  // Reuses a 4 KiB buffer for every read from the socket.
  std::array<std::byte, 4 * 1024> buffer{};
  net::connect_options options{.port = 8124};  // a variable: it carries a callback (GCC 12, see socket_options.hpp)
  options.onread = {
      .buffer = buffer,
      .callback =
          [](std::size_t nread, std::span<std::byte> buf) {
            // Received data is available in `buf` from 0 to `nread`.
            fmt::print("{}\n", std::string_view(reinterpret_cast<const char*>(buf.data()), nread));
            return true;  // false would pause the socket
          },
  };
  net::socket client = net::create_connection(options);
  client.on("connect", [&client] { client.end("world!\r\n"); });
  return net::run();
}
