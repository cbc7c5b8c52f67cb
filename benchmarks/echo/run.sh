#!/usr/bin/env bash
# netxx's echo servers measured beside the reference servers of shared/bench
# (raw liburing, raw epoll, Asio, libuv, Node 20 and 23.5.0), all in ONE run of
# shared/bench/run.sh, servers interleaved, so every ratio of a table compares
# cells measured close together in time. netxx's servers, each on both
# backends (column suffix _uring / _epoll), built Release:
#   co_*    examples/060-coroutine-echo-server.cpp  (co_await read into a 64 KiB frame buffer)
#   pool_*  examples/061-pooled-echo-server.cpp     (co_await read() of pooled blocks)
#   pipe_*  benchmarks/echo/pipe_echo.cpp           (the event face: c.pipe(c))
#   data_*  benchmarks/echo/data_echo.cpp           (the event face: on("data") + write, pause/drain)
#   w1_*, w2_*  examples/080-workers-signals.cpp with 1 or 2 workers (net::run_workers;
#           not in the default set: benchmarks/echo/workers.sh asks for them)
#
#   benchmarks/echo/run.sh [run.sh options...]
#   e.g. --rounds 3 --workloads pp64_64,stream4 --only uring_echo,epoll_echo,pipe_uring,co_uring
#
# shared/bench/run.sh takes one extra server; the copy this script runs (in
# the build directory) is given netxx's servers as further named servers,
# nothing else of it changes. NETXX_SERVERS="co pool pipe data" and
# NETXX_BENCH_BACKENDS="io_uring epoll" choose which. Needs (Debian):
# libasio-dev libuv1-dev, and shared/bench beside the repo (or NETXX_BENCH_DIR).
# NETXX_BASELINE=<commit> adds that commit's co and pool servers (base_co_*,
# base_pool_*) to the same run. Results: build/bench-echo/results/*/table.txt
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="${NETXX_BENCH_DIR:-$root/../shared/bench}"
[ -f "$bench/run.sh" ] || { echo "no shared/bench at $bench (set NETXX_BENCH_DIR)" >&2; exit 2; }
release="$root/build/bench-release"
cmake -S "$root" -B "$release" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DNETXX_BUILD_TESTS=OFF -DNETXX_BUILD_EXAMPLES=ON -DNETXX_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$release" --target example-060-coroutine-echo-server example-061-pooled-echo-server pipe_echo data_echo \
  example-080-workers-signals
node23="$("$root/scripts/fetch-node.sh" || true)"

work="$root/build/bench-echo"
mkdir -p "$work"
cp -r "$bench"/. "$work"/
(cd "$work" && make -s >/dev/null)

# One launcher per column: run.sh appends the port.
mkdir -p "$work/netxx"
names=""
for kind in ${NETXX_SERVERS:-co pool pipe data}; do
  case $kind in
    co) bin="$release/examples/060-coroutine-echo-server" ;;
    pool) bin="$release/examples/061-pooled-echo-server" ;;
    pipe) bin="$release/benchmarks/pipe_echo" ;;
    data) bin="$release/benchmarks/data_echo" ;;
    w1) bin="$release/examples/080-workers-signals 1" ;;
    w2) bin="$release/examples/080-workers-signals 2" ;;
    *) echo "unknown netxx server $kind (co pool pipe data w1 w2)" >&2; exit 2 ;;
  esac
  for backend in ${NETXX_BENCH_BACKENDS:-io_uring epoll}; do
    name="${kind}_${backend#io_}"  # co_uring, co_epoll
    printf '#!/bin/sh\nNETXX_BACKEND=%s exec %s "$@"\n' "$backend" "$bin" >"$work/netxx/$name"
    chmod +x "$work/netxx/$name"
    names="$names $name"
  done
done

# NETXX_BASELINE=<commit>: that commit's co and pool servers as further
# columns, base_co_* and base_pool_*, built Release from `git archive` of it:
# this tree against a baseline in the same run (an A/B of a change).
if [ -n "${NETXX_BASELINE:-}" ]; then
  base="$work/baseline"
  rm -rf "$base/src" && mkdir -p "$base/src"
  git -C "$root" archive "$NETXX_BASELINE" | tar -x -C "$base/src"
  cmake -S "$base/src" -B "$base/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DNETXX_BUILD_TESTS=OFF -DNETXX_BUILD_EXAMPLES=ON -DNETXX_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build "$base/build" --target example-060-coroutine-echo-server example-061-pooled-echo-server
  for kind in co pool; do
    case $kind in
      co) bin="$base/build/examples/060-coroutine-echo-server" ;;
      pool) bin="$base/build/examples/061-pooled-echo-server" ;;
    esac
    for backend in ${NETXX_BENCH_BACKENDS:-io_uring epoll}; do
      name="base_${kind}_${backend#io_}"
      printf '#!/bin/sh\nNETXX_BACKEND=%s exec %s "$@"\n' "$backend" "$bin" >"$work/netxx/$name"
      chmod +x "$work/netxx/$name"
      names="$names $name"
    done
  done
fi

# The copy learns the extra names; an unknown name is a launcher of netxx/.
runner="$work/run-netxx.sh"
sed -e "s|^ALL_SERVERS=\"\\(.*\\)\"|ALL_SERVERS=\"\\1$names\"|" \
    -e 's|^    \*) CMD=("${EXTRA\[@\]}") ;;|    *) if [ -x "netxx/$1" ]; then CMD=("netxx/$1"); else CMD=("${EXTRA[@]}"); fi ;;|' \
    "$work/run.sh" >"$runner"
grep -q "ALL_SERVERS=\".*$names\"" "$runner" && grep -q 'CMD=("netxx/$1")' "$runner" ||
  { echo "shared/bench/run.sh changed shape: cannot add netxx's servers to it" >&2; exit 2; }
chmod +x "$runner"
cd "$work" && NODE23="${node23:-node}" ./run-netxx.sh "$@"
