// SPDX-License-Identifier: BSL-1.0
#pragma once
// The definitions behind server.hpp: included by it when netxx is header-only,
// compiled once by src/netxx.cpp with NETXX_SEPARATE_COMPILATION.

#include "../server.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {
template <typename Backend>
void server_state<Backend>::prepare(io_op& op) noexcept {
  op.code = wait_readable ? op_code::poll_in : op_code::accept;
  op.fd = fd;
  op.counts_alive = ref;
}

template <typename Backend>
void server_state<Backend>::close_fd() noexcept {
  if (fd < 0) return;
  // A server whose socket another took over has nothing in flight, and
  // must not cancel (io_uring cancels by file) the other's accept.
  handed_over ? loop->close_idle(fd) : loop->close_now(fd);
  handed_over = false;
  fd = -1;
  listening = false;
  if (!unlink_path.empty()) ::unlink(unlink_path.c_str());
  unlink_path.clear();
}

template <typename Backend>
void server_state<Backend>::start_accepting() {
  if (!listening || handed_over) return;
  if (has_connection_listener() && !self) self = this->shared_from_this();
  if (aop.in_flight()) return;
  release_pending = false;
  prepare(aop);
  while (loop->start(aop)) {
    if (!handle_accepted(aop.result)) return;
    if (!listening) return;
    prepare(aop);
  }
}

template <typename Backend>
void server_state<Backend>::on_accept(io_op* op, int res) noexcept {
  auto* st = static_cast<accept_op*>(op)->owner;
  auto keep = st->shared_from_this();
  if (st->handle_accepted(res)) st->start_accepting();
  if (st->release_pending) st->release_self();
}

template <typename Backend>
void server_state<Backend>::release_self() noexcept {
  if (aop.in_flight()) {
    release_pending = true;
    return;
  }
  release_pending = false;
  self.reset();
}

template <typename Backend>
bool server_state<Backend>::handle_accepted(int res) {
  if (aop.code == op_code::poll_in) {  // readable again after EMFILE: accept next
    wait_readable = false;
    return listening && res != -ECANCELED;
  }
  if (res == -ECANCELED || !listening) {
    if (res >= 0) ::close(res);
    return false;
  }
  if (res < 0) {
    if (res == -EMFILE || res == -ENFILE) emfile_trick();
    if (res == -EAGAIN || res == -EINTR || res == -ECONNABORTED) return true;
    auto e = error::from_syscall("accept", errno_code(-res));
    if (!has_connection_listener() && !waiters.empty())
      deliver(std::nullopt, std::move(e));
    else if (!events.template emit<"error">(e))
      unhandled_error_event(e, "Server");
    return listening;
  }
  auto sock = admit(res);
  if (!sock) return listening;
  if (has_connection_listener())
    events.template emit<"connection">(std::move(*sock));
  else if (!waiters.empty())
    deliver(std::move(sock), std::nullopt);
  else
    keep_unclaimed(std::move(*sock));
  return listening;
}

template <typename Backend>
void server_state<Backend>::deliver(std::optional<basic_socket<Backend>> sock, std::optional<error> err) {
  accept_waiter* w = waiters.front();
  waiters.pop_front();
  w->sock = std::move(sock);
  w->err = std::move(err);
  if (w->suspended) detail::resume(w->handle);
}

template <typename Backend>
void server_state<Backend>::keep_unclaimed(basic_socket<Backend> sock) {
  if (unclaimed.size() >= prune_at) {
    std::erase_if(unclaimed, [](const basic_socket<Backend>& c) { return c.destroyed(); });
    prune_at = std::max<std::size_t>(16, 2 * unclaimed.size());
  }
  unclaimed.push_back(std::move(sock));
}

template <typename Backend>
void server_state<Backend>::fail_waiters() {
  auto keep = this->shared_from_this();
  loop->post([keep] {
    while (!keep->waiters.empty() && !keep->listening)
      keep->deliver(std::nullopt, error(errc::err_server_not_running));
  });
}

