// SPDX-License-Identifier: BSL-1.0
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

/// The pool block a "data" emission shows its listeners. A write() of bytes
/// inside it that must be queued (c.pipe(c) when the kernel does not take
/// them at once, or under io_uring, where the ring sends them) takes the
/// block itself instead of a copy. The listeners after it may still read
/// the block, so a taken block let go while an emission runs (its send done
/// at once, its socket destroyed) is parked until the outermost one ends.
struct lending {
  buffer* block = nullptr;  // the block of the innermost emission; empty once taken
  int depth = 0;
  std::vector<buffer> parked;

  static lending& here() noexcept {
    static thread_local lending l;
    return l;
  }

  /// Takes the block when `bytes` lie inside it; false (the caller copies) otherwise.
  bool take(std::span<const std::byte> bytes, buffer& into) noexcept {
    if (!block || !block->data() || bytes.empty()) return false;
    const std::byte* b = block->data();
    if (bytes.data() < b || bytes.data() + bytes.size() > b + block->size()) return false;
    into = std::move(*block);
    return true;
  }
  /// A taken block let go: parked while an emission runs, else back to the pool.
  void retire(buffer& b) {
    if (b.data() && depth > 0) parked.push_back(std::move(b));
    b = buffer();
  }

  /// Lends a block for the length of one emission.
  class scope {
   public:
    explicit scope(buffer& b) noexcept : l_(here()), saved_(std::exchange(l_.block, &b)) { ++l_.depth; }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
    ~scope() {
      l_.block = saved_;
      if (--l_.depth == 0) l_.parked.clear();
    }

