// SPDX-License-Identifier: BSL-1.0
#pragma once
// The definitions behind connector.hpp: included by it when netxx is header-only,
// compiled once by src/netxx.cpp with NETXX_SEPARATE_COMPILATION.

#include "connector.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {
template <typename Owner>
void connector<Owner>::start(const connect_options& o, connect_target t) {
  const std::uint64_t g = ++gen;
  multiple = false;
  attempted_addresses.reset();
  race_delay.reset();
  host = std::move(t.host);
  if (o.block_list) blocks = o.block_list;
  auto keep = owner->shared_from_this();
  if (t.ipc) {
    port = 0;
    local_address.clear();
    local_port = 0;
    owner->loop->post([keep, g] {
      if (keep->connecting && keep->x->connect.gen == g) keep->x->connect.connect_to(keep->x->connect.host, 0);
    });
    return;
  }
  port = static_cast<std::uint16_t>(*o.port);
  local_address = std::string(o.local_address);
  local_port = o.local_port;
  attempt_timeout = t.attempt_timeout;
  // Attempts in flight together cannot share a local port (nor can IPv4
  // and a dual-stack IPv6): with one, Node's serial attempts run instead.
  if (local_port == 0) race_delay = t.race_delay;
  if (const int fam = is_ip(host)) {  // an IP: no lookup
    owner->loop->post([keep, g, fam] {
      if (keep->connecting && keep->x->connect.gen == g) keep->x->connect.connect_to(keep->x->connect.host, fam);
    });
    return;
  }
  dns::lookup_options dopts{.family = o.family, .hints = o.hints};
  if (dopts.family != 4 && dopts.family != 6 && dopts.hints == 0) dopts.hints = dns::addrconfig;
  // Asking for Happy Eyeballs v2 asks for the family to be auto-selected,
  // whatever the process-wide default; auto_select_family = false still wins.
  const bool all = dopts.family != 4 && dopts.family != 6 && o.local_address.empty() &&
                   o.auto_select_family.value_or(o.happy_eyeballs || get_default_auto_select_family());
  dopts.all = all;
  auto answer = [keep, g, all](std::optional<error> err, std::vector<dns::lookup_address> addrs) {
    keep->x->connect.after_lookup(g, std::move(err), std::move(addrs), all);
  };
  if (o.lookup) {
    // Called next tick, so even a lookup that answers at once finds the
    // listeners attached right after connect() returned.
    owner->loop->post([keep, g, dopts, fn = o.lookup, answer = std::move(answer)]() mutable {
      if (keep->connecting && keep->x->connect.gen == g)
        fn(keep->x->connect.host, dopts, dns::lookup_callback(std::move(answer)));
    });
  } else {
    dns::lookup(*owner->loop, host, dopts, std::move(answer));
  }
}

template <typename Owner>
void connector<Owner>::stop() noexcept {
  ++gen;
  owner->loop->core().disarm_timer(attempt_timer);
  if (auto* a = std::exchange(attempt, nullptr)) owner->loop->cancel(a->id);
  close_racing();
}

template <typename Owner>
void connector<Owner>::close_racing() noexcept {
  for (attempt_op* a : std::exchange(racing, {})) {
    owner->loop->close_now(a->fd);  // cancels its connect first (io_uring), or queues its -ECANCELED (epoll)
    a->closed = true;
  }
}

template <typename Owner>
void connector<Owner>::after_lookup(std::uint64_t g, std::optional<error> err, std::vector<dns::lookup_address> addrs, bool all) {
  if (!live(g)) return;  // destroyed or reconnected meanwhile
  auto keep = owner->shared_from_this();
  auto& events = owner->events;
  if (!err && addrs.empty()) err = error(errc::enotfound, "getaddrinfo ENOTFOUND " + host);
  if (err) {
    events.template emit<"lookup">(err->code(), std::string_view(), 0, std::string_view(host));
    if (live(g)) fail_later(std::move(*err));
    return;
  }
  if (!all) {
    const auto& a = addrs.front();
    events.template emit<"lookup">(std::error_code(), std::string_view(a.address), a.family, std::string_view(host));
    if (!live(g)) return;
    if (auto bad = check_address(a)) return fail_later(std::move(*bad));
    connect_to(a.address, a.family);
    return;
  }
  for (const auto& a : addrs) {
    events.template emit<"lookup">(std::error_code(), std::string_view(a.address), a.family, std::string_view(host));
    if (!live(g)) return;
  }
  std::vector<dns::lookup_address> order = happy_eyeballs_order(addrs);
  if (order.empty()) {
    if (auto bad = check_address(addrs.front())) fail_later(std::move(*bad));
    return;
  }
  if (order.size() == 1) {
    connect_to(order.front().address, order.front().family);
    return;
  }
  multiple = true;
  candidates = std::move(order);
  next_candidate = 0;
  attempt_errors.clear();
  attempted_addresses.emplace();
  if (race_delay) {
    race_errors.assign(candidates.size(), std::nullopt);
    return race_next();
  }
  connect_next();
}

