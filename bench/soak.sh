#!/usr/bin/env bash
# Soak: the release sidecar, in its own process on loopback, under 64 concurrent clients for
# SOAK_SECS seconds (after a warm-up): 95% checks, 5% commands (applied and refused ones), on a
# generated state larger than the check-path cache. It is `tests/soak.rs` in a release build
# with a long duration; the test asserts no 5xx, no invariant violated (MIG-4, SEAT-5, the
# audit log matching the answers, checks the rules fix) and server RSS growth under 10%
# between the first and the last 20 s. Prints requests, 5xx, commands applied/refused, RSS at
# start / first 20 s / last 20 s and the growth.
#
#   bench/soak.sh                       # 60 s
#   SOAK_SECS=300 SOAK_CLIENTS=128 bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export SOAK_SECS=${SOAK_SECS:-60}
if [ "$SOAK_SECS" -lt 60 ]; then
  echo "SOAK_SECS=$SOAK_SECS: the full soak runs 60 s or more" >&2
  exit 2
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "building (release) and soaking for ${SOAK_SECS} s on $(nproc) cores..." >&2
set +e
cargo test --release --test soak -- --nocapture >"$out" 2>&1
status=$?
set -e
grep -E '^soak: ' "$out" | sed 's/^soak: //'
if [ "$status" -ne 0 ]; then
  grep -E -A40 'panicked|^error' "$out" >&2 || tail -40 "$out" >&2
  echo "soak FAILED" >&2
else
  echo "soak passed"
fi
exit "$status"
