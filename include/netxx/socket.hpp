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

/// Node's `onread` option: reads go into a buffer of the caller's (no
/// allocation, no "data" event) and each chunk goes to `callback(nread, buf)`;
/// returning false pauses the socket (resume() starts reading again).
struct onread_options {
  std::span<std::byte> buffer{};                                          // reused for every read
  std::function<std::span<std::byte>()> buffer_fn{};                      // or: asked for a buffer before each read
  std::function<bool(std::size_t nread, std::span<std::byte> buf)> callback{};
};

/// new net.Socket([options]).
/// With GCC 12, build the options in a variable when they carry a signal or an onread callback.
struct socket_options {
  int fd = -1;                      // wrap an open socket descriptor (TCP or Unix)
  bool allow_half_open = false;
  bool readable = true;             // with fd: false = never read from it
  bool writable = true;             // with fd: false = ended for writing from the start
  onread_options onread{};
  std::stop_token signal{};         // Node's AbortSignal: destroys the socket with ABORT_ERR
  bool no_delay = false;            // applied once connected
  bool keep_alive = false;          // applied once connected
  std::int64_t keep_alive_initial_delay = 0;
  const netxx::block_list* block_list = nullptr;  // outgoing: a blocked address fails with ERR_IP_BLOCKED
};

/// socket.connect(options) and net.connect(options). A TCP connection names
/// `port` (and `host`, default "localhost"); an IPC one names `path` (a
/// filesystem path, or "\0name" for a Linux abstract name). net::connect
/// also takes the socket's own options (the fields after `path`) and
/// `timeout`, as Node's net.connect does. String fields are views: they are
/// copied before connect() returns.
/// With GCC 12, build the options in a variable when they carry a lookup
/// function, a signal or an onread callback (see docs/architecture.md).
struct connect_options {
  std::optional<std::int64_t> port{};
  std::string_view host{};               // default "localhost"
  std::string_view local_address{};
  std::uint16_t local_port = 0;
  int family = 0;                        // 0, 4 or 6
  int hints = 0;                         // dns::addrconfig | dns::v4mapped | dns::all
  dns::lookup_function lookup{};         // replaces dns::lookup
  std::optional<bool> auto_select_family{};             // default: get_default_auto_select_family()
  std::optional<std::int64_t> auto_select_family_attempt_timeout{};  // ms, at least 10
  bool no_delay = false;
  bool keep_alive = false;
  std::int64_t keep_alive_initial_delay = 0;
  const netxx::block_list* block_list = nullptr;
  std::string_view path{};               // IPC
  // --- net.connect / net.createConnection only ---
  std::int64_t timeout = 0;              // socket.setTimeout(timeout) before connecting
  bool allow_half_open = false;
  int fd = -1;
  bool readable = true;
  bool writable = true;
  onread_options onread{};
  std::stop_token signal{};
};

namespace detail {
inline bool& auto_select_family_default() noexcept {
  static bool value = true;  // Node >= 20
  return value;
}
inline std::int64_t& auto_select_family_attempt_timeout_default() noexcept {
  static std::int64_t value = 250;
  return value;
}
}  // namespace detail

