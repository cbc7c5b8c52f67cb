// SPDX-License-Identifier: BSL-1.0
// The compiled part of netxx, for NETXX_SEPARATE_COMPILATION: every
// definition the headers then only declare, compiled once. Header-only
// programs never build this file.
#ifndef NETXX_SEPARATE_COMPILATION
#  error "src/netxx.cpp is built with NETXX_SEPARATE_COMPILATION defined (the CMake option of that name does it)"
#endif
#define NETXX_BUILDING_LIBRARY 1

#include <netxx/net.hpp>

NETXX_BEGIN_NAMESPACE

// The loop on each backend: programs may name uring_backend or epoll_backend.
template class basic_loop<detail::auto_backend>;
#ifndef NETXX_DISABLE_IO_URING
template class basic_loop<detail::uring_backend>;
#endif
template class basic_loop<detail::epoll_backend>;
namespace dns {
namespace detail {
template void start_lookup(basic_loop<netxx::detail::auto_backend>&, std::string_view, const lookup_options&, lookup_callback);
#ifndef NETXX_DISABLE_IO_URING
template void start_lookup(basic_loop<netxx::detail::uring_backend>&, std::string_view, const lookup_options&, lookup_callback);
#endif
template void start_lookup(basic_loop<netxx::detail::epoll_backend>&, std::string_view, const lookup_options&, lookup_callback);
}  // namespace detail
template class lookup_awaitable<netxx::detail::auto_backend>;
#ifndef NETXX_DISABLE_IO_URING
template class lookup_awaitable<netxx::detail::uring_backend>;
#endif
template class lookup_awaitable<netxx::detail::epoll_backend>;
}  // namespace dns

// The spec's objects run on the automatic backend.
namespace detail {
template struct socket_state<auto_backend>;
template struct connector<socket_state<auto_backend>>;
template struct server_state<auto_backend>;
}  // namespace detail
template class basic_socket<detail::auto_backend>;
template class basic_server<detail::auto_backend>;

NETXX_END_NAMESPACE
