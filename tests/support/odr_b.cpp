#include <netxx/net.hpp>

// Returns 7 after a round trip through the thread's loop from this unit.
int odr_b_value() {
  auto t = []() -> net::task<int> {
    co_await net::sleep(1);
    co_return 7;
  };
  return net::run(t());
}

net::loop* odr_b_loop() { return &net::loop::current(); }
