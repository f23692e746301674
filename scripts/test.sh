#!/usr/bin/env bash
# Runs every Palisade test on a fresh machine: installs what is missing (system packages,
# Debian's Chromium for the browser tests, the Python clients of the compatibility tests),
# checks formatting and lints, runs the Rust test suites (unit and integration: each
# starts the real HTTPS server), then runs the compatibility tests: the Defender docs' own
# samples, MSAL Python and the sign-in pages in a real headless Chromium against a live
# `palisade serve`, the README's walkthrough typed verbatim (scripts/readme-walkthrough.sh),
# and the short fault scripts (crash safety, soak). The Rust tests
# include the property-based fuzz targets at scale 1 (scripts/fuzz.sh runs them longer).
# (PALISADE_SCREENSHOTS=docs also refreshes the README's screenshots.)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
missing=()
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3 python3-venv python3-pip)
# The browser tests drive Debian's Chromium (Playwright's own browser download cannot work).
command -v chromium >/dev/null || missing+=(chromium)
# `palisade ca install` writes the browsers' NSS database with certutil (tested on a temporary db).
command -v certutil >/dev/null || missing+=(libnss3-tools)
if ((${#missing[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

step "python clients (.venv)"
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check -r tests/compat/requirements.txt

step "cargo fmt"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test (unit + integration against the live server)"
# Debug builds of the query engine recurse deeply; give test threads the stack the server's
# runtime threads get.
export RUST_MIN_STACK=33554432
cargo test --workspace --quiet 2>&1 | tee target/cargo-test.log
grep -q "test result" target/cargo-test.log

step "compatibility: docs samples and third-party clients against palisade serve"
cargo build -p palisade --quiet
PALISADE_BIN="$PWD/target/debug/palisade" .venv/bin/python -m pytest tests/compat -q

step "the README walkthrough, verbatim, against a fresh serve --demo (HOME in a temporary dir)"
PALISADE_BIN="$PWD/target/debug/palisade" bash scripts/readme-walkthrough.sh

step "fault scripts, short: crash safety (3 SIGKILLs under writes) and a 20 s soak"
bash scripts/faults.sh

step "disk used by the build"
du -sh target 2>/dev/null || true
