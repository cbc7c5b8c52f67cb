#!/usr/bin/env bash
# A/B of two builds of one echo server beside a reference, on server CPU per
# unit of work (perf task-clock of the server alone), the three servers
# alternating within each workload and round:
#   benchmarks/echo/ab.sh LOADGEN OLD_SERVER NEW_SERVER REF_SERVER [ROUNDS]
# LOADGEN and the references come from ../shared/bench (its Makefile); each
# server takes its port as last argument. Run once per backend with
# NETXX_BACKEND=io_uring|epoll (the reference ignores it). Prints one line per
# run; take medians of the per-round ratios (these machines are shared).
set -u
[ $# -ge 4 ] || { echo "usage: $0 LOADGEN OLD NEW REF [ROUNDS]" >&2; exit 2; }
loadgen=$1 old=$2 new=$3 ref=$4 rounds=${5:-3}
log=$(mktemp)
one() { # WORKLOAD NAME SERVER
  local wl=$1 name=$2 srv=$3 args out tc rate
  # below the ephemeral range, so a client socket never holds the port
  local port=$((20000 + RANDOM % 8000))
  case $wl in
    pp64_64) args="pingpong -c 64 -s 64 -d 3 -w 0.5" ;;
    pp64_4k) args="pingpong -c 64 -s 4096 -d 3 -w 0.5" ;;
    stream4) args="stream -c 4 -b 65536 -d 3 -w 0.5" ;;
  esac
  taskset -c 0 "$srv" "$port" >/dev/null 2>&1 &
  local pid=$!
  sleep 0.3
  perf stat -e task-clock -x, -o "$log" -p "$pid" &
  local ppid=$!
  sleep 0.2
  # shellcheck disable=SC2086
  out=$(taskset -c 1 "$loadgen" $args -p "$port" | grep '^RESULT')
  kill -INT "$ppid"; wait "$ppid" 2>/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null
  tc=$(awk -F, '/task-clock/ {print $1}' "$log")
  rate=$(echo "$out" | grep -oE '(msgs_per_s|MB_per_s)=[0-9.]+' | cut -d= -f2)
  # the loadgen runs 3.5 s at about the measured rate (warm-up included)
  echo "wl=$wl srv=$name rate=$rate us_per_unit=$(awk -v t="$tc" -v r="$rate" 'BEGIN { printf "%.3f", t * 1000 / (r * 3.5) }')"
}
for round in $(seq "$rounds"); do
  for wl in pp64_64 pp64_4k stream4; do
    one $wl old "$old"
    one $wl new "$new"
    one $wl ref "$ref"
  done
done
rm -f "$log"
