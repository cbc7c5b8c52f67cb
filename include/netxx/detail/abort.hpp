// SPDX-License-Identifier: BSL-1.0
#pragma once
// How a std::stop_token reaches an operation that is waiting: the machinery
// behind net::abortable, net::timeout (abortable.hpp) and a task's own token
// (task_promise_base::await_transform). Included at the end of task.hpp.
//
// The protocol an awaitable follows to be abortable (a leaf operation):
//
//   detail::loop_core& abort_core() const noexcept;  // the loop it runs on
//   void abort() noexcept;
//
// abort() is called on that loop's thread, only while the awaiting coroutine
// is suspended in the operation. It makes the operation resume its waiter
// soon (inline through detail::resume is allowed: the callers are a posted
// call or a timer, never the middle of another operation), and await_resume
// then throws net::error(errc::abort_err), unless the operation already had
// its outcome: then abort() does nothing and the outcome stands (a read that
// got bytes returns them). Calling it twice is harmless. What the operation
// leaves behind (the socket open, the bytes not yet sent dropped, ...) each
// one documents. The stop callback, the post from another thread and the
// frame's lifetime are this file's business, not the operation's.
//
// An operation whose destructor does something when it was never awaited (a
// discarded s.write(data) writes a copy) also has abandon_unstarted(): the
// wrapper calls it when the token was stopped before the operation began.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "../config.hpp"
#include "../errors.hpp"
#include "loop_core.hpp"
#include "recycling_allocator.hpp"
#include "../task.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

template <typename A>
concept abortable_op = requires(A& a, const A& c) {
  { c.abort_core() } noexcept -> std::same_as<loop_core&>;
  { a.abort() } noexcept;
};

template <typename T>
inline constexpr bool is_task_v = false;
template <typename T>
inline constexpr bool is_task_v<task<T>> = true;

/// What a stop callback, the calls it posts and the waiting frame share: the
/// frame may be gone by the time a posted call runs, so the call finds the
/// operation through here, and finds nothing once the frame let go. Counted
/// by hand (the frame, and each post in flight): a waiting frame holds one
/// pointer to it, and only while a token can stop.
class abort_link {
 public:
  using fire_fn = void (*)(void*) noexcept;
  abort_link(loop_core& core, void* target, fire_fn fire) noexcept : core_(&core), target_(target), fire_(fire) {}
  abort_link(const abort_link&) = delete;
  abort_link& operator=(const abort_link&) = delete;
  // One per abortable operation awaited under a token (every read and write
  // of a handler run under a shutdown token): from the thread's recycling
  // cache, not malloc. Made and freed on the loop's thread (the last
  // reference goes in release() or in the posted call, both run there).
  static void* operator new(std::size_t n) { return recycled_allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept { recycled_deallocate(p, n); }

  /// Watches token; when it stops (on whatever thread), abort() runs on the
  /// loop's thread in its posted phase. Already stopped: posted at once.
  void watch(const std::stop_token& token) { callback_.emplace(token, poster{this}); }
  /// The frame's end of it: the operation resumed, or the frame is going.
  /// Waits for a stop callback running on another thread to finish posting.
  void release() noexcept {
    target_ = nullptr;
    callback_.reset();
    drop();
  }

 private:
  void hold() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void drop() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  // The posted call: one reference, given back when it has run (or when a
  // loop that never ran it lets it go).
  struct posted {
    abort_link* link;
    explicit posted(abort_link* l) noexcept : link(l) {}
    posted(posted&& o) noexcept : link(std::exchange(o.link, nullptr)) {}
    posted& operator=(posted&&) = delete;
    ~posted() {
      if (link) link->drop();
    }
    void operator()() const noexcept {
      if (link->target_) link->fire_(link->target_);
    }
  };
  struct poster {
    abort_link* self;
    void operator()() const noexcept {
      self->hold();
      self->core_->post(posted(self));
    }
  };
  loop_core* core_;
  void* target_;  // loop thread only
  fire_fn fire_;
  std::atomic<std::uint32_t> refs_{1};
  std::optional<std::stop_callback<poster>> callback_;
};

// await_suspend's two return types in a leaf operation of netxx, as "did it suspend".
template <typename A>
bool suspend_on(A& a, std::coroutine_handle<> h) {
  if constexpr (std::is_void_v<decltype(a.await_suspend(h))>) {
    a.await_suspend(h);
    return true;
  } else {
    static_assert(std::is_same_v<decltype(a.await_suspend(h)), bool>, "a leaf operation suspends with void or bool");
    return a.await_suspend(h);
  }
}

/// A leaf operation awaited under a stop token. Op is the operation's type,
/// or a reference to it when it lives in the co_await expression (netxx's
/// operations cannot move). An empty token costs one test.
template <typename Op>
class [[nodiscard]] abort_awaiter {
 public:
  template <typename A>
  abort_awaiter(A&& op, std::stop_token token) : op_(std::forward<A>(op)), token_(std::move(token)) {}
  abort_awaiter(const abort_awaiter&) = delete;
  abort_awaiter& operator=(const abort_awaiter&) = delete;
  ~abort_awaiter() { let_go(); }

