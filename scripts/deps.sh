#!/usr/bin/env bash
# Installs what netxx's build, tests and examples need on Debian/Ubuntu, when
# it is missing. As root it runs apt-get; otherwise it names the packages.
#   scripts/deps.sh          the build and the test suite
#   scripts/deps.sh --ci     also clang's sanitizer/libFuzzer runtime and npm
set -eu
need=(cmake ninja-build g++ pkg-config liburing-dev catch2 libfmt-dev)
if [ "${1:-}" = "--ci" ]; then need+=(clang libclang-rt-dev npm); fi
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Another clang already on PATH is fine for the clang builds.
if [ "${1:-}" = "--ci" ] && command -v clang++ >/dev/null 2>&1; then
  missing=("${missing[@]/clang}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "netxx needs these packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
