// SPDX-License-Identifier: BSL-1.0
#pragma once
/// Awaitable events: Node's `events.once(emitter, name)` and
/// `events.on(emitter, name)`, for a net::socket, a net::server and any
/// netxx event_emitter.
///
///   co_await net::once<"connect">(s);                    // void: "connect" has no argument
///   bool had_error = co_await net::once<"close">(s);     // one argument: its value
///   auto [ip, port, family] = co_await net::once<"connectionAttempt">(s);  // several: a std::tuple
///
///   auto chunks = net::on<"data">(s, {.close = {"end"}});
///   while (auto chunk = co_await chunks.next()) use(*chunk);  // std::vector<std::byte>, a copy
///
/// The name is a template argument, as in `emitter.on<"data">(listener)`:
/// what the await gives back depends on the event, so the name must be a
/// type, not a value (`once(s, "connect")` cannot pick its result type in C++).
/// An unknown name is a compile error.
///
/// Arguments are kept by value, as a JS promise keeps them: a span becomes a
/// std::vector (a "data" chunk is only valid during its emit), a string_view
/// a std::string, a `const error&` a net::error.
///
/// Semantics are Node's (lib/events.js), checked against Node v23.5.0:
/// - once() listens from the call on (not from the co_await), resolves with
///   the first emission, or throws the net::error if "error" comes first
///   (not when awaiting "error" itself: then it resolves with the error);
///   both listeners are removed either way. Its "error" listener counts as
///   one: a socket's error is handled, not fatal.
/// - on() queues the emissions nobody awaits yet, and next() hands them out
///   in order; "error" makes the next() after the queued ones throw, then
///   the sequence is over; one of the `close` events (Node's `close` option)
///   ends it after the queued ones (next() gives an empty optional); so does
///   the options' `signal` (Node's `{ signal }`), but with ABORT_ERR thrown
///   once, as Node's iterator rejects. Destroying the sequence removes its
///   listeners. A socket drops its listeners after "close": without a close
///   event, next() then throws the ABORT_ERR below (Node's iterator would
///   wait forever); `{.close = {"close"}}` ends the sequence there instead.
///   With `high_water_mark` (Node's highWaterMark), a socket is paused while
///   more emissions than that wait, and resumed below `low_water_mark`.
/// - The waiter resumes on the loop's next turn, never inside the emit: the
///   emitter is free to be destroyed by what runs after the co_await (a JS
///   promise, too, resumes after the emit returned).
///
/// Lifetime (the emitter destroyed while awaited): a socket or a server is
/// held alive by the awaitable (a handle, as the promise's closure keeps a
/// Node socket); a plain event_emitter is not owned. Whenever the listeners
/// of an awaitable go without it removing them (a plain emitter destroyed,
/// remove_all_listeners(), a socket dropping its listeners after "close"),
/// its event can never come, and the waiter resumes with
/// net::error(errc::abort_err, "The awaited event can no longer be emitted: ...").
/// (Node's promise would stay pending forever.)
///
/// Abortable: once()'s awaitable and on()'s next() have abort_core() and
/// abort() (include/netxx/abortable.hpp): `net::abortable(net::once<"connect">(s), token)`.
/// An aborted next() loses nothing: what was queued, and what comes later,
/// is handed to the next next(). One next() at a time per sequence.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "config.hpp"
#include "detail/loop_core.hpp"
#include "detail/op.hpp"
#include "errors.hpp"
#include "events.hpp"
#include "loop.hpp"
#include "server.hpp"
#include "socket.hpp"
#include "task.hpp"

NETXX_BEGIN_NAMESPACE

