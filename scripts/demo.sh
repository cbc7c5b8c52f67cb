#!/usr/bin/env bash
# Builds the examples and runs the runtime demo.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNETXX_BUILD_TESTS=OFF -DNETXX_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build/demo -j"$(nproc)"
exec build/demo/examples/000-runtime-demo "$@"
