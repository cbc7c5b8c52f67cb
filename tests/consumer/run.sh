#!/usr/bin/env bash
# Builds and runs tests/consumer against this checkout three ways:
# cmake --install + find_package, FetchContent from the git repository, and
# add_subdirectory. Any broken path fails.
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$root/build/consumer"
rm -rf "$work" && mkdir -p "$work"

echo "-- install + find_package"
cmake -S "$root" -B "$work/netxx" -G Ninja -DNETXX_BUILD_TESTS=OFF -DNETXX_BUILD_EXAMPLES=OFF \
  -DNETXX_BUILD_BENCHMARKS=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --install "$work/netxx" >/dev/null
test -f "$work/prefix/lib/cmake/netxx/netxxConfigVersion.cmake"
cmake -S "$root/tests/consumer" -B "$work/find" -G Ninja -DNETXX_CONSUME=find_package \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/find" >/dev/null
"$work/find/consumer"

echo "-- FetchContent"
cmake -S "$root/tests/consumer" -B "$work/fetch" -G Ninja -DNETXX_CONSUME=fetchcontent \
  -DNETXX_GIT_REPOSITORY="file://$root" -DNETXX_GIT_TAG="$(git -C "$root" rev-parse HEAD)" >/dev/null
cmake --build "$work/fetch" >/dev/null
"$work/fetch/consumer"

echo "-- add_subdirectory"
cmake -S "$root/tests/consumer" -B "$work/subdir" -G Ninja -DNETXX_CONSUME=subdirectory \
  -DNETXX_SOURCE_DIR="$root" >/dev/null
cmake --build "$work/subdir" >/dev/null
"$work/subdir/consumer"
