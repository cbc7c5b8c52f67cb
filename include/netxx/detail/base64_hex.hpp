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
NETXX_ENC_AVX2 inline __m256i base64_decode_block(const unsigned char* src, __m256i& out) noexcept {
  // Bit per high nibble: 2, 3, 4 or 6, 5, 7, anything else; bits per low
  // nibble: the high nibbles for which it makes no digit.
  const __m256i lut_hi = _mm256_setr_epi8(0x20, 0x20, 0x01, 0x02, 0x04, 0x08, 0x04, 0x10, 0x20, 0x20, 0x20, 0x20, 0x20,
                                          0x20, 0x20, 0x20, 0x20, 0x20, 0x01, 0x02, 0x04, 0x08, 0x04, 0x10, 0x20, 0x20,
                                          0x20, 0x20, 0x20, 0x20, 0x20, 0x20);
  const __m256i lut_lo = _mm256_setr_epi8(0x25, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x23, 0x3A, 0x3B,
                                          0x3A, 0x3B, 0x32, 0x25, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21,
                                          0x23, 0x3A, 0x3B, 0x3A, 0x3B, 0x32);
  // Offset per high nibble: '0'-'9' +4, 'A'-'Z' -65, 'a'-'z' -71.
  const __m256i lut_shift = _mm256_setr_epi8(0, 0, 0, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, -65,
                                             -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m256i in = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi32(in, 4), nibble);
  const __m256i bad = _mm256_and_si256(_mm256_shuffle_epi8(lut_lo, _mm256_and_si256(in, nibble)),
                                       _mm256_shuffle_epi8(lut_hi, hi));
  // High nibble 2 holds the symbols '+' '-' '/', told apart by the low nibble;
  // '_' is the one symbol among the letters.
  const __m256i lut_shift2 = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 62 - '+', 0, 62 - '-', 0,
                                              63 - '/', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 62 - '+', 0,
                                              62 - '-', 0, 63 - '/');
  __m256i shift = _mm256_shuffle_epi8(lut_shift, hi);
  shift = _mm256_blendv_epi8(shift, _mm256_shuffle_epi8(lut_shift2, _mm256_and_si256(in, nibble)),
                             _mm256_cmpeq_epi8(hi, _mm256_set1_epi8(2)));
  shift = _mm256_add_epi8(shift, _mm256_and_si256(_mm256_cmpeq_epi8(in, _mm256_set1_epi8('_')),
                                                  _mm256_set1_epi8(63 - ('_' - 65))));
  const __m256i v = _mm256_add_epi8(in, shift);
  // Four 6-bit values per 32-bit word into 24 bits, then the bytes in order.
  const __m256i ab_cd = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
  const __m256i abcd = _mm256_madd_epi16(ab_cd, _mm256_set1_epi32(0x00011000));
  const __m256i pack_shuffle = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2, 1, 0, 6, 5,
                                                4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  out = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(abcd, pack_shuffle), _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7));
  return bad;
}

NETXX_ENC_AVX2 inline std::size_t base64_decode_groups_avx2(unsigned char* dst, const unsigned char* src,
                                                            std::size_t groups) noexcept {
  std::size_t g = 0;
  // Two blocks a step, each stored whole (its last 8 bytes are overwritten
  // by the next) while there is room for that.
  for (; g + 22 <= groups; g += 16, src += 64, dst += 48) {
    __m256i a, b;
    const __m256i bad = _mm256_or_si256(base64_decode_block(src, a), base64_decode_block(src + 32, b));
    if (!_mm256_testz_si256(bad, bad)) break;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), a);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 24), b);
  }
  for (; g + 8 <= groups; g += 8, src += 32, dst += 24) {
    __m256i a;
    const __m256i bad = base64_decode_block(src, a);
    if (!_mm256_testz_si256(bad, bad)) break;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm256_castsi256_si128(a));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + 16), _mm256_extracti128_si256(a, 1));
  }
  return g;
}
#endif

