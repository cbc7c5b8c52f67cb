#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time
# (NETXX_FUZZ_SECONDS, default 20). Exits non-zero when a target finds a crash
# or a broken property (the crash input is left in the build directory).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${NETXX_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${NETXX_FUZZ_SECONDS:-20}"
cxx="${NETXX_FUZZ_CXX:-$(command -v clang++ || command -v clang++-14)}"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DNETXX_BUILD_FUZZERS=ON \
  -DNETXX_BUILD_TESTS=OFF -DNETXX_BUILD_EXAMPLES=OFF -DNETXX_BUILD_BENCHMARKS=OFF -DNETXX_INSTALL=OFF \
  -DNETXX_WERROR=ON >/dev/null
targets=(fuzz_is_ip fuzz_socket_address fuzz_block_list fuzz_encoding)
cmake --build "$build" --target "${targets[@]}"

status=0
for t in "${targets[@]}"; do
  echo "== $t (${seconds}s)"
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  if ! (cd "$build" && "./tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -dict="$root/tests/fuzz/address.dict" "$corpus" 2>"$build/$t.log"); then
    echo "!! $t failed; see $build/$t.log"
    tail -n 40 "$build/$t.log"
    status=1
  else
    grep -E 'stat::number_of_executed_units|Done ' "$build/$t.log" | tail -n 2
  fi
done
exit $status
