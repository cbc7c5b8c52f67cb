// SPDX-License-Identifier: BSL-1.0
#pragma once
/// net.Socket: the stream core every connection uses. Two faces on one state:
/// the spec's events and methods ("data", "end", "close", "error", "drain";
/// write, end, destroy, pause, resume, pipe) and awaitables (read, write,
/// end). A socket is a cheap handle: copies share the state, which lives
/// while a handle, an operation in flight, or (once the event face is used)
/// the open connection itself needs it, as a Node socket lives while open.

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "block_list.hpp"
#include "impl/socket_awaitables.hpp"
#include "impl/stream_state.hpp"
#include "socket_options.hpp"
#include "buffer.hpp"
#include "config.hpp"
#include "detail/loop_core.hpp"
#include "detail/op.hpp"
#include "detail/recycling_allocator.hpp"
#include "detail/sockaddr.hpp"
#include "detail/socket_ops.hpp"
#include "dns.hpp"
#include "encoding.hpp"
#include "errors.hpp"
#include "events.hpp"
#include "ip.hpp"
#include "loop.hpp"
#include "socket_address.hpp"
#include "task.hpp"

NETXX_BEGIN_NAMESPACE
template <typename Backend>
class basic_socket;

namespace detail {
/// The library's own way into a socket's state (the server sets up the
/// sockets it accepts, net::connect awaits its socket): never the user's.
struct socket_access {
  template <typename Backend>
  static const std::shared_ptr<socket_state<Backend>>& state(const basic_socket<Backend>& s) noexcept {
    return s.s_;
  }
};
}  // namespace detail

/// net.Socket.
template <typename Backend>
class basic_socket {
  using state = detail::socket_state<Backend>;
  template <typename F>
  using name_for = typename detail::name_for<socket_emitter, std::type_identity_t<F>>::type;
  using key = typename detail::key_for<socket_emitter>::type;

 public:
  using connect_awaitable = detail::connect_awaitable<Backend>;
  using read_awaitable = detail::basic_read_awaitable<Backend, false>;
  using pooled_read_awaitable = detail::basic_read_awaitable<Backend, true>;
  using write_awaitable = detail::write_awaitable<Backend>;
  using end_awaitable = detail::end_awaitable<Backend>;

  /// new net.Socket(): a socket on this thread's loop, not yet connected.
  basic_socket() : basic_socket(socket_options{}) {}
  /// new net.Socket(options), on `loop` (default: this thread's).
  /// Throws ERR_INVALID_FD_TYPE when `fd` is not a stream socket.
  explicit basic_socket(const socket_options& o, basic_loop<Backend>& loop = basic_loop<Backend>::current());
  basic_socket(const basic_socket& o) : s_(o.s_) { if (s_) ++s_->handles; }
  basic_socket(basic_socket&& o) noexcept : s_(std::move(o.s_)) {}
  basic_socket& operator=(const basic_socket& o) {
    if (this != &o) {
      basic_socket tmp(o);
      swap(tmp);
    }
    return *this;
  }
  basic_socket& operator=(basic_socket&& o) noexcept {
    if (this != &o) {
      basic_socket tmp(std::move(o));
      swap(tmp);
    }
    return *this;
  }
  ~basic_socket() {
    if (s_ && --s_->handles == 0) s_->orphaned();
  }
  void swap(basic_socket& o) noexcept { s_.swap(o.s_); }

  // --- events (Node's EventEmitter) ----------------------------------------------

