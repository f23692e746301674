//! Shared harness: starts the real server (HTTPS, SQLite in a temp dir) on an ephemeral
//! port with a manual clock, and gives a client that trusts its CA.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use palisade::server::{self, RunningServer, ServerConfig};
use palisade_clock::ManualClock;
use rsa::signature::Verifier;
use serde_json::{json, Value};
use std::sync::Arc;

pub struct TestServer {
    pub server: RunningServer,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    pub admin_key: String,
    pub dir: tempfile::TempDir,
}

pub async fn start() -> TestServer {
    start_with_quotas(palisade_defender::QuotaConfig::default()).await
}

/// [`start`] with these quotas (the Defender API's, and the Graph directory's).
pub async fn start_with_quotas(quotas: palisade_defender::QuotaConfig) -> TestServer {
    start_with(quotas, None).await
}

/// [`start`] with these quotas and GeoIP database (`serve --geoip`).
pub async fn start_with(
    quotas: palisade_defender::QuotaConfig,
    geoip: Option<std::path::PathBuf>,
) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::starting_now();
    let config = ServerConfig {
        data_dir: dir.path().join("data"),
        listen: "127.0.0.1:0".parse().expect("addr"),
        plain_http: false,
        hostnames: vec!["palisade.test".into()],
        quotas,
        kek: Default::default(),
        geoip,
    };
    let server = server::start(config, Arc::new(clock.clone()))
        .await
        .expect("server starts");
    let ca = std::fs::read(server.ca_path.as_ref().expect("https")).expect("CA file");
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("pem"))
        .build()
        .expect("client");
    let admin_key = server
        .new_admin_key
        .clone()
        .expect("first start creates an admin key");
    TestServer {
        server,
        clock,
        http,
        admin_key,
        dir,
    }
}

/// A tenant with a confidential app, a secret and the given MTP roles granted.
#[derive(Clone)]
pub struct App {
    pub tenant_id: String,
    pub domain: String,
    pub client_id: String,
    pub object_id: String,
    pub secret: String,
    pub key_id: String,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.base_url, path)
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.admin_key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("admin call");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn tenant(&self, name: &str) -> (String, String) {
        let (s, t) = self
            .admin(
                reqwest::Method::POST,
                "/admin/tenants",
                Some(json!({"displayName": name})),
            )
            .await;
        assert_eq!(s, 201, "{t}");
        (
            t["id"].as_str().unwrap().to_string(),
            t["verifiedDomains"][0]["name"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    }

    pub async fn app_in(&self, tenant_id: &str, audience: &str, roles: &[&str]) -> App {
        let (s, a) = self
            .admin(
                reqwest::Method::POST,
                &format!("/admin/{tenant_id}/v1.0/applications"),
                Some(json!({"displayName": "daemon", "signInAudience": audience})),
            )
            .await;
        assert_eq!(s, 201, "{a}");
        let object_id = a["id"].as_str().unwrap().to_string();
        let client_id = a["appId"].as_str().unwrap().to_string();
        let (s, p) = self
            .admin(
                reqwest::Method::POST,
                &format!("/admin/{tenant_id}/v1.0/applications/{object_id}/addPassword"),
                Some(json!({"passwordCredential": {"displayName": "test"}})),
            )
            .await;
        assert_eq!(s, 200, "{p}");
        if !roles.is_empty() {
            let (s, g) = self
                .admin(
                    reqwest::Method::POST,
                    &format!("/admin/{tenant_id}/grants"),
                    Some(json!({"appId": client_id, "permissions": roles})),
                )
                .await;
            assert_eq!(s, 201, "{g}");
        }
        let (_, t) = self
            .admin(
                reqwest::Method::GET,
                &format!("/admin/tenants/{tenant_id}"),
                None,
            )
            .await;
        App {
            tenant_id: tenant_id.into(),
            domain: t["verifiedDomains"][0]["name"].as_str().unwrap().into(),
            client_id,
            object_id,
            secret: p["secretText"].as_str().unwrap().to_string(),
            key_id: p["keyId"].as_str().unwrap().to_string(),
        }
    }

    pub async fn app(&self, roles: &[&str]) -> App {
        let (tid, _) = self
            .tenant(&format!(
                "T{}",
                &uuid::Uuid::new_v4().simple().to_string()[..10]
            ))
            .await;
        self.app_in(&tid, "AzureADMyOrg", roles).await
    }

    /// POSTs a form to a token endpoint; returns status, headers and JSON.
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("token call");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let v = resp.json().await.unwrap_or(Value::Null);
        (status, headers, v)
    }

    pub async fn v1_token(&self, app: &App, resource: &str) -> (u16, Value) {
        let (s, _, v) = self
            .post_form(
                &format!("/{}/oauth2/token", app.tenant_id),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &app.client_id),
                    ("client_secret", &app.secret),
                    ("resource", resource),
                ],
            )
            .await;
        (s, v)
    }

    pub async fn v2_token(&self, app: &App, scope: &str) -> (u16, Value) {
        let (s, _, v) = self
            .post_form(
                &format!("/{}/oauth2/v2.0/token", app.tenant_id),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &app.client_id),
                    ("client_secret", &app.secret),
                    ("scope", scope),
                ],
            )
            .await;
        (s, v)
    }

    pub async fn jwks(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("json")
    }
}

