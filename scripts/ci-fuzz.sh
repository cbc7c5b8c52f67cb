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

# Two targets at a time (CI has 2 cores): the same time each, half the wall clock on CI's 2 cores.
run_one() {  # run_one TARGET: 0 when it found nothing
  local t="$1" corpus="$build/corpus/$1"
  mkdir -p "$corpus"
  (cd "$build" && "./tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -dict="$root/tests/fuzz/address.dict" "$corpus" 2>"$build/$t.log")
}
status=0
finish() {  # finish TARGET PID
  if ! wait "$2"; then
    echo "!! $1 failed; see $build/$1.log"
    tail -n 40 "$build/$1.log"
    status=1
  else
    echo "== $1: $(grep -E 'stat::number_of_executed_units|Done ' "$build/$1.log" | tail -n 2 | tr '\n' ' ')"
  fi
}
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  a="${targets[i]}"; b="${targets[i + 1]:-}"
  echo "== $a${b:+ and $b} (${seconds}s)"
  run_one "$a" & pa=$!
  [ -n "$b" ] && { run_one "$b" & pb=$!; }
  finish "$a" "$pa"
  [ -n "$b" ] && finish "$b" "$pb"
done
exit $status
