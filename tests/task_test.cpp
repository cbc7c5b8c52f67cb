// net::task and net::spawn: laziness, results, exceptions, constant stack.
#include <algorithm>
#include <array>
#include <stdexcept>
#include <thread>
#include <string>
#include <type_traits>
#include <vector>

#include "net_test.hpp"

namespace {

net::task<int> plus_one(int x) { co_return x + 1; }

net::task<int> depth(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await depth(n - 1);
}

net::task<int> throws_after_await() {
  co_await plus_one(0);
  throw std::runtime_error("boom");
}

net::task<> void_task(std::vector<int>& log, int v) {
  log.push_back(v);
  co_return;
}

struct move_only {
  explicit move_only(int v) : p(std::make_unique<int>(v)) {}
  std::unique_ptr<int> p;
};
net::task<move_only> make_move_only(int v) { co_return move_only(v); }

}  // namespace

TEST_CASE("task is lazy: nothing runs until it is awaited", "[task]") {
  std::vector<int> log;
  auto t = void_task(log, 1);
  CHECK(log.empty());
  CHECK_FALSE(t.done());
  net::run(std::move(t));
  CHECK(log == std::vector<int>{1});
}

TEST_CASE("task returns its value through run and co_await", "[task]") {
  CHECK(net::run(plus_one(41)) == 42);
  auto outer = []() -> net::task<int> { co_return co_await plus_one(1) + co_await plus_one(2); };
  CHECK(net::run(outer()) == 5);
}

TEST_CASE("task is move-only and carries move-only results", "[task]") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<net::task<int>>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<net::task<int>>);
  auto t = make_move_only(7);
  auto t2 = std::move(t);
  CHECK_FALSE(t.valid());
  CHECK(t2.valid());
  move_only m = net::run(std::move(t2));
  CHECK(*m.p == 7);
}

TEST_CASE("a chain of 1,000,000 synchronously completing co_awaits does not grow the stack", "[task]") {
  auto body = []() -> net::task<int> {
    int s = 0;
    for (int i = 0; i < 1'000'000; ++i) s = co_await plus_one(s);
    co_return s;
  };
  CHECK(net::run(body()) == 1'000'000);
}

TEST_CASE("a 1,000,000-deep chain of tasks awaiting tasks does not overflow the stack", "[task]") {
  CHECK(net::run(depth(1'000'000)) == 1'000'000);
}

TEST_CASE("an exception propagates through awaiting tasks to run()", "[task]") {
  auto middle = []() -> net::task<int> { co_return co_await throws_after_await() + 1; };
  auto outer = [&]() -> net::task<std::string> {
    try {
      co_await middle();
    } catch (const std::runtime_error& e) {
      co_return std::string("caught ") + e.what();
    }
    co_return "not thrown";
  };
  CHECK(net::run(outer()) == "caught boom");
  CHECK_THROWS_WITH(net::run(middle()), "boom");
}

namespace {
std::vector<std::string> reported;
void record(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    reported.push_back(x.what());
  }
}
}  // namespace

TEST_CASE("spawn runs a task detached and reports an exception that escapes it", "[task][spawn]") {
  reported.clear();
  auto previous = net::set_unhandled_exception_handler(&record);
  std::vector<int> log;
  net::spawn(void_task(log, 3));  // runs to completion before spawn returns
  CHECK(log == std::vector<int>{3});

  auto failing = []() -> net::task<> {
    co_await net::sleep(1);
    throw std::logic_error("escaped");
  };
  net::spawn(failing());
  CHECK(reported.empty());  // still waiting on its timer
  net::run();
  net::set_unhandled_exception_handler(previous);
  REQUIRE(reported.size() == 1);
  CHECK(reported[0] == "escaped");
}

TEST_CASE("run(task) fails loudly when the task can never complete", "[task]") {
  // Suspended on nothing the loop knows of: no referenced work can wake it.
  auto stuck = []() -> net::task<> { co_await std::suspend_always{}; };
  CHECK_THROWS_AS(net::run(stuck()), std::runtime_error);
}

TEST_CASE("size classes cover every size up to the cache's largest block, at most 25% over", "[task][recycling]") {
  using namespace net::detail;
  std::size_t last_class = 0;
  for (std::size_t n = 1; n <= recycling_cache::max_block; ++n) {
    const std::size_t c = recycle_class_of(n), size = recycle_class_size(c);
    REQUIRE(size >= n);
    REQUIRE(size <= n + n / 4 + 16);
    REQUIRE(c >= last_class);  // classes grow with the size
    REQUIRE(c < recycling_cache::classes);
    last_class = c;
  }
  STATIC_REQUIRE(recycle_class_size(recycle_class_of(recycling_cache::max_block)) == recycling_cache::max_block);
}

namespace {
// A frame of about 70 KiB, as a connection coroutine with a 64 KiB buffer has.
net::task<const void*> big_frame() {
  std::array<std::byte, 70'000> buf;
  buf[0] = std::byte{1};
  co_await plus_one(0);
  co_return static_cast<const void*>(&buf);
}
}  // namespace

TEST_CASE("a coroutine frame freed on this thread is reused by the next frame of its size", "[task][recycling]") {
  // glibc would give such a block back to the kernel and fault it in again;
  // the thread's cache hands the same block out again, warm.
  const void* first = net::run(big_frame());
  const void* second = net::run(big_frame());
  CHECK(first == second);
  // Many at once: all are made, all are freed, and the next round reuses
  // them (16 frames, 1.3 MiB: within the share the cache keeps for one size
  // while the deep-chain test above has filled it with small frames).
  std::vector<net::task<const void*>> round;
  for (int i = 0; i < 16; ++i) round.push_back(big_frame());
  std::vector<const void*> addresses;
  for (auto& t : round) addresses.push_back(net::run(std::move(t)));
  round.clear();
  std::sort(addresses.begin(), addresses.end());
  CHECK(std::adjacent_find(addresses.begin(), addresses.end()) == addresses.end());  // 16 live frames, 16 blocks
  for (int i = 0; i < 16; ++i) round.push_back(big_frame());
  std::vector<const void*> again;
  for (auto& t : round) again.push_back(net::run(std::move(t)));
  std::sort(again.begin(), again.end());
  CHECK(again == addresses);
}

TEST_CASE("frames freed on another thread join that thread's cache and are freed with it", "[task][recycling]") {
  auto t = big_frame();  // made here
  const void* frame = t.handle().address();
  bool reused_there = false;
  std::thread other([&] {
    t = {};  // freed there, into that thread's cache...
    auto u = big_frame();
    reused_there = u.handle().address() == frame;  // ...which hands it out there
  });  // and frees it when the thread ends (LeakSanitizer checks that)
  other.join();
  CHECK(reused_there);
}
