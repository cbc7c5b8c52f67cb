// SPDX-License-Identifier: BSL-1.0
#pragma once
// UTF-8 for encoding.hpp: finding the end of ASCII (SSE2 32 bytes at a time on
// x86-64, else 8-byte words), one step of the WHATWG decoder, and the length
// of the valid prefix of a buffer. The prefix is found by a shift DFA over
// 16-byte blocks (scalar), or with AVX2 by the lookup algorithm of Keiser and Lemire
// ("Validating UTF-8 In Less Than One Instruction Per Byte", 2021; the one
// simdjson and simdutf run): 32 bytes at a time, the high and low nibbles of
// each byte and of the byte before it index three tables whose AND is non-zero
// exactly where a pair of bytes cannot occur in UTF-8 (too short, too long,
// overlong, surrogate, above U+10FFFF), plus a check that the bytes two and
// three places after a 3- or 4-byte lead are continuations.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "encoding_simd.hpp"

NETXX_BEGIN_NAMESPACE

namespace detail::enc {

// True when none of the 8 bytes at p has its high bit set.
inline bool ascii8(const unsigned char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return (w & 0x8080808080808080ull) == 0;
}

// Index of the first byte at or after i with its high bit set (or n).
inline std::size_t skip_ascii(const unsigned char* p, std::size_t i, std::size_t n) noexcept {
#if NETXX_ENC_X86
  for (; i + 32 <= n; i += 32) {  // SSE2's _mm_movemask_epi8 on two 16-byte loads
    v16c a, b;
    std::memcpy(&a, p + i, 16);
    std::memcpy(&b, p + i + 16, 16);
    if (const unsigned m = static_cast<unsigned>(__builtin_ia32_pmovmskb128(a)) |
                           static_cast<unsigned>(__builtin_ia32_pmovmskb128(b)) << 16)
      return i + static_cast<std::size_t>(__builtin_ctz(m));
  }
#endif
  while (i + 8 <= n && ascii8(p + i)) i += 8;
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

// One step of the WHATWG UTF-8 decoder (which V8's String::NewFromUtf8
// implements) at a non-ASCII lead byte: the length of the valid sequence at
// p, or, when invalid, the length of its maximal subpart (which becomes one
// U+FFFD; the byte after it is read afresh).
struct utf8_step {
  std::uint8_t len;
  bool valid;
  char32_t cp;
};

inline utf8_step utf8_next(const unsigned char* p, std::size_t n) noexcept {
  const unsigned b = p[0];
  unsigned need, lo = 0x80, hi = 0xBF;
  char32_t cp;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
    cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    cp = b & 0x0F;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;  // no UTF-16 surrogates in UTF-8
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    cp = b & 0x07;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false, 0};  // 80-C1 (stray continuation, overlong lead), F5-FF
  }
  for (unsigned k = 1; k <= need; ++k) {
    if (k >= n) return {static_cast<std::uint8_t>(k), false, 0};  // cut short
    const unsigned c = p[k];
    if (c < lo || c > hi) return {static_cast<std::uint8_t>(k), false, 0};
    cp = (cp << 6) | (c & 0x3F);
    lo = 0x80;
    hi = 0xBF;
  }
  return {static_cast<std::uint8_t>(need + 1), true, cp};
}

