#pragma once
// The stream state behind net::socket: lifetime, flowing reads, the write
// queue and FIN, the idle timeout, connecting, and destroy. Users never name
// it; net::socket is a handle onto it.

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

#include "../block_list.hpp"
#include "../socket_options.hpp"
#include "../buffer.hpp"
#include "../config.hpp"
#include "../detail/loop_core.hpp"
#include "../detail/op.hpp"
#include "../detail/recycling_allocator.hpp"
#include "../detail/sockaddr.hpp"
#include "../detail/socket_ops.hpp"
#include "../dns.hpp"
#include "../encoding.hpp"
#include "../errors.hpp"
#include "../events.hpp"
#include "../ip.hpp"
#include "../loop.hpp"
#include "../socket_address.hpp"
#include "../task.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

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

NETXX_END_NAMESPACE
