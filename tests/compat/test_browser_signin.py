"""The sign-in, consent and device-login pages in a real headless Chromium: sign-in +
consent + code redemption with PKCE, cancel on consent (access_denied), a wrong password
shown on the page, a device code completed on /devicelogin, and prompt=none after a
sign-in. Screenshots go to docs/ when PALISADE_SCREENSHOTS is set."""

import json
import time
import urllib.parse

import pytest
import requests
from playwright.sync_api import sync_playwright

from browser import Redirects, launch, pkce, screenshot
from conftest import run_cli

DEFENDER = "https://api.security.microsoft.com"


@pytest.fixture(scope="module")
def chromium(server):
    with sync_playwright() as p:
        b = launch(p, server)
        yield b
        b.close()


@pytest.fixture(scope="module")
def app(server):
    """A public app in the demo tenant with no consent yet, redirecting to a listener."""
    redirects = Redirects()
    tenant = server["demo"]["tenant_id"]
    a = run_cli(server, "--tenant", tenant, "app", "create", "Incident Triage Desktop", "--public", "--public-redirect-uri", redirects.uri)
    yield {"client_id": a["appId"], "redirects": redirects, "tenant": tenant}
    redirects.close()


def user(server, role):
    return next(u for u in server["demo"]["users"] if u["role"] == role and not u["device_groups"])


def authorize_url(server, app, challenge, **extra):
    q = {
        "client_id": app["client_id"], "response_type": "code", "redirect_uri": app["redirects"].uri,
        "scope": f"{DEFENDER}/Incident.Read {DEFENDER}/AdvancedHunting.Read offline_access openid profile",
        "state": "compat-state", "nonce": "compat-nonce", "code_challenge": challenge, "code_challenge_method": "S256",
    }
    q.update(extra)
    return f"{server['base']}/{app['tenant']}/oauth2/v2.0/authorize?" + urllib.parse.urlencode(q)


def sign_in(page, upn, password, shots=False):
    page.fill("#login", upn)
    if shots:
        screenshot(page, "signin.png")
    page.click("#next")
    page.wait_for_selector("#passwd")
    page.fill("#passwd", password)
    if shots:
        screenshot(page, "password.png")
    page.click("#sign-in")


def redeem(server, app, code, verifier):
    r = requests.post(
        f"{server['base']}/{app['tenant']}/oauth2/v2.0/token",
        data={"grant_type": "authorization_code", "client_id": app["client_id"], "code": code,
              "redirect_uri": app["redirects"].uri, "code_verifier": verifier},
        verify=server["ca"], timeout=30,
    )
    return r.status_code, r.json()


def test_sign_in_consent_and_code_redemption_with_pkce(server, chromium, app):
    reader = user(server, "Security Reader")
    verifier, challenge = pkce()
    context = chromium.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    page.goto(authorize_url(server, app, challenge))
    assert "Incident Triage Desktop" in page.content()
    sign_in(page, reader["upn"], reader["password"], shots=True)
    page.wait_for_selector("#accept")
    text = page.inner_text("#permissions")
    assert "Read incidents" in text and "Run advanced queries" in text
    screenshot(page, "consent.png")
    page.click("#accept")
    page.wait_for_url(app["redirects"].uri + "**")
    got = app["redirects"].seen[-1]
    assert got["state"] == "compat-state"
    status, tokens = redeem(server, app, got["code"], verifier)
    assert status == 200, tokens
    r = requests.get(f"{server['base']}/api/incidents?$top=5", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                     verify=server["ca"], timeout=30)
    assert r.status_code == 200, r.text
    # The same code again: AADSTS54005.
    status, err = redeem(server, app, got["code"], verifier)
    assert status == 400 and err["error_codes"] == [54005], err
    # prompt=none now works without a page (the session cookie).
    verifier2, challenge2 = pkce()
    before = len(app["redirects"].seen)
    page.goto(authorize_url(server, app, challenge2, prompt="none"))
    page.wait_for_url(app["redirects"].uri + "**")
    assert len(app["redirects"].seen) == before + 1
    assert "code" in app["redirects"].seen[-1], app["redirects"].seen[-1]
    status, _ = redeem(server, app, app["redirects"].seen[-1]["code"], verifier2)
    assert status == 200
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["palisade_session"]
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Lax"
    context.close()


def test_cancel_on_consent_is_access_denied_and_prompt_none_needs_a_session(server, chromium, app):
    operator = user(server, "Security Operator")
    _, challenge = pkce()
    context = chromium.new_context()
    page = context.new_page()
    page.goto(authorize_url(server, app, challenge, prompt="none"))
    page.wait_for_url(app["redirects"].uri + "**")
    assert app["redirects"].seen[-1]["error"] == "login_required"
    page.goto(authorize_url(server, app, challenge))
    sign_in(page, operator["upn"], operator["password"])
    page.wait_for_selector("#cancel")
    page.click("#cancel")
    page.wait_for_url(app["redirects"].uri + "**")
    got = app["redirects"].seen[-1]
    assert got["error"] == "access_denied", got
    assert got["error_description"].startswith("AADSTS65004")
    context.close()


def test_wrong_password_is_shown_on_the_page(server, chromium, app):
    admin = user(server, "Global Administrator")
    _, challenge = pkce()
    context = chromium.new_context()
    page = context.new_page()
    page.goto(authorize_url(server, app, challenge))
    sign_in(page, admin["upn"], "Definitely-Wrong-1")
    page.wait_for_selector("#error")
    assert "Your account or password is incorrect" in page.inner_text("#error")
    assert "AADSTS50126" in page.inner_text("#error")
    # The page carries the protective headers.
    resp = page.goto(authorize_url(server, app, challenge))
    headers = resp.headers
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    context.close()


def test_device_code_completed_on_devicelogin(server, chromium):
    demo = server["demo"]
    reader = user(server, "Global Reader")
    r = requests.post(f"{server['base']}/{demo['tenant_id']}/oauth2/v2.0/devicecode",
                      data={"client_id": demo["public_client_id"], "scope": f"{DEFENDER}/.default offline_access"},
                      verify=server["ca"], timeout=30)
    assert r.status_code == 200, r.text
    dc = r.json()
    context = chromium.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    page.goto(dc["verification_uri"].replace("https://localhost/", server["base"] + "/"))
    screenshot(page, "devicelogin.png")
    page.fill("#otc", dc["user_code"])
    page.click("#next")
    page.wait_for_selector("#continue")
    screenshot(page, "device-confirm.png")
    page.click("#continue")
    sign_in(page, reader["upn"], reader["password"])
    page.wait_for_selector("#message")
    assert "You have signed in" in page.inner_text("#message")
    context.close()
    deadline = time.time() + 30
    while True:
        t = requests.post(f"{server['base']}/{demo['tenant_id']}/oauth2/v2.0/token",
                          data={"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                "client_id": demo["public_client_id"], "device_code": dc["device_code"]},
                          verify=server["ca"], timeout=30)
        if t.status_code == 200 or time.time() > deadline:
            break
        assert t.json()["error"] in ("authorization_pending", "slow_down"), t.text
        time.sleep(dc["interval"] + 1)
    assert t.status_code == 200, t.text
    claims = json.loads(__import__("base64").urlsafe_b64decode(t.json()["access_token"].split(".")[1] + "=="))
    assert claims["upn"] == reader["upn"]
