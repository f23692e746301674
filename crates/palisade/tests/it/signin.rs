//! The user context's sign-in flows against the live server: authorization code + PKCE
//! through the pages (driven here over HTTP with a cookie jar; tests/compat drives them in
//! a real browser), ROPC, device code, refresh tokens, logout, home realm discovery, and
//! every abuse the issue lists, each refused with the spec's error.

use crate::common::*;
use serde_json::{json, Value};
use time::Duration;

const SCOPE: &str = "https://api.security.microsoft.com/Incident.Read https://api.security.microsoft.com/AdvancedHunting.Read offline_access openid profile";

async fn redeem(t: &TestServer, ut: &UserTenant, code: &str, verifier: &str) -> (u16, Value) {
    let (s, _, v) = t
        .post_form(
            &format!("/{}/oauth2/v2.0/token", ut.tenant_id),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &ut.client_id),
                ("code", code),
                ("redirect_uri", "http://localhost:53100"),
                ("code_verifier", verifier),
                ("client_info", "1"),
            ],
        )
        .await;
    (s, v)
}

#[tokio::test]
async fn authorization_code_with_pkce_consent_and_tokens() {
    let t = start().await;
    let ut = t.user_tenant(&[]).await;
    let u = t.user_in(&ut, "reader", &["Security Reader"], None).await;
    let mut b = t.browser();
    let (verifier, challenge) = pkce();
    let p = b
        .get(&authorize_url(
            &ut.tenant_id,
            &ut.client_id,
            SCOPE,
            &challenge,
            &[],
        ))
        .await;
    // The page: the tenant's and the app's names, a CSRF token, strict headers.
    assert_eq!(p.status, 200);
    assert!(p.body.contains("native app"), "{}", p.body);
    assert!(p.field("csrf").is_some() && p.field("flow").is_some());
    let csp = p.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(p.headers["x-frame-options"], "DENY");
    let browser_cookie = p.headers["set-cookie"].to_str().unwrap();
    assert!(
        browser_cookie.contains("HttpOnly")
            && browser_cookie.contains("Secure")
            && browser_cookie.contains("SameSite=Lax")
    );

    let consent = b.sign_in(&p, &u.upn, &u.password).await;
    assert!(
        consent.body.contains("Permissions requested"),
        "{}",
        consent.body
    );
    assert!(
        consent.body.contains("Read incidents") && consent.body.contains("Run advanced queries")
    );
    let session_cookie = b
        .cookies
        .get("palisade_session")
        .cloned()
        .expect("a session cookie");
    assert!(session_cookie.len() >= 40);
    let done = b
        .submit(&consent, "/consent", &[("action", "accept")])
        .await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert!(done
        .location()
        .unwrap()
        .starts_with("http://localhost:53100?"));
    let params = done.redirect_params();
    assert_eq!(params["state"], "st-123");
    let code = &params["code"];

    let (s, tok) = redeem(&t, &ut, code, &verifier).await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    assert!(tok["expires_in"].is_i64());
    assert!(tok["refresh_token"].as_str().unwrap().len() > 40);
    let scope = tok["scope"].as_str().unwrap();
    assert!(
        scope.contains("https://api.security.microsoft.com/Incident.Read"),
        "{scope}"
    );
    let jwks = t
        .jwks(&format!("/{}/discovery/v2.0/keys", ut.tenant_id))
        .await;
    let access = tok["access_token"].as_str().unwrap();
    verify_with_jwks(access, &jwks).unwrap();
    let (h, c) = decode(access);
    assert_eq!(h["alg"], "RS256");
    assert_eq!(c["aud"], DEFENDER);
    assert_eq!(
        c["iss"],
        format!("https://sts.windows.net/{}/", ut.tenant_id)
    );
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["scp"], "Incident.Read AdvancedHunting.Read");
    assert_eq!(c["upn"], u.upn);
    assert_eq!(c["unique_name"], u.upn);
    assert_eq!(c["name"], "reader");
    assert_eq!(c["oid"], u.id);
    assert_eq!(c["appid"], ut.client_id);
    assert_eq!(c["appidacr"], "0");
    assert_eq!(c["amr"], json!(["pwd"]));
    assert_eq!(c["wids"], json!(["5d6b6bb7-de71-4623-b4af-96380a352509"]));
    assert_eq!(c["ipaddr"], "127.0.0.1");
    assert!(c.get("roles").is_none());
    let sub = c["sub"].as_str().unwrap();
    assert_ne!(sub, u.id, "sub is pairwise, not the object id");
    // The ID token: v2, this client, the nonce.
    let id = tok["id_token"].as_str().unwrap();
    verify_with_jwks(id, &jwks).unwrap();
    let (_, idc) = decode(id);
    assert_eq!(idc["aud"], ut.client_id);
    assert_eq!(
        idc["iss"],
        format!("https://login.microsoftonline.com/{}/v2.0", ut.tenant_id)
    );
    assert_eq!(idc["nonce"], "n-456");
    assert_eq!(idc["preferred_username"], u.upn);
    assert_eq!(idc["sub"], sub);
    assert!(idc["sid"].is_string());
    // client_info for MSAL.
    let info = b64json(tok["client_info"].as_str().unwrap());
    assert_eq!(info, json!({"uid": u.id, "utid": ut.tenant_id}));

    // Replay: AADSTS54005.
    let (s, e) = redeem(&t, &ut, code, &verifier).await;
    assert_aad_error(s, &e, 400, "invalid_grant", 54005);

    // The same browser signs in again without a password (session) and without consent.
    let (v2, c2) = pkce();
    let again = b
        .get(&authorize_url(
            &ut.tenant_id,
            &ut.client_id,
            SCOPE,
            &c2,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(again.status, 302, "{}", again.body);
    let code2 = again.redirect_params()["code"].clone();
    let (s, tok2) = redeem(&t, &ut, &code2, &v2).await;
    assert_eq!(s, 200, "{tok2}");
}

/// A code from a browser that signs in (admin consent exists, so no consent page).
async fn fresh_code(b: &mut Browser, ut: &UserTenant, u: &TestUser) -> (String, String) {
    let (v, c) = pkce();
    let p = b
        .get(&authorize_url(&ut.tenant_id, &ut.client_id, SCOPE, &c, &[]))
        .await;
    let p = if p.status == 200 {
        b.sign_in(&p, &u.upn, &u.password).await
    } else {
        p
    };
    assert_eq!(p.status, 302, "{}", p.body);
    (p.redirect_params()["code"].clone(), v)
}

#[tokio::test]
async fn code_abuse_is_refused_with_the_specs_errors() {
    let t = start().await;
    let ut = t
        .user_tenant(&["Incident.Read", "AdvancedHunting.Read"])
        .await;
    let u = t.user_in(&ut, "op", &["Security Operator"], None).await;
    let other_client = t
        .public_app(&ut.tenant_id, "other app", &["Incident.Read"])
        .await;
    let other_tenant = t.user_tenant(&[]).await;
    let mut b = t.browser();

    let post = |fields: Vec<(&'static str, String)>, segment: String| {
        let t = &t;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (s, _, v) = t
                .post_form(&format!("/{segment}/oauth2/v2.0/token"), &fields)
                .await;
            (s, v)
        }
    };
    let base = |code: &str, verifier: &str, client: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("client_id", client.to_string()),
            ("code", code.to_string()),
            ("redirect_uri", "http://localhost:53100".to_string()),
            ("code_verifier", verifier.to_string()),
        ]
    };

    // PKCE verifier mismatch (and the code is spent by it).
    let (code, verifier) = fresh_code(&mut b, &ut, &u).await;
    let (wrong, _) = pkce();
    let (s, e) = post(base(&code, &wrong, &ut.client_id), ut.tenant_id.clone()).await;
    assert_aad_error(s, &e, 400, "invalid_grant", 501481);
    let (s, e) = post(base(&code, &verifier, &ut.client_id), ut.tenant_id.clone()).await;
    assert_aad_error(s, &e, 400, "invalid_grant", 54005);

    // Missing verifier.
    let (code, _) = fresh_code(&mut b, &ut, &u).await;
    let mut f = base(&code, "", &ut.client_id);
    f.retain(|(k, _)| *k != "code_verifier");
    let (s, e) = post(f, ut.tenant_id.clone()).await;
    assert_aad_error(s, &e, 400, "invalid_request", 50148);

    // Redeemed by another client.
    let (code, verifier) = fresh_code(&mut b, &ut, &u).await;
    let (s, e) = post(base(&code, &verifier, &other_client), ut.tenant_id.clone()).await;
    assert_aad_error(s, &e, 400, "invalid_grant", 70000);

    // With another redirect URI.
    let (code, verifier) = fresh_code(&mut b, &ut, &u).await;
    let mut f = base(&code, &verifier, &ut.client_id);
    f[3].1 = "http://localhost:53101".into();
    let (s, e) = post(f, ut.tenant_id.clone()).await;
    assert_aad_error(s, &e, 400, "invalid_request", 50011);

    // In another tenant.
    let (code, verifier) = fresh_code(&mut b, &ut, &u).await;
    let (s, e) = post(
        base(&code, &verifier, &ut.client_id),
        other_tenant.tenant_id.clone(),
    )
    .await;
    assert_aad_error(s, &e, 400, "invalid_grant", 700005);

    // Expired (codes live 10 minutes).
    let (code, verifier) = fresh_code(&mut b, &ut, &u).await;
    t.clock
        .advance(Duration::minutes(10) + Duration::seconds(1));
    let (s, e) = post(base(&code, &verifier, &ut.client_id), ut.tenant_id.clone()).await;
    assert_aad_error(s, &e, 400, "invalid_grant", 70008);

    // A made-up code.
    let (s, e) = post(
        base("1.notacode", &verifier, &ut.client_id),
        ut.tenant_id.clone(),
    )
    .await;
    assert_aad_error(s, &e, 400, "invalid_grant", 70000);
}