  bool await_ready() {
    if (token_.stop_requested()) {
      if constexpr (requires { op().abandon_unstarted(); }) op().abandon_unstarted();
      link_ = stopped_early();
      return true;
    }
    return op().await_ready();
  }
  bool await_suspend(std::coroutine_handle<> h) {
    if (!suspend_on(op(), h)) return false;
    if (token_.stop_possible()) {
      link_ = new abort_link(op().abort_core(), static_cast<void*>(&op()), &fire);
      link_->watch(token_);
    }
    return true;
  }
  decltype(auto) await_resume() {
    if (link_ == stopped_early()) throw error(errc::abort_err);
    let_go();
    return op().await_resume();
  }

  // Abortable itself, so tokens nest (a task's token around net::abortable).
  loop_core& abort_core() const noexcept { return op().abort_core(); }
  void abort() noexcept { op().abort(); }

 private:
  using op_type = std::remove_reference_t<Op>;
  op_type& op() noexcept { return op_; }
  const op_type& op() const noexcept { return op_; }
  static void fire(void* op) noexcept { static_cast<op_type*>(op)->abort(); }
  // link_ when the token had stopped before the operation began (no link was made).
  static abort_link* stopped_early() noexcept {
    static char marker;
    return reinterpret_cast<abort_link*>(&marker);
  }
  void let_go() noexcept {
    if (link_ && link_ != stopped_early()) link_->release();
    link_ = nullptr;
  }

  // Three pointers: one sits in the frame for each abortable co_await of
  // every task, whether or not anything can stop it.
  Op op_;
  std::stop_token token_;
  abort_link* link_ = nullptr;
};

/// A task awaited under stop tokens: the one given (net::abortable) and the
/// awaiting task's own (inherit). Its promise hands the token it runs under
/// to every abortable operation it awaits: the one token that can stop it,
/// as it is; or, when both can or abort() must (net::timeout), a token of
/// its own that each of them stops. With neither, the task runs as it would
/// alone. Task is task<T>, or task<T>& for one that lives in the
/// co_await expression.
template <typename Task>
class [[nodiscard]] task_abort_awaiter {
  using task_type = std::remove_reference_t<Task>;
  using value_type = typename task_type::value_type;

 public:
  template <typename A>
  task_abort_awaiter(A&& t, std::stop_token token) : task_(std::forward<A>(t)), given_(std::move(token)) {}
  task_abort_awaiter(const task_abort_awaiter&) = delete;
  task_abort_awaiter& operator=(const task_abort_awaiter&) = delete;

  /// The awaiting task's token stops this task too.
  task_abort_awaiter& inherit(std::stop_token token) noexcept {
    inherited_ = std::move(token);
    return *this;
  }
  /// abort() can stop the task even when no token can (net::timeout).
  void make_stoppable() noexcept { stoppable_ = true; }

  bool await_ready() const noexcept { return !task_.valid() || task_.done(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    auto child = task_.handle();
    const bool given = given_.stop_possible(), inherited = inherited_.stop_possible();
    if (!stoppable_ && given != inherited) {
      // One token can stop it and nothing else: the task runs under that very
      // token (the common case, a task awaited by a task under a token: no
      // stop source, no allocation).
      child.promise().stop_token_ = given ? given_ : inherited_;
    } else if (stoppable_ || given) {
      stops_ = std::make_unique<stops>();
      child.promise().stop_token_ = stops_->own.get_token();
      // Already stopped: the forwarder runs here, and the task's first abortable
      // operation throws at once. request_stop() is thread-safe; the task's
      // operations post their own aborts to their loop.
      if (given) stops_->from_given.emplace(given_, forwarder{&stops_->own});
      if (inherited) stops_->from_inherited.emplace(inherited_, forwarder{&stops_->own});
    }
    child.promise().continuation = h;
    return transfer_to(child);
  }
  value_type await_resume() {
    stops_.reset();
    return task_.handle().promise().take();
  }

  void abort() noexcept {
    if (stops_) stops_->own.request_stop();
  }

 private:
  struct forwarder {
    std::stop_source* source;
    void operator()() const noexcept { source->request_stop(); }
  };
  struct stops {
    std::stop_source own;
    std::optional<std::stop_callback<forwarder>> from_given;
    std::optional<std::stop_callback<forwarder>> from_inherited;
  };
  Task task_;
  std::stop_token given_;
  std::stop_token inherited_;
  std::unique_ptr<stops> stops_;
  bool stoppable_ = false;
};

/// What `co_await net::get_stop_token()` becomes inside a task.
struct get_stop_token_t {};
struct stop_token_awaiter {
  std::stop_token token;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  std::stop_token await_resume() const noexcept { return token; }
};

// An awaiter used in place, by value (GCC copies an awaiter that
// await_transform returns by reference).
template <typename A>
struct awaiter_ref {
  A* a;
  bool await_ready() { return a->await_ready(); }
  auto await_suspend(std::coroutine_handle<> h) { return a->await_suspend(h); }
  decltype(auto) await_resume() { return a->await_resume(); }
};

template <typename A>
decltype(auto) task_promise_base::await_transform(A&& a) {
  using D = std::remove_cvref_t<A>;
  if constexpr (is_task_v<D>) {
    return task_abort_awaiter<D&>(a, stop_token_);
  } else if constexpr (requires { a.inherit(stop_token_); }) {
    a.inherit(stop_token_);
    return awaiter_ref<D>{&a};
  } else if constexpr (abortable_op<D>) {
    return abort_awaiter<A&&>(std::forward<A>(a), stop_token_);
  } else if constexpr (std::is_same_v<D, get_stop_token_t>) {
    return stop_token_awaiter{stop_token_};
  } else {
    return std::forward<A>(a);
  }
}

}  // namespace detail
NETXX_END_NAMESPACE