pub fn b64json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

/// Decodes a JWT without verifying: (header, claims).
pub fn decode(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS has three parts");
    (b64json(parts[0]), b64json(parts[1]))
}

/// Verifies an RS256 JWT against a JWKS with the `rsa` crate (independent of the
/// `jsonwebtoken` crate that signs): finds the key by `kid`, checks RSASSA-PKCS1-v1_5/SHA-256.
pub fn verify_with_jwks(token: &str, jwks: &Value) -> Result<(), String> {
    let (header, _) = decode(token);
    if header["alg"] != "RS256" {
        return Err("alg is not RS256".into());
    }
    let kid = header["kid"].as_str().ok_or("no kid")?;
    let key = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid))
        .ok_or_else(|| format!("kid {kid} is not published"))?;
    let n =
        rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap());
    let e =
        rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap());
    let public = rsa::RsaPublicKey::new(n, e).map_err(|e| e.to_string())?;
    let verifier = rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(public);
    let (signed, sig) = token.rsplit_once('.').unwrap();
    let sig = rsa::pkcs1v15::Signature::try_from(URL_SAFE_NO_PAD.decode(sig).unwrap().as_slice())
        .map_err(|e| e.to_string())?;
    verifier
        .verify(signed.as_bytes(), &sig)
        .map_err(|e| e.to_string())
}

/// Asserts an Entra error body with the AADSTS code and HTTP status.
pub fn assert_aad_error(status: u16, body: &Value, expected_status: u16, error: &str, code: u64) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let desc = body["error_description"]
        .as_str()
        .expect("error_description");
    assert!(desc.starts_with(&format!("AADSTS{code}: ")), "{desc}");
    assert!(
        desc.contains("\r\nTrace ID: ")
            && desc.contains("\r\nCorrelation ID: ")
            && desc.contains("\r\nTimestamp: "),
        "{desc}"
    );
    let ts = body["timestamp"].as_str().expect("timestamp");
    assert_eq!(ts.len(), 20, "yyyy-MM-dd HH:mm:ssZ: {ts}");
    assert_eq!(&ts[10..11], " ");
    assert!(uuid::Uuid::parse_str(body["trace_id"].as_str().unwrap()).is_ok());
    assert!(uuid::Uuid::parse_str(body["correlation_id"].as_str().unwrap()).is_ok());
    assert_eq!(
        body["error_uri"],
        format!("https://login.microsoftonline.com/error?code={code}")
    );
}

// ----- the user context ------------------------------------------------------------------

/// The Defender API resource.
pub const DEFENDER: &str = "https://api.security.microsoft.com";

/// A tenant with a public client (delegated consent as asked) and users.
pub struct UserTenant {
    pub tenant_id: String,
    pub domain: String,
    pub client_id: String,
}

