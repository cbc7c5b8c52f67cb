#pragma once
// What both translation units of tunables_test define, each with its own
// values of the macros: the same code, compiled twice.
#include <cstddef>
#include <thread>

#include "net_test.hpp"

namespace tunables_common {

// On a new thread (a new loop, a new block pool): the blocks one pooled read
// leaves taken from the pool once its buffer is gone. io_uring's
// provided-buffer ring keeps its blocks, so this is the ring's size (0 under
// epoll, which has no ring). inline, and in an anonymous namespace: each
// file has its own.
namespace {
inline std::ptrdiff_t ring_blocks() {
  std::ptrdiff_t held = -1;
  std::thread([&] {
    const auto [a, b] = netxx_test::connected_pair(AF_INET);
    net::socket s(net::socket_options{.fd = a});
    const auto before = net::detail::block_pool::in_use();
    auto body = [](net::socket s, int peer) -> net::task<bool> {
      const bool wrote = ::write(peer, "ping", 4) == 4;
      net::buffer got = co_await s.read();
      co_return wrote && got.text() == "ping";
    };
    const bool ok = netxx_test::run_bounded(body(s, b));
    s.destroy();
    ::close(b);
    netxx_test::settle();
    if (ok) held = net::detail::block_pool::in_use() - before;
  }).join();
  return held;
}
}  // namespace

}  // namespace tunables_common

namespace tunables_other {
std::size_t recycle_cache_bytes();
std::size_t uring_buf_ring_entries();
void* allocate(std::size_t n);
void deallocate(void* p, std::size_t n);
std::ptrdiff_t ring_blocks();
}  // namespace tunables_other
