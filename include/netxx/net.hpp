// SPDX-License-Identifier: BSL-1.0
#pragma once
/// The umbrella header: all of netxx, plus `namespace net = netxx;` unless
/// NETXX_NO_NET_ALIAS is defined.

#include "buffer.hpp"
#include "config.hpp"
#include "errors.hpp"
#include "encoding.hpp"
#include "loop.hpp"
#include "task.hpp"
#include "timer.hpp"
#include "socket.hpp"
#include "connect.hpp"
#include "server.hpp"
#include "dns.hpp"
#include "abortable.hpp"
#include "compose.hpp"

#if __has_include("ip.hpp")
#  include "ip.hpp"
#endif
#if __has_include("socket_address.hpp")
#  include "socket_address.hpp"
#endif
#if __has_include("block_list.hpp")
#  include "block_list.hpp"
#endif
#include "workers.hpp"

#ifndef NETXX_NO_NET_ALIAS
namespace net = netxx;
#endif

// Beyond Node (issue 14): awaitable events, iterating a socket.
#include "awaitable_events.hpp"
#include "chunks.hpp"