// The UTF-8 automaton (RFC 3629's table of well-formed sequences) as a
// shift DFA: a state is a multiple of 6, and the 64-bit row of a byte holds
// at bit `state` the 6-bit next state, so a step is a shift and a mask whose
// table load does not wait for the previous step.
namespace utf8_dfa {
enum : unsigned {
  accept = 0,       // between characters
  cont1 = 6,        // one continuation byte to go
  cont2 = 12,       // two
  after_e0 = 18,    // A0..BF, then one more
  after_ed = 24,    // 80..9F (no surrogates), then one more
  cont3 = 30,       // three
  after_f0 = 36,    // 90..BF, then two more
  after_f4 = 42,    // 80..8F (nothing above U+10FFFF), then two more
  reject = 48,      // and stays there
};

constexpr std::array<std::uint64_t, 256> make_rows() noexcept {
  std::array<std::uint64_t, 256> rows{};
  for (unsigned b = 0; b < 256; ++b) {
    auto next = [b](unsigned state) -> unsigned {
      auto in = [b](unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
      switch (state) {
        case accept:
          if (in(0x00, 0x7F)) return accept;
          if (in(0xC2, 0xDF)) return cont1;
          if (b == 0xE0) return after_e0;
          if (b == 0xED) return after_ed;
          if (in(0xE1, 0xEF)) return cont2;
          if (b == 0xF0) return after_f0;
          if (in(0xF1, 0xF3)) return cont3;
          if (b == 0xF4) return after_f4;
          return reject;
        case cont1: return in(0x80, 0xBF) ? accept : reject;
        case cont2: return in(0x80, 0xBF) ? cont1 : reject;
        case after_e0: return in(0xA0, 0xBF) ? cont1 : reject;
        case after_ed: return in(0x80, 0x9F) ? cont1 : reject;
        case cont3: return in(0x80, 0xBF) ? cont2 : reject;
        case after_f0: return in(0x90, 0xBF) ? cont2 : reject;
        case after_f4: return in(0x80, 0x8F) ? cont2 : reject;
        default: return reject;
      }
    };
    for (unsigned state = 0; state <= reject; state += 6) rows[b] |= std::uint64_t{next(state)} << state;
  }
  return rows;
}
inline constexpr auto rows = make_rows();
}  // namespace utf8_dfa

// Where the character in progress at b started (b itself between characters).
inline std::size_t utf8_char_start(const unsigned char* p, std::size_t b, unsigned state) noexcept {
  if (state == utf8_dfa::accept) return b;
  while (b > 0 && (p[b - 1] & 0xC0) == 0x80) --b;
  return b > 0 ? b - 1 : 0;
}

// The valid prefix, scalar: a character boundary at or before the first
// invalid sequence (within 16 bytes of it), or n. The automaton runs over
// blocks of 16 bytes without a branch per byte (reject is a trap state, so
// one test per block says whether the block went wrong).
inline std::size_t utf8_valid_prefix_scalar(const unsigned char* p, std::size_t n) noexcept {
  const std::uint64_t* rows = utf8_dfa::rows.data();
  std::size_t i = 0;
  unsigned state = utf8_dfa::accept;
  for (; i + 16 <= n; i += 16) {
    if (state == utf8_dfa::accept && ascii8(p + i) && ascii8(p + i + 8)) continue;
    const unsigned before = state;
    for (std::size_t k = 0; k < 16; ++k) state = static_cast<unsigned>(rows[p[i + k]] >> state) & 63;
    if (state == utf8_dfa::reject) return utf8_char_start(p, i, before);
  }
  const unsigned before = state;
  for (std::size_t k = i; k < n; ++k) state = static_cast<unsigned>(rows[p[k]] >> state) & 63;
  if (state == utf8_dfa::reject) return utf8_char_start(p, i, before);
  return state == utf8_dfa::accept ? n : utf8_char_start(p, n, state);
}

// Bytes [0, b) passed the checks, so they are whole characters but for a
// last one that may run on past b: the start of that character, else b.
inline std::size_t utf8_boundary(const unsigned char* p, std::size_t b) noexcept {
  std::size_t j = b;
  while (j > 0 && b - j < 3 && (p[j - 1] & 0xC0) == 0x80) --j;
  if (j == 0) return 0;
  const unsigned lead = p[j - 1];
  if (lead < 0xC0) return b;
  const std::size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  return j - 1 + len <= b ? b : j - 1;
}

#if NETXX_ENC_X86
// The 32 bytes ending N bytes before `in`'s last byte (prev's tail, then in):
// _mm256_alignr_epi8(in, _mm256_permute2x128_si256(prev, in, 0x21), 16 - N).
template <int N>
NETXX_ENC_AVX2 inline v32c utf8_prev(v32c in, v32c prev) noexcept {
  const v4q mid = __builtin_ia32_permti256(reinterpret_cast<v4q>(prev), reinterpret_cast<v4q>(in), 0x21);
#if defined(__clang__)
  return __builtin_ia32_palignr256(in, reinterpret_cast<v32c>(mid), 16 - N);
#else
  return reinterpret_cast<v32c>(__builtin_ia32_palignr256(reinterpret_cast<v4q>(in), mid, (16 - N) * 8));
#endif
}

// Non-zero where the bytes of `in` (after `prev`) cannot be UTF-8.
NETXX_ENC_AVX2 inline v32c utf8_errors(v32c in, v32c prev) noexcept {
  // Error classes of a pair (byte before, byte), as in simdjson's lookup4.
  constexpr char too_short = 1 << 0;       // lead then ASCII, or lead then lead
  constexpr char too_long = 1 << 1;        // ASCII then continuation
  constexpr char overlong_3 = 1 << 2;      // E0 80..9F
  constexpr char too_large = 1 << 3;       // F4 90..BF, F5..FF 90..BF
  constexpr char surrogate = 1 << 4;       // ED A0..BF
  constexpr char overlong_2 = 1 << 5;      // C0..C1 continuation
  constexpr char too_large_1000 = 1 << 6;  // F5..FF 80..8F
  constexpr char overlong_4 = 1 << 6;      // F0 80..8F
  constexpr char two_conts = static_cast<char>(1 << 7);  // continuation then continuation
  constexpr char carry = too_short | too_long | two_conts;
  constexpr char h_c0 = too_short | overlong_2, h_e0 = too_short | overlong_3 | surrogate;
  constexpr char h_f0 = too_short | too_large | too_large_1000 | overlong_4;
  constexpr char l_0 = carry | overlong_3 | overlong_2 | overlong_4, l_1 = carry | overlong_2;
  constexpr char l_4 = carry | too_large, l_big = carry | too_large | too_large_1000, l_d = l_big | surrogate;
  constexpr char c80 = too_long | overlong_2 | two_conts | overlong_3 | too_large_1000 | overlong_4;
  constexpr char c90 = too_long | overlong_2 | two_conts | overlong_3 | too_large;
  constexpr char ca0 = too_long | overlong_2 | two_conts | surrogate | too_large;
  constexpr char tl = too_long, tc = two_conts, ts = too_short;
  const v32c byte_1_high = {tl, tl, tl, tl, tl, tl, tl, tl, tc, tc, tc, tc, h_c0, ts, h_e0, h_f0,
                            tl, tl, tl, tl, tl, tl, tl, tl, tc, tc, tc, tc, h_c0, ts, h_e0, h_f0};
  const v32c byte_1_low = {l_0,   l_1,   carry, carry, l_4,   l_big, l_big, l_big, l_big, l_big, l_big,
                           l_big, l_big, l_d,   l_big, l_big, l_0,   l_1,   carry, carry, l_4,   l_big,
                           l_big, l_big, l_big, l_big, l_big, l_big, l_big, l_d,   l_big, l_big};
  const v32c byte_2_high = {ts, ts, ts, ts, ts, ts, ts, ts, c80, c90, ca0, ca0, ts, ts, ts, ts,
                            ts, ts, ts, ts, ts, ts, ts, ts, c80, c90, ca0, ca0, ts, ts, ts, ts};
  const v32c prev1 = utf8_prev<1>(in, prev);
  const v32c special = lookup(byte_1_high, high_nibbles(prev1)) & lookup(byte_1_low, prev1 & splat8(0x0F)) &
                       lookup(byte_2_high, high_nibbles(in));
  // Bytes 2 and 3 after a 3- or 4-byte lead must be continuations: bit 7 of
  // `special` says a continuation follows a continuation; the two must agree.
  const v32c third = reinterpret_cast<v32c>(reinterpret_cast<v32u>(utf8_prev<2>(in, prev)) >= 0xE0);
  const v32c fourth = reinterpret_cast<v32c>(reinterpret_cast<v32u>(utf8_prev<3>(in, prev)) >= 0xF0);
  return ((third | fourth) & splat8(0x80)) ^ special;
}

// Non-zero when the 32 bytes end inside a character.
NETXX_ENC_AVX2 inline v32c utf8_incomplete(v32c in) noexcept {
  constexpr unsigned char m = 0xFF;
  const v32u max = {m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m,
                    0xF0 - 1, 0xE0 - 1, 0xC0 - 1};
  return reinterpret_cast<v32c>(reinterpret_cast<v32u>(in) > max);
}

// The index of the first byte flagged in `err` (which has one). Every pair
// of bytes ending before it is well formed, so utf8_boundary() there finds
// the start of the character that goes wrong (or that byte itself).
NETXX_ENC_AVX2 inline std::size_t utf8_first_error(v32c err) noexcept {
  return static_cast<std::size_t>(__builtin_ctz(~high_bits(reinterpret_cast<v32c>(err == v32c{}))));
}

// The valid prefix, AVX2: the start of the first invalid sequence, or n
// (or, for an error only seen at a block's start, the block's start).
NETXX_ENC_AVX2 inline std::size_t utf8_valid_prefix_avx2(const unsigned char* p, std::size_t n) noexcept {
  v32c prev{}, incomplete{};
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const v32c in = load32(p + i);
    if (high_bits(in) == 0) {  // ASCII: only a character cut by it is wrong
      if (!all_zero(incomplete)) return utf8_boundary(p, i);
    } else {
      const v32c err = utf8_errors(in, prev);
      if (!all_zero(err)) return utf8_boundary(p, i + utf8_first_error(err));
      incomplete = utf8_incomplete(in);
    }
    prev = in;
  }
  if (i < n) {  // the tail, padded with NULs: a character cut by the end meets one
    unsigned char last[32] = {};
    std::memcpy(last, p + i, n - i);
    const v32c err = utf8_errors(load32(last), prev);
    if (!all_zero(err)) {
      const std::size_t at = i + utf8_first_error(err);
      return utf8_boundary(p, at < n ? at : n);
    }
  } else if (!all_zero(incomplete)) {
    return utf8_boundary(p, n);
  }
  return n;
}
#endif

// The length of a prefix of p made of whole valid characters that ends at or
// before the first invalid sequence (a block or less before it); n when p is
// valid UTF-8.
inline std::size_t utf8_valid_prefix(const unsigned char* p, std::size_t n) noexcept {
#if NETXX_ENC_X86
  if (use_avx2()) return utf8_valid_prefix_avx2(p, n);
#endif
  return utf8_valid_prefix_scalar(p, n);
}

}  // namespace detail::enc

NETXX_END_NAMESPACE
