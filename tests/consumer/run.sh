#!/usr/bin/env bash
# Builds and runs tests/consumer against this checkout three ways:
# cmake --install + find_package, FetchContent from the git repository, and
# add_subdirectory. Any broken path fails.
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$root/build/consumer"
log="$work.log"
# Quiet on success, the whole output on failure.
q() { "$@" >"$log" 2>&1 || { cat "$log"; echo "consumer: failed: $*" >&2; exit 1; }; }
rm -rf "$work" && mkdir -p "$work"

echo "-- install + find_package"
cmake -S "$root" -B "$work/netxx" -G Ninja -DNETXX_BUILD_TESTS=OFF -DNETXX_BUILD_EXAMPLES=OFF \
  -DNETXX_BUILD_BENCHMARKS=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
q cmake --install "$work/netxx"
test -f "$work/prefix/lib/cmake/netxx/netxxConfigVersion.cmake"
cmake -S "$root/tests/consumer" -B "$work/find" -G Ninja -DNETXX_CONSUME=find_package \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
q cmake --build "$work/find"
"$work/find/consumer"

echo "-- FetchContent"
cmake -S "$root/tests/consumer" -B "$work/fetch" -G Ninja -DNETXX_CONSUME=fetchcontent \
  -DNETXX_GIT_REPOSITORY="file://$root" -DNETXX_GIT_TAG="$(git -C "$root" rev-parse HEAD)" >/dev/null
q cmake --build "$work/fetch"
"$work/fetch/consumer"

echo "-- add_subdirectory"
cmake -S "$root/tests/consumer" -B "$work/subdir" -G Ninja -DNETXX_CONSUME=subdirectory \
  -DNETXX_SOURCE_DIR="$root" >/dev/null
q cmake --build "$work/subdir"
"$work/subdir/consumer"
