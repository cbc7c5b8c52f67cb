#!/usr/bin/env bash
# Builds netxx's test suite and runs all of it: every I/O test once under
# NETXX_BACKEND=io_uring and once under NETXX_BACKEND=epoll (CTest registers
# both), plus the differential tests against Node v23.5.0.
#   scripts/test.sh                     g++, warnings as errors
#   scripts/test.sh --compiler clang++  another compiler
#   scripts/test.sh --sanitize          ASan + UBSan build
set -eu
cd "$(dirname "$0")/.."
compiler=g++
preset=dev
build_type=Debug
flags=""
while [ $# -gt 0 ]; do
  case "$1" in
    --compiler) compiler="$2"; shift 2 ;;
    --sanitize) preset=asan; shift ;;
    *) echo "usage: scripts/test.sh [--compiler CXX] [--sanitize]" >&2; exit 2 ;;
  esac
done
scripts/deps.sh
if [ "$preset" = asan ]; then
  # Without UBSan's vptr check: it probes memory with pipe(), which fails (and
  # reports a false "invalid vptr") while the EMFILE test has used up every descriptor.
  flags="-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer -fno-sanitize-recover=all"
  # Clang 14's -fsanitize=function puts a signature before each function and
  # cannot emit it for some coroutine-heavy units ("Cannot represent a
  # difference across sections"); GCC has no such check.
  case "$(basename "$compiler")" in clang*) flags="$flags -fno-sanitize=function" ;; esac
fi
# Line tables only: a test unit compiles a quarter faster (15% under ASan), and
# a failing test or a sanitizer report still names its file and line.
debug_flags="-g1"
# Each public header compiled alone: once is enough (the g++ build, no sanitizer).
header_check=OFF
[ "$preset" = dev ] && [ "$(basename "$compiler")" = g++ ] && header_check=ON
# A server never closed is alive by design at exit (tests/lsan.supp says why).
[ "$preset" = asan ] && export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
node="$(scripts/fetch-node.sh || true)"
[ -n "$node" ] || echo "note: no Node v23.5.0; the differential tests will be reported as skipped" >&2
dir="build/test-$(basename "$compiler")-$preset"
cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER="$compiler" -DCMAKE_BUILD_TYPE=$build_type \
  -DCMAKE_CXX_FLAGS_DEBUG="$debug_flags" \
  -DNETXX_WERROR=ON -DNETXX_BUILD_BENCHMARKS=OFF -DNETXX_HEADER_CHECK=$header_check -DCMAKE_CXX_FLAGS="$flags" -DNETXX_NODE23="$node" >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure -j"$(nproc)" --timeout 300