namespace detail {

// --- what an awaited event keeps of its arguments ----------------------------------

template <typename T>
struct kept_arg {
  using type = T;
};
template <typename T, std::size_t N>
struct kept_arg<std::span<T, N>> {
  using type = std::vector<std::remove_const_t<T>>;
};
template <>
struct kept_arg<std::string_view> {
  using type = std::string;
};
template <typename T>
using kept_t = typename kept_arg<std::remove_cvref_t<T>>::type;

template <typename T>
kept_t<T> keep_arg(const T& v) {
  if constexpr (std::is_same_v<kept_t<T>, std::remove_cvref_t<T>>) {
    return v;
  } else {
    return kept_t<T>(v.begin(), v.end());
  }
}

// --- the emitters once() and on() accept ---------------------------------------------

template <typename Emitter, fixed_string Name>
struct event_of;
template <typename... Events, fixed_string Name>
struct event_of<event_emitter<Events...>, Name> {
  static constexpr std::size_t index = find_event<Events...>(Name.view());
  static_assert(index != no_event, "net::once<Name> / net::on<Name>: this emitter has no event of that name");
  static constexpr bool has_error = find_event<Events...>("error") != no_event;
  using signature = typename nth_event<index, Events...>::signature;
};

template <typename Signature>
struct event_args;
template <typename... Args>
struct event_args<void(Args...)> {
  using kept = std::tuple<kept_t<Args>...>;
  // on()'s element: the value of a one-argument event, else the tuple.
  using element = std::conditional_t<sizeof...(Args) == 1, std::tuple_element_t<0, std::tuple<kept_t<Args>..., void>>,
                                     std::tuple<kept_t<Args>...>>;
};

/// How once() and on() reach an emitter: its event list, its listeners (by
/// the event's name as a template argument), what keeps it alive, its loop.
template <typename E>
struct emitter_access;

template <typename... Events>
struct emitter_access<event_emitter<Events...>> {
  using emitter = event_emitter<Events...>;
  using holder = emitter*;           // not owned: see the header's "Lifetime"
  static constexpr bool held = false;
  static holder hold(emitter& e) noexcept { return &e; }
  static emitter& get(holder h) noexcept { return *h; }
  template <fixed_string Name, typename F>
  static listener_id on(emitter& e, F&& f) {
    return e.template on<Name>(std::forward<F>(f));
  }
  template <fixed_string Name>
  static void off(emitter& e, listener_id id) {
    e.off(Name.view(), id);
  }
  static loop_core& core(emitter&) { return loop::current().core(); }
};

template <typename Backend>
struct emitter_access<basic_socket<Backend>> {
  using emitter = socket_emitter;
  using holder = basic_socket<Backend>;  // a handle: the socket lives while awaited
  static constexpr bool held = true;
  static holder hold(basic_socket<Backend>& s) { return s; }
  static basic_socket<Backend>& get(holder& h) noexcept { return h; }
  template <fixed_string Name, typename F>
  static listener_id on(basic_socket<Backend>& s, F&& f) {
    return s.subscribe(Name.view(), std::forward<F>(f));  // as socket.on(): "data" starts the flow
  }
  template <fixed_string Name>
  static void off(basic_socket<Backend>& s, listener_id id) {
    s.off(Name.view(), id);
  }
  static loop_core& core(basic_socket<Backend>& s) { return socket_access::state(s)->loop->core(); }
};

template <typename Backend>
struct emitter_access<basic_server<Backend>> {
  using emitter = server_emitter<Backend>;
  using holder = basic_server<Backend>;  // a handle: the server lives while awaited
  static constexpr bool held = true;
  static holder hold(basic_server<Backend>& s) { return s; }
  static basic_server<Backend>& get(holder& h) noexcept { return h; }
  template <fixed_string Name, typename F>
  static listener_id on(basic_server<Backend>& s, F&& f) {
    return s.subscribe(Name.view(), std::forward<F>(f));
  }
  template <fixed_string Name>
  static void off(basic_server<Backend>& s, listener_id id) {
    s.off(Name.view(), id);
  }
  // A server is used on the thread of its loop, which is that thread's loop.
  static loop_core& core(basic_server<Backend>&) { return basic_loop<Backend>::current().core(); }
};

template <typename E>
using emitter_type = typename emitter_access<E>::emitter;

// --- listeners that know when they are gone ------------------------------------------

// What the listeners of one awaitable share with it. The awaitable clears
// `owner` before it removes them (or when it goes); a listener destroyed
// while `owner` is set was removed by someone else (the emitter died, or
// dropped its listeners): its event can never come, and the owner is told.
struct event_link {
  void* owner = nullptr;
  void (*gone)(void* owner) noexcept = nullptr;
};

class event_watch {
 public:
  explicit event_watch(std::shared_ptr<event_link> l) noexcept : l_(std::move(l)) {}
  event_watch(event_watch&&) noexcept = default;
  event_watch(const event_watch&) = delete;
  event_watch& operator=(const event_watch&) = delete;
  event_watch& operator=(event_watch&&) = delete;
  ~event_watch() {
    if (l_ && l_->owner) l_->gone(std::exchange(l_->owner, nullptr));
  }
  template <typename Owner>
  Owner* owner() const noexcept {
    return static_cast<Owner*>(l_->owner);
  }

