// SPDX-License-Identifier: BSL-1.0
#pragma once
// The definitions behind stream_state.hpp: included by it when netxx is header-only,
// compiled once by src/netxx.cpp with NETXX_SEPARATE_COMPILATION.

#include "stream_state.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {
template <typename Backend>
void socket_state<Backend>::queue_pop() noexcept {
  lending::here().retire(queue[queue_head].block);
  queue[queue_head++] = chunk{};
  if (queue_head == queue.size()) {
    queue.clear();
    queue_head = 0;
  }
}

template <typename Backend>
void socket_state<Backend>::accepted(bool half_open, std::size_t hwm, bool pause_on_connect, std::weak_ptr<void> owner, void (*closed)(void*)) noexcept {
  allow_half_open = half_open;
  high_water_mark = hwm;
  if (pause_on_connect) paused = read_stopped = true;
  closed_owner = std::move(owner);
  on_closed = closed;
  read_soon();
}

template <typename Backend>
void socket_state<Backend>::close_fd() noexcept {
  if (fd < 0) return;
  if (flow_read.in_flight() || wop.in_flight() || pending_read)
    loop->close_now(fd);  // what is in flight on it completes with -ECANCELED
  else
    loop->close_idle(fd);
  fd = -1;
  if (auto f = std::exchange(on_closed, nullptr))
    if (auto owner = closed_owner.lock()) f(owner.get());
}

template <typename Backend>
void socket_state<Backend>::set_op_ref(io_op* op, bool r) noexcept {
  if (!op || !op->in_flight() || op->counts_alive == r) return;
  op->counts_alive = r;
  r ? loop->core().add_ref() : loop->core().release_ref();
}

template <typename Backend>
bool socket_state<Backend>::should_read() const noexcept {
  if (!open() || connecting || !readable || rbuf_eof || flow_read.in_flight() || pending_read) return false;
  if (reads_into_caller) return flowing && !x->onread_buf.empty();
  if (flowing) return rbuf_empty();
  // An empty buffer always reads (Node's read(0) with a high-water mark of 0).
  return !pulled && !read_stopped && (rbuf_empty() || rbuf_bytes < high_water_mark);
}

template <typename Backend>
void socket_state<Backend>::read_more() {
  while (should_read()) {
    flow_read.fd = fd;
    flow_read.counts_alive = ref;
    if (reads_into_caller) {  // the caller's buffer
      flow_read.code = op_code::recv;
      flow_read.args.recv = {x->onread_buf.data(), x->onread_buf.size(), 0};
    } else {  // the backend takes a block when bytes are there
      flow_read.code = op_code::recv_pooled;
      flow_read.args.recv = {nullptr, block_pool::block_size, 0};
    }
    if (!loop->start(flow_read)) return;
    handle_read(flow_read.result);
  }
}

template <typename Backend>
void socket_state<Backend>::read_soon() {
  auto keep = this->shared_from_this();
  loop->post([keep] {
    if (keep->handles > 0 || keep->self) keep->read_more();
  });
}

template <typename Backend>
void socket_state<Backend>::start_flowing() {
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

template <typename Backend>
void socket_state<Backend>::flow() {
  while (flowing && !destroyed && !rbuf_empty()) {
    read_chunk c = take_chunk();
    if (reads_into_caller) {  // back into the caller's buffer, where onread expects it
      auto& buf = x->onread_buf;
      const std::size_t n = std::min(c.left(), buf.size());
      std::copy_n(c.block.data() + c.offset, n, buf.data());
      emit_data({buf.data(), n});
    } else {
      lending::scope lend(c.block);
      emit_data({c.block.data() + c.offset, c.left()});
    }
  }
  if (destroyed) return;
  if (rbuf_empty() && rbuf_eof) return on_eof();
  read_more();
}

template <typename Backend>
void socket_state<Backend>::on_flow_read(io_op* op, int res) noexcept {
  auto* st = static_cast<flow_read_op*>(op)->owner;
  auto keep = st->shared_from_this();
  st->handle_read(res);
  st->read_more();
  if (st->destroyed && st->close_emitted) st->release_self();
}

template <typename Backend>
void socket_state<Backend>::release_self() noexcept {
  if (flow_read.in_flight() || wop.in_flight()) return;
  self.reset();
}

template <typename Backend>
void socket_state<Backend>::handle_read(int res) {
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
    if (reads_into_caller) return emit_data({x->onread_buf.data(), n});
    lending::scope lend(block);
    emit_data({block.data(), n});
    return;
  }
  if (reads_into_caller) {  // read while pausing: onread's buffer is the caller's, so copy
    block = buffer::adopt(block_pool::take(), n);
    std::copy_n(x->onread_buf.data(), n, block.data());
  }
  buffer_chunk(std::move(block));
  serve_parked_read();
}

