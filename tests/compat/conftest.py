"""Starts a real `palisade serve` (HTTPS, fresh data dir) for the compatibility tests and
provisions a tenant, an app, a secret and Defender grants through the `palisade` CLI."""

import json
import os
import re
import subprocess
import tempfile
import time

import pytest

# The CLI's contexts (`serve --demo` writes one) go to a config directory of this run's own,
# never the user's ~/.config/palisade.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="palisade-compat-config-")
# The CLI trusts SSL_CERT_FILE / SSL_CERT_DIR ahead of a config's or context's CA (issue 14's
# order), so a machine-wide SSL_CERT_FILE naming the system bundle would hide the test
# server's CA from `palisade hello --config`; the tests pass the CA they mean explicitly.
for _var in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
    os.environ.pop(_var, None)

BIN = os.environ.get("PALISADE_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "palisade"))


def run_cli(server, *args):
    out = subprocess.run(
        [BIN, "admin", "--server", server["base"], "--ca-file", server["ca"], "--data-dir", server["data"], "-o", "json", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="session")
def server():
    data = tempfile.mkdtemp(prefix="palisade-compat-")
    proc = subprocess.Popen(
        [BIN, "serve", "--demo", "--data-dir", data, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = None
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"listening on (https://\S+)", line)
        if m:
            base = m.group(1)
            break
    if base is None:
        proc.kill()
        raise RuntimeError("palisade serve did not start")
    info = {"base": base, "ca": os.path.join(data, "ca.pem"), "data": data, "port": base.rsplit(":", 1)[1]}
    # Wait until the demo tenant is seeded (the server prints the hello-world line last).
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line or "Hello world:" in line:
            break
    with open(os.path.join(data, "demo-credentials.json")) as f:
        info["demo"] = json.load(f)
    info["client_config"] = os.path.join(data, "client.toml")
    tenants = run_cli(info, "tenant", "list")["value"]
    assert any(t["id"] == info["demo"]["tenant_id"] for t in tenants)
    with open(os.path.join(data, "demo-partner.json")) as f:
        info["partner"] = json.load(f)
    tenant = run_cli(info, "tenant", "create", "Compat Contoso", "--domain", "compatcontoso")
    info["tenant"] = tenant["id"]
    app = run_cli(info, "--tenant", tenant["id"], "app", "create", "docs-sample-daemon", "--multi-tenant")
    info["client_id"] = app["appId"]
    secret = run_cli(info, "--tenant", tenant["id"], "secret", "add", app["appId"], "--name", "compat")
    info["secret"] = secret["secretText"]
    run_cli(info, "--tenant", tenant["id"], "grant", app["appId"], "Incident.Read.All", "Incident.ReadWrite.All", "AdvancedHunting.Read.All")
    yield info
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
