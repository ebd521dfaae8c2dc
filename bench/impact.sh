#!/usr/bin/env bash
# Impact analysis benchmark: `policies diff` over a generated state (bench/scale.sh's generator)
# of CLIENTS client accounts with USERS standard users each, a super admin, and two partner users
# where the client's partner is not of tier "other" (4 partners in 5): the defaults give 105,000
# accounts and 1,008,000 client users (memberships), against every check action, between the project's policies and a copy where partner
# admins lose the `reports.access` of their list and standard users gain `billing.edit`. Prints
# the wall time and the peak resident memory (`/usr/bin/time -v`) of the whole command: reading
# and validating the state document, loading both sets, the analysis and the report.
#
#   bench/impact.sh
#   CLIENTS=20000 bench/impact.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-105000}
PARTNERS=${PARTNERS:-200}
USERS=${USERS:-7}
FORMAT=${FORMAT:-text}
# FULL=1: decide every membership on its own (no shared cases), to see what they save.
FULL=${FULL:-0}
# CHANGE=forbid-all: the change is a forbid of everything instead (every check action changes).
CHANGE=${CHANGE:-two-permits}

cargo build --release --quiet --bin partner-access --example gen_state
bin=${CARGO_TARGET_DIR:-target}/release

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin/examples/gen_state" "$CLIENTS" "$PARTNERS" "$USERS" > "$work/state.json"
mkdir -p "$work/after"
cp -r policies schema "$work/after/"
reports='principal.getTag(resource.key).permissions.contains("reports.access")'
billing='principal.getTag(resource.key).permissions.contains("billing.edit")'
sed -i \
  -e "s|$reports|$reports \&\& principal.getTag(resource.key).role != \"partner_admin\"|" \
  -e "s|$billing|($billing \|\| principal.getTag(resource.key).role == \"standard\")|" \
  "$work/after/policies/capabilities.cedar"
if [ "$CHANGE" = forbid-all ]; then
  cp policies/capabilities.cedar "$work/after/policies/"
  printf '@id("forbid-all")\nforbid (principal, action, resource);\n' > "$work/after/policies/zz.cedar"
fi

extra=()
[ "$FULL" = 1 ] && extra+=(--no-shared-cases)
/usr/bin/time -v "$bin/partner-access" policies diff --from . --to "$work/after" \
  --state "$work/state.json" --format "$FORMAT" "${extra[@]}" >"$work/report" 2>"$work/time"

head -n 20 "$work/report"
echo "---"
echo "state: $CLIENTS client accounts, $(awk '/memberships/ {print $1; exit}' "$work/report") client users, $PARTNERS partners ($(du -m "$work/state.json" | cut -f1) MiB of JSON); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk -F': ' '/Elapsed \(wall clock\)/ { print "wall time            " $2 }
            /Maximum resident set size/ { printf "peak RSS             %.0f MiB\n", $2 / 1024 }
            /User time/ { print "user time            " $2 " s" }' "$work/time"
