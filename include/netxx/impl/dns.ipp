#pragma once
// The definitions behind dns.hpp: included by it when netxx is header-only,
// compiled once by src/netxx.cpp with NETXX_SEPARATE_COMPILATION.

#include "../dns.hpp"

NETXX_BEGIN_NAMESPACE
namespace dns {
namespace detail {

template <typename Backend>
void start_lookup(basic_loop<Backend>& loop, std::string_view hostname, const lookup_options& options,
                  lookup_callback cb) {
  assert(loop.core().in_loop_thread());
  if (auto bad = validate(options)) throw std::move(*bad);
  const result_order order = options.order      ? *options.order
                             : options.verbatim ? (*options.verbatim ? result_order::verbatim : result_order::ipv4first)
                                                : get_default_result_order();
  if (hostname.empty()) {
    loop.post([cb = std::move(cb)]() mutable { cb(std::nullopt, {}); });
    return;
  }
  if (const int literal = is_ip(hostname)) {
    std::vector<lookup_address> one{{std::string(hostname), literal}};
    loop.post([cb = std::move(cb), one = std::move(one)]() mutable { cb(std::nullopt, std::move(one)); });
    return;
  }
  auto ascii = netxx::detail::hostname_to_ascii(hostname);
  if (!ascii) {  // libuv's EINVAL, before any thread sees it
    loop.post([cb = std::move(cb), e = error::from_dns("getaddrinfo", errno_code(EINVAL), hostname)]() mutable {
      cb(std::move(e), {});
    });
    return;
  }
  auto r = std::make_shared<detail::lookup_request<Backend>>();
  r->hostname = std::string(hostname);
  r->ascii = std::move(*ascii);
  r->family = options.family;
  r->hints = options.hints;
  r->order = order;
  r->all = options.all;
  r->core = &loop.core();
  r->callback = std::move(cb);
  r->loop = &loop;
  try {
    netxx::detail::thread_pool::submit([r] { detail::lookup_request<Backend>::work(r); });
  } catch (const std::system_error& e) {  // no worker thread could be started
    cb = std::move(r->callback);
    const int ev = e.code().category() == std::generic_category() || e.code().category() == std::system_category()
                       ? e.code().value()
                       : EAGAIN;
    loop.post([cb = std::move(cb), err = error::from_dns("getaddrinfo", errno_code(ev), hostname)]() mutable {
      cb(std::move(err), {});
    });
    return;
  }
  r->self = r;
  loop.core().attach_remote(*r);
  loop.core().add_ref();
}

}  // namespace detail

template <typename Backend>
lookup_awaitable<Backend>::lookup_awaitable(basic_loop<Backend>& loop, std::string_view hostname,
                                            const lookup_options& options)
    : st_(std::make_shared<state>()) {
  lookup(loop, hostname, options, [st = st_](std::optional<error> err, std::vector<lookup_address> addrs) {
    st->err = std::move(err);
    st->addresses = std::move(addrs);
    st->done = true;
    if (auto w = std::exchange(st->waiter, {})) netxx::detail::resume(w);
  });
}

}  // namespace dns
NETXX_END_NAMESPACE
