// SPDX-License-Identifier: BSL-1.0
#pragma once
// The backend-independent half of a loop: the table of operations in flight,
// the timer heap, the deferred and posted queues, and the alive count that
// decides when run() returns (libuv's rule: referenced handles and requests).

#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <cassert>
#include <cstdint>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../errors.hpp"
#include "op.hpp"
#include "unique_function.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

/// Monotonic milliseconds, the clock of Node's timers (uv_now).
inline std::int64_t monotonic_ms() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

/// A timer as the heap sees it: embedded in whatever owns the timer (a sleep
/// awaiter, a timer handle's state, later a socket's idle timeout), so a
/// million armed timers are a million heap entries and one kernel timeout.
struct timer_node {
  static constexpr std::size_t not_armed = std::numeric_limits<std::size_t>::max();
  using fire_fn = void (*)(timer_node*) noexcept;

  fire_fn fire = nullptr;
  std::int64_t due = 0;      // loop time in ms
  std::uint64_t seq = 0;     // equal deadlines fire in arming order, as in libuv
  std::size_t heap_index = not_armed;
  bool ref = true;           // keeps run() going while armed

  bool armed() const noexcept { return heap_index != not_armed; }
};

class timer_heap {
 public:
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  timer_node* top() const noexcept { return heap_.front(); }

  void push(timer_node* t) {
    t->seq = next_seq_++;
    heap_.push_back(t);
    t->heap_index = heap_.size() - 1;
    sift_up(t->heap_index);
  }

  void erase(timer_node* t) noexcept {
    std::size_t i = t->heap_index;
    assert(i < heap_.size() && heap_[i] == t);
    t->heap_index = timer_node::not_armed;
    timer_node* last = heap_.back();
    heap_.pop_back();
    if (i == heap_.size()) return;
    heap_[i] = last;
    last->heap_index = i;
    sift_down(i);
    sift_up(last->heap_index);
  }

 private:
  static bool before(const timer_node* a, const timer_node* b) noexcept {
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
  }
  void place(std::size_t i, timer_node* t) noexcept {
    heap_[i] = t;
    t->heap_index = i;
  }
  void sift_up(std::size_t i) noexcept {
    timer_node* t = heap_[i];
    while (i > 0) {
      std::size_t parent = (i - 1) / 2;
      if (!before(t, heap_[parent])) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, t);
  }
  void sift_down(std::size_t i) noexcept {
    timer_node* t = heap_[i];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
      if (!before(heap_[child], t)) break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, t);
  }

  std::vector<timer_node*> heap_;
  std::uint64_t next_seq_ = 0;
};

/// Work another thread does for a loop and posts back to it (a getaddrinfo
/// on the DNS worker pool). While attached, the loop's destructor calls
/// loop_gone on it before anything of the loop is torn down, so the other
/// thread learns the loop is gone instead of posting to freed memory.
struct remote_work {
  remote_work* prev = nullptr;
  remote_work* next = nullptr;
  void (*loop_gone)(remote_work*) noexcept = nullptr;
};

/// The eventfd that wakes a loop blocked in the kernel (a post from another
/// thread). The loop owns it; each backend only registers fd(): epoll adds it
/// to its set, io_uring keeps a read of it in the ring.
class wake_fd {
 public:
  wake_fd() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw error::from_syscall("eventfd", errno_code(errno));
  }
  wake_fd(const wake_fd&) = delete;
  wake_fd& operator=(const wake_fd&) = delete;
  ~wake_fd() { ::close(fd_); }

  int fd() const noexcept { return fd_; }
  /// Callable from any thread.
  void notify() const noexcept {
    std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(fd_, &one, sizeof one);
  }
  /// Resets the count once the wake-up was seen (epoll; io_uring's read does it).
  void drain() const noexcept {
    std::uint64_t v;
    [[maybe_unused]] auto r = ::read(fd_, &v, sizeof v);
  }

 private:
  int fd_;
};

class loop_core {
 public:
  loop_core() : now_(monotonic_ms()), owner_(::pthread_self()) {}
  loop_core(const loop_core&) = delete;
  loop_core& operator=(const loop_core&) = delete;

  // --- the operation table ----------------------------------------------------
  // An id is (generation << 32 | slot + 1): never 0, and a stale id (a cancel
  // posted from another thread after the operation finished, a completion of
  // an abandoned operation) never matches a reused slot.

  std::uint64_t register_op(io_op& op) {
    NETXX_ASSERT(!op.in_flight(), "an operation started while already in flight");
    std::uint32_t idx;
    if (free_head_ != no_slot) {
      idx = free_head_;
      free_head_ = slots_[idx].next_free;
    } else {
      idx = static_cast<std::uint32_t>(slots_.size());
      slots_.push_back({});
    }
    slot& s = slots_[idx];
    s.op = &op;
    s.used = true;
    op.id = (static_cast<std::uint64_t>(s.gen) << 32) | (idx + 1);
    if (op.counts_alive) ++refs_;
    return op.id;
  }

