// SPDX-License-Identifier: BSL-1.0
#pragma once
/// net.Server. Two faces on one state: the spec's events ("connection",
/// "listening", "close", "error", "drop") with listen/close callbacks, and
/// awaitables (co_await listen, accept, close).

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "block_list.hpp"
#include "dns.hpp"
#include "config.hpp"
#include "detail/op.hpp"
#include "detail/sockaddr.hpp"
#include "detail/socket_ops.hpp"
#include "errors.hpp"
#include "events.hpp"
#include "ip.hpp"
#include "loop.hpp"
#include "socket.hpp"
#include "socket_address.hpp"

NETXX_BEGIN_NAMESPACE

/// The options of net.createServer([options]), with the spec's defaults.
/// Every field has an initializer, so designated initializers that leave some
/// out compile cleanly under -Wextra.
struct server_options {
  bool allow_half_open = false;
  std::size_t high_water_mark = 64 * 1024;  // stream.getDefaultHighWaterMark()
  bool keep_alive = false;
  std::int64_t keep_alive_initial_delay = 0;
  bool no_delay = false;
  bool pause_on_connect = false;
  /// Node's blockList: connections from a blocked address are closed before
  /// any byte is read. Not owned: it must outlive the server (Node's is a
  /// shared object too, and may be changed while the server runs).
  const netxx::block_list* block_list = nullptr;
};

/// The options of server.listen(options[, callback]), with the spec's defaults.
/// As in Node: `fd` (>= 0) wins, then `port` (over `path`), then `path`;
/// none of them throws ERR_INVALID_ARG_VALUE (listen() with no argument is
/// the OS-assigned port on the unspecified address).
/// The strings are views (listen() copies what it keeps before it returns):
/// nothing here but `signal` owns anything, and it is g++ 12-safe (see
/// detail::self_owned).
struct listen_options {
  std::optional<std::int64_t> port{};
  std::string_view host{};      // "" = `::` dual-stack, or `0.0.0.0` where IPv6 is missing
  std::string_view path{};      // a Unix socket path; "\0name" is a Linux abstract name
  int backlog = 511;             // 0: 511, as Node's `backlog || 511`
  bool exclusive = false;       // only means something with Node's cluster: accepted, no effect
  bool ipv6_only = false;
  bool reuse_port = false;
  bool readable_all = false;
  bool writable_all = false;
  abort_signal signal{};        // closes the server when it fires
  std::optional<int> fd{};      // listen({ fd }) / listen(handle): an already bound socket
};

namespace detail {

/// util.inspect() of the options as the caller wrote them (the fields that
/// differ from their defaults, in declaration order, which designated
/// initializers keep), for Node's ERR_INVALID_ARG_VALUE "Received ...".
inline std::string inspect_listen_options(const listen_options& o) {
  std::vector<std::string> e;
  auto flag = [&e](bool v, const char* name) {
    if (v) e.push_back(std::string(name) + ": true");
  };
  if (o.port) e.push_back("port: " + std::to_string(*o.port));
  if (!o.host.empty()) e.push_back("host: " + inspect_string(o.host));
  if (!o.path.empty()) e.push_back("path: " + inspect_string(o.path));
  if (o.backlog != 511) e.push_back("backlog: " + std::to_string(o.backlog));
  flag(o.exclusive, "exclusive");
  flag(o.ipv6_only, "ipv6Only");
  flag(o.reuse_port, "reusePort");
  flag(o.readable_all, "readableAll");
  flag(o.writable_all, "writableAll");
  if (o.signal.stop_possible())
    e.push_back(std::string("signal: AbortSignal { aborted: ") + (o.signal.stop_requested() ? "true" : "false") + " }");
  if (o.fd) e.push_back("fd: " + std::to_string(*o.fd));
  if (e.empty()) return "{}";
  // util.inspect's reduceToSingleString: one line when it fits in 80 columns.
  std::size_t total = 2 * e.size() + 11;
  bool one_line = total + e.size() <= 80;
  for (const auto& x : e) one_line = one_line && (total += x.size()) <= 80;
  std::string out = one_line ? "{ " : "{\n  ";
  for (std::size_t k = 0; k < e.size(); ++k) out += (k ? (one_line ? ", " : ",\n  ") : "") + e[k];
  return out + (one_line ? " }" : "\n}");
}

/// Node's ERR_INVALID_ARG_VALUE('options', options[, reason]).
inline error invalid_listen_options(const listen_options& o, std::string_view reason = "is invalid") {
  return error(errc::err_invalid_arg_value, "The argument 'options' " + std::string(reason) + ". Received " +
                                                cut_inspected(inspect_listen_options(o)));
}

}  // namespace detail