inline std::size_t base64_decode_groups(unsigned char* dst, const unsigned char* src, std::size_t groups) noexcept {
  std::size_t g = 0;
#if NETXX_ENC_X86
  if (use_avx2()) g = base64_decode_groups_avx2(dst, src, groups);
#endif
  return g + base64_decode_groups_scalar(dst + 3 * g, src + 4 * g, groups - g);
}

// ---- base64 encoding: groups of three bytes --------------------------------------

#if NETXX_ENC_X86
// 24 bytes to 32 characters at a time (Muła and Lemire, as above); reads 28
// bytes per step. Returns the bytes consumed (a multiple of 24).
NETXX_ENC_AVX2 inline std::size_t base64_encode_avx2(char* dst, const unsigned char* src, std::size_t n,
                                                     bool url) noexcept {
  const __m256i spread = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10, 1, 0, 2, 1, 4, 3, 5, 4, 7,
                                          6, 8, 7, 10, 9, 11, 10);
  const char s62 = static_cast<char>((url ? '-' : '+') - 62), s63 = static_cast<char>((url ? '_' : '/') - 63);
  const char l = 'a' - 26, d = '0' - 52;
  const __m256i shift = _mm256_setr_epi8(l, d, d, d, d, d, d, d, d, d, d, s62, s63, 'A', 0, 0, l, d, d, d, d, d, d, d,
                                         d, d, d, s62, s63, 'A', 0, 0);
  std::size_t i = 0;
  for (; i + 28 <= n; i += 24, dst += 32) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 12));
    const __m256i in = _mm256_shuffle_epi8(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1), spread);
    // Each 32-bit word holds bytes b1 b0 b2 b1: pick the four 6-bit fields.
    const __m256i t0 = _mm256_and_si256(in, _mm256_set1_epi32(0x0FC0FC00));
    const __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
    const __m256i t2 = _mm256_and_si256(in, _mm256_set1_epi32(0x003F03F0));
    const __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
    const __m256i idx = _mm256_or_si256(t1, t3);
    // 0-25 -> 13 ('A'), 26-51 -> 0, 52-61 -> 1..10, 62 -> 11, 63 -> 12.
    __m256i k = _mm256_subs_epu8(idx, _mm256_set1_epi8(51));
    k = _mm256_or_si256(k, _mm256_and_si256(_mm256_cmpgt_epi8(_mm256_set1_epi8(26), idx), _mm256_set1_epi8(13)));
    const __m256i out = _mm256_add_epi8(_mm256_shuffle_epi8(shift, k), idx);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), out);
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
    const __m256i in = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i));
    const __m256i lower = _mm256_or_si256(in, _mm256_set1_epi8(0x20));
    // Signed compares: bytes from 0x80 up are negative, so no digit.
    const __m256i digit = _mm256_and_si256(_mm256_cmpgt_epi8(in, _mm256_set1_epi8('0' - 1)),
                                           _mm256_cmpgt_epi8(_mm256_set1_epi8('9' + 1), in));
    const __m256i letter = _mm256_and_si256(_mm256_cmpgt_epi8(lower, _mm256_set1_epi8('a' - 1)),
                                            _mm256_cmpgt_epi8(_mm256_set1_epi8('f' + 1), lower));
    if (_mm256_movemask_epi8(_mm256_or_si256(digit, letter)) != -1) break;
    const __m256i v = _mm256_blendv_epi8(_mm256_sub_epi8(lower, _mm256_set1_epi8('a' - 10)),
                                         _mm256_sub_epi8(in, _mm256_set1_epi8('0')), digit);
    const __m256i words = _mm256_maddubs_epi16(v, _mm256_set1_epi16(0x0110));  // high digit * 16 + low digit
    const __m256i bytes = _mm256_permute4x64_epi64(_mm256_packus_epi16(words, words), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_castsi256_si128(bytes));
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
