#pragma once
/// net.Server, its awaitable face: listen (port/host, Unix path or abstract
/// name, an existing descriptor), accept, close, address, connection count.
/// The event face ("connection", "listening", "close", "error", "drop") is
/// built on this same state.

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

#include "config.hpp"
#include "detail/op.hpp"
#include "detail/sockaddr.hpp"
#include "detail/socket_ops.hpp"
#include "errors.hpp"
#include "ip.hpp"
#include "loop.hpp"
#include "socket.hpp"
#include "socket_address.hpp"

NETXX_BEGIN_NAMESPACE

/// The options of net.createServer([options]), with the spec's defaults.
struct server_options {
  bool allow_half_open = false;
  std::size_t high_water_mark = 64 * 1024;  // stream.getDefaultHighWaterMark()
  bool keep_alive = false;
  std::int64_t keep_alive_initial_delay = 0;
  bool no_delay = false;
  bool pause_on_connect = false;
};

/// The options of server.listen(options[, callback]), with the spec's defaults.
/// `port` absent and `path` empty: an OS-assigned port, as Node's listen().
/// Every field has an initializer, so designated initializers that leave
/// some out compile cleanly under -Wextra (GCC's -Wmissing-field-initializers).
/// The strings are views (listen() copies what it keeps before it returns):
/// GCC 12 destroys a temporary with a std::string member twice when it is
/// built inside a co_await expression, as in `co_await s.listen({.host = "::1"})`.
/// (`signal`, a std::stop_token, has the same problem on GCC 12: build the
/// options in a variable first when passing a signal.)
struct listen_options {
  std::optional<std::int64_t> port{};
  std::string_view host{};      // "" = `::` dual-stack, or `0.0.0.0` where IPv6 is missing
  std::string_view path{};      // a Unix socket path; "\0name" is a Linux abstract name
  int backlog = 511;
  bool exclusive = false;       // cluster only in Node; no meaning without cluster
  bool ipv6_only = false;
  bool reuse_port = false;
  bool readable_all = false;
  bool writable_all = false;
  std::stop_token signal{};     // Node's AbortSignal: closes the server when it fires
  std::optional<int> fd{};      // listen({ fd }): an already bound socket
};

namespace detail {

template <typename Backend>
struct server_state {
  basic_loop<Backend>* loop = nullptr;
  server_options options;
  int fd = -1;
  int domain = AF_INET6;
  bool listening = false;
  bool ref = true;
  std::string unlink_path;  // a filesystem socket this server made; removed by close()
  std::shared_ptr<std::size_t> connections = std::make_shared<std::size_t>(0);
  io_op* pending_accept = nullptr;

  ~server_state() { close(); }

  void close() noexcept {
    if (fd < 0) return;
    loop->close_now(fd);
    fd = -1;
    listening = false;
    if (!unlink_path.empty()) ::unlink(unlink_path.c_str());
    unlink_path.clear();
  }
};

}  // namespace detail

/// net.Server.
template <typename Backend>
class basic_server {
  using state = detail::server_state<Backend>;

 public:
  using socket_type = basic_socket<Backend>;

  explicit basic_server(server_options o = {}, basic_loop<Backend>& loop = basic_loop<Backend>::current())
      : s_(std::make_shared<state>()) {
    s_->loop = &loop;
    s_->options = o;
  }

  /// server.listen(options): binds and listens now; throws net::error with
  /// Node's wording ("listen EADDRINUSE: address already in use :::8124").
  /// Awaitable, to read as `co_await server.listen({...})`; it is ready at once.
  auto listen(const listen_options& o) {
    struct awaiter {
      bool await_ready() const noexcept { return true; }
      void await_suspend(std::coroutine_handle<>) const noexcept {}
      void await_resume() const noexcept {}
    };
    do_listen(o);
    return awaiter{};
  }
  /// server.listen(port[, host[, backlog]]).
  auto listen(std::int64_t port, std::string_view host = {}, int backlog = 511) {
    return listen(listen_options{.port = port, .host = host, .backlog = backlog});
  }
  /// server.listen(path[, backlog]).
  auto listen_path(std::string_view path, int backlog = 511) {
    return listen(listen_options{.path = path, .backlog = backlog});
  }