/// The argument of the "drop" event: the connection that max_connections refused.
struct drop_info {
  std::string local_address;
  std::uint16_t local_port = 0;
  std::string local_family;
  std::string remote_address;
  std::uint16_t remote_port = 0;
  std::string remote_family;
};

template <typename Backend>
class basic_server;

namespace detail {

template <typename Backend>
using server_emitter = event_emitter<event<"close", void()>,                               //
                                     event<"connection", void(basic_socket<Backend> socket)>,  //
                                     event<"drop", void(const drop_info& data)>,               //
                                     event<"error", void(const error& e)>,                     //
                                     event<"listening", void()>>;

template <typename Backend>
struct server_state : std::enable_shared_from_this<server_state<Backend>> {
  basic_loop<Backend>* loop = nullptr;
  server_options options;
  server_emitter<Backend> events;
  int fd = -1;
  int domain = AF_INET6;
  bool listening = false;
  bool closing = false;     // close() called: "close" once the connections are gone
  bool ref = true;
  std::optional<std::size_t> max_connections;  // Node's maxConnections (unset: no limit)
  bool drop_max_connection = false;
  std::string unlink_path;  // a filesystem socket this server made; removed by close()
  std::size_t connections = 0;
  std::vector<std::function<void(std::error_code)>> close_callbacks;
  std::vector<std::coroutine_handle<>> close_waiters;
  // While listening in the event style (listen() not awaited) or with a
  // "connection" listener, and until "close": Node's server lives as long
  // as its handle, whoever holds the object.
  std::shared_ptr<server_state> self;
  std::optional<std::stop_callback<std::function<void()>>> signal_cb;
  int reserve_fd = -1;      // for the EMFILE trick
  // After EMFILE, accept4 fails at once whether or not a connection waits
  // (the kernel checks for a free descriptor first): wait for readiness
  // before the next accept, or the loop spins.
  bool wait_readable = false;
  // TCP_NODELAY was set on the listening socket: accepted sockets inherit
  // it, so no_delay costs no setsockopt per connection.
  bool listener_no_delay = false;
  // Another server took this one's listening socket (Node's
  // other.listen(thisServer)): connections go to it, none to this one.
  bool handed_over = false;

  // The server accepts while it listens, with or without a "connection"
  // listener, as Node's does. A connection goes to the "connection"
  // listeners; else to a waiting accept(); else it waits in `unclaimed`,
  // open, for the next accept(), as a Node socket nobody listens to lives
  // on (it reads from accept on, as every socket does, so the peer's end
  // closes it). close() ends the unclaimed ones once the awaitable face is
  // in use (listen() awaited, or accept() called): those are the
  // awaitable face's backlog, never seen; else they live on, as Node's do.
  struct accept_waiter {
    std::optional<basic_socket<Backend>> sock;
    std::optional<error> err;
    std::coroutine_handle<> handle;
    bool suspended = false;
  };
  std::deque<accept_waiter*> waiters;
  // Node's _listeningId: a host name lookup in flight answers only the
  // listen() that started it (close() or another listen() moves it on).
  std::uint64_t listening_id = 0;
  struct pending_listen {
    bool done = false;
    std::optional<error> err;
    std::coroutine_handle<> awaiter;
  };
  std::deque<basic_socket<Backend>> unclaimed;
  std::size_t prune_at = 16;  // unclaimed sockets the peer closed are dropped when it grows past this
  bool accept_face = false;

  /// Prepares op for the listening socket: a readiness wait after EMFILE, else an accept.
  void prepare(io_op& op) noexcept;

  struct accept_op : io_op {
    server_state* owner = nullptr;
  } aop;

  server_state() {
    aop.owner = this;
    aop.code = op_code::accept;
    aop.complete = &on_accept;
    aop.args.accept = {nullptr, nullptr, 0};
  }
  ~server_state() {
    signal_cb.reset();
    if (aop.in_flight()) loop->abandon(aop);  // never reached through close(): see release_self
    close_fd();
    if (reserve_fd >= 0) ::close(reserve_fd);
  }

  void close_fd() noexcept;

  bool has_connection_listener() const noexcept { return events.listener_count("connection") > 0; }

  void start_accepting();