#[tokio::test]
async fn unregistered_redirect_uris_are_never_redirected_to() {
    let t = start().await;
    let ut = t.user_tenant(&[]).await;
    let mut b = t.browser();
    for uri in [
        "https://evil.example/cb",
        "http://localhost.evil.example",
        "http://localhost:53100/other-path",
    ] {
        let url = format!(
            "/{}/oauth2/v2.0/authorize?client_id={}&response_type=code&scope=openid&redirect_uri={}",
            ut.tenant_id,
            ut.client_id,
            urlencode(uri)
        );
        let p = b.get(&url).await;
        assert_eq!(p.status, 400, "{uri}");
        assert!(p.location().is_none());
        assert!(p.body.contains("AADSTS50011"), "{}", p.body);
    }
    // An unknown client is a page too.
    let p = b
        .get(&format!(
            "/{}/oauth2/v2.0/authorize?client_id=00000000-0000-0000-0000-000000000001&response_type=code&scope=openid&redirect_uri=http%3A%2F%2Flocalhost",
            ut.tenant_id
        ))
        .await;
    assert_eq!(p.status, 400);
    assert!(p.body.contains("AADSTS700016"), "{}", p.body);
    // Once the redirect URI is valid, protocol errors go back to the app.
    let p = b
        .get(&format!(
            "/{}/oauth2/v2.0/authorize?client_id={}&response_type=token&scope=openid&redirect_uri=http%3A%2F%2Flocalhost&state=s1",
            ut.tenant_id, ut.client_id
        ))
        .await;
    assert_eq!(p.status, 302);
    let q = p.redirect_params();
    assert_eq!(q["error"], "unsupported_response_type");
    assert_eq!(q["state"], "s1");
    assert!(q["error_description"].starts_with("AADSTS700054"));
}

pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_string()
}

#[tokio::test]
async fn wrong_password_cancel_and_login_required() {
    let t = start().await;
    let ut = t.user_tenant(&[]).await;
    let u = t.user_in(&ut, "alice", &["Security Reader"], None).await;
    let mut b = t.browser();
    let (_, challenge) = pkce();
    // prompt=none without a session: login_required.
    let p = b
        .get(&authorize_url(
            &ut.tenant_id,
            &ut.client_id,
            SCOPE,
            &challenge,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(p.status, 302);
    let q = p.redirect_params();
    assert_eq!(q["error"], "login_required");
    assert!(q["error_description"].starts_with("AADSTS50058"));
    assert_eq!(q["state"], "st-123");

    // A wrong password is shown on the page.
    let p = b
        .get(&authorize_url(
            &ut.tenant_id,
            &ut.client_id,
            SCOPE,
            &challenge,
            &[],
        ))
        .await;
    let wrong = b.sign_in(&p, &u.upn, "Not-the-password1").await;
    assert_eq!(wrong.status, 200);
    assert!(
        wrong.body.contains("Your account or password is incorrect"),
        "{}",
        wrong.body
    );
    assert!(wrong.body.contains("AADSTS50126"));
    // An unknown user is told at the username step.
    let unknown = b
        .submit(
            &p,
            "/login",
            &[
                ("step", "username"),
                ("login", &format!("ghost@{}", ut.domain)),
            ],
        )
        .await;
    assert!(
        unknown.body.contains("This username may be incorrect"),
        "{}",
        unknown.body
    );

    // Cancel on the consent page: access_denied to the app.
    let consent = b
        .submit(
            &wrong,
            "/login",
            &[
                ("step", "password"),
                ("login", &u.upn),
                ("passwd", &u.password),
            ],
        )
        .await;
    assert!(
        consent.body.contains("Permissions requested"),
        "{}",
        consent.body
    );
    let cancelled = b
        .submit(&consent, "/consent", &[("action", "cancel")])
        .await;
    assert_eq!(cancelled.status, 302);
    let q = cancelled.redirect_params();
    assert_eq!(q["error"], "access_denied");
    assert!(q["error_description"].starts_with("AADSTS65004"));

    // CSRF: a forged token, or a flow of another browser, is refused.
    let p = b
        .get(&authorize_url(
            &ut.tenant_id,
            &ut.client_id,
            SCOPE,
            &challenge,
            &[("prompt", "login")],
        ))
        .await;
    let flow = p.field("flow").unwrap();
    let forged = b
        .post(
            "/login",
            &[
                ("flow", &flow),
                ("csrf", "forged"),
                ("step", "username"),
                ("login", &u.upn),
            ],
        )
        .await;
    assert!(forged.body.contains("no longer valid"), "{}", forged.body);
    let mut other = t.browser();
    let stolen = other
        .post(
            "/login",
            &[
                ("flow", &flow),
                ("csrf", &p.field("csrf").unwrap()),
                ("step", "username"),
                ("login", &u.upn),
            ],
        )
        .await;
    assert!(stolen.body.contains("no longer valid"), "{}", stolen.body);
}

#[tokio::test]
async fn response_modes_fragment_and_form_post() {
    let t = start().await;
    let ut = t
        .user_tenant(&["Incident.Read", "AdvancedHunting.Read"])
        .await;
    let u = t.user_in(&ut, "bob", &["Security Reader"], None).await;
    let mut b = t.browser();
    let (_, c) = pkce();
    let p = b
        .get(&authorize_url(
            &ut.tenant_id,
            &ut.client_id,
            SCOPE,
            &c,
            &[("response_mode", "fragment")],
        ))
        .await;
    let done = b.sign_in(&p, &u.upn, &u.password).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert!(done
        .location()
        .unwrap()
        .starts_with("http://localhost:53100#code="));
    let p = b
        .get(&authorize_url(
            &ut.tenant_id,
            &ut.client_id,
            SCOPE,
            &c,
            &[("response_mode", "form_post")],
        ))
        .await;
    assert_eq!(p.status, 200);
    assert!(
        p.body
            .contains("<form method=\"post\" action=\"http://localhost:53100\">"),
        "{}",
        p.body
    );
    assert!(p.field("code").is_some());
    assert_eq!(p.field("state").unwrap(), "st-123");
    let csp = p.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action http://localhost:53100") && csp.contains("script-src 'nonce-"),
        "{csp}"
    );
}

#[tokio::test]
async fn ropc_and_its_errors() {
    let t = start().await;
    let ut = t
        .user_tenant(&["Incident.Read", "AdvancedHunting.Read"])
        .await;
    let u = t.user_in(&ut, "carol", &["Security Reader"], None).await;
    let scope = format!("{DEFENDER}/.default offline_access openid");
    let (s, v) = t
        .ropc(&ut.tenant_id, &ut.client_id, &u.upn, &u.password, &scope)
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["refresh_token"].is_string() && v["id_token"].is_string());
    let (_, c) = decode(v["access_token"].as_str().unwrap());
    assert_eq!(c["scp"], "Incident.Read AdvancedHunting.Read");
    // organizations finds the home tenant from the UPN; common does not allow ROPC.
    let (s, v) = t
        .ropc("organizations", &ut.client_id, &u.upn, &u.password, &scope)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        decode(v["access_token"].as_str().unwrap()).1["tid"],
        ut.tenant_id
    );
    let (s, v) = t
        .ropc("common", &ut.client_id, &u.upn, &u.password, &scope)
        .await;
    assert_aad_error(s, &v, 400, "invalid_request", 9001023);
    // v1: resource=, numbers as strings, always a refresh token and an ID token.
    let (s, _, v) = t
        .post_form(
            &format!("/{}/oauth2/token", ut.domain),
            &[
                ("grant_type", "password"),
                ("client_id", &ut.client_id),
                ("username", &u.upn),
                ("password", &u.password),
                ("resource", DEFENDER),
            ],
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["expires_in"].is_string() && v["expires_on"].is_string());
    assert_eq!(v["resource"], DEFENDER);
    assert!(v["refresh_token"].is_string());
    assert_eq!(decode(v["id_token"].as_str().unwrap()).1["ver"], "1.0");

    let (s, v) = t
        .ropc(
            &ut.tenant_id,
            &ut.client_id,
            &u.upn,
            "Wrong-password1",
            &scope,
        )
        .await;
    assert_aad_error(s, &v, 400, "invalid_grant", 50126);
    let (s, v) = t
        .ropc(
            &ut.tenant_id,
            &ut.client_id,
            &format!("nobody@{}", ut.domain),
            "x",
            &scope,
        )
        .await;
    assert_aad_error(s, &v, 400, "invalid_grant", 50034);
    // No consent for this app: 65001.
    let bare = t.public_app(&ut.tenant_id, "no consent", &[]).await;
    let (s, v) = t
        .ropc(
            &ut.tenant_id,
            &bare,
            &u.upn,
            &u.password,
            &format!("{DEFENDER}/Incident.Read"),
        )
        .await;
    assert_aad_error(s, &v, 400, "invalid_grant", 65001);
    // Disabled: 50057 (with the right password only).
    let (s, _) = t
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/{}/v1.0/users/{}", ut.tenant_id, u.id),
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, v) = t
        .ropc(&ut.tenant_id, &ut.client_id, &u.upn, &u.password, &scope)
        .await;
    assert_aad_error(s, &v, 400, "invalid_grant", 50057);
    // Expired password: 50055.
    let e = t.user_in(&ut, "expiring", &["Security Reader"], None).await;
    let (s, _) = t
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/{}/v1.0/users/{}", ut.tenant_id, e.id),
            Some(json!({"passwordProfile": {"password": e.password, "forceChangePasswordNextSignIn": true}})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, v) = t
        .ropc(&ut.tenant_id, &ut.client_id, &e.upn, &e.password, &scope)
        .await;
    assert_aad_error(s, &v, 400, "invalid_grant", 50055);
    // A secret from a public client: 700025.
    let (s, _, v) = t
        .post_form(
            &format!("/{}/oauth2/v2.0/token", ut.tenant_id),
            &[
                ("grant_type", "password"),
                ("client_id", &ut.client_id),
                ("client_secret", "x"),
                ("username", &e.upn),
                ("password", &e.password),
                ("scope", &scope),
            ],
        )
        .await;
    assert_aad_error(s, &v, 401, "invalid_client", 700025);
}

