#!/usr/bin/env bash
# Server memory per idle connection: shared/bench's loadgen `idle` mode (10,000
# connections, 64 B echoed once each, then held) against the references and
# both netxx echo servers (060: a 64 KiB buffer in each coroutine frame; 061:
# pooled reads), each on both backends. Prints loadgen's RSS figures: growth
# per connection from the start, and the marginal cost from 2,000 to 10,000.
#   benchmarks/echo/idle_memory.sh     (after one benchmarks/echo/run.sh)
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="$root/build/bench-echo/io_uring/build"
ex="$root/build/bench-release/examples"
[ -x "$bench/loadgen" ] && [ -x "$ex/061-pooled-echo-server" ] || { echo "run benchmarks/echo/run.sh once first" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
for s in uring_echo epoll_echo asio_echo uv_echo netxx_io_uring netxx_epoll pooled_io_uring pooled_epoll; do
  case $s in
    netxx_*) cmd=(env NETXX_BACKEND="${s#netxx_}" "$ex/060-coroutine-echo-server") ;;
    pooled_*) cmd=(env NETXX_BACKEND="${s#pooled_}" "$ex/061-pooled-echo-server") ;;
    *) cmd=("$bench/$s") ;;
  esac
  # Below the ephemeral range: a port that 10k earlier client sockets used
  # may still be taken (FIN_WAIT) and listen would fail with EADDRINUSE.
  port=$((20000 + RANDOM % 2000))
  taskset -c 0 "${cmd[@]}" "$port" >/dev/null 2>&1 &
  pid=$!
  sleep 0.3
  out=$(taskset -c 1 "$bench/loadgen" idle -c 10000 -S 2000 -s 64 -H 1 -P "$pid" -p "$port" | grep '^RESULT')
  kill "$pid"; wait "$pid" 2>/dev/null
  printf '%-16s %s\n' "$s" "$(echo "$out" | grep -oE 'rss_(per_conn|marginal_per_conn)_b=[0-9]+' | tr '\n' ' ')"
done
