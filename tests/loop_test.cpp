// The loop: backend choice, libuv's alive rule, stop, cross-thread post.
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "net_test.hpp"

TEST_CASE("the loop runs on the backend NETXX_BACKEND names", "[loop]") {
  auto f = net::loop::current().features();
  const std::string want = netxx_test::requested_backend();
  if (!want.empty()) CHECK(std::string(f.backend) == want);
  CHECK((f.backend == "io_uring" || f.backend == "epoll"));
  if (f.backend == "io_uring") {
    // This machine's kernel (6.x) has every feature the probe records.
    CHECK(f.uring.ext_arg);
    CHECK(f.uring.multishot_accept);
    CHECK(f.uring.provided_buffer_rings);
  }
}

TEST_CASE("run() returns once the last referenced timer has fired", "[loop][alive]") {
  std::vector<int> fired;
  net::set_timeout([&] { fired.push_back(1); }, 5);
  net::set_timeout([&] { fired.push_back(2); }, 20);
  CHECK(net::loop::current().alive());
  net::run();
  CHECK(fired == std::vector<int>{1, 2});
  CHECK_FALSE(net::loop::current().alive());
}

TEST_CASE("run() waits for a pending I/O operation and returns when it completes", "[loop][alive]") {
  const auto fds_ = netxx_test::connected_pair(AF_UNIX);
  const int a = fds_.first, b = fds_.second;
  auto& loop = net::loop::current();
  bool received = false;
  auto reader = [&]() -> net::task<> {
    std::array<std::byte, 16> buf;
    auto r = co_await loop.recv(a, buf);
    received = r.ok() && r.value() == 2;
  };
  net::spawn(reader());
  net::set_timeout([&, fd = b] { CHECK(::write(fd, "hi", 2) == 2); }, 10);
  net::run();
  CHECK(received);
  CHECK_FALSE(loop.alive());
  loop.close_now(a);  // through the loop: the backend must forget the descriptor
  loop.close_now(b);
}

TEST_CASE("an unref'd timer does not keep run() going, and ref() restores it", "[loop][alive]") {
  bool unref_fired = false;
  auto t = net::set_timeout([&] { unref_fired = true; }, 60'000);
  t.unref();
  CHECK_FALSE(t.has_ref());
  CHECK_FALSE(net::loop::current().alive());
  net::run();
  CHECK_FALSE(unref_fired);
  CHECK(t.active());
  t.close();

  bool refd_fired = false;
  auto u = net::set_timeout([&] { refd_fired = true; }, 5);
  u.unref();
  u.ref();
  CHECK(u.has_ref());
  net::run();
  CHECK(refd_fired);
}

TEST_CASE("stop() makes run() return after the current turn", "[loop]") {
  auto& loop = net::loop::current();
  int ticks = 0;
  auto iv = net::set_interval(
      [&] {
        if (++ticks == 3) loop.stop();
      },
      1);
  loop.run();
  CHECK(ticks == 3);
  CHECK(loop.alive());  // the interval is still armed
  iv.close();
  CHECK_FALSE(loop.alive());
}

TEST_CASE("post from 4 threads delivers every call exactly once, in each thread's order", "[loop][post]") {
  auto& loop = net::loop::current();
  constexpr int threads = 4, per_thread = 20'000;
  std::vector<std::vector<int>> seen(threads);
  std::atomic<int> delivered{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < threads; ++t)
    posters.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        loop.post([&, t, i] {
          seen[static_cast<std::size_t>(t)].push_back(i);
          delivered.fetch_add(1, std::memory_order_relaxed);
        });
    });
  auto wait_all = [&]() -> net::task<> {
    while (delivered.load() < threads * per_thread) co_await net::sleep(1);
  };
  netxx_test::run_bounded(wait_all());
  for (auto& p : posters) p.join();
  net::run();  // anything posted after the last check
  CHECK(delivered.load() == threads * per_thread);
  for (auto& s : seen) {
    REQUIRE(s.size() == per_thread);
    CHECK(std::is_sorted(s.begin(), s.end()));
    CHECK(std::adjacent_find(s.begin(), s.end()) == s.end());
  }
}

TEST_CASE("a call posted from another thread wakes a loop blocked in the kernel", "[loop][post]") {
  auto& loop = net::loop::current();
  const auto fds_ = netxx_test::connected_pair(AF_UNIX);
  const int a = fds_.first, b = fds_.second;
  bool woke = false;
  // The loop blocks in its wait on a recv that only the posted call satisfies.
  auto reader = [&]() -> net::task<> {
    std::array<std::byte, 4> buf;
    auto r = co_await loop.recv(a, buf);
    woke = r.ok();
  };
  std::thread poster([&, fd = b] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    loop.post([fd] { CHECK(::write(fd, "x", 1) == 1); });
  });
  netxx_test::run_bounded(reader(), 10'000);
  poster.join();
  CHECK(woke);
  loop.close_now(a);
  loop.close_now(b);
}

