// SPDX-License-Identifier: BSL-1.0
#pragma once
// The bulk kernels behind encoding.hpp's base64 and hex: whole groups of
// clean input, scalar (lookup tables, no branch per character) or AVX2.
// The lenient cases (Node's base64 skipping whitespace, stopping at '=', hex
// stopping at a bad pair) stay in encoding.hpp: a kernel stops at the first
// group holding a character it does not take and says how far it got.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "encoding_simd.hpp"

NETXX_BEGIN_NAMESPACE

namespace detail::enc {

// ---- tables -------------------------------------------------------------------

inline constexpr char base64_abc[2][65] = {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"};

// Both alphabets; 64 and above is not a digit ('=' and whitespace included).
constexpr unsigned unbase64(unsigned char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return 255;
}

// The value of each digit (either alphabet); 255 for anything else.
constexpr std::array<std::uint8_t, 256> make_base64_values() noexcept {
  std::array<std::uint8_t, 256> t{};
  for (unsigned c = 0; c < 256; ++c) t[c] = static_cast<std::uint8_t>(unbase64(static_cast<unsigned char>(c)));
  return t;
}
inline constexpr auto base64_values = make_base64_values();

// Per position in a group of four digits, each character's bits already in
// place in the three output bytes (as a little-endian word: byte 0 first);
// a character that is no digit sets bit 24.
constexpr std::array<std::array<std::uint32_t, 256>, 4> make_base64_decode_tables() noexcept {
  std::array<std::array<std::uint32_t, 256>, 4> t{};
  for (unsigned c = 0; c < 256; ++c) {
    const std::uint32_t v = unbase64(static_cast<unsigned char>(c));
    if (v >= 64) {
      for (auto& row : t) row[c] = 1u << 24;
      continue;
    }
    t[0][c] = v << 2;
    t[1][c] = (v >> 4) | (v & 15) << 12;
    t[2][c] = (v >> 2) << 8 | (v & 3) << 22;
    t[3][c] = v << 16;
  }
  return t;
}
inline constexpr auto base64_decode_table = make_base64_decode_tables();

// Two base64 characters per 12 bits, per alphabet.
constexpr std::array<char, 2 * 2 * 4096> make_base64_pairs() noexcept {
  std::array<char, 2 * 2 * 4096> t{};
  for (std::size_t a = 0; a < 2; ++a)
    for (std::size_t v = 0; v < 4096; ++v) {
      t[a * 8192 + 2 * v] = base64_abc[a][v >> 6];
      t[a * 8192 + 2 * v + 1] = base64_abc[a][v & 63];
    }
  return t;
}
inline constexpr auto base64_pairs = make_base64_pairs();

constexpr int unhex(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::array<std::uint8_t, 256> make_unhex_table() noexcept {
  std::array<std::uint8_t, 256> t{};
  for (unsigned c = 0; c < 256; ++c) {
    const int v = unhex(static_cast<unsigned char>(c));
    t[c] = v < 0 ? 0x80 : static_cast<std::uint8_t>(v);
  }
  return t;
}
inline constexpr auto unhex_table = make_unhex_table();

constexpr std::array<char, 512> make_hex_pairs() noexcept {
  constexpr char digits[] = "0123456789abcdef";
  std::array<char, 512> t{};
  for (std::size_t b = 0; b < 256; ++b) {
    t[2 * b] = digits[b >> 4];
    t[2 * b + 1] = digits[b & 15];
  }
  return t;
}
inline constexpr auto hex_pairs = make_hex_pairs();

// ---- base64 decoding: groups of four digits --------------------------------------

// Decodes groups of four digits (either alphabet) up to the first group with a
// character that is no digit; writes 3 bytes per group decoded, never past
// dst + 3 * groups. Returns the number of groups decoded.
inline std::size_t base64_decode_groups_scalar(unsigned char* dst, const unsigned char* src,
                                               std::size_t groups) noexcept {
  const auto& t = base64_decode_table;
  std::size_t g = 0;
  for (; g < groups; ++g, src += 4, dst += 3) {
    const std::uint32_t w = t[0][src[0]] | t[1][src[1]] | t[2][src[2]] | t[3][src[3]];
    if (w >> 24) break;
    if constexpr (std::endian::native == std::endian::little) {
      if (g + 2 <= groups) {  // room for a 4-byte store (its last byte is the next group's)
        std::memcpy(dst, &w, 4);
        continue;
      }
    }
    dst[0] = static_cast<unsigned char>(w);
    dst[1] = static_cast<unsigned char>(w >> 8);
    dst[2] = static_cast<unsigned char>(w >> 16);
  }
  return g;
}

#if NETXX_ENC_X86
// 32 digits to 24 bytes (Muła and Lemire, "Faster Base64 Encoding and
// Decoding Using AVX2 Instructions", 2018), both alphabets at once: the
// nibbles of each character classify it, a per-high-nibble offset makes the
// letters and digits, and '+' '-' '/' '_' are set apart. The bytes go to the
// first 24 bytes of `out`; the result is non-zero when a character is no digit.
NETXX_ENC_AVX2 inline v32c base64_decode_block(const unsigned char* src, v32c& out) noexcept {
  // Bit per high nibble: 2, 3, 4 or 6, 5, 7, anything else; bits per low
  // nibble: the high nibbles for which it makes no digit.
  const v32c lut_hi = {0x20, 0x20, 0x01, 0x02, 0x04, 0x08, 0x04, 0x10, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
                       0x20, 0x20, 0x01, 0x02, 0x04, 0x08, 0x04, 0x10, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20};
  const v32c lut_lo = {0x25, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x23, 0x3A, 0x3B, 0x3A, 0x3B, 0x32,
                       0x25, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x23, 0x3A, 0x3B, 0x3A, 0x3B, 0x32};
  // The offset to add is one table lookup at (high nibble) ^ adjust[low
  // nibble]: adjust is 0 but for low nibbles D and F, and moves the
  // characters ending in them to slots of their own ('-' 'M' 'm' to 10 12 14,
  // '/' 'O' '_' 'o' to 15 9 8 11), so that '0'-'9' get +4 (slot 3), 'A'-'Z'
  // -65, 'a'-'z' -71, '+' 19, '-' 17, '/' 16, '_' -32. (Characters that are
  // no digit were found above; whatever they get is not used.)
  const v32c adjust = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0xD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0xD};
  const v32c offsets = {0,   0,   19,  4,   -65, -65, -71, -71, -32, -65, 17,  -71, -65, 0,   -71, 16,
                        0,   0,   19,  4,   -65, -65, -71, -71, -32, -65, 17,  -71, -65, 0,   -71, 16};
  const v32c in = load32(src);
  const v32c hi = high_nibbles(in), lo = in & splat8(0x0F);
  const v32c bad = lookup(lut_lo, lo) & lookup(lut_hi, hi);
  const v32c v = add8(in, lookup(offsets, hi ^ lookup(adjust, lo)));
  // Four 6-bit values per 32-bit word into 24 bits (_mm256_maddubs_epi16,
  // _mm256_madd_epi16), then the bytes in order (_mm256_shuffle_epi8,
  // _mm256_permutevar8x32_epi32).
  const v16s ab_cd = madd_bytes(v, splat32(0x01400140));
  const v8i abcd = __builtin_ia32_pmaddwd256(ab_cd, reinterpret_cast<v16s>(splat32(0x00011000)));
  const v32c pack = {2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
                     2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1};
  const v8i lanes = {0, 1, 2, 4, 5, 6, 3, 7};
  out = reinterpret_cast<v32c>(
      __builtin_ia32_permvarsi256(reinterpret_cast<v8i>(lookup(reinterpret_cast<v32c>(abcd), pack)), lanes));
  return bad;
}

// The first 24 bytes of v to dst (_mm_storeu_si128, _mm_storel_epi64).
NETXX_ENC_AVX2 inline void store24(unsigned char* dst, v32c v) noexcept {
  const v16c low = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const long long high = reinterpret_cast<v4q>(v)[2];
  std::memcpy(dst, &low, 16);
  std::memcpy(dst + 16, &high, 8);
}

// Decodes groups up to the first one holding a character that is no digit
// (as base64_decode_groups_scalar). A block that holds one still gives the
// groups before it.
NETXX_ENC_AVX2 inline std::size_t base64_decode_groups_avx2(unsigned char* dst, const unsigned char* src,
                                                            std::size_t groups) noexcept {
  std::size_t g = 0;
  // Two blocks a step, each stored whole (its last 8 bytes are overwritten
  // by the next) while there is room for that.
  for (; g + 22 <= groups; g += 16, src += 64, dst += 48) {
    v32c a, b;
    if (!all_zero(base64_decode_block(src, a) | base64_decode_block(src + 32, b))) break;
    std::memcpy(dst, &a, 32);
    std::memcpy(dst + 24, &b, 32);
  }
  for (; g + 8 <= groups; g += 8, src += 32, dst += 24) {
    v32c a;
    const v32c bad = base64_decode_block(src, a);
    store24(dst, a);  // within dst's 3 * groups bytes; past the good groups, the caller writes again
    if (!all_zero(bad)) {
      const unsigned good = static_cast<unsigned>(__builtin_ctz(~high_bits(reinterpret_cast<v32c>(bad == v32c{}))));
      return g + good / 4;
    }
  }
  return g;
}
#endif

inline std::size_t base64_decode_groups(unsigned char* dst, const unsigned char* src, std::size_t groups) noexcept {
  std::size_t g = 0;
#if NETXX_ENC_X86
  if (use_avx2()) {
    g = base64_decode_groups_avx2(dst, src, groups);
    if (groups - g >= 8) return g;  // it stopped at a group with a character that is no digit
  }
#endif
  return g + base64_decode_groups_scalar(dst + 3 * g, src + 4 * g, groups - g);
}

// ---- base64 encoding: groups of three bytes --------------------------------------

#if NETXX_ENC_X86
// 24 bytes (each 32-bit word holding b1 b0 b2 b1 of a group of three) to 32
// characters (Muła and Lemire, as above).
NETXX_ENC_AVX2 inline v32c base64_encode_block(v32c in, v32c shift) noexcept {
  // The four 6-bit fields, each in its own byte (_mm256_mulhi_epu16, _mm256_mullo_epi16).
  const v16s t1 = __builtin_ia32_pmulhuw256(reinterpret_cast<v16s>(in & splat32(0x0FC0FC00)),
                                            reinterpret_cast<v16s>(splat32(0x04000040)));
  const v16u t3 = reinterpret_cast<v16u>(in & splat32(0x003F03F0)) * reinterpret_cast<v16u>(splat32(0x01000010));
  const v32c idx = reinterpret_cast<v32c>(t1) | reinterpret_cast<v32c>(t3);
  // 0-25 -> 13 ('A'), 26-51 -> 0, 52-61 -> 1..10, 62 -> 11, 63 -> 12.
  const v32s sidx = reinterpret_cast<v32s>(idx);
  const v32c k = (sub8(idx, splat8(51)) & reinterpret_cast<v32c>(sidx > 51)) |
                 (reinterpret_cast<v32c>(sidx < 26) & splat8(13));
  return add8(lookup(shift, k), idx);
}

// Encodes 24 bytes to 32 characters at a time; reads 28 bytes per step (from
// 4 bytes before the group on, after the first). Returns the bytes consumed
// (a multiple of 24).
NETXX_ENC_AVX2 inline std::size_t base64_encode_avx2(char* dst, const unsigned char* src, std::size_t n,
                                                     bool url) noexcept {
  const char s62 = static_cast<char>((url ? '-' : '+') - 62), s63 = static_cast<char>((url ? '_' : '/') - 63);
  constexpr char l = 'a' - 26, d = '0' - 52;
  const v32c shift = {l, d, d, d, d, d, d, d, d, d, d, s62, s63, 'A', 0, 0,
                      l, d, d, d, d, d, d, d, d, d, d, s62, s63, 'A', 0, 0};
  if (n < 28) return 0;
  {
    // Bytes 0-11 in the low lane, 12-23 in the high one (_mm256_inserti128_si256).
    v16c lo, hi;
    std::memcpy(&lo, src, 16);
    std::memcpy(&hi, src + 12, 16);
    const v32c spread = {1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
                         1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10};
    const v32c in = lookup(__builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31),
                           spread);
    const v32c out = base64_encode_block(in, shift);
    std::memcpy(dst, &out, 32);
  }
  // Then one 32-byte load from 4 bytes back: the low lane's group starts at
  // its byte 4, the high lane's at its byte 0.
  const v32c spread = {5, 4, 6, 5, 8, 7, 9, 8, 11, 10, 12, 11, 14, 13, 15, 14,
                       1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10};
  std::size_t i = 24;
  dst += 32;
  for (; i + 52 <= n; i += 48, dst += 64) {
    const v32c a = base64_encode_block(lookup(load32(src + i - 4), spread), shift);
    const v32c b = base64_encode_block(lookup(load32(src + i + 20), spread), shift);
    std::memcpy(dst, &a, 32);
    std::memcpy(dst + 32, &b, 32);
  }
  for (; i + 28 <= n; i += 24, dst += 32) {
    const v32c out = base64_encode_block(lookup(load32(src + i - 4), spread), shift);
    std::memcpy(dst, &out, 32);
  }
  return i;
}
#endif

// Encodes the n / 3 whole groups of src; returns the bytes consumed.
inline std::size_t base64_encode_groups(char* dst, const unsigned char* src, std::size_t n, bool url) noexcept {
  std::size_t i = 0;
#if NETXX_ENC_X86
  if (use_avx2()) {
    i = base64_encode_avx2(dst, src, n, url);
    dst += i / 3 * 4;
  }
#endif
  const char* pairs = base64_pairs.data() + (url ? 8192 : 0);
  for (; i + 3 <= n; i += 3, dst += 4) {
    const std::uint32_t v = std::uint32_t(src[i]) << 16 | std::uint32_t(src[i + 1]) << 8 | src[i + 2];
    std::memcpy(dst, pairs + 2 * (v >> 12), 2);
    std::memcpy(dst + 2, pairs + 2 * (v & 0xFFF), 2);
  }
  return i;
}

// ---- hex --------------------------------------------------------------------------

inline void hex_encode(char* dst, const unsigned char* src, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) std::memcpy(dst + 2 * i, hex_pairs.data() + 2 * src[i], 2);
}