 private:
  std::shared_ptr<event_link> l_;
};

// A listener of event `Which` (a tag the owner dispatches on) of signature Sig.
template <typename Owner, int Which, typename Sig>
struct event_forwarder;
template <typename Owner, int Which, typename... Args>
struct event_forwarder<Owner, Which, void(Args...)> {
  event_watch watch;
  void operator()(Args&... args) {
    if (Owner* o = watch.owner<Owner>()) o->template deliver<Which>(args...);
  }
};

inline error event_gone_error() {
  return error(errc::abort_err,
               "The awaited event can no longer be emitted: the emitter was destroyed or its listeners were removed");
}

// An io_op completed by the loop's deferred queue: how an awaited event
// resumes its waiter on the next turn, outside the emit. Not counted as
// alive (a pending promise keeps no Node process running); what will emit
// (a socket connecting, a server listening) keeps the loop going. (A
// next() under on()'s signal is the exception: see its await_suspend.)
struct deferred_wakeup : io_op {
  deferred_wakeup() noexcept {
    code = op_code::nop;
    counts_alive = false;
  }
  void arm(loop_core& core) { core.register_op(*this); }
  // Resumes the waiter on the next turn, once.
  void wake(loop_core& core) noexcept {
    if (in_flight() && !queued) core.defer_completion(*this, 0);
  }
  void disarm(loop_core& core) noexcept {
    if (!in_flight()) return;
    core.undefer(*this);
    core.abandon_op(*this, /*keep_slot=*/false);
  }
};

}  // namespace detail

/// What `net::once<Name>(emitter)` returns: the awaitable of Node's
/// `events.once(emitter, name)`. Listens from its construction on.
template <typename E, fixed_string Name>
class once_awaitable : detail::deferred_wakeup {
  using access = detail::emitter_access<E>;
  using ev = detail::event_of<detail::emitter_type<E>, Name>;
  using args = detail::event_args<typename ev::signature>;
  static constexpr bool awaits_error = Name.view() == std::string_view("error");
  static constexpr bool watches_error = ev::has_error && !awaits_error;
  static constexpr std::size_t arity = std::tuple_size_v<typename args::kept>;

 public:
  /// Listens for Name (and "error") on e.
  explicit once_awaitable(E& e)
      : holder_(access::hold(e)), core_(&access::core(e)), link_(std::make_shared<detail::event_link>()) {
    complete = &on_complete;
    link_->owner = this;
    link_->gone = &on_gone;
    auto& em = access::get(holder_);
    id_ = access::template on<Name>(em, forwarder<0>{detail::event_watch(link_)});
    if constexpr (watches_error) {
      error_id_ = access::template on<"error">(em, forwarder<1>{detail::event_watch(link_)});
    }
  }
  once_awaitable(const once_awaitable&) = delete;
  once_awaitable& operator=(const once_awaitable&) = delete;
  ~once_awaitable() {
    detach();
    disarm(*core_);
  }

  bool await_ready() const noexcept { return outcome_ != outcome::waiting; }
  void await_suspend(std::coroutine_handle<> h) {
    waiter_ = h;
    arm(*core_);
  }
  /// Nothing for a no-argument event, the value of a one-argument event, a
  /// std::tuple of several.
  auto await_resume() {
    switch (outcome_) {
      case outcome::failed: throw std::move(*error_);
      case outcome::gone: throw detail::event_gone_error();
      case outcome::aborted: throw error(errc::abort_err);
      default: break;
    }
    if constexpr (arity == 0) {
      return;
    } else if constexpr (arity == 1) {
      return std::move(std::get<0>(*value_));
    } else {
      return std::move(*value_);
    }
  }

  /// The abort protocol: the loop abort() is called on.
  detail::loop_core& abort_core() const noexcept { return *core_; }
  /// The abort protocol: stops listening, and the waiter throws ABORT_ERR
  /// (unless the event already came).
  void abort() noexcept {
    if (outcome_ != outcome::waiting) return;
    outcome_ = outcome::aborted;
    detach();
    wake(*core_);
  }

