// Timers: Node's setTimeout/setInterval on the loop's heap, and sleep.
#include <algorithm>
#include <random>
#include <thread>
#include <vector>

#include "net_test.hpp"

TEST_CASE("100,000 timers fire in deadline order, ties in arming order, and cancelled ones never fire",
          "[timer]") {
  constexpr int n = 100'000;
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay(1, 40);
  std::vector<int> delays(n);
  std::vector<int> fired;
  fired.reserve(n);
  std::vector<net::timer> timers;
  timers.reserve(n);
  for (int i = 0; i < n; ++i) {
    delays[static_cast<std::size_t>(i)] = delay(rng);
    timers.push_back(net::set_timeout([&fired, i] { fired.push_back(i); }, delays[static_cast<std::size_t>(i)]));
  }
  // One kernel timeout for all of them: the heap holds them, not the kernel.
  CHECK(net::loop::current().core().armed_timers() >= static_cast<std::size_t>(n));
  for (int i = 0; i < n; i += 3) timers[static_cast<std::size_t>(i)].close();
  net::run();

  std::vector<int> expected;
  for (int i = 0; i < n; ++i)
    if (i % 3 != 0) expected.push_back(i);
  // All armed in one turn: same start time, so order is (delay, arming order).
  std::stable_sort(expected.begin(), expected.end(), [&](int a, int b) {
    return delays[static_cast<std::size_t>(a)] < delays[static_cast<std::size_t>(b)];
  });
  REQUIRE(fired.size() == expected.size());
  CHECK(fired == expected);
}

TEST_CASE("a timer closed from inside another timer's callback never fires", "[timer]") {
  bool second = false;
  net::timer victim = net::set_timeout([&] { second = true; }, 10);
  net::set_timeout([&] { victim.close(); }, 5);
  net::run();
  CHECK_FALSE(second);
  CHECK_FALSE(victim.active());
}

TEST_CASE("set_interval repeats until cleared, and may clear itself", "[timer]") {
  int n = 0;
  net::timer iv;
  iv = net::set_interval(
      [&] {
        if (++n == 5) net::clear_interval(iv);
      },
      1);
  net::run();
  CHECK(n == 5);
}

TEST_CASE("refresh() restarts a timer's delay without firing it", "[timer]") {
  std::vector<std::string> order;
  net::timer t = net::set_timeout([&] { order.push_back("refreshed"); }, 10);
  // Refresh at 8 ms pushes it to ~18 ms: after the 14 ms marker.
  net::set_timeout([&] { t.refresh(); }, 8);
  net::set_timeout([&] { order.push_back("marker"); }, 14);
  net::run();
  CHECK(order == std::vector<std::string>{"marker", "refreshed"});
}

TEST_CASE("delays outside [1, 2^31-1] ms are clamped to 1 ms, as in Node", "[timer]") {
  STATIC_REQUIRE(net::clamp_timer_delay(0) == 1);
  STATIC_REQUIRE(net::clamp_timer_delay(-5) == 1);
  STATIC_REQUIRE(net::clamp_timer_delay(2147483648LL) == 1);
  STATIC_REQUIRE(net::clamp_timer_delay(2147483647LL) == 2147483647LL);
  bool fired = false;
  net::set_timeout([&] { fired = true; }, -100);
  net::run();
  CHECK(fired);
}

TEST_CASE("a timer handle dropped while armed still fires, as in Node", "[timer]") {
  bool fired = false;
  { net::set_timeout([&] { fired = true; }, 2); }
  net::run();
  CHECK(fired);
}

TEST_CASE("sleep resumes after its delay and keeps the loop alive meanwhile", "[timer][sleep]") {
  auto& loop = net::loop::current();
  auto body = [&]() -> net::task<std::int64_t> {
    loop.core().update_time();
    const auto start = loop.now();
    co_await net::sleep(15);
    co_return loop.now() - start;
  };
  CHECK(net::run(body()) >= 15);
}

TEST_CASE("a stop_token cancels a sleep with ABORT_ERR, from this thread or another", "[timer][sleep][cancel]") {
  auto& loop = net::loop::current();
  SECTION("same thread") {
    std::stop_source src;
    net::set_timeout([&] { src.request_stop(); }, 2);
    auto body = [&]() -> net::task<std::string> {
      try {
        co_await net::sleep(60'000, src.get_token());
      } catch (const net::error& e) {
        co_return std::string(e.code_string());
      }
      co_return "slept";
    };
    CHECK(netxx_test::run_bounded(body()) == "ABORT_ERR");
  }
  SECTION("other thread") {
    std::stop_source src;
    std::thread t([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      src.request_stop();
    });
    auto body = [&]() -> net::task<std::string> {
      try {
        co_await net::sleep(60'000, src.get_token());
      } catch (const net::error& e) {
        co_return std::string(e.code_string());
      }
      co_return "slept";
    };
    CHECK(netxx_test::run_bounded(body()) == "ABORT_ERR");
    t.join();
  }
  SECTION("already stopped: no wait at all") {
    std::stop_source src;
    src.request_stop();
    auto body = [&]() -> net::task<bool> {
      try {
        co_await net::sleep(60'000, src.get_token());
      } catch (const net::error& e) {
        co_return e.code() == net::errc::abort_err;
      }
      co_return false;
    };
    CHECK(net::run(body()));
  }
  CHECK(loop.core().armed_timers() == 0);
  CHECK(loop.core().refs() == 0);
}