  /// socket.on(event, listener). A "data" listener switches the socket to
  /// flowing mode (unless pause() was called), as in Node.
  template <typename F>
  basic_socket& on(name_for<F> name, F&& listener) {
    s_->events.on(name, std::forward<F>(listener));
    after_listener(name.index());
    return *this;
  }
  /// socket.once(event, listener).
  template <typename F>
  basic_socket& once(name_for<F> name, F&& listener) {
    s_->events.once(name, std::forward<F>(listener));
    after_listener(name.index());
    return *this;
  }
  /// socket.on(), returning the id that off() takes (C++ lambdas are not comparable).
  template <typename F>
  listener_id subscribe(name_for<F> name, F&& listener) {
    auto id = s_->events.on(name, std::forward<F>(listener));
    after_listener(name.index());
    return id;
  }
  /// socket.off(event, listener) / removeListener, by the id subscribe() gave.
  bool off(key name, listener_id id) { return s_->events.off(name, id); }
  /// socket.removeAllListeners([event]).
  basic_socket& remove_all_listeners();
  basic_socket& remove_all_listeners(key name);
  /// socket.listenerCount(event).
  std::size_t listener_count(key name) const noexcept { return s_->events.listener_count(name); }

  // --- the event face's methods ------------------------------------------------------

  /// socket.write(data[, callback]): queues data (copied) and returns false
  /// once the queue reaches the high-water mark ("drain" follows when it
  /// empties). The callback runs when the data reached the kernel.
  bool write(std::span<const std::byte> data, write_callback cb) { return s_->write(data, std::move(cb)); }
  bool write(std::string_view text, write_callback cb) { return write(text, s_->default_encoding, std::move(cb)); }
  /// socket.write(data) in the event style: the same as with a callback,
  /// without one. (Awaiting the result instead gives the awaitable write.)
  auto write(std::span<const std::byte> data) { return write_awaitable(s_, data); }
  /// (With a default encoding other than utf8, the string is encoded and
  /// queued at once; awaiting waits for nothing then.)
  auto write(std::string_view text) {  // deduced: stays in the class
    if (s_->default_encoding == encoding::utf8) return write(as_bytes(text));
    write(text, s_->default_encoding, write_callback{});
    return write(std::span<const std::byte>{});
  }

  /// socket.write(data, encoding[, callback]): the string is encoded as
  /// Buffer.from(data, encoding) would (utf8, utf16le, latin1, ascii, hex,
  /// base64, base64url).
  bool write(std::string_view text, encoding enc, write_callback cb = {});
  /// socket.write(data, encodingName[, callback]): ERR_UNKNOWN_ENCODING for a name Node does not know.
  bool write(std::string_view text, std::string_view enc, write_callback cb = {}) {
    return write(text, enc.empty() ? encoding::utf8 : encoding_from(enc), std::move(cb));
  }
  /// socket.end(data, encoding[, callback]).
  auto end(std::string_view text, encoding enc, write_callback cb = {}) {  // deduced: stays in the class
    if (enc == encoding::utf8) return end(as_bytes(text), std::move(cb));
    const auto data = encode(text, enc);
    return end(std::span<const std::byte>(data), std::move(cb));
  }

  /// writable.setDefaultEncoding(encoding): the encoding of string writes
  /// and end(string) that name none (default utf8).
  basic_socket& set_default_encoding(encoding enc);
  /// writable.setDefaultEncoding(name): ERR_UNKNOWN_ENCODING for a name Node does not know.
  basic_socket& set_default_encoding(std::string_view name) {
    return set_default_encoding(name.empty() ? encoding::utf8 : encoding_from(name));
  }

  /// socket.setEncoding([encoding]): "data" then carries the decoded text as
  /// its UTF-8 bytes (view them as a std::string_view: that is Node's string),
  /// a multi-byte character never split across two events. Awaited reads
  /// stay raw bytes.
  basic_socket& set_encoding(encoding enc = encoding::utf8);
  /// socket.setEncoding(name): ERR_UNKNOWN_ENCODING for a name Node does not know.
  basic_socket& set_encoding(std::string_view name) {
    return set_encoding(name.empty() ? encoding::utf8 : encoding_from(name));
  }
  /// stream.readableEncoding: the encoding set_encoding() chose, if any.
  std::optional<encoding> readable_encoding() const;

