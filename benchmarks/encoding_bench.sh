#!/bin/sh
# Runs encoding_bench (netxx) and encoding_bench.js (Node) interleaved, twice
# each, and prints netxx/Node per row as the range over the two rounds (the
# faster of Node's two ways is the reference for utf8 decoding; both are shown).
#   benchmarks/encoding_bench.sh build/benchmarks/encoding_bench /path/to/node [extra netxx flags]
set -eu
bench=${1:?path to encoding_bench}
node=${2:?path to node v23.5.0}
shift 2
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for round in 1 2; do
  "$bench" --csv "$@" >"$tmp/netxx.$round"
  "$node" "$here/encoding_bench.js" --csv >"$tmp/node.$round"
done
awk -F, '
  FNR == 1 { file++ }
  { key = $1 "," $2; if (!(key in seen)) { seen[key] = 1; order[++n] = key } v[file, key] = $3 }
  END {
    printf "%-36s %8s %17s %17s %13s\n", "row", "size", "netxx MB/s", "Node MB/s", "netxx/Node"
    for (i = 1; i <= n; i++) {
      k = order[i]; split(k, p, ",")
      r1 = v[1, k] / v[2, k]; r2 = v[3, k] / v[4, k]
      lo = r1 < r2 ? r1 : r2; hi = r1 < r2 ? r2 : r1
      printf "%-36s %5d KiB %7d-%-7d %7d-%-7d %5.2f-%-5.2fx\n", p[1], p[2] / 1024,
             v[1, k] < v[3, k] ? v[1, k] : v[3, k], v[1, k] < v[3, k] ? v[3, k] : v[1, k],
             v[2, k] < v[4, k] ? v[2, k] : v[4, k], v[2, k] < v[4, k] ? v[4, k] : v[2, k], lo, hi
    }
  }' "$tmp/netxx.1" "$tmp/node.1" "$tmp/netxx.2" "$tmp/node.2"
