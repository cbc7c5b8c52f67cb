#!/usr/bin/env bash
# The server process's own CPU time per unit of work (perf task-clock of the
# process, every thread: measure.sh), 1 worker against 2 (net::run_workers,
# examples/080-workers-signals.cpp) and the plain one-loop server (061), for
# a machine where other processes share the cores (run.sh's server-core row
# counts them too). Servers alternate within each round; server pinned to
# CPU 0, loadgen to CPU 1, as shared/bench does.
#   benchmarks/echo/workers_cpu.sh [ROUNDS]   (default 3; needs perf, and
#   benchmarks/echo/workers.sh run once, for the loadgen and the servers)
# Prints one line per test, then per workload the medians and the median
# over rounds of each server's ratio to w1 of the same backend and round.
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
LOADGEN="$root/build/bench-workers/build/loadgen"
ex="$root/build/bench-release/examples"
[ -x "$LOADGEN" ] && [ -x "$ex/080-workers-signals" ] || { echo "run benchmarks/echo/workers.sh once first" >&2; exit 2; }
rounds=${1:-3}
log=$(mktemp)
# shellcheck source=measure.sh
. "$root/benchmarks/echo/measure.sh"
ulimit -n "$(ulimit -Hn)"
for r in $(seq "$rounds"); do
  for wl in pp64_64 pp64_4k stream4 churn32; do
    for b in io_uring epoll; do
      one $wl "pool_${b#io_}" env NETXX_BACKEND=$b "$ex/061-pooled-echo-server" | tee -a "$log"
      one $wl "w1_${b#io_}" env NETXX_BACKEND=$b "$ex/080-workers-signals" 1 | tee -a "$log"
      one $wl "w2_${b#io_}" env NETXX_BACKEND=$b "$ex/080-workers-signals" 2 | tee -a "$log"
    done
  done
done
echo
python3 - "$log" <<'PY'
import statistics as st, sys
rows = [dict(kv.split("=", 1) for kv in l.split()) for l in open(sys.argv[1]) if l.startswith("wl=")]
servers = list(dict.fromkeys(r["srv"] for r in rows))
by = {}
for r in rows:
    by.setdefault(r["wl"], []).append(r)
print("server process CPU us per unit (per message; per MB for stream4; per connection for churn32), (ratio to w1 of its backend)")
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
        base = "w1_" + s.split("_", 1)[1]
        vals = [rd[s] for rd in rounds if s in rd]
        ratios = [rd[s] / rd[base] for rd in rounds if s in rd and base in rd and rd[base] > 0]
        cells.append(f"{st.median(vals):.2f} ({st.median(ratios):.2f})" if vals else "-")
    print(f"{wl:9}" + "".join(f"{c:>17}" for c in cells))
PY
rm -f "$log"
