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
LOADGEN=$loadgen
# shellcheck source=measure.sh
. "$(dirname "$0")/measure.sh"
for round in $(seq "$rounds"); do
  for wl in pp64_64 pp64_4k stream4; do
    one $wl old "$old"
    one $wl new "$new"
    one $wl ref "$ref"
  done
done
