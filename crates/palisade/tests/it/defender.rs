//! The Defender incidents API end to end: real tokens from the authority, over HTTPS, with
//! the SDK and raw HTTP, including forged tokens, permissions, quotas and tenant isolation.

use crate::common::*;
use futures::StreamExt;
use palisade_client::{
    ClientSecretCredential, DefenderClient, HttpConfig, IncidentFilter, IncidentQuery, RetryPolicy,
    TokenEndpointVersion,
};
use palisade_clock::{Clock, SharedClock};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;
use time::Duration;

const MTP: &str = "https://api.security.microsoft.com";

async fn seed(t: &TestServer, tenant: &str, count: usize) {
    let clock: SharedClock = Arc::new(t.clock.clone());
    palisade_defender::seed_demo_incidents(&t.server.store, tenant, &clock, count)
        .await
        .expect("seed");
}

async fn token(t: &TestServer, app: &App) -> String {
    let (s, v) = t.v1_token(app, MTP).await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

async fn api(
    t: &TestServer,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = t.http.request(method, t.url(path)).bearer_auth(bearer);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let s = resp.status().as_u16();
    let h = resp.headers().clone();
    (s, h, resp.json().await.unwrap_or(Value::Null))
}

fn assert_defender_error(status: u16, body: &Value, expected: u16, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        uuid::Uuid::parse_str(body["error"]["target"].as_str().unwrap_or("")).is_ok(),
        "{body}"
    );
}