  /// The operation an id names, or nullptr when it finished or was abandoned.
  io_op* find_op(std::uint64_t id) const noexcept {
    slot const* s = find_slot(id);
    return s ? s->op : nullptr;
  }

  /// Delivers a completion: frees the slot, then resumes whoever waits.
  void complete_op(std::uint64_t id, int res) noexcept {
    slot* s = find_slot(id);
    if (!s) return;
    io_op* op = s->op;
    free_slot(id);
    if (!op) return;  // abandoned: its owner is gone, the kernel is done with it
    op->id = 0;
    if (op->counts_alive) --refs_;
    op->result = res;
    op->complete(op, res);
  }

  /// Forgets the operation's owner but keeps the slot until the kernel's
  /// completion arrives (io_uring) or frees it now (keep_slot = false).
  void abandon_op(io_op& op, bool keep_slot) noexcept {
    slot* s = find_slot(op.id);
    if (!s) return;
    if (op.counts_alive) --refs_;
    if (keep_slot)
      s->op = nullptr;
    else
      free_slot(op.id);
    op.id = 0;
  }

  /// Hands a completion to the next loop turn instead of resuming now
  /// (fairness budget, cancellation): resuming inline could recurse.
  void defer_completion(io_op& op, int res) noexcept {
    NETXX_ASSERT(op.in_flight(), "a completion deferred for an operation not in flight");
    op.result = res;
    deferred_.push(op);
  }

  /// Removes op from the deferred queue if it is there (abandon path).
  bool undefer(io_op& op) noexcept {
    io_op* before = nullptr;
    if (!deferred_.remove(op, &before)) return false;
    if (&op == deferred_last_) deferred_last_ = before;  // run_deferred stops one earlier
    return true;
  }

  bool has_deferred() const noexcept { return !deferred_.empty(); }

  void run_deferred() noexcept {
    // Only what was queued before this turn (up to deferred_last_): a
    // completion that queues more waits for the next turn, so I/O polling is
    // never starved. Taken one at a time from the live queue, never from a
    // detached copy: a completion that destroys the owner of a later one
    // (its abandon undefers it) unlinks it before it is reached.
    deferred_last_ = deferred_.back();
    while (deferred_last_) {
      io_op* op = deferred_.pop();
      if (op == deferred_last_) deferred_last_ = nullptr;
      complete_op(op->id, op->result);
    }
  }

  // --- timers -------------------------------------------------------------------

  std::int64_t now() const noexcept { return now_; }
  void update_time() noexcept { now_ = monotonic_ms(); }

  void arm_timer(timer_node& t, std::int64_t delay_ms) {
    if (t.armed()) disarm_timer(t);
    t.due = now_ + delay_ms;
    timers_.push(&t);
    if (t.ref) ++refs_;
  }
  void disarm_timer(timer_node& t) noexcept {
    if (!t.armed()) return;
    timers_.erase(&t);
    if (t.ref) --refs_;
  }
  void set_timer_ref(timer_node& t, bool ref) noexcept {
    if (t.ref == ref) return;
    t.ref = ref;
    if (t.armed()) ref ? ++refs_ : --refs_;
  }
  std::size_t armed_timers() const noexcept { return timers_.size(); }

  void run_timers() noexcept {
    while (!timers_.empty()) {
      timer_node* t = timers_.top();
      if (t->due > now_) break;
      disarm_timer(*t);
      t->fire(t);
    }
  }

  /// Milliseconds until the next timer is due (-1: none, wait indefinitely).
  int next_timeout() const noexcept {
    if (timers_.empty()) return -1;
    std::int64_t d = timers_.top()->due - now_;
    if (d <= 0) return 0;
    return d > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max() : static_cast<int>(d);
  }

  // --- alive count --------------------------------------------------------------

  void add_ref() noexcept { ++refs_; }
  void release_ref() noexcept {
    assert(refs_ > 0);
    --refs_;
  }
  std::size_t refs() const noexcept { return refs_; }

  bool alive() const noexcept {
    return refs_ > 0 || !deferred_.empty() || posted_pending_.load(std::memory_order_acquire) > 0;
  }

  // --- posted work ----------------------------------------------------------------

  /// Queues fn from any thread. Returns true when the queue was empty, i.e.
  /// the caller must wake the loop.
  bool enqueue_post(unique_function fn) {
    std::lock_guard lock(post_mutex_);
    posted_.push_back(std::move(fn));
    posted_pending_.fetch_add(1, std::memory_order_release);
    return posted_.size() == 1;
  }

