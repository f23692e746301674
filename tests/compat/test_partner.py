"""The partner (multi-tenant) context with real third-party clients.

- The Defender partner walkthrough in a real headless Chromium: the partner registers a
  multi-tenant app (palisade CLI), a customer's Security Reader opening the consent link is
  sent to "Need admin approval" (AADSTS90094), the customer's Global Administrator cancels
  (the documented permission_denied redirect), then opens the link again and consents on
  behalf of the organization; the partner gets a token for the customer and lists the
  customer's incidents; the customer removes the consent and new tokens are refused.
- Unmodified MSAL Python (ConfidentialClientApplication with
  client_credential={"private_key", "thumbprint"}) and azure-identity's
  CertificateCredential with a certificate made by `palisade admin cert create`, then the
  Defender API with their tokens."""

import os
import subprocess

import jwt
import msal
import pytest
import requests
from playwright.sync_api import sync_playwright

from browser import Redirects, launch, screenshot
from conftest import BIN, run_cli

DEFENDER = "https://api.security.microsoft.com"


def cli(server, *args):
    out = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PALISADE_AUTHORITY": server["base"], "PALISADE_API": server["base"],
                              "PALISADE_CA_FILE": server["ca"]})
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def partner(server):
    """A partner tenant with a multi-tenant app (Incident.Read.All), a secret and a
    certificate, redirecting to a local listener."""
    redirects = Redirects()
    t = run_cli(server, "tenant", "create", "Compat Partner", "--domain", "compatpartner")
    app = run_cli(server, "--tenant", t["id"], "app", "create", "Compat Partner SOC", "--multi-tenant",
                  "--redirect-uri", redirects.uri)
    secret = run_cli(server, "--tenant", t["id"], "secret", "add", app["appId"])
    run_cli(server, "--tenant", t["id"], "grant", app["appId"], "Incident.Read.All")
    certs = os.path.join(server["data"], "partner-certs")
    cert = run_cli(server, "--tenant", t["id"], "cert", "create", app["appId"], "--out", certs)
    yield {"tenant": t["id"], "client_id": app["appId"], "secret": secret["secretText"], "redirects": redirects,
           "cert_dir": certs, "thumbprint": cert["customKeyIdentifier"]}
    redirects.close()


class TrustPalisade(requests.Session):
    """A requests session that verifies with Palisade's CA (MSAL passes its own `verify`)."""

    def __init__(self, ca):
        super().__init__()
        self.ca = ca

    def request(self, method, url, *args, **kwargs):
        kwargs["verify"] = self.ca
        return super().request(method, url, *args, **kwargs)


def customer_token(server, partner, tenant):
    r = requests.post(f"{server['base']}/{tenant}/oauth2/v2.0/token", verify=server["ca"], timeout=30, data={
        "grant_type": "client_credentials", "client_id": partner["client_id"], "client_secret": partner["secret"],
        "scope": f"{DEFENDER}/.default"})
    return r.status_code, r.json()


def sign_in(page, upn, password):
    page.fill("#login", upn)
    page.click("#next")
    page.wait_for_selector("#passwd")
    page.fill("#passwd", password)
    page.click("#sign-in")


