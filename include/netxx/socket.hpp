#pragma once
/// net.Socket: the stream core that accepted connections use (issue 4), its
/// awaitable face. A socket is a cheap handle onto loop-owned state: copies
/// share it, and the state lives while a handle or an operation in flight
/// needs it. The event face ("data", "end", write callbacks, pipe) and the
/// client side (connect, DNS, Happy Eyeballs) are built on this same state.

#include <netinet/in.h>
#include <sys/socket.h>

#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "config.hpp"
#include "detail/op.hpp"
#include "detail/socket_ops.hpp"
#include "errors.hpp"
#include "loop.hpp"
#include "socket_address.hpp"

NETXX_BEGIN_NAMESPACE

/// Node's socket.readyState.
enum class ready_state { opening, open, read_only, write_only, closed };

/// Node's readyState strings: "opening", "open", "readOnly", "writeOnly", "closed".
constexpr std::string_view to_string(ready_state s) noexcept {
  switch (s) {
    case ready_state::opening: return "opening";
    case ready_state::open: return "open";
    case ready_state::read_only: return "readOnly";
    case ready_state::write_only: return "writeOnly";
    case ready_state::closed: return "closed";
  }
  return "closed";
}

/// What Node's address() returns: { address, family, port } for IP sockets;
/// for Unix sockets `path` holds the path (Node returns the string) and the
/// rest is empty.
struct address_info {
  std::string address;
  std::string family;  // "IPv4" / "IPv6"; "" for a Unix socket
  std::uint16_t port = 0;
  std::string path;
  friend bool operator==(const address_info&, const address_info&) = default;
};

template <typename Backend>
class basic_server;

namespace detail {

template <typename Backend>
struct socket_state {
  basic_loop<Backend>* loop = nullptr;
  int fd = -1;
  int domain = AF_INET;
  bool readable = true;   // false once the peer's FIN was read
  bool writable = true;   // false once end() sent ours
  bool destroyed = false;
  bool ref = true;
  bool allow_half_open = false;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  // The operations in flight, so destroy() can cancel them and unref() can
  // stop them keeping the loop alive.
  io_op* pending_read = nullptr;
  io_op* pending_write = nullptr;
  // Set by the server that accepted this socket: its connection count.
  std::shared_ptr<std::size_t> server_connections;

  ~socket_state() { close(); }

  void close() noexcept {
    if (fd < 0) return;
    loop->close_now(fd);  // also cancels what is in flight on it
    fd = -1;
    if (server_connections) {
      --*server_connections;
      server_connections.reset();
    }
  }

  void set_op_ref(io_op* op, bool r) noexcept {
    if (!op || !op->in_flight() || op->counts_alive == r) return;
    op->counts_alive = r;
    r ? loop->core().add_ref() : loop->core().release_ref();
  }
};

}  // namespace detail

/// net.Socket (stream core). Awaitable face: read, write, end; properties of
/// the spec; destroy, ref/unref.
template <typename Backend>
class basic_socket {
  using state = detail::socket_state<Backend>;

 public:
  basic_socket() = default;

  /// Resumes with the number of bytes read into buf, 0 at the end of the
  /// stream (the peer's FIN). Node's paused mode: pull, one read at a time.
  /// Throws net::error ("read ECONNRESET", ERR_SOCKET_CLOSED after destroy).
  auto read(std::span<std::byte> buf) { return read_awaitable(s_, buf); }

  /// Resumes when the kernel has taken all of data (backpressure for free:
  /// a slow peer suspends the writer, nothing piles up in user space).
  /// Throws net::error ("write EPIPE", ERR_STREAM_WRITE_AFTER_END, ...).
  auto write(std::span<const std::byte> data) { return write_awaitable(s_, data); }
  auto write(std::string_view text) { return write(std::as_bytes(std::span(text.data(), text.size()))); }

  /// Node's socket.end(): half-closes (sends FIN) after what was written.
  /// Awaitable for symmetry: the awaited writes before it have all reached
  /// the kernel, so the FIN goes now.
  auto end() {
    struct awaiter {
      std::shared_ptr<state> s;
      bool await_ready() const noexcept { return true; }
      void await_suspend(std::coroutine_handle<>) const noexcept {}
      void await_resume() const {
        if (!s || s->destroyed || s->fd < 0) return;  // Node: end() on a destroyed socket is a no-op
        if (s->writable) {
          s->writable = false;
          ::shutdown(s->fd, SHUT_WR);
        }
      }
    };
    return awaiter{s_};
  }

