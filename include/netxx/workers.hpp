// SPDX-License-Identifier: BSL-1.0
#pragma once
/// Every core: Node's `cluster` for a server, with threads instead of
/// processes. net::run_workers(n, setup) starts n threads; each has its own
/// loop (net::loop::current() is per thread) and calls setup on it, which
/// makes that worker's server, listening with `reuse_port = true`, so the
/// kernel spreads the connections over the workers (SO_REUSEPORT: a hash of
/// the connection's addresses and ports picks the listening socket).
///
///   auto group = net::run_workers(4, [](net::worker& w) {
///     auto s = net::create_server([](net::socket c) { c.pipe(c); });
///     s.listen({.port = 8124, .host = "127.0.0.1", .reuse_port = true});
///     return s;  // closed by stop()
///   });
///   ...
///   group.stop();  // closes every server, lets open connections finish, joins
///
/// Nothing is shared between workers on the hot path: each thread has its
/// own loop, ring, buffer pool and recycling cache, and the kernel, not a
/// user-space acceptor, hands out the connections. The workers meet only
/// when they start and stop, under one mutex, and the one cross-thread
/// handoff is loop.post(), as everywhere in netxx.

#include <sched.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "config.hpp"
#include "errors.hpp"
#include "loop.hpp"
#include "server.hpp"
#include "socket_address.hpp"
#include "task.hpp"

NETXX_BEGIN_NAMESPACE

/// Node's os.availableParallelism(): the CPUs this process may run on
/// (sched_getaffinity, as libuv's uv_available_parallelism), at least 1.
/// Under `taskset -c 0` it is 1, as in Node.
inline std::size_t available_parallelism() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  const unsigned h = std::thread::hardware_concurrency();
  return h > 0 ? h : 1;
}

namespace detail {
struct worker_local;
}

/// One worker, as its setup sees it (Node's cluster.worker). Lives on the
/// worker's thread, for as long as its loop runs.
class worker {
 public:
  worker(std::size_t index, std::size_t count) : index_(index), count_(count) {}
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  /// 0 .. count()-1 (Node's worker.id counts from 1: index() + 1).
  std::size_t index() const noexcept { return index_; }
  /// How many workers the group has.
  std::size_t count() const noexcept { return count_; }
  /// Fires on this worker's own thread when stop() reaches it (Node's
  /// 'disconnect'): pass it as listen_options::signal to have a server
  /// closed by stop() (what a task setup must do), or watch it to end
  /// long-lived connections.
  std::stop_token signal() const noexcept { return stop_.get_token(); }

 private:
  friend struct detail::worker_local;  // fires stop_ on the worker's thread

  std::size_t index_;
  std::size_t count_;
  std::stop_source stop_;
};

namespace detail {

/// The part of a worker its thread owns; stop() reaches it through its loop.
struct worker_local {
  netxx::worker self;
  std::vector<basic_server<auto_backend>> servers;  // what setup returned: closed on stop

  worker_local(std::size_t index, std::size_t count) : self(index, count) {}
  /// On the worker's thread: fires its signal and closes its servers (no
  /// new connection; the open ones finish, as Node's server.close()).
  void stop() {
    self.stop_.request_stop();
    for (auto& s : servers)
      if (s.listening()) s.close();
  }
};

/// What the workers of one group share: only at start and stop, never per
/// connection. The worker threads and the caller's take the mutex.
struct worker_group {
  struct slot {
    loop* lp = nullptr;             // while its thread runs the loop (stop() posts to it)
    worker_local* local = nullptr;  // idem
    bool ready = false;             // setup returned and its first turn ran, or it failed
  };

  std::mutex m;
  std::condition_variable cv;
  std::vector<slot> slots;
  std::vector<std::thread> threads;
  std::size_t ready = 0;
  bool stopping = false;
  std::exception_ptr error;  // the first exception that escaped a worker
  bool reported = false;     // rethrown to the caller (or handed to the unhandled handler)

  explicit worker_group(std::size_t n) : slots(n) {}

  /// Ends every worker: each is told on its own thread, through its loop's
  /// post (the one thread-safe entry). Any thread; not from a signal handler.
  void request_stop() {
    std::lock_guard lock(m);
    if (stopping) return;
    stopping = true;
    for (auto& s : slots)
      if (s.lp) s.lp->post([local = s.local] { local->stop(); });
  }

  /// An exception escaped a worker: the first one is kept for the caller,
  /// and the whole group stops (a worker that failed is not served around).
  void fail(std::exception_ptr e) noexcept {
    {
      std::lock_guard lock(m);
      if (!error) error = std::move(e);
    }
    try {
      request_stop();
    } catch (...) {  // a post that could not allocate: the loops end on their own
    }
  }

  void mark_ready(std::size_t i) noexcept {
    std::lock_guard lock(m);
    if (!slots[i].ready) {
      slots[i].ready = true;
      ++ready;
    }
    cv.notify_all();
  }

