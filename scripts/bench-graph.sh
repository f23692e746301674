#!/usr/bin/env bash
# Graph security incidents page next to the Defender API's, side by side in one run:
# `palisade serve --demo --no-quotas`, the demo app granted SecurityIncident.Read.All on
# Microsoft Graph (through `palisade admin grant --resource "Microsoft Graph"`), then
#   GET /api/incidents?$top=100              (Defender API, Defender token)
#   GET /v1.0/security/incidents?$top=100    (Graph, Graph token: no alerts, as Graph lists)
#   GET /v1.0/security/incidents?$top=100&$expand=alerts   (Graph with the alerts and their
#       evidence: the same content as the Defender page, the like-for-like line)
# with crates/palisade/examples/load.rs, CONC connections, SECONDS_EACH seconds each, in
# the order Defender, Graph, Graph+alerts, then again (the best of each pair is reported).
# Both pages must hold the same 100 incidents in the same order with the same status,
# severity and assignee (mapped per defender-api.md §12.4), or the script fails instead
# of printing a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${SECONDS_EACH:-10}
CONC=${CONC:-16}
# PROFILE=debug only checks the script itself (its absolute numbers mean little).
PROFILE=${PROFILE:-release}
FLAG=$([ "$PROFILE" = release ] && echo --release || true)
cargo build $FLAG -q -p palisade --bin palisade --example load
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/$PROFILE/palisade
LOAD=$TARGET/$PROFILE/examples/load
DATA=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
field() { sed -n "s/.*[ ^]$1=\([0-9.]*\).*/\1/p" | head -1; }

$BIN serve --demo --no-quotas --data-dir "$DATA" --listen 127.0.0.1:0 > "$DATA/serve.log" 2>&1 &
SERVER=$!; PIDS+=($SERVER)
for _ in $(seq 300); do grep -q "Hello world" "$DATA/serve.log" && break; sleep 0.2; done
BASE=$(grep -o 'https://localhost:[0-9]*' "$DATA/serve.log" | head -1)
CA="$DATA/ca.pem"
read -r TID CID SECRET < <(python3 -c "import json;d=json.load(open('$DATA/demo-credentials.json'));print(d['tenant_id'],d['client_id'],d['client_secret'])")
$BIN admin --server "$BASE" --ca-file "$CA" --data-dir "$DATA" --tenant "$TID" grant "$CID" --resource "Microsoft Graph" SecurityIncident.Read.All > /dev/null
token() { curl -sf --cacert "$CA" --data "grant_type=client_credentials&client_id=$CID&client_secret=$SECRET&resource=$1" "$BASE/$TID/oauth2/token" | python3 -c 'import sys,json;print(json.load(sys.stdin)["access_token"])'; }
DEF_TOKEN=$(token https%3A%2F%2Fapi.security.microsoft.com)
GRAPH_TOKEN=$(token https%3A%2F%2Fgraph.microsoft.com)
DEF_URL="$BASE/api/incidents?\$top=100"
GRAPH_URL="$BASE/v1.0/security/incidents?\$top=100"
EXPAND_URL="$BASE/v1.0/security/incidents?\$top=100&\$expand=alerts"
curl -sf --cacert "$CA" -H "Authorization: Bearer $DEF_TOKEN" "$DEF_URL" > "$DATA/defender.json"
curl -sf --cacert "$CA" -H "Authorization: Bearer $GRAPH_TOKEN" "$GRAPH_URL" > "$DATA/graph.json"
curl -sf --cacert "$CA" -H "Authorization: Bearer $GRAPH_TOKEN" "$EXPAND_URL" > "$DATA/expand.json"
python3 - "$DATA/defender.json" "$DATA/graph.json" "$DATA/expand.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["value"]; g = json.load(open(sys.argv[2]))["value"]; e = json.load(open(sys.argv[3]))["value"]
status = {"Active": "active", "InProgress": "inProgress", "Resolved": "resolved", "Redirected": "redirected"}
sev = {"UnSpecified": "unknown", "Informational": "informational", "Low": "low", "Medium": "medium", "High": "high"}
def key_d(i): return (str(i["incidentId"]), status[i["status"]], sev[i["severity"]], i["assignedTo"], i["tags"])
def key_g(i): return (i["id"], i["status"], i["severity"], i["assignedTo"], i["customTags"])
if len(d) != 100 or [key_d(i) for i in d] != [key_g(i) for i in g] or [key_d(i) for i in d] != [key_g(i) for i in e]:
    sys.exit("the Defender and Graph pages disagree: no ratio")
if [[a["alertId"] for a in i["alerts"]] for i in d] != [[a["id"] for a in i["alerts"]] for i in e]:
    sys.exit("the Defender and Graph pages carry different alerts: no ratio")
print(f"pages agree: 100 incidents, same alerts; Defender {len(json.dumps(d))//1024} KB, Graph {len(json.dumps(g))//1024} KB, Graph+alerts {len(json.dumps(e))//1024} KB")
PY
run() { $LOAD get --url "$1" --bearer "$2" --ca "$CA" --seconds "$SECONDS_EACH" --concurrency "$CONC"; }
best() { python3 -c "import sys;print(max(float(x) for x in sys.argv[1:]))" "$@"; }
D1=$(run "$DEF_URL" "$DEF_TOKEN"); echo "defender:     $D1"
G1=$(run "$GRAPH_URL" "$GRAPH_TOKEN"); echo "graph:        $G1"
E1=$(run "$EXPAND_URL" "$GRAPH_TOKEN"); echo "graph+alerts: $E1"
D2=$(run "$DEF_URL" "$DEF_TOKEN"); echo "defender:     $D2"
G2=$(run "$GRAPH_URL" "$GRAPH_TOKEN"); echo "graph:        $G2"
E2=$(run "$EXPAND_URL" "$GRAPH_TOKEN"); echo "graph+alerts: $E2"
DR=$(best "$(echo "$D1" | field rps)" "$(echo "$D2" | field rps)")
GR=$(best "$(echo "$G1" | field rps)" "$(echo "$G2" | field rps)")
ER=$(best "$(echo "$E1" | field rps)" "$(echo "$E2" | field rps)")
python3 - "$DR" "$GR" "$CONC" "$SECONDS_EACH" "$PROFILE" "$ER" <<'PY'
import sys
d, g, conc, secs, profile, e = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6])
print(f"\n## bench-graph: {conc} connections, {secs} s per run, {profile} build, best of two\n")
print("| page | rps | ratio |\n|---|---|---|")
print(f"| `GET /api/incidents?$top=100` (Defender API) | {d:.0f} /s | 1.00 |")
print(f"| `GET /v1.0/security/incidents?$top=100&$expand=alerts` (Graph, same content) | {e:.0f} /s | **{e/d:.2f}** |")
print(f"| `GET /v1.0/security/incidents?$top=100` (Graph, no alerts) | {g:.0f} /s | {g/d:.2f} |")
PY