template <typename Owner>
std::optional<error> connector<Owner>::check_address(const dns::lookup_address& a) const {
  if (is_ip(a.address) == 0) return error(errc::err_invalid_ip_address, "Invalid IP address: " + a.address);
  if (a.family != 4 && a.family != 6)
    return error(errc::err_invalid_addrtype, "Invalid address family: " + std::to_string(a.family) + " " + host +
                                                 ":" + std::to_string(port));
  return std::nullopt;
}

template <typename Owner>
void connector<Owner>::fail_later(error e) {
  auto keep = owner->shared_from_this();
  owner->loop->post([keep, g = gen, e = std::move(e)]() mutable {
    if (keep->x->connect.live(g)) keep->destroy(std::move(e));
  });
}

template <typename Owner>
auto connector<Owner>::make_attempt(std::string_view address, int fam, std::string_view local_ip, std::optional<error>& failure) -> std::unique_ptr<attempt_op> {
  auto a = std::make_unique<attempt_op>();
  a->st = owner->shared_from_this();
  a->gen = gen;
  a->address = std::string(address);
  a->port = fam == 0 ? 0 : port;
  a->family = fam;
  const int af = fam == 4 ? AF_INET : fam == 6 ? AF_INET6 : AF_UNIX;
  if (fam == 0) {
    int err = 0;
    if (auto len = to_unix_sockaddr(address, a->addr, err)) {
      a->addrlen = *len;
    } else {
      // libuv refuses a path that does not fit with EINVAL, and so does
      // Node, whose message then names the pipe's local end, which it has
      // not: " - Local (undefined:undefined)".
      failure = error::from_syscall("connect", errno_code(err ? err : EINVAL), address, std::nullopt,
                                    "undefined:undefined");
      return nullptr;
    }
  } else {
    auto len = to_ip_sockaddr(address, port, fam, a->addr);
    if (!len) {
      failure = error(errc::err_invalid_ip_address, "Invalid IP address: " + std::string(address));
      return nullptr;
    }
    a->addrlen = *len;
  }
  a->fd = ::socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (a->fd < 0) {
    failure = error::from_syscall("connect", errno_code(errno), address, a->port);
    return nullptr;
  }
  if (fam != 0 && (!local_ip.empty() || local_port != 0)) {
    std::string local = local_ip.empty() ? std::string(fam == 4 ? "0.0.0.0" : "::") : std::string(local_ip);
    sockaddr_storage ss{};
    int r = -EINVAL;
    if (auto len = to_ip_sockaddr(local, local_port, fam, ss))
      r = ::bind(a->fd, reinterpret_cast<sockaddr*>(&ss), *len) == 0 ? 0 : -errno;
    if (r != 0) {
      ::close(a->fd);  // never seen by the loop
      failure = error::from_syscall("bind", errno_code(-r), local, local_port);
      return nullptr;
    }
    a->local_address = std::move(local);
    a->local_port = local_port;
  }
  return a;
}

template <typename Owner>
bool connector<Owner>::launch(std::unique_ptr<attempt_op> owned) {
  attempt_op* a = owned.release();
  if (a->races)
    racing.push_back(a);
  else
    attempt = a;
  a->code = op_code::connect;
  a->complete = &on_attempt_complete;
  a->counts_alive = owner->ref;
  a->args.connect = {reinterpret_cast<const sockaddr*>(&a->addr), a->addrlen};
  if (owner->loop->start(*a)) {
    on_attempt_complete(a, a->result);
    return false;
  }
  return true;
}

