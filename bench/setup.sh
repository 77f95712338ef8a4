#!/usr/bin/env bash
# Installs the wasmtime CLI used by the "wasmtime CLI" rows of the bench into
# bench/.tools/bin (git-ignored), unless a `wasmtime` is already on PATH or there.
# Pinned to the wasmtime version the native backend links (48.0.8), so both run
# the same Cranelift. Building it takes a while (10-20 min on 2 cores).
#
#   bash bench/setup.sh            # install if missing
#   WASMTIME_VERSION=... bash bench/setup.sh
#
# Set MIMOBOX_CARGO_LOCK=/path/to/lockfile to serialise with other cargo builds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${WASMTIME_VERSION:-48.0.8}"
root="$here/.tools"

if [ -x "$root/bin/wasmtime" ]; then
  echo "wasmtime CLI already installed: $("$root/bin/wasmtime" --version)"
  exit 0
fi
if command -v wasmtime >/dev/null 2>&1; then
  echo "wasmtime CLI found on PATH: $(wasmtime --version) ($(command -v wasmtime))"
  exit 0
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust (https://rustup.rs) or put a wasmtime binary on PATH;" >&2
  echo "the bench skips the wasmtime CLI rows without it." >&2
  exit 1
fi

cmd=(cargo install "wasmtime-cli@$version" --locked --root "$root")
if [ -n "${MIMOBOX_CARGO_LOCK:-}" ] && command -v flock >/dev/null 2>&1; then
  cmd=(flock "$MIMOBOX_CARGO_LOCK" "${cmd[@]}")
fi
echo "installing wasmtime-cli $version into $root: ${cmd[*]}"
start=$(date +%s)
"${cmd[@]}"
end=$(date +%s)
echo "wasmtime-cli $version installed in $((end - start)) s: $("$root/bin/wasmtime" --version)"
