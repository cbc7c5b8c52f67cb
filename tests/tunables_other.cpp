// The other translation unit of tunables_test, compiled with other values of
// NETXX_RECYCLE_CACHE_BYTES and NETXX_URING_BUF_RING_ENTRIES than
// tunables_test.cpp (tests/CMakeLists.txt): it reports what it sees and does
// the same work with its own copies of netxx's inline code.
#include "tunables_test.hpp"

namespace tunables_other {

std::size_t recycle_cache_bytes() { return net::recycle_cache_bytes(); }
std::size_t uring_buf_ring_entries() { return net::uring_buf_ring_entries(); }
void* allocate(std::size_t n) { return net::detail::recycled_allocate(n); }
void deallocate(void* p, std::size_t n) { net::detail::recycled_deallocate(p, n); }
std::ptrdiff_t ring_blocks() { return tunables_common::ring_blocks(); }

}  // namespace tunables_other