  /// socket.end([data][, callback]): FIN after the queued writes; the
  /// callback runs on "finish". Awaitable too: `co_await s.end()` resumes
  /// at "finish" and throws what destroyed the socket first.
  end_awaitable end(std::span<const std::byte> data = {}, write_callback cb = {});
  /// socket.end(callback).
  template <typename F>
    requires std::is_invocable_v<std::decay_t<F>&, std::error_code>  // called through its copy
  end_awaitable end(F&& cb) {
    return end(std::span<const std::byte>{}, write_callback(std::forward<F>(cb)));
  }
  /// socket.end(data, encodingName[, callback]): ERR_UNKNOWN_ENCODING for a name Node does not know.
  end_awaitable end(std::string_view text, std::string_view enc, write_callback cb = {}) {
    return end(text, enc.empty() ? encoding::utf8 : encoding_from(enc), std::move(cb));
  }
  end_awaitable end(std::string_view text, write_callback cb = {});

  /// socket.destroy([error]): closes now. With an error, "error" then
  /// "close"(true) follow; without, "close"(false). Reads and writes in
  /// flight resume with ERR_SOCKET_CLOSED.
  basic_socket& destroy(std::optional<error> err = std::nullopt);
  /// socket.destroySoon(): end(), then destroy once the writes are done.
  void destroy_soon() {
    if (s_) s_->destroy_soon();
  }
  /// socket.pause(): no "data" until resume(); the kernel then pushes back on the peer.
  basic_socket& pause();
  /// socket.resume().
  basic_socket& resume();
  /// socket.isPaused().
  bool is_paused() const noexcept { return s_ && s_->paused; }

  /// readable.pipe(destination): every chunk goes to dest, with backpressure
  /// (a full dest pauses this socket until its "drain"); this socket's "end"
  /// ends dest. Returns dest. `c.pipe(c)` is the spec's echo.
  template <typename Dest>
  Dest& pipe(Dest& dest) {
    Dest d = dest;  // the listeners keep handles; they are dropped on "close"
    basic_socket self = *this;
    if (detail::socket_access::state(dest) == s_) {  // c.pipe(c), the echo: one handle, not two
      s_->events.template on<"data">([self](std::span<const std::byte> chunk) mutable {
        if (!self.write(chunk, write_callback{})) self.pause();
      });
    } else {
      s_->events.template on<"data">([d, self](std::span<const std::byte> chunk) mutable {
        if (!d.write(chunk, write_callback{})) self.pause();
      });
    }
    detail::socket_access::state(dest)->events.template on<"drain">([self]() mutable { self.resume(); });
    s_->events.template on<"end">([d]() mutable { d.end(); });
    if (!s_->paused) s_->start_flowing();
    return dest;
  }

  /// socket.bufferSize (Node's writableLength): bytes queued, not yet in the kernel.
  std::size_t buffer_size() const noexcept { return s_ ? s_->queued_bytes : 0; }
  /// writable.writableLength: bytes queued, not yet in the kernel.
  std::size_t writable_length() const noexcept { return buffer_size(); }
  /// writable.writableHighWaterMark: write() returns false from here on.
  std::size_t writable_high_water_mark() const noexcept { return s_ ? s_->high_water_mark : 0; }
  /// readable.readableLength: bytes read from the kernel that nobody consumed yet.
  std::size_t readable_length() const noexcept { return s_ ? s_->rbuf_bytes : 0; }
  /// readable.readableHighWaterMark: reading stops while this much waits unconsumed.
  std::size_t readable_high_water_mark() const noexcept { return s_ ? s_->high_water_mark : 0; }
  /// socket.allowHalfOpen.
  bool allow_half_open() const noexcept { return s_ && s_->allow_half_open; }
  /// readable.readable: "end" not emitted yet, not destroyed.
  bool readable() const noexcept { return s_ && s_->readable && !s_->destroyed; }
  /// writable.writable: end() not called yet, not destroyed.
  bool writable() const noexcept { return s_ && s_->writable && !s_->destroyed; }
  /// readable.readableEnded: "end" was emitted.
  bool readable_ended() const noexcept { return s_ && s_->end_emitted; }
  /// writable.writableEnded: end() was called.
  bool writable_ended() const noexcept { return s_ && s_->end_called; }
  /// writable.writableFinished: "finish" was emitted.
  bool writable_finished() const noexcept { return s_ && s_->finish_emitted; }
  /// readable.readableFlowing: nullopt until a "data" listener, resume() or
  /// pipe(); then true, or false once paused.
  std::optional<bool> readable_flowing() const noexcept;

