#!/usr/bin/env bash
# Server memory per idle connection, quicker than run.sh's idle10k row:
# shared/bench's loadgen `idle` mode (10,000 connections, 64 B echoed once
# each, then held) against the references and netxx's servers (the launchers
# benchmarks/echo/run.sh made: co_*, pool_*, pipe_*, data_*). Prints loadgen's
# RSS figures: growth per connection from the start, and the marginal cost
# from 2,000 to 10,000.
#   benchmarks/echo/idle_memory.sh [server...]     (after one benchmarks/echo/run.sh)
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$root/build/bench-echo"
[ -x "$work/build/loadgen" ] && [ -d "$work/netxx" ] || { echo "run benchmarks/echo/run.sh once first" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(uring_echo epoll_echo uv_echo $(ls "$work/netxx"))
for s in "${servers[@]}"; do
  if [ -x "$work/netxx/$s" ]; then cmd=("$work/netxx/$s"); else cmd=("$work/build/$s"); fi
  # Below the ephemeral range: a port that 10k earlier client sockets used
  # may still be taken (FIN_WAIT) and listen would fail with EADDRINUSE.
  port=$((20000 + RANDOM % 2000))
  taskset -c 0 "${cmd[@]}" "$port" >/dev/null 2>&1 &
  pid=$!
  sleep 0.3
  out=$(taskset -c 1 "$work/build/loadgen" idle -c 10000 -S 2000 -s 64 -H 1 -P "$pid" -p "$port" | grep '^RESULT')
  kill "$pid"; wait "$pid" 2>/dev/null
  printf '%-16s %s\n' "$s" "$(echo "$out" | grep -oE 'rss_(per_conn|marginal_per_conn)_b=[0-9]+' | tr '\n' ' ')"
done
