//! Bearer validation, permissions and quotas through the router.

mod common;

use axum::http::{header, Method, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use palisade_defender::{QuotaConfig, QuotaLimit};
use serde_json::{json, Value};
use time::Duration;

const LIST: &str = "/api/incidents?$top=1";

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("object").remove(key);
    claims
}

async fn assert_unauthorized(h: &Harness, token: Option<&str>, what: &str) {
    let r = h.call(Method::GET, LIST, token, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.json);
    r.expect_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    let challenge = r
        .headers
        .get(header::WWW_AUTHENTICATE)
        .expect("challenge")
        .to_str()
        .expect("ascii");
    assert!(
        challenge.starts_with("Bearer authorization_uri=\"https://login.microsoftonline.com/"),
        "{challenge}"
    );
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("error_description=\""), "{challenge}");
}

#[tokio::test]
async fn valid_tokens_are_accepted_in_all_documented_forms() {
    let h = harness().await;
    let base = h.app_claims(TENANT_A, &["Incident.Read.All"]);
    let variants = [
        base.clone(),
        with(
            base.clone(),
            "aud",
            json!("https://api.security.microsoft.com/"),
        ),
        with(
            base.clone(),
            "aud",
            json!("https://security.microsoft.com/mtp"),
        ),
        with(
            base.clone(),
            "aud",
            json!("https://security.microsoft.com/mtp/"),
        ),
        with(
            base.clone(),
            "aud",
            json!("8ee8fdad-f234-4243-8f3b-15c294843740"),
        ),
        with(
            base.clone(),
            "aud",
            json!(["https://api.security.microsoft.com"]),
        ),
        with(
            base.clone(),
            "iss",
            json!(format!("https://login.microsoftonline.com/{TENANT_A}/v2.0")),
        ),
        // Within the five-minute skew.
        with(base.clone(), "exp", json!(h.now() - 240)),
        with(base.clone(), "nbf", json!(h.now() + 240)),
        without(base.clone(), "nbf"),
        h.user_claims(TENANT_A, "Incident.Read", "alice@contoso.onmicrosoft.com"),
    ];
    for (i, claims) in variants.iter().enumerate() {
        let r = h.get(LIST, &sign(claims)).await;
        assert_eq!(r.status, StatusCode::OK, "variant {i}: {}", r.json);
    }
}