  /// writable.cork(): writes queue, and none is sent until as many uncork()
  /// (or end()); they then go out together, in one sendmsg.
  basic_socket& cork() noexcept;
  /// writable.uncork().
  basic_socket& uncork();
  /// writable.writableCorked: how many uncork() calls it takes to send.
  std::size_t writable_corked() const noexcept { return s_ ? s_->corked : 0; }

  // --- the awaitable face ------------------------------------------------------------

  /// Resumes with the number of bytes read into buf, 0 at the end of the
  /// stream (the peer's FIN). Node's paused mode: pull, one read at a time.
  /// Throws net::error ("read ECONNRESET", ERR_SOCKET_CLOSED after destroy).
  auto read(std::span<std::byte> buf) { return read_awaitable(s_, buf); }
  /// Resumes with the next bytes that arrived, up to 64 KiB, in a
  /// net::buffer lent by the pool; an empty one at the end of the stream.
  /// Node's `socket.read()` in paused mode. Nothing is held while waiting,
  /// so 100k idle connections awaiting read() cost no read memory; io_uring
  /// picks the block from a provided-buffer ring (5.19+), epoll once the
  /// socket is readable. Throws as read(buf).
  auto read() { return pooled_read_awaitable(s_); }

  // --- connecting (the client side) --------------------------------------------------