  /// Node's socket.destroy(): closes now; reads and writes in flight resume
  /// with ABORT_ERR... as ERR_SOCKET_CLOSED, as Node's.
  void destroy() noexcept {
    if (!s_ || s_->destroyed) return;
    s_->destroyed = true;
    s_->readable = s_->writable = false;
    s_->close();
  }
  /// Node's socket.destroyed.
  bool destroyed() const noexcept { return !s_ || s_->destroyed; }

  /// Node's socket.bytesRead.
  std::uint64_t bytes_read() const noexcept { return s_ ? s_->bytes_read : 0; }
  /// Node's socket.bytesWritten.
  std::uint64_t bytes_written() const noexcept { return s_ ? s_->bytes_written : 0; }

  /// Node's socket.readyState.
  ready_state get_ready_state() const noexcept {
    if (!s_ || s_->destroyed || s_->fd < 0) return ready_state::closed;
    if (s_->readable && s_->writable) return ready_state::open;
    if (s_->readable) return ready_state::read_only;
    if (s_->writable) return ready_state::write_only;
    return ready_state::closed;
  }
  /// Node's socket.readyState as its string.
  std::string_view ready_state_string() const noexcept { return to_string(get_ready_state()); }

  /// Node's socket.remoteAddress (empty when unknown or a Unix socket).
  std::string remote_address() const { return ip_of(false); }
  /// Node's socket.remotePort (0 when unknown).
  std::uint16_t remote_port() const noexcept { return port_of(false); }
  /// Node's socket.remoteFamily ("IPv4"/"IPv6", empty when unknown).
  std::string remote_family() const { return family_of(false); }
  /// Node's socket.localAddress.
  std::string local_address() const { return ip_of(true); }
  /// Node's socket.localPort.
  std::uint16_t local_port() const noexcept { return port_of(true); }
  /// Node's socket.localFamily.
  std::string local_family() const { return family_of(true); }
  /// Node's socket.address(): the local end.
  address_info address() const {
    if (!s_ || s_->fd < 0) return {};
    if (auto a = detail::socket_name(s_->fd, true))
      return {std::string(a->address().view()), std::string(detail::family_string(a->family())), a->port(), {}};
    return {};
  }

  /// Node's socket.setNoDelay([noDelay = true]).
  basic_socket& set_no_delay(bool no_delay = true) noexcept {
    if (s_ && s_->fd >= 0 && s_->domain != AF_UNIX)
      detail::set_int_option(s_->fd, IPPROTO_TCP, TCP_NODELAY, no_delay ? 1 : 0);
    return *this;
  }
  /// Node's socket.setKeepAlive([enable = false][, initialDelay = 0]).
  basic_socket& set_keep_alive(bool enable = false, std::int64_t initial_delay_ms = 0) noexcept {
    if (s_ && s_->fd >= 0 && s_->domain != AF_UNIX) detail::set_keep_alive(s_->fd, enable, initial_delay_ms);
    return *this;
  }

  /// Node's socket.ref(): what is in flight keeps run() going (default).
  basic_socket& ref() noexcept { return set_ref(true); }
  /// Node's socket.unref(): what is in flight no longer keeps run() going.
  basic_socket& unref() noexcept { return set_ref(false); }

  /// The descriptor (Node's socket._handle.fd); -1 once closed.
  int fd() const noexcept { return s_ ? s_->fd : -1; }
  explicit operator bool() const noexcept { return static_cast<bool>(s_); }

  /// For the server and the client side: adopt a connected descriptor.
  static basic_socket adopt(basic_loop<Backend>& loop, int fd, int domain) {
    basic_socket s;
    s.s_ = std::make_shared<state>();
    s.s_->loop = &loop;
    s.s_->fd = fd;
    s.s_->domain = domain;
    return s;
  }
  std::shared_ptr<state>& internal_state() noexcept { return s_; }

 private:
  basic_socket& set_ref(bool r) noexcept {
    if (!s_ || s_->ref == r) return *this;
    s_->ref = r;
    s_->set_op_ref(s_->pending_read, r);
    s_->set_op_ref(s_->pending_write, r);
    return *this;
  }

  std::string ip_of(bool local) const {
    if (!s_ || s_->fd < 0) return {};
    auto a = detail::socket_name(s_->fd, local);
    return a ? std::string(a->address().view()) : std::string();
  }
  std::uint16_t port_of(bool local) const noexcept {
    if (!s_ || s_->fd < 0) return 0;
    auto a = detail::socket_name(s_->fd, local);
    return a ? a->port() : 0;
  }
  std::string family_of(bool local) const {
    if (!s_ || s_->fd < 0) return {};
    auto a = detail::socket_name(s_->fd, local);
    return a ? std::string(detail::family_string(a->family())) : std::string();
  }