  /// Resumes with the next connection. Throws net::error; after close(),
  /// ERR_SERVER_NOT_RUNNING.
  auto accept() { return accept_awaitable(s_); }

  /// Node's server.close(): stops accepting now (a pending accept resumes
  /// with ERR_SERVER_NOT_RUNNING); connections already accepted stay open.
  /// Throws ERR_SERVER_NOT_RUNNING if the server was not listening.
  void close() {
    if (!s_->listening) throw error(errc::err_server_not_running);
    s_->close();
  }

  /// Node's server.listening.
  bool listening() const noexcept { return s_->listening; }
  /// Node's server.address(): empty before listen and after close.
  std::optional<address_info> address() const {
    if (!s_->listening) return std::nullopt;
    if (s_->domain == AF_UNIX) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      if (::getsockname(s_->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
      const auto* un = reinterpret_cast<const sockaddr_un*>(&ss);
      std::size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
      std::string path(un->sun_path, n);
      if (!path.empty() && path[0] != '\0') path.resize(std::strlen(path.c_str()));
      return address_info{{}, {}, 0, std::move(path)};
    }
    auto a = detail::socket_name(s_->fd, true);
    if (!a) return std::nullopt;
    return address_info{std::string(a->address().view()), std::string(detail::family_string(a->family())),
                        a->port(), {}};
  }
  /// Node's server.getConnections(), synchronous here: the count is local.
  std::size_t get_connections() const noexcept { return *s_->connections; }

  /// Node's server.ref() / unref(): whether a pending accept keeps run() going.
  basic_server& ref() noexcept { return set_ref(true); }
  basic_server& unref() noexcept { return set_ref(false); }

  int fd() const noexcept { return s_->fd; }

 private:
  basic_server& set_ref(bool r) noexcept {
    if (s_->ref == r) return *this;
    s_->ref = r;
    detail::io_op* op = s_->pending_accept;
    if (op && op->in_flight() && op->counts_alive != r) {
      op->counts_alive = r;
      r ? s_->loop->core().add_ref() : s_->loop->core().release_ref();
    }
    return *this;
  }

  void do_listen(const listen_options& o) {
    if (s_->listening) throw error(errc::err_server_already_listen);
    if (o.port && (*o.port < 0 || *o.port > 65535))
      throw error(errc::err_socket_bad_port,
                  "options.port should be >= 0 and < 65536. Received type number (" + std::to_string(*o.port) + ").");
    const int backlog = o.backlog < 0 ? 511 : o.backlog;
    if (o.fd) {
      listen_fd(*o.fd, backlog);
      return;
    }
    if (!o.path.empty()) {
      listen_unix(o, backlog);
      return;
    }
    listen_tcp(o, backlog);
  }

  void listen_fd(int fd, int backlog) {
    int type = 0;
    socklen_t tl = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM)
      throw error(errc::err_invalid_fd_type, "Unsupported fd type: not a stream socket");
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (::listen(fd, backlog) != 0) throw error::from_uv("listen", errno_code(errno));
    s_->fd = fd;
    s_->domain = ss.ss_family;
    s_->listening = true;
  }

