#!/bin/sh
# sendzc_bench over a veth pair between two network namespaces, made without
# root: a user namespace (unshare -r) owns both. The sender stays in the first
# namespace (veth end sz0, 10.99.0.1); the receiver thread setns()es into the
# second (sz1, 10.99.0.2), held open by a sleeping process.
#   benchmarks/sendzc/run_veth.sh build/benchmarks/sendzc_bench [bench options]
set -eu
bench=$(realpath "$1"); shift
if [ "${SENDZC_INSIDE:-}" != 1 ]; then
  exec env SENDZC_INSIDE=1 unshare -rn sh "$0" "$bench" "$@"
fi
ip link set lo up
unshare -n sleep 3600 &
holder=$!
trap 'kill $holder' EXIT
sleep 0.2
ip link add sz0 type veth peer name sz1
ip link set sz1 netns "$holder"
ip addr add 10.99.0.1/24 dev sz0
ip link set sz0 up
nsenter -t "$holder" -n sh -c 'ip link set lo up; ip addr add 10.99.0.2/24 dev sz1; ip link set sz1 up'
nsenter -t "$holder" -n ethtool -k sz1 2>/dev/null | grep -E '^(tcp-segmentation-offload|generic-receive-offload|scatter-gather):' || true
"$bench" --addr 10.99.0.2 --recv-netns "/proc/$holder/ns/net" "$@"