#if NETXX_ENC_X86
// 32 digits to 16 bytes at a time, up to the first block holding a character
// that is no hex digit. Returns the pairs decoded (a multiple of 16).
NETXX_ENC_AVX2 inline std::size_t hex_decode_avx2(unsigned char* dst, const unsigned char* src,
                                                  std::size_t pairs) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= pairs; i += 16) {
    // Signed compares: bytes from 0x80 up are negative, so no digit.
    const v32s in = reinterpret_cast<v32s>(load32(src + 2 * i));
    const v32s lower = in | static_cast<signed char>(0x20);
    const v32c digit = reinterpret_cast<v32c>((in >= '0') & (in <= '9'));
    const v32c letter = reinterpret_cast<v32c>((lower >= 'a') & (lower <= 'f'));
    if (high_bits(digit | letter) != 0xFFFFFFFFu) break;
    const v32c v = (sub8(reinterpret_cast<v32c>(in), splat8('0')) & digit) |
                   (sub8(reinterpret_cast<v32c>(lower), splat8('a' - 10)) & ~digit);
    // High digit * 16 + low digit per pair (_mm256_maddubs_epi16), to bytes
    // (_mm256_packus_epi16), the two lanes' halves together (_mm256_permute4x64_epi64).
    const v16s words = madd_bytes(v, reinterpret_cast<v32c>(v16s{} + 0x0110));
    const v4q bytes = __builtin_ia32_permdi256(reinterpret_cast<v4q>(__builtin_ia32_packuswb256(words, words)), 0x08);
    std::memcpy(dst + i, &bytes, 16);
  }
  return i;
}
#endif

// Node's hex writer: pairs of digits (either case) until the first pair that
// is not one; an odd last digit is dropped. Returns the bytes written.
inline std::size_t hex_decode(unsigned char* dst, const unsigned char* src, std::size_t len) noexcept {
  const std::size_t pairs = len / 2;
  std::size_t i = 0;
#if NETXX_ENC_X86
  if (use_avx2()) i = hex_decode_avx2(dst, src, pairs);
#endif
  for (; i < pairs; ++i) {
    const unsigned a = unhex_table[src[2 * i]], b = unhex_table[src[2 * i + 1]];
    if ((a | b) & 0x80) break;
    dst[i] = static_cast<unsigned char>(a << 4 | b);
  }
  return i;
}

}  // namespace detail::enc

NETXX_END_NAMESPACE
