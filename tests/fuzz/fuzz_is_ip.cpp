// libFuzzer target for net.isIP/isIPv4/isIPv6 and the address text forms.
// Properties: is_ip agrees with is_ipv4/is_ipv6; without a zone or NUL, the
// answer is glibc inet_pton's (the same grammar as libuv's, which Node uses);
// an accepted address formats to text that parses back to the same bytes, and
// an IPv4 address formats back to its input exactly.
#include <netxx/ip.hpp>

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace net = netxx;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const int ip = net::is_ip(in);
  const bool v4 = net::is_ipv4(in), v6 = net::is_ipv6(in);
  if (ip != (v4 ? 4 : v6 ? 6 : 0) || (v4 && v6)) std::abort();

  if (in.find('%') == std::string_view::npos && in.find('\0') == std::string_view::npos) {
    const std::string s(in);
    unsigned char buf[16];
    if (v4 != (inet_pton(AF_INET, s.c_str(), buf) == 1)) std::abort();
    if (v6 != (inet_pton(AF_INET6, s.c_str(), buf) == 1)) std::abort();
  }
  if (v4) {
    auto b = net::detail::parse_ipv4(in);
    if (!b || net::detail::format_ipv4(*b).view() != in) std::abort();
  }
  if (v6) {
    auto b = net::detail::parse_ipv6(in.substr(0, in.find('%')));
    if (!b) std::abort();
    const auto text = net::detail::format_ipv6(*b);
    auto again = net::detail::parse_ipv6(text.view());
    if (!again || *again != *b || !net::is_ipv6(text.view())) std::abort();
    if (net::detail::format_ipv6(*again) != text) std::abort();  // the text form is canonical
  }
  return 0;
}