namespace {
// Runs fn in a child and returns how it ended: its exit code, or 128 + signal.
template <typename F>
int ended_child(F fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(20);
    ::signal(SIGABRT, SIG_DFL);  // not Catch's handler: its report would read as a failure
    fn();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
}  // namespace

TEST_CASE("debug builds abort when an operation is started twice or linked into two queues", "[loop][assert]") {
#if defined(NDEBUG) && !defined(NETXX_ENABLE_ASSERTS)
  NETXX_SKIP("NETXX_ASSERT is off in this build");
#else
  // Started while in flight: registered twice in the op table.
  CHECK(ended_child([] {
          ::close(2);  // the expected message would clutter the test log
          net::detail::loop_core core;
          net::detail::io_op op;
          core.register_op(op);
          core.register_op(op);
        }) == 128 + SIGABRT);
  // Linked twice: deferred, then parked on a queue while still deferred.
  CHECK(ended_child([] {
          ::close(2);
          net::detail::loop_core core;
          net::detail::io_op op;
          core.register_op(op);
          core.defer_completion(op, 0);
          net::detail::op_queue q;
          q.push(op);
        }) == 128 + SIGABRT);
  // And a correct sequence does not abort.
  CHECK(ended_child([] {
          net::detail::loop_core core;
          net::detail::io_op op;
          op.complete = [](net::detail::io_op*, int) noexcept {};
          core.register_op(op);
          core.defer_completion(op, 0);
          core.run_deferred();
          core.register_op(op);
          core.complete_op(op.id, 0);
        }) == 0);
#endif
}

TEST_CASE("a deferred completion that abandons a later deferred operation never delivers it", "[loop][deferred]") {
  // Two completions deferred to the same turn; the first one's owner
  // destroys the second's (abandon, which undefers it), and that memory is
  // at once reused for a new operation waiting in the kernel, as a freed
  // coroutine frame is. A walk over a detached list read the freed op and
  // completed the new one with the stale result.
  net::detail::loop_core core;
  struct probe : net::detail::io_op {
    net::detail::loop_core* core = nullptr;
    probe* victim = nullptr;
    int calls = 0;
  };
  probe first, second;
  auto on_complete = [](net::detail::io_op* op, int) noexcept {
    auto* p = static_cast<probe*>(op);
    ++p->calls;
    if (p->victim) {
      p->core->undefer(*p->victim);
      p->core->abandon_op(*p->victim, /*keep_slot=*/false);
      p->core->register_op(*p->victim);  // the same memory, a new operation in flight
    }
  };
  for (probe* p : {&first, &second}) {
    p->core = &core;
    p->complete = on_complete;
    core.register_op(*p);
    core.defer_completion(*p, 7);
  }
  first.victim = &second;
  core.run_deferred();
  CHECK(first.calls == 1);
  CHECK(second.calls == 0);        // the new operation is still waiting
  CHECK(second.in_flight());
  CHECK_FALSE(core.has_deferred());
  core.complete_op(second.id, 0);  // its own completion still reaches it
  CHECK(second.calls == 1);
}

TEST_CASE("run_deferred delivers only what was queued before it started, even when the last of those is abandoned",
          "[loop][deferred]") {
  net::detail::loop_core core;
  struct probe : net::detail::io_op {
    net::detail::loop_core* core = nullptr;
    probe* victim = nullptr;
    probe* requeue = nullptr;
    int calls = 0;
  };
  probe a, b, c;
  auto on_complete = [](net::detail::io_op* op, int) noexcept {
    auto* p = static_cast<probe*>(op);
    ++p->calls;
    if (p->victim) {
      p->core->undefer(*p->victim);
      p->core->abandon_op(*p->victim, /*keep_slot=*/false);
    }
    if (p->requeue) {  // queues more: for the next turn
      p->core->register_op(*p->requeue);
      p->core->defer_completion(*p->requeue, 0);
    }
  };
  for (probe* p : {&a, &b}) {
    p->core = &core;
    p->complete = on_complete;
    core.register_op(*p);
    core.defer_completion(*p, 0);
  }
  c.core = &core;
  c.complete = on_complete;
  a.victim = &b;   // b was the last queued before the turn
  a.requeue = &c;  // c comes after it
  core.run_deferred();
  CHECK(a.calls == 1);
  CHECK(b.calls == 0);
  CHECK(c.calls == 0);  // next turn's
  CHECK(core.has_deferred());
  core.run_deferred();
  CHECK(c.calls == 1);
}
