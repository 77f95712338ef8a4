#!/usr/bin/env bash
# Builds bench/guests/sqlite3.wasm: the SQLite shell (sqlite3.c + shell.c of
# the amalgamation) for wasm32-wasi, a real interpreter-like guest for the
# bench. The result is committed, so the bench and CI never run this.
#
#   bash bench/guests/build-sqlite.sh
#
# Source: the amalgamation that the npm package `sqlite3` ships in its deps/
# (fetched with `npm pack`, no install). Toolchain: Debian's
#   apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
npm_version="${SQLITE3_NPM_VERSION:-6.0.1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "sqlite3@$npm_version" >/dev/null
tar xzf "sqlite3-$npm_version.tgz" --wildcards 'package/deps/sqlite-autoconf-*.tar.gz'
tar xzf package/deps/sqlite-autoconf-*.tar.gz
src="$(echo "$work"/sqlite-autoconf-*)"

# wasi-libc lacks realpath() and chmod(), which shell.c's file helpers call:
# realpath fails with ENOSYS, chmod does nothing (WASI has no permission bits).
cat > shim.h <<'C'
#include <sys/types.h>
char *realpath(const char *path, char *resolved);
int chmod(const char *path, mode_t mode);
C
cat > shim.c <<'C'
#include <errno.h>
#include "shim.h"
char *realpath(const char *path, char *resolved) { (void)path; (void)resolved; errno = ENOSYS; return 0; }
int chmod(const char *path, mode_t mode) { (void)path; (void)mode; return 0; }
C

# WASI has no dlopen, threads, mmap'd shared memory, fork/exec or signals:
# compile those parts out, and take wasi-libc's emulations for what shell.c
# still calls (signal, getpid, clock).
clang-14 --target=wasm32-wasi --sysroot=/usr -O2 -Wl,--strip-all \
  -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_WAL \
  -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_NOHAVE_SYSTEM -DSQLITE_OMIT_POPEN \
  -DSQLITE_DEFAULT_MMAP_SIZE=0 -DSQLITE_MAX_MMAP_SIZE=0 \
  -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_PROCESS_CLOCKS -D_WASI_EMULATED_MMAN \
  -include shim.h -I"$src" "$src/shell.c" "$src/sqlite3.c" shim.c \
  -lwasi-emulated-signal -lwasi-emulated-getpid -lwasi-emulated-process-clocks -lwasi-emulated-mman \
  -o "$here/sqlite3.wasm"
echo "built $here/sqlite3.wasm ($(stat -c %s "$here/sqlite3.wasm") bytes) from $(basename "$src") (npm sqlite3@$npm_version)"