  // Called by the listeners (during the emit).
  template <int Which, typename... A>
  void deliver(A&... a) {
    if (outcome_ != outcome::waiting) return;
    if constexpr (Which == 0) {
      value_.emplace(detail::keep_arg(a)...);
      outcome_ = outcome::value;
    } else {
      error_.emplace(a...);
      outcome_ = outcome::failed;
    }
    detach();  // during the emit: the emitter parks them
    wake(*core_);
  }

 private:
  template <int Which>
  using forwarder = detail::event_forwarder<once_awaitable, Which,
                                            std::conditional_t<Which == 0, typename ev::signature, void(const error&)>>;
  enum class outcome : std::uint8_t { waiting, value, failed, gone, aborted };

  // Removes both listeners, unless someone else already did (then the
  // emitter may be gone: only a held one is touched).
  void detach() noexcept {
    if (!link_) return;
    const bool removed_elsewhere = link_->owner == nullptr;
    link_->owner = nullptr;
    link_.reset();
    if (removed_elsewhere && !access::held) return;
    auto& em = access::get(holder_);
    access::template off<Name>(em, id_);
    if constexpr (watches_error) access::template off<"error">(em, error_id_);
  }
  static void on_gone(void* self) noexcept {
    auto* s = static_cast<once_awaitable*>(self);
    if (s->outcome_ == outcome::waiting) s->outcome_ = outcome::gone;
    if (!access::held) s->link_.reset();  // the emitter may be mid-destruction: never call it again
    s->wake(*s->core_);
  }
  static void on_complete(detail::io_op* op, int) noexcept {
    detail::resume(static_cast<once_awaitable*>(op)->waiter_);
  }

  typename access::holder holder_;
  detail::loop_core* core_;
  std::shared_ptr<detail::event_link> link_;
  listener_id id_{};
  listener_id error_id_{};
  std::coroutine_handle<> waiter_;
  std::optional<typename args::kept> value_;
  std::optional<error> error_;
  outcome outcome_ = outcome::waiting;
};

/// Node's `events.once(emitter, name)`: `co_await net::once<"connect">(s)`.
/// E is a net::socket, a net::server or an event_emitter. See the top of this header.
template <fixed_string Name, typename E>
once_awaitable<E, Name> once(E& emitter) {
  return once_awaitable<E, Name>(emitter);
}

/// The options of net::on(), Node's `events.on(emitter, name, options)`.
template <typename E>
struct on_options {
  using key = typename detail::key_for<detail::emitter_type<E>>::type;
  /// Node's `close`: events that end the sequence (after what was queued).
  /// Checked at compile time: `{.close = {"end"}}`.
  std::vector<key> close = {};
  /// Node's `signal`: stopping it ends the sequence; the pending (or next)
  /// next() throws ABORT_ERR once, and the listeners are removed. Any thread.
  std::stop_token signal = {};
  /// Node's `highWaterMark`: an emitter with pause() and resume() (a socket)
  /// is paused while more than this many emissions wait in the queue...
  std::size_t high_water_mark = static_cast<std::size_t>(-1);
  /// Node's `lowWaterMark`: ...and resumed once fewer than this many do.
  std::size_t low_water_mark = 1;
};

/// What `net::on<Name>(emitter)` returns: Node's `events.on(emitter, name)`,
/// an async sequence of the emissions. Movable; destroying it removes its listeners.
template <typename E, fixed_string Name>
class event_sequence {
  using access = detail::emitter_access<E>;
  using ev = detail::event_of<detail::emitter_type<E>, Name>;
  using args = detail::event_args<typename ev::signature>;
  static constexpr bool watches_error = ev::has_error && Name.view() != std::string_view("error");
  struct state;

 public:
  /// One emission: the value of a one-argument event, else a std::tuple of its arguments.
  using value_type = typename args::element;
  class next_awaitable;

  event_sequence(E& e, on_options<E> o) : s_(std::make_shared<state>(e)) {
    auto& st = *s_;
    st.link->owner = &st;
    st.link->gone = &state::on_gone;
    auto& em = access::get(st.holder);
    st.id = access::template on<Name>(em, forwarder<0>{detail::event_watch(st.link)});
    if constexpr (watches_error) {
      st.error_id = access::template on<"error">(em, forwarder<1>{detail::event_watch(st.link)});
    }
    for (const auto& k : o.close) st.subscribe_close(k.index());
    st.high_water_mark = o.high_water_mark;
    st.low_water_mark = o.low_water_mark;
    if (o.signal.stop_possible()) {
      st.signal_cb.emplace(std::move(o.signal), stopper{std::weak_ptr<state>(s_), st.core});
    }
  }
  event_sequence(event_sequence&&) noexcept = default;
  event_sequence& operator=(event_sequence&&) noexcept = default;
  ~event_sequence() = default;

