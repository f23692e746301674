"""Unmodified MSAL Python (PublicClientApplication) against a Palisade authority: ROPC,
the device flow (its page completed in a real browser), a silent refresh from MSAL's own
cache, and the token used on /api/incidents.

MSAL Python asks home realm discovery (/common/userrealm/...) before ROPC at a URL it
builds from the authority's host name *without its port*. On a random port that is
https://localhost/, so the requests session given to MSAL sends port-less localhost URLs
to the server's port; nothing else is changed. (Served as login.microsoftonline.com on
443 with `serve --host`, no such step is needed.)"""

import threading
import urllib.parse

import jwt
import msal
import pytest
import requests
from playwright.sync_api import sync_playwright

from browser import launch

DEFENDER_SCOPE = ["https://api.security.microsoft.com/.default"]


class PortlessLocalhost(requests.Session):
    """Sends https://localhost/... (no port) to https://localhost:PORT/..."""

    def __init__(self, port, ca):
        super().__init__()
        self.port = port
        self.verify = ca
        self.userrealm_calls = 0

    def request(self, method, url, *args, **kwargs):
        parts = urllib.parse.urlsplit(url)
        if parts.hostname == "localhost" and parts.port is None:
            url = urllib.parse.urlunsplit(parts._replace(netloc=f"localhost:{self.port}"))
            if "/userrealm/" in url:
                self.userrealm_calls += 1
        kwargs["verify"] = self.verify  # Palisade's CA (MSAL passes its own default)
        return super().request(method, url, *args, **kwargs)


def app_for(server, session):
    demo = server["demo"]
    return msal.PublicClientApplication(
        demo["public_client_id"],
        authority=f"{server['base']}/{demo['tenant_id']}",
        http_client=session,
        instance_discovery=False,
    )


def incidents(server, token):
    r = requests.get(f"{server['base']}/api/incidents?$top=3", headers={"Authorization": f"Bearer {token}"},
                     verify=server["ca"], timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["value"]


def test_ropc_silent_refresh_and_incidents(server):
    session = PortlessLocalhost(server["port"], server["ca"])
    app = app_for(server, session)
    user = next(u for u in server["demo"]["users"] if u["role"] == "Security Administrator")
    result = app.acquire_token_by_username_password(user["upn"], user["password"], scopes=DEFENDER_SCOPE)
    assert "access_token" in result, result
    assert session.userrealm_calls == 1, "MSAL asked home realm discovery (Managed)"
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["upn"] == user["upn"]
    assert claims["scp"] == "Incident.Read Incident.ReadWrite AdvancedHunting.Read"
    assert claims["wids"] == ["194ae4cb-b126-40b2-bd5b-6091b380977d"]
    assert result["id_token_claims"]["preferred_username"] == user["upn"]
    assert incidents(server, result["access_token"])
    # MSAL's cache holds the account and its refresh token: a forced silent refresh.
    accounts = app.get_accounts(username=user["upn"])
    assert len(accounts) == 1, accounts
    again = app.acquire_token_silent(DEFENDER_SCOPE, account=accounts[0], force_refresh=True)
    assert again and "access_token" in again, again
    assert again["access_token"] != result["access_token"]
    assert incidents(server, again["access_token"])
    # A wrong password: MSAL surfaces AADSTS50126.
    bad = app.acquire_token_by_username_password(user["upn"], "Wrong-password-1", scopes=DEFENDER_SCOPE)
    assert bad.get("error") == "invalid_grant" and 50126 in bad.get("error_codes", []), bad


def test_device_flow_completed_in_the_browser(server):
    session = PortlessLocalhost(server["port"], server["ca"])
    app = app_for(server, session)
    user = next(u for u in server["demo"]["users"] if u["role"] == "Security Operator" and u["device_groups"])
    flow = app.initiate_device_flow(scopes=DEFENDER_SCOPE)
    assert "user_code" in flow, flow
    result = {}

    def wait():
        result.update(app.acquire_token_by_device_flow(flow))

    poller = threading.Thread(target=wait)
    poller.start()
    with sync_playwright() as p:
        browser = launch(p, server)
        page = browser.new_page()
        page.goto(flow["verification_uri"])
        page.fill("#otc", flow["user_code"])
        page.click("#next")
        page.click("#continue")
        page.fill("#login", user["upn"])
        page.click("#next")
        page.fill("#passwd", user["password"])
        page.click("#sign-in")
        page.wait_for_selector("#message")
        browser.close()
    poller.join(timeout=60)
    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["upn"] == user["upn"]
    # This user sees only the incidents of the Finance workstations (or of no device).
    seen = incidents(server, result["access_token"])
    for i in seen:
        names = {d.get("deviceDnsName", "") for a in i["alerts"] for d in a.get("devices", [])}
        assert not names or any(n.startswith("ws-finance") for n in names), names
