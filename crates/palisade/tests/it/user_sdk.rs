//! The SDK's user credentials and the CLI's login, against the live server: device code
//! (the page completed by a test browser), interactive browser (loopback redirect with
//! PKCE), username/password, authorization code; the persistent cache (0600) and silent
//! refresh; `palisade login | whoami | incidents | logout`.

use crate::common::*;
use palisade_client::{
    AuthorizationCodeCredential, DefenderClient, DeviceCodeCredential, HttpConfig, IncidentQuery,
    InteractiveBrowserCredential, PublicClient, SignInCache, SignedInUserCredential, Sleeper,
    TokenCredential, UsernamePasswordCredential,
};
use serde_json::Value;
use std::sync::Arc;

fn http(t: &TestServer) -> palisade_client::reqwest::Client {
    let ca = std::fs::read(t.server.ca_path.as_ref().unwrap()).unwrap();
    HttpConfig::new()
        .add_root_certificate_pem(&ca)
        .unwrap()
        .build()
        .unwrap()
}

fn public(t: &TestServer, ut: &UserTenant) -> PublicClient {
    PublicClient::new(
        Some(&t.server.base_url),
        &ut.tenant_id,
        &ut.client_id,
        Some(http(t)),
    )
    .unwrap()
}

async fn seed(t: &TestServer, tenant: &str) {
    let clock: palisade_clock::SharedClock = Arc::new(t.clock.clone());
    palisade_defender::seed_demo_incidents(&t.server.store, tenant, &clock, 30)
        .await
        .unwrap();
}

#[tokio::test]
async fn username_password_then_the_persisted_sign_in_refreshes_silently() {
    let t = start().await;
    let ut = t
        .user_tenant(&["Incident.Read", "AdvancedHunting.Read"])
        .await;
    seed(&t, &ut.tenant_id).await;
    let u = t.user_in(&ut, "sdk", &["Security Reader"], None).await;
    let path = t.dir.path().join("cache/token-cache.json");
    let cache = Arc::new(SignInCache::persistent(&path).unwrap());
    let cred = UsernamePasswordCredential::new(public(&t, &ut), &u.upn, &u.password)
        .with_cache(cache.clone());
    let client = DefenderClient::builder(cred)
        .api_base(t.server.base_url.clone())
        .http_client(http(&t))
        .build()
        .unwrap();
    let incidents = client
        .list_all_incidents(IncidentQuery::new())
        .await
        .unwrap();
    assert_eq!(incidents.len(), 30);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("refresh_token") && !text.contains(&u.password),
        "no password in the cache"
    );

    // A new process: only the cache file.
    let cache = Arc::new(SignInCache::persistent(&path).unwrap());
    let account = cache.accounts()[0].clone();
    assert_eq!(account.username, u.upn);
    assert_eq!(account.tenant_id, ut.tenant_id);
    let signed_in = SignedInUserCredential::from_cache(cache.clone(), Some(http(&t)))
        .unwrap()
        .unwrap();
    let first = signed_in.get_token(DEFENDER).await.unwrap();
    // A rejected token is dropped; the next one comes from a silent refresh.
    signed_in.invalidate(DEFENDER, &first);
    let refreshed = signed_in.get_token(DEFENDER).await.unwrap();
    assert_ne!(first.token, refreshed.token);
    assert_eq!(decode(&refreshed.token).1["upn"], u.upn);
    // Revoked sessions: the silent refresh fails, and says to sign in again.
    let (s, _) = t
        .admin(
            reqwest::Method::POST,
            &format!(
                "/admin/{}/v1.0/users/{}/revokeSignInSessions",
                ut.tenant_id, u.id
            ),
            Some(serde_json::json!({})),
        )
        .await;
    assert_eq!(s, 200);
    signed_in.invalidate(DEFENDER, &refreshed);
    let err = signed_in.get_token(DEFENDER).await.unwrap_err();
    assert!(
        matches!(err, palisade_client::CredentialError::NotSignedIn(_)),
        "{err}"
    );
}

