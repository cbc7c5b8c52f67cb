// libFuzzer target for SocketAddress.parse and new SocketAddress({address}).
// Properties: a parsed address formats (to_string) to text that parses back
// to the same address; the constructor never fails other than with a
// netxx::error, and what it accepts reads back through address() unchanged.
#include <netxx/socket_address.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace net = netxx;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto a = net::socket_address::parse(in)) {
    const std::string text = net::to_string(*a);
    auto b = net::socket_address::parse(text);
    if (!b || *b != *a) std::abort();
    if (in.find('[') == std::string_view::npos && a->family() != net::family::ipv4) std::abort();
  }
  for (auto fam : {net::family::ipv4, net::family::ipv6}) {
    try {
      net::socket_address a({.address = in, .family = fam, .port = static_cast<std::int64_t>(size % 70000)});
      if (a.family() != fam || a.port() != size % 70000) std::abort();
      net::socket_address b({.address = a.address().view(), .family = fam, .port = a.port()});
      if (a != b) std::abort();
    } catch (const net::error& e) {
      const auto code = e.code();
      if (code != net::errc::err_invalid_address && code != net::errc::err_socket_bad_port) std::abort();
    }
  }
  return 0;
}
