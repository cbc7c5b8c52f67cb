#!/usr/bin/env bash
# Builds and runs tests/consumer against this checkout four ways:
# cmake --install + find_package, a plain compiler line with pkg-config
# against the same installed prefix, FetchContent from the git repository, and
# add_subdirectory; then checks that a consumer exporting its own targets
# needs NETXX_INSTALL=ON (and works with it), and that a liburing older than
# 2.3 is refused at configure time with the install hints. Any broken path fails.
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

echo "-- pkg-config, plain g++"
export PKG_CONFIG_PATH="$work/prefix/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
test "$(pkg-config --modversion netxx)" = "$(sed -n 's/^project(netxx VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")"
# shellcheck disable=SC2046  # pkg-config's output is meant to be split
q g++ -std=c++20 -o "$work/pkgconfig-consumer" "$root/tests/consumer/main.cpp" $(pkg-config --cflags --libs netxx)
"$work/pkgconfig-consumer"

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

echo "-- a consumer exporting its own targets: NETXX_INSTALL"
# Configure + generate only: that is where CMake refuses the export.
if cmake -S "$root/tests/consumer" -B "$work/export-off" -G Ninja -DNETXX_CONSUME=subdirectory \
     -DNETXX_SOURCE_DIR="$root" -DCONSUMER_EXPORTS=ON >"$log" 2>&1; then
  echo "consumer: exporting a target that links netxx::netxx generated without NETXX_INSTALL" >&2; exit 1
fi
grep -q 'requires target "netxx" that is not in any export set' "$log" ||
  { cat "$log"; echo "consumer: not the expected export error" >&2; exit 1; }
q cmake -S "$root/tests/consumer" -B "$work/export-on" -G Ninja -DNETXX_CONSUME=subdirectory \
  -DNETXX_SOURCE_DIR="$root" -DCONSUMER_EXPORTS=ON -DNETXX_INSTALL=ON

echo "-- liburing older than 2.3 is refused at configure time"
old="$work/old-liburing"
mkdir -p "$old/include" "$old/lib/pkgconfig"
echo '/* liburing 2.2 and older: none of what 2.3 brought */' >"$old/include/liburing.h"
touch "$old/lib/liburing.so"
printf 'prefix=%s\nName: liburing\nVersion: 2.1\nDescription: old\nLibs: -L${prefix}/lib -luring\nCflags: -I${prefix}/include\n' \
  "$old" >"$old/lib/pkgconfig/liburing.pc"
for how in pkg-config header; do
  if [ $how = pkg-config ]; then pc="$old/lib/pkgconfig"; else pc=/nonexistent; fi
  if PKG_CONFIG_LIBDIR="$pc" PKG_CONFIG_PATH= cmake -S "$root" -B "$work/old-$how" -G Ninja \
       -DNETXX_BUILD_TESTS=OFF -DNETXX_BUILD_EXAMPLES=OFF -DNETXX_BUILD_BENCHMARKS=OFF \
       -DCMAKE_FIND_ROOT_PATH="$old" -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
       -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY >"$log" 2>&1; then
    echo "consumer: an old liburing ($how) was accepted" >&2; exit 1
  fi
  grep -q 'unsuitable version' "$log" && grep -q 'dnf install liburing-devel' "$log" ||
    { cat "$log"; echo "consumer: not the expected liburing version error ($how)" >&2; exit 1; }
done

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

  echo "-- epoll-only: pkg-config, plain g++, no liburing"
  local pc
  pc="$(PKG_CONFIG_PATH="$w/prefix/share/pkgconfig" pkg-config --cflags --libs netxx)"
  if ! grep -q -- '-DNETXX_DISABLE_IO_URING' <<<"$pc" || grep -Eq -- '-luring|liburing' <<<"$pc"; then
    echo "consumer: epoll-only: pkg-config says: $pc" >&2; exit 1
  fi
  # shellcheck disable=SC2086  # pkg-config's output is meant to be split
  q g++ -std=c++20 -MD -MF "$w/pc.d" -o "$w/pc-consumer" "$root/tests/consumer/epoll-only/main.cpp" $pc
  if grep -i 'liburing' "$w/pc.d"; then
    echo "consumer: epoll-only (pkg-config): a liburing header was compiled (above)" >&2; exit 1
  fi
  "$w/pc-consumer"
}
epoll_only_consumer

# --- compiled once (NETXX_SEPARATE_COMPILATION) --------------------------------
# netxx installed as a static library; find_package and pkg-config consumers
# get the macro and the library from it, and their file holds none of the
# stream core (it only declares it).
echo "-- compiled once: install + find_package, pkg-config"
cmake -S "$root" -B "$work/sep/netxx" -G Ninja -DNETXX_SEPARATE_COMPILATION=ON -DNETXX_BUILD_TESTS=OFF \
  -DNETXX_BUILD_EXAMPLES=OFF -DNETXX_BUILD_BENCHMARKS=OFF -DCMAKE_INSTALL_PREFIX="$work/sep/prefix" >/dev/null
q cmake --build "$work/sep/netxx"
q cmake --install "$work/sep/netxx"
cmake -S "$root/tests/consumer" -B "$work/sep/find" -G Ninja -DNETXX_CONSUME=find_package \
  -DCMAKE_PREFIX_PATH="$work/sep/prefix" >/dev/null
q cmake --build "$work/sep/find"
"$work/sep/find/consumer"
if nm -C "$work/sep/find/CMakeFiles/consumer.dir/main.cpp.o" | grep -E ' [TW] .*socket_state<.*>::destroy'; then
  echo "consumer: compiled once: the consumer's file compiled the stream core (above)" >&2; exit 1
fi
sep_pc="$(PKG_CONFIG_PATH="$(dirname "$(find "$work/sep/prefix" -name netxx.pc | head -1)")" pkg-config --cflags --libs netxx)"
grep -q -- '-DNETXX_SEPARATE_COMPILATION' <<<"$sep_pc" && grep -q -- '-lnetxx' <<<"$sep_pc" || {
  echo "consumer: compiled once: pkg-config says: $sep_pc" >&2; exit 1; }
# shellcheck disable=SC2086  # pkg-config's output is meant to be split
q g++ -std=c++20 -o "$work/sep/pc-consumer" "$root/tests/consumer/main.cpp" $sep_pc
"$work/sep/pc-consumer"
echo "consumer: all passed"
