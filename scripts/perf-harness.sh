#!/usr/bin/env bash
# The side-by-side performance harness (issue 16): the gateway's cached GetSale against bare tonic
# servers answering the same sale, its uncached GetSale against a direct HTTP call to the same
# simulator, and instruction counts of each under callgrind, with the issue's goals beside every
# figure. It measures and never gates: it exits 0 whatever the figures (non-zero only when it
# could not measure, e.g. a server answered errors).
#
#   scripts/perf-harness.sh [--smoke] [--reps N]
#
# --smoke: short runs and one repetition, for CI (well under a minute on top of the builds; its
# timed figures are only indicative, its instruction counts hardly less exact). --reps N:
# repetitions of the interleaved throughput and latency runs (default 5; --smoke sets 1 unless
# given). Needs Linux with taskset; valgrind, h2load (Debian's nghttp2-client) and jq are installed
# with apt-get when missing.
#
# The processes, all release builds, each reporting the port it bound (port 0):
#   - the standalone simulator (tco-simulator), the gateway's upstream: a process of its own
#     rather than the gateway's embedded one, so the gateway's instruction counts and CPU are the
#     gateway's alone, and the direct HTTP call of the uncached comparison hits the same server;
#   - the gateway (tco-gateway, default settings, cache TTL 1 h so every hit stays a hit);
#   - examples/bare_sale_server.rs twice: answering the gateway's own GetSale answer (fetched once
#     through it) as a message through tonic's prost codec, and as pre-encoded bytes;
#   - the load: h2load (throughput) and examples/grpc_load.rs (latency, checks, callgrind calls).
# With two cores or more, the server under test runs on one core and the load (with the
# simulator) on another, each pinned with taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

smoke=false
reps=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=true ;;
    --reps) reps="${2:?--reps needs a number}"; shift ;;
    -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "perf-harness: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if $smoke; then
  reps="${reps:-1}"
  seconds=1 warm_up=1 uncached_calls=100 hit_calls=20 fresh_calls=5 decode_calls=(2 12)
else
  reps="${reps:-5}"
  seconds=5 warm_up=1 uncached_calls=1000 hit_calls=200 fresh_calls=50 decode_calls=(10 110)
fi
# h2load's load: the same for every server.
connections=4 streams=8

target_dir="${CARGO_TARGET_DIR:-target}"
release="$target_dir/release"

# Debian packages: h2load from nghttp2-client, callgrind from valgrind, jq for cargo's JSON messages.
missing=()
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v callgrind_control >/dev/null || missing+=(valgrind)
command -v jq >/dev/null || missing+=(jq)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]}"
  sudo_if_needed=""
  if [ "$(id -u)" != 0 ]; then sudo_if_needed="sudo"; fi
  $sudo_if_needed apt-get install -y "${missing[@]}" >/dev/null 2>&1 ||
    { $sudo_if_needed apt-get update >/dev/null && $sudo_if_needed apt-get install -y "${missing[@]}" >/dev/null; }
fi
for tool in taskset valgrind callgrind_control h2load jq; do
  command -v "$tool" >/dev/null || { echo "perf-harness: $tool is missing" >&2; exit 1; }
done

echo "== building (release): the gateway, the simulator, the bare servers and the load generator"
work="$(mktemp -d /tmp/tco-perf.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# The gateway first, on its own, and copied aside: benches and examples enable the dev-dependencies'
# features (tokio's test-util among them) and relink target/release/tco-gateway with them, and the
# binary measured must be the one that ships.
cargo build --quiet --release --bin tco-gateway
gateway_bin="$work/tco-gateway"
cp "$release/tco-gateway" "$gateway_bin"
cargo build --quiet --release -p tco-simulator --bin tco-simulator
cargo build --quiet --release --example bare_sale_server --example grpc_load
# DECODE's bench (benches/decode_cost.rs): decodes and converts one detail_sale answer N times.
decode_bin=""
if cargo metadata --no-deps --format-version 1 | jq -e '.packages[].targets[] | select(.name == "decode_cost")' >/dev/null; then
  decode_bin="$(cargo bench --quiet --no-run --bench decode_cost --message-format=json |
    jq -r 'select(.reason == "compiler-artifact" and .target.name == "decode_cost") | .executable' | tail -1)"