  void listen_unix(const listen_options& o, int backlog) {
    sockaddr_storage ss{};
    int err = 0;
    const std::string path(o.path);
    auto len = detail::to_unix_sockaddr(path, ss, err);
    if (!len) throw error::from_uv("listen", errno_code(err), printable_path(path));
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw error::from_uv("listen", errno_code(errno), printable_path(path));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), *len) != 0 || ::listen(fd, backlog) != 0) {
      int e = errno;
      ::close(fd);
      throw error::from_uv("listen", errno_code(e), printable_path(path));
    }
    const bool abstract = path[0] == '\0';
    if (!abstract && (o.readable_all || o.writable_all)) {
      // Node's readableAll / writableAll: the socket file's mode for others.
      mode_t mode = S_IRUSR | S_IWUSR;
      if (o.readable_all) mode |= S_IRGRP | S_IROTH;
      if (o.writable_all) mode |= S_IWGRP | S_IWOTH;
      ::chmod(path.c_str(), mode);
    }
    s_->fd = fd;
    s_->domain = AF_UNIX;
    s_->listening = true;
    if (!abstract) s_->unlink_path = path;
  }

  void listen_tcp(const listen_options& o, int backlog) {
    const auto port = static_cast<std::uint16_t>(o.port.value_or(0));
    std::optional<socket_address> addr;
    std::string host(o.host);
    if (host == "localhost") host = "127.0.0.1";  // DNS arrives with the client side
    if (host.empty()) {
      addr = socket_address::from_ipv6({}, port);  // `::`, dual-stack
    } else if (auto p = parse_host(host, port)) {
      addr = p;
    } else {
      throw error(errc::enotfound, "getaddrinfo ENOTFOUND " + host);
    }
    int fd = -1;
    int e = bind_listen(*addr, o, backlog, fd);
    if (e == EAFNOSUPPORT && host.empty()) {  // no IPv6 on this machine: 0.0.0.0
      addr = socket_address::from_ipv4({}, port);
      e = bind_listen(*addr, o, backlog, fd);
    }
    if (e != 0) {
      throw error::from_uv("listen", errno_code(e), std::string(addr->address().view()), port);
    }
    s_->fd = fd;
    s_->domain = addr->family() == family::ipv4 ? AF_INET : AF_INET6;
    s_->listening = true;
  }

  static std::optional<socket_address> parse_host(const std::string& host, std::uint16_t port) {
    const int v = is_ip(host);
    if (v == 0) return std::nullopt;
    socket_address_options so;
    so.address = host;
    so.family = v == 4 ? family::ipv4 : family::ipv6;
    so.port = port;
    return socket_address(so);
  }

  static int bind_listen(const socket_address& addr, const listen_options& o, int backlog, int& out) {
    sockaddr_storage ss{};
    socklen_t len = detail::to_sockaddr(addr, ss);
    int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    detail::set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1);  // as libuv: restart without TIME_WAIT trouble
    if (o.reuse_port) detail::set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (ss.ss_family == AF_INET6) detail::set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, o.ipv6_only ? 1 : 0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, backlog) != 0) {
      int e = errno;
      ::close(fd);
      return e;
    }
    out = fd;
    return 0;
  }

  // Node prints an abstract name with its leading NUL as '@' in messages.
  static std::string printable_path(const std::string& p) {
    if (!p.empty() && p[0] == '\0') return "@" + p.substr(1);
    return p;
  }

  class accept_awaitable : public detail::io_op {
   public:
    explicit accept_awaitable(std::shared_ptr<state> s) : s_(std::move(s)) {
      code = detail::op_code::accept;
      complete = &on_complete;
      args.accept = {nullptr, nullptr, 0};
    }
    accept_awaitable(const accept_awaitable&) = delete;
    ~accept_awaitable() {
      if (in_flight()) s_->loop->abandon(*this);
      if (s_->pending_accept == this) s_->pending_accept = nullptr;
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
      if (!s_->listening) {
        result = -ECANCELED;
        return false;
      }
      waiter_ = h;
      fd = s_->fd;
      counts_alive = s_->ref;
      if (s_->loop->start(*this)) return false;
      s_->pending_accept = this;
      return true;
    }
    socket_type await_resume() {
      s_->pending_accept = nullptr;
      if (result == -ECANCELED || (result < 0 && !s_->listening)) throw error(errc::err_server_not_running);
      if (result < 0) throw error::from_uv("accept", errno_code(-result));
      auto sock = socket_type::adopt(*s_->loop, result, s_->domain);
      auto& st = sock.internal_state();
      st->allow_half_open = s_->options.allow_half_open;
      st->server_connections = s_->connections;
      ++*s_->connections;
      if (s_->options.no_delay) sock.set_no_delay(true);
      if (s_->options.keep_alive) sock.set_keep_alive(true, s_->options.keep_alive_initial_delay);
      return sock;
    }

   private:
    static void on_complete(io_op* op, int) noexcept { detail::resume(static_cast<accept_awaitable*>(op)->waiter_); }
    std::shared_ptr<state> s_;
    std::coroutine_handle<> waiter_;
  };

  std::shared_ptr<state> s_;
};

using server = basic_server<auto_backend>;

/// net.createServer([options]) (awaitable face; the connection listener form
/// comes with the event face).
inline server create_server(server_options o = {}) { return server(o); }

NETXX_END_NAMESPACE