  /// The worker's thread publishes its loop; false when the group is
  /// already stopping (it then does not set up at all).
  bool attach(std::size_t i, loop& l, worker_local& local) {
    std::lock_guard lock(m);
    if (stopping) return false;
    slots[i].lp = &l;
    slots[i].local = &local;
    return true;
  }

  /// Before the loop goes (with the thread): no post may reach it after this.
  void detach(std::size_t i) noexcept {
    std::lock_guard lock(m);
    slots[i].lp = nullptr;
    slots[i].local = nullptr;
    if (!slots[i].ready) {
      slots[i].ready = true;
      ++ready;
    }
    cv.notify_all();
  }

  void wait_ready() {
    std::unique_lock lock(m);
    cv.wait(lock, [this] { return ready == slots.size(); });
  }

  /// Joins every thread, then hands the first error over, once.
  std::exception_ptr join_all() {
    for (auto& t : threads)
      if (t.joinable()) t.join();
    std::lock_guard lock(m);
    if (reported || !error) return nullptr;
    reported = true;
    return error;
  }

  /// The group of the calling worker thread: its unhandled-exception handler reports there.
  static worker_group*& current() noexcept {
    static thread_local worker_group* g = nullptr;
    return g;
  }
  /// On a worker thread, an exception out of a spawned task or an "error"
  /// event nobody listens to (what would end a Node worker) fails the group
  /// instead of the process.
  static void on_unhandled(std::exception_ptr e) {
    if (worker_group* g = current())
      g->fail(std::move(e));
    else
      default_unhandled_exception(std::move(e));
  }
};

// What a setup may return: nothing, its server(s), or the worker's main task.
template <typename R>
inline constexpr bool is_server_list_v = false;
template <typename A>
inline constexpr bool is_server_list_v<std::vector<basic_server<auto_backend>, A>> = true;

// Awaits the task a setup returned; what escapes it fails the group.
inline task<void> drive_worker(task<void> t, worker_group& g) {
  try {
    co_await std::move(t);
  } catch (...) {
    g.fail(std::current_exception());
  }
}

template <typename Setup>
decltype(auto) call_setup(Setup& setup, netxx::worker& w) {
  if constexpr (std::is_invocable_v<Setup&, netxx::worker&>)
    return setup(w);
  else if constexpr (std::is_invocable_v<Setup&, std::size_t>)
    return setup(w.index());
  else
    static_assert(std::is_invocable_v<Setup&, netxx::worker&>,
                  "run_workers: setup must be callable as setup(net::worker&) or setup(std::size_t index)");
}

// A thread of the group, from its first to its last instruction.
template <typename Setup>
void run_worker(const std::shared_ptr<worker_group>& g, std::size_t index, Setup& setup) {
  worker_group::current() = g.get();
  const auto previous = set_unhandled_exception_handler(&worker_group::on_unhandled);
  worker_local local(index, g->slots.size());
  task<void> main;  // a task setup's frame: destroyed before the loop (with the thread)
  try {
    loop& l = loop::current();  // reads NETXX_BACKEND, on this thread: a bad value fails here
    if (g->attach(index, l, local)) {
      using result = decltype(call_setup(setup, local.self));
      if constexpr (std::is_void_v<result>) {
        call_setup(setup, local.self);
      } else if constexpr (std::is_same_v<std::remove_cvref_t<result>, basic_server<auto_backend>>) {
        local.servers.push_back(call_setup(setup, local.self));
      } else if constexpr (is_server_list_v<std::remove_cvref_t<result>>) {
        for (auto& s : call_setup(setup, local.self)) local.servers.push_back(std::move(s));
      } else if constexpr (std::is_same_v<std::remove_cvref_t<result>, task<void>>) {
        main = drive_worker(call_setup(setup, local.self), *g);
        detail::resume(main.handle());  // runs to its first wait: a listen on an IP literal is done by then
      } else {
        static_assert(std::is_void_v<result>,
                      "run_workers: setup must return void, net::server, std::vector<net::server> or net::task<>");
      }
      // Ready once the first turn ran what setup posted: "listening", or a
      // failed listen's "error" (EADDRINUSE), which fails the group.
      l.post([g, index] { g->mark_ready(index); });
      // A listener's exception that run() lets out fails the group; the
      // worker then stops and drains what is left (a few times at most: a
      // listener that throws on every event must not keep it forever).
      for (int attempt = 0;; ++attempt) {
        try {
          l.run();
          break;
        } catch (...) {
          g->fail(std::current_exception());
          local.stop();
          if (attempt == 8) break;
        }
      }
      if (main.valid() && !main.done())
        g->fail(std::make_exception_ptr(std::runtime_error(
            "netxx::run_workers: the task of worker " + std::to_string(index) +
            " waits for something that can never happen: no referenced work is left on its loop")));
    }
  } catch (...) {  // setup threw (ERR_SOCKET_BAD_PORT...), or the loop could not be made
    g->fail(std::current_exception());
  }
  g->detach(index);
  main = {};
  local.servers.clear();
  set_unhandled_exception_handler(previous);
  worker_group::current() = nullptr;
}

}  // namespace detail

