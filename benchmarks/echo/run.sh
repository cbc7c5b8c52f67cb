#!/usr/bin/env bash
# The coroutine echo server (examples/060-coroutine-echo-server.cpp, Release)
# measured beside the reference servers of shared/bench (raw liburing, raw
# epoll, Asio, libuv, Node 20 and 23.5.0), once per netxx backend. Each run
# is shared/bench/run.sh with netxx as its extra server, so every row of a
# table was measured in one run, servers interleaved.
#   benchmarks/echo/run.sh [run.sh options...]     e.g. --rounds 3 --workloads pp64_64,stream4
# Needs (Debian): libasio-dev libuv1-dev, and shared/bench beside the repo
# (or NETXX_BENCH_DIR). Results: build/bench-echo/<backend>/results/*/table.txt
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="${NETXX_BENCH_DIR:-$root/../shared/bench}"
[ -f "$bench/run.sh" ] || { echo "no shared/bench at $bench (set NETXX_BENCH_DIR)" >&2; exit 2; }
cmake -S "$root" -B "$root/build/bench-release" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DNETXX_BUILD_TESTS=OFF -DNETXX_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$root/build/bench-release" --target example-060-coroutine-echo-server
server="$root/build/bench-release/examples/060-coroutine-echo-server"
node23="$("$root/scripts/fetch-node.sh" || true)"
for backend in ${NETXX_BENCH_BACKENDS:-io_uring epoll}; do
  work="$root/build/bench-echo/$backend"
  rm -rf "$work" && mkdir -p "$work"
  cp -r "$bench"/. "$work"/
  (cd "$work" && make -s >/dev/null)
  echo "=== netxx on $backend"
  (cd "$work" && NODE23="${node23:-node}" ./run.sh "$@" --name "netxx_$backend" env NETXX_BACKEND="$backend" "$server")
done
