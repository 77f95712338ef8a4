#!/usr/bin/env bash
# Fuzzes module bytes through the native core's full execute path
# (fuzz/fuzz_targets/execute.rs) with cargo-fuzz / libFuzzer, for a bounded
# time. `npm run fuzz`. Works on the stable toolchain: `-s none` builds with
# libFuzzer's coverage instrumentation but no sanitizer (ASan needs nightly's
# -Zsanitizer; set FUZZ_SANITIZER=address on nightly to use it).
#
#   FUZZ_SECONDS=120          how long to fuzz (default 120)
#   FUZZ_JOBS=1               parallel fuzzing processes
#   FUZZ_TARGET_DIR=...       cargo target dir (default /var/tmp/mimobox-fuzz-target)
#   MIMOBOX_CARGO_LOCK=path   run cargo under `flock path` (shared build machines)
#
# Seeds: every test/guests module up to 128 KiB, plus test/hostile/regressions.
# A crash, hang (> 10 s) or leak (> 4 GiB RSS) stops the run with a non-zero
# exit and leaves the input in fuzz/artifacts/execute/; copy it to
# test/hostile/regressions/ so both backends replay it in `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TO_RUN="${FUZZ_SECONDS:-120}"
JOBS="${FUZZ_JOBS:-1}"
SANITIZER="${FUZZ_SANITIZER:-none}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/tmp/mimobox-fuzz-target}"
lock=()
if [ -n "${MIMOBOX_CARGO_LOCK:-}" ]; then lock=(flock "$MIMOBOX_CARGO_LOCK"); fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  "${lock[@]}" cargo install cargo-fuzz --locked
fi

build_start=$(date +%s)
(cd fuzz && "${lock[@]}" cargo fuzz build -s "$SANITIZER" execute)
echo "fuzz: build took $(( $(date +%s) - build_start ))s"

bin="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/execute"
[ -x "$bin" ] || bin="$(find "$CARGO_TARGET_DIR" -type f -name execute -perm -u+x -path '*release*' | head -1)"
corpus=fuzz/corpus/execute
artifacts=fuzz/artifacts/execute/
mkdir -p "$corpus" "$artifacts"
find test/guests test/hostile/regressions -name '*.wasm' -size -129k -exec cp {} "$corpus"/ \; 2>/dev/null || true

echo "fuzz: running $bin for ${SECONDS_TO_RUN}s ($JOBS job(s)), corpus $corpus"
parallel=()
if [ "$JOBS" -gt 1 ]; then parallel=(-jobs="$JOBS" -workers="$JOBS"); fi
# The binary runs directly (not through cargo), so it does not hold the cargo lock.
status=0
"$bin" "$corpus" \
  -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=4096 -max_len=131072 \
  -artifact_prefix="$artifacts" -print_final_stats=1 "${parallel[@]}" >fuzz/last-run.log 2>&1 || status=$?
grep -E '^(#[0-9]+ +(INITED|DONE)|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|==[0-9]+==|SUMMARY|Done [0-9]+ runs)' fuzz/last-run.log || true
if [ "$status" -ne 0 ]; then
  tail -40 fuzz/last-run.log >&2
  echo "fuzz: FAILED (exit $status): see fuzz/last-run.log and $artifacts" >&2
  exit "$status"
fi
echo "fuzz: no crash, hang or leak in ${SECONDS_TO_RUN}s"
