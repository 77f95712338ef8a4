#!/usr/bin/env bash
# Rebuild every guest test program.
#   test/guests/wat/*.wat  -> test/guests/wat/*.wasm   (wat2wasm, wabt)
#   test/guests/gen_big_data.py -> test/guests/wat/big_data.wasm (generated .wat)
#   test/guests/c/*.c      -> test/guests/c/*.wasm     (clang-14 + wasi-libc)
# The .wasm outputs are committed, so CI never needs to run this.
# Builds are deterministic: rebuilding gives byte-identical files with the
# same tool versions. Runnable from any directory.
#
# Tools (Debian): clang-14, lld-14, wasi-libc, libclang-rt-14-dev-wasm32, wabt,
# python3. Override with CLANG=..., WAT2WASM=..., PYTHON=... if needed.
set -euo pipefail

GUESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CLANG="${CLANG:-clang-14}"
WAT2WASM="${WAT2WASM:-wat2wasm}"
PYTHON="${PYTHON:-python3}"
SYSROOT="${WASI_SYSROOT:-/usr}"

cd "$GUESTS_DIR"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Work from the guest directory with relative paths, and pin locale/time
# related environment so nothing host-specific leaks into the output.
export LC_ALL=C
export SOURCE_DATE_EPOCH=0

for src in wat/*.wat; do
  out="${src%.wat}.wasm"
  echo "wat2wasm $src -> $out"
  "$WAT2WASM" "$src" -o "$out"
done

echo "gen_big_data.py -> wat/big_data.wasm"
"$PYTHON" gen_big_data.py "$tmp/big_data.wat"
"$WAT2WASM" "$tmp/big_data.wat" -o wat/big_data.wasm

# -O2 and --strip-all (drops the name and producers sections, which would
# otherwise record tool versions). -fno-ident keeps compiler version strings
# out of the module as well.
CFLAGS=(--target=wasm32-wasi --sysroot="$SYSROOT" -O2 -fno-ident -Wall -Wextra)
LDFLAGS=(-Wl,--strip-all)

for src in c/*.c; do
  out="${src%.c}.wasm"
  echo "clang $src -> $out"
  "$CLANG" "${CFLAGS[@]}" "${LDFLAGS[@]}" "$src" -o "$out"
done

echo "done"
