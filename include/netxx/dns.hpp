#pragma once
/// TEMPORARY STUB (replaced by the dns branch): the agreed API of dns.lookup.

#include <netdb.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "errors.hpp"
#include "ip.hpp"
#include "loop.hpp"

NETXX_BEGIN_NAMESPACE
namespace dns {

inline constexpr int addrconfig = AI_ADDRCONFIG, v4mapped = AI_V4MAPPED, all = AI_ALL;
enum class result_order { verbatim, ipv4first, ipv6first };

struct lookup_address {
  std::string address;
  int family = 0;
  friend bool operator==(const lookup_address&, const lookup_address&) = default;
};
struct lookup_options {
  int family = 0;
  int hints = 0;
  bool all = false;
  std::optional<result_order> order{};
};
using lookup_callback = std::function<void(std::optional<error>, std::vector<lookup_address>)>;
using lookup_function = std::function<void(std::string_view hostname, const lookup_options&, lookup_callback)>;

template <typename Backend, typename F>
void lookup(basic_loop<Backend>& loop, std::string_view hostname, const lookup_options& o, F&& callback) {
  std::vector<lookup_address> out;
  std::optional<error> err;
  addrinfo hints{};
  hints.ai_family = o.family == 4 ? AF_INET : o.family == 6 ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = o.hints;
  addrinfo* res = nullptr;
  std::string host(hostname);
  if (int r = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); r != 0) {
    err = error(errc::enotfound, "getaddrinfo ENOTFOUND " + host);
  } else {
    for (auto* p = res; p; p = p->ai_next) {
      char buf[INET6_ADDRSTRLEN];
      if (p->ai_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr, buf, sizeof buf);
      else
        ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr, buf, sizeof buf);
      out.push_back({buf, p->ai_family == AF_INET ? 4 : 6});
      if (!o.all) break;
    }
    ::freeaddrinfo(res);
  }
  loop.post([cb = std::forward<F>(callback), err = std::move(err), out = std::move(out)]() mutable {
    cb(std::move(err), std::move(out));
  });
}

}  // namespace dns
NETXX_END_NAMESPACE