/// A user created for a test.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub upn: String,
    pub password: String,
}

impl TestServer {
    /// A new tenant with a public client whose redirect URIs are `http://localhost` and the
    /// native client URI, and tenant-wide consent for `delegated` (none: users consent).
    pub async fn user_tenant(&self, delegated: &[&str]) -> UserTenant {
        let (tid, domain) = self
            .tenant(&format!(
                "U{}",
                &uuid::Uuid::new_v4().simple().to_string()[..10]
            ))
            .await;
        let client_id = self.public_app(&tid, "native app", delegated).await;
        UserTenant {
            tenant_id: tid,
            domain,
            client_id,
        }
    }

    /// A public client app in the tenant; with `delegated`, admin consent for those scopes.
    pub async fn public_app(&self, tenant_id: &str, name: &str, delegated: &[&str]) -> String {
        let (s, a) = self
            .admin(
                reqwest::Method::POST,
                &format!("/admin/{tenant_id}/v1.0/applications"),
                Some(json!({
                    "displayName": name,
                    "isFallbackPublicClient": true,
                    "publicClient": {"redirectUris": ["http://localhost", "https://login.microsoftonline.com/common/oauth2/nativeclient"]},
                    "web": {"redirectUris": ["https://app.example.com/signed-in"]},
                })),
            )
            .await;
        assert_eq!(s, 201, "{a}");
        let client_id = a["appId"].as_str().unwrap().to_string();
        if !delegated.is_empty() {
            let (s, g) = self
                .admin(
                    reqwest::Method::POST,
                    &format!("/admin/{tenant_id}/grants"),
                    Some(
                        json!({"appId": client_id, "permissions": delegated, "type": "Delegated"}),
                    ),
                )
                .await;
            assert_eq!(s, 201, "{g}");
        }
        client_id
    }

    /// A user with roles (display names) and, if given, device groups.
    pub async fn user_in(
        &self,
        t: &UserTenant,
        alias: &str,
        roles: &[&str],
        groups: Option<&[&str]>,
    ) -> TestUser {
        let upn = format!("{alias}@{}", t.domain);
        let password = format!("Pw-{}!a", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let (s, u) = self
            .admin(
                reqwest::Method::POST,
                &format!("/admin/{}/v1.0/users", t.tenant_id),
                Some(
                    json!({"userPrincipalName": upn, "displayName": alias, "accountEnabled": true,
                            "passwordProfile": {"password": password}}),
                ),
            )
            .await;
        assert_eq!(s, 201, "{u}");
        let id = u["id"].as_str().unwrap().to_string();
        let (s, defs) = self
            .admin(
                reqwest::Method::GET,
                &format!(
                    "/admin/{}/v1.0/roleManagement/directory/roleDefinitions",
                    t.tenant_id
                ),
                None,
            )
            .await;
        assert_eq!(s, 200);
        for r in roles {
            let def = defs["value"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["displayName"] == *r)
                .unwrap_or_else(|| panic!("role {r}"));
            let (s, a) = self
                .admin(
                    reqwest::Method::POST,
                    &format!("/admin/{}/v1.0/roleManagement/directory/roleAssignments", t.tenant_id),
                    Some(json!({"principalId": id, "roleDefinitionId": def["id"], "directoryScopeId": "/"})),
                )
                .await;
            assert_eq!(s, 201, "{a}");
        }
        if let Some(groups) = groups {
            let (s, v) = self
                .admin(
                    reqwest::Method::PUT,
                    &format!("/admin/{}/users/{id}/deviceGroups", t.tenant_id),
                    Some(json!({"scope": "groups", "groups": groups})),
                )
                .await;
            assert_eq!(s, 200, "{v}");
        }
        TestUser { id, upn, password }
    }

    /// ROPC against `/{segment}/oauth2/v2.0/token`.
    pub async fn ropc(
        &self,
        segment: &str,
        client_id: &str,
        upn: &str,
        password: &str,
        scope: &str,
    ) -> (u16, Value) {
        let (s, _, v) = self
            .post_form(
                &format!("/{segment}/oauth2/v2.0/token"),
                &[
                    ("grant_type", "password"),
                    ("client_id", client_id),
                    ("username", upn),
                    ("password", password),
                    ("scope", scope),
                ],
            )
            .await;
        (s, v)
    }

    /// A delegated Defender token by ROPC (v2, `.default`), asserting success.
    pub async fn user_token(&self, t: &UserTenant, u: &TestUser) -> String {
        let (s, v) = self
            .ropc(
                &t.tenant_id,
                &t.client_id,
                &u.upn,
                &u.password,
                &format!("{DEFENDER}/.default offline_access openid profile"),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["access_token"].as_str().unwrap().to_string()
    }

    /// A browser stand-in on this server.
    pub fn browser(&self) -> Browser {
        let ca = std::fs::read(self.server.ca_path.as_ref().expect("https")).expect("CA file");
        Browser {
            http: reqwest::Client::builder()
                .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("pem"))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: self.server.base_url.clone(),
            cookies: Default::default(),
        }
    }
}

/// A minimal browser for protocol tests: keeps cookies, does not follow redirects, reads
/// the hidden fields of Palisade's forms. (The real-browser tests are in tests/compat.)
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: std::collections::BTreeMap<String, String>,
}

