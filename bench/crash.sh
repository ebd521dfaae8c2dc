#!/usr/bin/env bash
# Crash durability, long mode: builds in release and runs tests/crash.rs with many kill -9s
# (CI runs the same test in debug with 20). Prints the number of kills, the acknowledged
# commands checked, the refusals by MIG-4 / SEAT-5 and the result.
#
#   bench/crash.sh                     # 500 kills
#   CRASH_KILLS=2000 CRASH_WRITERS=16 bench/crash.sh
#   CRASH_SEED=1234 bench/crash.sh     # replay a run's random choices (timing still varies)
set -euo pipefail
cd "$(dirname "$0")/.."

export CRASH_KILLS=${CRASH_KILLS:-500}
cargo test --release --test crash --no-run
# The server runs from a private copy: a build elsewhere into the same target directory (a
# second checkout, a worktree) replaces target/release/partner-access while the run goes on.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp target/release/partner-access "$work/partner-access"
CRASH_BIN="$work/partner-access" cargo test --release --test crash -- --nocapture