fn sdk(t: &TestServer, app: &App) -> DefenderClient {
    let ca = std::fs::read(t.server.ca_path.as_ref().unwrap()).unwrap();
    let http = HttpConfig::new()
        .add_root_certificate_pem(&ca)
        .unwrap()
        .build()
        .unwrap();
    let cred = ClientSecretCredential::builder(&app.tenant_id, &app.client_id, &app.secret)
        .authority_host(t.server.base_url.clone())
        .endpoint_version(TokenEndpointVersion::V2)
        .http_client(http.clone())
        .build()
        .unwrap();
    DefenderClient::builder(cred)
        .api_base(t.server.base_url.clone())
        .http_client(http)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn forged_expired_and_misdirected_tokens_are_401() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    seed(&t, &app.tenant_id, 5).await;
    let good = token(&t, &app).await;
    let (s, _, body) = api(&t, reqwest::Method::GET, "/api/incidents", &good, None).await;
    assert_eq!(s, 200, "{body}");

    let (h, c) = decode(&good);
    let b64 = |v: &Value| {
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            v.to_string(),
        )
    };
    let sig = good.rsplit('.').next().unwrap();
    let mut forged = Vec::new();
    // Claims changed under the original signature.
    let mut c2 = c.clone();
    c2["roles"] = json!(["Incident.ReadWrite.All"]);
    forged.push(("tampered claims", format!("{}.{}.{sig}", b64(&h), b64(&c2))));
    // alg none, and HS256 keyed with the public key material.
    let mut none = h.clone();
    none["alg"] = json!("none");
    forged.push(("alg none", format!("{}.{}.", b64(&none), b64(&c))));
    let jwks = t.jwks("/common/discovery/keys").await;
    let n = jwks["keys"][0]["n"].as_str().unwrap();
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: h["kid"].as_str().map(String::from),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &c,
        &jsonwebtoken::EncodingKey::from_secret(n.as_bytes()).expect("hmac key"),
    )
    .unwrap();
    forged.push(("HS256 with the public modulus", hs));
    // A token signed by another RSA key that claims the published kid.
    let other = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let der = rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_der(&other).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = h["kid"].as_str().map(String::from);
    forged.push((
        "other key, same kid",
        jsonwebtoken::encode(
            &header,
            &c,
            &jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
        )
        .unwrap(),
    ));
    header.kid = Some("unknown-kid".into());
    forged.push((
        "unknown kid",
        jsonwebtoken::encode(
            &header,
            &c,
            &jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
        )
        .unwrap(),
    ));
    forged.push(("garbage", "not.a.jwt".into()));
    for (name, tok) in &forged {
        let (s, headers, body) = api(&t, reqwest::Method::GET, "/api/incidents", tok, None).await;
        assert_defender_error(s, &body, 401, "Unauthorized");
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("invalid_token"),
            "{name}: {challenge}"
        );
    }
    // Missing header.
    let resp = t.http.get(t.url("/api/incidents")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));

    // A real token for another audience (the Defender for Endpoint resource) is refused.
    let (s, v) = t
        .v2_token(
            &app,
            "https://securitycenter.onmicrosoft.com/windowsatpservice/.default",
        )
        .await;
    assert_eq!(s, 200);
    let (s, _, body) = api(
        &t,
        reqwest::Method::GET,
        "/api/incidents",
        v["access_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_defender_error(s, &body, 401, "Unauthorized");

    // Expired: past exp plus the 5-minute skew on the server's clock.
    let exp = c["exp"].as_i64().unwrap();
    t.clock.advance(Duration::seconds(
        exp - t.clock.now().unix_timestamp() + 301,
    ));
    let (s, _, body) = api(&t, reqwest::Method::GET, "/api/incidents", &good, None).await;
    assert_defender_error(s, &body, 401, "Unauthorized");
    // A token minted now works again.
    let fresh = token(&t, &app).await;
    assert_eq!(
        api(&t, reqwest::Method::GET, "/api/incidents", &fresh, None)
            .await
            .0,
        200
    );
    // Not yet valid: move the clock back before its nbf (minus skew).
    t.clock.advance(Duration::minutes(-10));
    let (s, _, body) = api(&t, reqwest::Method::GET, "/api/incidents", &fresh, None).await;
    assert_defender_error(s, &body, 401, "Unauthorized");
}

#[tokio::test]
async fn tokens_of_retired_keys_are_refused() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    let old = token(&t, &app).await;
    assert_eq!(
        t.admin(reqwest::Method::POST, "/admin/keys/rotate", None)
            .await
            .0,
        200
    );
    // Still valid while the old key is published.
    assert_eq!(
        api(&t, reqwest::Method::GET, "/api/incidents", &old, None)
            .await
            .0,
        200
    );
    // A token from the new key is accepted at once.
    let from_new_key = token(&t, &app).await;
    assert_eq!(
        api(
            &t,
            reqwest::Method::GET,
            "/api/incidents",
            &from_new_key,
            None
        )
        .await
        .0,
        200
    );
    // After retirement (95 min) the old key is no longer published; a fresh token from the
    // new key works.
    t.clock.advance(Duration::minutes(96));
    let (s, _, body) = api(&t, reqwest::Method::GET, "/api/incidents", &old, None).await;
    assert_defender_error(s, &body, 401, "Unauthorized");
    let newer = token(&t, &app).await;
    assert_eq!(
        api(&t, reqwest::Method::GET, "/api/incidents", &newer, None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn permissions_are_checked_per_operation() {
    let t = start().await;
    let reader = t.app(&["Incident.Read.All"]).await;
    seed(&t, &reader.tenant_id, 3).await;
    let hunter = t
        .app_in(
            &reader.tenant_id,
            "AzureADMyOrg",
            &["AdvancedHunting.Read.All"],
        )
        .await;
    let nothing = t.app_in(&reader.tenant_id, "AzureADMyOrg", &[]).await;

    let tok = token(&t, &hunter).await;
    let (s, _, body) = api(&t, reqwest::Method::GET, "/api/incidents", &tok, None).await;
    assert_defender_error(s, &body, 403, "Forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Incident.Read.All"),
        "{body}"
    );
    let tok = token(&t, &nothing).await;
    assert_defender_error(
        api(&t, reqwest::Method::GET, "/api/incidents/1", &tok, None)
            .await
            .0,
        &api(&t, reqwest::Method::GET, "/api/incidents/1", &tok, None)
            .await
            .2,
        403,
        "Forbidden",
    );

    let tok = token(&t, &reader).await;
    let (s, _, list) = api(&t, reqwest::Method::GET, "/api/incidents", &tok, None).await;
    assert_eq!(s, 200);
    let id = list["value"][0]["incidentId"].as_i64().unwrap();
    let (s, _, body) = api(
        &t,
        reqwest::Method::PATCH,
        &format!("/api/incidents/{id}"),
        &tok,
        Some(json!({"status": "Resolved"})),
    )
    .await;
    assert_defender_error(s, &body, 403, "Forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Incident.ReadWrite.All"),
        "{body}"
    );

    // Granting the write role (a new token) allows the update.
    let (s, _) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{}/grants", reader.tenant_id),
            Some(json!({"appId": reader.client_id, "permissions": ["Incident.ReadWrite.All"]})),
        )
        .await;
    assert_eq!(s, 201);
    let tok = token(&t, &reader).await;
    let (s, _, body) = api(
        &t,
        reqwest::Method::PATCH,
        &format!("/api/incidents/{id}"),
        &tok,
        Some(json!({"status": "Resolved", "comment": "closed by test"})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "Resolved");
    assert_eq!(
        body["@odata.context"],
        "https://api.security.microsoft.com/api/$metadata#Incidents/$entity"
    );
    let comment = body["comments"].as_array().unwrap().last().unwrap();
    assert_eq!(comment["comment"], "closed by test");
    assert_eq!(comment["createdBy"], reader.client_id.as_str());
}

#[tokio::test]
async fn the_sdk_pages_through_everything_and_tenants_are_isolated() {
    let t = start().await;
    let a = t.app(&["Incident.ReadWrite.All"]).await;
    let b = t.app(&["Incident.ReadWrite.All"]).await;
    seed(&t, &a.tenant_id, 230).await;
    seed(&t, &b.tenant_id, 210).await;

    let client_a = sdk(&t, &a);
    let all: Vec<_> = client_a
        .list_incidents(IncidentQuery::new().page_size(37))
        .collect()
        .await;
    let ids: Vec<i64> = all.into_iter().map(|i| i.unwrap().incident_id).collect();
    assert_eq!(ids.len(), 230);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        230,
        "no duplicates"
    );

    // Tenant B's incidents are invisible to A: list, get and update.
    let client_b = sdk(&t, &b);
    let b_ids: Vec<i64> = client_b
        .list_all_incidents(IncidentQuery::new())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.incident_id)
        .collect();
    assert_eq!(b_ids.len(), 210);
    let tok_a = token(&t, &a).await;
    let b_only: Vec<i64> = b_ids
        .iter()
        .copied()
        .filter(|id| !ids.contains(id))
        .collect();
    for id in b_only.iter().take(5) {
        let (s, _, body) = api(
            &t,
            reqwest::Method::GET,
            &format!("/api/incidents/{id}"),
            &tok_a,
            None,
        )
        .await;
        assert_defender_error(s, &body, 404, "ResourceNotFound");
        let (s, _, _) = api(
            &t,
            reqwest::Method::PATCH,
            &format!("/api/incidents/{id}"),
            &tok_a,
            Some(json!({"assignedTo": "attacker@evil.example"})),
        )
        .await;
        assert_eq!(s, 404);
    }
    // Incident ids are per tenant, so the same id may exist in both; then A sees its own.
    if let Some(shared) = ids.iter().find(|id| b_ids.contains(id)) {
        let (s, _, own) = api(
            &t,
            reqwest::Method::GET,
            &format!("/api/incidents/{shared}"),
            &tok_a,
            None,
        )
        .await;
        assert_eq!(s, 200);
        let b_version = client_b.get_incident(*shared).await.unwrap();
        let a_version = client_a.get_incident(*shared).await.unwrap();
        assert_eq!(own["incidentId"].as_i64(), Some(*shared));
        assert_eq!(
            own["incidentName"].as_str(),
            a_version.incident_name.as_deref()
        );
        assert_eq!(b_version.incident_id, a_version.incident_id);
    }
    // B's data is unchanged by A's attempts.
    let after: Vec<_> = client_b
        .list_all_incidents(IncidentQuery::new())
        .await
        .unwrap();
    assert!(after
        .iter()
        .all(|i| i.assigned_to.as_deref() != Some("attacker@evil.example")));

    // The docs' hello-world filter through the SDK.
    let since = t.clock.now() - Duration::hours(48);
    let recent = client_a
        .list_all_incidents(IncidentQuery::new().filter(IncidentFilter::last_update_time_ge(since)))
        .await
        .unwrap();
    assert!(recent.iter().all(|i| i.last_update_time >= since));
    assert!(recent.len() < 230);
}

