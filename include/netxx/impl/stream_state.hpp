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
#include <cstring>
#include <array>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <limits>
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
#include "connector.hpp"
#include "../buffer.hpp"
#include "../config.hpp"
#include "../detail/loop_core.hpp"
#include "../detail/op.hpp"
#include "../detail/recycling_allocator.hpp"
#include "../detail/sockaddr.hpp"
#include "../detail/socket_ops.hpp"
#include "../detail/try_io.hpp"
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
/// 'error' event: through the unhandled-exception handler (default: Node's
/// report, naming the emitter, then exit status 1), never silently.
inline void unhandled_error_event(const error& e, std::string_view emitter = "Socket") {
  unhandled_handler()(std::make_exception_ptr(emitted_error(e, emitter)));
}

template <typename Backend>
struct socket_state : std::enable_shared_from_this<socket_state<Backend>> {
  basic_loop<Backend>* loop = nullptr;
  int fd = -1;
  int domain = AF_INET;
  bool readable = true;     // false once the peer's FIN was read (and "end" emitted)
  bool writable = true;     // false once end() was called
  bool end_called = false;  // end() was called (Node's writableEnded)
  bool end_emitted = false;  // "end" was emitted (Node's readableEnded)
  bool fin_sent = false;    // our FIN went out (after the queue drained)
  bool finish_emitted = false;  // and "finish" followed
  bool destroyed = false;
  bool close_emitted = false;
  bool ref = true;
  bool allow_half_open = false;
  bool flowing = false;     // Node's flowing mode: "data" listener, resume(), pipe()
  bool paused = false;      // pause() was called
  bool need_drain = false;
  std::uint32_t corked = 0;  // cork() depth: writes queue, none is sent until uncork()
  encoding default_encoding = encoding::utf8;  // setDefaultEncoding(): for string writes
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

  // --- reading: one recv in flight, into a block of the pool -------------------
  // (as co_await read() does): a socket waiting for bytes holds no buffer.
  // With onread, the caller's buffer instead. As Node's, a socket reads from
  // connect or accept on, whoever listens: what nobody consumed yet waits in
  // the readable buffer (Node's readableState.buffer), and reading stops
  // once it holds the high-water mark. So a FIN, a reset and the close are
  // seen with no "data" listener, and a socket nobody reads from holds at
  // most its high-water mark.
  struct flow_read_op : io_op {
    socket_state* owner = nullptr;
  } flow_read;
  struct read_chunk {
    buffer block;  // a block of the pool; its bytes are block[offset, size)
    std::size_t offset = 0;
    std::size_t left() const noexcept { return block.size() - offset; }
  };
  std::vector<read_chunk> rbuf;  // rbuf[rbuf_head..]
  std::size_t rbuf_head = 0;
  std::size_t rbuf_bytes = 0;  // Node's readableLength
  bool rbuf_eof = false;       // the peer's FIN, behind rbuf's bytes: "end" once they are consumed
  bool pulled = false;         // read with co_await: each await asks for the next bytes, no read ahead
  bool read_stopped = false;   // pauseOnConnect: no read at all until resume() (Node's readStop)
  bool peer_ended = false;     // "end" came with allowHalfOpen false: a write once ended is Node's writeAfterFIN

  // --- the write queue: what write() and end(data) were given, in order ------
  // An awaited write borrows the caller's bytes (its frame waits until they
  // are in the kernel); every other write is copied. A waiter whose frame
  // goes away first leaves its bytes behind as a copy.
  struct write_waiter {
    void (*done)(write_waiter*, std::error_code) noexcept = nullptr;
  };
  struct chunk {
    std::vector<std::byte> data;          // owned bytes
    std::span<const std::byte> borrowed;  // or a waiter's
    std::size_t offset = 0;
    write_callback cb;
    write_waiter* waiter = nullptr;
    std::span<const std::byte> bytes() const noexcept {
      return waiter ? borrowed : std::span<const std::byte>(data);
    }
    std::size_t left() const noexcept { return bytes().size() - offset; }
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
  // The one send in flight: the queue's head, as one send (one chunk) or one
  // sendmsg (up to 64).
  struct write_op : io_op {
    socket_state* owner = nullptr;
    msghdr msg{};
    // Made on the first write of several chunks: most sockets (every
    // awaitable-only one) never need it, and 1 KiB per connection is worth saving.
    std::unique_ptr<std::array<iovec, 64>> iov;
  } wop;
  std::size_t in_flight_chunks = 0;  // the queue entries wop's send covers
  // Writes that finished, told in order once the queue is consistent again
  // (what they run may write, end or destroy).
  struct finished_write {
    write_callback cb;
    write_waiter* waiter = nullptr;
  };
  std::vector<finished_write> finished;
  std::size_t finished_head = 0;
  bool pumping = false;          // inside pump()'s send loop
  bool telling = false;          // inside tell_finished()
  // Waiters of writes that destroy() cut short, told next tick.
  std::vector<write_waiter*> failed_waiters;
  std::vector<write_callback> end_callbacks;
  // Awaiters of `co_await end()`, told at "finish" (or of the error).
  std::vector<write_waiter*> end_waiters;

