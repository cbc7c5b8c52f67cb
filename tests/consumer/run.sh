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

# --- epoll-only (NETXX_DISABLE_IO_URING) ------------------------------------
# netxx installed and consumed with liburing out of find_package's reach
# (CMAKE_DISABLE_FIND_PACKAGE_liburing: any find_package(liburing) or
# find_dependency(liburing) on the way fails the configure). Then, from what
# Ninja recorded of the build: no liburing header among the files the
# compiler read, no liburing on the link line, none in the binary's NEEDED.
epoll_only_consumer() {
  echo "-- epoll-only: install + find_package, no liburing"
  local w="$work/epoll-only"
  local nofind=-DCMAKE_DISABLE_FIND_PACKAGE_liburing=ON
  q cmake -S "$root" -B "$w/netxx" -G Ninja -DNETXX_DISABLE_IO_URING=ON "$nofind" -DNETXX_BUILD_TESTS=OFF \
    -DNETXX_BUILD_EXAMPLES=OFF -DNETXX_BUILD_BENCHMARKS=OFF -DCMAKE_INSTALL_PREFIX="$w/prefix"
  q cmake --install "$w/netxx"
  q cmake -S "$root/tests/consumer/epoll-only" -B "$w/find" -G Ninja "$nofind" -DCMAKE_PREFIX_PATH="$w/prefix"
  q cmake --build "$w/find"
  local deps link
  deps="$(ninja -C "$w/find" -t deps)"
  if ! grep -q 'netxx/net\.hpp' <<<"$deps"; then
    echo "consumer: epoll-only: Ninja recorded no header dependencies to check" >&2; exit 1
  fi
  if grep -i 'liburing' <<<"$deps"; then
    echo "consumer: epoll-only: a liburing header was compiled (above)" >&2; exit 1
  fi
  link="$(ninja -C "$w/find" -t commands consumer_epoll_only | tail -n 1)"
  if grep -Eq -- '-luring|liburing' <<<"$link"; then
    echo "consumer: epoll-only: liburing on the link line: $link" >&2; exit 1
  fi
  if readelf -d "$w/find/consumer_epoll_only" | grep -i 'uring'; then
    echo "consumer: epoll-only: the binary needs liburing (above)" >&2; exit 1
  fi
  "$w/find/consumer_epoll_only"
}
epoll_only_consumer
