// SPDX-License-Identifier: BSL-1.0
#pragma once
// A process-wide tuning value (the recycling cache's budget, the io_uring
// provided-buffer ring's size) that was once a macro baked into the headers.
//
// Why not a macro any more: a value a header compiles into inline code or a
// layout makes two translation units built with different values one
// inconsistent program (an ODR violation the linker does not see; with the
// buffer ring, one function masks with 4 entries, another with 256). Here
// the headers read one variable at run time, so every translation unit
// agrees. The macro is still honoured as a default: each translation unit
// compiled with it registers its value before main (an initialiser with
// internal linkage, so no inline code differs), and the smallest registered
// value wins, whatever the order of initialisation. A value set at run time
// (set_recycle_cache_bytes, set_uring_buf_ring_entries) overrides both.

#include <atomic>
#include <cstddef>
#include <limits>

#include "../config.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

class tunable {
 public:
  /// Constant-initialised: the built-in default holds before any static
  /// initialiser runs.
  constexpr explicit tunable(std::size_t builtin) noexcept : value_(builtin) {}
  tunable(const tunable&) = delete;
  tunable& operator=(const tunable&) = delete;

  std::size_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

  /// A value set at run time: it wins over the macro and the built-in default.
  void set(std::size_t v) noexcept {
    explicit_.store(true, std::memory_order_relaxed);
    value_.store(v, std::memory_order_relaxed);
  }

  /// The macro's value of one translation unit; the smallest of them wins.
  /// Returns true so it can initialise a variable.
  bool set_from_macro(std::size_t v) noexcept {
    std::size_t cur = macro_.load(std::memory_order_relaxed);
    while (v < cur && !macro_.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
    if (!explicit_.load(std::memory_order_relaxed)) value_.store(macro_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return true;
  }

 private:
  std::atomic<std::size_t> value_;
  std::atomic<std::size_t> macro_{std::numeric_limits<std::size_t>::max()};
  std::atomic<bool> explicit_{false};
};

}  // namespace detail
NETXX_END_NAMESPACE