  static void on_accept(io_op* op, int res) noexcept;

  /// Drops the self-reference after "close", but not while the kernel still
  /// holds the accept (io_uring completes the cancelled one later): that
  /// completion releases it instead.
  bool release_pending = false;
  void release_self() noexcept;

  // A new descriptor (or an error) from accept; true when accepting goes on.
  bool handle_accepted(int res);

  /// Hands a connection (or an accept error) to the oldest waiting accept().
  void deliver(std::optional<basic_socket<Backend>> sock, std::optional<error> err);

  void keep_unclaimed(basic_socket<Backend> sock);

  /// After close(): the waiting accepts get ERR_SERVER_NOT_RUNNING, next tick.
  void fail_waiters();

  /// Applies the server's rules to a new descriptor: the block list and
  /// max_connections (closed at once, with "drop"), then the socket options.
  std::optional<basic_socket<Backend>> admit(int cfd);

  void connection_closed();

  // libuv's answer to EMFILE: a level-triggered accept that cannot take the
  // connection would spin. Give back the reserved descriptor, accept and
  // close what is pending, take the reserve again.
  void emfile_trick();

  void close(std::function<void(std::error_code)> cb);

  void emit_close_if_drained();
};

}  // namespace detail

/// net.Server.
template <typename Backend>
class basic_server {
  using state = detail::server_state<Backend>;
  using emitter = detail::server_emitter<Backend>;
  template <typename F>
  using name_for = typename detail::name_for<emitter, std::type_identity_t<F>>::type;
  using key = typename detail::key_for<emitter>::type;

 public:
  using socket_type = basic_socket<Backend>;

  /// new net.Server([options]).
  explicit basic_server(server_options o = {}, basic_loop<Backend>& loop = basic_loop<Backend>::current());
  /// new net.Server([options][, connectionListener]).
  template <typename F>
    requires std::is_invocable_v<F&, socket_type>
  basic_server(server_options o, F&& connection_listener,
               basic_loop<Backend>& loop = basic_loop<Backend>::current())
      : basic_server(o, loop) {
    on("connection", std::forward<F>(connection_listener));
  }

  // --- events ---------------------------------------------------------------------

  /// server.on(event, listener). A "connection" listener makes the server
  /// accept by itself, as Node's does.
  template <typename F>
  basic_server& on(name_for<F> name, F&& listener) {
    s_->events.on(name, std::forward<F>(listener));
    s_->start_accepting();
    return *this;
  }
  /// server.once(event, listener).
  template <typename F>
  basic_server& once(name_for<F> name, F&& listener) {
    s_->events.once(name, std::forward<F>(listener));
    s_->start_accepting();
    return *this;
  }
  /// server.on(), returning the id off() takes.
  template <typename F>
  listener_id subscribe(name_for<F> name, F&& listener) {
    auto id = s_->events.on(name, std::forward<F>(listener));
    s_->start_accepting();
    return id;
  }
  /// server.off(event, listener), by id.
  bool off(key name, listener_id id) { return s_->events.off(name, id); }
  /// server.removeAllListeners([event]).
  basic_server& remove_all_listeners();
  /// server.listenerCount(event).
  std::size_t listener_count(key name) const noexcept { return s_->events.listener_count(name); }

  // --- listen -----------------------------------------------------------------------

  /// What listen() returns. Awaited, it throws a failure ("listen
  /// EADDRINUSE: address already in use :::8124"). Not awaited (the event
  /// style), a failure becomes the server's "error" event, as in Node.
  /// Either way "listening" is emitted on success, next tick.
  class listen_result {
   public:
    listen_result(std::shared_ptr<state> s, std::optional<error> e,
                  std::shared_ptr<typename state::pending_listen> pending = {})
        : s_(std::move(s)), error_(std::move(e)), pending_(std::move(pending)) {}
    listen_result(const listen_result&) = delete;
    ~listen_result();
    // A host name being looked up: resumes once it is listening, or failed.
    bool await_ready() const noexcept { return !pending_ || pending_->done; }
    void await_suspend(std::coroutine_handle<> h) const noexcept { pending_->awaiter = h; }
    void await_resume() {
      awaited_ = true;
      if (aborted_) throw error(errc::abort_err);
      if (pending_ && pending_->err) error_ = std::move(pending_->err);
      // The awaitable face: connections wait for accept(), and the server
      // goes with its last handle (no "connection" listener keeps it).
      s_->accept_face = true;
      if (!s_->has_connection_listener() && !s_->closing) s_->self.reset();
      if (error_) throw std::move(*error_);
    }

