// Each NETXX_CASE_* must fail to compile, with a diagnostic naming the event
// and the expected signature; with no case defined the file must compile (so
// a failure is the one line under test, not a broken include).
// Run by expect_compile_error.cmake, registered in tests/CMakeLists.txt.
#include <cstddef>
#include <netxx/events.hpp>
#include <span>
#include <string>

namespace net = netxx;

using emitter = net::event_emitter<net::event<"data", void(std::span<const std::byte>)>,
                                   net::event<"close", void(bool)>, net::event<"error", void(const std::string&)>>;

int main() {
  emitter e;
  e.on("data", [](std::span<const std::byte>) {});
  e.on("close", [] {});
#if defined(NETXX_CASE_UNKNOWN_NAME)
  e.on("dat", [](std::span<const std::byte>) {});
#elif defined(NETXX_CASE_WRONG_SIGNATURE)
  e.on("data", [](int) {});
#elif defined(NETXX_CASE_WRONG_SIGNATURE_TEMPLATE_NAME)
  e.on<"close">([](std::string) {});
#elif defined(NETXX_CASE_RETURNS_VALUE)
  e.once("error", [](const std::string& m) { return m.size(); });
#elif defined(NETXX_CASE_UNKNOWN_NAME_IN_OFF)
  e.off("nope", net::listener_id{});
#elif defined(NETXX_CASE_EMIT_WRONG_ARGUMENTS)
  e.emit<"close">();
#endif
}
