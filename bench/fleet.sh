#!/usr/bin/env bash
# Fleet benchmark: two release sidecars on one throwaway PostgreSQL database (started here),
# driven at the same time by wrk on loopback. Prints, per sidecar and in total, checks and
# durable commands per second with p50/p99 latency, then the staleness: how long after a
# command commits through sidecar A a plain check on sidecar B answers the new state
# (ROUNDS rounds; the bound is --max-staleness-ms, 1000 by default; the feed is read every
# --follow-interval-ms, 100 by default).
#
#   bench/fleet.sh                     # defaults below
#   DURATION=20 CONNECTIONS=32 CLIENTS=10000 bench/fleet.sh
#   PA_BIN=/tmp/older/partner-access bench/fleet.sh   # another build (before/after figures)
#
# Commands: each sidecar's wrk cycles through the clients, B starting half-way round (commands
# on different client accounts, as a fleet's hosts send them); SAME_CLIENTS=1 starts both at
# the same client, so the two sidecars' commands meet on one account at every step.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}       # seconds per run
CONNECTIONS=${CONNECTIONS:-32} # per sidecar
THREADS=${THREADS:-1}          # wrk threads per sidecar
CLIENTS=${CLIENTS:-2000}
PARTNERS=${PARTNERS:-20}
USERS=${USERS:-5}
ROUNDS=${ROUNDS:-20}
PORT_A=${PORT_A:-18196}
PORT_B=${PORT_B:-18197}
SAME_CLIENTS=${SAME_CLIENTS:-0}
PA_BIN=${PA_BIN:-./target/release/partner-access}
export CLIENTS PARTNERS

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet --bin partner-access --example gen_state

work=$(mktemp -d)
pg_dir=/tmp/partner-access-pg-bench-$$
pg_url=$(.ci/start-postgres "$pg_dir")
cleanup() {
  kill "${a:-}" "${b:-}" 2>/dev/null || true
  .ci/start-postgres --stop "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT

./target/release/examples/gen_state "$CLIENTS" "$PARTNERS" "$USERS" > "$work/state.json"
"$PA_BIN" import "$work/state.json" --store "$pg_url" >/dev/null

wait_for() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "server at $1 did not start" >&2
  exit 1
}

"$PA_BIN" serve --store "$pg_url" --listen "127.0.0.1:$PORT_A" \
  --log-format json >"$work/a.log" 2>&1 &
a=$!
"$PA_BIN" serve --store "$pg_url" --listen "127.0.0.1:$PORT_B" \
  --log-format json >"$work/b.log" 2>&1 &
b=$!
wait_for "http://127.0.0.1:$PORT_A/readyz"
wait_for "http://127.0.0.1:$PORT_B/readyz"

# wrk on both sidecars at once; prints a line per sidecar and the total.
both() {
  local name=$1 script=$2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" \
    "http://127.0.0.1:$PORT_A" >"$work/wrk-a" &
  local wa=$!
  local offset=$((CLIENTS / 2))
  [ "$SAME_CLIENTS" = 1 ] && offset=0
  OFFSET=$offset wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" \
    "http://127.0.0.1:$PORT_B" >"$work/wrk-b"
  wait "$wa"
  for side in a b; do
    awk -v n="$name" -v s="$side" '
      /^Requests\/sec:/ {rps = $2} $1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2}
      /Non-2xx|Socket errors/ {err = err " (" $0 ")"}
      END {printf "%-9s sidecar %s %10s req/s   p50 %8s   p99 %8s%s\n", n, s, rps, p50, p99, err}' \
      "$work/wrk-$side"
  done
  awk '/^Requests\/sec:/ {t += $2} END {printf "%-9s total     %10.0f req/s\n", "'"$name"'", t}' \
    "$work/wrk-a" "$work/wrk-b"
}

# Warm both caches (not measured): the figures are of sidecars in their steady state.
for port in "$PORT_A" "$PORT_B"; do
  wrk -t1 -c8 -d3s -s bench/check.lua "http://127.0.0.1:$port" >/dev/null
done

echo "state: $CLIENTS clients, $PARTNERS partners on PostgreSQL; 2 sidecars; wrk: $THREADS thread(s), $CONNECTIONS connections each, ${DURATION}s; $(nproc) cores"
both checks bench/check.lua
both commands bench/command.lua

# Staleness: a seat change on A (a paid Sales seat, or back to core), then B polled until its
# plain check of the paid Sales features (SEAT-9) agrees.
decide() {
  curl -s "http://127.0.0.1:$PORT_B/v1/is_authorized" -H 'content-type: application/json' \
    -d '{"principal":{"type":"Hub::User","id":"user0@c0.example"},"action":"sales_hub.paid_features","resource":{"type":"Hub::Account","id":"c0"}}' \
    | sed -E 's/.*"decision":"([A-Za-z]+)".*/\1/'
}
samples=()
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then seat=sales_paid; want=Allow; else seat=core; want=Deny; fi
  curl -s -o /dev/null -X PUT "http://127.0.0.1:$PORT_A/v1/clients/c0/users/user0@c0.example/seat" \
    -H 'content-type: application/json' -d "{\"actor\":\"owner@c0.example\",\"seat\":\"$seat\"}"
  start=$(date +%s%N)
  while [ "$(decide)" != "$want" ]; do
    if [ $(( ($(date +%s%N) - start) / 1000000 )) -gt 5000 ]; then echo "B never agreed" >&2; exit 1; fi
  done
  samples+=($(( ($(date +%s%N) - start) / 1000000 )))
done
printf '%s\n' "${samples[@]}" | sort -n | awk '{v[NR] = $1} END {
  printf "staleness (commit on A to a plain check on B agreeing, %d rounds): median %d ms, max %d ms\n",
    NR, v[int((NR + 1) / 2)], v[NR]}'
