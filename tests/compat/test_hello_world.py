"""The docs' Hello World (api-hello-world): get an app token from the v1 endpoint with
`resource=https://api.security.microsoft.com`, then list the incidents updated in the last
48 hours with `$filter=lastUpdateTime+ge+<ISO time>`. The PowerShell flow re-expressed with
Python's standard library and with curl, host changed; then `palisade hello` itself."""

import datetime
import glob
import json
import os
import ssl
import subprocess
import urllib.parse
import urllib.request

from conftest import BIN


def powershell_o_format(t):
    # (Get-Date).ToUniversalTime().AddHours(-48).ToString("o") -> 2021-01-26T01:00:37.8404534Z
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def since_48h():
    return powershell_o_format(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=48))


def get_token(server):
    demo = server["demo"]
    body = urllib.parse.urlencode(
        {"resource": "https://api.security.microsoft.com", "client_id": demo["client_id"], "client_secret": demo["client_secret"], "grant_type": "client_credentials"}
    ).encode()
    ctx = ssl.create_default_context(cafile=server["ca"])
    url = f"https://localhost:{server['port']}/{demo['tenant_id']}/oauth2/token"
    with urllib.request.urlopen(urllib.request.Request(url, body), context=ctx) as r:
        return json.load(r)["access_token"]


def test_hello_world_python(server):
    token = get_token(server)
    url = f"https://localhost:{server['port']}/api/incidents?$filter=lastUpdateTime+ge+{since_48h()}"
    req = urllib.request.Request(url, headers={"Content-Type": "application/json", "Accept": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=server["ca"])) as r:
        body = json.load(r)
    assert body["@odata.context"] == "https://api.security.microsoft.com/api/$metadata#Incidents"
    incidents = body["value"]
    assert incidents, "the demo tenant has incidents updated in the last 48 hours"
    cutoff = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=48, minutes=1)
    for i in incidents:
        updated = datetime.datetime.fromisoformat(i["lastUpdateTime"][:26].rstrip("Z") + "+00:00")
        assert updated >= cutoff, i["lastUpdateTime"]
        for key in ("incidentId", "incidentName", "createdTime", "assignedTo", "classification", "determination", "status", "severity", "tags", "comments", "alerts"):
            assert key in i, key
    server["hello_count"] = len(incidents)


def test_hello_world_curl(server):
    token = get_token(server)
    out = subprocess.run(
        ["curl", "-s", "--cacert", server["ca"], "-H", "Accept: application/json", "-H", f"Authorization: Bearer {token}",
         f"https://localhost:{server['port']}/api/incidents?$filter=lastUpdateTime+ge+{since_48h()}"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert len(body["value"]) > 0


def test_palisade_hello(server, tmp_path):
    out = subprocess.run([BIN, "hello", "--config", server["client_config"], "--out-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "Latest-token.txt").read_text().strip().count(".") == 2
    files = glob.glob(str(tmp_path / "Latest Incidents *.json"))
    assert len(files) == 1
    saved = json.load(open(files[0]))
    assert len(saved) > 0
    assert f"{len(saved)} incidents updated in the last 48 hours" in out.stdout
    # Same answer as the docs' flow (the demo data does not change between the tests).
    if "hello_count" in server:
        assert len(saved) == server["hello_count"]
