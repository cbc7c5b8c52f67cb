#!/usr/bin/env bash
# Server-process CPU time per unit of work, for a machine where other
# processes share the cores: run.sh's server-CPU row is CPU 0's busy time
# from /proc/stat and counts them too; `perf stat -e task-clock -p SERVER`
# counts only the server (with the loopback softirq work done in its context).
#   benchmarks/echo/cpu_time.sh [ROUNDS]      (default 5; needs perf)
# Servers alternate within each workload; prints one line per test, then
# medians with the ratio to the best reference. Uses build/bench-echo/io_uring
# (made by run.sh) for the loadgen and the references.
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="$root/build/bench-echo/io_uring/build"
server="$root/build/bench-release/examples/060-coroutine-echo-server"
[ -x "$bench/loadgen" ] && [ -x "$server" ] || { echo "run benchmarks/echo/run.sh once first" >&2; exit 2; }
rounds=${1:-5}
log=$(mktemp)
one() { # WORKLOAD SERVER-NAME CMD...
  local wl=$1 name=$2; shift 2
  local port=$((30000 + RANDOM % 2000)) args pid ppid out tc rate
  case $wl in
    pp64_64) args="pingpong -c 64 -s 64 -d 3 -w 0.5" ;;
    pp64_4k) args="pingpong -c 64 -s 4096 -d 3 -w 0.5" ;;
    stream4) args="stream -c 4 -b 65536 -d 3 -w 0.5" ;;
    churn32) args="churn -c 32 -s 64 -d 3 -w 0.5" ;;
  esac
  taskset -c 0 "$@" "$port" >/dev/null 2>&1 &
  pid=$!
  sleep 0.3
  perf stat -e task-clock -x, -o "$log.perf" -p "$pid" &
  ppid=$!
  sleep 0.2
  # shellcheck disable=SC2086
  out=$(taskset -c 1 "$bench/loadgen" $args -p "$port" | grep '^RESULT')
  kill -INT "$ppid"; wait "$ppid" 2>/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null
  tc=$(awk -F, '/task-clock/ {print $1}' "$log.perf")
  rate=$(echo "$out" | grep -oE '(msgs_per_s|conns_per_s|MB_per_s)=[0-9.]+' | cut -d= -f2)
  # the loadgen runs 3.5 s at about the measured rate (warm-up included)
  echo "wl=$wl srv=$name rate=$rate task_ms=$tc us_per_unit=$(awk -v t="$tc" -v r="$rate" 'BEGIN { printf "%.3f", t * 1000 / (r * 3.5) }')"
}
ulimit -n "$(ulimit -Hn)"
for r in $(seq "$rounds"); do
  for wl in pp64_64 pp64_4k stream4 churn32; do
    for s in uring_echo epoll_echo asio_echo uv_echo; do one $wl $s "$bench/$s"; done | tee -a "$log"
    one $wl netxx_io_uring env NETXX_BACKEND=io_uring "$server" | tee -a "$log"
    one $wl netxx_epoll env NETXX_BACKEND=epoll "$server" | tee -a "$log"
  done
done
echo
awk '
{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } d[v["wl"] " " v["srv"]] = d[v["wl"] " " v["srv"]] " " v["us_per_unit"] }
function med(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t } return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
END {
  ns = split("uring_echo epoll_echo asio_echo uv_echo netxx_io_uring netxx_epoll", S, " ")
  split("pp64_64 pp64_4k stream4 churn32", W, " ")
  printf "%-9s", "workload"; for (s = 1; s <= ns; s++) printf "%16s", S[s]; printf "\n"
  for (w = 1; w <= 4; w++) {
    best = 1e18; for (s = 1; s <= 4; s++) { m = med(d[W[w] " " S[s]]); if (m < best) best = m }
    printf "%-9s", W[w]; for (s = 1; s <= ns; s++) { m = med(d[W[w] " " S[s]]); printf "%16s", sprintf("%.2f (%.2f)", m, m / best) } printf "\n"
  }
}' "$log"
rm -f "$log" "$log.perf"