else
  echo "(no benches/decode_cost.rs in this commit: the decode + convert rows are skipped)"
fi

if [ "$(nproc)" -ge 2 ]; then
  server_core=(taskset -c 1) load_core=(taskset -c 0)
else
  echo "(one core: nothing is pinned, the figures mix server and load)"
  server_core=() load_core=()
fi

# started NAME PATTERN SECONDS: waits for NAME's log to show PATTERN, then prints the port of the
# first 127.0.0.1:PORT on that line.
started() {
  local log="$work/$1.log" waited=0
  until grep -q "$2" "$log" 2>/dev/null; do
    if [ "$waited" -ge "$(($3 * 10))" ]; then
      echo "perf-harness: $1 did not report its port within $3 s; its log:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  grep -m1 "$2" "$log" | sed 's/\x1b\[[0-9;]*m//g' | grep -o '127\.0\.0\.1:[0-9]*' | head -1 | cut -d: -f2
}

# The standalone simulator, on the load's core (it only answers the uncached runs).
TCO_SIM_ADDR=127.0.0.1:0 RUST_LOG=warn,tco_simulator=info "${load_core[@]}" "$release/tco-simulator" >"$work/simulator.log" 2>&1 &
pids+=($!)
simulator_port="$(started simulator "simulator listening" 30)"
simulator_url="http://127.0.0.1:$simulator_port"

# The gateway as shipped (default settings and log filter), its upstream the simulator (with the
# simulator's documented default credentials), and nothing else from this shell's environment.
gateway_vars=(TCO_SERVER__LISTEN_ADDR=127.0.0.1:0 "TCO_ADMIN_API__BASE_URL=$simulator_url/api/"
  TCO_ADMIN_API__USERNAME=sim-api-user TCO_ADMIN_API__PASSWORD=sim-api-pass TCO_CACHE__TTL=1h)
env -i "PATH=$PATH" "${gateway_vars[@]}" "${server_core[@]}" "$gateway_bin" >"$work/gateway.log" 2>&1 &
pids+=($!)
gateway_port="$(started gateway "gRPC server listening" 30)"

load="$release/examples/grpc_load"
echo "== the gateway's answer, fetched once (the bare servers answer it)"
"$load" fetch --addr "127.0.0.1:$gateway_port" --response-out "$work/response.bin" --request-out "$work/request.bin"
for encoding in message bytes; do
  "${server_core[@]}" "$release/examples/bare_sale_server" --response "$work/response.bin" --encoding "$encoding" \
    >"$work/bare-$encoding.log" 2>&1 &
  pids+=($!)
done
bare_message_port="$(started bare-message "bare server listening" 30)"
bare_bytes_port="$(started bare-bytes "bare server listening" 30)"
for port in "$bare_message_port" "$bare_bytes_port"; do
  printf '%s' "bare server :$port: "
  "$load" check --addr "127.0.0.1:$port" --response "$work/response.bin"
done

# --- helpers for figures

# spread < numbers: "min median max" of one number a line.
spread() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a n/a n/a"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f %.3f %.3f\n", v[1], m, v[NR] }'
}

# verdict VALUE OP GOAL: PASS or MISS (n/a when VALUE is not a number).
verdict() {
  awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN {
    if (v !~ /^[-+]?[0-9.]+$/) { print "n/a"; exit }
    ok = (op == ">=") ? (v + 0 >= g + 0) : (v + 0 <= g + 0)
    print ok ? "PASS" : "MISS" }'
}

table=()
# row LABEL FIGURE MEDIAN OP GOAL [GOAL_TEXT]: a line of the final table, PASS or MISS first.
row() {
  local goal="${6:-$4 $5}"
  goal="${goal/>=/≥}"
  table+=("$(printf '%-4s  %s: %s (goal %s)' "$(verdict "$3" "$4" "$5")" "$1" "$2" "${goal/<=/≤}")")
}