#[tokio::test]
async fn device_code_credential_with_the_page_completed_by_a_browser() {
    let t = start().await;
    let ut = t
        .user_tenant(&["Incident.Read", "AdvancedHunting.Read"])
        .await;
    let u = t.user_in(&ut, "dc", &["Security Operator"], None).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let clock = t.clock.clone();
    // Waiting between polls moves the server's clock instead of sleeping.
    let sleeper = Sleeper::new(move |d| {
        clock.advance(time::Duration::try_from(d).unwrap());
        Box::pin(tokio::time::sleep(std::time::Duration::from_millis(20)))
    });
    let cred =
        DeviceCodeCredential::new(public(&t, &ut).with_sleeper(sleeper)).on_prompt(move |info| {
            tx.send(info.clone()).unwrap();
        });
    let mut b = t.browser();
    let (token, ()) = tokio::join!(cred.get_token(DEFENDER), async {
        let info = rx.recv().await.unwrap();
        assert!(info.verification_uri.ends_with("/devicelogin"));
        assert!(info.message.contains(&info.user_code));
        let p = b.get("/devicelogin").await;
        let confirm = b
            .post(
                "/devicelogin",
                &[
                    ("csrf", &p.field("csrf").unwrap()),
                    ("otc", &info.user_code),
                ],
            )
            .await;
        let signin = b
            .submit(&confirm, "/device-confirm", &[("action", "continue")])
            .await;
        let done = b.sign_in(&signin, &u.upn, &u.password).await;
        assert!(done.body.contains("You have signed in"), "{}", done.body);
    });
    let token = token.unwrap();
    assert_eq!(decode(&token.token).1["upn"], u.upn);
    assert_eq!(cred.account().unwrap().username, u.upn);
    // Cached: no second prompt.
    assert_eq!(cred.get_token(DEFENDER).await.unwrap().token, token.token);
}

#[tokio::test]
async fn interactive_browser_credential_uses_a_loopback_redirect_and_pkce() {
    let t = start().await;
    // An app that requires two delegated permissions, not yet consented: `.default` asks
    // the user's consent for exactly those.
    let (tid, domain) = t.tenant("Interactive").await;
    let (s, a) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{tid}/v1.0/applications"),
            Some(serde_json::json!({
                "displayName": "desktop app",
                "isFallbackPublicClient": true,
                "publicClient": {"redirectUris": ["http://127.0.0.1"]},
                "requiredResourceAccess": [{
                    "resourceAppId": "8ee8fdad-f234-4243-8f3b-15c294843740",
                    "resourceAccess": [
                        {"id": "12c153a4-4204-4224-aa3c-4626e2f47c2b", "type": "Scope"},
                        {"id": "15f11de4-5113-4268-a2d1-0bad43d781f9", "type": "Scope"}
                    ]
                }]
            })),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    let ut = UserTenant {
        tenant_id: tid,
        domain,
        client_id: a["appId"].as_str().unwrap().into(),
    };
    let u = t.user_in(&ut, "ib", &["Security Reader"], None).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let cred = InteractiveBrowserCredential::new(public(&t, &ut))
        .with_login_hint(u.upn.clone())
        .with_opener(move |url| tx.send(url.to_string()).map_err(|e| e.to_string()));
    let mut b = t.browser();
    let (token, ()) = tokio::join!(cred.get_token(DEFENDER), async {
        let url = rx.recv().await.unwrap();
        assert!(url.contains("code_challenge_method=S256"), "{url}");
        assert!(
            url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
            "{url}"
        );
        let p = b.get(&url).await;
        // login_hint skips nothing but prefills the username.
        assert!(p.body.contains(&u.upn), "{}", p.body);
        let consent = b.sign_in(&p, &u.upn, &u.password).await;
        assert!(
            consent.body.contains("Permissions requested"),
            "{}",
            consent.body
        );
        let done = b
            .submit(&consent, "/consent", &[("action", "accept")])
            .await;
        let location = done.location().unwrap();
        assert!(location.starts_with("http://127.0.0.1:"), "{location}");
        // A stray request first (a browser's favicon): answered, ignored.
        let base = location.split('?').next().unwrap().to_string();
        let _ = reqwest::get(format!("{base}favicon.ico")).await;
        let page = reqwest::get(&location).await.unwrap().text().await.unwrap();
        assert!(page.contains("Sign-in complete"), "{page}");
    });
    let token = token.unwrap();
    let claims = decode(&token.token).1;
    assert_eq!(claims["upn"], u.upn);
    assert_eq!(claims["scp"], "Incident.Read AdvancedHunting.Read");
    assert_eq!(claims["appidacr"], "0");
}

