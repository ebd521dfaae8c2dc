#!/usr/bin/env bash
# Scale benchmark: a generated state of CLIENTS client accounts with USERS standard users each
# (plus a super admin and two partner users: CLIENTS * (USERS + 3) client users; the defaults
# give 100,000 accounts and 1,000,000 client users). Prints the import time, the disk size, the
# startup time of the sidecar on the existing store, its resident memory, and the check
# throughput under wrk against the same measurement on a small state in the same run.
#
#   bench/scale.sh
#   CLIENTS=20000 USERS=7 DURATION=10 bench/scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-100000}
PARTNERS=${PARTNERS:-200}
USERS=${USERS:-7}
SMALL_CLIENTS=${SMALL_CLIENTS:-2000}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18197}

if ! command -v wrk >/dev/null; then
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet --bin partner-access --example gen_state

work=$(mktemp -d)
cleanup() { kill "${server:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# Starts the sidecar on a data directory; sets `server` (its pid) and `startup` (seconds until
# /readyz answered 200). Not run in a subshell, so the variables stay set.
start() {
  local t0
  t0=$(now)
  ./target/release/partner-access serve --data "$1" --listen "127.0.0.1:$PORT" \
    --log-format json >"$work/sidecar.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; then
      startup=$(elapsed "$t0" "$(now)")
      return 0
    fi
    sleep 0.01
  done
  echo "the sidecar did not become ready" >&2
  exit 1
}

stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=; }

# Checks per second under wrk (bench/check.lua cycles through SMALL_CLIENTS clients, spread
# evenly over the state: the same working set on both states, so the comparison shows what the
# state's size costs a lookup).
throughput() {
  CLIENTS=$SMALL_CLIENTS STRIDE=$(( $1 / SMALL_CLIENTS )) PARTNERS=$PARTNERS wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/check.lua \
    "http://127.0.0.1:$PORT" | awk '/^Requests\/sec:/ {print $2}'
}

# The small state first: the reference throughput.
./target/release/examples/gen_state "$SMALL_CLIENTS" "$PARTNERS" "$USERS" > "$work/small.json"
./target/release/partner-access import "$work/small.json" --data "$work/small" >/dev/null
start "$work/small"
small_rps=$(throughput "$SMALL_CLIENTS")
stop

t0=$(now)
./target/release/examples/gen_state "$CLIENTS" "$PARTNERS" "$USERS" > "$work/big.json"
generated=$(elapsed "$t0" "$(now)")
t0=$(now)
/usr/bin/time -f '%M' -o "$work/import.rss" \
  ./target/release/partner-access import "$work/big.json" --data "$work/big" >/dev/null
imported=$(elapsed "$t0" "$(now)")
disk=$(du -sm "$work/big" | cut -f1)
json=$(du -sm "$work/big.json" | cut -f1)

start "$work/big"
rss_start=$(rss_mib "$server")
big_rps=$(throughput "$CLIENTS")
rss_after=$(rss_mib "$server")
stop

echo "state: $CLIENTS client accounts, $((CLIENTS * (USERS + 3))) client users, $PARTNERS partners; $(nproc) cores"
echo "generate JSON        ${generated} s ($json MiB)"
echo "import               ${imported} s (peak RSS $(( $(cat "$work/import.rss") / 1024 )) MiB)"
echo "disk                 $disk MiB"
echo "startup to ready     ${startup} s"
echo "resident memory      ${rss_start} MiB at start, ${rss_after} MiB after ${DURATION}s of checks"
echo "checks, small state  $small_rps req/s ($SMALL_CLIENTS clients)"
echo "checks, this state   $big_rps req/s"
awk -v a="$big_rps" -v b="$small_rps" 'BEGIN { printf "ratio                %.2f of the small-state throughput\n", a / b }'
