#!/usr/bin/env bash
# Installs what netxx's build, tests and examples need, when it is missing:
# with apt-get (Debian/Ubuntu), dnf (Fedora) or pacman (Arch), whichever this
# system has. As root it installs; otherwise it names the packages and the
# command. With none of the three it says what to install and exits 1 if
# something is missing.
#   scripts/deps.sh          the build and the test suite
#   scripts/deps.sh --ci     also clang, its sanitizer/libFuzzer runtime, and npm
set -eu
ci=0
[ "${1:-}" = "--ci" ] && ci=1

if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then pm=apt
elif command -v dnf >/dev/null 2>&1 && command -v rpm >/dev/null 2>&1; then pm=dnf
elif command -v pacman >/dev/null 2>&1; then pm=pacman
else pm=none
fi

# pkg WHAT: this system's package for WHAT.
pkg() {
  case "$pm:$1" in
    apt:cmake|dnf:cmake|pacman:cmake) echo cmake ;;
    apt:ninja|dnf:ninja) echo ninja-build ;;   pacman:ninja) echo ninja ;;
    apt:c++) echo g++ ;;                       dnf:c++) echo gcc-c++ ;;      pacman:c++) echo gcc ;;
    apt:pkg-config) echo pkg-config ;;         dnf:pkg-config) echo pkgconf-pkg-config ;;  pacman:pkg-config) echo pkgconf ;;
    apt:liburing) echo liburing-dev ;;         dnf:liburing) echo liburing-devel ;;        pacman:liburing) echo liburing ;;
    apt:catch2) echo catch2 ;;                 dnf:catch2) echo catch2-devel ;;            pacman:catch2) echo catch2 ;;
    apt:fmt) echo libfmt-dev ;;                dnf:fmt) echo fmt-devel ;;                  pacman:fmt) echo fmt ;;
    *:clang) echo clang ;;
    apt:clang-rt) echo libclang-rt-dev ;;      dnf:clang-rt|pacman:clang-rt) echo compiler-rt ;;
    *:npm) echo npm ;;
  esac
}
installed() {  # installed PACKAGE
  case "$pm" in
    apt) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" ;;
    dnf) rpm -q --whatprovides "$1" >/dev/null 2>&1 ;;
    pacman) pacman -Q "$1" >/dev/null 2>&1 ;;
  esac
}
missing=()
need_pkg() { installed "$(pkg "$1")" || missing+=("$(pkg "$1")"); }
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$(pkg "$2")"); }  # a tool from anywhere will do

if [ "$pm" = none ]; then
  # No package manager we know: check what can be checked, and say what is needed.
  need=()
  command -v cmake >/dev/null 2>&1 || need+=("CMake 3.25 or newer")
  command -v ninja >/dev/null 2>&1 || need+=("Ninja")
  command -v g++ >/dev/null 2>&1 || command -v clang++ >/dev/null 2>&1 || need+=("a C++20 compiler (g++ 12 or clang++ 14, or newer)")
  if command -v pkg-config >/dev/null 2>&1; then
    pkg-config --atleast-version=2.3 liburing || need+=("liburing 2.3 or newer, with its headers")
    pkg-config --exists fmt || need+=("fmt")
    pkg-config --exists catch2 || pkg-config --exists catch2-with-main || need+=("Catch2 (v2 or v3)")
  else
    need+=("pkg-config" "liburing 2.3 or newer, with its headers" "fmt" "Catch2 (v2 or v3)")
  fi
  [ $ci = 1 ] && ! command -v clang++ >/dev/null 2>&1 && need+=("clang with its sanitizer and libFuzzer runtimes")
  [ $ci = 1 ] && ! command -v npm >/dev/null 2>&1 && need+=("npm")
  [ ${#need[@]} -eq 0 ] && exit 0
  echo "netxx: no apt-get, dnf or pacman here; install these yourself:" >&2
  printf '  - %s\n' "${need[@]}" >&2
  echo "(Debian/Ubuntu: cmake ninja-build g++ pkg-config liburing-dev catch2 libfmt-dev;" >&2
  echo " Fedora: cmake ninja-build gcc-c++ liburing-devel catch2-devel fmt-devel;" >&2
  echo " Arch: cmake ninja gcc liburing catch2 fmt)" >&2
  exit 1
fi

need_cmd cmake cmake
need_cmd ninja ninja
need_cmd g++ c++
need_cmd pkg-config pkg-config
need_pkg liburing
need_pkg catch2
need_pkg fmt
if [ $ci = 1 ]; then
  need_cmd clang++ clang
  # libFuzzer and the sanitizer runtimes of the clang on PATH.
  if command -v clang++ >/dev/null 2>&1; then
    [ -n "$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a | grep /)" ] &&
      [ -f "$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a)" ] || missing+=("$(pkg clang-rt)")
  else
    missing+=("$(pkg clang-rt)")
  fi
  # npm fetches Node v23.5.0 for the differential tests; a Node from elsewhere
  # (with its npm) is fine, and Debian's npm would fight with it.
  need_cmd npm npm
fi
[ ${#missing[@]} -eq 0 ] && exit 0
case "$pm" in
  apt) install="apt-get install -y" ;;
  dnf) install="dnf install -y" ;;
  pacman) install="pacman -S --needed --noconfirm" ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "netxx needs these packages: ${missing[*]}" >&2
  echo "install them with: sudo $install ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
case "$pm" in
  apt)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null ;;
  dnf) dnf install -y -q "${missing[@]}" >/dev/null ;;
  pacman) pacman -S --needed --noconfirm "${missing[@]}" >/dev/null ;;
esac