  // Fails at once, before suspending, when the socket cannot do the operation.
  static std::optional<error> closed_error(const std::shared_ptr<state>& s) {
    if (!s || s->destroyed || s->fd < 0) return error(errc::err_socket_closed);
    return std::nullopt;
  }

  /// One recv. The op lives here, in the awaiting frame.
  class read_awaitable : public detail::io_op {
   public:
    read_awaitable(std::shared_ptr<state> s, std::span<std::byte> buf) : s_(std::move(s)) {
      code = detail::op_code::recv;
      complete = &on_complete;
      args.recv = {buf.data(), buf.size(), 0};
    }
    read_awaitable(const read_awaitable&) = delete;
    ~read_awaitable() {
      if (in_flight()) s_->loop->abandon(*this);
      if (s_ && s_->pending_read == this) s_->pending_read = nullptr;
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
      if ((early_ = closed_error(s_))) return false;
      if (!s_->readable) {  // already at the end: 0 again, as a stream's read() after 'end'
        result = 0;
        return false;
      }
      waiter_ = h;
      fd = s_->fd;
      counts_alive = s_->ref;
      if (s_->loop->start(*this)) return false;
      s_->pending_read = this;
      return true;
    }
    std::size_t await_resume() {
      if (s_) s_->pending_read = nullptr;
      if (early_) throw std::move(*early_);
      if (result < 0) {
        if (result == -ECANCELED) throw error(errc::err_socket_closed);
        throw error::from_syscall("read", errno_code(-result));
      }
      const auto n = static_cast<std::size_t>(result);
      if (n == 0 && args.recv.len > 0) s_->readable = false;
      s_->bytes_read += n;
      return n;
    }

   private:
    static void on_complete(io_op* op, int) noexcept { detail::resume(static_cast<read_awaitable*>(op)->waiter_); }
    std::shared_ptr<state> s_;
    std::coroutine_handle<> waiter_;
    std::optional<error> early_;
  };

  /// Sends until all of data is in the kernel, re-submitting the rest of a
  /// partial send from the completion itself (no resumption in between).
  class write_awaitable : public detail::io_op {
   public:
    write_awaitable(std::shared_ptr<state> s, std::span<const std::byte> data) : s_(std::move(s)), data_(data) {
      code = detail::op_code::send;
      complete = &on_complete;
    }
    write_awaitable(const write_awaitable&) = delete;
    ~write_awaitable() {
      if (in_flight()) s_->loop->abandon(*this);
      if (s_ && s_->pending_write == this) s_->pending_write = nullptr;
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
      if ((early_ = closed_error(s_))) return false;
      if (!s_->writable) {
        early_ = error(errc::err_stream_write_after_end);
        return false;
      }
      if (data_.empty()) return false;
      waiter_ = h;
      fd = s_->fd;
      counts_alive = s_->ref;
      // Synchronous progress (epoll's optimistic send) loops here.
      while (true) {
        args.send = {data_.data() + sent_, data_.size() - sent_, 0};
        if (!s_->loop->start(*this)) break;
        if (!advance(result)) return false;
      }
      s_->pending_write = this;
      return true;
    }
    void await_resume() {
      if (s_) s_->pending_write = nullptr;
      if (early_) throw std::move(*early_);
      if (result < 0) {
        if (result == -ECANCELED) throw error(errc::err_socket_closed);
        throw error::from_syscall("write", errno_code(-result));
      }
    }

   private:
    // Takes a send's result; true when there is more to send.
    bool advance(int res) noexcept {
      if (res < 0) {
        result = res;
        return false;
      }
      sent_ += static_cast<std::size_t>(res);
      s_->bytes_written += static_cast<std::size_t>(res);
      result = 0;
      return sent_ < data_.size();
    }
    static void on_complete(io_op* op, int res) noexcept {
      auto* self = static_cast<write_awaitable*>(op);
      while (self->advance(res)) {
        self->args.send = {self->data_.data() + self->sent_, self->data_.size() - self->sent_, 0};
        if (!self->s_->loop->start(*self)) return;  // in flight again
        res = self->result;
      }
      detail::resume(self->waiter_);
    }
    std::shared_ptr<state> s_;
    std::span<const std::byte> data_;
    std::size_t sent_ = 0;
    std::coroutine_handle<> waiter_;
    std::optional<error> early_;
  };

  std::shared_ptr<state> s_;
};

using socket = basic_socket<auto_backend>;

NETXX_END_NAMESPACE