  /// socket.connect(options): starts connecting and returns an awaitable:
  /// `co_await s.connect({.port = 8124})` resumes after "connect" and "ready"
  /// or throws the error (ECONNREFUSED, ENOTFOUND, an aggregate of every
  /// Happy Eyeballs attempt). Not awaited, it is the event style: "connect"
  /// or "error" follow. Bad arguments throw at once (ERR_MISSING_ARGS,
  /// ERR_SOCKET_BAD_PORT, ERR_INVALID_IP_ADDRESS, ERR_OUT_OF_RANGE).
  connect_awaitable connect(const connect_options& o);
  /// socket.connect(options, connectListener).
  template <typename F>
    requires std::is_invocable_v<F&>
  basic_socket& connect(const connect_options& o, F&& listener) {
    s_->events.template once<"connect">(std::forward<F>(listener));
    s_->event_face = true;
    s_->start_connect(o);
    return *this;
  }
  /// socket.connect(path[, connectListener]): an IPC connection.
  connect_awaitable connect(std::string_view path) { return connect(connect_options{.path = path}); }
  template <typename F>
    requires std::is_invocable_v<F&>
  basic_socket& connect(std::string_view path, F&& listener) {
    return connect(connect_options{.path = path}, std::forward<F>(listener));
  }
  /// socket.connect(port[, host][, connectListener]).
  connect_awaitable connect(std::int64_t port, std::string_view host = {}) {
    return connect(connect_options{.port = port, .host = host});
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  basic_socket& connect(std::int64_t port, F&& listener) {
    return connect(connect_options{.port = port}, std::forward<F>(listener));
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  basic_socket& connect(std::int64_t port, std::string_view host, F&& listener) {
    return connect(connect_options{.port = port, .host = host}, std::forward<F>(listener));
  }

  /// Node's socket.connecting: true from connect() until "connect" (or failure).
  bool connecting() const noexcept { return s_ && s_->connecting; }
  /// Node's socket.pending: not connected yet (or any more), or connecting.
  bool pending() const noexcept { return !s_ || s_->fd < 0 || s_->connecting; }
  /// Node's socket.autoSelectFamilyAttemptedAddresses: "ip:port" of each
  /// Happy Eyeballs attempt; std::nullopt when the family was not auto-selected.
  std::optional<std::vector<std::string>> auto_select_family_attempted_addresses() const;

  /// socket.setTimeout(timeout[, callback]): "timeout" after `ms` of
  /// inactivity (nothing is closed: the listener decides); 0 disables it.
  /// A negative value is ERR_OUT_OF_RANGE, as in Node.
  basic_socket& set_timeout(std::int64_t ms);
  template <typename F>
    requires std::is_invocable_v<F&>
  basic_socket& set_timeout(std::int64_t ms, F&& listener) {
    set_timeout(ms);
    if (s_ && !s_->destroyed && ms > 0) s_->events.template once<"timeout">(std::forward<F>(listener));
    return *this;
  }
  /// Node's socket.timeout: what setTimeout() was last given (nullopt before).
  std::optional<std::int64_t> timeout() const noexcept {
    return s_ && s_->x ? s_->x->timeout_property : std::nullopt;
  }

  /// socket.resetAndDestroy(): closes with an RST (the peer reads ECONNRESET).
  /// While connecting, the RST goes once connected. On a Unix socket:
  /// ERR_INVALID_HANDLE_TYPE; with no connection: destroy(ERR_SOCKET_CLOSED).
  basic_socket& reset_and_destroy();

  // --- state and properties ------------------------------------------------------------

  /// Node's socket.destroyed.
  bool destroyed() const noexcept { return !s_ || s_->destroyed; }
  /// Node's socket.bytesRead. Both counters start again at 0 when the socket connects again.
  std::uint64_t bytes_read() const noexcept { return s_ ? s_->bytes_read : 0; }
  /// Node's socket.bytesWritten.
  /// Counts what write() was given, as Node's does: what the kernel took,
  /// and what is still queued.
  std::uint64_t bytes_written() const noexcept { return s_ ? s_->bytes_written + s_->queued_bytes : 0; }

  /// Node's socket.readyState.
  ready_state get_ready_state() const noexcept;
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
  address_info address() const;

  /// Node's socket.setNoDelay([noDelay = true]).
  /// Before the connection exists it is kept, and applied once connected.
  basic_socket& set_no_delay(bool no_delay = true) noexcept;
  /// Node's socket.setKeepAlive([enable = false][, initialDelay = 0]).
  /// Before the connection exists it is kept, and applied once connected.
  basic_socket& set_keep_alive(bool enable = false, std::int64_t initial_delay_ms = 0) noexcept;

  /// Node's socket.ref(): what is in flight keeps run() going (default).
  basic_socket& ref() noexcept { return set_ref(true); }
  /// Node's socket.unref(): what is in flight no longer keeps run() going.
  basic_socket& unref() noexcept { return set_ref(false); }

  /// The descriptor (Node's socket._handle.fd); -1 once closed.
  int fd() const noexcept { return s_ ? s_->fd : -1; }
  explicit operator bool() const noexcept { return static_cast<bool>(s_); }
  friend bool operator==(const basic_socket& a, const basic_socket& b) noexcept { return a.s_ == b.s_; }

  /// For the server and the client side: adopt a connected descriptor.
  static basic_socket adopt(basic_loop<Backend>& loop, int fd, int domain);
 private:
  friend struct detail::socket_access;
  struct adopt_tag {};
  explicit basic_socket(adopt_tag) noexcept {}

  // socket_options::fd: Node's createHandle + open(fd).
  void adopt_fd(int fd, bool readable, bool writable);

  static std::span<const std::byte> as_bytes(std::string_view t) noexcept {
    return std::as_bytes(std::span(t.data(), t.size()));
  }

  void after_listener(std::size_t index);

  basic_socket& set_ref(bool r) noexcept;

  // Node's _getpeername/_getsockname: read once the connection is up, then
  // kept (after the close too) until the socket connects again.
  const std::optional<socket_address>& name_of(bool local) const noexcept;
  std::string ip_of(bool local) const;
  std::uint16_t port_of(bool local) const noexcept;
  std::string family_of(bool local) const;

  std::shared_ptr<state> s_;
};

using socket = basic_socket<auto_backend>;

NETXX_END_NAMESPACE

#if NETXX_HEADER_ONLY
#  include "impl/socket.ipp"
#endif
