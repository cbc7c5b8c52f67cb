// Compiled as C++17 this must stop with config.hpp's "netxx requires C++20"
// as its first error, not hundreds of errors from C++20 code; as C++20 it
// must compile (the control). Run by expect_compile_error.cmake with
// -DSTD=c++17, registered in tests/CMakeLists.txt.
#include <netxx/net.hpp>

int main() { return net::run(); }
