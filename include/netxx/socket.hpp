#pragma once
/// net.Socket: the stream core every connection uses. Two faces on one state:
/// the spec's events and methods ("data", "end", "close", "error", "drain";
/// write, end, destroy, pause, resume, pipe) and awaitables (read, write,
/// end). A socket is a cheap handle: copies share the state, which lives
/// while a handle, an operation in flight, or (once the event face is used)
/// the open connection itself needs it, as a Node socket lives while open.

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

#include "config.hpp"
#include "detail/op.hpp"
#include "detail/socket_ops.hpp"
#include "errors.hpp"
#include "events.hpp"
#include "loop.hpp"
#include "socket_address.hpp"
#include "task.hpp"

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

/// A write or end callback: Node's `callback(err)`; an empty code is success.
using write_callback = std::function<void(std::error_code)>;

/// The events of net.Socket, with their listener signatures.
using socket_emitter = event_emitter<
    event<"close", void(bool had_error)>,                    //
    event<"connect", void()>,                                //
    event<"connectionAttempt", void(std::string_view ip, std::uint16_t port, int family)>,
    event<"connectionAttemptFailed", void(std::string_view ip, std::uint16_t port, int family, const error& e)>,
    event<"connectionAttemptTimeout", void(std::string_view ip, std::uint16_t port, int family)>,
    event<"data", void(std::span<const std::byte> chunk)>,  //
    event<"drain", void()>,                                  //
    event<"end", void()>,                                    //
    event<"error", void(const error& e)>,                    //
    event<"finish", void()>,                                 // stream.Writable's, which end(cb) uses
    event<"lookup", void(std::error_code err, std::string_view address, int family, std::string_view host)>,
    event<"ready", void()>,                                  //
    event<"timeout", void()>>;

namespace detail {

template <typename Emitter, typename F>
struct name_for;
template <typename... Events, typename F>
struct name_for<event_emitter<Events...>, F> {
  using type = event_name<F, Events...>;
};
template <typename Emitter>
struct key_for;
template <typename... Events>
struct key_for<event_emitter<Events...>> {
  using type = event_key<Events...>;
};

/// Reports an "error" nobody listens to, as Node does with an unhandled
/// 'error' event: through the unhandled-exception handler (default: print
/// and terminate), never silently.
inline void unhandled_error_event(const error& e) {
  unhandled_handler()(std::make_exception_ptr(e));
}

template <typename Backend>
struct socket_state : std::enable_shared_from_this<socket_state<Backend>> {
  basic_loop<Backend>* loop = nullptr;
  int fd = -1;
  int domain = AF_INET;
  bool readable = true;     // false once the peer's FIN was read (and "end" emitted)
  bool writable = true;     // false once end() was called
  bool fin_sent = false;    // our FIN went out (after the queue drained)
  bool destroyed = false;
  bool close_emitted = false;
  bool ref = true;
  bool allow_half_open = false;
  bool flowing = false;     // Node's flowing mode: "data" listener, resume(), pipe()
  bool paused = false;      // pause() was called
  bool need_drain = false;
  std::size_t handles = 0;  // user handles (basic_socket objects) sharing this state
  std::size_t high_water_mark = 64 * 1024;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;

  socket_emitter events;
  // Held while the connection is open and the event face is in use: an open
  // Node socket lives without a reference from user code.
  std::shared_ptr<socket_state> self;
  // Told once when the descriptor closes (the server's connection count):
  // a function and a weak owner, not a std::function, so accepting a
  // connection allocates nothing for it.
  void (*on_closed)(void*) = nullptr;
  std::weak_ptr<void> closed_owner;

  // --- flowing reads: one recv in flight into a buffer of the socket --------
  struct flow_read_op : io_op {
    socket_state* owner = nullptr;
  } flow_read;
  std::unique_ptr<std::byte[]> read_buf;
  static constexpr std::size_t read_buf_size = 64 * 1024;
  std::size_t stashed = 0;  // bytes read while pausing, delivered on resume
  bool stashed_eof = false;

  // --- the write queue, sent as one sendmsg ---------------------------------------
  struct chunk {
    std::vector<std::byte> data;
    std::size_t offset = 0;
    write_callback cb;
  };
  // The queue is queue[queue_head..]: a vector (a deque allocates when made,
  // and most sockets of a busy server never queue a byte).
  std::vector<chunk> queue;
  std::size_t queue_head = 0;
  std::size_t queued_bytes = 0;
  bool queue_empty() const noexcept { return queue_head == queue.size(); }
  chunk& queue_front() noexcept { return queue[queue_head]; }
  void queue_pop() noexcept {
    queue[queue_head++] = chunk{};
    if (queue_head == queue.size()) {
      queue.clear();
      queue_head = 0;
    }
  }
  struct write_op : io_op {
    socket_state* owner = nullptr;
    msghdr msg{};
    // Made on the first queued write: most sockets (every awaitable-only
    // one) never queue, and 1 KiB per idle connection is worth saving.
    std::unique_ptr<std::array<iovec, 64>> iov;
  } wop;
  std::vector<write_callback> end_callbacks;