# --- 1. throughput: h2load against each server in turn, interleaved, same load for each

# h2load_rate PORT: requests per second of one h2load run (checks that no answer was anything but
# a 2xx: in timed mode h2load may count a request in flight at the cut-off as done without status).
h2load_rate() {
  local out
  out="$("${load_core[@]}" h2load -t 1 -c "$connections" -m "$streams" -D "$seconds" --warm-up-time "$warm_up" \
    -d "$work/request.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$1/twocheckout.v1.SalesService/GetSale" 2>&1)"
  if ! grep -q '^requests: .* 0 failed, 0 errored, 0 timeout' <<<"$out" ||
    ! grep -q '^status codes: [1-9][0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx' <<<"$out"; then
    echo "perf-harness: h2load against :$1 did not get only 2xx answers:" >&2
    echo "$out" >&2
    exit 1
  fi
  sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out"
}

echo "== throughput: h2load -c $connections -m $streams, ${seconds} s (+${warm_up} s warm-up) per run, gateway hit / bare Sale / bare bytes interleaved, $reps repetition(s)"
: >"$work/ratio-message" && : >"$work/ratio-bytes"
for rep in $(seq 1 "$reps"); do
  hit="$(h2load_rate "$gateway_port")"
  bare_message="$(h2load_rate "$bare_message_port")"
  bare_bytes="$(h2load_rate "$bare_bytes_port")"
  awk -v h="$hit" -v m="$bare_message" 'BEGIN { printf "%.4f\n", h / m }' >>"$work/ratio-message"
  awk -v h="$hit" -v b="$bare_bytes" 'BEGIN { printf "%.4f\n", h / b }' >>"$work/ratio-bytes"
  printf '  rep %s: gateway hit %.0f/s, bare Sale %.0f/s, bare bytes %.0f/s\n' "$rep" "$hit" "$bare_message" "$bare_bytes"
done
read -r lo med hi < <(spread <"$work/ratio-message")
row "cached hit ÷ bare Sale server (throughput)" "$med ($lo–$hi)" "$med" ">=" 1.0
read -r lo med hi < <(spread <"$work/ratio-bytes")
row "cached hit ÷ bare bytes server (throughput)" "$med ($lo–$hi)" "$med" ">=" 0.85

# --- 2. uncached: GetSale with fresh through the gateway vs the same detail_sale straight to the simulator

echo "== uncached: $uncached_calls sequential calls each, gateway (fresh) and direct HTTP alternated, $reps repetition(s)"
"${load_core[@]}" "$load" uncached --gateway "127.0.0.1:$gateway_port" --simulator-url "$simulator_url" \
  --calls "$uncached_calls" --reps "$reps" | tee "$work/uncached.txt"
figure() { sed -n "s/^$1 //p" "$work/uncached.txt"; }
signed() { awk -v v="$1" 'BEGIN { printf "%+.1f", v }'; }
read -r lo med hi < <(figure uncached.added_p50_us)
row "uncached: added latency over direct HTTP, p50" "$(signed "$med") µs ($(signed "$lo") – $(signed "$hi"))" "$med" "<=" 100 "≤ +100 µs"
read -r lo med hi < <(figure uncached.added_p99_us)
row "uncached: added latency over direct HTTP, p99" "$(signed "$med") µs ($(signed "$lo") – $(signed "$hi"))" "$med" "<=" 200 "≤ +200 µs"

# --- 3. instruction counts under callgrind (deterministic: a noisy machine does not move them)

