// SPDX-License-Identifier: BSL-1.0
#pragma once
// The definitions behind dns.hpp: included by it when netxx is header-only,
// compiled once by src/netxx.cpp with NETXX_SEPARATE_COMPILATION.

#include <mutex>

#include "../detail/idna.hpp"
#include "../detail/thread_pool.hpp"
#include "../dns.hpp"

NETXX_BEGIN_NAMESPACE
namespace dns {
namespace detail {

/// One getaddrinfo in flight: shared by the loop (attached as remote work,
/// holding a reference to itself until answered or the loop goes), the job
/// on the pool, and the answer posted back.
template <typename Backend>
struct lookup_request : netxx::detail::remote_work {
  // Set on the loop thread before the job starts; read-only afterwards.
  std::string hostname;  // as given: Node's messages name it
  std::string ascii;     // what getaddrinfo gets
  int family = 0;
  int hints = 0;
  result_order order = result_order::verbatim;
  bool all = false;
  netxx::detail::loop_core* core = nullptr;  // loop thread only
  lookup_callback callback;                  // loop thread only
  std::shared_ptr<lookup_request> self;      // loop thread only: while attached

  // The answer, written by the worker before it posts.
  int rc = 0;
  int sys_errno = 0;
  std::vector<lookup_address> addresses;

  std::mutex mutex;                        // guards loop against the loop's destructor
  basic_loop<Backend>* loop = nullptr;     // null once the loop is gone

  lookup_request() { loop_gone = &on_loop_gone; }

  // Worker thread.
  static void work(const std::shared_ptr<lookup_request>& r) {
    r->rc = resolve(r->ascii, r->family, r->hints, r->order, r->all, r->addresses, r->sys_errno);
    std::lock_guard lock(r->mutex);
    if (r->loop) r->loop->post([r] { r->answer(); });
  }

  // Loop thread: the posted answer.
  void answer() {
    core->detach_remote(*this);
    core->release_ref();
    auto keep = std::move(self);
    auto cb = std::move(callback);
    if (rc != 0)
      cb(getaddrinfo_error(rc, sys_errno, hostname), {});
    else
      cb(std::nullopt, std::move(addresses));
  }

  // Loop thread, from the loop's destructor: the answer will not be posted;
  // the callback (and what it holds) goes now, on its own thread.
  static void on_loop_gone(netxx::detail::remote_work* w) noexcept {
    auto* r = static_cast<lookup_request*>(w);
    {
      std::lock_guard lock(r->mutex);
      r->loop = nullptr;
    }
    auto keep = std::move(r->self);
    r->callback = {};
  }
};

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
    : st_(std::make_shared<state>()), core_(&loop.core()) {
  lookup(loop, hostname, options, [st = st_](std::optional<error> err, std::vector<lookup_address> addrs) {
    if (st->done) return;  // aborted: nobody waits for it
    st->err = std::move(err);
    st->addresses = std::move(addrs);
    st->done = true;
    if (auto w = std::exchange(st->waiter, {})) netxx::detail::resume(w);
  });
}

NETXX_INLINE unsigned threadpool_size() { return netxx::detail::thread_pool::max_threads(); }

}  // namespace dns
NETXX_END_NAMESPACE