#[tokio::test]
async fn smart_lockout_and_its_end() {
    let t = start().await;
    let ut = t.user_tenant(&["Incident.Read"]).await;
    let u = t.user_in(&ut, "dave", &["Security Reader"], None).await;
    let scope = format!("{DEFENDER}/.default");
    for _ in 0..9 {
        let (s, v) = t
            .ropc(
                &ut.tenant_id,
                &ut.client_id,
                &u.upn,
                "Bad-guess-123",
                &scope,
            )
            .await;
        assert_aad_error(s, &v, 400, "invalid_grant", 50126);
    }
    let (s, v) = t
        .ropc(
            &ut.tenant_id,
            &ut.client_id,
            &u.upn,
            "Bad-guess-123",
            &scope,
        )
        .await;
    assert_aad_error(s, &v, 400, "invalid_grant", 50053);
    // Locked: the right password is refused too, by ROPC and by the sign-in page.
    let (s, v) = t
        .ropc(&ut.tenant_id, &ut.client_id, &u.upn, &u.password, &scope)
        .await;
    assert_aad_error(s, &v, 400, "invalid_grant", 50053);
    let mut b = t.browser();
    let (_, c) = pkce();
    let p = b
        .get(&authorize_url(&ut.tenant_id, &ut.client_id, SCOPE, &c, &[]))
        .await;
    let locked = b.sign_in(&p, &u.upn, &u.password).await;
    assert!(
        locked.body.contains("temporarily locked"),
        "{}",
        locked.body
    );
    // After 60 s the lock ends.
    t.clock.advance(Duration::seconds(61));
    let (s, v) = t
        .ropc(&ut.tenant_id, &ut.client_id, &u.upn, &u.password, &scope)
        .await;
    assert_eq!(s, 200, "{v}");
    // Ten more failures lock again (60 s: a success reset the history); ten after that
    // lock for twice as long.
    for _ in 0..10 {
        t.ropc(
            &ut.tenant_id,
            &ut.client_id,
            &u.upn,
            "Bad-guess-123",
            &scope,
        )
        .await;
    }
    t.clock.advance(Duration::seconds(61));
    for _ in 0..10 {
        t.ropc(
            &ut.tenant_id,
            &ut.client_id,
            &u.upn,
            "Bad-guess-123",
            &scope,
        )
        .await;
    }
    t.clock.advance(Duration::seconds(90));
    let (s, v) = t
        .ropc(&ut.tenant_id, &ut.client_id, &u.upn, &u.password, &scope)
        .await;
    assert_aad_error(s, &v, 400, "invalid_grant", 50053);
    t.clock.advance(Duration::seconds(31));
    let (s, v) = t
        .ropc(&ut.tenant_id, &ut.client_id, &u.upn, &u.password, &scope)
        .await;
    assert_eq!(s, 200, "{v}");
}