template <typename Backend>
std::optional<basic_socket<Backend>> server_state<Backend>::admit(int cfd) {
  if (options.block_list) {
    if (auto peer = socket_name(cfd, false); peer && options.block_list->check(*peer, peer->family())) {
      ::close(cfd);  // before any byte is read from it
      return std::nullopt;
    }
  }
  if (max_connections && connections >= *max_connections) {
    drop_info d;
    if (auto a = socket_name(cfd, true))
      d = {std::string(a->address().view()), a->port(), std::string(family_string(a->family())), {}, 0, {}};
    if (auto a = socket_name(cfd, false)) {
      d.remote_address = std::string(a->address().view());
      d.remote_port = a->port();
      d.remote_family = std::string(family_string(a->family()));
    }
    ::close(cfd);
    events.template emit<"drop">(d);
    return std::nullopt;
  }
  auto sock = basic_socket<Backend>::adopt(*loop, cfd, domain);
  ++connections;
  detail::socket_access::state(sock)->accepted(options.allow_half_open, options.high_water_mark,
                                                options.pause_on_connect, this->weak_from_this(), [](void* srv) {
                                                  static_cast<server_state*>(srv)->connection_closed();
                                                });
  if (options.no_delay && !listener_no_delay) sock.set_no_delay(true);
  if (options.keep_alive) sock.set_keep_alive(true, options.keep_alive_initial_delay);
  return sock;
}

template <typename Backend>
void server_state<Backend>::connection_closed() {
  if (connections > 0) --connections;
  emit_close_if_drained();
}

template <typename Backend>
void server_state<Backend>::emfile_trick() {
  wait_readable = true;
  if (reserve_fd < 0) return;
  ::close(reserve_fd);
  reserve_fd = -1;
  for (;;) {
    int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) break;
    ::close(c);
  }
  reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

template <typename Backend>
void server_state<Backend>::close(std::function<void(std::error_code)> cb) {
  ++listening_id;
  if (!listening) {
    // Node's close() of a server that is not listening: the callback
    // gets ERR_SERVER_NOT_RUNNING with the next "close", and "close"
    // comes once no connection is left, as after any close().
    if (cb)
      close_callbacks.push_back(
          [cb = std::move(cb)](std::error_code) { cb(make_error_code(errc::err_server_not_running)); });
    if (!closing) closing = true;
    emit_close_if_drained();
    return;
  }
  if (cb) close_callbacks.push_back(std::move(cb));
  closing = true;
  signal_cb.reset();
  close_fd();
  // With the awaitable face, connections no accept() took end with the
  // server, as those still in the kernel's backlog do: nobody saw them.
  // (shutdown first: the peers see the end now, not when the loop next
  // hands the backend its closes)
  if (accept_face) {
    for (auto& c : std::exchange(unclaimed, {})) {
      if (c.fd() >= 0) ::shutdown(c.fd(), SHUT_RDWR);
      c.destroy();
    }
  }
  fail_waiters();
  emit_close_if_drained();
}

template <typename Backend>
void server_state<Backend>::emit_close_if_drained() {
  if (!closing || connections > 0) return;
  closing = false;
  auto keep = this->shared_from_this();
  loop->post([keep] {
    auto cbs = std::move(keep->close_callbacks);
    auto waiters = std::move(keep->close_waiters);
    keep->events.template emit<"close">();
    for (auto& cb : cbs) cb({});
    for (auto h : waiters) detail::resume(h);
    keep->release_self();
  });
}

}  // namespace detail
template <typename Backend>
auto basic_server<Backend>::remove_all_listeners() -> basic_server& {
  s_->events.remove_all_listeners();
  return *this;
}

template <typename Backend>
auto basic_server<Backend>::close(std::function<void(std::error_code)> callback) -> close_result {
  const bool was = s_->listening;
  if (was) s_->self = s_;  // alive until "close", whoever holds a handle
  s_->close(std::move(callback));
  return close_result(s_, was);
}

template <typename Backend>
task<void> basic_server<Backend>::async_dispose() {
  if (!s_->listening) co_return;
  co_await close();
}

template <typename Backend>
std::optional<address_info> basic_server<Backend>::address() const {
  if (!s_->listening) return std::nullopt;
  if (s_->domain == AF_UNIX) {
    auto path = detail::unix_socket_path(s_->fd);
    if (!path) return std::nullopt;
    return address_info{{}, {}, 0, std::move(*path)};
  }
  auto a = detail::socket_name(s_->fd, true);
  if (!a) return std::nullopt;
  return address_info{std::string(a->address().view()), std::string(detail::family_string(a->family())),
                      a->port(), {}};
}

template <typename Backend>
void basic_server<Backend>::get_connections(std::function<void(std::error_code, std::size_t)> callback) const {
  auto s = s_;
  s_->loop->post([s, cb = std::move(callback)] { cb({}, s->connections); });
}

template <typename Backend>
auto basic_server<Backend>::max_connections(std::optional<std::size_t> n) noexcept -> basic_server& {
  s_->max_connections = n;
  return *this;
}

