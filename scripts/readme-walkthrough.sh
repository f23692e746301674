#!/usr/bin/env bash
# Runs the README's walkthrough verbatim, as a new user would type it: every ```sh block
# preceded by a `<!-- walkthrough -->` line, in order, in one shell, against a fresh
# `palisade serve --demo` started in an empty temporary directory, with HOME (and so the
# CLI's config and contexts) in a temporary directory too. A block that fails fails this
# script (and CI). The only change made to the text: if port 8443 is taken, the server
# listens on a free port and `localhost:8443` in the blocks is rewritten to it.
#
#   scripts/readme-walkthrough.sh            # builds target/debug/palisade first
#   PALISADE_BIN=/path/to/palisade scripts/readme-walkthrough.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${PALISADE_BIN:-}" ]; then
  (cd "$repo" && cargo build -p palisade --quiet)
  PALISADE_BIN="$repo/target/debug/palisade"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/home" "$work/user" "$work/bin"
ln -s "$PALISADE_BIN" "$work/bin/palisade"
export HOME="$work/home"
unset XDG_CONFIG_HOME PALISADE_CONFIG PALISADE_CONTEXT PALISADE_CA_FILE SSL_CERT_FILE SSL_CERT_DIR \
  PALISADE_DATA_DIR PALISADE_TENANT PALISADE_TENANT_ID PALISADE_CLIENT_ID PALISADE_CLIENT_SECRET \
  AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET AZURE_AUTHORITY_HOST PALISADE_SERVER \
  PALISADE_AUTHORITY PALISADE_API PALISADE_ADMIN_KEY
export PATH="$work/bin:$PATH"

port=8443
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
fi

# The walkthrough's blocks, in order.
python3 - "$repo/README.md" "$port" >"$work/walkthrough.sh" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
port = sys.argv[2]
blocks = re.findall(r"<!-- walkthrough -->\s*\n```sh\n(.*?)```", text, re.S)
if not blocks:
    sys.exit("no <!-- walkthrough --> blocks in README.md")
print("set -euo pipefail")
for i, block in enumerate(blocks, 1):
    if port != "8443":
        block = block.replace("localhost:8443", f"localhost:{port}")
    print(f"echo '--- README walkthrough block {i}/{len(blocks)}'")
    print("set -x")
    print(block)
    print("set +x")
print(f"echo 'README walkthrough: {len(blocks)} passed, 0 failed'")
PY

cd "$work/user"
"$PALISADE_BIN" serve --demo --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
  if grep -q '^Context:' "$work/serve.log"; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/serve.log"; echo "serve --demo exited" >&2; exit 1; fi
  sleep 0.5
done
grep -q '^Context:' "$work/serve.log" || { cat "$work/serve.log"; echo "serve --demo did not get ready" >&2; exit 1; }

if ! bash "$work/walkthrough.sh"; then
  echo "--- the README walkthrough failed; server log:" >&2
  tail -n 50 "$work/serve.log" >&2
  echo "README walkthrough: 0 passed, 1 failed" >&2
  exit 1
fi
