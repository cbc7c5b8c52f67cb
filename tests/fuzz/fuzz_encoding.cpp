// libFuzzer target for encoding.hpp. The first byte picks the encoding, the
// next two where the rest is cut into three writes. Properties: every decoded
// piece is valid UTF-8; cut pieces join up to the one-shot decoding (except
// utf16le, where a pair cut at an odd byte is two U+FFFD, as documented);
// hex, base64, base64url and latin1 text encodes back to the bytes; and the
// rest read as text encodes in every encoding without overrunning (ASan).
#include <netxx/encoding.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace net = netxx;

namespace {

std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

bool valid_utf8(std::string_view s) {
  std::string again;
  net::encode_to(again, s, net::encoding::utf8);
  return again == s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  constexpr net::encoding all[] = {net::encoding::utf8,   net::encoding::utf16le, net::encoding::latin1,
                                   net::encoding::ascii,  net::encoding::hex,     net::encoding::base64,
                                   net::encoding::base64url};
  const net::encoding e = all[data[0] % 7];
  const std::string_view in(reinterpret_cast<const char*>(data + 3), size - 3);
  std::size_t a = in.empty() ? 0 : data[1] % (in.size() + 1), b = in.empty() ? 0 : data[2] % (in.size() + 1);
  if (a > b) std::swap(a, b);

  net::string_decoder whole(e), cut(e);
  const std::string one = whole.end(as_bytes(in));
  std::string joined;
  for (auto piece : {in.substr(0, a), in.substr(a, b - a), in.substr(b)}) {
    const std::string s = cut.write(as_bytes(piece));
    if (!valid_utf8(s)) std::abort();
    joined += s;
  }
  joined += cut.end();
  if (!valid_utf8(one) || !valid_utf8(joined)) std::abort();
  if (e != net::encoding::utf16le && joined != one) std::abort();
  if (e == net::encoding::hex || e == net::encoding::base64 || e == net::encoding::base64url ||
      e == net::encoding::latin1) {
    std::string back;
    net::encode_to(back, one, e);
    if (back != in) std::abort();
  }
  if (e == net::encoding::utf8 && valid_utf8(in) && one != in) std::abort();

  for (net::encoding to : all) {
    const auto bytes = net::encode(in, to);
    if (to == net::encoding::utf16le && bytes.size() % 2) std::abort();
    if (to == net::encoding::hex && bytes.size() > in.size() / 2) std::abort();
  }
  return 0;
}
