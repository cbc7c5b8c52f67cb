// MB/s of input for Node's encodings in netxx, beside encoding_bench.js doing
// the same work in Node v23.5.0 (same inputs: the same LCG, step for step).
// Each rate is the mean over at least 0.3 s.
//
//   build/benchmarks/encoding_bench [--csv] [--scalar] [--only=TEXT]   # --scalar: no AVX2 kernels
//   node benchmarks/encoding_bench.js [--csv]
//   benchmarks/encoding_bench.sh build/benchmarks/encoding_bench node   # both, interleaved, ratios
//
// netxx's side of each row (what a program would call):
//   base64/base64url/hex decode   net::encode(text, enc)          (Buffer.from(text, enc)); also base64
//                                 in MIME lines of 76 characters (the lenient path, once per line)
//   base64/base64url/hex encode   string_decoder(enc).end(bytes)  (buf.toString(enc))
//   utf8 decode                   string_decoder().write(bytes)   (StringDecoder#write, buf.toString())
//   utf8 encode                   net::encode(text, utf8)         (Buffer.from(text, 'utf8'))
// Every call returns a new buffer or string, as Node's do.

#include <netxx/encoding.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace net = netxx;
using net::encoding;
using clock_type = std::chrono::steady_clock;

namespace {

struct lcg {
  std::uint32_t x;
  std::uint32_t operator()() { return x = x * 1664525u + 1013904223u; }
};

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  lcg g{seed};
  std::string b(n, '\0');
  for (auto& c : b) c = static_cast<char>(g() >> 24);
  return b;
}

void utf8_of(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | cp >> 6), out += static_cast<char>(0x80 | (cp & 63));
  } else {
    out += static_cast<char>(0xE0 | cp >> 12), out += static_cast<char>(0x80 | ((cp >> 6) & 63));
    out += static_cast<char>(0x80 | (cp & 63));
  }
}

// As in encoding_bench.js: "ascii", "mixed" (~20% ASCII, ~40% Cyrillic,
// ~40% CJK), "invalid" (mixed with 0xFF at byte 517 of every KiB).
std::string text(std::string_view kind, std::size_t n, std::uint32_t seed) {
  lcg g{seed};
  std::string out;
  if (kind == "ascii") {
    while (out.size() < n) out += static_cast<char>(0x20 + (g() >> 24) % 95);
    return out;
  }
  while (out.size() < n) {
    const std::uint32_t r = (g() >> 16) % 10;
    std::uint32_t cp;
    if (r < 2)
      cp = 0x20 + (g() >> 24) % 95;
    else if (r < 6)
      cp = 0x430 + (g() >> 24) % 32;
    else
      cp = 0x4E00 + (g() >> 16) % 2000;
    std::string c;
    utf8_of(cp, c);
    if (out.size() + c.size() > n) {
      out.resize(n, 'a');
      break;
    }
    out += c;
  }
  if (kind == "invalid")
    for (std::size_t i = 517; i < n; i += 1024) out[i] = '\xFF';
  return out;
}

std::span<const std::byte> bytes(std::string_view s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }

std::size_t sink = 0;

template <class F>
double rate(std::size_t input_bytes, F&& f) {
  const auto start = clock_type::now();
  std::size_t iters = 0;
  double secs = 0;
  do {
    for (int k = 0; k < 4; ++k) sink += f();
    iters += 4;
    secs = std::chrono::duration<double>(clock_type::now() - start).count();
  } while (secs < 0.3);
  return static_cast<double>(input_bytes * iters) / secs / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  bool csv = false;
  std::string_view only;  // --only=TEXT: the rows whose name holds TEXT
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--only=", 7) == 0) only = argv[i] + 7;
    if (std::strcmp(argv[i], "--csv") == 0) csv = true;
    if (std::strcmp(argv[i], "--scalar") == 0) net::detail::force_scalar_encodings(true);
  }
  struct row {
    std::string name;
    std::size_t size;
    double mbs;
  };
  std::vector<row> rows;
  for (std::size_t size : {std::size_t{64} * 1024, std::size_t{1024} * 1024}) {
    const std::string raw = random_bytes(size, 1);
    const std::string b64 = net::string_decoder(encoding::base64).end(bytes(random_bytes(size / 4 * 3, 2)));
    const std::string b64url = net::string_decoder(encoding::base64url).end(bytes(random_bytes(size / 4 * 3, 3)));
    const std::string hex = net::string_decoder(encoding::hex).end(bytes(random_bytes(size / 2, 4)));
    std::string mime;  // b64 in lines of 76 characters ending "\r\n", as MIME writes it
    for (std::size_t i = 0; i < b64.size(); i += 76) mime += b64.substr(i, 76) + "\r\n";
    const std::string ascii = text("ascii", size, 5), mixed = text("mixed", size, 6), invalid = text("invalid", size, 6);
    auto add = [&](std::string name, std::size_t n, auto f) {
      if (name.find(only) != std::string::npos) rows.push_back({std::move(name), size, rate(n, f)});
    };
    add("base64 decode", b64.size(), [&] { return net::encode(b64, encoding::base64).size(); });
    add("base64 decode MIME lines", mime.size(), [&] { return net::encode(mime, encoding::base64).size(); });
    add("base64url decode", b64url.size(), [&] { return net::encode(b64url, encoding::base64url).size(); });
    add("hex decode", hex.size(), [&] { return net::encode(hex, encoding::hex).size(); });
    add("base64 encode", raw.size(), [&] { return net::string_decoder(encoding::base64).end(bytes(raw)).size(); });
    add("base64url encode", raw.size(), [&] { return net::string_decoder(encoding::base64url).end(bytes(raw)).size(); });
    add("hex encode", raw.size(), [&] { return net::string_decoder(encoding::hex).end(bytes(raw)).size(); });
    for (const auto& kb : {std::pair<const char*, const std::string*>{"ascii", &ascii}, {"mixed", &mixed},
                           {"invalid", &invalid}}) {
      // One netxx call stands for both of Node's ways (the same rate twice,
      // so the rows pair up with encoding_bench.js).
      const char* k = kb.first;
      const std::string& b = *kb.second;
      const std::string name = fmt::format("utf8 decode {}", k);
      if (name.find(only) == std::string::npos) continue;
      const double r = rate(b.size(), [&] { return net::string_decoder().write(bytes(b)).size(); });
      rows.push_back({name + " (StringDecoder)", size, r});
      rows.push_back({name + " (toString)", size, r});
    }
    add("utf8 encode mixed", mixed.size(), [&] { return net::encode(mixed, encoding::utf8).size(); });
  }
  for (const auto& r : rows) {
    if (csv)
      fmt::print("{},{},{:.0f}\n", r.name, r.size, r.mbs);
    else
      fmt::print("{:<40} {:>5} KiB {:>8.0f} MB/s\n", r.name, r.size / 1024, r.mbs);
  }
  if (sink == 42) fmt::print("\n");
}
