// NETXX_RECYCLE_CACHE_BYTES and NETXX_URING_BUF_RING_ENTRIES are run-time
// settings, the macros only defaults: this file and tunables_other.cpp are
// compiled with different values of both (tests/CMakeLists.txt) and make one
// consistent program. Both see the same values (the smallest), blocks pass
// from one file's code to the other's, and a loop's ring has the same size
// whichever file made it. Once, the values were compiled into inline code and
// a member's size: such a program mixed two layouts.
#include <malloc.h>

#include <cstring>

#include "tunables_test.hpp"

#if NETXX_RECYCLE_CACHE_BYTES != (8u << 20) || NETXX_URING_BUF_RING_ENTRIES != 64
#  error "tests/CMakeLists.txt compiles this file with 8 MiB and 64"
#endif

TEST_CASE("two files built with different values of the macros agree on the smallest", "[tunables]") {
  // The other file: 1 MiB and 4.
  CHECK(net::recycle_cache_bytes() == (std::size_t{1} << 20));
  CHECK(tunables_other::recycle_cache_bytes() == (std::size_t{1} << 20));
  CHECK(net::uring_buf_ring_entries() == 4);
  CHECK(tunables_other::uring_buf_ring_entries() == 4);

  // A loop's provided-buffer ring holds that many blocks, whichever file's
  // code made it.
  const std::ptrdiff_t ring = netxx_test::requested_backend() == "epoll" ? 0 : 4;
  CHECK(tunables_common::ring_blocks() == ring);
  CHECK(tunables_other::ring_blocks() == ring);

  // A block freed by one file's code is reused by the other's.
  void* p = net::detail::recycled_allocate(70'000);
  tunables_other::deallocate(p, 70'000);
  void* q = tunables_other::allocate(70'000);
  CHECK(q == p);
  net::detail::recycled_deallocate(q, 70'000);

  // Set at run time, a value wins over the macros, for both files.
  net::set_uring_buf_ring_entries(16);
  CHECK(tunables_other::uring_buf_ring_entries() == 16);
  CHECK(tunables_other::ring_blocks() == (ring == 0 ? 0 : 16));
  CHECK_THROWS_AS(net::set_uring_buf_ring_entries(3), net::error);
  CHECK_THROWS_AS(net::set_uring_buf_ring_entries(0), net::error);
  CHECK_THROWS_AS(net::set_uring_buf_ring_entries(65536), net::error);
  try {
    net::set_uring_buf_ring_entries(100);
  } catch (const net::error& e) {
    CHECK(e.code() == net::errc::err_out_of_range);
    CHECK(std::string(e.what()).find("Received 100") != std::string::npos);
  }
  CHECK(net::uring_buf_ring_entries() == 16);  // a refused value changes nothing

  // A block taken while the cache is off is whole-class sized, so the cache,
  // turned on again, can keep it and hand it out for any size of its class
  // (65,537 bytes and 73,728 share a class). The allocator's usable size
  // says how big the block really is (ASan's poisoning cannot: the cache
  // unpoisons a whole class).
  net::set_recycle_cache_bytes(0);
  CHECK(tunables_other::recycle_cache_bytes() == 0);
  void* small = tunables_other::allocate(65'537);
  CHECK(::malloc_usable_size(small) >= 73'728);
  net::set_recycle_cache_bytes(std::size_t{2} << 20);
  CHECK(tunables_other::recycle_cache_bytes() == (std::size_t{2} << 20));
  net::detail::recycled_deallocate(small, 65'537);
  void* large = tunables_other::allocate(73'728);
  CHECK(large == small);
  CHECK(::malloc_usable_size(large) >= 73'728);
  std::memset(large, 0xab, 73'728);
  net::detail::recycled_deallocate(large, 73'728);
}