  /// The next emission; an empty optional once the sequence ended (a close
  /// event, the signal). Throws the "error" the emitter emitted.
  next_awaitable next() { return next_awaitable(s_); }

  /// Emissions received and not yet handed out.
  [[nodiscard]] std::size_t queued() const noexcept { return s_ ? s_->queue.size() : 0; }

  class next_awaitable : detail::deferred_wakeup {
   public:
    explicit next_awaitable(std::shared_ptr<state> s) : s_(std::move(s)) {
      complete = &on_complete;
    }
    next_awaitable(const next_awaitable&) = delete;
    next_awaitable& operator=(const next_awaitable&) = delete;
    ~next_awaitable() {
      if (s_ && s_->waiter == this) s_->waiter = nullptr;
      if (s_) disarm(*s_->core);
    }
    bool await_ready() const noexcept { return !s_ || s_->ready(); }
    void await_suspend(std::coroutine_handle<> h) {
      NETXX_ASSERT(!s_->waiter, "net::on(): one next() at a time per sequence");
      waiter_ = h;
      s_->waiter = this;
      // A signal another thread may stop is work that can still come: it
      // keeps run() going, as Node's pending AbortSignal.timeout does.
      counts_alive = s_->signal_cb.has_value();
      arm(*s_->core);
    }
    std::optional<value_type> await_resume() {
      if (aborted_) throw error(errc::abort_err);
      if (!s_) return std::nullopt;
      return s_->take();
    }
    /// The abort protocol: the loop abort() is called on.
    detail::loop_core& abort_core() const noexcept { return *s_->core; }
    /// The abort protocol: this next() throws ABORT_ERR; the sequence goes
    /// on, with what was queued still queued.
    void abort() noexcept {
      if (s_->waiter != this) return;  // already woken: the outcome stands
      s_->waiter = nullptr;
      aborted_ = true;
      wake(*s_->core);
    }

   private:
    friend struct event_sequence::state;
    void woken() noexcept { wake(*s_->core); }
    static void on_complete(detail::io_op* op, int) noexcept {
      detail::resume(static_cast<next_awaitable*>(op)->waiter_);
    }
    std::shared_ptr<state> s_;
    std::coroutine_handle<> waiter_;
    bool aborted_ = false;
  };

 private:
  template <int Which>
  using forwarder =
      detail::event_forwarder<state, Which, std::conditional_t<Which == 0, typename ev::signature,
                                                               std::conditional_t<Which == 1, void(const error&), void()>>>;

  // Runs on the stopping thread; the loop's thread does the rest.
  struct stopper {
    std::weak_ptr<state> s;
    detail::loop_core* core;
    void operator()() const {
      if (core->in_loop_thread()) {
        if (auto st = s.lock()) st->stop();
        return;
      }
      if (core->enqueue_post([s = s] {
            if (auto st = s.lock()) st->stop();
          }))
        core->wake();
    }
  };

  struct state {
    explicit state(E& e) : holder(access::hold(e)), core(&access::core(e)), link(std::make_shared<detail::event_link>()) {}
    state(const state&) = delete;
    state& operator=(const state&) = delete;
    ~state() {
      signal_cb.reset();
      detach();
      if constexpr (pausable) {
        if (paused) access::get(holder).resume();  // leaving the loop early leaves the socket as it found it
      }
    }

    bool ready() const noexcept { return !queue.empty() || err || ended || gone || stopped; }

    std::optional<value_type> take() {
      if (!queue.empty()) {
        std::optional<value_type> v(std::move(queue.front()));
        queue.pop_front();
        reserved = false;
        if (paused && queue.size() < low_water_mark) {
          paused = false;
          if constexpr (pausable) access::get(holder).resume();
        }
        return v;
      }
      if (err) {
        ended = true;
        auto e = std::move(*err);
        err.reset();
        throw e;
      }
      if (stopped) {  // ABORT_ERR once, then the end, as Node's iterator
        stopped = false;
        ended = true;
        throw error(errc::abort_err);
      }
      if (gone && !ended) {
        ended = true;
        throw detail::event_gone_error();
      }
      return std::nullopt;
    }

