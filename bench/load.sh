#!/usr/bin/env bash
# Load benchmark: the sidecar against a bare axum + serde_json echo server (the HTTP ceiling),
# driven the same way by wrk on loopback, in the same run. Prints req/s, p50/p99 latency and
# server CPU microseconds per request for each, and the ratio of the throughputs: absolute
# numbers drift on shared machines, the ratio does not. Then durable commands at the same
# concurrency (bench/command.lua: every answer is a committed, fsynced change).
#
# Then batches of 1,000 checks (bench/batch.lua): one principal and account, and 1,000
# principals; their decisions/s is the request rate times 1,000.
#
#   bench/load.sh                      # defaults below
#   DURATION=20 CONNECTIONS=64 CLIENTS=10000 bench/load.sh
#   SIDECAR=/tmp/partner-access-before bench/load.sh   # another build of the sidecar
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}       # seconds per run
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}          # wrk threads
CLIENTS=${CLIENTS:-2000}       # client accounts in the generated state
PARTNERS=${PARTNERS:-20}
USERS=${USERS:-5}              # standard users per client
PORT=${PORT:-18198}
ECHO_PORT=${ECHO_PORT:-18199}
export CLIENTS PARTNERS

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet --bin partner-access --example echo_server --example gen_state
SIDECAR=${SIDECAR:-./target/release/partner-access}

work=$(mktemp -d)
cleanup() { kill "${server:-}" "${echo_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

./target/release/examples/gen_state "$CLIENTS" "$PARTNERS" "$USERS" > "$work/state.json"
"$SIDECAR" import "$work/state.json" --data "$work/data" >/dev/null

wait_for() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "server at $1 did not start" >&2
  exit 1
}

# CPU time (user + system) of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# Runs wrk against a URL and a pid; prints one summary line.
measure() {
  local name=$1 url=$2 pid=$3 script=${4:-bench/check.lua}
  local before after out rps p50 p99 requests cpu_us
  before=$(cpu_ticks "$pid")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "$url")
  after=$(cpu_ticks "$pid")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu_us=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$requests" \
    'BEGIN { printf "%.1f", (t / hz) * 1e6 / n }')
  errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
  printf '%-10s %10s req/s   p50 %8s   p99 %8s   server CPU %6s us/req %s\n' \
    "$name" "$rps" "$p50" "$p99" "$cpu_us" "${errors:+  ($errors)}"
  echo "$rps" > "$work/$name.rps"
}

"$SIDECAR" serve --data "$work/data" --listen "127.0.0.1:$PORT" \
  --log-format json >"$work/sidecar.log" 2>&1 &
server=$!
wait_for "http://127.0.0.1:$PORT/readyz"

./target/release/examples/echo_server "$ECHO_PORT" >/dev/null 2>&1 &
echo_pid=$!
wait_for "http://127.0.0.1:$ECHO_PORT/"

echo "state: $CLIENTS clients, $PARTNERS partners; wrk: $THREADS threads, $CONNECTIONS connections, ${DURATION}s; $(nproc) cores"
measure sidecar "http://127.0.0.1:$PORT" "$server"
measure echo "http://127.0.0.1:$ECHO_PORT" "$echo_pid"
awk -v a="$(cat "$work/sidecar.rps")" -v b="$(cat "$work/echo.rps")" \
  'BEGIN { printf "ratio      sidecar/echo throughput = %.2f\n", a / b }'
measure commands "http://127.0.0.1:$PORT" "$server" bench/command.lua
for batch in same many; do
  export BATCH=$batch
  measure "batch_$batch" "http://127.0.0.1:$PORT" "$server" bench/batch.lua
  awk -v r="$(cat "$work/batch_$batch.rps")" -v b="$batch" \
    'BEGIN { printf "           batch %-4s = %.0f decisions/s\n", b, r * 1000 }'
done
