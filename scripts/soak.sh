#!/usr/bin/env bash
# Soak: `palisade serve --demo --no-quotas` under a mix of token (20 %), incident list
# (30 %), get (25 %), PATCH (15 %) and hunting (10 %) requests at 80 % of the peak rate
# measured first with the same mix; 0 errors required; the server's resident memory is
# sampled every second and reported (the long run fails if it grows by more than 10 %
# plus 8 MB from the first to the last quarter); p99 reported per operation.
#   scripts/soak.sh           20 s after a 5 s peak measurement (debug build; CI)
#   scripts/soak.sh --long    10 minutes after a 20 s peak measurement (release build)
#   PROFILE=debug|release picks the build either way.
set -euo pipefail
cd "$(dirname "$0")/.."
LONG=0
[ "${1:-}" = "--long" ] && LONG=1
TARGET=${CARGO_TARGET_DIR:-target}
if ((LONG)); then
  PROFILE=${PROFILE:-release}; SOAK_SECONDS=${SOAK_SECONDS:-600}; PEAK_SECONDS=20
else
  PROFILE=${PROFILE:-debug}; SOAK_SECONDS=${SOAK_SECONDS:-20}; PEAK_SECONDS=5
fi
if [ "$PROFILE" = release ]; then
  cargo build --release -q -p palisade --bin palisade --example load
else
  cargo build -q -p palisade --bin palisade --example load
fi
BIN=$TARGET/$PROFILE/palisade
LOAD=$TARGET/$PROFILE/examples/load
DATA=$(mktemp -d)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
$BIN serve --demo --no-quotas --data-dir "$DATA" --listen 127.0.0.1:0 > "$DATA/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 600); do grep -q "Hello world" "$DATA/serve.log" && break; sleep 0.2; done
grep -q "Hello world" "$DATA/serve.log" || { cat "$DATA/serve.log"; echo "server did not start" >&2; exit 1; }
BASE=$(grep -o 'https://localhost:[0-9]*' "$DATA/serve.log" | head -1)
read -r TID CID SECRET < <(python3 -c "import json;d=json.load(open('$DATA/demo-credentials.json'));print(d['tenant_id'],d['client_id'],d['client_secret'])")
FORM="grant_type=client_credentials&client_id=$CID&client_secret=$SECRET&resource=https%3A%2F%2Fapi.security.microsoft.com"
ARGS=(mix --base "$BASE" --tenant "$TID" --form "$FORM" --ca "$DATA/ca.pem")

echo "== peak: closed loop, 16 connections, ${PEAK_SECONDS}s"
PEAK_OUT=$($LOAD "${ARGS[@]}" --seconds "$PEAK_SECONDS" --concurrency 16)
echo "$PEAK_OUT"
PEAK=$(echo "$PEAK_OUT" | grep '^requests=' | sed 's/.* rps=\([0-9]*\).*/\1/')
RATE=$(python3 -c "print(max(1, round($PEAK * 0.8)))")
echo "== soak: ${RATE} requests/s (80 % of ${PEAK}), 32 connections, ${SOAK_SECONDS}s, RSS of pid $SERVER sampled every second"
OUT=$($LOAD "${ARGS[@]}" --seconds "$SOAK_SECONDS" --concurrency 32 --rate "$RATE" --pid "$SERVER")
echo "$OUT"
python3 - "$LONG" <<PY
import re, sys
out = """$OUT"""
long = sys.argv[1] == "1"
total = re.search(r"^requests=(\d+) errors=(\d+).*rps=(\d+) p50_ms=([\d.]+) p99_ms=([\d.]+)", out, re.M)
errors = int(total.group(2))
samples = [float(x) for x in re.search(r"rss_mb_samples=([\d,]+)", out).group(1).split(",")]
q = max(1, len(samples) // 4)
first, last = sum(samples[:q]) / q, sum(samples[-q:]) / q
flat = last <= first * 1.10 + 8
print(f"soak: {total.group(1)} requests, {errors} errors, {total.group(3)} rps, p99 {total.group(5)} ms; "
      f"RSS first quarter {first:.0f} MB, last quarter {last:.0f} MB, max {max(samples):.0f} MB: "
      f"{'flat' if flat else 'GROWING'}{'' if long else ' (short run: warm-up included, judged only with --long)'}")
if errors:
    sys.exit("soak failed: errors")
if long and not flat:
    sys.exit("soak failed: resident memory grew")
PY
