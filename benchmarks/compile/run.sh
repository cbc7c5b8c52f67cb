#!/usr/bin/env bash
# The compile-cost benchmark: CPU time (user+sys) and peak memory of compiling
# a coroutine echo server with netxx (header-only, and its user file alone
# with NETXX_SEPARATE_COMPILATION) and the same server with standalone Asio
# (header-only, and with ASIO_SEPARATE_COMPILATION), with g++ and clang++ at
# -O0 and -O2; then each public netxx header alone at -O2. Medians of
# --runs runs (default 3), the variants interleaved round-robin so that a
# noisy neighbour hits them alike. Prints markdown tables for RESULTS.md.
#
#   benchmarks/compile/run.sh [--runs N] [--compilers "g++ clang++"] [--no-headers]
#
# Needs Debian's libasio-dev for the Asio rows (skipped without it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
runs=3
compilers="g++ clang++"
headers=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --compilers) compilers="$2"; shift 2 ;;
    --no-headers) headers=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
have_asio=0
[ -f /usr/include/asio.hpp ] && have_asio=1

# measure NAME COMPILER FLAGS... : one compile, appends "cpu_s rss_kb" to $work/NAME
measure() {
  local name="$1"; shift
  /usr/bin/time -o "$work/time" -f "%U %S %M" "$@" -o "$work/out.o" >/dev/null 2>"$work/err" || {
    echo "compile failed: $*" >&2; cat "$work/err" >&2; exit 1; }
  local u s m
  read -r u s m <"$work/time"
  awk -v u="$u" -v s="$s" -v m="$m" 'BEGIN { printf "%.2f %d\n", u + s, m }' >>"$work/$name"
}
median() {  # median of column $2 of file $1
  sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'
}
cell() {  # "cpu s / MiB"
  printf '%.2f s / %d MiB' "$(median "$1" 1)" "$(( $(median "$1" 2) / 1024 ))"
}

std="-std=c++20"
asio_flags="-DASIO_STANDALONE -DASIO_NO_DEPRECATED"
declare -a variants=()
for cxx in $compilers; do
  extra=""
  # clang 14 does not define __cpp_coroutines, which Asio 1.22 tests for.
  [[ "$cxx" == clang* ]] && extra="-DASIO_HAS_CO_AWAIT=1"
  for opt in -O0 -O2; do
    variants+=("netxx|$cxx|$opt|$std $opt -I$root/include -c $here/echo_netxx.cpp")
    variants+=("netxx-sep|$cxx|$opt|$std $opt -DNETXX_SEPARATE_COMPILATION -I$root/include -c $here/echo_netxx.cpp")
    if [ $have_asio = 1 ]; then
      variants+=("asio|$cxx|$opt|$std $opt $asio_flags $extra -c $here/echo_asio.cpp")
      variants+=("asio-sep|$cxx|$opt|$std $opt $asio_flags $extra -DASIO_SEPARATE_COMPILATION -c $here/echo_asio.cpp")
    fi
  done
  # The one-time cost of the compiled forms (the library file itself), at -O2.
  variants+=("netxx-lib|$cxx|-O2|$std -O2 -DNETXX_SEPARATE_COMPILATION -I$root/include -c $root/src/netxx.cpp")
  if [ $have_asio = 1 ]; then
    printf '#include <asio/impl/src.hpp>\n' >"$work/asio_src.cpp"
    variants+=("asio-lib|$cxx|-O2|$std -O2 $asio_flags $extra -DASIO_SEPARATE_COMPILATION -c $work/asio_src.cpp")
  fi
done

for ((r = 0; r < runs; r++)); do
  for v in "${variants[@]}"; do
    IFS='|' read -r name cxx opt flags <<<"$v"
    # shellcheck disable=SC2086
    measure "$name.$cxx.$opt" "$cxx" $flags
  done
done

echo "### Echo server, one file (CPU user+sys / peak RSS, median of $runs)"
echo
header="| program |"; sep="|---|"
for cxx in $compilers; do for opt in -O0 -O2; do header+=" $cxx $opt |"; sep+="---|"; done; done
echo "$header"; echo "$sep"
names="netxx netxx-sep"
[ $have_asio = 1 ] && names+=" asio asio-sep"
for name in $names; do
  row="| $name |"
  for cxx in $compilers; do for opt in -O0 -O2; do row+=" $(cell "$work/$name.$cxx.$opt") |"; done; done
  echo "$row"
done
echo
echo "Once per program (the compiled forms' library file, -O2):"
echo
for cxx in $compilers; do
  line="- $cxx: netxx src/netxx.cpp $(cell "$work/netxx-lib.$cxx.-O2")"
  [ $have_asio = 1 ] && line+=", asio/impl/src.hpp $(cell "$work/asio-lib.$cxx.-O2")"
  echo "$line"
done

[ $headers = 1 ] || exit 0
echo
echo "### Each public header alone, -O2 (CPU user+sys, median of $runs)"
echo
hdrs=$(cd "$root/include" && ls netxx/*.hpp)
for h in $hdrs; do
  printf '#include <%s>\n' "$h" >"$work/h_$(basename "$h" .hpp).cpp"
done
for ((r = 0; r < runs; r++)); do
  for h in $hdrs; do
    b=$(basename "$h" .hpp)
    for cxx in $compilers; do
      measure "hdr.$b.$cxx" "$cxx" $std -O2 -I"$root/include" -c "$work/h_$b.cpp"
      measure "hdrsep.$b.$cxx" "$cxx" $std -O2 -DNETXX_SEPARATE_COMPILATION -I"$root/include" -c "$work/h_$b.cpp"
    done
  done
done
header="| header |"; sep="|---|"
for cxx in $compilers; do header+=" $cxx | $cxx, separate |"; sep+="---|---|"; done
echo "$header"; echo "$sep"
for h in $hdrs; do
  b=$(basename "$h" .hpp)
  row="| $h |"
  for cxx in $compilers; do
    row+=" $(printf '%.2f s' "$(median "$work/hdr.$b.$cxx" 1)") | $(printf '%.2f s' "$(median "$work/hdrsep.$b.$cxx" 1)") |"
  done
  echo "$row"
done
