// SPDX-License-Identifier: BSL-1.0
#pragma once
// The process-wide worker pool for blocking calls (getaddrinfo), libuv's
// threadpool: UV_THREADPOOL_SIZE threads at most (default 4, read once, as
// libuv reads it), started one by one as work arrives, never before the
// first job. Jobs run in submission order; a job posts its result back to
// its loop itself (loop.post is the thread-safe entry).
//
// At exit the pool joins its idle threads. A thread still inside a job (a
// getaddrinfo waiting for a resolver timeout) is detached instead: it keeps
// the pool's state alive through its own reference and ends when its job
// returns, so exit never waits for a resolver (libuv would).
//
// fork(): the child has none of the parent's threads. An atfork handler
// makes the child forget the parent's pool (leaked on purpose, reachable:
// its mutex may have been held by a parent thread at fork time) and start a
// fresh one on its first job.

#include <pthread.h>
#include <signal.h>

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "unique_function.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

/// libuv's rule for UV_THREADPOOL_SIZE: unset = 4; atoi() of the value read
/// as unsigned, 0 (or no number) = 1, more than 1024 = 1024 (so a negative
/// value, huge as unsigned, gives 1024, as in libuv).
inline unsigned threadpool_size_from(const char* value) noexcept {
  if (!value) return 4;
  unsigned n = static_cast<unsigned>(std::atoi(value));
  if (n == 0) n = 1;
  if (n > 1024) n = 1024;
  return n;
}

class thread_pool {
 public:
  /// Runs job on a worker thread. Throws std::system_error when no thread
  /// exists and none can be started (the job is then dropped).
  static void submit(unique_function job) { instance().push(std::move(job)); }

  /// The most threads the pool runs (UV_THREADPOOL_SIZE, clamped).
  static unsigned max_threads() { return instance().size_; }

  /// Threads started so far in this process (they stay until exit).
  static unsigned threads() {
    holder& h = instance();
    std::shared_ptr<state> st;
    {
      std::lock_guard lock(h.mutex_);
      st = h.state_;
    }
    if (!st) return 0;
    std::lock_guard lock(st->mutex);
    return static_cast<unsigned>(st->workers.size());
  }

 private:
  struct worker {
    std::thread thread;
    bool busy = false;  // inside a job; read and written under state::mutex
  };
  struct state {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<unique_function> queue;
    std::list<worker> workers;  // stable addresses: each thread keeps its own
    unsigned idle = 0;
    bool stopping = false;
  };

  class holder {
   public:
    holder() : size_(threadpool_size_from(std::getenv("UV_THREADPOOL_SIZE"))) {
      ::pthread_atfork(&before_fork, &after_fork_parent, &after_fork_child);
    }
    holder(const holder&) = delete;
    holder& operator=(const holder&) = delete;

    ~holder() {
      std::shared_ptr<state> st;
      {
        std::lock_guard lock(mutex_);
        st = std::move(state_);
        gone_ = true;
      }
      if (!st) return;
      std::vector<std::thread> to_join;
      std::deque<unique_function> dropped;
      {
        std::lock_guard lock(st->mutex);
        st->stopping = true;
        dropped.swap(st->queue);
        for (worker& w : st->workers) {
          if (w.busy)
            w.thread.detach();
          else
            to_join.push_back(std::move(w.thread));
        }
      }
      st->wake.notify_all();
      for (auto& t : to_join) t.join();
    }

    void push(unique_function job) {
      std::shared_ptr<state> st;
      {
        std::lock_guard lock(mutex_);
        if (gone_) return;  // the process is exiting: nobody waits for it
        if (!state_) state_ = std::make_shared<state>();
        st = state_;
      }
      std::unique_lock lock(st->mutex);
      st->queue.push_back(std::move(job));
      if (st->queue.size() > st->idle && st->workers.size() < size_) {
        try {
          start_worker(st);
        } catch (...) {
          if (st->workers.empty()) {
            st->queue.pop_back();
            throw;
          }
          // The threads there are will get to it.
        }
      }
      lock.unlock();
      st->wake.notify_one();
    }

    const unsigned size_;
    std::mutex mutex_;
    std::shared_ptr<state> state_;
    bool gone_ = false;

   private:
    // Workers run with every signal blocked: signal handlers belong to the
    // program's own threads (libuv does the same for its pool).
    static void start_worker(const std::shared_ptr<state>& st) {
      sigset_t all, old;
      ::sigfillset(&all);
      ::pthread_sigmask(SIG_SETMASK, &all, &old);
      worker& w = st->workers.emplace_back();
      try {
        w.thread = std::thread(&run, st, &w);
      } catch (...) {
        st->workers.pop_back();
        ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
        throw;
      }
      ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }

    static void run(std::shared_ptr<state> st, worker* self) {
      std::unique_lock lock(st->mutex);
      for (;;) {
        while (st->queue.empty() && !st->stopping) {
          ++st->idle;
          st->wake.wait(lock);
          --st->idle;
        }
        if (st->stopping) return;
        unique_function job = std::move(st->queue.front());
        st->queue.pop_front();
        self->busy = true;
        lock.unlock();
        job();
        job = {};  // whatever it holds goes here, not under the lock
        lock.lock();
        self->busy = false;
      }
    }

    static void before_fork() { instance().mutex_.lock(); }
    static void after_fork_parent() { instance().mutex_.unlock(); }
    static void after_fork_child() {
      holder& h = instance();
      if (h.state_) {
        // Never touched again: its threads do not exist here, and its mutex
        // may be held forever. Kept reachable so leak checkers stay quiet.
        static auto* abandoned = new std::vector<std::shared_ptr<state>>();
        abandoned->push_back(std::move(h.state_));
      }
      h.mutex_.unlock();
    }
  };

  static holder& instance() {
    static holder h;
    return h;
  }
};

}  // namespace detail
NETXX_END_NAMESPACE