  void run_posted() {
    if (posted_pending_.load(std::memory_order_acquire) == 0) return;
    {
      std::lock_guard lock(post_mutex_);
      running_posts_.swap(posted_);
    }
    for (auto& fn : running_posts_) {
      fn();
      posted_pending_.fetch_sub(1, std::memory_order_release);
    }
    running_posts_.clear();
  }

  bool posted_waiting() const noexcept { return posted_pending_.load(std::memory_order_acquire) > 0; }

  /// The loop turn in progress, counted from the wait for I/O that starts
  /// it: what turn_budget spends against.
  std::uint32_t turn() const noexcept { return turn_; }
  void next_turn() noexcept { ++turn_; }

  /// The loop's wake-up descriptor; notify() is the thread-safe wake.
  const wake_fd& waker() const noexcept { return wake_; }
  void wake() const noexcept { wake_.notify(); }

  bool in_loop_thread() const noexcept { return ::pthread_equal(::pthread_self(), owner_) != 0; }

  /// True inside run(): a turn, and so a submission, is sure to follow, so a
  /// backend may leave work for it (io_uring closes idle descriptors in the
  /// ring). run() flushes such work before it returns.
  bool running() const noexcept { return running_ > 0; }
  void enter_run() noexcept {
    ++running_;
    outer_running_ = std::exchange(running_here(), this);
  }
  void leave_run() noexcept {
    --running_;
    running_here() = outer_running_;
  }
  /// The loop running on this thread now (inside its run()), or null: where
  /// work that names no loop of its own (a deadline on a task) arms its timer.
  static loop_core* running_on_this_thread() noexcept { return running_here(); }

  /// Queues fn to run on this loop's thread, from any thread; wakes the loop
  /// when it may be waiting in the kernel.
  void post(unique_function fn) {
    if (enqueue_post(std::move(fn)) && !in_loop_thread()) wake();
  }

  // --- work done for this loop on other threads (loop thread only) ------------------

  void attach_remote(remote_work& w) noexcept {
    w.prev = nullptr;
    w.next = remote_head_;
    if (remote_head_) remote_head_->prev = &w;
    remote_head_ = &w;
  }
  void detach_remote(remote_work& w) noexcept {
    (w.prev ? w.prev->next : remote_head_) = w.next;
    if (w.next) w.next->prev = w.prev;
    w.prev = w.next = nullptr;
  }
  /// The loop is being destroyed: tells every attached remote work so.
  void remote_loop_gone() noexcept {
    while (remote_work* w = remote_head_) {
      detach_remote(*w);
      w->loop_gone(w);
    }
  }

 private:
  static constexpr std::uint32_t no_slot = std::numeric_limits<std::uint32_t>::max();
  struct slot {
    io_op* op = nullptr;
    std::uint32_t gen = 1;
    std::uint32_t next_free = no_slot;
    bool used = false;
  };

  slot* find_slot(std::uint64_t id) noexcept {
    std::uint32_t idx = static_cast<std::uint32_t>(id & 0xffffffffu);
    if (idx == 0 || idx > slots_.size()) return nullptr;
    slot& s = slots_[idx - 1];
    return s.used && s.gen == static_cast<std::uint32_t>(id >> 32) ? &s : nullptr;
  }
  slot const* find_slot(std::uint64_t id) const noexcept { return const_cast<loop_core*>(this)->find_slot(id); }

  void free_slot(std::uint64_t id) noexcept {
    std::uint32_t idx = static_cast<std::uint32_t>(id & 0xffffffffu) - 1;
    slot& s = slots_[idx];
    s.op = nullptr;
    s.used = false;
    if (++s.gen == 0) s.gen = 1;  // generation 0 is reserved for internal user_data
    s.next_free = free_head_;
    free_head_ = idx;
  }

  std::vector<slot> slots_;
  std::uint32_t free_head_ = no_slot;

  timer_heap timers_;
  std::int64_t now_;

  op_queue deferred_;
  io_op* deferred_last_ = nullptr;  // while run_deferred runs: the last it delivers

  std::size_t refs_ = 0;

  std::mutex post_mutex_;
  std::vector<unique_function> posted_;
  std::vector<unique_function> running_posts_;
  std::atomic<std::size_t> posted_pending_{0};

  wake_fd wake_;
  std::uint32_t turn_ = 1;
  // pthread_t, not std::thread::id: <thread> is among the costliest headers to compile.
  pthread_t owner_;
  loop_core* outer_running_ = nullptr;
  static loop_core*& running_here() noexcept {
    static thread_local loop_core* core = nullptr;
    return core;
  }
  int running_ = 0;
  remote_work* remote_head_ = nullptr;
};

}  // namespace detail
NETXX_END_NAMESPACE
