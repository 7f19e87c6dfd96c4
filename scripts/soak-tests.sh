#!/usr/bin/env bash
# Runs the whole test suite (`cargo test --workspace`) N times while every
# core is kept busy, to catch specs that depend on timing: a spec that passes
# on an idle machine but races the wall clock shows up here.
#
#   scripts/soak-tests.sh              # 20 runs
#   scripts/soak-tests.sh --runs 5     # or N=5 scripts/soak-tests.sh
#   LOAD=0 scripts/soak-tests.sh       # no background load
#
# The tests are built once, first; each run then reuses the build. The load is
# LOAD busy loops (default: one per core, `nproc`), plain shell, stopped on
# exit however the script ends. Each failing run's output is kept in
# target/soak/run-<k>.log (named on screen); the closing line reads
# `soak: <passed> passed, <failed> failed` and the exit status is non-zero if
# any run failed. Each run draws its own proptest seed (PROPTEST_RNG_SEED, printed
# with a failing run; set it to replay), where CI uses a fixed one.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${N:-20}"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --runs=*) runs="${1#--runs=}"; shift ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
case "$runs" in
  '' | *[!0-9]* | 0) echo "soak: the number of runs must be a positive integer, not '$runs'" >&2; exit 2 ;;
esac
load="${LOAD:-$(nproc 2>/dev/null || echo 2)}"

logs=target/soak
mkdir -p "$logs"
rm -f "$logs"/run-*.log

echo "soak: building the tests once"
cargo test --workspace --no-run --quiet

load_pids=()
stop_load() {
  for pid in "${load_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${load_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  load_pids=()
}
trap stop_load EXIT
trap 'stop_load; exit 130' INT
trap 'stop_load; exit 143' TERM
for _ in $(seq 1 "$load"); do
  yes >/dev/null &
  load_pids+=("$!")
done
echo "soak: $runs runs of cargo test --workspace, with $load busy loops beside them"

passed=0
failed=0
for run in $(seq 1 "$runs"); do
  log="$logs/run-$run.log"
  started=$SECONDS
  # A fresh proptest seed per run explores new cases; a failure prints it for the replay.
  seed="${PROPTEST_RNG_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
  if PROPTEST_RNG_SEED="$seed" cargo test --workspace --quiet >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "soak: run $run/$runs passed ($((SECONDS - started)) s)"
    rm -f "$log"
  else
    failed=$((failed + 1))
    echo "soak: run $run/$runs FAILED ($((SECONDS - started)) s), output kept in $log; replay with PROPTEST_RNG_SEED=$seed"
    grep -E '^test .* FAILED$|panicked at' "$log" | head -n 10 | sed 's/^/soak:   /' || true
  fi
done

stop_load
echo "soak: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