  // Awaitable operations in flight (in their frames), for destroy and unref.
  io_op* pending_read = nullptr;
  io_op* pending_write = nullptr;

  socket_state() {
    flow_read.owner = this;
    flow_read.code = op_code::recv;
    flow_read.complete = &on_flow_read;
    wop.owner = this;
    wop.code = op_code::sendmsg;
    wop.complete = &on_write;
  }
  ~socket_state() { close_fd(); }

  bool open() const noexcept { return fd >= 0 && !destroyed; }

  void close_fd() noexcept {
    if (fd < 0) return;
    if (flow_read.in_flight() || wop.in_flight() || pending_read || pending_write)
      loop->close_now(fd);  // what is in flight on it completes with -ECANCELED
    else
      loop->close_idle(fd);
    fd = -1;
    if (auto f = std::exchange(on_closed, nullptr))
      if (auto owner = closed_owner.lock()) f(owner.get());
  }

  void hold() {
    if (!self && fd >= 0 && !destroyed) self = this->shared_from_this();
  }

  void set_op_ref(io_op* op, bool r) noexcept {
    if (!op || !op->in_flight() || op->counts_alive == r) return;
    op->counts_alive = r;
    r ? loop->core().add_ref() : loop->core().release_ref();
  }

  // --- reading -----------------------------------------------------------------

  void start_flowing() {
    const bool was = flowing;
    flowing = true;
    paused = false;
    hold();
    if (was) return;
    // Reading starts next tick, as Node's resume() does: a listener added
    // right after on("data") (on("end"), on("close")) must not miss what is
    // already waiting, data and FIN included.
    auto keep = this->shared_from_this();
    loop->post([keep] { keep->deliver_stash(); });
  }

  void deliver_stash() {
    if (destroyed || !flowing) return;
    if (stashed > 0) {
      const std::size_t n = std::exchange(stashed, 0);
      emit_data(n);
    }
    if (destroyed) return;
    if (std::exchange(stashed_eof, false)) {
      on_eof();
      return;
    }
    if (flowing) arm_read();
  }

  void arm_read() {
    if (!open() || !readable || flow_read.in_flight() || !flowing) return;
    if (!read_buf) read_buf = std::make_unique_for_overwrite<std::byte[]>(read_buf_size);  // untouched until used
    flow_read.fd = fd;
    flow_read.counts_alive = ref;
    flow_read.args.recv = {read_buf.get(), read_buf_size, 0};
    // Synchronous completions (epoll's optimistic read) are handled in a loop
    // here rather than by recursion.
    while (loop->start(flow_read)) {
      if (!handle_read(flow_read.result) || !flowing || !open() || !readable) return;
      flow_read.fd = fd;
      flow_read.counts_alive = ref;
    }
  }

  static void on_flow_read(io_op* op, int res) noexcept {
    auto* st = static_cast<flow_read_op*>(op)->owner;
    auto keep = st->shared_from_this();
    if (st->handle_read(res) && st->flowing && st->open()) st->arm_read();
  }

  // True when reading may go on.
  bool handle_read(int res) {
    if (destroyed) return false;
    if (res == -ECANCELED) return false;  // pause() or destroy()
    if (res < 0) {
      destroy(error::from_syscall("read", errno_code(-res)));
      return false;
    }
    if (res == 0) {
      if (!flowing) {
        stashed_eof = true;
        return false;
      }
      on_eof();
      return false;
    }
    if (!flowing) {  // arrived while pausing: keep it for resume()
      stashed = static_cast<std::size_t>(res);
      return false;
    }
    emit_data(static_cast<std::size_t>(res));
    return true;
  }

  void emit_data(std::size_t n) {
    bytes_read += n;
    events.template emit<"data">(std::span<const std::byte>(read_buf.get(), n));
  }

  void on_eof() {
    readable = false;
    auto keep = this->shared_from_this();
    events.template emit<"end">();
    if (destroyed) return;
    if (!allow_half_open && writable) end({});
    maybe_auto_destroy();
  }

  void pause() {
    flowing = false;
    paused = true;
    if (flow_read.in_flight()) loop->cancel(flow_read.id);
  }

