# Sourced by cpu_time.sh and ab.sh: one measured run of one echo server.
#   LOADGEN=path/to/loadgen; one WORKLOAD NAME CMD...
# runs CMD PORT pinned to CPU 0, the loadgen on CPU 1, and prints
#   wl=... srv=NAME rate=... task_ms=... us_per_unit=...
# where us_per_unit is the server's own CPU (perf task-clock of its process)
# per message, per MB (stream4) or per connection (churn32).
one() {
  local wl=$1 name=$2; shift 2
  # below the ephemeral range, so a client socket never holds the port
  local port=$((20000 + RANDOM % 8000)) args pid ppid out tc rate perf_out
  case $wl in
    pp64_64) args="pingpong -c 64 -s 64 -d 3 -w 0.5" ;;
    pp64_4k) args="pingpong -c 64 -s 4096 -d 3 -w 0.5" ;;
    stream4) args="stream -c 4 -b 65536 -d 3 -w 0.5" ;;
    churn32) args="churn -c 32 -s 64 -d 3 -w 0.5" ;;
  esac
  perf_out=$(mktemp)
  taskset -c 0 "$@" "$port" >/dev/null 2>&1 &
  pid=$!
  sleep 0.3
  perf stat -e task-clock -x, -o "$perf_out" -p "$pid" &
  ppid=$!
  sleep 0.2
  # shellcheck disable=SC2086
  out=$(taskset -c 1 "$LOADGEN" $args -p "$port" | grep '^RESULT')
  kill -INT "$ppid"; wait "$ppid" 2>/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null
  tc=$(awk -F, '/task-clock/ {print $1}' "$perf_out")
  rm -f "$perf_out"
  rate=$(echo "$out" | grep -oE '(msgs_per_s|conns_per_s|MB_per_s)=[0-9.]+' | cut -d= -f2)
  # the loadgen runs 3.5 s at about the measured rate (warm-up included)
  echo "wl=$wl srv=$name rate=$rate task_ms=$tc us_per_unit=$(awk -v t="$tc" -v r="$rate" 'BEGIN { printf "%.3f", t * 1000 / (r * 3.5) }')"
}
