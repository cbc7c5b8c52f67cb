#!/usr/bin/env bash
# Installs what netxx's build, tests and examples need on Debian/Ubuntu, when
# it is missing. As root it runs apt-get; otherwise it names the packages.
#   scripts/deps.sh          the build and the test suite
#   scripts/deps.sh --ci     also clang, its sanitizer/libFuzzer runtime, and npm
set -eu
missing=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || missing+=("$1"); }
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }  # a tool from anywhere will do
need_cmd cmake cmake
need_cmd ninja ninja-build
need_cmd g++ g++
need_cmd pkg-config pkg-config
need_pkg liburing-dev
need_pkg catch2
need_pkg libfmt-dev
if [ "${1:-}" = "--ci" ]; then
  need_cmd clang++ clang
  # libFuzzer and the sanitizer runtimes of the clang on PATH.
  if command -v clang++ >/dev/null 2>&1; then
    [ -n "$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a | grep /)" ] &&
      [ -f "$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a)" ] || missing+=(libclang-rt-dev)
  else
    missing+=(libclang-rt-dev)
  fi
  # npm fetches Node v23.5.0 for the differential tests; a Node from elsewhere
  # (with its npm) is fine, and Debian's npm would fight with it.
  need_cmd npm npm
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "netxx needs these packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