/// net.getDefaultAutoSelectFamily().
inline bool get_default_auto_select_family() noexcept { return detail::auto_select_family_default(); }
/// net.setDefaultAutoSelectFamily(value).
inline void set_default_auto_select_family(bool value) noexcept { detail::auto_select_family_default() = value; }
/// net.getDefaultAutoSelectFamilyAttemptTimeout().
inline std::int64_t get_default_auto_select_family_attempt_timeout() noexcept {
  return detail::auto_select_family_attempt_timeout_default();
}
/// net.setDefaultAutoSelectFamilyAttemptTimeout(value): at least 1 (else
/// ERR_OUT_OF_RANGE), raised to 10.
inline void set_default_auto_select_family_attempt_timeout(std::int64_t value) {
  if (value < 1 || value > 2147483647)
    throw error(errc::err_out_of_range, "The value of \"value\" is out of range. It must be >= 1 && <= 2147483647. Received " +
                                            std::to_string(value));
  detail::auto_select_family_attempt_timeout_default() = value < 10 ? 10 : value;
}

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
  bool in_write = false;    // inside write(): completions are reported next tick
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

  // --- flowing reads: one recv in flight, into a block of the pool ---------
  // (as co_await read() does): a socket waiting for bytes holds no buffer;
  // the block lives from the completion to the end of the "data" emission.
  // With onread, the caller's buffer instead.
  struct flow_read_op : io_op {
    socket_state* owner = nullptr;
  } flow_read;
  std::size_t stashed = 0;  // bytes read while pausing, delivered on resume
  buffer stashed_block;     // their block (none: they are in onread's buffer)
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
  // A read awaited while connecting waits here, not yet started.
  io_op* pending_read = nullptr;
  io_op* failed_read = nullptr;  // a parked read that destroy() fails next tick
  io_op* pending_write = nullptr;
  // What destroy(err) was given: awaiters rethrow it. Out of line: rarely
  // set, and a net::error is over 200 bytes of every socket otherwise.
  std::unique_ptr<error> destroy_error;

  // --- the client side -------------------------------------------------------------
  bool connecting = false;
  bool event_face = false;        // listeners were added: the open socket keeps itself, as Node's
  bool reset_on_destroy = false;  // resetAndDestroy(): an RST instead of a FIN
  bool no_delay_on_connect = false;
  bool keep_alive_on_connect = false;
  std::int64_t keep_alive_delay_ms = 0;
  const netxx::block_list* blocks = nullptr;
  std::uint64_t connect_gen = 0;  // a new connect() or destroy() makes late answers stale
  std::string host;               // the name being connected to (Node's _host)

  // One connection attempt: a descriptor of its own and the kernel's connect.
  struct attempt_op : io_op {
    std::shared_ptr<socket_state> st;
    std::uint64_t gen = 0;
    sockaddr_storage addr{};
    socklen_t addrlen = 0;
    std::string address;  // an IP, or the path of an IPC connect
    std::uint16_t port = 0;
    int family = 0;       // 4, 6, or 0 for a Unix path
    std::string local;    // "address:port" when bound to a local port
  };
  attempt_op* attempt = nullptr;

  // Happy Eyeballs (Node's internalConnectMultiple): the addresses to try in turn.
  struct attempt_timer_node : timer_node {
    socket_state* owner = nullptr;
  } attempt_timer;
  std::vector<dns::lookup_address> candidates;
  std::size_t next_candidate = 0;
  std::vector<error> attempt_errors;
  std::int64_t attempt_timeout = 250;
  std::string local_address;
  std::uint16_t port = 0, local_port = 0;
  bool multiple = false;
  std::optional<std::vector<std::string>> attempted_addresses;

  // The awaiter of `co_await socket.connect(...)`.
  std::coroutine_handle<> connect_waiter{};
  std::unique_ptr<error> connect_failure;

  // socket.setTimeout(): one heap entry per socket, re-armed lazily. Activity
  // only stamps last_active; the timer, when it fires early, sleeps the rest.
  struct idle_timer_node : timer_node {
    socket_state* owner = nullptr;
  } idle_timer;
  std::int64_t timeout_ms = 0;
  std::int64_t last_active = 0;
  std::optional<std::int64_t> timeout_property;  // Node's socket.timeout: as last given

  // socket.setEncoding(): "data" carries decoded text (its UTF-8 bytes),
  // never a character cut in two.
  std::optional<string_decoder> decoder;
  std::string decoded;

  // socket_options::onread
  onread_options onread;
  std::span<std::byte> onread_buf;

  // socket_options::signal
  std::optional<std::stop_callback<std::function<void()>>> abort_cb;

  socket_state() {
    flow_read.owner = this;
    flow_read.code = op_code::recv;
    flow_read.complete = &on_flow_read;
    wop.owner = this;
    wop.code = op_code::sendmsg;
    wop.complete = &on_write;
    attempt_timer.owner = this;
    attempt_timer.fire = &on_attempt_timeout;
    attempt_timer.ref = false;  // the connect in flight keeps the loop alive
    idle_timer.owner = this;
    idle_timer.fire = &on_idle_timer;
    idle_timer.ref = false;  // Node's socket timeout is an unref'd timer
  }
  ~socket_state() {
    if (loop) {
      loop->core().disarm_timer(attempt_timer);
      loop->core().disarm_timer(idle_timer);
      // Never reached through destroy() (release_self waits for these); kept
      // so a completion can never call into freed memory.
      if (flow_read.in_flight()) loop->abandon(flow_read);
      if (wop.in_flight()) loop->abandon(wop);
    }
    if (flow_read.code == op_code::recv_pooled) block_pool::give(static_cast<std::byte*>(flow_read.args.recv.buf));
    close_fd();
  }

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
    if (!self && (fd >= 0 || connecting) && !destroyed) self = this->shared_from_this();
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
      const buffer block = std::move(stashed_block);
      emit_data(n, block.data());
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
    // Synchronous completions (epoll's optimistic read) are handled in a loop
    // here rather than by recursion.
    do {
      flow_read.fd = fd;
      flow_read.counts_alive = ref;
      if (onread.callback) {  // the caller's buffer
        if (onread_buf.empty()) return;
        flow_read.code = op_code::recv;
        flow_read.args.recv = {onread_buf.data(), onread_buf.size(), 0};
      } else {  // the backend takes a block when bytes are there
        flow_read.code = op_code::recv_pooled;
        flow_read.args.recv = {nullptr, block_pool::block_size, 0};
      }
      if (!loop->start(flow_read)) return;
    } while (handle_read(flow_read.result) && flowing && open() && readable);
  }

  static void on_flow_read(io_op* op, int res) noexcept {
    auto* st = static_cast<flow_read_op*>(op)->owner;
    auto keep = st->shared_from_this();
    if (st->handle_read(res) && st->flowing && st->open()) st->arm_read();
    if (st->destroyed && st->close_emitted) st->release_self();
  }

  /// Drops the self-reference of a closed socket, but not while the kernel
  /// still holds one of its operations (io_uring completes a cancelled recv
  /// later, and may still write into its buffer until then): that
  /// completion releases it instead.
  void release_self() noexcept {
    if (flow_read.in_flight() || wop.in_flight()) return;
    self.reset();
  }

  // True when reading may go on.
  bool handle_read(int res) {
    // The block the backend read into (pooled reads; a fallback block may be
    // there even when nothing was read).
    buffer block = buffer::adopt(flow_read.code == op_code::recv_pooled
                                     ? static_cast<std::byte*>(std::exchange(flow_read.args.recv.buf, nullptr))
                                     : nullptr,
                                 res > 0 ? static_cast<std::size_t>(res) : 0);
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
      stashed_block = std::move(block);
      return false;
    }
    emit_data(static_cast<std::size_t>(res), block.data());
    return true;
  }

  // n bytes, in `block` (pooled) or in onread's buffer.
  void emit_data(std::size_t n, const std::byte* block) {
    bytes_read += n;
    touch();
    if (onread.callback) {
      // Node: callback(nread, buf); `false` pauses. A buffer function is asked for the next buffer.
      const bool go = onread.callback(n, onread_buf);
      if (onread.buffer_fn) onread_buf = onread.buffer_fn();
      if (!go) pause();
      return;
    }
    const std::span<const std::byte> chunk(block, n);
    if (decoder) {
      decoded.clear();
      decoder->write_to(decoded, chunk);
      if (!decoded.empty()) events.template emit<"data">(std::as_bytes(std::span(decoded.data(), decoded.size())));
      return;
    }
    events.template emit<"data">(chunk);
  }

  void on_eof() {
    readable = false;
    auto keep = this->shared_from_this();
    if (decoder) {  // what the decoder held back (an incomplete character) comes out now
      decoded.clear();
      decoder->end_to(decoded);
      if (!decoded.empty()) events.template emit<"data">(std::as_bytes(std::span(decoded.data(), decoded.size())));
      if (destroyed) return;
    }
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
    touch();
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
    // Node decides what write() returns before the bytes go out (they count
    // as buffered until the kernel has them): a write of the high-water mark
    // or more returns false, and "drain" follows, even when the kernel takes
    // all of it at once.
    const bool below = queued_bytes + data.size() < high_water_mark;
    if (!below) need_drain = true;
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
      if (sent == data.size()) {
        if (!below) after_queue_drained();
        return below;
      }
    }
    chunk c;
    c.data.assign(data.begin() + static_cast<std::ptrdiff_t>(sent), data.end());
    c.cb = std::move(cb);
    queued_bytes += c.data.size();
    queue.push_back(std::move(c));
    if (!wop.in_flight() && !pending_write) {
      in_write = true;  // callbacks of what goes out now run next tick, as in Node
      send_queue();
      in_write = false;
    }
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
    if (st->destroyed && st->close_emitted) st->release_self();
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
    touch();
    queued_bytes -= left;
    while (left > 0 && !queue_empty()) {
      chunk& c = queue_front();
      const std::size_t take = std::min(left, c.data.size() - c.offset);
      c.offset += take;
      left -= take;
      if (c.offset == c.data.size()) {
        auto cb = std::move(c.cb);
        queue_pop();
        if (cb && in_write)
          loop->post([cb = std::move(cb)] { cb({}); });  // never from inside write(), as in Node
        else if (cb)
          cb({});
      }
    }
    return !destroyed;
  }

  void after_queue_drained() {
    if (destroyed || !queue_empty() || wop.in_flight() || pending_write) return;
    if (std::exchange(need_drain, false)) {
      // Next tick, as Node's afterWrite: the queue may have drained inside
      // write() itself, before its caller could listen for "drain".
      auto keep = this->shared_from_this();
      loop->post([keep] {
        if (!keep->destroyed) keep->events.template emit<"drain">();
      });
    }
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
    if (queue_empty() && !wop.in_flight() && !pending_write && !connecting) send_fin();
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
    if (connecting) return;  // sent once connected
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

  // --- idle timeout (socket.setTimeout) ---------------------------------------------------

  /// Activity: stamps the time; the armed timer finds out when it fires.
  void touch() noexcept {
    if (timeout_ms <= 0) return;
    last_active = loop->now();
    if (!idle_timer.armed()) loop->core().arm_timer(idle_timer, timeout_ms);
  }

  void set_timeout(std::int64_t ms) {
    loop->core().disarm_timer(idle_timer);
    timeout_ms = ms;
    if (ms <= 0 || destroyed) return;
    last_active = loop->now();
    loop->core().arm_timer(idle_timer, ms);
  }

  static void on_idle_timer(timer_node* t) noexcept {
    auto* st = static_cast<idle_timer_node*>(t)->owner;
    if (st->timeout_ms <= 0 || st->destroyed) return;
    const std::int64_t idle = st->loop->now() - st->last_active;
    if (idle < st->timeout_ms) {  // there was activity: sleep the rest
      st->loop->core().arm_timer(st->idle_timer, st->timeout_ms - idle);
      return;
    }
    auto keep = st->shared_from_this();
    st->events.template emit<"timeout">();  // only an event: nothing is closed
  }

  // --- connecting (Node's lookupAndConnect, internalConnect, internalConnectMultiple) ------

  /// Node's _undestroy(): a socket connects again after "close".
  void reopen() {
    destroyed = false;
    close_emitted = false;
    readable = writable = true;
    fin_sent = false;
    flowing = false;
    need_drain = false;
    stashed = 0;
    stashed_block.reset();
    stashed_eof = false;
    reset_on_destroy = false;
    destroy_error.reset();
    connect_failure.reset();
    attempted_addresses.reset();
  }

  /// The answer of the lookup (dns::lookup or the user's `lookup`).
  void after_lookup(std::uint64_t gen, std::optional<error> err, std::vector<dns::lookup_address> addrs, bool all) {
    if (gen != connect_gen || !connecting) return;  // destroyed or reconnected meanwhile
    auto keep = this->shared_from_this();
    if (!err && addrs.empty()) err = error(errc::enotfound, "getaddrinfo ENOTFOUND " + host);
    if (err) {
      events.template emit<"lookup">(err->code(), std::string_view(), 0, std::string_view(host));
      if (connecting && gen == connect_gen) fail_connect_later(std::move(*err));
      return;
    }
    if (!all) {
      const auto& a = addrs.front();
      events.template emit<"lookup">(std::error_code(), std::string_view(a.address), a.family, std::string_view(host));
      if (!connecting || gen != connect_gen) return;
      if (auto bad = check_address(a)) return fail_connect_later(std::move(*bad));
      connect_to(a.address, a.family);
      return;
    }
    // Happy Eyeballs: keep IPv4 and IPv6 addresses, each once; the family of
    // the first one goes first, then the families alternate.
    std::vector<dns::lookup_address> groups[2];
    int first_family = 0;
    for (const auto& a : addrs) {
      events.template emit<"lookup">(std::error_code(), std::string_view(a.address), a.family, std::string_view(host));
      if (!connecting || gen != connect_gen) return;
      if (is_ip(a.address) == 0 || (a.family != 4 && a.family != 6)) continue;
      if (first_family == 0) first_family = a.family;
      auto& g = groups[a.family == first_family ? 0 : 1];
      if (std::none_of(g.begin(), g.end(), [&](const auto& x) { return x.address == a.address; })) g.push_back(a);
    }
    if (groups[0].empty() && groups[1].empty()) {
      if (auto bad = check_address(addrs.front())) fail_connect_later(std::move(*bad));
      return;
    }
    std::vector<dns::lookup_address> order;
    for (std::size_t i = 0; i < std::max(groups[0].size(), groups[1].size()); ++i) {
      if (i < groups[0].size()) order.push_back(groups[0][i]);
      if (i < groups[1].size()) order.push_back(groups[1][i]);
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
    connect_next();
  }

  std::optional<error> check_address(const dns::lookup_address& a) const {
    if (is_ip(a.address) == 0) return error(errc::err_invalid_ip_address, "Invalid IP address: " + a.address);
    if (a.family != 4 && a.family != 6)
      return error(errc::err_invalid_addrtype, "Invalid address family: " + std::to_string(a.family) + " " + host +
                                                   ":" + std::to_string(port));
    return std::nullopt;
  }

  /// Node's connectErrorNT: the error is reported next tick.
  void fail_connect_later(error e) {
    auto keep = this->shared_from_this();
    loop->post([keep, gen = connect_gen, e = std::move(e)]() mutable {
      if (keep->connecting && keep->connect_gen == gen) keep->destroy(std::move(e));
    });
  }

  /// A new descriptor for an attempt, bound when a local address or port is
  /// asked for. Fails with Node's "bind ..." or a socket() error.
  std::unique_ptr<attempt_op> make_attempt(std::string_view address, int fam, std::optional<error>& failure) {
    auto a = std::make_unique<attempt_op>();
    a->st = this->shared_from_this();
    a->gen = connect_gen;
    a->address = std::string(address);
    a->port = fam == 0 ? 0 : port;
    a->family = fam;
    const int af = fam == 4 ? AF_INET : fam == 6 ? AF_INET6 : AF_UNIX;
    if (fam == 0) {
      int err = 0;
      if (auto len = to_unix_sockaddr(address, a->addr, err)) {
        a->addrlen = *len;
      } else {
        // libuv refuses a path that does not fit with EINVAL, and so does Node.
        failure = error::from_syscall("connect", errno_code(EINVAL), address);
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
    if (fam != 0 && (!local_address.empty() || local_port != 0)) {
      std::string local = local_address.empty() ? std::string(fam == 4 ? "0.0.0.0" : "::") : local_address;
      sockaddr_storage ss{};
      int r = -EINVAL;
      if (auto len = to_ip_sockaddr(local, local_port, fam, ss))
        r = ::bind(a->fd, reinterpret_cast<sockaddr*>(&ss), *len) == 0 ? 0 : -errno;
      if (r != 0) {
        ::close(a->fd);  // never seen by the loop
        failure = error::from_syscall("bind", errno_code(-r), local, local_port);
        return nullptr;
      }
      a->local = local + ":" + std::to_string(local_port);
    }
    return a;
  }

  /// Starts the kernel's connect; false when it already completed (and was handled).
  bool launch(std::unique_ptr<attempt_op> owned) {
    attempt_op* a = owned.release();
    attempt = a;
    a->code = op_code::connect;
    a->complete = &on_attempt_complete;
    a->counts_alive = ref;
    a->args.connect = {reinterpret_cast<const sockaddr*>(&a->addr), a->addrlen};
    if (loop->start(*a)) {
      on_attempt_complete(a, a->result);
      return false;
    }
    return true;
  }

  /// Node's internalConnect: one address (or an IPC path), no fallback.
  void connect_to(const std::string& address, int fam) {
    auto keep = this->shared_from_this();
    multiple = false;
    std::optional<error> failure;
    auto a = make_attempt(address, fam, failure);
    if (!a) return destroy(std::move(failure));
    events.template emit<"connectionAttempt">(std::string_view(address), fam == 0 ? std::uint16_t{0} : port, fam);
    if (destroyed || a->gen != connect_gen) return ::close(a->fd), void();
    if (fam != 0 && blocks && blocks->check(address, fam == 4 ? family::ipv4 : family::ipv6)) {
      ::close(a->fd);
      return destroy(error(errc::err_ip_blocked, "IP(" + address + ") is blocked by net.BlockList"));
    }
    launch(std::move(a));
  }

  /// Node's internalConnectMultiple: the next address, with the attempt timeout.
  void connect_next() {
    loop->core().disarm_timer(attempt_timer);
    if (destroyed || !connecting) return;
    if (next_candidate == candidates.size()) {
      if (attempt_errors.empty())
        destroy(error(errc::err_socket_connection_timeout));
      else
        destroy(error::aggregate(std::move(attempt_errors)));
      return;
    }
    auto keep = this->shared_from_this();
    const std::size_t current = next_candidate++;
    const auto cand = candidates[current];
    std::optional<error> failure;
    auto saved_local = std::exchange(local_address, std::string());  // Node binds only the local port here
    auto a = make_attempt(cand.address, cand.family, failure);
    local_address = std::move(saved_local);
    if (!a) {
      attempt_errors.push_back(std::move(*failure));
      return connect_next();
    }
    if (blocks && blocks->check(cand.address, cand.family == 4 ? family::ipv4 : family::ipv6)) {
      ::close(a->fd);
      error e(errc::err_ip_blocked, "IP(" + cand.address + ") is blocked by net.BlockList");
      attempt_errors.push_back(e);
      events.template emit<"connectionAttemptFailed">(std::string_view(cand.address), port, cand.family, e);
      return connect_next();
    }
    events.template emit<"connectionAttempt">(std::string_view(cand.address), port, cand.family);
    if (destroyed || !connecting) return ::close(a->fd), void();
    attempted_addresses->push_back(cand.address + ":" + std::to_string(port));
    if (launch(std::move(a)) && current + 1 < candidates.size() && attempt && connecting)
      loop->core().arm_timer(attempt_timer, attempt_timeout);
  }

  static void on_attempt_timeout(timer_node* t) noexcept {
    auto* st = static_cast<attempt_timer_node*>(t)->owner;
    attempt_op* a = st->attempt;
    if (!a || !st->connecting) return;
    auto keep = st->shared_from_this();
    st->events.template emit<"connectionAttemptTimeout">(std::string_view(a->address), a->port, a->family);
    if (st->attempt != a) return;  // a listener destroyed the socket
    st->attempt_errors.push_back(error::from_syscall("connect", errno_code(ETIMEDOUT), a->address, a->port, a->local));
    st->attempt = nullptr;
    st->loop->cancel(a->id);  // its completion closes the descriptor
    if (st->connecting) st->connect_next();
  }

  static void on_attempt_complete(io_op* op, int res) noexcept {
    std::unique_ptr<attempt_op> a(static_cast<attempt_op*>(op));
    auto st = std::move(a->st);
    st->attempt_done(std::move(a), res);
  }

  void attempt_done(std::unique_ptr<attempt_op> a, int res) {
    const bool current = attempt == a.get();
    if (current) attempt = nullptr;
    if (!current || a->gen != connect_gen || destroyed || !connecting) {
      // Timed out, destroyed, or superseded: this descriptor is not ours any more.
      loop->close_idle(a->fd);
      return;
    }
    loop->core().disarm_timer(attempt_timer);
    if (res == 0) return connected(a->fd, a->family == 4 ? AF_INET : a->family == 6 ? AF_INET6 : AF_UNIX);
    auto e = a->family == 0 ? error::from_syscall("connect", errno_code(-res), a->address)
                            : error::from_syscall("connect", errno_code(-res), a->address, a->port, a->local);
    loop->close_idle(a->fd);
    auto keep = this->shared_from_this();
    events.template emit<"connectionAttemptFailed">(std::string_view(a->address), a->port, a->family, e);
    if (destroyed || !connecting) return;
    if (!multiple) return destroy(std::move(e));
    attempt_errors.push_back(std::move(e));
    connect_next();
  }

  /// Node's afterConnect with status 0.
  void connected(int new_fd, int dom) {
    auto keep = this->shared_from_this();
    fd = new_fd;
    domain = dom;
    connecting = false;
    if (event_face) hold();
    if (dom != AF_UNIX) {
      if (no_delay_on_connect) set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1);
      if (keep_alive_on_connect) set_keep_alive(fd, true, keep_alive_delay_ms);
    }
    touch();
    if (reset_on_destroy) return destroy({});  // resetAndDestroy() while connecting
    events.template emit<"connect">();
    if (destroyed) return;
    events.template emit<"ready">();
    if (destroyed) return;
    // What was written or ended while connecting goes now.
    if (!queue_empty())
      send_queue();
    else
      after_queue_drained();
    if (destroyed) return;
    if (pending_read && !pending_read->in_flight()) start_parked_read();
    if ((flowing || onread.callback || events.listener_count("data") > 0) && !paused) {
      flowing = true;
      arm_read();
    }
    if (auto w = std::exchange(connect_waiter, {})) detail::resume(w);
  }

  /// A read awaited while connecting starts once connected.
  void start_parked_read() {
    io_op* op = pending_read;
    op->fd = fd;
    op->counts_alive = ref;
    if (loop->start(*op)) op->complete(op, op->result);
  }

  // --- destroying ----------------------------------------------------------------

  void destroy(std::optional<error> err) {
    if (destroyed) return;
    destroyed = true;
    readable = writable = false;
    flowing = false;
    // A connect in flight stops; a lookup still out is ignored when it answers.
    ++connect_gen;
    connecting = false;
    loop->core().disarm_timer(attempt_timer);
    loop->core().disarm_timer(idle_timer);
    if (auto* a = std::exchange(attempt, nullptr)) loop->cancel(a->id);  // its completion closes its descriptor
    if (err)
      destroy_error = std::make_unique<error>(*err);
    else
      destroy_error.reset();
    if (reset_on_destroy && fd >= 0) {
      // resetAndDestroy(): SO_LINGER with a zero timeout makes close() send an RST.
      const linger l{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close_fd();
    abort_cb.reset();
    // A read awaited while connecting was never started: it fails now.
    if (pending_read && !pending_read->in_flight()) {
      // Failed next tick, if its frame is still there then (the read
      // awaiter's destructor clears failed_read).
      failed_read = std::exchange(pending_read, nullptr);
      failed_read->result = -ECANCELED;
      auto keep = this->shared_from_this();
      loop->post([keep] {
        if (io_op* op = std::exchange(keep->failed_read, nullptr)) op->complete(op, -ECANCELED);
      });
    }
    const bool awaited = static_cast<bool>(connect_waiter);
    if (awaited)
      connect_failure = std::make_unique<error>(err ? *err : error(errc::err_socket_closed_before_connection));
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
    loop->post([keep, err = std::move(err), failed = std::move(failed), awaited]() mutable {
      const std::error_code ec = err ? err->code() : make_error_code(errc::err_stream_destroyed);
      for (auto& cb : failed) cb(ec);
      // An "error" nobody listens to is fatal, as in Node, unless a
      // `co_await connect()` takes it instead.
      if (err && !keep->events.template emit<"error">(*err) && !awaited) unhandled_error_event(*err);
      keep->close_emitted = true;
      keep->events.template emit<"close">(err.has_value());
      if (!keep->destroyed || keep->connecting) {
        // A "close" listener connected again (Node's reconnect pattern): keep the listeners.
      } else {
        // Listeners often hold handles to this socket (c.pipe(c)): dropping
        // them here breaks the cycle, as Node's GC would.
        keep->events.remove_all_listeners();
        keep->release_self();
      }
      if (auto w = std::exchange(keep->connect_waiter, {})) detail::resume(w);
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
  /// What `socket.connect(...)` returns: awaiting it waits for the outcome.
  class connect_awaitable {
   public:
    explicit connect_awaitable(std::shared_ptr<state> s) : s_(std::move(s)) {}
    bool await_ready() const noexcept { return !s_->connecting; }
    void await_suspend(std::coroutine_handle<> h) noexcept { s_->connect_waiter = h; }
    void await_resume() {
      if (s_->connect_failure) {
        const auto failure = std::exchange(s_->connect_failure, nullptr);
        throw *failure;
      }
      if (s_->destroyed || s_->fd < 0) {
        if (s_->destroy_error) throw *s_->destroy_error;
        throw error(errc::err_socket_closed_before_connection);
      }
    }

   private:
    std::shared_ptr<state> s_;
  };

  /// new net.Socket(): a socket on this thread's loop, not yet connected.
  basic_socket() : basic_socket(socket_options{}) {}
  /// new net.Socket(options), on `loop` (default: this thread's).
  /// Throws ERR_INVALID_FD_TYPE when `fd` is not a stream socket.
  explicit basic_socket(const socket_options& o, basic_loop<Backend>& loop = basic_loop<Backend>::current())
      : s_(std::allocate_shared<state>(detail::recycling_allocator<state>{})) {
    auto& st = *s_;
    st.loop = &loop;
    st.handles = 1;
    st.allow_half_open = o.allow_half_open;
    st.no_delay_on_connect = o.no_delay;
    st.keep_alive_on_connect = o.keep_alive;
    st.keep_alive_delay_ms = o.keep_alive_initial_delay < 0 ? 0 : o.keep_alive_initial_delay;
    st.blocks = o.block_list;
    if (o.onread.callback && (!o.onread.buffer.empty() || o.onread.buffer_fn)) {
      st.onread = o.onread;
      st.onread_buf = o.onread.buffer_fn ? o.onread.buffer_fn() : o.onread.buffer;
    }
    if (o.fd >= 0) adopt_fd(o.fd, o.readable, o.writable);
    if (o.signal.stop_possible()) {
      std::weak_ptr<state> weak = s_;
      auto* lp = &loop;
      st.abort_cb.emplace(o.signal, std::function<void()>([weak, lp] {
        lp->post([weak] {
          if (auto s = weak.lock()) s->destroy(error(errc::abort_err));
        });
      }));
    }
  }
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

  /// socket.write(data, encoding[, callback]): the string is encoded as
  /// Buffer.from(data, encoding) would (utf8, utf16le, latin1, ascii, hex,
  /// base64, base64url).
  bool write(std::string_view text, encoding enc, write_callback cb = {}) {
    if (enc == encoding::utf8) return write(as_bytes(text), std::move(cb));
    return write(std::span<const std::byte>(encode(text, enc)), std::move(cb));
  }
  /// socket.write(data, encodingName[, callback]): ERR_UNKNOWN_ENCODING for a name Node does not know.
  bool write(std::string_view text, std::string_view enc, write_callback cb = {}) {
    return write(text, enc.empty() ? encoding::utf8 : encoding_from(enc), std::move(cb));
  }
  /// socket.end(data, encoding[, callback]).
  auto end(std::string_view text, encoding enc, write_callback cb = {}) {
    if (enc == encoding::utf8) return end(as_bytes(text), std::move(cb));
    const auto data = encode(text, enc);
    return end(std::span<const std::byte>(data), std::move(cb));
  }

  /// socket.setEncoding([encoding]): "data" then carries the decoded text as
  /// its UTF-8 bytes (view them as a std::string_view: that is Node's string),
  /// a multi-byte character never split across two events. Awaited reads
  /// stay raw bytes.
  basic_socket& set_encoding(encoding enc = encoding::utf8) {
    s_->decoder.emplace(enc);
    return *this;
  }
  /// socket.setEncoding(name): ERR_UNKNOWN_ENCODING for a name Node does not know.
  basic_socket& set_encoding(std::string_view name) {
    return set_encoding(name.empty() ? encoding::utf8 : encoding_from(name));
  }
  /// stream.readableEncoding: the encoding set_encoding() chose, if any.
  std::optional<encoding> readable_encoding() const {
    if (!s_ || !s_->decoder) return std::nullopt;
    return s_->decoder->get_encoding();
  }

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
  connect_awaitable connect(const connect_options& o) {
    start_connect(o);
    return connect_awaitable(s_);
  }
  /// socket.connect(options, connectListener).
  template <typename F>
    requires std::is_invocable_v<F&>
  basic_socket& connect(const connect_options& o, F&& listener) {
    s_->events.template once<"connect">(std::forward<F>(listener));
    s_->event_face = true;
    start_connect(o);
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
  std::optional<std::vector<std::string>> auto_select_family_attempted_addresses() const {
    if (!s_) return std::nullopt;
    return s_->attempted_addresses;
  }

  /// socket.setTimeout(timeout[, callback]): "timeout" after `ms` of
  /// inactivity (nothing is closed: the listener decides); 0 disables it.
  /// A negative value is ERR_OUT_OF_RANGE, as in Node.
  basic_socket& set_timeout(std::int64_t ms) {
    if (ms < 0)
      throw error(errc::err_out_of_range,
                  "The value of \"msecs\" is out of range. It must be a non-negative finite number. Received " +
                      std::to_string(ms));
    if (!s_ || s_->destroyed) return *this;
    s_->timeout_property = ms;
    s_->set_timeout(ms > 2147483647 ? 1 : ms);  // Node's TIMEOUT_MAX rule
    return *this;
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  basic_socket& set_timeout(std::int64_t ms, F&& listener) {
    set_timeout(ms);
    if (s_ && !s_->destroyed && ms > 0) s_->events.template once<"timeout">(std::forward<F>(listener));
    return *this;
  }
  /// Node's socket.timeout: what setTimeout() was last given (nullopt before).
  std::optional<std::int64_t> timeout() const noexcept {
    return s_ ? s_->timeout_property : std::nullopt;
  }

  /// socket.resetAndDestroy(): closes with an RST (the peer reads ECONNRESET).
  /// While connecting, the RST goes once connected. On a Unix socket:
  /// ERR_INVALID_HANDLE_TYPE; with no connection: destroy(ERR_SOCKET_CLOSED).
  basic_socket& reset_and_destroy() {
    if (!s_) return *this;
    if (s_->fd < 0 && !s_->connecting) {
      s_->destroy(error(errc::err_socket_closed));
      return *this;
    }
    if (s_->domain == AF_UNIX && !s_->connecting) throw error(errc::err_invalid_handle_type);
    if (s_->connecting && s_->host.find('/') != std::string::npos && s_->port == 0 && !s_->multiple)
      throw error(errc::err_invalid_handle_type);
    s_->reset_on_destroy = true;
    if (!s_->connecting) s_->destroy({});
    return *this;
  }

  // --- state and properties ------------------------------------------------------------

  /// Node's socket.destroyed.
  bool destroyed() const noexcept { return !s_ || s_->destroyed; }
  /// Node's socket.bytesRead.
  std::uint64_t bytes_read() const noexcept { return s_ ? s_->bytes_read : 0; }
  /// Node's socket.bytesWritten.
  std::uint64_t bytes_written() const noexcept { return s_ ? s_->bytes_written : 0; }

  /// Node's socket.readyState.
  ready_state get_ready_state() const noexcept {
    if (!s_) return ready_state::closed;
    if (s_->connecting) return ready_state::opening;
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
    basic_socket s(adopt_tag{});
    s.s_ = std::allocate_shared<state>(detail::recycling_allocator<state>{});
    s.s_->loop = &loop;
    s.s_->fd = fd;
    s.s_->domain = domain;
    s.s_->handles = 1;
    return s;
  }
  const std::shared_ptr<state>& internal_state() const noexcept { return s_; }

 private:
  struct adopt_tag {};
  explicit basic_socket(adopt_tag) noexcept {}

  // socket_options::fd: Node's createHandle + open(fd).
  void adopt_fd(int fd, bool readable, bool writable) {
    struct stat sb {};
    if (::fstat(fd, &sb) != 0) throw error::from_syscall("open", errno_code(errno));
    int type = 0;
    socklen_t len = sizeof type;
    if (!S_ISSOCK(sb.st_mode) || ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
      const char* kind = S_ISREG(sb.st_mode) ? "FILE" : S_ISFIFO(sb.st_mode) ? "PIPE" : S_ISCHR(sb.st_mode) ? "TTY"
                       : S_ISSOCK(sb.st_mode) && type == SOCK_DGRAM ? "UDP" : "UNKNOWN";
      throw error(errc::err_invalid_fd_type, std::string("Unsupported fd type: ") + kind);
    }
    int dom = AF_UNIX;
    len = sizeof dom;
    ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len);
    const int fl = ::fcntl(fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK)) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    s_->fd = fd;
    s_->domain = dom;
    s_->readable = readable;
    s_->writable = writable;
    if (s_->onread.callback && readable) s_->start_flowing();
  }

  void start_connect(const connect_options& o) {
    auto& st = *s_;
    if (o.path.empty() && !o.port)
      throw error(errc::err_missing_args, "The \"options\" or \"port\" or \"path\" argument must be specified");
    const bool ipc = !o.path.empty();
    std::string host = ipc ? std::string(o.path) : o.host.empty() ? std::string("localhost") : std::string(o.host);
    std::int64_t timeout = get_default_auto_select_family_attempt_timeout();
    if (!ipc) {
      if (!o.local_address.empty() && is_ip(o.local_address) == 0)
        throw error(errc::err_invalid_ip_address, "Invalid IP address: " + std::string(o.local_address));
      if (*o.port < 0 || *o.port > 65535)
        throw error(errc::err_socket_bad_port,
                    "Port should be >= 0 and < 65536. Received type number (" + std::to_string(*o.port) + ").");
      if (o.auto_select_family_attempt_timeout) {
        timeout = *o.auto_select_family_attempt_timeout;
        if (timeout < 1 || timeout > 2147483647)
          throw error(errc::err_out_of_range,
                      "The value of \"options.autoSelectFamilyAttemptTimeout\" is out of range. It must be >= 1 && <= "
                      "2147483647. Received " + std::to_string(timeout));
        if (timeout < 10) timeout = 10;
      }
      if (is_ip(host) == 0 && o.family != 0 && o.family != 4 && o.family != 6)
        throw error(errc::err_invalid_arg_value,
                    "The property 'options.family' must be one of: 0, 4, 6. Received " + std::to_string(o.family));
    }
    if (st.connecting || (st.fd >= 0 && !st.destroyed)) {
      // Node lets the handle fail: connect on a connected (or connecting) socket.
      st.destroy(error::from_syscall("connect", errno_code(st.connecting ? EALREADY : EISCONN), host,
                                     ipc ? std::nullopt : std::optional<std::uint16_t>(static_cast<std::uint16_t>(*o.port))));
      return;
    }
    if (st.destroyed) st.reopen();
    const std::uint64_t gen = ++st.connect_gen;
    st.connecting = true;
    st.multiple = false;
    st.attempted_addresses.reset();
    st.host = host;
    if (o.no_delay) st.no_delay_on_connect = true;
    if (o.keep_alive) {
      st.keep_alive_on_connect = true;
      st.keep_alive_delay_ms = o.keep_alive_initial_delay < 0 ? 0 : o.keep_alive_initial_delay;
    }
    if (o.block_list) st.blocks = o.block_list;
    if (st.event_face) st.hold();
    st.touch();
    auto keep = s_;
    if (ipc) {
      st.port = 0;
      st.local_address.clear();
      st.local_port = 0;
      st.loop->post([keep, gen] {
        if (keep->connecting && keep->connect_gen == gen) keep->connect_to(keep->host, 0);
      });
      return;
    }
    st.port = static_cast<std::uint16_t>(*o.port);
    st.local_address = std::string(o.local_address);
    st.local_port = o.local_port;
    st.attempt_timeout = timeout;
    if (const int fam = is_ip(host)) {  // an IP: no lookup
      st.loop->post([keep, gen, fam] {
        if (keep->connecting && keep->connect_gen == gen) keep->connect_to(keep->host, fam);
      });
      return;
    }
    dns::lookup_options dopts{.family = o.family, .hints = o.hints};
    if (dopts.family != 4 && dopts.family != 6 && dopts.hints == 0) dopts.hints = dns::addrconfig;
    const bool all = dopts.family != 4 && dopts.family != 6 && o.local_address.empty() &&
                     o.auto_select_family.value_or(get_default_auto_select_family());
    dopts.all = all;
    auto answer = [keep, gen, all](std::optional<error> err, std::vector<dns::lookup_address> addrs) {
      keep->after_lookup(gen, std::move(err), std::move(addrs), all);
    };
    if (o.lookup) {
      // Called next tick, so even a lookup that answers at once finds the
      // listeners attached right after connect() returned.
      st.loop->post([keep, gen, dopts, fn = o.lookup, answer = std::move(answer)]() mutable {
        if (keep->connecting && keep->connect_gen == gen) fn(keep->host, dopts, dns::lookup_callback(std::move(answer)));
      });
    } else {
      dns::lookup(*st.loop, st.host, dopts, std::move(answer));
    }
  }

  static std::span<const std::byte> as_bytes(std::string_view t) noexcept {
    return std::as_bytes(std::span(t.data(), t.size()));
  }

  void after_listener(std::size_t index) {
    static constexpr std::size_t data_index = key("data").index();
    s_->event_face = true;
    s_->hold();
    if (index == data_index && !s_->paused && !s_->flowing) s_->start_flowing();
  }

  basic_socket& set_ref(bool r) noexcept {
    if (!s_ || s_->ref == r) return *this;
    s_->ref = r;
    s_->set_op_ref(s_->pending_read, r);
    s_->set_op_ref(s_->pending_write, r);
    s_->set_op_ref(&s_->flow_read, r);
    s_->set_op_ref(s_->attempt, r);
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
  // A code, not an error: it sits in every awaiter (in the coroutine frame),
  // and a net::error with its strings is over 200 bytes.
  static std::optional<errc> closed_error(const std::shared_ptr<state>& s) {
    if (!s || s->destroyed || (s->fd < 0 && !s->connecting)) return errc::err_socket_closed;
    return std::nullopt;
  }
  // What an operation cut short by destroy() throws: destroy's error if it had one.
  static error cut_short(const std::shared_ptr<state>& s) {
    if (s && s->destroy_error) return *s->destroy_error;
    return error(errc::err_socket_closed);
  }

  /// One recv. The op lives here, in the awaiting frame. Pooled: into a
  /// block of the pool that the backend takes once bytes are there, handed
  /// to the caller as a net::buffer.
  template <bool Pooled>
  class basic_read_awaitable : public detail::io_op {
   public:
    basic_read_awaitable(std::shared_ptr<state> s, std::span<std::byte> buf) : s_(std::move(s)) {
      code = Pooled ? detail::op_code::recv_pooled : detail::op_code::recv;
      complete = &on_complete;
      args.recv = {buf.data(), buf.size(), 0};
    }
    explicit basic_read_awaitable(std::shared_ptr<state> s) requires Pooled : s_(std::move(s)) {
      code = detail::op_code::recv_pooled;
      complete = &on_complete;
      args.recv = {nullptr, detail::block_pool::block_size, 0};
    }
    basic_read_awaitable(const basic_read_awaitable&) = delete;
    ~basic_read_awaitable() {
      if (in_flight()) s_->loop->abandon(*this);
      if (s_ && s_->pending_read == this) s_->pending_read = nullptr;
      if (s_ && s_->failed_read == this) s_->failed_read = nullptr;
      if constexpr (Pooled) detail::block_pool::give(static_cast<std::byte*>(args.recv.buf));
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
      if ((early_ = closed_error(s_))) return false;
      if (!s_->readable) {  // already at the end: 0 again, as a stream's read() after 'end'
        result = 0;
        return false;
      }
      waiter_ = h;
      if (s_->connecting) {  // parked: started once connected
        s_->pending_read = this;
        return true;
      }
      fd = s_->fd;
      counts_alive = s_->ref;
      if (s_->loop->start(*this)) return false;
      s_->pending_read = this;
      return true;
    }
    auto await_resume() {
      if (s_ && s_->pending_read == this) s_->pending_read = nullptr;
      if (early_) throw error(*early_);
      if (result < 0) {
        if (result == -ECANCELED) throw cut_short(s_);
        throw error::from_syscall("read", errno_code(-result));
      }
      const auto n = static_cast<std::size_t>(result);
      s_->bytes_read += n;
      s_->touch();
      if (n == 0 && args.recv.len > 0) {
        s_->readable = false;
        s_->maybe_auto_destroy();  // both directions done: close, as Node's autoDestroy
      }
      if constexpr (Pooled) {
        auto* block = static_cast<std::byte*>(std::exchange(args.recv.buf, nullptr));
        if (n == 0) {
          detail::block_pool::give(block);
          return buffer();
        }
        return buffer::adopt(block, n);
      } else {
        return n;
      }
    }

   private:
    static void on_complete(io_op* op, int) noexcept { detail::resume(static_cast<basic_read_awaitable*>(op)->waiter_); }
    std::shared_ptr<state> s_;
    std::coroutine_handle<> waiter_;
    std::optional<errc> early_;
  };
  using read_awaitable = basic_read_awaitable<false>;
  using pooled_read_awaitable = basic_read_awaitable<true>;

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
        early_ = errc::err_stream_write_after_end;
        return false;
      }
      if (data_.empty()) return false;
      waiter_ = h;
      if (s_->pending_write || !s_->queue_empty() || s_->wop.in_flight() || s_->connecting) {
        // Another write goes first: queue behind it (copied), in call order.
        // The callback may outlive this frame (a task destroyed while it
        // waits): it holds only a weak token, which the destructor expires.
        queued_ = true;
        alive_ = std::make_shared<write_awaitable*>(this);
        s_->write(data_, [token = std::weak_ptr<write_awaitable*>(alive_)](std::error_code ec) {
          auto self = token.lock();
          if (!self) return;
          (*self)->queued_error_ = ec;
          detail::resume((*self)->waiter_);
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
      if (early_) throw error(*early_);
      if (queued_) {
        if (queued_error_ == errc::err_stream_destroyed) throw error(errc::err_socket_closed);
        if (queued_error_ && s_ && s_->destroy_error && s_->destroy_error->code() == queued_error_)
          throw *s_->destroy_error;
        if (queued_error_) throw error::from_syscall("write", queued_error_);
        return;
      }
      if (s_ && s_->pending_write == this) s_->awaitable_write_done();
      if (result < 0) {
        if (result == -ECANCELED) throw cut_short(s_);
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
      s_->touch();
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
    std::optional<errc> early_;
    bool awaited_ = false;
    bool queued_ = false;
    std::error_code queued_error_;
    std::shared_ptr<write_awaitable*> alive_;  // only while queued behind other writes
  };

  std::shared_ptr<state> s_;
};

using socket = basic_socket<auto_backend>;

/// What net::connect returns: the socket itself (the event style uses it at
/// once: `auto c = net::connect(8124, [] {...}); c.on("data", ...)`), and an
/// awaitable of it: `net::socket c = co_await net::connect({.port = 8124})`
/// resumes once connected, or throws what "error" would have carried.
template <typename Backend>
class basic_connecting_socket : public basic_socket<Backend> {
 public:
  explicit basic_connecting_socket(basic_socket<Backend> s) : basic_socket<Backend>(std::move(s)) {}
  bool await_ready() const noexcept { return !this->internal_state()->connecting; }
  void await_suspend(std::coroutine_handle<> h) noexcept { this->internal_state()->connect_waiter = h; }
  basic_socket<Backend> await_resume() {
    typename basic_socket<Backend>::connect_awaitable(this->internal_state()).await_resume();
    return *this;
  }
};
using connecting_socket = basic_connecting_socket<auto_backend>;

namespace detail {
/// The socket half of net.connect's options (Node hands them to new Socket()).
inline socket_options socket_part(const connect_options& o) {
  return {.fd = o.fd,
          .allow_half_open = o.allow_half_open,
          .readable = o.readable,
          .writable = o.writable,
          .onread = o.onread,
          .signal = o.signal,
          .no_delay = o.no_delay,
          .keep_alive = o.keep_alive,
          .keep_alive_initial_delay = o.keep_alive_initial_delay,
          .block_list = o.block_list};
}
template <typename Backend, typename... Listener>
basic_connecting_socket<Backend> connect_with(const connect_options& o, basic_loop<Backend>& loop,
                                              Listener&&... listener) {
  basic_socket<Backend> s(socket_part(o), loop);
  if (o.timeout > 0) s.set_timeout(o.timeout);
  s.connect(o, std::forward<Listener>(listener)...);
  return basic_connecting_socket<Backend>(std::move(s));
}
}  // namespace detail

namespace detail {
/// net.connect and net.createConnection (one function under two names).
struct connect_fn {
  /// (options[, connectListener]): a new socket (with the socket options
  /// and `timeout`) that starts connecting at once.
  connecting_socket operator()(const connect_options& o) const { return connect_with(o, loop::current()); }
  template <typename F>
    requires std::is_invocable_v<F&>
  connecting_socket operator()(const connect_options& o, F&& listener) const {
    return connect_with(o, loop::current(), std::forward<F>(listener));
  }
  /// (path[, connectListener]): IPC.
  connecting_socket operator()(std::string_view path) const { return (*this)(connect_options{.path = path}); }
  template <typename F>
    requires std::is_invocable_v<F&>
  connecting_socket operator()(std::string_view path, F&& listener) const {
    return (*this)(connect_options{.path = path}, std::forward<F>(listener));
  }
  /// (port[, host][, connectListener]).
  connecting_socket operator()(std::int64_t port, std::string_view host = {}) const {
    return (*this)(connect_options{.port = port, .host = host});
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  connecting_socket operator()(std::int64_t port, F&& listener) const {
    return (*this)(connect_options{.port = port}, std::forward<F>(listener));
  }
  template <typename F>
    requires std::is_invocable_v<F&>
  connecting_socket operator()(std::int64_t port, std::string_view host, F&& listener) const {
    return (*this)(connect_options{.port = port, .host = host}, std::forward<F>(listener));
  }
};
}  // namespace detail

/// net.connect(...): see detail::connect_fn for the forms.
inline constexpr detail::connect_fn connect{};
/// net.createConnection(...): the same function as net.connect.
inline constexpr detail::connect_fn create_connection{};

NETXX_END_NAMESPACE
