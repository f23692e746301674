#!/usr/bin/env bash
# Load benchmarks, side by side in one run on this machine (release build):
#   1. raw RSA-2048 RS256 signatures per second (2 threads: the machine's cores);
#   2. client-credentials tokens per second from a running `palisade serve`;
#   3. GET /api/incidents?$top=100 per second with token validation;
#   4. the same response body from a bare axum handler behind the same TLS.
# Server and load generator share the machine's 2 cores; every target is on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${SECONDS_EACH:-10}
CONC=${CONC:-16}
cargo build --release -q -p palisade --bin palisade --example load
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/palisade
LOAD=$TARGET/release/examples/load
DATA=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DATA"' EXIT

$BIN serve --demo --no-quotas --data-dir "$DATA" --listen 127.0.0.1:0 > "$DATA/serve.log" 2>&1 &
for _ in $(seq 100); do grep -q "Hello world" "$DATA/serve.log" && break; sleep 0.2; done
BASE=$(grep -o 'https://localhost:[0-9]*' "$DATA/serve.log" | head -1)
CA="$DATA/ca.pem"
read -r TID CID SECRET < <(python3 -c "import json;d=json.load(open('$DATA/demo-credentials.json'));print(d['tenant_id'],d['client_id'],d['client_secret'])")
FORM="grant_type=client_credentials&client_id=$CID&client_secret=$SECRET&resource=https%3A%2F%2Fapi.security.microsoft.com"
TOKEN=$(curl -s --cacert "$CA" --data "$FORM" "$BASE/$TID/oauth2/token" | python3 -c 'import sys,json;print(json.load(sys.stdin)["access_token"])')
curl -s --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE/api/incidents?\$top=100" > "$DATA/body.json"
echo "incidents page: $(wc -c < "$DATA/body.json") bytes"

echo "== raw RSA-2048 signatures";            $LOAD rsa --seconds "$SECONDS_EACH" --threads 2
echo "== client-credentials tokens";          $LOAD tokens --url "$BASE/$TID/oauth2/token" --form "$FORM" --ca "$CA" --seconds "$SECONDS_EACH" --concurrency "$CONC"
echo "== GET /api/incidents?\$top=100";        $LOAD get --url "$BASE/api/incidents?\$top=100" --bearer "$TOKEN" --ca "$CA" --seconds "$SECONDS_EACH" --concurrency "$CONC"
kill %1; wait %1 2>/dev/null || true
$LOAD serve-bare --data-dir "$DATA" --body "$DATA/body.json" > "$DATA/bare.log" 2>&1 &
for _ in $(seq 50); do grep -q listening "$DATA/bare.log" && break; sleep 0.1; done
BARE=$(grep -o 'https://localhost:[0-9]*' "$DATA/bare.log")
echo "== bare axum handler, same body";        $LOAD get --url "$BARE/api/incidents" --ca "$CA" --seconds "$SECONDS_EACH" --concurrency "$CONC"
