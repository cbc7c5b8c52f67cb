#!/usr/bin/env bash
# Server-process CPU time per unit of work, for a machine where other
# processes share the cores: run.sh's server-CPU row is CPU 0's busy time
# from /proc/stat and counts them too; `perf stat -e task-clock -p SERVER`
# counts only the server (with the loopback softirq work done in its context).
#   benchmarks/echo/cpu_time.sh [ROUNDS]      (default 5; needs perf)
# Servers alternate within each workload; prints one line per test, then
# medians with the ratio to the best reference. Uses build/bench-echo
# (made by run.sh) for the loadgen and the references.
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="$root/build/bench-echo/build"
server="$root/build/bench-release/examples/060-coroutine-echo-server"
pooled="$root/build/bench-release/examples/061-pooled-echo-server"
[ -x "$bench/loadgen" ] && [ -x "$server" ] || { echo "run benchmarks/echo/run.sh once first" >&2; exit 2; }
rounds=${1:-5}
log=$(mktemp)
LOADGEN="$bench/loadgen"
# shellcheck source=measure.sh
. "$root/benchmarks/echo/measure.sh"
ulimit -n "$(ulimit -Hn)"
for r in $(seq "$rounds"); do
  for wl in pp64_64 pp64_4k stream4 churn32; do
    for s in uring_echo epoll_echo asio_echo uv_echo; do one $wl $s "$bench/$s"; done | tee -a "$log"
    one $wl netxx_io_uring env NETXX_BACKEND=io_uring "$server" | tee -a "$log"
    one $wl netxx_epoll env NETXX_BACKEND=epoll "$server" | tee -a "$log"
    if [ -x "$pooled" ]; then
      one $wl pooled_io_uring env NETXX_BACKEND=io_uring "$pooled" | tee -a "$log"
      one $wl pooled_epoll env NETXX_BACKEND=epoll "$pooled" | tee -a "$log"
    fi
  done
done
echo
# Medians of absolute figures, and (in brackets) the median over rounds of
# each server's ratio to the best reference of the same round: servers of one
# round ran back to back, so the ratio cancels most of the drift of a shared
# host from round to round.
python3 - "$log" <<'PY'
import statistics as st, sys
rows = [dict(kv.split("=", 1) for kv in l.split()) for l in open(sys.argv[1]) if l.startswith("wl=")]
servers = list(dict.fromkeys(r["srv"] for r in rows))
refs = [s for s in servers if s in ("uring_echo", "epoll_echo", "asio_echo", "uv_echo")]
by = {}
for r in rows:
    by.setdefault(r["wl"], []).append(r)
print(f"{'workload':9}" + "".join(f"{s:>17}" for s in servers))
for wl, rs in by.items():
    rounds, cur = [], {}
    for r in rs:
        if r["srv"] in cur:
            rounds.append(cur)
            cur = {}
        cur[r["srv"]] = float(r["us_per_unit"])
    rounds.append(cur)
    cells = []
    for s in servers:
        vals = [rd[s] for rd in rounds if s in rd]
        ratios = [rd[s] / min(rd[x] for x in refs if x in rd) for rd in rounds if s in rd and any(x in rd for x in refs)]
        cells.append(f"{st.median(vals):.2f} ({st.median(ratios):.2f})" if vals else "-")
    print(f"{wl:9}" + "".join(f"{c:>17}" for c in cells))
PY
cp "$log" "${CPU_TIME_KEEP:-/dev/null}" 2>/dev/null; rm -f "$log"