template <typename Owner>
void connector<Owner>::connect_to(const std::string& address, int fam) {
  auto keep = owner->shared_from_this();
  multiple = false;
  std::optional<error> failure;
  auto a = make_attempt(address, fam, local_address, failure);
  if (!a) return owner->destroy(std::move(failure));
  owner->events.template emit<"connectionAttempt">(std::string_view(address), fam == 0 ? std::uint16_t{0} : port,
                                                   fam);
  if (owner->destroyed || a->gen != gen) return ::close(a->fd), void();
  if (fam != 0 && blocks && blocks->check(address, fam == 4 ? family::ipv4 : family::ipv6)) {
    ::close(a->fd);
    return owner->destroy(error(errc::err_ip_blocked, "IP(" + address + ") is blocked by net.BlockList"));
  }
  launch(std::move(a));
}

template <typename Owner>
void connector<Owner>::connect_next() {
  owner->loop->core().disarm_timer(attempt_timer);
  if (owner->destroyed || !owner->connecting) return;
  if (next_candidate == candidates.size()) {
    if (attempt_errors.empty())
      owner->destroy(error(errc::err_socket_connection_timeout));
    else
      owner->destroy(error::aggregate(std::move(attempt_errors)));
    return;
  }
  auto keep = owner->shared_from_this();
  const std::size_t current = next_candidate++;
  const auto cand = candidates[current];
  std::optional<error> failure;
  auto a = make_attempt(cand.address, cand.family, {}, failure);  // Node binds only the local port here
  if (!a) {
    attempt_errors.push_back(std::move(*failure));
    return connect_next();
  }
  if (blocks && blocks->check(cand.address, cand.family == 4 ? family::ipv4 : family::ipv6)) {
    ::close(a->fd);
    error e(errc::err_ip_blocked, "IP(" + cand.address + ") is blocked by net.BlockList");
    attempt_errors.push_back(e);
    owner->events.template emit<"connectionAttemptFailed">(std::string_view(cand.address), port, cand.family, e);
    return connect_next();
  }
  owner->events.template emit<"connectionAttempt">(std::string_view(cand.address), port, cand.family);
  if (owner->destroyed || !owner->connecting) return ::close(a->fd), void();
  attempted_addresses->push_back(cand.address + ":" + std::to_string(port));
  if (launch(std::move(a)) && current + 1 < candidates.size() && attempt && owner->connecting)
    owner->loop->core().arm_timer(attempt_timer, attempt_timeout);
}

template <typename Owner>
void connector<Owner>::on_attempt_timeout(timer_node* t) noexcept {
  connector* self = static_cast<attempt_timer_node*>(t)->self;
  Owner* o = self->owner;
  if (self->races()) {  // the Connection Attempt Delay: the next one joins, nothing is abandoned
    if (!o->connecting) return;
    auto keep = o->shared_from_this();
    return self->race_next();
  }
  attempt_op* a = self->attempt;
  if (!a || !o->connecting) return;
  auto keep = o->shared_from_this();
  o->events.template emit<"connectionAttemptTimeout">(std::string_view(a->address), a->port, a->family);
  if (self->attempt != a) return;  // a listener destroyed the socket
  self->attempt_errors.push_back(
      error::from_connect(errno_code(ETIMEDOUT), a->address, a->port, a->local_address, a->local_port));
  self->attempt = nullptr;
  if (a->local_port != 0) {
    // The next attempt binds the same local port: this descriptor goes
    // first, as Node closes the old handle before the next bind.
    o->loop->close_now(a->fd);
    a->closed = true;
  } else {
    o->loop->cancel(a->id);  // its completion closes the descriptor
  }
  if (o->connecting) self->connect_next();
}

template <typename Owner>
void connector<Owner>::on_attempt_complete(io_op* op, int res) noexcept {
  std::unique_ptr<attempt_op> a(static_cast<attempt_op*>(op));
  auto st = std::move(a->st);
  if (a->races)
    st->x->connect.race_done(std::move(a), res);
  else
    st->x->connect.attempt_done(std::move(a), res);
}

template <typename Owner>
void connector<Owner>::attempt_done(std::unique_ptr<attempt_op> a, int res) {
  const bool current = attempt == a.get();
  if (current) attempt = nullptr;
  if (!current || a->gen != gen || owner->destroyed || !owner->connecting) {
    // Timed out, destroyed, or superseded: this descriptor is not ours any more.
    if (!a->closed) owner->loop->close_idle(a->fd);
    return;
  }
  owner->loop->core().disarm_timer(attempt_timer);
  if (res == 0) return owner->connected(a->fd, a->family == 4 ? AF_INET : a->family == 6 ? AF_INET6 : AF_UNIX);
  auto e = attempt_error(*a, res);
  close_failed(*a);
  auto keep = owner->shared_from_this();
  owner->events.template emit<"connectionAttemptFailed">(std::string_view(a->address), a->port, a->family, e);
  if (owner->destroyed || !owner->connecting) return;
  if (!multiple) return owner->destroy(std::move(e));
  attempt_errors.push_back(std::move(e));
  connect_next();
}