#[tokio::test]
async fn quotas_follow_the_injected_clock() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    seed(&t, &app.tenant_id, 3).await;
    let tok = token(&t, &app).await;
    for _ in 0..50 {
        assert_eq!(
            api(
                &t,
                reqwest::Method::GET,
                "/api/incidents?$top=1",
                &tok,
                None
            )
            .await
            .0,
            200
        );
    }
    let (s, headers, body) = api(
        &t,
        reqwest::Method::GET,
        "/api/incidents?$top=1",
        &tok,
        None,
    )
    .await;
    assert_eq!(s, 429, "{body}");
    assert_eq!(body["error"]["code"], "429");
    assert_eq!(
        body["error"]["message"],
        "API calls quota exceeded! maximum allowed 50 per 00:01:00"
    );
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Get has its own, higher per-minute quota.
    assert_eq!(
        api(&t, reqwest::Method::GET, "/api/incidents/1", &tok, None)
            .await
            .0,
        200
    );
    t.clock.advance(Duration::seconds(61));
    assert_eq!(
        api(
            &t,
            reqwest::Method::GET,
            "/api/incidents?$top=1",
            &tok,
            None
        )
        .await
        .0,
        200
    );
}

/// A list page is kept whole while its tenant's incidents are unchanged (BENCHMARKS.md,
/// issue 13); every write shows on the very next list: through the API (PATCH, comment),
/// straight into the database by another process, and never across tenants.
#[tokio::test]
async fn a_kept_list_page_shows_every_write_at_once() {
    let t = start().await;
    let a = t.app(&["Incident.ReadWrite.All"]).await;
    let b = t.app(&["Incident.ReadWrite.All"]).await;
    seed(&t, &a.tenant_id, 6).await;
    seed(&t, &b.tenant_id, 4).await;
    let (tok_a, tok_b) = (token(&t, &a).await, token(&t, &b).await);
    let list = |bearer: String| {
        let t = &t;
        async move {
            let resp = t
                .http
                .get(t.url("/api/incidents?$top=3"))
                .bearer_auth(bearer)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let length = resp.content_length();
            let body = resp.bytes().await.unwrap();
            assert_eq!(length, Some(body.len() as u64), "one body with its length");
            serde_json::from_slice::<Value>(&body).unwrap()
        }
    };
    let theirs_before = list(tok_b.clone()).await;
    let first = list(tok_a.clone()).await;
    assert_eq!(first, list(tok_a.clone()).await, "the same page again");
    assert!(first["@odata.nextLink"].as_str().is_some());
    let top = first["value"][0]["incidentId"].as_i64().unwrap();

    let (s, _, body) = api(
        &t,
        reqwest::Method::PATCH,
        &format!("/api/incidents/{top}"),
        &tok_a,
        Some(json!({"assignedTo": "kept@pages.example", "comment": "kept pages move"})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let patched = list(tok_a.clone()).await;
    assert_eq!(patched["value"][0]["assignedTo"], "kept@pages.example");
    let comments = patched["value"][0]["comments"].as_array().unwrap();
    assert!(
        comments.iter().any(|c| c["comment"] == "kept pages move"),
        "{comments:?}"
    );

    // Another process writes the row and then the comment.
    crate::snapshot::sql_from_another_process(
        &t,
        "UPDATE incidents SET assigned_to = 'elsewhere@pages.example' WHERE tenant_id = ? AND incident_id = ?",
        &[&a.tenant_id, &top.to_string()],
    );
    assert_eq!(
        list(tok_a.clone()).await["value"][0]["assignedTo"],
        "elsewhere@pages.example"
    );
    crate::snapshot::sql_from_another_process(
        &t,
        "UPDATE incident_comments SET comment = 'edited elsewhere' WHERE tenant_id = ? AND incident_id = ? AND comment = 'kept pages move'",
        &[&a.tenant_id, &top.to_string()],
    );
    let edited = list(tok_a.clone()).await;
    assert!(edited["value"][0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["comment"] == "edited elsewhere"));

    // The same request of another tenant gets that tenant's page, unchanged by A's writes.
    let theirs = list(tok_b.clone()).await;
    assert_eq!(theirs, theirs_before);
    assert_eq!(theirs["value"].as_array().unwrap().len(), 3);
    assert_ne!(theirs, edited);
}