#[tokio::test]
async fn every_validation_failure_is_401() {
    let h = harness().await;
    let base = h.app_claims(TENANT_A, &["Incident.Read.All"]);
    let good = sign(&base);

    // Missing / malformed.
    assert_unauthorized(&h, None, "no header").await;
    assert_unauthorized(&h, Some(""), "empty bearer").await;
    assert_unauthorized(&h, Some("not-a-jwt"), "garbage").await;
    assert_unauthorized(&h, Some("a.b.c.d"), "four parts").await;

    // Bad signature: payload altered after signing.
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).expect("b64")).expect("json");
    payload["roles"] = json!(["Incident.ReadWrite.All"]);
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).expect("json"));
    assert_unauthorized(&h, Some(&parts.join(".")), "tampered payload").await;
    // Signature bytes garbled.
    let garbled = format!(
        "{}.{}.{}",
        parts[0],
        good.split('.').nth(1).expect("p"),
        URL_SAFE_NO_PAD.encode([7u8; 256])
    );
    assert_unauthorized(&h, Some(&garbled), "garbled signature").await;

    // Signed by another key, with the published kid and with an unknown kid.
    assert_unauthorized(
        &h,
        Some(&sign_with(&base, &other_key().encoding, Some(KID))),
        "other key",
    )
    .await;
    assert_unauthorized(
        &h,
        Some(&sign_with(&base, &other_key().encoding, Some("other"))),
        "unknown kid",
    )
    .await;
    assert_unauthorized(&h, Some(&sign_with(&base, &key().encoding, None)), "no kid").await;

    // alg none.
    let none_header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": KID}).to_string());
    let body = URL_SAFE_NO_PAD.encode(base.to_string());
    assert_unauthorized(&h, Some(&format!("{none_header}.{body}.")), "alg none").await;
    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "None", "kid": KID}).to_string());
    assert_unauthorized(&h, Some(&format!("{none_header}.{body}.")), "alg None").await;

    // HS256 keyed with the public key (PEM and raw modulus bytes).
    for secret in [
        key().public_pem.as_bytes().to_vec(),
        URL_SAFE_NO_PAD.decode(&key().n).expect("n"),
    ] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(KID.into());
        let t = jsonwebtoken::encode(
            &header,
            &base,
            &EncodingKey::from_secret(&secret).expect("hmac key"),
        )
        .expect("hs256");
        assert_unauthorized(&h, Some(&t), "HS256 with public key").await;
    }
    // Other RSA-family algorithms are refused too, even with the right key.
    let mut header = Header::new(Algorithm::PS256);
    header.kid = Some(KID.into());
    let t = jsonwebtoken::encode(&header, &base, &key().encoding).expect("ps256");
    assert_unauthorized(&h, Some(&t), "PS256").await;
    let mut header = Header::new(Algorithm::RS512);
    header.kid = Some(KID.into());
    let t = jsonwebtoken::encode(&header, &base, &key().encoding).expect("rs512");
    assert_unauthorized(&h, Some(&t), "RS512").await;

    // Lifetime beyond the skew.
    let now = h.now();
    assert_unauthorized(
        &h,
        Some(&sign(&with(base.clone(), "exp", json!(now - 301)))),
        "expired",
    )
    .await;
    assert_unauthorized(
        &h,
        Some(&sign(&with(base.clone(), "nbf", json!(now + 301)))),
        "not yet valid",
    )
    .await;
    assert_unauthorized(&h, Some(&sign(&without(base.clone(), "exp"))), "no exp").await;
    assert_unauthorized(
        &h,
        Some(&sign(&with(base.clone(), "exp", json!("soon")))),
        "string exp",
    )
    .await;

    // Audience.
    for aud in [
        json!("https://graph.microsoft.com"),
        json!("https://api.securitycenter.microsoft.com"),
        json!("00000003-0000-0000-c000-000000000000"),
        json!(["https://graph.microsoft.com"]),
        json!(42),
    ] {
        assert_unauthorized(
            &h,
            Some(&sign(&with(base.clone(), "aud", aud.clone()))),
            &format!("aud {aud}"),
        )
        .await;
    }
    assert_unauthorized(&h, Some(&sign(&without(base.clone(), "aud"))), "no aud").await;

    // Issuer.
    for iss in [
        format!("https://sts.windows.net/{TENANT_B}/"),
        format!("https://login.microsoftonline.com/{TENANT_A}/"),
        format!("https://sts.windows.net/{TENANT_A}"),
        "https://evil.example/".to_string(),
    ] {
        assert_unauthorized(
            &h,
            Some(&sign(&with(base.clone(), "iss", json!(iss)))),
            &iss,
        )
        .await;
    }
    assert_unauthorized(&h, Some(&sign(&without(base.clone(), "iss"))), "no iss").await;

    // Tenant: unknown, not a GUID, missing.
    let unknown = "0c0c0c0c-3333-4333-8333-cccccccccccc";
    assert_unauthorized(
        &h,
        Some(&h.app_token(unknown, &["Incident.Read.All"])),
        "unknown tenant",
    )
    .await;
    assert_unauthorized(
        &h,
        Some(&h.app_token("contoso.onmicrosoft.com", &["Incident.Read.All"])),
        "domain as tid",
    )
    .await;
    assert_unauthorized(&h, Some(&sign(&without(base.clone(), "tid"))), "no tid").await;

    // The good token still works (nothing above poisoned the key cache).
    assert_eq!(h.get(LIST, &good).await.status, StatusCode::OK);
}

#[tokio::test]
async fn expiry_follows_the_injected_clock() {
    let h = harness().await;
    let token = h.reader(TENANT_A);
    assert_eq!(h.get(LIST, &token).await.status, StatusCode::OK);
    h.clock.advance(Duration::seconds(3600 + 299));
    assert_eq!(h.get(LIST, &token).await.status, StatusCode::OK);
    h.clock.advance(Duration::seconds(2));
    assert_unauthorized(&h, Some(&token), "expired by clock").await;
}

#[tokio::test]
async fn key_rotation_is_picked_up() {
    let h = harness().await;
    let rotated = sign_with(
        &h.app_claims(TENANT_A, &["Incident.Read.All"]),
        &other_key().encoding,
        Some("key-2"),
    );
    assert_unauthorized(&h, Some(&rotated), "not yet published").await;
    *h.keys.0.lock().expect("lock") = jwks_of(&[(KID, key()), ("key-2", other_key())]);
    assert_eq!(h.get(LIST, &rotated).await.status, StatusCode::OK);
    assert_eq!(
        h.get(LIST, &h.reader(TENANT_A)).await.status,
        StatusCode::OK
    );
    // Retiring the old key invalidates its tokens.
    *h.keys.0.lock().expect("lock") = jwks_of(&[("key-2", other_key())]);
    assert_unauthorized(&h, Some(&h.reader(TENANT_A)), "retired key").await;
}