    template <int Which, typename... A>
    void deliver(A&... a) {
      if (ended || err || stopped) return;
      if constexpr (Which == 0) {
        if constexpr (sizeof...(A) == 1) {
          queue.emplace_back(detail::keep_arg(a)...);
        } else {
          queue.emplace_back(value_type(detail::keep_arg(a)...));
        }
        // Node counts only what nobody awaits: the one a waiting next() is
        // woken for is not counted.
        if (waiter) reserved = true;
        if constexpr (pausable) {
          if (!paused && queue.size() - reserved > high_water_mark) {
            paused = true;
            access::get(holder).pause();
          }
        }
      } else if constexpr (Which == 1) {
        err.emplace(a...);
        detach();  // Node's errorHandler then closeHandler: no more events
      } else {
        ended = true;
        detach();
      }
      wake_waiter();
    }

    void stop() {
      if (ended || stopped) return;
      stopped = true;
      detach();
      wake_waiter();
    }

    void wake_waiter() noexcept {
      if (auto* w = std::exchange(waiter, nullptr)) w->woken();
    }

    void subscribe_close(std::size_t index) { subscribe_close(index, events_list{}); }

    static void on_gone(void* self) noexcept {
      auto* s = static_cast<state*>(self);
      s->gone = true;
      if (!access::held) s->link.reset();  // the emitter may be mid-destruction: never call it again
      s->wake_waiter();
    }

    // Removes every listener, unless someone else already did (then the
    // emitter may be gone: only a held one is touched).
    void detach() noexcept {
      if (!link) return;
      const bool removed_elsewhere = link->owner == nullptr;
      link->owner = nullptr;
      link.reset();
      if (removed_elsewhere && !access::held) return;
      auto& em = access::get(holder);
      access::template off<Name>(em, id);
      if constexpr (watches_error) access::template off<"error">(em, error_id);
      for (auto [index, cid] : close_ids) off_close(em, index, cid, events_list{});
      close_ids.clear();
    }

    template <typename X>
    struct list_of;
    template <typename... Events>
    struct list_of<event_emitter<Events...>> {
      using type = std::tuple<Events...>;
    };
    using events_list = typename list_of<detail::emitter_type<E>>::type;

    template <typename... Events>
    void subscribe_close(std::size_t index, std::tuple<Events...>) {
      auto& em = access::get(holder);
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((index == I ? (void)close_ids.emplace_back(
                           I, access::template on<Events::literal>(em, forwarder<2>{detail::event_watch(link)}))
                     : void()),
         ...);
      }(std::index_sequence_for<Events...>{});
    }
    template <typename Em, typename... Events>
    static void off_close(Em& em, std::size_t index, listener_id cid, std::tuple<Events...>) {
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((index == I ? access::template off<Events::literal>(em, cid) : void()), ...);
      }(std::index_sequence_for<Events...>{});
    }

    // Node pauses only an emitter that has pause() and resume(); a held one
    // (a socket) is still there to be resumed.
    static constexpr bool pausable = access::held && requires(E& e) {
      e.pause();
      e.resume();
    };

    typename access::holder holder;
    detail::loop_core* core;
    std::shared_ptr<detail::event_link> link;
    std::size_t high_water_mark = static_cast<std::size_t>(-1);
    std::size_t low_water_mark = 1;
    bool paused = false;    // by this sequence, at the high-water mark
    bool reserved = false;  // the queue's first is for the next() being woken
    listener_id id{};
    listener_id error_id{};
    std::vector<std::pair<std::size_t, listener_id>> close_ids;
    std::deque<value_type> queue;
    std::optional<error> err;
    next_awaitable* waiter = nullptr;
    std::optional<std::stop_callback<stopper>> signal_cb;
    bool ended = false;
    bool gone = false;
    bool stopped = false;
  };

  std::shared_ptr<state> s_;
};

/// Node's `events.on(emitter, name[, options])`: an async sequence of the
/// emissions of Name, `while (auto v = co_await seq.next())`. See the top of this header.
template <fixed_string Name, typename E>
event_sequence<E, Name> on(E& emitter, std::type_identity_t<on_options<E>> options = {}) {
  return event_sequence<E, Name>(emitter, std::move(options));
}

NETXX_END_NAMESPACE