def test_partner_walkthrough_in_chromium(server, partner):
    fabrikam = next(c for c in server["partner"]["customers"] if not c["consented"])
    tenant = fabrikam["tenant_id"]
    reader_upn = f"reader@{fabrikam['domain']}"
    run_cli(server, "--tenant", tenant, "user", "create", reader_upn, "--password", "Reader-Pw-123!", "--role", "Security Reader")
    link = cli(server, "partner", "consent-link", partner["client_id"]).strip()
    assert link == (f"{server['base']}/common/oauth2/authorize?prompt=consent&client_id={partner['client_id']}"
                    "&response_type=code&sso_reload=true")
    status, err = customer_token(server, partner, tenant)
    assert status == 400 and err["error_codes"] == [700016], err

    with sync_playwright() as p:
        browser = launch(p, server)
        # A Security Reader: admin approval required.
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(link)
        sign_in(page, reader_upn, "Reader-Pw-123!")
        page.wait_for_selector("text=Need admin approval")
        assert "AADSTS90094" in page.content()
        screenshot(page, "partner-admin-approval.png")
        ctx.close()

        # The Global Administrator cancels: the documented redirect.
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(link)
        sign_in(page, fabrikam["admin_upn"], fabrikam["admin_password"])
        page.wait_for_selector("#accept")
        content = page.content()
        assert "Consent on behalf of your organization" in content
        assert "Read all incidents" in content and "Compat Partner" in content
        screenshot(page, "partner-admin-consent.png")
        page.click("#cancel")
        page.wait_for_url(partner["redirects"].uri + "**")
        got = partner["redirects"].seen[-1]
        assert got["error"] == "permission_denied" and got["error_description"] == "The admin canceled the request", got
        status, _ = customer_token(server, partner, tenant)
        assert status == 400

        # Again, and accept (the session is reused: straight to the consent page).
        page.goto(link)
        page.wait_for_selector("#accept")
        page.click("#accept")
        page.wait_for_url(partner["redirects"].uri + "**")
        got = partner["redirects"].seen[-1]
        assert got["admin_consent"] == "True" and got["tenant"] == tenant, got
        ctx.close()
        browser.close()

    # The partner's token for the customer lists the customer's incidents.
    status, tok = customer_token(server, partner, tenant)
    assert status == 200, tok
    claims = jwt.decode(tok["access_token"], options={"verify_signature": False})
    assert claims["tid"] == tenant and claims["roles"] == ["Incident.Read.All"]
    r = requests.get(f"{server['base']}/api/incidents", headers={"Authorization": f"Bearer {tok['access_token']}"},
                     verify=server["ca"], timeout=30)
    assert r.status_code == 200, r.text
    assert len(r.json()["value"]) == 25  # the demo seeds 25 incidents per customer
    # Fan-out from the CLI: the customer's rows under its tenant column.
    out = cli(server, "incidents", "list", "--tenants", tenant, "--client-id", partner["client_id"],
              f"--client-secret={partner['secret']}", "-o", "csv")  # a secret may start with '-'
    assert sum(1 for line in out.splitlines() if line.startswith(tenant)) == 25

    # The customer removes the consent: new tokens are refused.
    run_cli(server, "--tenant", tenant, "app", "remove-consent", partner["client_id"])
    status, err = customer_token(server, partner, tenant)
    assert status == 400 and err["error_codes"] == [700016], err


def test_msal_python_with_a_certificate(server, partner):
    with open(os.path.join(partner["cert_dir"], "key.pem")) as f:
        key = f.read()
    session = TrustPalisade(server["ca"])
    app = msal.ConfidentialClientApplication(
        partner["client_id"], authority=f"{server['base']}/{partner['tenant']}",
        client_credential={"private_key": key, "thumbprint": partner["thumbprint"]},
        http_client=session, instance_discovery=False)
    result = app.acquire_token_for_client(scopes=[f"{DEFENDER}/.default"])
    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["appidacr"] == "2" and claims["tid"] == partner["tenant"]
    r = requests.get(f"{server['base']}/api/incidents", headers={"Authorization": f"Bearer {result['access_token']}"},
                     verify=server["ca"], timeout=30)
    assert r.status_code == 200, r.text
    # A second app object (no MSAL cache): a new assertion, accepted (no jti replay).
    app2 = msal.ConfidentialClientApplication(
        partner["client_id"], authority=f"{server['base']}/{partner['tenant']}",
        client_credential={"private_key": key, "thumbprint": partner["thumbprint"]},
        http_client=session, instance_discovery=False)
    assert "access_token" in app2.acquire_token_for_client(scopes=[f"{DEFENDER}/.default"])


def test_azure_identity_certificate_credential(server, partner, monkeypatch):
    from azure.identity import CertificateCredential

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server["ca"])
    credential = CertificateCredential(
        partner["tenant"], partner["client_id"], certificate_path=os.path.join(partner["cert_dir"], "cert-and-key.pem"),
        authority=server["base"], disable_instance_discovery=True)
    token = credential.get_token(f"{DEFENDER}/.default")
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["appidacr"] == "2" and claims["appid"] == partner["client_id"]
    r = requests.get(f"{server['base']}/api/incidents", headers={"Authorization": f"Bearer {token.token}"},
                     verify=server["ca"], timeout=30)
    assert r.status_code == 200, r.text