  // Node's _peername / _sockname: read once while connected, kept after the
  // close (remoteAddress in a "close" listener), forgotten on a new connect.
  std::optional<socket_address> peer_name, sock_name;

  // Awaitable reads in flight (in their frames), for destroy and unref.
  // A read awaited while connecting waits here, not yet started.
  io_op* pending_read = nullptr;
  io_op* failed_read = nullptr;  // a parked read that destroy() fails next tick
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
  // The lookup and the attempts of connect() (Node's lookupAndConnect).
  connector<socket_state> connect{this};

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
    idle_timer.owner = this;
    idle_timer.fire = &on_idle_timer;
    idle_timer.ref = false;  // Node's socket timeout is an unref'd timer
  }
  ~socket_state() {
    if (loop) {
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

  /// A connection a server accepted: the server's options, and who is told
  /// when its descriptor closes (the server's connection count).
  void accepted(bool half_open, std::size_t hwm, bool pause_on_connect, std::weak_ptr<void> owner,
                void (*closed)(void*)) noexcept {
    allow_half_open = half_open;
    high_water_mark = hwm;
    if (pause_on_connect) paused = read_stopped = true;
    closed_owner = std::move(owner);
    on_closed = closed;
    read_soon();
  }

  void close_fd() noexcept {
    if (fd < 0) return;
    if (flow_read.in_flight() || wop.in_flight() || pending_read)
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
  //
  // One rule decides whether a recv may start (should_read), one function
  // starts them (read_more). Bytes go straight to "data" while flowing with
  // nothing buffered; otherwise into the readable buffer, which flowing
  // drains (flow) and awaited reads take from (take_buffered).

  bool rbuf_empty() const noexcept { return rbuf_head == rbuf.size(); }

  /// A recv may start: open, not at the end, none in flight or parked, and
  /// someone wants the bytes: flowing, or Node's read-ahead (below the
  /// high-water mark, unless an awaiting coroutine drives the reads).
  bool should_read() const noexcept {
    if (!open() || connecting || !readable || rbuf_eof || flow_read.in_flight() || pending_read) return false;
    if (onread.callback) return flowing && !onread_buf.empty();
    if (flowing) return rbuf_empty();
    // An empty buffer always reads (Node's read(0) with a high-water mark of 0).
    return !pulled && !read_stopped && (rbuf_empty() || rbuf_bytes < high_water_mark);
  }

  /// Starts recvs while should_read(); synchronous completions (epoll's
  /// optimistic read) are taken here in a loop rather than by recursion.
  void read_more() {
    while (should_read()) {
      flow_read.fd = fd;
      flow_read.counts_alive = ref;
      if (onread.callback) {  // the caller's buffer
        flow_read.code = op_code::recv;
        flow_read.args.recv = {onread_buf.data(), onread_buf.size(), 0};
      } else {  // the backend takes a block when bytes are there
        flow_read.code = op_code::recv_pooled;
        flow_read.args.recv = {nullptr, block_pool::block_size, 0};
      }
      if (!loop->start(flow_read)) return;
      handle_read(flow_read.result);
    }
  }

  /// Reading starts next tick, once whoever got the socket (a "connection"
  /// listener, an accept awaiter, the connect listener) had the chance to
  /// pause it, read it with co_await, or give it an onread buffer.
  void read_soon() {
    auto keep = this->shared_from_this();
    loop->post([keep] {
      if (keep->handles > 0 || keep->self) keep->read_more();
    });
  }

  void start_flowing() {
    const bool was = flowing;
    flowing = true;
    paused = false;
    read_stopped = false;
    hold();
    if (was) return;
    // Next tick, as Node's resume() does: a listener added right after
    // on("data") (on("end"), on("close")) must not miss what is already
    // buffered, data and FIN included.
    auto keep = this->shared_from_this();
    loop->post([keep] { keep->flow(); });
  }

  /// Flowing: what is buffered goes out as "data", then the pending "end",
  /// then reading goes on.
  void flow() {
    while (flowing && !destroyed && !rbuf_empty()) {
      read_chunk c = take_chunk();
      if (onread.callback) {  // back into the caller's buffer, where onread expects it
        const std::size_t n = std::min(c.left(), onread_buf.size());
        std::copy_n(c.block.data() + c.offset, n, onread_buf.data());
        emit_data({onread_buf.data(), n});
      } else {
        emit_data({c.block.data() + c.offset, c.left()});
      }
    }
    if (destroyed) return;
    if (rbuf_empty() && rbuf_eof) return on_eof();
    read_more();
  }

  static void on_flow_read(io_op* op, int res) noexcept {
    auto* st = static_cast<flow_read_op*>(op)->owner;
    auto keep = st->shared_from_this();
    st->handle_read(res);
    st->read_more();
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

  /// A recv's result: "data" while flowing with nothing buffered, else
  /// into the readable buffer; at the FIN, "end" once nothing is buffered.
  void handle_read(int res) {
    // The block the backend read into (pooled reads; a fallback block may be
    // there even when nothing was read).
    buffer block = buffer::adopt(flow_read.code == op_code::recv_pooled
                                     ? static_cast<std::byte*>(std::exchange(flow_read.args.recv.buf, nullptr))
                                     : nullptr,
                                 res > 0 ? static_cast<std::size_t>(res) : 0);
    if (destroyed) return;
    if (res == -ECANCELED) return serve_parked_read();  // onread's pause
    if (res < 0) return destroy(error::from_syscall("read", errno_code(-res)));
    if (res == 0) {
      if (rbuf_empty() && !parked_reader()) return on_eof();
      rbuf_eof = true;
      return serve_parked_read();
    }
    const auto n = static_cast<std::size_t>(res);
    bytes_read += n;
    touch();
    if (flowing && rbuf_empty()) {
      emit_data(onread.callback ? std::span<const std::byte>(onread_buf.data(), n)
                                : std::span<const std::byte>(block.data(), n));
      return;
    }
    if (onread.callback) {  // read while pausing: onread's buffer is the caller's, so copy
      block = buffer::adopt(block_pool::take(), n);
      std::copy_n(onread_buf.data(), n, block.data());
    }
    buffer_chunk(std::move(block));
    serve_parked_read();
  }

  /// Appends to the readable buffer, into the last block when it has room:
  /// many small reads then hold a few blocks, not one 64 KiB block each.
  void buffer_chunk(buffer block) {
    rbuf_bytes += block.size();
    if (!rbuf_empty()) {
      read_chunk& last = rbuf.back();
      const std::size_t end = last.block.size();
      if (block_pool::block_size - end >= block.size()) {
        std::copy_n(block.data(), block.size(), last.block.data() + end);
        last.block = buffer::adopt(std::exchange(last.block, buffer()).release(), end + block.size());
        return;
      }
    }
    rbuf.push_back({std::move(block), 0});
  }

  read_chunk take_chunk() noexcept {
    read_chunk c = std::move(rbuf[rbuf_head++]);
    rbuf_bytes -= c.left();
    if (rbuf_empty()) {
      rbuf.clear();
      rbuf_head = 0;
    }
    return c;
  }

  /// An awaited read with bytes buffered: up to dst.size() of them, copied.
  std::size_t take_buffered(std::span<std::byte> dst) {
    std::size_t n = 0;
    while (n < dst.size() && !rbuf_empty()) {
      read_chunk& c = rbuf[rbuf_head];
      const std::size_t k = std::min(dst.size() - n, c.left());
      std::copy_n(c.block.data() + c.offset, k, dst.data() + n);
      n += k;
      c.offset += k;
      rbuf_bytes -= k;
      if (c.left() == 0) take_chunk();
    }
    after_consumed();
    return n;
  }
  /// An awaited pooled read with bytes buffered: the first block, as it is.
  buffer take_buffered_block() {
    read_chunk c = take_chunk();
    if (c.offset > 0) std::memmove(c.block.data(), c.block.data() + c.offset, c.left());
    const std::size_t n = c.left();
    buffer b = buffer::adopt(std::exchange(c.block, buffer()).release(), n);
    after_consumed();
    return b;
  }
  /// Node's read(): at the end of the buffered bytes comes the pending
  /// "end"; below the high-water mark, reading goes on.
  void after_consumed() {
    if (rbuf_empty() && rbuf_eof) {
      auto keep = this->shared_from_this();
      loop->post([keep] {
        if (!keep->destroyed && keep->readable) keep->on_eof();
      });
      return;
    }
    read_more();
  }

  // An awaited read waits for the read already in flight (parked, not
  // started: two recvs on one socket could complete out of order).
  bool parked_reader() const noexcept { return pending_read && !pending_read->in_flight() && !connecting; }
  static constexpr int served_from_buffer = std::numeric_limits<int>::min();
  void serve_parked_read() {
    if (!parked_reader()) return;
    io_op* op = pending_read;
    if (!rbuf_empty() || rbuf_eof) {
      pending_read = nullptr;
      op->result = served_from_buffer;  // the awaiter takes from the buffer when it resumes
      op->complete(op, served_from_buffer);
      return;
    }
    if (!destroyed && readable) start_parked_read();
  }

  // n bytes, in `chunk` (pooled) or in onread's buffer.
  void emit_data(std::span<const std::byte> chunk) {
    if (onread.callback) {
      // Node: callback(nread, buf); `false` pauses. A buffer function is asked for the next buffer.
      const bool go = onread.callback(chunk.size(), onread_buf);
      if (onread.buffer_fn) onread_buf = onread.buffer_fn();
      if (!go) pause();
      return;
    }
    if (decoder) {
      decoded.clear();
      decoder->write_to(decoded, chunk);
      if (!decoded.empty()) events.template emit<"data">(std::as_bytes(std::span(decoded.data(), decoded.size())));
      return;
    }
    events.template emit<"data">(chunk);
  }

  /// The peer's FIN, once everything before it was consumed: "end", then
  /// our own end() unless allowHalfOpen, then autoDestroy.
  void on_eof() {
    readable = false;
    rbuf_eof = false;
    auto keep = this->shared_from_this();
    if (decoder) {  // what the decoder held back (an incomplete character) comes out now
      decoded.clear();
      decoder->end_to(decoded);
      if (!decoded.empty()) events.template emit<"data">(std::as_bytes(std::span(decoded.data(), decoded.size())));
      if (destroyed) return;
    }
    if (!allow_half_open) peer_ended = true;
    end_emitted = true;
    events.template emit<"end">();
    if (destroyed) return;
    if (!allow_half_open && writable) end({});
    maybe_auto_destroy();
  }

  /// Node's pause(): no more "data" until resume(); reading goes on into
  /// the readable buffer up to the high-water mark. With onread (no
  /// buffer of Node's), reading stops at once.
  void pause() {
    flowing = false;
    paused = true;
    if (onread.callback && flow_read.in_flight()) loop->cancel(flow_read.id);
  }

  // --- writing: the write engine ------------------------------------------------
  //
  // A write enters through write() (the event face, end(data)) or
  // submit_awaited() and joins the queue in enqueue(); every send is started
  // by pump(), called from there, from the connect completion and from a
  // send's completion. What "drain" listeners and write callbacks write only
  // queues: they run after the send loop.
  // A send starts only when may_send_now(); the one shortcut, a direct
  // non-blocking send of a new write, is taken only when nothing is queued
  // or in flight, so bytes always leave in the order they were written.

  /// A send may start: connected, open, not corked, and no send in flight.
  bool may_send_now() const noexcept {
    return fd >= 0 && !connecting && !destroyed && corked == 0 && !wop.in_flight();
  }

  /// writable.uncork(): at depth 0 the queue goes out, in one sendmsg.
  void uncork() {
    if (corked == 0) return;
    if (--corked == 0 && !destroyed) pump();
  }

  /// socket.write(data, cb), the event face: true while below the high-water mark.
  bool write(std::span<const std::byte> data, write_callback cb) {
    touch();
    if (peer_ended && end_called) {
      // Node's writeAfterFIN: the peer ended, we do not stay half open, and
      // our side ended in turn (a write in an "end" listener still goes out).
      error e(std::error_code(EPIPE, std::generic_category()), "This socket has been ended by the other party");
      fail_later(std::move(cb), e.code());
      destroy(std::move(e));
      return false;
    }
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
    if (!cb && queue_empty() && may_send_now()) {
      // libuv's uv_try_write: most writes fit in the socket buffer and need
      // neither a copy nor an operation.
      const ssize_t r = send_now(data);
      if (r < 0) return false;  // destroyed
      sent = static_cast<std::size_t>(r);
      if (sent == data.size()) {
        if (!below) after_queue_drained();
        return below;
      }
    }
    chunk c;
    c.data.assign(data.begin() + static_cast<std::ptrdiff_t>(sent), data.end());
    c.cb = std::move(cb);
    enqueue(std::move(c));
    return below;
  }

  /// An awaited write: queued without a copy; `w` is told when its bytes
  /// are in the kernel, or of the error. The awaiter's frame holds the
  /// state, so no self-reference is taken.
  void submit_awaited(std::span<const std::byte> data, write_waiter* w) {
    touch();
    chunk c;
    c.borrowed = data;
    c.waiter = w;
    enqueue(std::move(c));
  }

  /// The waiter's frame goes away before it was told: its bytes are copied
  /// (still sent, in order), or, while the kernel is sending them, the
  /// stream is torn and closes.
  void forget_waiter(write_waiter* w) noexcept {
    std::erase(failed_waiters, w);
    std::erase(end_waiters, w);
    for (std::size_t k = finished_head; k < finished.size(); ++k)
      if (finished[k].waiter == w) finished[k].waiter = nullptr;
    for (std::size_t k = queue_head; k < queue.size(); ++k) {
      chunk& c = queue[k];
      if (c.waiter != w) continue;
      if (wop.in_flight() && k < queue_head + in_flight_chunks) {
        loop->abandon(wop);  // waits for the kernel to let go of the bytes
        c.waiter = nullptr;
        c.borrowed = {};
        destroy({});
        return;
      }
      const auto rest = c.borrowed.subspan(c.offset);
      c.data.assign(rest.begin(), rest.end());
      c.borrowed = {};
      c.offset = 0;
      c.waiter = nullptr;
    }
  }

  void enqueue(chunk c) {
    queued_bytes += c.left();
    queue.push_back(std::move(c));
    const bool was = std::exchange(in_write, true);  // callbacks of what goes out now run next tick, as in Node
    pump();
    in_write = was;
  }

  /// The write engine: starts the send of the queue's head while a send may
  /// start, takes synchronous results, then tells the writes that finished
  /// and sends "drain" or the FIN. Re-entered from what it tells, it only
  /// sends: the outer call tells, in order.
  void pump() {
    if (!pumping) {
      pumping = true;
      while (!queue_empty() && may_send_now()) {
        start_send();
        if (wop.in_flight()) break;
        took(wop.result);
      }
      pumping = false;
    }
    tell_finished();
    after_queue_drained();
  }

  void start_send() {
    NETXX_ASSERT(!wop.in_flight(), "a send started while one is in flight");
    const std::size_t n = std::min<std::size_t>(queue.size() - queue_head, 64);
    wop.fd = fd;
    wop.counts_alive = true;  // a write request keeps the loop alive, as in libuv
    if (n == 1) {
      const chunk& c = queue_front();
      wop.code = op_code::send;
      wop.args.send = {c.bytes().data() + c.offset, c.left(), 0};
    } else {
      if (!wop.iov) wop.iov = std::make_unique_for_overwrite<std::array<iovec, 64>>();
      auto& iov = *wop.iov;
      for (std::size_t i = 0; i < n; ++i) {
        const chunk& c = queue[queue_head + i];
        iov[i] = {const_cast<std::byte*>(c.bytes().data() + c.offset), c.left()};
      }
      wop.msg = {};
      wop.msg.msg_iov = iov.data();
      wop.msg.msg_iovlen = n;
      wop.code = op_code::sendmsg;
      wop.args.sendmsg = {&wop.msg, 0};
    }
    in_flight_chunks = n;
    loop->start(wop);
  }

  /// The direct send of write()'s shortcut: what the kernel took, or -1
  /// when the socket was destroyed by the error.
  ssize_t send_now(std::span<const std::byte> data) {
    const int r = try_send(fd, data.data(), data.size(), MSG_DONTWAIT);
    if (r >= 0) {
      bytes_written += static_cast<std::size_t>(r);
      return r;
    }
    if (r == -EAGAIN) return 0;
    destroy(error::from_syscall("write", errno_code(-r)));
    return -1;
  }

  static void on_write(io_op* op, int res) noexcept {
    auto* st = static_cast<write_op*>(op)->owner;
    auto keep = st->shared_from_this();
    st->took(res);
    st->pump();
    if (st->destroyed && st->close_emitted) st->release_self();
  }

  /// A send's result: the chunks it completed leave the queue for the
  /// finished list (a callback from inside write() is posted instead).
  void took(int res) {
    in_flight_chunks = 0;
    if (destroyed) return;
    if (res < 0) {
      if (res != -EAGAIN) destroy(error::from_syscall("write", errno_code(-res)));
      return;
    }
    auto left = static_cast<std::size_t>(res);
    bytes_written += left;
    touch();
    queued_bytes -= left;
    while (left > 0 && !queue_empty()) {
      chunk& c = queue_front();
      const std::size_t take = std::min(left, c.left());
      c.offset += take;
      left -= take;
      if (c.left() > 0) break;
      finished_write f{std::move(c.cb), c.waiter};
      queue_pop();
      if (f.cb && in_write && !f.waiter)
        loop->post([cb = std::move(f.cb)] { cb({}); });  // never from inside write(), as in Node
      else if (f.cb || f.waiter)
        finished.push_back(std::move(f));
    }
  }

  /// Runs the callbacks and resumes the waiters of finished writes, in order.
  void tell_finished() {
    if (telling || finished_head == finished.size()) return;
    telling = true;
    auto keep = this->shared_from_this();
    while (finished_head < finished.size()) {
      finished_write f = std::move(finished[finished_head++]);
      if (f.cb) f.cb({});
      if (f.waiter) f.waiter->done(f.waiter, {});
    }
    finished.clear();
    finished_head = 0;
    telling = false;
  }

  void after_queue_drained() {
    if (destroyed || !queue_empty() || wop.in_flight()) return;
    if (std::exchange(need_drain, false)) {
      // Next tick, as Node's afterWrite: the queue may have drained inside
      // write() itself, before its caller could listen for "drain".
      auto keep = this->shared_from_this();
      loop->post([keep] {
        if (!keep->destroyed) keep->events.template emit<"drain">();
      });
    }
    maybe_send_fin();
  }

  /// The FIN goes once end() was called and everything before it is in the kernel.
  void maybe_send_fin() {
    if (!destroyed && !writable && !fin_sent && !connecting && queue_empty() && !wop.in_flight()) send_fin();
  }

  /// Node's destroySoon(): end(), then destroy at "finish" (a "finish"
  /// listener, so listeners added before it see the socket open and those
  /// added after see it destroyed, as in Node); at once when it came already.
  void destroy_soon() {
    if (destroyed) return;
    if (writable) end({});
    if (finish_emitted) return destroy({});
    events.template once<"finish">([this] { destroy({}); });  // the listener lives in this state
  }

  void end(std::span<const std::byte> data, write_callback cb = {}) {
    if (destroyed) return;  // Node: end() after destroy is a no-op
    if (!data.empty() && writable) write(data, {});
    if (cb) end_callbacks.push_back(std::move(cb));
    if (!writable) return;
    writable = false;
    end_called = true;
    hold();
    if (corked > 0) {  // Node's end() uncorks: what was corked goes out before the FIN
      corked = 1;
      uncork();
      return;
    }
    maybe_send_fin();
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
      keep->finish_emitted = true;
      for (auto& cb : cbs) cb({});  // Node's kOnFinished: end()'s callbacks, then "finish"
      if (keep->destroyed) return;
      keep->events.template emit<"finish">();
      while (!keep->end_waiters.empty()) {  // one at a time: a resumed waiter may end another's frame
        write_waiter* w = keep->end_waiters.front();
        keep->end_waiters.erase(keep->end_waiters.begin());
        w->done(w, {});
      }
      keep->maybe_auto_destroy();
    });
  }

  // Node's autoDestroy: both directions done, "end" and "finish" both
  // emitted (a FIN sent whose "finish" is still to come is not done: the
  // peer's FIN can arrive in between, and the end callbacks must not fail).
  void maybe_auto_destroy() {
    if (!destroyed && !readable && finish_emitted) destroy({});
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
    finish_emitted = false;
    end_called = end_emitted = false;
    peer_name.reset();
    sock_name.reset();
    bytes_read = bytes_written = 0;  // a new handle in Node, with its own counts
    flowing = false;
    need_drain = false;
    rbuf.clear();
    rbuf_head = rbuf_bytes = 0;
    rbuf_eof = false;
    peer_ended = false;
    reset_on_destroy = false;
    destroy_error.reset();
    connect_failure.reset();
    connect.reset();
  }

  /// socket.connect(options). Bad arguments throw Node's errors; a socket
  /// already connected or connecting fails as Node's handle does.
  void start_connect(const connect_options& o) {
    connect_target t = check_connect_options(o);
    if (connecting || (fd >= 0 && !destroyed)) {
      const auto p = t.ipc ? std::nullopt : std::optional<std::uint16_t>(static_cast<std::uint16_t>(*o.port));
      destroy(error::from_syscall("connect", errno_code(connecting ? EALREADY : EISCONN), t.host, p));
      return;
    }
    if (destroyed) reopen();
    connecting = true;
    if (o.no_delay) no_delay_on_connect = true;
    if (o.keep_alive) {
      keep_alive_on_connect = true;
      keep_alive_delay_ms = o.keep_alive_initial_delay < 0 ? 0 : o.keep_alive_initial_delay;
    }
    if (event_face) hold();
    touch();
    connect.start(o, std::move(t));
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
    pump();  // what was written or ended while connecting goes now
    if (destroyed) return;
    if (pending_read && !pending_read->in_flight()) start_parked_read();
    if ((flowing || onread.callback || events.listener_count("data") > 0) && !paused) flowing = true;
    // An awaiting coroutine goes first: its read, if it makes one, is the
    // read (no read ahead to copy from).
    if (auto w = std::exchange(connect_waiter, {})) detail::resume(w);
    read_more();  // Node's afterConnect: read(0), into the buffer if nobody consumes
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
    const bool was_connecting = connecting;
    destroyed = true;
    readable = writable = false;
    flowing = false;
    // A connect in flight stops; a lookup still out is ignored when it answers.
    connect.stop();
    connecting = false;
    loop->core().disarm_timer(idle_timer);
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
    // Pending write callbacks learn the stream was destroyed; the write
    // that waited for the connection learns it never came, as in Node.
    const std::error_code ec = err ? err->code() : make_error_code(errc::err_stream_destroyed);
    std::vector<std::pair<write_callback, std::error_code>> failed;
    for (std::size_t k = queue_head; k < queue.size(); ++k) {
      const bool first_while_connecting = was_connecting && k == queue_head;
      if (queue[k].cb)
        failed.emplace_back(std::move(queue[k].cb), first_while_connecting
                                                        ? make_error_code(errc::err_socket_closed_before_connection)
                                                        : ec);
      if (queue[k].waiter) failed_waiters.push_back(queue[k].waiter);
    }
    for (auto& cb : end_callbacks) failed.emplace_back(std::move(cb), ec);
    end_callbacks.clear();
    failed_waiters.insert(failed_waiters.end(), end_waiters.begin(), end_waiters.end());
    end_waiters.clear();
    queue.clear();
    queue_head = 0;
    queued_bytes = 0;
    auto keep = this->shared_from_this();
    // "error" then "close", next tick, as Node's destroy() emits them.
    loop->post([keep, err = std::move(err), failed = std::move(failed), awaited, ec]() mutable {
      for (auto& [cb, code] : failed) cb(code);
      // One at a time: a resumed waiter may end another waiter's frame.
      while (!keep->failed_waiters.empty()) {
        write_waiter* w = keep->failed_waiters.front();
        keep->failed_waiters.erase(keep->failed_waiters.begin());
        w->done(w, ec);
      }
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