    // Abortable (detail/abort.hpp): a listen still looking its host up
    // closes the server, as Node's `signal` option does.
    detail::loop_core& abort_core() const noexcept { return s_->loop->core(); }
    void abort() noexcept {
      if (!pending_ || pending_->done || !pending_->awaiter) return;
      aborted_ = true;
      auto h = std::exchange(pending_->awaiter, nullptr);
      s_->close({});
      detail::resume(h);
    }
    // Stopped before it was awaited: the server stops listening (or looking up).
    void abandon_unstarted() noexcept {
      awaited_ = true;  // nothing for "error" either
      s_->close({});
    }

   private:
    std::shared_ptr<state> s_;
    std::optional<error> error_;
    std::shared_ptr<typename state::pending_listen> pending_;
    bool aborted_ = false;
    bool awaited_ = false;
  };

  /// server.listen(): an OS-assigned port on the unspecified address.
  listen_result listen() { return listen(listen_options{.port = 0}); }
  /// server.listen(callback).
  template <typename F>
    requires std::is_invocable_v<F&>
  listen_result listen(F&& callback) {
    return listen(listen_options{.port = 0}, std::forward<F>(callback));
  }
  /// server.listen(options[, callback]); the callback is a "listening" listener.
  listen_result listen(const listen_options& o) { return do_listen(o, {}); }
  template <typename F>
    requires std::is_invocable_v<F&>
  listen_result listen(const listen_options& o, F&& callback) {
    return do_listen(o, std::function<void()>(std::forward<F>(callback)));
  }
  /// server.listen(port[, host[, backlog]][, callback]).
  listen_result listen(std::int64_t port, std::string_view host = {}, int backlog = 511) {
    return listen(listen_options{.port = port, .host = host, .backlog = backlog});
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  listen_result listen(std::int64_t port, F&& callback) {
    return listen(listen_options{.port = port}, std::forward<F>(callback));
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  listen_result listen(std::int64_t port, std::string_view host, F&& callback) {
    return listen(listen_options{.port = port, .host = host}, std::forward<F>(callback));
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  listen_result listen(std::int64_t port, std::string_view host, int backlog, F&& callback) {
    return listen(listen_options{.port = port, .host = host, .backlog = backlog}, std::forward<F>(callback));
  }
  /// server.listen(path[, backlog][, callback]).
  listen_result listen_path(std::string_view path, int backlog = 511) {
    return listen(listen_options{.path = path, .backlog = backlog});
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  listen_result listen_path(std::string_view path, F&& callback) {
    return listen(listen_options{.path = path}, std::forward<F>(callback));
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  listen_result listen_path(std::string_view path, int backlog, F&& callback) {
    return listen(listen_options{.path = path, .backlog = backlog}, std::forward<F>(callback));
  }
  /// server.listen(handle[, backlog][, callback]) with a net.Server: this
  /// server takes over the other's listening socket (a duplicate of it),
  /// and the other stops accepting, as Node hands the handle over.
  listen_result listen(const basic_server& handle, int backlog = 511) { return listen_handle(handle, backlog, {}); }
  template <typename F>
    requires std::is_invocable_v<F&>
  listen_result listen(const basic_server& handle, F&& callback) {
    return listen_handle(handle, 511, std::function<void()>(std::forward<F>(callback)));
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  listen_result listen(const basic_server& handle, int backlog, F&& callback) {
    return listen_handle(handle, backlog, std::function<void()>(std::forward<F>(callback)));
  }
  /// server.listen(handle[, backlog][, callback]) with a net.Socket: listens
  /// on (a duplicate of) the socket's descriptor, bound beforehand.
  listen_result listen(const socket_type& handle, int backlog = 511) { return listen_handle(handle, backlog, {}); }
  template <typename F>
    requires std::is_invocable_v<F&>
  listen_result listen(const socket_type& handle, F&& callback) {
    return listen_handle(handle, 511, std::function<void()>(std::forward<F>(callback)));
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  listen_result listen(const socket_type& handle, int backlog, F&& callback) {
    return listen_handle(handle, backlog, std::function<void()>(std::forward<F>(callback)));
  }

  // --- accept (awaitable face) ------------------------------------------------------

  /// Resumes with the next connection (the block list and max_connections
  /// apply): one accepted before the call and not yet taken, or the next
  /// one. Throws net::error; after close(), ERR_SERVER_NOT_RUNNING (and
  /// the connections no accept() took are closed). Not for a server with a
  /// "connection" listener, whose listeners get every connection.
  auto accept() { return accept_awaitable(s_); }

  // --- close ------------------------------------------------------------------------

  /// What close() returns. Awaited, it resumes once the server is closed
  /// and its last connection ended ("close"), and throws
  /// ERR_SERVER_NOT_RUNNING if it was not listening.
  class close_result {
   public:
    close_result(std::shared_ptr<state> s, bool was_listening) : s_(std::move(s)), was_listening_(was_listening) {}
    close_result(const close_result&) = delete;
    bool await_ready() const noexcept { return !was_listening_ || (!s_->closing && !s_->self); }
    void await_suspend(std::coroutine_handle<> h) {
      waiter_ = h;
      s_->close_waiters.push_back(h);
    }
    void await_resume() const {
      if (aborted_) throw error(errc::abort_err);
      if (!was_listening_) throw error(errc::err_server_not_running);
    }
    // Abortable (detail/abort.hpp): stops waiting for "close"; the server
    // still closes once its last connection ends.
    detail::loop_core& abort_core() const noexcept { return s_->loop->core(); }
    void abort() noexcept {
      auto& w = s_->close_waiters;
      if (!waiter_ || std::find(w.begin(), w.end(), waiter_) == w.end()) return;
      std::erase(w, waiter_);
      aborted_ = true;
      detail::resume(std::exchange(waiter_, {}));
    }

   private:
    std::shared_ptr<state> s_;
    bool was_listening_;
    std::coroutine_handle<> waiter_;
    bool aborted_ = false;
  };

  /// server.close([callback]): stops accepting now; "close" (and the
  /// callback) once the last connection has ended. The callback gets
  /// ERR_SERVER_NOT_RUNNING if the server was not listening.
  close_result close(std::function<void(std::error_code)> callback = {});
  /// server[Symbol.asyncDispose](): close(), awaited; no error when not listening.
  task<void> async_dispose();

  // --- properties ---------------------------------------------------------------------

  /// Node's server.listening.
  bool listening() const noexcept { return s_->listening; }
  /// Node's server.address(): empty before listen and after close.
  std::optional<address_info> address() const;
  /// Node's server.getConnections(callback): callback(err, count), next tick.
  void get_connections(std::function<void(std::error_code, std::size_t)> callback) const;
  /// The same count, now (the count is local: no need to wait).
  std::size_t get_connections() const noexcept { return s_->connections; }
  /// Node's server.maxConnections: connections beyond it are closed at once,
  /// with "drop" (0 drops every connection, as since Node 21).
  std::optional<std::size_t> max_connections() const noexcept { return s_->max_connections; }
  basic_server& max_connections(std::optional<std::size_t> n) noexcept;
  /// Node's server.dropMaxConnection: effective only in Node's cluster
  /// mode, which has no C++ counterpart; kept as a property.
  bool drop_max_connection() const noexcept { return s_->drop_max_connection; }
  basic_server& drop_max_connection(bool v) noexcept;

  /// Node's server.ref() / unref(): whether the server keeps run() going.
  basic_server& ref() noexcept { return set_ref(true); }
  basic_server& unref() noexcept { return set_ref(false); }

  int fd() const noexcept { return s_->fd; }

 private:
  basic_server& set_ref(bool r) noexcept;

  listen_result do_listen(const listen_options& o, std::function<void()> callback);

  // Node's addServerAbortSignalOption for a signal not fired yet: it closes the server when it fires.
  void watch_signal(const std::stop_token& signal);

  // The socket listens: "listening" next tick, and accepting starts.
  void now_listening();

  // Node's lookupAndListen: listen(port, name) looks the name up with
  // dns.lookup (all addresses, the first that is not IPv6 link-local) and
  // listens once it answers; listening() is false until then. A failure of
  // the lookup or of the listen goes to the awaiter, or to "error".
  listen_result lookup_and_listen(const listen_options& o, std::function<void()> callback);

  explicit basic_server(std::shared_ptr<state> s) : s_(std::move(s)) {}

  // The end of a listen that waited for a lookup: the awaiter resumes (and
  // throws the failure), or the failure is the server's "error".
  void finish(typename state::pending_listen& p, std::optional<error> err);

  // Node's `backlog || 511`: 0 is the default; a negative one goes to the
  // kernel, which takes it as its maximum (somaxconn).
  static int backlog_of(int backlog) noexcept { return backlog == 0 ? 511 : backlog; }

  template <typename Handle>
  listen_result listen_handle(const Handle& h, int backlog, std::function<void()> callback) {
    if (s_->listening) throw error(errc::err_server_already_listen);
    if (h.fd() < 0)
      throw error(errc::err_invalid_arg_value,
                  "The argument 'options' must have the property \"port\" or \"path\". Received " +
                      std::string(std::is_same_v<Handle, basic_server> ? "Server" : "Socket") + " {}");
    const int fd = ::fcntl(h.fd(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) throw error::from_syscall("dup", errno_code(errno));
    if constexpr (std::is_same_v<Handle, basic_server>) {
      // The other server stops accepting before this one starts (io_uring
      // cancels by file: the accept armed on the other's descriptor would
      // take this one's with it): its descriptor goes, and a duplicate
      // keeps its address() and close().
      auto& other = *h.s_;
      other.handed_over = true;
      if (const int keep = ::fcntl(other.fd, F_DUPFD_CLOEXEC, 0); keep >= 0) {
        other.loop->close_now(other.fd);
        other.fd = keep;
      }
    }
    // Once listen is done (the result is not copyable: this runs as it is returned).
    struct after {
      const std::shared_ptr<state>& self;
      const Handle& h;
      int fd;
      ~after() {
        if (self->listening) return;
        ::close(fd);
        if constexpr (std::is_same_v<Handle, basic_server>) {  // not taken over after all
          h.s_->handed_over = false;
          h.s_->start_accepting();
        }
      }
    } done{s_, h, fd};
    return do_listen(listen_options{.backlog = backlog, .fd = fd}, std::move(callback));
  }

  void listen_fd(int fd, int backlog);

  void listen_unix(const listen_options& o, int backlog);

  // host: "" (`::`, dual-stack, or 0.0.0.0 without IPv6) or an IP literal.
  void listen_tcp(std::string_view host, std::uint16_t port, int backlog, bool reuse_port, bool ipv6_only);

  class accept_awaitable {
   public:
    explicit accept_awaitable(std::shared_ptr<state> s) : s_(std::move(s)) {}
    accept_awaitable(const accept_awaitable&) = delete;
    ~accept_awaitable() { std::erase(s_->waiters, &w_); }
    bool await_ready() {
      s_->accept_face = true;
      if (!s_->unclaimed.empty()) {
        w_.sock = std::move(s_->unclaimed.front());
        s_->unclaimed.pop_front();
        return true;
      }
      if (!s_->listening) w_.err = error(errc::err_server_not_running);
      return !s_->listening;
    }
    bool await_suspend(std::coroutine_handle<> h) {
      w_.handle = h;
      s_->waiters.push_back(&w_);
      s_->start_accepting();  // may hand over a connection at once (epoll)
      if (w_.sock || w_.err) return false;
      w_.suspended = true;
      return true;
    }
    socket_type await_resume() {
      if (w_.err) throw std::move(*w_.err);
      return std::move(*w_.sock);
    }
    // Abortable (detail/abort.hpp): stops waiting; the server keeps
    // listening, and a connection that comes later waits for the next accept().
    detail::loop_core& abort_core() const noexcept { return s_->loop->core(); }
    void abort() noexcept {
      if (!w_.suspended || w_.sock || w_.err) return;
      std::erase(s_->waiters, &w_);
      w_.err = error(errc::abort_err);
      detail::resume(w_.handle);
    }

   private:
    std::shared_ptr<state> s_;
    typename state::accept_waiter w_;
  };

  std::shared_ptr<state> s_;
};

using server = basic_server<auto_backend>;

/// net.createServer([options]).
template <typename Backend = auto_backend>
basic_server<Backend> create_server(server_options o = {}) {
  return basic_server<Backend>(o);
}
/// net.createServer([options], connectionListener).
template <typename F>
  requires std::is_invocable_v<F&, socket>
server create_server(server_options o, F&& connection_listener) {
  return server(o, std::forward<F>(connection_listener));
}
/// net.createServer(connectionListener).
template <typename F>
  requires std::is_invocable_v<F&, socket>
server create_server(F&& connection_listener) {
  return server({}, std::forward<F>(connection_listener));
}

NETXX_END_NAMESPACE

#if NETXX_HEADER_ONLY
#  include "impl/server.ipp"
#endif
