// SPDX-License-Identifier: BSL-1.0
#pragma once
// Which kernels encoding.hpp runs: AVX2 when the CPU has it (decided once, at
// the first call), else portable scalar code. The AVX2 kernels are compiled
// with __attribute__((target("avx2"))), so a program built for plain x86-64
// carries both and picks at run time; on other architectures only the scalar
// kernels exist. SSE2 is part of x86-64 itself and is used without a check.
//
// The kernels are written with the compilers' vector extensions and the
// __builtin_ia32_* functions that <immintrin.h> wraps, not with that header:
// it costs about half a second of g++ time in every translation unit that
// includes netxx. Each helper below names the intrinsic it stands for.

#include <cstdint>
#include <cstring>

#include "../config.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NETXX_ENC_X86 1
#define NETXX_ENC_AVX2 __attribute__((target("avx2")))
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

#if NETXX_ENC_X86
// 32-byte and 16-byte vectors (bytes as char, which the builtins take).
typedef char v32c __attribute__((vector_size(32)));
typedef signed char v32s __attribute__((vector_size(32)));
typedef unsigned char v32u __attribute__((vector_size(32)));
typedef short v16s __attribute__((vector_size(32)));
typedef unsigned short v16u __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
typedef unsigned v8u __attribute__((vector_size(32)));
typedef long long v4q __attribute__((vector_size(32)));
typedef char v16c __attribute__((vector_size(16)));

NETXX_ENC_AVX2 inline v32c load32(const void* p) noexcept {  // _mm256_loadu_si256
  v32c v;
  std::memcpy(&v, p, 32);
  return v;
}
NETXX_ENC_AVX2 inline v32c splat8(int c) noexcept { return v32c{} + static_cast<char>(c); }  // _mm256_set1_epi8
NETXX_ENC_AVX2 inline v32c splat32(int c) noexcept { return reinterpret_cast<v32c>(v8i{} + c); }  // _mm256_set1_epi32
// Byte additions wrap, as the instructions do (in unsigned vectors, where
// wrapping is defined; _mm256_add_epi8, _mm256_sub_epi8).
NETXX_ENC_AVX2 inline v32c add8(v32c a, v32c b) noexcept {
  return reinterpret_cast<v32c>(reinterpret_cast<v32u>(a) + reinterpret_cast<v32u>(b));
}
NETXX_ENC_AVX2 inline v32c sub8(v32c a, v32c b) noexcept {
  return reinterpret_cast<v32c>(reinterpret_cast<v32u>(a) - reinterpret_cast<v32u>(b));
}
NETXX_ENC_AVX2 inline v32c lookup(v32c table, v32c index) noexcept {  // _mm256_shuffle_epi8
  return __builtin_ia32_pshufb256(table, index);
}
NETXX_ENC_AVX2 inline bool all_zero(v32c v) noexcept {  // _mm256_testz_si256(v, v)
  return __builtin_ia32_ptestz256(reinterpret_cast<v4q>(v), reinterpret_cast<v4q>(v));
}
NETXX_ENC_AVX2 inline unsigned high_bits(v32c v) noexcept {  // _mm256_movemask_epi8
  return static_cast<unsigned>(__builtin_ia32_pmovmskb256(v));
}
NETXX_ENC_AVX2 inline v32c high_nibbles(v32c v) noexcept {  // (v >> 4) & 15, per byte
  return reinterpret_cast<v32c>(reinterpret_cast<v8u>(v) >> 4) & splat8(0x0F);
}
NETXX_ENC_AVX2 inline v16s madd_bytes(v32c u, v32c s) noexcept {  // _mm256_maddubs_epi16
  return __builtin_ia32_pmaddubsw256(u, s);
}
#endif

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