template <typename Backend>
void socket_state<Backend>::buffer_chunk(buffer block) {
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

template <typename Backend>
auto socket_state<Backend>::take_chunk() noexcept -> read_chunk {
  read_chunk c = std::move(rbuf[rbuf_head++]);
  rbuf_bytes -= c.left();
  if (rbuf_empty()) {
    rbuf.clear();
    rbuf_head = 0;
  }
  return c;
}

template <typename Backend>
std::size_t socket_state<Backend>::take_buffered(std::span<std::byte> dst) {
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

template <typename Backend>
buffer socket_state<Backend>::take_buffered_block() {
  read_chunk c = take_chunk();
  if (c.offset > 0) std::memmove(c.block.data(), c.block.data() + c.offset, c.left());
  const std::size_t n = c.left();
  buffer b = buffer::adopt(std::exchange(c.block, buffer()).release(), n);
  after_consumed();
  return b;
}

template <typename Backend>
void socket_state<Backend>::after_consumed() {
  if (rbuf_empty() && rbuf_eof) {
    auto keep = this->shared_from_this();
    loop->post([keep] {
      if (!keep->destroyed && keep->readable) keep->on_eof();
    });
    return;
  }
  read_more();
}

template <typename Backend>
void socket_state<Backend>::serve_parked_read() {
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

template <typename Backend>
void socket_state<Backend>::emit_data(std::span<const std::byte> chunk) {
  if (reads_into_caller) {
    // Node: callback(nread, buf); `false` pauses. A buffer function is asked for the next buffer.
    auto& e = *x;
    const bool go = e.onread.callback(chunk.size(), e.onread_buf);
    if (e.onread.buffer_fn) e.onread_buf = e.onread.buffer_fn();
    if (!go) pause();
    return;
  }
  if (decoding()) {
    std::string& decoded = x->decoded;
    decoded.clear();
    x->decoder->write_to(decoded, chunk);
    if (!decoded.empty()) events.template emit<"data">(std::as_bytes(std::span(decoded.data(), decoded.size())));
    return;
  }
  events.template emit<"data">(chunk);
}

template <typename Backend>
void socket_state<Backend>::on_eof() {
  readable = false;
  rbuf_eof = false;
  auto keep = this->shared_from_this();
  if (decoding()) {  // what the decoder held back (an incomplete character) comes out now
    std::string& decoded = x->decoded;
    decoded.clear();
    x->decoder->end_to(decoded);
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

template <typename Backend>
void socket_state<Backend>::pause() {
  flowing = false;
  paused = true;
  if (reads_into_caller && flow_read.in_flight()) loop->cancel(flow_read.id);
}

template <typename Backend>
void socket_state<Backend>::uncork() {
  if (corked == 0) return;
  if (--corked == 0 && !destroyed) pump();
}

template <typename Backend>
bool socket_state<Backend>::write(std::span<const std::byte> data, write_callback cb) {
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
    // neither a copy nor an operation. Under io_uring too: the ring would
    // batch the send with the turn's others, but the bytes would then count
    // in writableLength until the next turn, where Node's are gone at once.
    const ssize_t r = send_now(data);
    if (r < 0) return false;  // destroyed
    sent = static_cast<std::size_t>(r);
    if (sent == data.size()) {
      if (!below) after_queue_drained();
      return below;
    }
  }
  chunk c;
  const auto rest = data.subspan(sent);
  if (lending::here().take(rest, c.block))
    c.borrowed = rest;  // a "data" chunk written back: its block, not a copy
  else
    c.data.assign(rest.begin(), rest.end());
  c.cb = std::move(cb);
  enqueue(std::move(c));
  return below;
}

template <typename Backend>
void socket_state<Backend>::submit_awaited(std::span<const std::byte> data, write_waiter* w) {
  touch();
  chunk c;
  c.borrowed = data;
  c.waiter = w;
  enqueue(std::move(c));
}

template <typename Backend>
void socket_state<Backend>::forget_waiter(write_waiter* w) noexcept {
  if (x) {
    std::erase(x->failed_waiters, w);
    std::erase(x->end_waiters, w);
  }
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

template <typename Backend>
void socket_state<Backend>::abort_waiter(write_waiter* w) noexcept {
  for (std::size_t k = queue_head; k < queue.size(); ++k) {
    chunk& c = queue[k];
    if (c.waiter != w || c.cut) continue;
    c.cut = true;
    cut_pending = true;
    if (wop.in_flight() && k < queue_head + in_flight_chunks) {
      loop->cancel(wop.id);  // took() drops it when the send comes back
      return;
    }
    auto keep = this->shared_from_this();
    drop_cut();
    pump();  // tells the waiter; an emptied queue drains (and sends a pending FIN)
    return;
  }
}

template <typename Backend>
void socket_state<Backend>::drop_cut() noexcept {
  if (!std::exchange(cut_pending, false)) return;
  // The chunks a send in flight covers stay (the kernel reads their bytes):
  // took() comes back for them. Those behind may go; the vector moves them,
  // but their bytes stay where they are.
  std::size_t k = queue_head;
  if (wop.in_flight()) {
    for (; k < queue_head + in_flight_chunks && k < queue.size(); ++k) cut_pending = cut_pending || queue[k].cut;
  }
  while (k < queue.size()) {
    chunk& c = queue[k];
    if (!c.cut) {
      ++k;
      continue;
    }
    queued_bytes -= c.left();
    if (c.waiter) {
      c.waiter->written = c.offset;
      finished.push_back({{}, c.waiter, make_error_code(errc::abort_err)});
    }
    queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(k));
  }
  if (queue_head == queue.size()) {
    queue.clear();
    queue_head = 0;
  }
}

template <typename Backend>
void socket_state<Backend>::enqueue(chunk c) {
  queued_bytes += c.left();
  queue.push_back(std::move(c));
  const bool was = std::exchange(in_write, true);  // callbacks of what goes out now run next tick, as in Node
  pump();
  in_write = was;
}

template <typename Backend>
void socket_state<Backend>::pump() {
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

template <typename Backend>
void socket_state<Backend>::start_send() {
  NETXX_ASSERT(!wop.in_flight(), "a send started while one is in flight");
  const std::size_t n = std::min<std::size_t>(queue.size() - queue_head, 64);
  wop.fd = fd;
  wop.counts_alive = true;  // a write request keeps the loop alive, as in libuv
  if (n == 1) {
    const chunk& c = queue_front();
    wop.code = op_code::send;
    wop.args.send = {c.bytes().data() + c.offset, c.left(), 0};
  } else {
    if (!wop.many) wop.many = std::make_unique_for_overwrite<gather>();
    auto& iov = wop.many->iov;
    for (std::size_t i = 0; i < n; ++i) {
      const chunk& c = queue[queue_head + i];
      iov[i] = {const_cast<std::byte*>(c.bytes().data() + c.offset), c.left()};
    }
    msghdr& msg = wop.many->msg;
    msg = {};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = n;
    wop.code = op_code::sendmsg;
    wop.args.sendmsg = {&msg, 0};
  }
  in_flight_chunks = n;
  loop->start(wop);
}

template <typename Backend>
ssize_t socket_state<Backend>::send_now(std::span<const std::byte> data) {
  const int r = try_send(fd, data.data(), data.size(), MSG_DONTWAIT);
  if (r >= 0) {
    bytes_written += static_cast<std::size_t>(r);
    return r;
  }
  if (r == -EAGAIN) return 0;
  destroy(error::from_syscall("write", errno_code(-r)));
  return -1;
}

template <typename Backend>
void socket_state<Backend>::on_write(io_op* op, int res) noexcept {
  auto* st = static_cast<write_op*>(op)->owner;
  auto keep = st->shared_from_this();
  st->took(res);
  st->pump();
  if (st->destroyed && st->close_emitted) st->release_self();
}

template <typename Backend>
void socket_state<Backend>::took(int res) {
  in_flight_chunks = 0;
  if (destroyed) return;
  if (res == -ECANCELED && cut_pending) res = 0;  // abort_waiter() cancelled it: nothing was sent
  if (res < 0) {
    if (res != -EAGAIN) return destroy(error::from_syscall("write", errno_code(-res)));
    return drop_cut();
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
  drop_cut();
}

template <typename Backend>
void socket_state<Backend>::tell_finished() {
  if (telling || finished_head == finished.size()) return;
  telling = true;
  auto keep = this->shared_from_this();
  while (finished_head < finished.size()) {
    finished_write f = std::move(finished[finished_head++]);
    if (f.cb) f.cb({});
    if (f.waiter) f.waiter->done(f.waiter, f.ec);
  }
  finished.clear();
  finished_head = 0;
  telling = false;
}

template <typename Backend>
void socket_state<Backend>::after_queue_drained() {
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

template <typename Backend>
void socket_state<Backend>::destroy_soon() {
  if (destroyed) return;
  if (writable) end({});
  if (finish_emitted) return destroy({});
  events.template once<"finish">([this] { destroy({}); });  // the listener lives in this state
}

template <typename Backend>
void socket_state<Backend>::end(std::span<const std::byte> data, write_callback cb) {
  if (destroyed) {
    // Node: end() after destroy sends nothing; with data, the callback learns
    // that the write failed (ERR_STREAM_DESTROYED, next tick); without, it never runs.
    if (!data.empty() && cb) fail_later(std::move(cb), make_error_code(errc::err_stream_destroyed));
    return;
  }
  if (!data.empty() && writable) write(data, {});
  if (cb) more().end_callbacks.push_back(std::move(cb));
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

template <typename Backend>
void socket_state<Backend>::orphaned() {
  if (!self || destroyed || flowing || pending_read) return;
  if (!readable) {
    maybe_auto_destroy();
    return;
  }
  paused = false;
  start_flowing();
}

template <typename Backend>
void socket_state<Backend>::send_fin() {
  if (connecting) return;  // sent once connected
  fin_sent = true;
  if (fd >= 0) ::shutdown(fd, SHUT_WR);
  // "finish" and the end callbacks come next tick, as in Node.
  auto keep = this->shared_from_this();
  loop->post([keep] {
    if (keep->destroyed && keep->close_emitted) return;
    auto cbs = keep->x ? std::move(keep->x->end_callbacks) : std::vector<write_callback>{};
    keep->finish_emitted = true;
    for (auto& cb : cbs) cb({});  // Node's kOnFinished: end()'s callbacks, then "finish"
    if (keep->destroyed) return;
    keep->events.template emit<"finish">();
    while (keep->x && !keep->x->end_waiters.empty()) {  // one at a time: a resumed waiter may end another's frame
      auto& waiters = keep->x->end_waiters;
      write_waiter* w = waiters.front();
      waiters.erase(waiters.begin());
      w->done(w, {});
    }
    keep->maybe_auto_destroy();
  });
}

template <typename Backend>
void socket_state<Backend>::fail_later(write_callback cb, std::error_code ec) {
  if (!cb) return;
  loop->post([cb = std::move(cb), ec] { cb(ec); });
}

template <typename Backend>
void socket_state<Backend>::touch() noexcept {
  if (timeout_ms <= 0 || !x) return;  // a timeout lives in the extras
  x->last_active = loop->now();
  if (!x->idle_timer.armed()) loop->core().arm_timer(x->idle_timer, timeout_ms);
}

template <typename Backend>
void socket_state<Backend>::set_timeout(std::int64_t ms) {
  if (x) loop->core().disarm_timer(x->idle_timer);
  timeout_ms = ms;
  if (ms <= 0 || destroyed) return;
  more().last_active = loop->now();
  loop->core().arm_timer(x->idle_timer, ms);
}

template <typename Backend>
void socket_state<Backend>::on_idle_timer(timer_node* t) noexcept {
  auto* st = static_cast<idle_timer_node*>(t)->owner;
  if (st->timeout_ms <= 0 || st->destroyed) return;
  const std::int64_t idle = st->loop->now() - st->x->last_active;
  if (idle < st->timeout_ms) {  // there was activity: sleep the rest
    st->loop->core().arm_timer(st->x->idle_timer, st->timeout_ms - idle);
    return;
  }
  auto keep = st->shared_from_this();
  st->events.template emit<"timeout">();  // only an event: nothing is closed
}

template <typename Backend>
void socket_state<Backend>::reopen() {
  destroyed = false;
  close_emitted = false;
  readable = writable = true;
  fin_sent = false;
  finish_emitted = false;
  end_called = end_emitted = false;

  bytes_read = bytes_written = 0;  // a new handle in Node, with its own counts
  flowing = false;
  need_drain = false;
  rbuf.clear();
  rbuf_head = rbuf_bytes = 0;
  rbuf_eof = false;
  peer_ended = false;
  reset_on_destroy = false;
  if (x) {
    x->destroy_error.reset();
    x->peer_name.reset();
    x->sock_name.reset();
    x->connect_failure.reset();
    x->connect.reset();
  }
}

template <typename Backend>
void socket_state<Backend>::start_connect(const connect_options& o) {
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
    more().keep_alive_delay_ms = o.keep_alive_initial_delay < 0 ? 0 : o.keep_alive_initial_delay;
  }
  if (event_face) hold();
  touch();
  more().connect.start(o, std::move(t));
}

template <typename Backend>
void socket_state<Backend>::connected(int new_fd, int dom) {
  auto keep = this->shared_from_this();
  fd = new_fd;
  domain = dom;
  connecting = false;
  if (event_face) hold();
  if (dom != AF_UNIX) {
    if (no_delay_on_connect) set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    if (keep_alive_on_connect) set_keep_alive(fd, true, x ? x->keep_alive_delay_ms : 0);
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
  if ((flowing || reads_into_caller || events.listener_count("data") > 0) && !paused) flowing = true;
  // An awaiting coroutine goes first: its read, if it makes one, is the
  // read (no read ahead to copy from).
  if (x)
    if (auto w = std::exchange(x->connect_waiter, {})) detail::resume(w);
  read_more();  // Node's afterConnect: read(0), into the buffer if nobody consumes
}

template <typename Backend>
void socket_state<Backend>::start_parked_read() {
  io_op* op = pending_read;
  op->fd = fd;
  op->counts_alive = ref;
  if (loop->start(*op)) op->complete(op, op->result);
}

template <typename Backend>
void socket_state<Backend>::destroy(std::optional<error> err) {
  if (destroyed) return;
  const bool was_connecting = connecting;
  destroyed = true;
  readable = writable = false;
  flowing = false;
  // A connect in flight stops; a lookup still out is ignored when it answers.
  if (x) x->connect.stop();
  connecting = false;
  if (x) loop->core().disarm_timer(x->idle_timer);
  if (err)
    more().destroy_error = std::make_unique<error>(*err);
  else if (x)
    x->destroy_error.reset();
  if (reset_on_destroy && fd >= 0) {
    // resetAndDestroy(): SO_LINGER with a zero timeout makes close() send an RST.
    const linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  close_fd();
  if (x) x->abort_cb.reset();
  // A read awaited while connecting was never started: it fails now.
  if (pending_read && !pending_read->in_flight()) {
    // Failed next tick, if its frame is still there then (the read
    // awaiter's destructor clears failed_read).
    io_op* failed = more().failed_read = std::exchange(pending_read, nullptr);
    failed->result = -ECANCELED;
    auto keep = this->shared_from_this();
    loop->post([keep] {
      if (io_op* op = std::exchange(keep->x->failed_read, nullptr)) op->complete(op, -ECANCELED);
    });
  }
  const bool awaited = x && x->connect_waiter;
  if (awaited)
    x->connect_failure = std::make_unique<error>(err ? *err : error(errc::err_socket_closed_before_connection));
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
    if (queue[k].waiter) more().failed_waiters.push_back(queue[k].waiter);
    lending::here().retire(queue[k].block);
  }
  if (x) {
    for (auto& cb : x->end_callbacks) failed.emplace_back(std::move(cb), ec);
    x->end_callbacks.clear();
    x->failed_waiters.insert(x->failed_waiters.end(), x->end_waiters.begin(), x->end_waiters.end());
    x->end_waiters.clear();
  }
  queue.clear();
  queue_head = 0;
  queued_bytes = 0;
  auto keep = this->shared_from_this();
  // "error" then "close", next tick, as Node's destroy() emits them.
  loop->post([keep, err = std::move(err), failed = std::move(failed), awaited, ec]() mutable {
    for (auto& [cb, code] : failed) cb(code);
    // One at a time: a resumed waiter may end another waiter's frame.
    while (keep->x && !keep->x->failed_waiters.empty()) {
      auto& waiters = keep->x->failed_waiters;
      write_waiter* w = waiters.front();
      waiters.erase(waiters.begin());
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
    if (keep->x)
      if (auto w = std::exchange(keep->x->connect_waiter, {})) detail::resume(w);
  });
}

}  // namespace detail
NETXX_END_NAMESPACE
