#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ (libFuzzer) for a budget of CPU time each and
# prints, per target: executions, CPU time, executions per CPU second, corpus size, new
# units and crashes. Too long for .ci/run; run it by hand on the code to be released.
#
#   scripts/fuzz.sh                          # every target, 30 CPU-minutes each
#   scripts/fuzz.sh --cpu-minutes 1 requests # one target, one CPU-minute
#   scripts/fuzz.sh --jobs 1 -- -max_len=65536   # one at a time; the rest goes to libFuzzer
#
# Installs cargo-fuzz (pinned) if missing, then builds every target once with
# `cargo fuzz build -s none` on the stable toolchain: without a sanitizer, since the
# gateway forbids `unsafe` (AddressSanitizer would watch only the dependencies' unsafe
# code, at two to three times the cost per execution, and needs a nightly compiler).
# Panics, stack overflows, aborts, timeouts (-timeout=10 s an input) and memory blow-ups
# (libFuzzer's -rss_limit_mb, 2048 MB) are crashes either way.
#
# CPU time is measured, not wall time: the fuzzer's own utime + stime from
# /proc/<pid>/stat, sampled every 2 s; at the budget it gets SIGINT and prints its final
# stats. So the budget holds however loaded the machine is, and with --jobs 2 (the
# default on two or more cores) two targets share the machine fairly.
#
# Each target grows its corpus in fuzz/work/<target>/ (kept between runs, not committed),
# reading the committed seeds in fuzz/corpus/<target>/ too. A crash stops that target; its
# input is in fuzz/artifacts/<target>/ (replay: fuzz/target/<host>/release/<target> FILE).
# Turn each into a regression test (src/untrusted/regressions.rs) before fixing it.
# Exit status: non-zero when any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(admin_json admin_xml payment_json requests ins_post)
cpu_minutes=30
jobs=$(($(nproc) >= 2 ? 2 : 1))
targets=()
libfuzzer_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-minutes) cpu_minutes="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; libfuzzer_args=("$@"); break ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then targets=("${all_targets[@]}"); fi
for target in "${targets[@]}"; do
  if [ ! -f "fuzz/fuzz_targets/$target.rs" ]; then
    echo "fuzz.sh: no target $target (targets: ${all_targets[*]})" >&2
    exit 2
  fi
done
if ! [[ "$cpu_minutes" =~ ^[0-9]+(\.[0-9]+)?$ ]] || ! [[ "$jobs" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: --cpu-minutes takes a number, --jobs a positive integer" >&2
  exit 2
fi

cargo_fuzz_version=0.13.2
if [ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $cargo_fuzz_version" ]; then
  echo "== installing cargo-fuzz $cargo_fuzz_version"
  nice -n 10 cargo install --locked "cargo-fuzz@$cargo_fuzz_version"
fi

echo "== cargo fuzz build -s none (release, instrumented; the first build takes a while)"
(cd fuzz && nice -n 10 cargo fuzz build -s none)
host="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="fuzz/target/$host/release"

ticks_per_second="$(getconf CLK_TCK)"
budget_ticks="$(awk -v m="$cpu_minutes" -v t="$ticks_per_second" 'BEGIN { printf "%d", m * 60 * t }')"
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT

# The CPU time (user + system, in clock ticks) of a live process, or nothing once it is gone.
cpu_ticks() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  # Fields after the command name, which is in parentheses: utime and stime are 12th and 13th.
  echo "${stat##*) }" | awk '{ print $12 + $13 }'
}

# Runs one target to its budget; writes its summary line to $results/<target>.
run_target() {
  local target="$1" work="fuzz/work/$1" artifacts="fuzz/artifacts/$1" log="fuzz/work/$1.log"
  mkdir -p "$work" "$artifacts"
  local crashes_before
  crashes_before="$(find "$artifacts" -type f | wc -l)"
  # The keys, element names and values the decoders read, for libFuzzer to splice in.
  local dict=()
  case "$target" in
    admin_json | payment_json) dict=(-dict=fuzz/dict/json.dict) ;;
    admin_xml) dict=(-dict=fuzz/dict/xml.dict) ;;
  esac
  nice -n 10 "$bin_dir/$target" -print_final_stats=1 -timeout=10 -artifact_prefix="$artifacts/" \
    "${dict[@]}" "${libfuzzer_args[@]}" "$work" "fuzz/corpus/$target" >"$log" 2>&1 &
  local pid=$! used=0 sample
  while kill -0 "$pid" 2>/dev/null; do
    sample="$(cpu_ticks "$pid")"
    if [ -n "$sample" ]; then used="$sample"; fi
    if [ "$used" -ge "$budget_ticks" ]; then
      kill -INT "$pid" 2>/dev/null || true
      break
    fi
    sleep 2
  done
  wait "$pid" 2>/dev/null || true
  local executions new_units peak_rss corpus seeds crashes cpu_seconds rate
  executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  new_units="$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)"
  peak_rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)"
  corpus="$(find "$work" -type f | wc -l)"
  seeds="$(find "fuzz/corpus/$target" -type f | wc -l)"
  crashes="$(($(find "$artifacts" -type f | wc -l) - crashes_before))"
  cpu_seconds="$(awk -v u="$used" -v t="$ticks_per_second" 'BEGIN { printf "%.0f", u / t }')"
  rate="$(awk -v e="${executions:-0}" -v s="$cpu_seconds" 'BEGIN { printf "%.0f", (s > 0 ? e / s : 0) }')"
  printf '%-13s %12s %8ss %9s %7s+%-5s %6s %8s MB  %s\n' "$target" "${executions:-?}" "$cpu_seconds" "$rate" \
    "$seeds" "$corpus" "${new_units:-?}" "${peak_rss:-?}" \
    "$([ "$crashes" -gt 0 ] && echo "$crashes CRASH(ES): see $log, $artifacts/" || echo "no crash")" \
    >"$results/$target"
  echo "-- $target done ($cpu_seconds CPU-s)"
}

echo "== fuzzing ${targets[*]}: $cpu_minutes CPU-minutes each, $jobs at a time (logs in fuzz/work/<target>.log)"
running=0
for target in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  run_target "$target" &
  running=$((running + 1))
done
wait

echo
printf '%-13s %12s %9s %9s %13s %6s %11s  %s\n' target executions CPU exec/s "seeds+corpus" new "peak RSS" crashes
failed=0
for target in "${targets[@]}"; do
  cat "$results/$target"
  if grep -q CRASH "$results/$target"; then failed=1; fi
done
exit "$failed"