async fn devicecode(t: &TestServer, ut: &UserTenant, v2: bool) -> Value {
    let (path, field, value) = if v2 {
        (
            format!("/{}/oauth2/v2.0/devicecode", ut.tenant_id),
            "scope",
            format!("{DEFENDER}/.default offline_access openid"),
        )
    } else {
        (
            format!("/{}/oauth2/devicecode", ut.tenant_id),
            "resource",
            DEFENDER.to_string(),
        )
    };
    let (s, _, v) = t
        .post_form(&path, &[("client_id", &ut.client_id), (field, &value)])
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn poll(t: &TestServer, ut: &UserTenant, device_code: &str) -> (u16, Value) {
    let (s, _, v) = t
        .post_form(
            &format!("/{}/oauth2/v2.0/token", ut.tenant_id),
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", &ut.client_id),
                ("device_code", device_code),
            ],
        )
        .await;
    (s, v)
}

#[tokio::test]
async fn device_code_flow_with_polling_rules() {
    let t = start().await;
    let ut = t
        .user_tenant(&["Incident.Read", "AdvancedHunting.Read"])
        .await;
    let u = t.user_in(&ut, "erin", &["Security Reader"], None).await;
    // v1 shape: verification_url and string numbers.
    let v1 = devicecode(&t, &ut, false).await;
    assert!(v1["verification_url"]
        .as_str()
        .unwrap()
        .ends_with("/devicelogin"));
    assert_eq!(v1["expires_in"], "900");
    assert_eq!(v1["interval"], "5");
    // v2 shape.
    let d = devicecode(&t, &ut, true).await;
    assert!(d["verification_uri"]
        .as_str()
        .unwrap()
        .ends_with("/devicelogin"));
    assert_eq!(d["expires_in"], 900);
    assert_eq!(d["interval"], 5);
    assert!(d.get("verification_uri_complete").is_none());
    let user_code = d["user_code"].as_str().unwrap().to_string();
    assert_eq!(user_code.len(), 9);
    assert!(d["message"].as_str().unwrap().contains(&user_code));
    let device_code = d["device_code"].as_str().unwrap().to_string();

    let (s, v) = poll(&t, &ut, &device_code).await;
    assert_aad_error(s, &v, 400, "authorization_pending", 70016);
    // Polling again at once: slow_down, and the interval grows.
    let (s, v) = poll(&t, &ut, &device_code).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"], "slow_down", "{v}");
    t.clock.advance(Duration::seconds(10));
    let (_, v) = poll(&t, &ut, &device_code).await;
    assert_eq!(v["error"], "authorization_pending", "{v}");

    // The user completes /devicelogin (code typed with a dash and in lower case).
    let mut b = t.browser();
    let p = b.get("/devicelogin").await;
    assert!(p.body.contains("Enter code"));
    let typed = format!("{}-{}", &user_code[..4], &user_code[4..]).to_lowercase();
    let csrf = p.field("csrf").unwrap();
    let confirm = b
        .post("/devicelogin", &[("csrf", &csrf), ("otc", &typed)])
        .await;
    assert!(
        confirm.body.contains("Are you trying to sign in to"),
        "{}",
        confirm.body
    );
    let signin = b
        .submit(&confirm, "/device-confirm", &[("action", "continue")])
        .await;
    let done = b.sign_in(&signin, &u.upn, &u.password).await;
    assert!(
        done.body
            .contains("You have signed in to the native app application"),
        "{}",
        done.body
    );

    t.clock.advance(Duration::seconds(15));
    let (s, tok) = poll(&t, &ut, &device_code).await;
    assert_eq!(s, 200, "{tok}");
    let (_, c) = decode(tok["access_token"].as_str().unwrap());
    assert_eq!(c["upn"], u.upn);
    assert!(tok["refresh_token"].is_string());
    // Spent.
    t.clock.advance(Duration::seconds(15));
    let (s, v) = poll(&t, &ut, &device_code).await;
    assert_aad_error(s, &v, 400, "invalid_grant", 90120);
    // Unknown code.
    let (s, v) = poll(&t, &ut, "not-a-device-code").await;
    assert_aad_error(s, &v, 400, "bad_verification_code", 70018);
    // A wrong code typed on the page.
    let wrong = b
        .post("/devicelogin", &[("csrf", &csrf), ("otc", "ZZZZZZZZZ")])
        .await;
    assert!(
        html_unescape(&wrong.body).contains("That code didn't work"),
        "{}",
        wrong.body
    );

    // Declined: authorization_declined.
    let d2 = devicecode(&t, &ut, true).await;
    let p = b.get("/devicelogin").await;
    let confirm = b
        .post(
            "/devicelogin",
            &[
                ("csrf", &p.field("csrf").unwrap()),
                ("otc", d2["user_code"].as_str().unwrap()),
            ],
        )
        .await;
    let declined = b
        .submit(&confirm, "/device-confirm", &[("action", "cancel")])
        .await;
    assert!(
        declined.body.contains("Sign-in cancelled"),
        "{}",
        declined.body
    );
    t.clock.advance(Duration::seconds(6));
    let (s, v) = poll(&t, &ut, d2["device_code"].as_str().unwrap()).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"], "authorization_declined", "{v}");

    // Expired: expired_token after 15 minutes.
    let d3 = devicecode(&t, &ut, true).await;
    t.clock
        .advance(Duration::minutes(15) + Duration::seconds(1));
    let (s, v) = poll(&t, &ut, d3["device_code"].as_str().unwrap()).await;
    assert_aad_error(s, &v, 400, "expired_token", 70019);
    let p = b.get("/devicelogin").await;
    let late = b
        .post(
            "/devicelogin",
            &[
                ("csrf", &p.field("csrf").unwrap()),
                ("otc", d3["user_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert!(
        html_unescape(&late.body).contains("That code didn't work"),
        "{}",
        late.body
    );
}

async fn refresh(
    t: &TestServer,
    segment: &str,
    client: &str,
    rt: &str,
    scope: &str,
) -> (u16, Value) {
    let (s, _, v) = t
        .post_form(
            &format!("/{segment}/oauth2/v2.0/token"),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", client),
                ("refresh_token", rt),
                ("scope", scope),
            ],
        )
        .await;
    (s, v)
}

#[tokio::test]
async fn refresh_tokens_rotate_and_are_revoked() {
    let t = start().await;
    let ut = t
        .user_tenant(&["Incident.Read", "AdvancedHunting.Read"])
        .await;
    let u = t.user_in(&ut, "frank", &["Security Reader"], None).await;
    let other_client = t
        .public_app(&ut.tenant_id, "other", &["Incident.Read"])
        .await;
    let scope = format!("{DEFENDER}/.default offline_access openid");
    let (_, v) = t
        .ropc(&ut.tenant_id, &ut.client_id, &u.upn, &u.password, &scope)
        .await;
    let rt1 = v["refresh_token"].as_str().unwrap().to_string();
    let (s, v) = refresh(&t, &ut.tenant_id, &ut.client_id, &rt1, &scope).await;
    assert_eq!(s, 200, "{v}");
    let rt2 = v["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2, "a new refresh token each time");
    assert_eq!(
        decode(v["access_token"].as_str().unwrap()).1["scp"],
        "Incident.Read AdvancedHunting.Read"
    );
    // Through common too (refresh tokens are not bound to the segment).
    let (s, v) = refresh(&t, "common", &ut.client_id, &rt2, &scope).await;
    assert_eq!(s, 200, "{v}");
    // Another client cannot use it.
    let (s, v) = refresh(&t, &ut.tenant_id, &other_client, &rt2, &scope).await;
    assert_aad_error(s, &v, 400, "invalid_grant", 70000);
    // A resource without consent for this client.
    let (s, v) = refresh(
        &t,
        &ut.tenant_id,
        &ut.client_id,
        &rt2,
        "https://api.securitycenter.microsoft.com/.default",
    )
    .await;
    assert_eq!(s, 400, "{v}");
    // 90 days of inactivity.
    let (_, v) = t
        .ropc(&ut.tenant_id, &ut.client_id, &u.upn, &u.password, &scope)
        .await;
    let idle = v["refresh_token"].as_str().unwrap().to_string();
    t.clock.advance(Duration::days(89));
    let (s, v) = refresh(&t, &ut.tenant_id, &ut.client_id, &idle, &scope).await;
    assert_eq!(s, 200, "{v}");
    t.clock.advance(Duration::days(91));
    let (s, v) = refresh(&t, &ut.tenant_id, &ut.client_id, &idle, &scope).await;
    assert_aad_error(s, &v, 400, "invalid_grant", 700082);

    // revokeSignInSessions, disabling, a new password: each revokes (50173).
    for (i, how) in ["revoke", "disable", "password"].iter().enumerate() {
        let user = t
            .user_in(&ut, &format!("revoked{i}"), &["Security Reader"], None)
            .await;
        let (_, v) = t
            .ropc(
                &ut.tenant_id,
                &ut.client_id,
                &user.upn,
                &user.password,
                &scope,
            )
            .await;
        let rt = v["refresh_token"].as_str().unwrap().to_string();
        let path = format!("/admin/{}/v1.0/users/{}", ut.tenant_id, user.id);
        let (s, r) = match *how {
            "revoke" => {
                t.admin(
                    reqwest::Method::POST,
                    &format!("{path}/revokeSignInSessions"),
                    Some(json!({})),
                )
                .await
            }
            "disable" => {
                t.admin(
                    reqwest::Method::PATCH,
                    &path,
                    Some(json!({"accountEnabled": false})),
                )
                .await
            }
            _ => {
                t.admin(
                    reqwest::Method::PATCH,
                    &path,
                    Some(json!({"passwordProfile": {"password": "N3w-password!"}})),
                )
                .await
            }
        };
        assert!(s == 200 || s == 204, "{how}: {r}");
        let (s, v) = refresh(&t, &ut.tenant_id, &ut.client_id, &rt, &scope).await;
        assert_aad_error(s, &v, 400, "invalid_grant", 50173);
    }
}

#[tokio::test]
async fn logout_ends_the_session_and_honours_registered_uris_only() {
    let t = start().await;
    let ut = t
        .user_tenant(&["Incident.Read", "AdvancedHunting.Read"])
        .await;
    let u = t.user_in(&ut, "gina", &["Security Reader"], None).await;
    let mut b = t.browser();
    let (_, c) = pkce();
    let p = b
        .get(&authorize_url(&ut.tenant_id, &ut.client_id, SCOPE, &c, &[]))
        .await;
    let done = b.sign_in(&p, &u.upn, &u.password).await;
    assert_eq!(done.status, 302);
    // Unregistered post-logout URI: the signed-out page, no redirect.
    let out = b
        .get(&format!(
            "/{}/oauth2/v2.0/logout?post_logout_redirect_uri={}",
            ut.tenant_id,
            urlencode("https://evil.example/")
        ))
        .await;
    assert_eq!(out.status, 200);
    assert!(out.location().is_none());
    assert!(out.body.contains("You signed out"));
    // The session is gone: prompt=none fails.
    let p = b
        .get(&authorize_url(
            &ut.tenant_id,
            &ut.client_id,
            SCOPE,
            &c,
            &[("prompt", "none")],
        ))
        .await;
    assert_eq!(p.redirect_params()["error"], "login_required");
    // Sign in again; a registered URI is redirected to, with state.
    let p = b
        .get(&authorize_url(&ut.tenant_id, &ut.client_id, SCOPE, &c, &[]))
        .await;
    b.sign_in(&p, &u.upn, &u.password).await;
    let out = b
        .get(&format!(
            "/{}/oauth2/v2.0/logout?post_logout_redirect_uri={}&state=bye",
            ut.tenant_id,
            urlencode("https://app.example.com/signed-in")
        ))
        .await;
    assert_eq!(out.status, 302, "{}", out.body);
    assert_eq!(
        out.location().unwrap(),
        "https://app.example.com/signed-in?state=bye"
    );
}

#[tokio::test]
async fn prompt_login_select_account_and_v1_authorize() {
    let t = start().await;
    let ut = t
        .user_tenant(&["Incident.Read", "AdvancedHunting.Read"])
        .await;
    let u = t.user_in(&ut, "hank", &["Security Reader"], None).await;
    let mut b = t.browser();
    let (_, c) = pkce();
    let p = b
        .get(&authorize_url(&ut.tenant_id, &ut.client_id, SCOPE, &c, &[]))
        .await;
    assert_eq!(b.sign_in(&p, &u.upn, &u.password).await.status, 302);
    // prompt=login asks for the password again despite the session.
    let p = b
        .get(&authorize_url(
            &ut.tenant_id,
            &ut.client_id,
            SCOPE,
            &c,
            &[("prompt", "login")],
        ))
        .await;
    assert!(p.body.contains("name=\"login\""));
    // prompt=select_account offers the session's account.
    let p = b
        .get(&authorize_url(
            &ut.tenant_id,
            &ut.client_id,
            SCOPE,
            &c,
            &[("prompt", "select_account")],
        ))
        .await;
    assert!(
        p.body.contains("Pick an account") && p.body.contains(&u.upn),
        "{}",
        p.body
    );
    let chosen = b.submit(&p, "/select", &[("choice", "session")]).await;
    assert_eq!(chosen.status, 302);
    // v1 authorize with resource= on organizations; the code's token has v1 ID token.
    let p = b
        .get(&format!(
            "/organizations/oauth2/authorize?client_id={}&response_type=code&redirect_uri={}&resource={}&state=v1",
            ut.client_id,
            urlencode("http://localhost"),
            urlencode(DEFENDER)
        ))
        .await;
    assert_eq!(p.status, 302, "{}", p.body);
    let q = p.redirect_params();
    assert!(q.contains_key("session_state"));
    let (s, _, v) = t
        .post_form(
            "/organizations/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &ut.client_id),
                ("code", &q["code"]),
                ("redirect_uri", "http://localhost"),
                ("resource", DEFENDER),
            ],
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["expires_in"].is_string());
    assert_eq!(decode(v["id_token"].as_str().unwrap()).1["ver"], "1.0");
}

#[tokio::test]
async fn home_realm_discovery() {
    let t = start().await;
    let ut = t.user_tenant(&[]).await;
    let get = |path: String| {
        let t = &t;
        async move {
            t.http
                .get(t.url(&path))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let v = get(format!(
        "/common/userrealm/someone@{}?api-version=1.0",
        ut.domain
    ))
    .await;
    assert_eq!(v["account_type"], "Managed");
    assert_eq!(v["domain_name"], ut.domain);
    let v = get("/common/userrealm/someone@example.org?api-version=1.0".into()).await;
    assert_eq!(v["account_type"], "Unknown");
    let v = get(format!(
        "/common/userrealm/someone@{}?api-version=2.0",
        ut.domain
    ))
    .await;
    assert_eq!(v["NameSpaceType"], "Managed");
}
