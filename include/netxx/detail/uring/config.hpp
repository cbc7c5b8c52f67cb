// SPDX-License-Identifier: BSL-1.0
#pragma once
// What of the io_uring backend exists in every build, the epoll-only one
// (NETXX_DISABLE_IO_URING) included: the features a loop reports, and the
// size of the provided-buffer ring. Nothing here needs liburing.

#include <cstddef>
#include <string>

#include "../../config.hpp"
#include "../../errors.hpp"
#include "../tunable.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

#ifdef NETXX_DISABLE_IO_URING
inline constexpr bool uring_compiled = false;
#else
inline constexpr bool uring_compiled = true;
#endif

/// What the kernel offered when the loop was set up; later layers ask it
/// before using a feature, and fall back to plain operations where absent.
struct uring_features {
  bool single_issuer = false;     // 6.0
  bool defer_taskrun = false;     // 6.1
  bool ext_arg = false;           // 5.11: wait with a timeout, no timeout SQE
  bool multishot_accept = false;  // 5.19
  bool multishot_recv = false;    // 6.0
  bool provided_buffer_rings = false;  // 5.19
  bool registered_ring_fd = false;     // 5.18
  bool msg_ring = false;          // 5.18
  bool send_zc = false;           // 6.0
};

/// Blocks in each loop's provided-buffer ring (256 by default): read when a
/// loop makes its ring, at its first pooled read.
inline constinit tunable uring_buf_ring_setting{256};

constexpr bool valid_buf_ring_entries(std::size_t n) noexcept {
  return n > 0 && n <= 32768 && (n & (n - 1)) == 0;
}

}  // namespace detail

/// Blocks in the io_uring provided-buffer ring of each loop (256 unless set).
inline std::size_t uring_buf_ring_entries() noexcept { return detail::uring_buf_ring_setting.get(); }
/// Sets that number for the loops that make their ring from now on (a ring
/// is made at a loop's first pooled read); it wins over
/// NETXX_URING_BUF_RING_ENTRIES. A power of two up to 32768, else
/// ERR_OUT_OF_RANGE. Has no effect in an epoll-only build.
inline void set_uring_buf_ring_entries(std::size_t entries) {
  if (!detail::valid_buf_ring_entries(entries))
    throw error(errc::err_out_of_range,
                "The value of \"entries\" is out of range. It must be a power of two from 1 to 32768. Received " +
                    std::to_string(entries));
  detail::uring_buf_ring_setting.set(entries);
}

NETXX_END_NAMESPACE

// NETXX_URING_BUF_RING_ENTRIES, defined when this header is compiled, is the
// default (the smallest, if translation units disagree): registered before
// main by an initialiser of this translation unit alone (detail/tunable.hpp).
#ifdef NETXX_URING_BUF_RING_ENTRIES
static_assert(::netxx::detail::valid_buf_ring_entries(NETXX_URING_BUF_RING_ENTRIES),
              "NETXX_URING_BUF_RING_ENTRIES: a power of two up to 32768");
namespace {
[[maybe_unused]] const bool netxx_uring_buf_ring_entries_from_macro =
    ::netxx::detail::uring_buf_ring_setting.set_from_macro(static_cast<std::size_t>(NETXX_URING_BUF_RING_ENTRIES));
}  // namespace
#endif
