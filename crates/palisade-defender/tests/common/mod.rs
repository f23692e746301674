//! Test harness: an in-memory store with two seeded tenants, RSA keys published through a
//! test key source, token minting and a request helper.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http_body_util::BodyExt as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use palisade_clock::{Clock, ManualClock, SharedClock};
use palisade_defender::{
    router, seed_demo_incidents, DefenderState, QuotaConfig, SigningKeySource,
};
use palisade_store::{Store, TenantRow};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};
use tower::ServiceExt as _;

pub const TENANT_A: &str = "0a0a0a0a-1111-4111-8111-aaaaaaaaaaaa";
pub const TENANT_B: &str = "0b0b0b0b-2222-4222-8222-bbbbbbbbbbbb";
pub const DOMAIN_A: &str = "contoso.onmicrosoft.com";
pub const DOMAIN_B: &str = "fabrikam.onmicrosoft.com";
pub const COUNT_A: usize = 230;
pub const COUNT_B: usize = 210;
pub const APP_ID: &str = "11111111-2222-4333-8444-555555555555";
pub const KID: &str = "test-key-1";
/// The object id of the test user (a Security Operator of tenant A).
pub const USER_ID: &str = "99999999-0000-4000-8000-000000000002";

/// An RSA key with its public forms.
pub struct TestKey {
    pub encoding: EncodingKey,
    pub public_pem: String,
    pub n: String,
    pub e: String,
}

fn make_key() -> TestKey {
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("rsa key");
    let der = key.to_pkcs1_der().expect("pkcs1");
    let public_pem = key
        .to_public_key()
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .expect("public pem");
    TestKey {
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        public_pem,
        n: URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        e: URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
    }
}

/// The published key.
pub fn key() -> &'static TestKey {
    static K: OnceLock<TestKey> = OnceLock::new();
    K.get_or_init(make_key)
}

/// A key that is never published.
pub fn other_key() -> &'static TestKey {
    static K: OnceLock<TestKey> = OnceLock::new();
    K.get_or_init(make_key)
}

pub fn jwks_of(keys: &[(&str, &TestKey)]) -> JwkSet {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, k)| json!({"kty": "RSA", "use": "sig", "kid": kid, "x5t": kid, "n": k.n, "e": k.e}))
        .collect();
    serde_json::from_value(json!({ "keys": keys })).expect("jwks")
}

/// A key source whose set tests can change.
pub struct TestKeys(pub Mutex<JwkSet>);

impl SigningKeySource for TestKeys {
    fn published_keys(&self) -> Arc<JwkSet> {
        Arc::new(self.0.lock().expect("lock").clone())
    }
}

pub struct Harness {
    pub router: Router,
    pub store: Store,
    pub clock: ManualClock,
    pub keys: Arc<TestKeys>,
}

pub async fn harness_with(quotas: QuotaConfig) -> Harness {
    let store = Store::open_in_memory().await.expect("store");
    for (id, domain) in [(TENANT_A, DOMAIN_A), (TENANT_B, DOMAIN_B)] {
        store
            .create_tenant(&TenantRow {
                id: id.into(),
                display_name: domain.into(),
                initial_domain: domain.into(),
                created_at: 0,
            })
            .await
            .expect("tenant");
    }
    let clock = ManualClock::starting_now();
    let shared: SharedClock = Arc::new(clock.clone());
    assert_eq!(
        seed_demo_incidents(&store, TENANT_A, &shared, COUNT_A)
            .await
            .expect("seed A"),
        COUNT_A
    );
    assert_eq!(
        seed_demo_incidents(&store, TENANT_B, &shared, COUNT_B)
            .await
            .expect("seed B"),
        COUNT_B
    );
    // The user of `user_claims`: a Security Operator of tenant A (delegated calls need the
    // user to exist, be enabled and hold a Defender right).
    let directory = palisade_directory::Directory::new(store.clone(), shared.clone());
    directory.ensure_builtins().await.expect("builtins");
    store
        .insert_user(&palisade_store::UserRow {
            id: USER_ID.into(),
            tenant_id: TENANT_A.into(),
            user_principal_name: format!("alice@{DOMAIN_A}"),
            display_name: "Alice".into(),
            password_hash: None,
            account_enabled: true,
            created_at: 0,
            password_expires_at: None,
            password_changed_at: None,
            all_device_groups: true,
            failed_sign_ins: 0,
            lockouts: 0,
            locked_until: None,
        })
        .await
        .expect("user");
    directory
        .assign_role(TENANT_A, USER_ID, "Security Operator")
        .await
        .expect("role");
    let keys = Arc::new(TestKeys(Mutex::new(jwks_of(&[(KID, key())]))));
    let state = DefenderState::new(store.clone(), shared, keys.clone()).with_quotas(quotas);
    Harness {
        router: router(state),
        store,
        clock,
        keys,
    }
}

