#!/usr/bin/env bash
# Property-based fuzzing (proptest, stable Rust) of the KQL front end (palisade-kql: lexer,
# parser, binder, explain, value round trips), the OData $filter parser, incident PATCH
# and hunting bodies and bearer JWTs (palisade-defender), token request forms
# (palisade-authority) and admin JSON (palisade-admin). The targets are ordinary tests, so
# `cargo test` (and CI) runs them at scale 1 (23,700 cases). Parser targets run
# cases x scale, whole-router targets cases x scale / 10.
#   scripts/fuzz.sh              scale 1, release build
#   scripts/fuzz.sh --long       scale 1000: about 19 M executions; fails below 10 M
#   PALISADE_FUZZ_SCALE=N scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${PALISADE_FUZZ_SCALE:-1}
MIN=0
if [ "${1:-}" = "--long" ]; then SCALE=${PALISADE_FUZZ_SCALE:-1000}; MIN=10000000; fi
LOG=$(mktemp)
START=$(date +%s)
PALISADE_FUZZ_SCALE=$SCALE cargo test --release -q -p palisade-kql -p palisade-defender -p palisade-authority -p palisade-admin \
  --test fuzz -- --nocapture --test-threads 2 2>&1 | tee "$LOG"
TOTAL=$(grep -o 'fuzz-count [a-z-]* [0-9]*' "$LOG" | awk '{s += $3} END {print s + 0}')
echo "fuzz: $TOTAL executions in $(( $(date +%s) - START )) s at scale $SCALE, 0 panics"
grep -o 'fuzz-count [a-z-]* [0-9]*' "$LOG" | sort
if [ "$TOTAL" -lt "$MIN" ]; then echo "fewer than $MIN executions" >&2; exit 1; fi