/// A page or redirect.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// The value of the hidden input `name`.
    pub fn field(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&needle)? + needle.len();
        let end = self.body[start..].find('"')? + start;
        Some(html_unescape(&self.body[start..end]))
    }

    /// The query (or fragment) parameters of the redirect.
    pub fn redirect_params(&self) -> std::collections::HashMap<String, String> {
        let loc = self.location().expect("a redirect");
        let query = loc
            .split_once(['?', '#'])
            .map(|(_, q)| q.to_string())
            .unwrap_or_default();
        serde_urlencoded::from_str(&query).unwrap()
    }
}

pub fn html_unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, headers: &reqwest::header::HeaderMap) {
        for v in headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") || val.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
    }

    async fn done(&mut self, resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        self.absorb(&headers);
        let body = resp.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    /// GET a path (or absolute URL).
    pub async fn get(&mut self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let resp = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.done(resp).await
    }

    /// POST a form.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(fields)
            .send()
            .await
            .unwrap();
        self.done(resp).await
    }

    /// Submits the current page's flow form at `path` with extra fields.
    pub async fn submit(&mut self, page: &Page, path: &str, extra: &[(&str, &str)]) -> Page {
        let flow = page.field("flow").expect("a flow form");
        let csrf = page.field("csrf").expect("a csrf token");
        let mut fields = vec![("flow", flow.as_str()), ("csrf", csrf.as_str())];
        fields.extend_from_slice(extra);
        self.post(path, &fields).await
    }

    /// The username and password steps from a sign-in page.
    pub async fn sign_in(&mut self, page: &Page, upn: &str, password: &str) -> Page {
        assert!(
            page.body.contains("name=\"login\""),
            "a sign-in page: {}",
            page.body
        );
        let pw = self
            .submit(page, "/login", &[("step", "username"), ("login", upn)])
            .await;
        assert!(pw.body.contains("Enter password"), "{}", pw.body);
        self.submit(
            &pw,
            "/login",
            &[("step", "password"), ("login", upn), ("passwd", password)],
        )
        .await
    }
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    use sha2::Digest;
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// An authorize URL (v2).
pub fn authorize_url(
    segment: &str,
    client_id: &str,
    scope: &str,
    challenge: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut q = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", "http://localhost:53100"),
        ("scope", scope),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    q.extend_from_slice(extra);
    format!(
        "/{segment}/oauth2/v2.0/authorize?{}",
        serde_urlencoded::to_string(&q).unwrap()
    )
}

/// A config directory of this test process's own (`XDG_CONFIG_HOME` for every `palisade`
/// it runs), so that the user's contexts never leak into a test, nor a test's into theirs.
pub fn isolated_config() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
}