   private:
    lending& l_;
    buffer* saved_;
  };
};

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
  std::size_t rbuf_bytes = 0;  // Node's readableLength
  bool rbuf_eof = false;       // the peer's FIN, behind rbuf's bytes: "end" once they are consumed
  bool pulled = false;         // read with co_await: each await asks for the next bytes, no read ahead
  bool read_stopped = false;   // pauseOnConnect: no read at all until resume() (Node's readStop)
  bool peer_ended = false;     // "end" came with allowHalfOpen false: a write once ended is Node's writeAfterFIN
  std::uint32_t rbuf_head = 0;

  // --- the write queue: what write() and end(data) were given, in order ------
  // An awaited write borrows the caller's bytes (its frame waits until they
  // are in the kernel); every other write is copied. A waiter whose frame
  // goes away first leaves its bytes behind as a copy.
  struct write_waiter {
    void (*done)(write_waiter*, std::error_code) noexcept = nullptr;
    std::size_t written = 0;  // an aborted write's bytes that were sent
  };
  struct chunk {
    std::vector<std::byte> data;          // owned bytes
    std::span<const std::byte> borrowed;  // or a waiter's, or inside `block`
    buffer block;                         // a block taken from a "data" emission (lending)
    std::size_t offset = 0;
    write_callback cb;
    write_waiter* waiter = nullptr;
    bool cut = false;  // an aborted write's: dropped once no send covers it (drop_cut)
    std::span<const std::byte> bytes() const noexcept {
      return waiter || block.data() ? borrowed : std::span<const std::byte>(data);
    }
    std::size_t left() const noexcept { return bytes().size() - offset; }
  };
  // The queue is queue[queue_head..]: a vector (a deque allocates when made,
  // and most sockets of a busy server never queue a byte).
  std::vector<chunk> queue;
  std::uint32_t queue_head = 0;
  std::uint32_t in_flight_chunks = 0;  // the queue entries wop's send covers
  std::size_t queued_bytes = 0;
  bool queue_empty() const noexcept { return queue_head == queue.size(); }
  chunk& queue_front() noexcept { return queue[queue_head]; }
  void queue_pop() noexcept;
  // The one send in flight: the queue's head, as one send (one chunk) or one
  // sendmsg (up to 64).
  struct gather {  // a sendmsg of several chunks
    msghdr msg;
    std::array<iovec, 64> iov;
  };
  struct write_op : io_op {
    socket_state* owner = nullptr;
    // Made on the first write of several chunks: most sockets (every
    // awaitable-only one) never need it, and 1 KiB per connection is worth saving.
    std::unique_ptr<gather> many;
  } wop;
  // Writes that finished, told in order once the queue is consistent again
  // (what they run may write, end or destroy).
  struct finished_write {
    write_callback cb;
    write_waiter* waiter = nullptr;
    std::error_code ec{};  // abort_err for an aborted write
  };
  std::vector<finished_write> finished;
  bool pumping = false;          // inside pump()'s send loop
  bool telling = false;          // inside tell_finished()
  bool cut_pending = false;      // an aborted write waits for the send in flight (drop_cut)
  std::uint32_t finished_head = 0;

  // Awaitable reads in flight (in their frames), for destroy and unref.
  // A read awaited while connecting waits here, not yet started.
  io_op* pending_read = nullptr;

  // --- the client side -------------------------------------------------------------
  bool connecting = false;
  bool event_face = false;        // listeners were added: the open socket keeps itself, as Node's
  bool reset_on_destroy = false;  // resetAndDestroy(): an RST instead of a FIN
  bool no_delay_on_connect = false;
  bool keep_alive_on_connect = false;
  bool reads_into_caller = false;  // onread: reads go into the caller's buffer, not the pool's
  // socket.setTimeout()'s delay; the rest of it is in extras.
  std::int64_t timeout_ms = 0;

  // socket.setTimeout(): one heap entry per socket, re-armed lazily. Activity
  // only stamps last_active; the timer, when it fires early, sleeps the rest.
  struct idle_timer_node : timer_node {
    socket_state* owner = nullptr;
  };

  // --- what most sockets never use, made on first use -------------------------
  // A client's connect, setTimeout, setEncoding, onread, signal, end()'s
  // callbacks, the cached addresses: an idle accepted connection carries one
  // null pointer for all of them (they were 1.2 KB of every socket).
  struct extras {
    explicit extras(socket_state* s) noexcept : connect(s) {
      idle_timer.owner = s;
      idle_timer.fire = &on_idle_timer;
      idle_timer.ref = false;  // Node's socket timeout is an unref'd timer
    }
    // The lookup and the attempts of connect() (Node's lookupAndConnect).
    connector<socket_state> connect;
    // The awaiter of `co_await socket.connect(...)`.
    std::coroutine_handle<> connect_waiter{};
    std::unique_ptr<error> connect_failure;
    std::int64_t keep_alive_delay_ms = 0;

    idle_timer_node idle_timer;
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

    // Node's _peername / _sockname: read once while connected, kept after the
    // close (remoteAddress in a "close" listener), forgotten on a new connect.
    std::optional<socket_address> peer_name, sock_name;

    // Waiters of writes that destroy() cut short, told next tick.
    std::vector<write_waiter*> failed_waiters;
    std::vector<write_callback> end_callbacks;
    // Awaiters of `co_await end()`, told at "finish" (or of the error).
    std::vector<write_waiter*> end_waiters;
    io_op* failed_read = nullptr;  // a parked read that destroy() fails next tick
    // What destroy(err) was given: awaiters rethrow it.
    std::unique_ptr<error> destroy_error;
  };
  std::unique_ptr<extras> x;  // null until more() makes it; then kept
  extras& more() {
    if (!x) x = std::make_unique<extras>(this);
    return *x;
  }
  bool decoding() const noexcept { return x && x->decoder; }
  /// What destroy(err) was given, if anything: awaiters rethrow it.
  const error* destroyed_by() const noexcept { return x ? x->destroy_error.get() : nullptr; }

  socket_state() {
    flow_read.owner = this;
    flow_read.code = op_code::recv;
    flow_read.complete = &on_flow_read;
    wop.owner = this;
    wop.code = op_code::sendmsg;
    wop.complete = &on_write;
  }
  ~socket_state() {
    if (loop) {
      if (x) loop->core().disarm_timer(x->idle_timer);
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
                void (*closed)(void*)) noexcept;

  void close_fd() noexcept;

  void hold() {
    if (!self && (fd >= 0 || connecting) && !destroyed) self = this->shared_from_this();
  }

  void set_op_ref(io_op* op, bool r) noexcept;

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
  bool should_read() const noexcept;

  /// Starts recvs while should_read(); synchronous completions (epoll's
  /// optimistic read) are taken here in a loop rather than by recursion.
  void read_more();

  /// Reading starts next tick, once whoever got the socket (a "connection"
  /// listener, an accept awaiter, the connect listener) had the chance to
  /// pause it, read it with co_await, or give it an onread buffer.
  void read_soon();

  void start_flowing();

  /// Flowing: what is buffered goes out as "data", then the pending "end",
  /// then reading goes on.
  void flow();

  static void on_flow_read(io_op* op, int res) noexcept;

  /// Drops the self-reference of a closed socket, but not while the kernel
  /// still holds one of its operations (io_uring completes a cancelled recv
  /// later, and may still write into its buffer until then): that
  /// completion releases it instead.
  void release_self() noexcept;

  /// A recv's result: "data" while flowing with nothing buffered, else
  /// into the readable buffer; at the FIN, "end" once nothing is buffered.
  void handle_read(int res);

  /// Appends to the readable buffer, into the last block when it has room:
  /// many small reads then hold a few blocks, not one 64 KiB block each.
  void buffer_chunk(buffer block);

  read_chunk take_chunk() noexcept;

  /// An awaited read with bytes buffered: up to dst.size() of them, copied.
  std::size_t take_buffered(std::span<std::byte> dst);
  /// An awaited pooled read with bytes buffered: the first block, as it is.
  buffer take_buffered_block();
  /// Node's read(): at the end of the buffered bytes comes the pending
  /// "end"; below the high-water mark, reading goes on.
  void after_consumed();

  // An awaited read waits for the read already in flight (parked, not
  // started: two recvs on one socket could complete out of order).
  bool parked_reader() const noexcept { return pending_read && !pending_read->in_flight() && !connecting; }
  static constexpr int served_from_buffer = std::numeric_limits<int>::min();
  void serve_parked_read();

  // n bytes, in `chunk` (pooled) or in onread's buffer.
  void emit_data(std::span<const std::byte> chunk);

  /// The peer's FIN, once everything before it was consumed: "end", then
  /// our own end() unless allowHalfOpen, then autoDestroy.
  void on_eof();

  /// Node's pause(): no more "data" until resume(); reading goes on into
  /// the readable buffer up to the high-water mark. With onread (no
  /// buffer of Node's), reading stops at once.
  void pause();

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
  void uncork();

  /// socket.write(data, cb), the event face: true while below the high-water mark.
  bool write(std::span<const std::byte> data, write_callback cb);

  /// An awaited write: queued without a copy; `w` is told when its bytes
  /// are in the kernel, or of the error. The awaiter's frame holds the
  /// state, so no self-reference is taken.
  void submit_awaited(std::span<const std::byte> data, write_waiter* w);

  /// The waiter's frame goes away before it was told: its bytes are copied
  /// (still sent, in order), or, while the kernel is sending them, the
  /// stream is torn and closes.
  void forget_waiter(write_waiter* w) noexcept;
  /// An awaited write aborted (net::abortable): its bytes not yet sent are
  /// dropped and it is told ABORT_ERR with the count sent. A send in flight
  /// over them is cancelled first (a peer that does not read would never
  /// finish it); the kernel lets go of the bytes before they are dropped.
  void abort_waiter(write_waiter* w) noexcept;
  void drop_cut() noexcept;

  void enqueue(chunk c);

  /// The write engine: starts the send of the queue's head while a send may
  /// start, takes synchronous results, then tells the writes that finished
  /// and sends "drain" or the FIN. Re-entered from what it tells, it only
  /// sends: the outer call tells, in order.
  void pump();

  void start_send();

  /// The direct send of write()'s shortcut: what the kernel took, or -1
  /// when the socket was destroyed by the error.
  ssize_t send_now(std::span<const std::byte> data);

  static void on_write(io_op* op, int res) noexcept;

  /// A send's result: the chunks it completed leave the queue for the
  /// finished list (a callback from inside write() is posted instead).
  void took(int res);

  /// Runs the callbacks and resumes the waiters of finished writes, in order.
  void tell_finished();

  void after_queue_drained();

  /// The FIN goes once end() was called and everything before it is in the kernel.
  void maybe_send_fin() {
    if (!destroyed && !writable && !fin_sent && !connecting && queue_empty() && !wop.in_flight()) send_fin();
  }

  /// Node's destroySoon(): end(), then destroy at "finish" (a "finish"
  /// listener, so listeners added before it see the socket open and those
  /// added after see it destroyed, as in Node); at once when it came already.
  void destroy_soon();

  void end(std::span<const std::byte> data, write_callback cb = {});

  /// The last user handle is gone while the connection is kept open: read
  /// on, discarding, so the peer's end is seen and the socket closes, as an
  /// unreferenced Node socket does.
  void orphaned();

  void send_fin();

  // Node's autoDestroy: both directions done, "end" and "finish" both
  // emitted (a FIN sent whose "finish" is still to come is not done: the
  // peer's FIN can arrive in between, and the end callbacks must not fail).
  void maybe_auto_destroy() {
    if (!destroyed && !readable && finish_emitted) destroy({});
  }

  void fail_later(write_callback cb, std::error_code ec);

  // --- idle timeout (socket.setTimeout) ---------------------------------------------------

  /// Activity: stamps the time; the armed timer finds out when it fires.
  void touch() noexcept;

  void set_timeout(std::int64_t ms);

  static void on_idle_timer(timer_node* t) noexcept;

  // --- connecting (Node's lookupAndConnect, internalConnect, internalConnectMultiple) ------

  /// Node's _undestroy(): a socket connects again after "close".
  void reopen();

  /// socket.connect(options). Bad arguments throw Node's errors; a socket
  /// already connected or connecting fails as Node's handle does.
  void start_connect(const connect_options& o);

  /// Node's afterConnect with status 0.
  void connected(int new_fd, int dom);

  /// A read awaited while connecting starts once connected.
  void start_parked_read();

  // --- destroying ----------------------------------------------------------------

  void destroy(std::optional<error> err);
};

}  // namespace detail

NETXX_END_NAMESPACE

#if NETXX_HEADER_ONLY
#  include "stream_state.ipp"
#endif
