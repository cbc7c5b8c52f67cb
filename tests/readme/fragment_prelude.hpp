// What a README block opened with ```cpp fragment may assume, as the README
// says above its fragments: the includes of its first program, at namespace
// scope. A block without the mark gets nothing: it must compile as shown.
#pragma once
#include <netxx/net.hpp>
#include <fmt/core.h>