/// The workers run_workers started (Node's cluster.workers, as one handle).
/// Movable. Its destructor stops and joins them; an error no join() has
/// rethrown then goes to the unhandled-exception handler (default: Node's
/// report and exit status 1), never dropped.
class workers {
 public:
  explicit workers(std::shared_ptr<detail::worker_group> g) noexcept : g_(std::move(g)) {}
  workers(workers&&) noexcept = default;
  workers& operator=(workers&& o) noexcept {
    if (this != &o) {
      end();
      g_ = std::move(o.g_);
    }
    return *this;
  }
  workers(const workers&) = delete;
  workers& operator=(const workers&) = delete;
  ~workers() { end(); }

  /// How many workers run.
  std::size_t size() const noexcept { return g_ ? g_->slots.size() : 0; }

  /// Tells every worker to stop: on its own thread, its stop token fires
  /// and the servers its setup returned close (no new connection; the open
  /// ones finish, as with Node's server.close()). Returns at once; from any
  /// thread, a worker's included; not from a signal handler (see
  /// examples/080-workers-signals.cpp). Idempotent.
  void request_stop() {
    if (g_) g_->request_stop();
  }

  /// Waits until every worker's loop has run out of work and its thread
  /// ended, then rethrows the first exception that escaped a worker (once).
  /// Not from a worker's own thread.
  void join() {
    if (!g_) return;
    for (auto& t : g_->threads)
      if (t.joinable() && t.get_id() == std::this_thread::get_id())
        throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                                "netxx::workers::join from one of the workers");
    if (auto e = g_->join_all()) std::rethrow_exception(e);
  }

  /// request_stop(), then join(): Node's cluster.disconnect() awaited.
  void stop() {
    request_stop();
    join();
  }

 private:
  void end() noexcept {
    if (!g_) return;
    std::exception_ptr e;
    try {
      g_->request_stop();
      e = g_->join_all();
    } catch (...) {
      e = std::current_exception();
    }
    g_.reset();
    if (e) detail::unhandled_handler()(e);
  }

  std::shared_ptr<detail::worker_group> g_;
};

/// Runs n workers, each a thread with its own loop, and calls setup on each
/// thread: `setup(net::worker&)` or `setup(std::size_t index)`, returning
///  - a net::server (or a std::vector of them): stop() closes it;
///  - a net::task<>: the worker's main, run on its loop; it must end on
///    stop (listen with `.signal = w.signal()`: accept() then fails with
///    ERR_SERVER_NOT_RUNNING);
///  - void: whatever it made must end on w.signal() for stop() to end it.
/// Each copy of setup runs on its own thread, all at once. Listen with
/// `reuse_port = true` on one port (not 0, which would give each worker a
/// port of its own).
/// Returns once every setup has returned and its loop ran one turn (its
/// servers listen). If one failed (ERR_SOCKET_BAD_PORT thrown by listen,
/// EADDRINUSE without reuse_port, ...), the others are stopped and joined
/// and its exception is rethrown here; a failure after that goes to join()
/// (one that comes while the last workers start may be seen by either). A worker's loop ends when it has no
/// referenced work left, as Node's process does.
/// n < 1 throws ERR_OUT_OF_RANGE, as Node's validateInt32 would.
template <typename Setup>
workers run_workers(std::int64_t n, Setup setup) {
  if (n < 1 || n > 2147483647) detail::throw_out_of_range("n", ">= 1 && <= 2147483647", n);
  auto g = std::make_shared<detail::worker_group>(static_cast<std::size_t>(n));
  workers handle(g);
  try {
    g->threads.reserve(g->slots.size());
    for (std::size_t i = 0; i < g->slots.size(); ++i)
      g->threads.emplace_back([g, i, setup]() mutable { detail::run_worker(g, i, setup); });
  } catch (...) {  // a thread could not start: the ones that did never set up for nothing
    for (std::size_t i = g->threads.size(); i < g->slots.size(); ++i) g->mark_ready(i);
    g->fail(std::current_exception());
  }
  g->wait_ready();
  bool failed;
  {
    std::lock_guard lock(g->m);
    failed = g->error != nullptr;
  }
  if (failed) handle.stop();  // throws the first error
  return handle;
}

/// run_workers(available_parallelism(), setup): one worker per CPU this
/// process may use, as Node's cluster examples fork os.availableParallelism().
template <typename Setup>
workers run_workers(Setup setup) {
  return run_workers(static_cast<std::int64_t>(available_parallelism()), std::move(setup));
}

NETXX_END_NAMESPACE