#[tokio::test]
async fn authorization_code_credential_redeems_once_then_refreshes() {
    let t = start().await;
    let ut = t
        .user_tenant(&["Incident.Read", "AdvancedHunting.Read"])
        .await;
    let u = t.user_in(&ut, "ac", &["Security Reader"], None).await;
    let mut b = t.browser();
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &ut.tenant_id,
        &ut.client_id,
        &format!("{DEFENDER}/.default offline_access openid"),
        &challenge,
        &[],
    );
    let p = b.get(&url).await;
    let done = b.sign_in(&p, &u.upn, &u.password).await;
    let code = done.redirect_params()["code"].clone();
    let cred = AuthorizationCodeCredential::new(
        public(&t, &ut),
        code,
        "http://localhost:53100",
        Some(verifier),
    );
    let first = cred.get_token(DEFENDER).await.unwrap();
    cred.invalidate(DEFENDER, &first);
    let second = cred.get_token(DEFENDER).await.unwrap();
    assert_ne!(
        first.token, second.token,
        "the second token comes from the refresh token"
    );
}

async fn palisade(
    t: &TestServer,
    cache: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"));
    cmd.env("XDG_CONFIG_HOME", crate::common::isolated_config());
    cmd.args(args)
        .args([
            "--authority",
            &t.server.base_url,
            "--api",
            &t.server.base_url,
        ])
        .args([
            "--ca-file",
            t.server.ca_path.as_ref().unwrap().to_str().unwrap(),
        ])
        .args(["--token-cache", cache.to_str().unwrap()])
        .env("HOME", t.dir.path())
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("PALISADE_CLIENT_SECRET")
        .env_remove("PALISADE_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).await.unwrap();
    }
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn cli_login_whoami_incidents_logout() {
    let t = start().await;
    let ut = t
        .user_tenant(&["Incident.Read", "AdvancedHunting.Read"])
        .await;
    seed(&t, &ut.tenant_id).await;
    for (name, id) in [("Finance workstations", 7)] {
        t.admin(
            reqwest::Method::POST,
            &format!("/admin/{}/deviceGroups", ut.tenant_id),
            Some(serde_json::json!({"name": name, "id": id})),
        )
        .await;
    }
    let u = t
        .user_in(
            &ut,
            "cli",
            &["Security Operator"],
            Some(&["Finance workstations"]),
        )
        .await;
    let cache = t.dir.path().join("cli-cache.json");
    let (ok, out, err) = palisade(
        &t,
        &cache,
        &[
            "login",
            "--username",
            &u.upn,
            "--password-stdin",
            "--tenant-id",
            &ut.domain,
            "--public-client-id",
            &ut.client_id,
        ],
        Some(&format!("{}\n", u.password)),
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains(&format!("Signed in as {}", u.upn)), "{out}");
    let (ok, out, err) = palisade(&t, &cache, &["whoami", "-o", "json"], None).await;
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["user"], u.upn);
    assert_eq!(v["tenantId"], ut.tenant_id);
    assert_eq!(v["roles"], serde_json::json!(["Security Operator"]));
    assert_eq!(
        v["deviceGroups"],
        serde_json::json!(["Finance workstations"])
    );
    assert_eq!(
        v["scopes"],
        serde_json::json!(["Incident.Read", "AdvancedHunting.Read"])
    );
    let (ok, table, _) = palisade(&t, &cache, &["whoami"], None).await;
    assert!(
        ok && table.contains("Device groups") && table.contains("Finance workstations"),
        "{table}"
    );
    // incidents and hunt as the user (no app credentials configured). The user's group has
    // no devices, so only the incidents naming no device are visible.
    let (ok, out, err) = palisade(
        &t,
        &cache,
        &["incidents", "list", "--all", "-o", "json"],
        None,
    )
    .await;
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    let visible = listed.as_array().unwrap().len();
    let all = t.server.store.count_incidents(&ut.tenant_id).await.unwrap() as usize;
    assert!(
        visible < all,
        "device-group scoping applies to the CLI user: {visible} of {all}"
    );
    let (ok, _, err) = palisade(&t, &cache, &["hunt", "EmailEvents | take 1"], None).await;
    assert!(ok, "{err}");
    let (ok, out, _) = palisade(&t, &cache, &["logout"], None).await;
    assert!(
        ok && out.contains(&format!("Signed out {}", u.upn)),
        "{out}"
    );
    let (ok, _, err) = palisade(&t, &cache, &["whoami"], None).await;
    assert!(!ok && err.contains("nobody is signed in"), "{err}");
    let (ok, _, err) = palisade(&t, &cache, &["incidents", "list"], None).await;
    assert!(!ok && err.contains("palisade login"), "{err}");
}