  // --- writing -------------------------------------------------------------------

  bool write(std::span<const std::byte> data, write_callback cb) {
    if (destroyed) {
      fail_later(std::move(cb), make_error_code(errc::err_stream_destroyed));
      return false;
    }
    if (!writable) {
      // Node: write after end is an error event (and the callback gets it).
      auto e = error(errc::err_stream_write_after_end);
      fail_later(std::move(cb), e.code());
      destroy(std::move(e));
      return false;
    }
    hold();
    std::size_t sent = 0;
    if (queue_empty() && !wop.in_flight() && !pending_write && !cb && fd >= 0) {
      // Optimistic write (libuv's uv_try_write): most writes fit in the
      // socket buffer and need neither a copy nor a queued operation.
      ssize_t r = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r > 0) {
        sent = static_cast<std::size_t>(r);
        bytes_written += sent;
      } else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        destroy(error::from_syscall("write", errno_code(errno)));
        return false;
      }
      if (sent == data.size()) return true;
    }
    chunk c;
    c.data.assign(data.begin() + static_cast<std::ptrdiff_t>(sent), data.end());
    c.cb = std::move(cb);
    queued_bytes += c.data.size();
    queue.push_back(std::move(c));
    if (!wop.in_flight() && !pending_write) send_queue();
    const bool below = queued_bytes < high_water_mark;
    if (!below) need_drain = true;
    return below;
  }

  void send_queue() {
    if (!wop.iov) wop.iov = std::make_unique_for_overwrite<std::array<iovec, 64>>();
    auto& iov = *wop.iov;
    while (!queue_empty() && open()) {
      std::size_t n = 0;
      for (auto it = queue.begin() + static_cast<std::ptrdiff_t>(queue_head); it != queue.end() && n < iov.size();
           ++it, ++n)
        iov[n] = {it->data.data() + it->offset, it->data.size() - it->offset};
      wop.msg = {};
      wop.msg.msg_iov = iov.data();
      wop.msg.msg_iovlen = n;
      wop.fd = fd;
      wop.counts_alive = true;  // a write request keeps the loop alive, as in libuv
      wop.args.sendmsg = {&wop.msg, 0};
      if (!loop->start(wop)) return;  // in flight
      if (!handle_write(wop.result)) return;
    }
    after_queue_drained();
  }

  static void on_write(io_op* op, int res) noexcept {
    auto* st = static_cast<write_op*>(op)->owner;
    auto keep = st->shared_from_this();
    if (st->handle_write(res)) {
      if (!st->queue_empty())
        st->send_queue();
      else
        st->after_queue_drained();
    }
  }

  // Takes a sendmsg result; false when writing must stop.
  bool handle_write(int res) {
    if (res < 0) {
      if (res == -EAGAIN) return true;  // retried by send_queue
      if (!destroyed) destroy(error::from_syscall("write", errno_code(-res)));
      return false;
    }
    auto left = static_cast<std::size_t>(res);
    bytes_written += left;
    queued_bytes -= left;
    while (left > 0 && !queue_empty()) {
      chunk& c = queue_front();
      const std::size_t take = std::min(left, c.data.size() - c.offset);
      c.offset += take;
      left -= take;
      if (c.offset == c.data.size()) {
        auto cb = std::move(c.cb);
        queue_pop();
        if (cb) cb({});
      }
    }
    return !destroyed;
  }

  void after_queue_drained() {
    if (destroyed || !queue_empty() || wop.in_flight() || pending_write) return;
    if (std::exchange(need_drain, false)) events.template emit<"drain">();
    if (destroyed) return;
    if (!writable && !fin_sent && queue_empty()) send_fin();
  }

  void end(std::span<const std::byte> data, write_callback cb = {}) {
    if (destroyed) return;  // Node: end() after destroy is a no-op
    if (!data.empty() && writable) write(data, {});
    if (cb) end_callbacks.push_back(std::move(cb));
    if (!writable) return;
    writable = false;
    hold();
    if (queue_empty() && !wop.in_flight() && !pending_write) send_fin();
  }

  /// An awaitable write finished: what queued behind it goes now (or the FIN).
  void awaitable_write_done() {
    pending_write = nullptr;
    if (destroyed) return;
    if (!queue_empty() && !wop.in_flight())
      send_queue();
    else
      after_queue_drained();
  }

  /// The last user handle is gone while the connection is kept open: read
  /// on, discarding, so the peer's end is seen and the socket closes, as an
  /// unreferenced Node socket does.
  void orphaned() {
    if (!self || destroyed || flowing || pending_read) return;
    if (!readable) {
      maybe_auto_destroy();
      return;
    }
    paused = false;
    start_flowing();
  }

  void send_fin() {
    fin_sent = true;
    if (fd >= 0) ::shutdown(fd, SHUT_WR);
    // "finish" and the end callbacks come next tick, as in Node.
    auto keep = this->shared_from_this();
    loop->post([keep] {
      if (keep->destroyed && keep->close_emitted) return;
      auto cbs = std::move(keep->end_callbacks);
      keep->events.template emit<"finish">();
      for (auto& cb : cbs) cb({});
      keep->maybe_auto_destroy();
    });
  }

  // Node's autoDestroy: both directions done.
  void maybe_auto_destroy() {
    if (!destroyed && !readable && fin_sent) destroy({});
  }

  void fail_later(write_callback cb, std::error_code ec) {
    if (!cb) return;
    loop->post([cb = std::move(cb), ec] { cb(ec); });
  }

  // --- destroying ----------------------------------------------------------------

  void destroy(std::optional<error> err) {
    if (destroyed) return;
    destroyed = true;
    readable = writable = false;
    flowing = false;
    close_fd();
    // Pending write callbacks learn the stream was destroyed.
    std::vector<write_callback> failed;
    for (std::size_t k = queue_head; k < queue.size(); ++k)
      if (queue[k].cb) failed.push_back(std::move(queue[k].cb));
    for (auto& cb : end_callbacks) failed.push_back(std::move(cb));
    end_callbacks.clear();
    queue.clear();
    queue_head = 0;
    queued_bytes = 0;
    auto keep = this->shared_from_this();
    // "error" then "close", next tick, as Node's destroy() emits them.
    loop->post([keep, err = std::move(err), failed = std::move(failed)]() mutable {
      const std::error_code ec = err ? err->code() : make_error_code(errc::err_stream_destroyed);
      for (auto& cb : failed) cb(ec);
      if (err && !keep->events.template emit<"error">(*err)) unhandled_error_event(*err);
      keep->close_emitted = true;
      keep->events.template emit<"close">(err.has_value());
      // Listeners often hold handles to this socket (c.pipe(c)): dropping
      // them here breaks the cycle, as Node's GC would.
      keep->events.remove_all_listeners();
      keep->self.reset();
    });
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
  basic_socket() = default;
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
  basic_socket& remove_all_listeners() {
    s_->events.remove_all_listeners();
    return *this;
  }
  /// socket.listenerCount(event).
  std::size_t listener_count(key name) const noexcept { return s_->events.listener_count(name); }

  // --- the event face's methods ------------------------------------------------------

  /// socket.write(data[, callback]): queues data (copied) and returns false
  /// once the queue reaches the high-water mark ("drain" follows when it
  /// empties). The callback runs when the data reached the kernel.
  bool write(std::span<const std::byte> data, write_callback cb) { return s_->write(data, std::move(cb)); }
  bool write(std::string_view text, write_callback cb) { return write(as_bytes(text), std::move(cb)); }
  /// socket.write(data) in the event style: the same as with a callback,
  /// without one. (Awaiting the result instead gives the awaitable write.)
  auto write(std::span<const std::byte> data) { return write_awaitable(s_, data); }
  auto write(std::string_view text) { return write(as_bytes(text)); }

  /// socket.end([data][, callback]): FIN after the queued writes; the
  /// callback runs on "finish". Awaitable too: `co_await s.end()`.
  auto end(std::span<const std::byte> data = {}, write_callback cb = {}) {
    if (s_) s_->end(data, std::move(cb));
    return ready_awaitable{};
  }
  auto end(std::string_view text, write_callback cb = {}) { return end(as_bytes(text), std::move(cb)); }

  /// socket.destroy([error]): closes now. With an error, "error" then
  /// "close"(true) follow; without, "close"(false). Reads and writes in
  /// flight resume with ERR_SOCKET_CLOSED.
  basic_socket& destroy(std::optional<error> err = std::nullopt) {
    if (s_) s_->destroy(std::move(err));
    return *this;
  }
  /// socket.destroySoon(): end(), then destroy once the writes are done.
  void destroy_soon() {
    if (!s_) return;
    if (s_->writable) {
      auto keep = s_;
      s_->end({}, [keep](std::error_code) { keep->destroy({}); });
    } else {
      s_->destroy({});
    }
  }
  /// socket.pause(): no "data" until resume(); the kernel then pushes back on the peer.
  basic_socket& pause() {
    if (s_) s_->pause();
    return *this;
  }
  /// socket.resume().
  basic_socket& resume() {
    if (s_ && !s_->destroyed) s_->start_flowing();
    return *this;
  }
  /// socket.isPaused().
  bool is_paused() const noexcept { return s_ && s_->paused; }

  /// readable.pipe(destination): every chunk goes to dest, with backpressure
  /// (a full dest pauses this socket until its "drain"); this socket's "end"
  /// ends dest. Returns dest. `c.pipe(c)` is the spec's echo.
  template <typename Dest>
  Dest& pipe(Dest& dest) {
    Dest d = dest;  // the listeners keep handles; they are dropped on "close"
    basic_socket self = *this;
    s_->events.template on<"data">([d, self](std::span<const std::byte> chunk) mutable {
      if (!d.write(chunk, write_callback{})) self.pause();
    });
    dest.internal_state()->events.template on<"drain">([self]() mutable { self.resume(); });
    s_->events.template on<"end">([d]() mutable { d.end(); });
    if (!s_->paused) s_->start_flowing();
    return dest;
  }

  /// socket.bufferSize (Node's writableLength): bytes queued, not yet in the kernel.
  std::size_t buffer_size() const noexcept { return s_ ? s_->queued_bytes : 0; }
  /// stream.writableHighWaterMark.
  std::size_t writable_high_water_mark() const noexcept { return s_ ? s_->high_water_mark : 0; }

  // --- the awaitable face ------------------------------------------------------------

  /// Resumes with the number of bytes read into buf, 0 at the end of the
  /// stream (the peer's FIN). Node's paused mode: pull, one read at a time.
  /// Throws net::error ("read ECONNRESET", ERR_SOCKET_CLOSED after destroy).
  auto read(std::span<std::byte> buf) { return read_awaitable(s_, buf); }

  // --- state and properties ------------------------------------------------------------

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
  friend bool operator==(const basic_socket& a, const basic_socket& b) noexcept { return a.s_ == b.s_; }

  /// For the server and the client side: adopt a connected descriptor.
  static basic_socket adopt(basic_loop<Backend>& loop, int fd, int domain) {
    basic_socket s;
    s.s_ = std::make_shared<state>();
    s.s_->loop = &loop;
    s.s_->fd = fd;
    s.s_->domain = domain;
    s.s_->handles = 1;
    return s;
  }
  const std::shared_ptr<state>& internal_state() const noexcept { return s_; }

 private:
  static std::span<const std::byte> as_bytes(std::string_view t) noexcept {
    return std::as_bytes(std::span(t.data(), t.size()));
  }

  void after_listener(std::size_t index) {
    static constexpr std::size_t data_index = key("data").index();
    s_->hold();
    if (index == data_index && !s_->paused && !s_->flowing) s_->start_flowing();
  }

  basic_socket& set_ref(bool r) noexcept {
    if (!s_ || s_->ref == r) return *this;
    s_->ref = r;
    s_->set_op_ref(s_->pending_read, r);
    s_->set_op_ref(s_->pending_write, r);
    s_->set_op_ref(&s_->flow_read, r);
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

  struct ready_awaitable {
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    void await_resume() const noexcept {}
  };

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
      s_->bytes_read += n;
      if (n == 0 && args.recv.len > 0) {
        s_->readable = false;
        s_->maybe_auto_destroy();  // both directions done: close, as Node's autoDestroy
      }
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
  /// Discarded without co_await (the event style's `s.write(data)`), it
  /// queues the data as write(data, callback) does.
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
      if (!awaited_ && s_) s_->write(data_, {});  // the event style: fire and forget
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
      awaited_ = true;
      if ((early_ = closed_error(s_))) return false;
      if (!s_->writable) {
        early_ = error(errc::err_stream_write_after_end);
        return false;
      }
      if (data_.empty()) return false;
      waiter_ = h;
      if (s_->pending_write || !s_->queue_empty() || s_->wop.in_flight()) {
        // Another write goes first: queue behind it (copied), in call order.
        queued_ = true;
        s_->write(data_, [this](std::error_code ec) {
          queued_error_ = ec;
          detail::resume(waiter_);
        });
        return true;
      }
      fd = s_->fd;
      counts_alive = true;
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
      if (early_) throw std::move(*early_);
      if (queued_) {
        if (queued_error_ == errc::err_stream_destroyed) throw error(errc::err_socket_closed);
        if (queued_error_) throw error::from_syscall("write", queued_error_);
        return;
      }
      if (s_ && s_->pending_write == this) s_->awaitable_write_done();
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
    bool awaited_ = false;
    bool queued_ = false;
    std::error_code queued_error_;
  };

  std::shared_ptr<state> s_;
};

using socket = basic_socket<auto_backend>;

NETXX_END_NAMESPACE
