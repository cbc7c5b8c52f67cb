// What a README block marked ```cpp fragment may assume: these includes, at
// namespace scope (the README says so above its fragments). A complete block
// gets nothing: it must compile as shown.
#pragma once
#include <netxx/net.hpp>
#include <fmt/core.h>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
