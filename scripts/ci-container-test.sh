#!/bin/sh
# The release workflow's Linux test legs: runs the whole suite (`npm test`:
# the Rust tests, the TypeScript build, vitest against the downloaded binary)
# inside a bare node:<version>-slim (glibc) or node:<version>-alpine (musl)
# container, as root like .ci/run. Such images have Node and npm only, so this
# first installs a C linker, Python + pip (for scripts/fetch-python.sh) and a
# minimal stable Rust. POSIX sh: Alpine has no bash until it is installed here.
set -eu
cd "$(dirname "$0")/.."

if command -v apk >/dev/null 2>&1; then
  apk add --no-cache bash ca-certificates curl gcc musl-dev python3 py3-pip unzip
elif command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    bash ca-certificates curl gcc libc6-dev python3 python3-pip unzip
fi
if ! command -v cargo >/dev/null 2>&1; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain stable
  PATH="$HOME/.cargo/bin:$PATH"
  export PATH
fi

node --version
cargo --version
npm ci --ignore-scripts
MIMOBOX_PYTHON_HOME="$(bash scripts/fetch-python.sh)"
export MIMOBOX_PYTHON_HOME
npm test
