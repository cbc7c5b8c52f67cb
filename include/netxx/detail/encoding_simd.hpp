// SPDX-License-Identifier: BSL-1.0
#pragma once
// Which kernels encoding.hpp runs: AVX2 when the CPU has it (decided once, at
// the first call), else portable scalar code. The AVX2 kernels are compiled
// with __attribute__((target("avx2"))), so a program built for plain x86-64
// carries both and picks at run time; on other architectures only the scalar
// kernels exist. SSE2 is part of x86-64 itself and is used without a check.

#include <cstdint>

#include "../config.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NETXX_ENC_X86 1
#define NETXX_ENC_AVX2 __attribute__((target("avx2")))
#include <immintrin.h>
#else
#define NETXX_ENC_X86 0
#endif

NETXX_BEGIN_NAMESPACE

namespace detail {
namespace enc {

enum class kernels : std::uint8_t { scalar, avx2 };

inline kernels best_kernels() noexcept {
#if NETXX_ENC_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return kernels::avx2;
#endif
  return kernels::scalar;
}

inline kernels& kernel_choice() noexcept {
  static kernels k = best_kernels();
  return k;
}

inline bool use_avx2() noexcept {
#if NETXX_ENC_X86
  return kernel_choice() == kernels::avx2;
#else
  return false;
#endif
}

}  // namespace enc

// For tests and benchmarks: true makes the encodings run their scalar kernels
// even where AVX2 is available, false returns to the CPU's best. Not
// synchronised: call it while no other thread encodes or decodes.
inline void force_scalar_encodings(bool scalar) noexcept {
  enc::kernel_choice() = scalar ? enc::kernels::scalar : enc::best_kernels();
}

// Whether the AVX2 kernels are the ones running now.
inline bool avx2_encodings() noexcept { return enc::use_avx2(); }

}  // namespace detail

NETXX_END_NAMESPACE
