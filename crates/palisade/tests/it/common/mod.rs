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
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::starting_now();
    let config = ServerConfig {
        data_dir: dir.path().join("data"),
        listen: "127.0.0.1:0".parse().expect("addr"),
        plain_http: false,
        hostnames: vec!["palisade.test".into()],
        quotas: palisade_defender::QuotaConfig::default(),
        kek: Default::default(),
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