template <typename Backend>
auto basic_server<Backend>::drop_max_connection(bool v) noexcept -> basic_server& {
  s_->drop_max_connection = v;
  return *this;
}

template <typename Backend>
auto basic_server<Backend>::set_ref(bool r) noexcept -> basic_server& {
  if (s_->ref == r) return *this;
  s_->ref = r;
  if (s_->aop.in_flight() && s_->aop.counts_alive != r) {
    s_->aop.counts_alive = r;
    r ? s_->loop->core().add_ref() : s_->loop->core().release_ref();
  }
  return *this;
}

template <typename Backend>
auto basic_server<Backend>::do_listen(const listen_options& o, std::function<void()> callback) -> listen_result {
  // Bad arguments throw now, as Node's listen() does; what the system
  // refuses (EADDRINUSE, EINVAL for a Unix path too long, ...) goes to "error" or the awaiter.
  if (s_->listening) throw error(errc::err_server_already_listen);
  // Node's addServerAbortSignalOption, before anything else: a signal
  // already aborted closes the server next tick, listening or not (so
  // "listening" never comes, and "close" does).
  if (o.signal.stop_requested()) {
    auto s = s_;
    s_->loop->post([s] { s->close({}); });
  }
  const bool has_fd = o.fd && *o.fd >= 0;
  if (!has_fd && o.port && (*o.port < 0 || *o.port > 65535))
    throw error(errc::err_socket_bad_port,
                "options.port should be >= 0 and < 65536. Received type number (" + std::to_string(*o.port) + ").");
  if (!has_fd && !o.port) {
    if (o.path.empty()) throw detail::invalid_listen_options(o, "must have the property \"port\" or \"path\"");
    if (o.path[0] == '\0' && (o.readable_all || o.writable_all))
      throw detail::invalid_listen_options(
          o, "can not set readableAll or writableAllt to true when path is abstract unix socket");  // sic, Node's
  }
  ++s_->listening_id;
  if (!has_fd && o.port && !o.host.empty() && !detail::parse_host(o.host, 0))
    return lookup_and_listen(o, std::move(callback));
  std::optional<error> failure;
  try {
    if (has_fd)
      listen_fd(*o.fd, backlog_of(o.backlog));
    else if (o.port)
      listen_tcp(o.host, static_cast<std::uint16_t>(*o.port), backlog_of(o.backlog), o.reuse_port, o.ipv6_only);
    else
      listen_unix(o, backlog_of(o.backlog));
  } catch (error& e) {
    if (e.syscall() == "uv_pipe_chmod") throw;  // Node throws this one at once
    failure = std::move(e);
  }
  if (!failure) {
    if (callback) s_->events.template once<"listening">(std::move(callback));
    watch_signal(o.signal);
    now_listening();
  }
  return listen_result(s_, std::move(failure));
}

template <typename Backend>
void basic_server<Backend>::watch_signal(const std::stop_token& signal) {
  if (!signal.stop_possible() || signal.stop_requested()) return;
  std::weak_ptr<state> weak = s_;
  auto* loop = s_->loop;
  s_->signal_cb.emplace(signal, std::function<void()>([weak, loop] {
    loop->post([weak] {
      if (auto s = weak.lock()) s->close({});
    });
  }));
}

template <typename Backend>
void basic_server<Backend>::now_listening() {
  s_->listener_no_delay = s_->options.no_delay && s_->domain != AF_UNIX &&
                          detail::set_int_option(s_->fd, IPPROTO_TCP, TCP_NODELAY, 1) == 0;
  if (s_->reserve_fd < 0) s_->reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  s_->self = s_;  // the event style: alive until "close" (an awaited listen lets go)
  auto s = s_;
  s_->loop->post([s] {
    if (s->listening) s->events.template emit<"listening">();
  });
  s_->start_accepting();
}

