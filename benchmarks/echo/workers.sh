#!/usr/bin/env bash
# net::run_workers measured: 1 worker against 2, side by side in ONE run of
# shared/bench/run.sh (benchmarks/echo/run.sh with the servers below). The
# server is examples/080-workers-signals.cpp (061's pooled coroutine echo
# behind a "connection" listener, one loop per worker on a reuse_port port),
# built Release; columns, for each backend (suffix _uring / _epoll):
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
# build/bench-echo/results/*/table.txt
NETXX_SERVERS="pool w1 w2" exec "$(dirname "$0")/run.sh" "$@"