pub async fn harness() -> Harness {
    harness_with(QuotaConfig::disabled()).await
}

impl Harness {
    pub fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// Standard app-only v1 claims.
    pub fn app_claims(&self, tid: &str, roles: &[&str]) -> Value {
        let now = self.now();
        json!({
            "aud": "https://api.security.microsoft.com",
            "iss": format!("https://sts.windows.net/{tid}/"),
            "iat": now, "nbf": now, "exp": now + 3600,
            "appid": APP_ID, "appidacr": "1",
            "idp": format!("https://sts.windows.net/{tid}/"),
            "oid": "99999999-0000-4000-8000-000000000001",
            "sub": "99999999-0000-4000-8000-000000000001",
            "roles": roles,
            "tid": tid, "uti": "x", "ver": "1.0"
        })
    }

    /// Delegated v2 claims.
    pub fn user_claims(&self, tid: &str, scp: &str, upn: &str) -> Value {
        let now = self.now();
        json!({
            "aud": "8ee8fdad-f234-4243-8f3b-15c294843740",
            "iss": format!("https://login.microsoftonline.com/{tid}/v2.0"),
            "iat": now, "nbf": now, "exp": now + 3600,
            "azp": APP_ID, "azpacr": "0",
            "oid": USER_ID,
            "preferred_username": upn,
            "scp": scp,
            "tid": tid, "ver": "2.0"
        })
    }

    pub fn app_token(&self, tid: &str, roles: &[&str]) -> String {
        sign(&self.app_claims(tid, roles))
    }

    pub fn reader(&self, tid: &str) -> String {
        self.app_token(tid, &["Incident.Read.All"])
    }

    pub fn writer(&self, tid: &str) -> String {
        self.app_token(tid, &["Incident.ReadWrite.All"])
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<(&str, &str)>,
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "api.security.microsoft.com");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some((ctype, b)) => {
                if !ctype.is_empty() {
                    req = req.header("content-type", ctype);
                }
                req.body(Body::from(b.to_string()))
            }
            None => req.body(Body::empty()),
        }
        .expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("json body")
        };
        Reply {
            status,
            headers,
            json,
        }
    }

    pub async fn get(&self, uri: &str, token: &str) -> Reply {
        self.call(Method::GET, uri, Some(token), None).await
    }

    pub async fn patch(&self, uri: &str, token: &str, body: &str) -> Reply {
        self.call(
            Method::PATCH,
            uri,
            Some(token),
            Some(("application/json", body)),
        )
        .await
    }
}

pub fn sign(claims: &Value) -> String {
    sign_with(claims, &key().encoding, Some(KID))
}

pub fn sign_with(claims: &Value, key: &EncodingKey, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    pub fn expect_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.json);
        assert_eq!(self.code(), code, "{}", self.json);
        let target = self.json["error"]["target"].as_str().expect("target");
        assert!(uuid_like(target), "target {target}");
        assert!(self.json["error"]["message"].is_string());
    }
}

pub fn uuid_like(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// `YYYY-MM-DDTHH:MM:SS.fffffffZ`.
pub fn is_wire_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 28
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[27] == b'Z'
        && s[20..27].bytes().all(|c| c.is_ascii_digit())
}

/// Strips scheme and host from a nextLink.
pub fn path_of(link: &str) -> String {
    let rest = link.strip_prefix("https://").expect("https link");
    let slash = rest.find('/').expect("path");
    rest[slash..].to_string()
}