template <typename Backend>
auto basic_server<Backend>::lookup_and_listen(const listen_options& o, std::function<void()> callback) -> listen_result {
  if (callback) s_->events.template once<"listening">(std::move(callback));
  watch_signal(o.signal);
  auto pending = std::make_shared<typename state::pending_listen>();
  auto s = s_;
  const std::uint64_t id = s_->listening_id;
  const auto port = static_cast<std::uint16_t>(*o.port);
  const int backlog = backlog_of(o.backlog);
  const bool reuse_port = o.reuse_port, ipv6_only = o.ipv6_only;
  dns::lookup(*s_->loop, o.host, dns::lookup_options{.all = true},
              [s, pending, id, port, backlog, reuse_port, ipv6_only](std::optional<error> err,
                                                                   std::vector<dns::lookup_address> found) {
                basic_server self(s);
                if (id != s->listening_id) {  // closed, or listening again, meanwhile
                  if (pending->awaiter) self.finish(*pending, error(errc::err_server_not_running));
                  return;
                }
                if (!err && found.empty()) err = error::from_dns("getaddrinfo", make_error_code(errc::enotfound), "");
                if (!err) {
                  auto pick = std::find_if(found.begin(), found.end(), [](const dns::lookup_address& a) {
                    return !(a.family == 6 && a.address.size() >= 3 && a.address.compare(0, 2, "fe") == 0 &&
                             std::string_view("89ab").find(a.address[2]) != std::string_view::npos);
                  });
                  const auto& chosen = pick != found.end() ? *pick : found.front();
                  try {
                    self.listen_tcp(chosen.address, port, backlog, reuse_port, ipv6_only);
                    self.now_listening();
                  } catch (error& e) {
                    err = std::move(e);
                  }
                }
                self.finish(*pending, std::move(err));
              });
  return listen_result(s_, std::nullopt, std::move(pending));
}

template <typename Backend>
void basic_server<Backend>::finish(typename state::pending_listen& p, std::optional<error> err) {
  p.done = true;
  if (p.awaiter) {
    p.err = std::move(err);
    detail::resume(std::exchange(p.awaiter, nullptr));
  } else if (err && !s_->events.template emit<"error">(*err)) {
    detail::unhandled_error_event(*err, "Server");
  }
}

template <typename Backend>
void basic_server<Backend>::listen_fd(int fd, int backlog) {
  const auto fam = detail::stream_socket_family(fd);
  // Node's createServerHandle: a descriptor that is neither TCP nor a pipe
  // (a file, a UDP socket) fails as "listen EINVAL: invalid argument".
  if (!fam) throw error::from_uv("listen", errno_code(EINVAL));
  if (int e = detail::listen_on(fd, backlog)) throw error::from_uv("listen", errno_code(e));
  s_->fd = fd;
  s_->domain = *fam;
  s_->listening = true;
}

template <typename Backend>
void basic_server<Backend>::listen_unix(const listen_options& o, int backlog) {
  // Node's messages and err.address carry the path as given: an abstract
  // name with its leading NUL (not "@name", as ss(8) prints it).
  const std::string path(o.path);
  int fd = -1;
  if (int e = detail::listen_unix(path, backlog, fd)) throw error::from_uv("listen", errno_code(e), path);
  // Node's fchmod after listen (libuv's uv_pipe_chmod): on failure the
  // socket is closed (libuv removes its file) and listen() throws.
  if (int e = detail::pipe_chmod(path, o.readable_all, o.writable_all)) {
    ::close(fd);
    ::unlink(path.c_str());
    throw error::from_syscall("uv_pipe_chmod", errno_code(e));
  }
  s_->fd = fd;
  s_->domain = AF_UNIX;
  s_->listening = true;
  if (path[0] != '\0') s_->unlink_path = path;
}

template <typename Backend>
void basic_server<Backend>::listen_tcp(std::string_view host, std::uint16_t port, int backlog, bool reuse_port, bool ipv6_only) {
  std::optional<socket_address> addr =
      host.empty() ? std::optional(socket_address::from_ipv6({}, port)) : detail::parse_host(host, port);
  if (!addr) throw error::from_dns("getaddrinfo", make_error_code(errc::enotfound), host);
  int fd = -1;
  int e = detail::bind_listen(*addr, backlog, reuse_port, ipv6_only, fd);
  if (e == EAFNOSUPPORT && host.empty()) {  // no IPv6 on this machine: 0.0.0.0
    addr = socket_address::from_ipv4({}, port);
    e = detail::bind_listen(*addr, backlog, reuse_port, ipv6_only, fd);
  }
  if (e != 0) throw error::from_uv("listen", errno_code(e), std::string(addr->address().view()), port);
  s_->fd = fd;
  s_->domain = addr->family() == family::ipv4 ? AF_INET : AF_INET6;
  s_->listening = true;
}

template <typename Backend>
basic_server<Backend>::basic_server(server_options o, basic_loop<Backend>& loop) : s_(std::make_shared<state>()) {
  s_->loop = &loop;
  s_->options = o;
}

template <typename Backend>
basic_server<Backend>::listen_result::~listen_result() {
  if (awaited_ || !error_) return;
  auto s = s_;
  s_->loop->post([s, e = std::move(*error_)] {
    if (!s->events.template emit<"error">(e)) detail::unhandled_error_event(e, "Server");
  });
}

NETXX_END_NAMESPACE