template <typename Owner>
error connector<Owner>::attempt_error(const attempt_op& a, int res) {
  if (a.family == 0) return error::from_syscall("connect", errno_code(-res), a.address);
  if (connect_failed_at_once(-res))
    return error::from_syscall("connect", errno_code(-res), a.address, a.port, local_end(a.fd));
  return error::from_connect(errno_code(-res), a.address, a.port, a.local_address, a.local_port);
}

template <typename Owner>
void connector<Owner>::close_failed(attempt_op& a) noexcept {
  // Bound to a local port, the descriptor is closed now (io_uring's
  // close_idle is queued): the next attempt binds that port again.
  if (a.local_port != 0)
    owner->loop->close_now(a.fd);
  else
    owner->loop->close_idle(a.fd);
}

template <typename Owner>
void connector<Owner>::race_next() {
  owner->loop->core().disarm_timer(attempt_timer);
  if (owner->destroyed || !owner->connecting) return;
  auto keep = owner->shared_from_this();
  const std::uint64_t g = gen;
  while (next_candidate < candidates.size()) {
    const std::size_t current = next_candidate++;
    const auto cand = candidates[current];
    std::optional<error> failure;
    auto a = make_attempt(cand.address, cand.family, {}, failure);  // no local port: start() saw to it
    if (!a) {
      race_errors[current] = std::move(failure);
      continue;
    }
    if (blocks && blocks->check(cand.address, cand.family == 4 ? family::ipv4 : family::ipv6)) {
      ::close(a->fd);
      error e(errc::err_ip_blocked, "IP(" + cand.address + ") is blocked by net.BlockList");
      race_errors[current] = e;
      owner->events.template emit<"connectionAttemptFailed">(std::string_view(cand.address), port, cand.family, e);
      if (!live(g)) return;
      continue;
    }
    owner->events.template emit<"connectionAttempt">(std::string_view(cand.address), port, cand.family);
    if (owner->destroyed || !live(g)) return ::close(a->fd), void();
    attempted_addresses->push_back(cand.address + ":" + std::to_string(port));
    a->races = true;
    a->index = current;
    // Answered at once, the attempt went through race_done, which went on.
    if (!launch(std::move(a))) return;
    if (next_candidate < candidates.size() && live(g)) owner->loop->core().arm_timer(attempt_timer, *race_delay);
    return;
  }
  if (!racing.empty()) return;  // every address tried: the ones in flight decide
  std::vector<error> errors;
  for (auto& e : race_errors)
    if (e) errors.push_back(std::move(*e));
  if (errors.empty())
    owner->destroy(error(errc::err_socket_connection_timeout));
  else
    owner->destroy(error::aggregate(std::move(errors)));
}

template <typename Owner>
void connector<Owner>::race_done(std::unique_ptr<attempt_op> a, int res) {
  const auto it = std::find(racing.begin(), racing.end(), a.get());
  if (it == racing.end() || a->gen != gen || owner->destroyed || !owner->connecting) {
    // A loser, or the connect was stopped: close_racing closed it already.
    if (!a->closed) owner->loop->close_idle(a->fd);
    return;
  }
  racing.erase(it);
  if (res == 0) {
    owner->loop->core().disarm_timer(attempt_timer);
    close_racing();  // RFC 8305 section 5: the others are cancelled, the untried ignored
    return owner->connected(a->fd, a->family == 4 ? AF_INET : AF_INET6);
  }
  auto e = attempt_error(*a, res);
  close_failed(*a);
  auto keep = owner->shared_from_this();
  owner->events.template emit<"connectionAttemptFailed">(std::string_view(a->address), a->port, a->family, e);
  if (owner->destroyed || !owner->connecting || a->gen != gen) return;
  race_errors[a->index] = std::move(e);
  race_next();  // a failure does not wait for the delay
}

}  // namespace detail
NETXX_END_NAMESPACE
