#!/usr/bin/env bash
# net::run_workers measured: 1 worker against 2, side by side in ONE run of
# shared/bench/run.sh (servers interleaved, each round in a rotated order), as
# benchmarks/echo/run.sh adds netxx's servers. The server is
# examples/080-workers-signals.cpp (061's pooled coroutine echo behind a
# "connection" listener, one loop per worker on a reuse_port port), built
# Release; columns, for each backend (suffix _uring / _epoll):
#   w1_*    080-workers-signals 1 PORT
#   w2_*    080-workers-signals 2 PORT
#   pool_*  examples/061-pooled-echo-server.cpp: the same echo on the main
#           thread's loop, no run_workers (what the wrapper itself costs)
# shared/bench pins the server process to CPU 0 and the load generator to
# CPU 1, so on a 2-core machine the two workers share CPU 0: the comparison
# is the server core's CPU time per message (the CPU table), which must not
# grow with the second worker.
#
#   benchmarks/echo/workers.sh [run.sh options...]
#   e.g. --rounds 2 --workloads pp64_64,pp64_4k,stream4,churn32
#
# NETXX_BENCH_BACKENDS="io_uring epoll" chooses the backends. Results:
# build/bench-workers/results/*/table.txt
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="${NETXX_BENCH_DIR:-$root/../shared/bench}"
[ -f "$bench/run.sh" ] || bench=/work/shared/bench
[ -f "$bench/run.sh" ] || { echo "no shared/bench (set NETXX_BENCH_DIR)" >&2; exit 2; }
release="$root/build/bench-release"
cmake -S "$root" -B "$release" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DNETXX_BUILD_TESTS=OFF -DNETXX_BUILD_EXAMPLES=ON -DNETXX_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$release" -j1 --target example-080-workers-signals example-061-pooled-echo-server

work="$root/build/bench-workers"
mkdir -p "$work"
cp -r "$bench"/. "$work"/
(cd "$work" && make -s >/dev/null)

# One launcher per column: run.sh appends the port.
mkdir -p "$work/netxx"
names=""
for backend in ${NETXX_BENCH_BACKENDS:-io_uring epoll}; do
  b="${backend#io_}"
  for kind in pool w1 w2; do
    case $kind in
      pool) cmd="$release/examples/061-pooled-echo-server" ;;
      w1) cmd="$release/examples/080-workers-signals 1" ;;
      w2) cmd="$release/examples/080-workers-signals 2" ;;
    esac
    name="${kind}_$b"
    printf '#!/bin/sh\nNETXX_BACKEND=%s exec %s "$@"\n' "$backend" "$cmd" >"$work/netxx/$name"
    chmod +x "$work/netxx/$name"
    names="$names $name"
  done
done

# The copy learns the extra names; an unknown name is a launcher of netxx/.
runner="$work/run-netxx.sh"
sed -e "s|^ALL_SERVERS=\"\\(.*\\)\"|ALL_SERVERS=\"\\1$names\"|" \
    -e 's|^    \*) CMD=("${EXTRA\[@\]}") ;;|    *) if [ -x "netxx/$1" ]; then CMD=("netxx/$1"); else CMD=("${EXTRA[@]}"); fi ;;|' \
    "$work/run.sh" >"$runner"
grep -q "ALL_SERVERS=\".*$names\"" "$runner" && grep -q 'CMD=("netxx/$1")' "$runner" ||
  { echo "shared/bench/run.sh changed shape: cannot add netxx's servers to it" >&2; exit 2; }
chmod +x "$runner"
cd "$work" && ./run-netxx.sh "$@"