# events_in FILE: the instructions (Ir) a callgrind dump counted.
events_in() { sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$1" | head -1; }

# counted_calls NAME PORT COUNT [--fresh]: instructions NAME (running under callgrind) spent on
# COUNT sequential calls: counters zeroed after warm-up calls, dumped after the COUNT calls.
counted_calls() {
  local name="$1" port="$2" count="$3" pid
  shift 3
  pid="$(cat "$work/$name.pid")"
  "$load" calls --addr "127.0.0.1:$port" --count 10 "$@"
  callgrind_control -z "$pid" >/dev/null 2>&1
  "$load" calls --addr "127.0.0.1:$port" --count "$count" "$@"
  rm -f "$work/$name.cg".*
  callgrind_control -d "$pid" >/dev/null 2>&1
  local dump
  dump="$(ls -t "$work/$name.cg".* 2>/dev/null | head -1)"
  [ -n "$dump" ] || { echo "perf-harness: no callgrind dump from $name" >&2; exit 1; }
  awk -v i="$(events_in "$dump")" -v n="$count" 'BEGIN { printf "%.0f\n", i / n }'
}

# under_callgrind NAME PATTERN [VAR=VALUE...] -- COMMAND...: starts COMMAND under callgrind with
# only PATH and the VARs in its environment, its log in NAME.log; sets cg_port to the port it reports.
under_callgrind() {
  local name="$1" pattern="$2" vars=()
  shift 2
  while [ "$1" != "--" ]; do vars+=("$1"); shift; done
  shift
  env -i "PATH=$PATH" "${vars[@]}" valgrind --tool=callgrind --callgrind-out-file="$work/$name.cg" "$@" \
    >"$work/$name.log" 2>"$work/$name.valgrind" &
  pids+=($!)
  echo $! >"$work/$name.pid"
  cg_port="$(started "$name" "$pattern" 180)"
}

echo "== instruction counts (callgrind): $hit_calls cached hits, $fresh_calls uncached calls"
under_callgrind cg-gateway "gRPC server listening" "${gateway_vars[@]}" -- "$gateway_bin"
cg_gateway_port="$cg_port"
under_callgrind cg-bare "bare server listening" -- "$release/examples/bare_sale_server" \
  --response "$work/response.bin" --encoding message
cg_bare_port="$cg_port"
hit_ir="$(counted_calls cg-gateway "$cg_gateway_port" "$hit_calls")"
bare_ir="$(counted_calls cg-bare "$cg_bare_port" "$hit_calls")"
fresh_ir="$(counted_calls cg-gateway "$cg_gateway_port" "$fresh_calls" --fresh)"
hit_ratio="$(awk -v h="$hit_ir" -v b="$bare_ir" 'BEGIN { printf "%.3f", h / b }')"
echo "  gateway per cached hit $hit_ir, bare Sale server per call $bare_ir, gateway per uncached call $fresh_ir"
row "instructions per cached hit ÷ bare Sale server" "$hit_ratio ($hit_ir vs $bare_ir)" "$hit_ratio" "<=" 0.5
row "instructions per uncached call (gateway)" "$fresh_ir" "$fresh_ir" "<=" 400000 "≤ 400k"

if [ -n "$decode_bin" ]; then
  for format in json xml; do
    counts=()
    for n in "${decode_calls[@]}"; do
      valgrind --tool=callgrind --callgrind-out-file="$work/decode-$format-$n.cg" "$decode_bin" "$format" "$n" \
        >/dev/null 2>"$work/decode-$format-$n.valgrind"
      counts+=("$(events_in "$work/decode-$format-$n.cg")")
    done
    per_call="$(awk -v a="${counts[0]}" -v b="${counts[1]}" -v n1="${decode_calls[0]}" -v n2="${decode_calls[1]}" \
      'BEGIN { printf "%.0f", (b - a) / (n2 - n1) }')"
    echo "  decode + convert one detail_sale answer ($format): $per_call instructions"
    if [ "$format" = json ]; then goal=300000 goal_text="≤ 300k"; else goal=450000 goal_text="≤ 450k"; fi
    row "decode + convert one detail_sale answer, $format" "$per_call" "$per_call" "<=" "$goal" "$goal_text"
  done
else
  row "decode + convert one detail_sale answer, json" "skipped: no decode_cost bench" "n/a" "<=" 300000 "≤ 300k"
  row "decode + convert one detail_sale answer, xml" "skipped: no decode_cost bench" "n/a" "<=" 450000 "≤ 450k"
fi

echo
echo "== issue 16 figures ($(git rev-parse --short HEAD 2>/dev/null || echo '?')$($smoke && echo ', smoke: indicative only'); median (min–max) over $reps repetition(s))"
printf '%s\n' "${table[@]}"