#[tokio::test]
async fn missing_permissions_are_403() {
    let h = harness().await;
    // App token without a suitable role.
    for roles in [
        &[][..],
        &["AdvancedHunting.Read.All"][..],
        &["Incident.Read"][..],
    ] {
        let t = h.app_token(TENANT_A, roles);
        let r = h.get(LIST, &t).await;
        r.expect_error(StatusCode::FORBIDDEN, "Forbidden");
        assert!(r.json["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("Incident.Read.All"));
        h.get("/api/incidents/1", &t)
            .await
            .expect_error(StatusCode::FORBIDDEN, "Forbidden");
    }
    // No roles claim at all.
    let t = sign(&without(h.app_claims(TENANT_A, &[]), "roles"));
    h.get(LIST, &t)
        .await
        .expect_error(StatusCode::FORBIDDEN, "Forbidden");
    // Read-only role cannot update.
    let r = h
        .patch(
            "/api/incidents/1",
            &h.reader(TENANT_A),
            r#"{"status":"Active"}"#,
        )
        .await;
    r.expect_error(StatusCode::FORBIDDEN, "Forbidden");
    assert!(r.json["error"]["message"]
        .as_str()
        .expect("msg")
        .contains("Incident.ReadWrite.All"));
    // Delegated: scopes, not roles, count.
    let t = sign(&h.user_claims(TENANT_A, "User.Read", "alice@contoso.onmicrosoft.com"));
    let r = h.get(LIST, &t).await;
    r.expect_error(StatusCode::FORBIDDEN, "Forbidden");
    assert!(r.json["error"]["message"]
        .as_str()
        .expect("msg")
        .contains("Incident.Read"));
    let mut claims = h.user_claims(TENANT_A, "Incident.Read", "alice@contoso.onmicrosoft.com");
    claims["roles"] = json!(["Incident.ReadWrite.All"]);
    let r = h
        .patch("/api/incidents/1", &sign(&claims), r#"{"status":"Active"}"#)
        .await;
    r.expect_error(StatusCode::FORBIDDEN, "Forbidden");
    assert!(r.json["error"]["message"]
        .as_str()
        .expect("msg")
        .contains("Incident.ReadWrite"));
}

#[tokio::test]
async fn quotas_follow_the_clock() {
    let quotas = QuotaConfig {
        list_incidents: vec![QuotaLimit::per_minute(3), QuotaLimit::per_hour(5)],
        get_incident: vec![QuotaLimit::per_minute(100), QuotaLimit::per_hour(1500)],
        ..QuotaConfig::default()
    };
    let h = harness_with(quotas).await;
    let t = h.reader(TENANT_A);
    for _ in 0..3 {
        assert_eq!(h.get(LIST, &t).await.status, StatusCode::OK);
    }
    h.clock.advance(Duration::seconds(15));
    let r = h.get(LIST, &t).await;
    r.expect_error(StatusCode::TOO_MANY_REQUESTS, "429");
    assert_eq!(
        r.json["error"]["message"],
        "API calls quota exceeded! maximum allowed 3 per 00:01:00"
    );
    assert_eq!(
        r.headers.get(header::RETRY_AFTER).expect("retry-after"),
        "45"
    );
    // Another operation, another app and another tenant have their own counters.
    assert_eq!(h.get("/api/incidents/1", &t).await.status, StatusCode::OK);
    let mut other_app = h.app_claims(TENANT_A, &["Incident.Read.All"]);
    other_app["appid"] = json!("22222222-2222-4222-8222-222222222222");
    assert_eq!(h.get(LIST, &sign(&other_app)).await.status, StatusCode::OK);
    assert_eq!(
        h.get(LIST, &h.reader(TENANT_B)).await.status,
        StatusCode::OK
    );
    // The minute passes; the hour limit (5) then bites.
    h.clock.advance(Duration::seconds(45));
    assert_eq!(h.get(LIST, &t).await.status, StatusCode::OK);
    assert_eq!(h.get(LIST, &t).await.status, StatusCode::OK);
    let r = h.get(LIST, &t).await;
    r.expect_error(StatusCode::TOO_MANY_REQUESTS, "429");
    assert_eq!(
        r.json["error"]["message"],
        "API calls quota exceeded! maximum allowed 5 per 01:00:00"
    );
    assert_eq!(
        r.headers.get(header::RETRY_AFTER).expect("retry-after"),
        "3540"
    );
    // Invalid tokens never count against (or are judged by) the quota.
    assert_unauthorized(&h, Some("bad.token.here"), "bad token while throttled").await;
}

#[tokio::test]
async fn default_quota_is_100_per_minute_for_get() {
    let h = harness_with(QuotaConfig::default()).await;
    let t = h.reader(TENANT_A);
    for _ in 0..100 {
        assert_eq!(h.get("/api/incidents/1", &t).await.status, StatusCode::OK);
    }
    let r = h.get("/api/incidents/1", &t).await;
    r.expect_error(StatusCode::TOO_MANY_REQUESTS, "429");
    assert_eq!(
        r.json["error"]["message"],
        "API calls quota exceeded! maximum allowed 100 per 00:01:00"
    );
    for _ in 0..50 {
        assert_eq!(h.get(LIST, &t).await.status, StatusCode::OK);
    }
    h.get(LIST, &t)
        .await
        .expect_error(StatusCode::TOO_MANY_REQUESTS, "429");
}
