// SPDX-License-Identifier: BSL-1.0
#pragma once
/// Iterating a socket: Node's `for await (const chunk of socket)`.
///
///   auto chunks = net::chunks(s);
///   while (net::buffer chunk = co_await chunks.next())  // empty: the end of the stream
///     total += chunk.size();
///
///   // or, as an async range:
///   for (auto it = co_await chunks.begin(); it != chunks.end(); co_await ++it)
///     total += it->size();
///
/// Each chunk is one `co_await s.read()`: the bytes that arrived, up to
/// 64 KiB, in a block lent by the pool (no copy; the block goes back when
/// the net::buffer is destroyed). Backpressure as Node's async iterator
/// gives it: nothing is read until the loop asks for the next chunk (the
/// kernel's receive window then pushes back on the peer), so a slow body
/// holds at most one chunk and what the kernel buffers.
///
/// The end of the stream (the peer's FIN) ends the sequence: next() gives an
/// empty buffer, and keeps giving one without reading again. A read's error
/// ("read ECONNRESET", ERR_SOCKET_CLOSED after destroy()) propagates from
/// next() and ends the sequence too, as an error ends Node's for await.
/// ABORT_ERR (an aborted next(): `co_await net::timeout(chunks.next(), 5s)`,
/// see abortable.hpp) does not end it: the aborted read loses no byte, and
/// the next next() reads on.
///
/// When the sequence goes (the loop left, normally, by an error or early),
/// the socket is destroyed, as Node's for await destroys the stream in its
/// finally (readable.iterator()'s destroyOnReturn, true by default): keep
/// the sequence in the scope of the loop. `net::chunks(s, {.destroy_on_return
/// = false})` leaves the socket as it is (to answer on a half-open one, to
/// read on with s.read()), as `socket.iterator({ destroyOnReturn: false })`.

#include <coroutine>
#include <cstddef>
#include <optional>
#include <utility>

#include "buffer.hpp"
#include "config.hpp"
#include "detail/loop_core.hpp"
#include "errors.hpp"
#include "socket.hpp"

NETXX_BEGIN_NAMESPACE

/// The options of net::chunks(), Node's `readable.iterator(options)`.
struct chunks_options {
  /// Node's destroyOnReturn: destroy the socket when the sequence goes.
  bool destroy_on_return = true;
};

/// What `net::chunks(s)` returns: the chunks of a socket, read one at a time.
template <typename Backend>
class basic_chunks {
  using read_awaitable = typename basic_socket<Backend>::pooled_read_awaitable;

 public:
  template <bool Iterating>
  class step_awaitable;
  /// What next() returns: resumes with the chunk.
  using next_awaitable = step_awaitable<false>;
  /// What begin() and ++it return: resumes with the iterator.
  using advance_awaitable = step_awaitable<true>;
  class iterator;
  struct sentinel {};

  /// Reads from s (a handle: the socket lives while the sequence does).
  explicit basic_chunks(basic_socket<Backend> s, chunks_options o = {}) : s_(std::move(s)), options_(o) {}
  /// Never while a next() is pending (it points at this object).
  basic_chunks(basic_chunks&&) noexcept = default;
  basic_chunks& operator=(basic_chunks&&) = delete;
  /// Destroys the socket unless destroy_on_return is false (Node's finally).
  ~basic_chunks() {
    if (options_.destroy_on_return && s_ && !s_.destroyed()) s_.destroy();
  }

  /// The next chunk; an empty buffer at the end of the stream.
  next_awaitable next() { return next_awaitable(*this); }
  /// True once the end of the stream (or an error) ended the sequence.
  [[nodiscard]] bool ended() const noexcept { return ended_; }
  /// The socket read from.
  basic_socket<Backend>& socket() noexcept { return s_; }

  /// Reads the first chunk: `for (auto it = co_await chunks.begin(); it != chunks.end(); co_await ++it)`.
  advance_awaitable begin() { return advance_awaitable(*this); }
  /// The end of the stream.
  sentinel end() const noexcept { return {}; }

  /// The position of an async range over the chunks: `*it` is the current
  /// chunk (a net::buffer, which may be moved out), `co_await ++it` reads the next.
  class iterator {
   public:
    buffer& operator*() const noexcept { return c_->current_; }
    buffer* operator->() const noexcept { return &c_->current_; }
    /// Reads the next chunk, dropping the current one (its block goes back first).
    advance_awaitable operator++() {
      c_->current_.reset();
      return advance_awaitable(*c_);
    }
    friend bool operator==(const iterator& it, sentinel) noexcept { return !*it; }

   private:
    friend class basic_chunks;
    explicit iterator(basic_chunks* c) noexcept : c_(c) {}
    basic_chunks* c_;
  };

  /// One read: the pooled read of the socket, none once the stream ended.
  template <bool Iterating>
  class step_awaitable {
   public:
    step_awaitable(const step_awaitable&) = delete;
    step_awaitable& operator=(const step_awaitable&) = delete;
    ~step_awaitable() = default;

    bool await_ready() const noexcept { return c_->ended_; }
    bool await_suspend(std::coroutine_handle<> h) {
      read_.emplace(detail::socket_access::state(c_->s_));
      return read_->await_suspend(h);
    }
    /// next(): the chunk. begin() and ++it: the iterator (the chunk is *it).
    auto await_resume() {
      buffer b = read_ ? take() : buffer();
      if constexpr (Iterating) {
        c_->current_ = std::move(b);
        return iterator(c_);
      } else {
        return b;
      }
    }

    /// The abort protocol: the socket's loop (the read's, and known before it starts).
    detail::loop_core& abort_core() const noexcept { return detail::socket_access::state(c_->s_)->loop->core(); }
    /// The abort protocol: aborts the read in flight (it loses no byte).
    void abort() noexcept {
      // The read's own abort() (socket_awaitables.hpp, issue 14): the test
      // keeps this building on a tree that does not have it yet.
      if constexpr (requires(read_awaitable& r) { r.abort(); }) {
        if (read_) read_->abort();
      }
    }

   private:
    friend class basic_chunks;
    friend class iterator;
    explicit step_awaitable(basic_chunks& c) noexcept : c_(&c) {}

    buffer take() {
      try {
        buffer b = read_->await_resume();
        if (!b) c_->ended_ = true;
        return b;
      } catch (const error& e) {
        if (e.code() != make_error_code(errc::abort_err)) c_->ended_ = true;
        throw;
      }
    }

    basic_chunks* c_;
    std::optional<read_awaitable> read_;
  };

 private:
  basic_socket<Backend> s_;
  chunks_options options_;
  buffer current_;
  bool ended_ = false;
};

/// Node's `for await (const chunk of socket)`: the chunks of s until the end
/// of the stream (see the top of this header).
template <typename Backend>
basic_chunks<Backend> chunks(basic_socket<Backend> s, chunks_options o = {}) {
  return basic_chunks<Backend>(std::move(s), o);
}

NETXX_END_NAMESPACE
