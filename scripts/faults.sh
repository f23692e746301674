#!/usr/bin/env bash
# Fault scripts. Short by default (CI runs this); `--long` is the full run.
#   scripts/faults.sh          crash safety with 3 SIGKILLs, soak for 20 s (debug build)
#   scripts/faults.sh --long   crash safety with 100 SIGKILLs, soak for 10 minutes (release)
# Crash safety (scripts/faults/crash.py): SIGKILL `palisade serve` while clients write
# (incident PATCHes with comments, admin writes, secret rotations, key rotations, hunting
# ingest through the CLI); after each restart every acknowledged write is there exactly
# once, nothing twice, and PRAGMA integrity_check / foreign_key_check pass.
# Soak (scripts/soak.sh): token, list, get, PATCH and hunting at 80 % of the measured peak,
# 0 errors, resident memory sampled every second, p99 reported.
# SIGTERM draining is a Rust integration test (crates/palisade/tests/it/hardening.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
LONG=0
[ "${1:-}" = "--long" ] && LONG=1
if ((LONG)); then
  cargo build --release -q -p palisade --bin palisade
  BIN=${CARGO_TARGET_DIR:-target}/release/palisade
  KILLS=${KILLS:-100}
else
  cargo build -q -p palisade --bin palisade
  BIN=${CARGO_TARGET_DIR:-target}/debug/palisade
  KILLS=${KILLS:-3}
fi
python3 scripts/faults/crash.py --bin "$BIN" --kills "$KILLS"
if ((LONG)); then bash scripts/soak.sh --long; else bash scripts/soak.sh; fi
