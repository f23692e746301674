"""The Defender docs' own token samples, run against Palisade with only the host changed,
and the tokens verified with an independent JWT library (PyJWT) against the published JWKS."""

import json
import os
import ssl
import subprocess
import sys
import urllib.request

import jwt

HERE = os.path.dirname(__file__)


def jwks_key(server, token, path):
    ctx = ssl.create_default_context(cafile=server["ca"])
    with urllib.request.urlopen(server["base"] + path, context=ctx) as r:
        keys = json.load(r)["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    match = [k for k in keys if k["kid"] == kid]
    assert match, f"kid {kid} not published at {path}"
    return jwt.PyJWK(match[0], algorithm="RS256").key


def test_python_urllib_sample_v1(server):
    env = dict(os.environ)
    env.update(
        TENANT_ID=server["tenant"],
        CLIENT_ID=server["client_id"],
        CLIENT_SECRET=server["secret"],
        PALISADE_LOGIN_HOST=f"localhost:{server['port']}",
        SSL_CERT_FILE=server["ca"],
    )
    out = subprocess.run([sys.executable, os.path.join(HERE, "docs_python_urllib_sample.py")], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    claims = jwt.decode(
        token,
        jwks_key(server, token, f"/{server['tenant']}/discovery/keys"),
        algorithms=["RS256"],
        audience="https://api.security.microsoft.com",
        issuer=f"https://sts.windows.net/{server['tenant']}/",
    )
    assert claims["tid"] == server["tenant"]
    assert claims["appid"] == server["client_id"]
    assert claims["ver"] == "1.0"
    assert sorted(claims["roles"]) == ["AdvancedHunting.Read.All", "Incident.Read.All", "Incident.ReadWrite.All"]
    assert claims["sub"] == claims["oid"]


def test_python_urllib_sample_rejects_untrusted_tls(server):
    """Without the CA the sample must fail: TLS is real."""
    env = dict(os.environ)
    env.update(TENANT_ID=server["tenant"], CLIENT_ID=server["client_id"], CLIENT_SECRET=server["secret"], PALISADE_LOGIN_HOST=f"localhost:{server['port']}")
    env.pop("SSL_CERT_FILE", None)
    env["SSL_CERT_DIR"] = "/nonexistent"
    env["SSL_CERT_FILE"] = "/nonexistent"
    out = subprocess.run([sys.executable, os.path.join(HERE, "docs_python_urllib_sample.py")], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in out.stderr


def curl_v2_sample(server, tls_args):
    # The docs' curl command (api-partner-access), host changed; -k as the docs have it,
    # or --cacert to prove the certificate chain.
    cmd = [
        "curl", "-s", "-i", "-X", "POST", "-H", "Content-Type:application/x-www-form-urlencoded",
        "-d", "grant_type=client_credentials",
        "-d", f"client_id={server['client_id']}",
        "-d", "scope=https://securitycenter.onmicrosoft.com/windowsatpservice/.default",
        "-d", f"client_secret={server['secret']}",
        f"https://localhost:{server['port']}/{server['tenant']}/oauth2/v2.0/token",
        *tls_args,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    head, _, body = out.stdout.replace("\r\n", "\n").partition("\n\n")
    assert head.startswith("HTTP/") and " 200" in head.splitlines()[0], head
    return json.loads(body)


def test_curl_v2_sample(server):
    for tls in (["-k"], ["--cacert", server["ca"]]):
        body = curl_v2_sample(server, tls)
        assert body["token_type"] == "Bearer"
        assert isinstance(body["expires_in"], int) and 3600 <= body["expires_in"] <= 5400
        assert isinstance(body["ext_expires_in"], int)
        token = body["access_token"]
        claims = jwt.decode(
            token,
            jwks_key(server, token, f"/{server['tenant']}/discovery/v2.0/keys"),
            algorithms=["RS256"],
            audience="https://securitycenter.onmicrosoft.com/windowsatpservice",
            issuer=f"https://sts.windows.net/{server['tenant']}/",
        )
        assert claims["tid"] == server["tenant"]


def test_wrong_secret_gives_entra_error_to_curl(server):
    cmd = [
        "curl", "-s", "--cacert", server["ca"], "-d", "grant_type=client_credentials", "-d", f"client_id={server['client_id']}",
        "-d", "scope=https://api.security.microsoft.com/.default", "-d", "client_secret=wrong",
        "-w", "\n%{http_code}", f"https://localhost:{server['port']}/{server['tenant']}/oauth2/v2.0/token",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    body, status = out.stdout.rsplit("\n", 1)
    assert status == "401"
    err = json.loads(body)
    assert err["error"] == "invalid_client" and err["error_codes"] == [7000215]
