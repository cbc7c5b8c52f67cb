// The runtime on its own, before any socket: which backend the loop chose,
// tasks awaiting tasks, timers in the event style and the awaitable style,
// a cancelled sleep, and a call posted from another thread.
#include <netxx/net.hpp>

#include <fmt/core.h>

#include <thread>

net::task<int> slow_square(int x) {
  co_await net::sleep(10 * x);
  co_return x * x;
}

net::task<> demo() {
  auto& loop = net::loop::current();
  auto f = loop.features();
  fmt::print("backend: {}{}\n", f.backend, f.fell_back ? " (io_uring unavailable, fell back)" : "");
  if (f.backend == "io_uring")
    fmt::print("io_uring features: single_issuer={} defer_taskrun={} multishot_accept={} multishot_recv={} "
               "buffer_rings={}\n",
               f.uring.single_issuer, f.uring.defer_taskrun, f.uring.multishot_accept, f.uring.multishot_recv,
               f.uring.provided_buffer_rings);

  // Event style, as Node's setTimeout / setInterval.
  int ticks = 0;
  net::timer ticker = net::set_interval([&] { fmt::print("  tick {}\n", ++ticks); }, 15);
  net::set_timeout([] { fmt::print("  timeout after 40 ms\n"); }, 40);

  // Awaitable style.
  int sum = 0;
  for (int i = 1; i <= 3; ++i) sum += co_await slow_square(i);
  fmt::print("sum of squares: {}\n", sum);
  net::clear_interval(ticker);

  // A sleep cancelled by a stop_token fires ABORT_ERR, as an AbortSignal does.
  std::stop_source stop;
  net::set_timeout([&] { stop.request_stop(); }, 5);
  try {
    co_await net::sleep(10'000, stop.get_token());
  } catch (const net::error& e) {
    fmt::print("cancelled sleep: {} ({})\n", e.code_string(), e.what());
  }

  // loop.post is the thread-safe way in.
  std::thread worker([&loop] { loop.post([] { fmt::print("hello from another thread, run on the loop\n"); }); });
  co_await net::sleep(20);
  worker.join();
}

int main() { return net::run(demo()); }
