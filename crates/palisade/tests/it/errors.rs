//! Every token-endpoint failure returns Entra's error JSON with the right AADSTS code and
//! HTTP status, and changes nothing stored.

use crate::common::*;
use serde_json::{json, Value};

const MTP: &str = "https://api.security.microsoft.com";

async fn raw(t: &TestServer, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let resp = t
        .http
        .post(t.url(path))
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let s = resp.status().as_u16();
    (s, resp.json().await.unwrap_or(Value::Null))
}

/// A snapshot of everything the admin API can see, to prove failed calls change nothing.
async fn snapshot(t: &TestServer) -> Value {
    let (_, tenants) = t.admin(reqwest::Method::GET, "/admin/tenants", None).await;
    let mut all = vec![tenants.clone()];
    for tenant in tenants["value"].as_array().unwrap() {
        let id = tenant["id"].as_str().unwrap();
        for set in ["applications", "servicePrincipals"] {
            all.push(
                t.admin(
                    reqwest::Method::GET,
                    &format!("/admin/{id}/v1.0/{set}"),
                    None,
                )
                .await
                .1["value"]
                    .clone(),
            );
        }
    }
    all.push(t.admin(reqwest::Method::GET, "/admin/keys", None).await.1);
    json!(all)
}

#[tokio::test]
async fn each_failure_has_its_aadsts_code() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    let before = snapshot(&t).await;
    let tid = app.tenant_id.clone();
    let v1 = format!("/{tid}/oauth2/token");
    let v2 = format!("/{tid}/oauth2/v2.0/token");
    let id = app.client_id.as_str();
    let secret = app.secret.as_str();
    let cc = ("grant_type", "client_credentials");

    // (name, path, form, status, error, AADSTS code)
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, u16, &'a str, u64);
    let cases: Vec<Case> = vec![
        ("unknown tenant", "/no-such-tenant.onmicrosoft.com/oauth2/token".into(), vec![cc, ("client_id", id), ("client_secret", secret), ("resource", MTP)], 400, "invalid_request", 90002),
        ("unknown tenant guid", "/00000000-1111-2222-3333-444444444444/oauth2/v2.0/token".into(), vec![cc], 400, "invalid_request", 90002),
        ("unknown client", v1.clone(), vec![cc, ("client_id", "11111111-2222-3333-4444-555555555555"), ("client_secret", secret), ("resource", MTP)], 400, "unauthorized_client", 700016),
        ("client id not a guid", v1.clone(), vec![cc, ("client_id", "my-app"), ("client_secret", secret), ("resource", MTP)], 400, "unauthorized_client", 700016),
        ("wrong secret", v1.clone(), vec![cc, ("client_id", id), ("client_secret", "nope"), ("resource", MTP)], 401, "invalid_client", 7000215),
        ("secret id instead of value", v2.clone(), vec![cc, ("client_id", id), ("client_secret", &app.key_id), ("scope", "https://api.security.microsoft.com/.default")], 401, "invalid_client", 7000215),
        ("no secret", v1.clone(), vec![cc, ("client_id", id), ("resource", MTP)], 401, "invalid_client", 7000218),
        ("missing grant_type", v1.clone(), vec![("client_id", id), ("client_secret", secret), ("resource", MTP)], 400, "invalid_request", 900144),
        ("missing client_id", v1.clone(), vec![cc, ("client_secret", secret), ("resource", MTP)], 400, "invalid_request", 900144),
        ("missing resource (v1)", v1.clone(), vec![cc, ("client_id", id), ("client_secret", secret)], 400, "invalid_request", 900144),
        ("missing scope (v2)", v2.clone(), vec![cc, ("client_id", id), ("client_secret", secret)], 400, "invalid_request", 900144),
        ("unsupported grant", v1.clone(), vec![("grant_type", "magic"), ("client_id", id), ("client_secret", secret), ("resource", MTP)], 400, "unsupported_grant_type", 70003),
        ("unknown resource", v1.clone(), vec![cc, ("client_id", id), ("client_secret", secret), ("resource", "https://nothing.example.com")], 400, "invalid_resource", 500011),
        ("unknown resource (v2)", v2.clone(), vec![cc, ("client_id", id), ("client_secret", secret), ("scope", "api://nothing/.default")], 400, "invalid_resource", 500011),
        ("scope without .default", v2.clone(), vec![cc, ("client_id", id), ("client_secret", secret), ("scope", "https://api.security.microsoft.com/Incident.Read.All")], 400, "invalid_scope", 1002012),
        ("two resources", v2.clone(), vec![cc, ("client_id", id), ("client_secret", secret), ("scope", "https://api.security.microsoft.com/.default https://graph.microsoft.com/.default")], 400, "invalid_scope", 700022),
        ("only oidc scopes", v2.clone(), vec![cc, ("client_id", id), ("client_secret", secret), ("scope", "openid profile")], 400, "invalid_scope", 70011),
        ("resource on v2", v2.clone(), vec![cc, ("client_id", id), ("client_secret", secret), ("resource", MTP), ("scope", "https://api.security.microsoft.com/.default")], 400, "invalid_request", 901002),
        ("common tenant", "/common/oauth2/token".into(), vec![cc, ("client_id", id), ("client_secret", secret), ("resource", MTP)], 400, "invalid_request", 9001023),
        ("consumers tenant", "/consumers/oauth2/v2.0/token".into(), vec![cc, ("client_id", id), ("client_secret", secret), ("scope", "https://api.security.microsoft.com/.default")], 400, "invalid_request", 9001023),
    ];
    for (name, path, form, status, error, code) in cases {
        let (s, _, body) = t.post_form(&path, &form).await;
        assert_aad_error(s, &body, status, error, code);
        eprintln!("ok: {name}");
    }

    // Malformed bodies and wrong content types.
    let (s, body) = raw(
        &t,
        &v1,
        "application/x-www-form-urlencoded",
        "grant_type=client_credentials&client_id=%zz%",
    )
    .await;
    assert_aad_error(s, &body, 400, "invalid_request", 9002313);
    let (s, body) = raw(&t, &v1, "application/x-www-form-urlencoded", &format!("grant_type=client_credentials&client_id={id}&client_id={id}&client_secret=x&resource={MTP}")).await;
    assert_aad_error(s, &body, 400, "invalid_request", 9002313);
    let json_body = json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "resource": MTP}).to_string();
    let (s, body) = raw(&t, &v1, "application/json", &json_body).await;
    assert_aad_error(s, &body, 400, "invalid_request", 900144);
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("'grant_type'"));
    let (s, body) = raw(&t, &v1, "text/plain", "grant_type=client_credentials").await;
    assert_aad_error(s, &body, 400, "invalid_request", 900144);

    // Basic and body must agree; a secret may not be sent twice.
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{id}:{secret}"),
    );
    let resp = t
        .http
        .post(t.url(&v1))
        .header("authorization", format!("Basic {basic}"))
        .form(&[cc, ("client_secret", secret), ("resource", MTP)])
        .send()
        .await
        .unwrap();
    let s = resp.status().as_u16();
    assert_aad_error(
        s,
        &resp.json().await.unwrap(),
        400,
        "invalid_request",
        9002313,
    );

    // GET on a token endpoint.
    let resp = t.http.get(t.url(&v2)).send().await.unwrap();
    assert_eq!(resp.headers()["allow"], "POST, OPTIONS");
    let s = resp.status().as_u16();
    assert_aad_error(
        s,
        &resp.json().await.unwrap(),
        405,
        "invalid_request",
        900561,
    );

    // The client's correlation id is echoed.
    let cid = uuid::Uuid::new_v4().to_string();
    let resp = t
        .http
        .post(t.url(&v1))
        .header("client-request-id", &cid)
        .form(&[
            cc,
            ("client_id", id),
            ("client_secret", "bad"),
            ("resource", MTP),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["correlation_id"], cid.as_str());
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains(&format!("Correlation ID: {cid}")));

    assert_eq!(
        snapshot(&t).await,
        before,
        "failed requests change nothing stored"
    );
}

#[tokio::test]
async fn public_clients_may_not_present_secrets_and_certificates_are_not_registered() {
    let t = start().await;
    let (tid, _) = t.tenant("Pub").await;
    let (s, a) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{tid}/v1.0/applications"),
            Some(json!({"displayName": "cli", "isFallbackPublicClient": true})),
        )
        .await;
    assert_eq!(s, 201);
    let client_id = a["appId"].as_str().unwrap();
    let (s, _, body) = t
        .post_form(
            &format!("/{tid}/oauth2/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", "x"),
                ("resource", MTP),
            ],
        )
        .await;
    assert_aad_error(s, &body, 401, "invalid_client", 700025);
    // A public client cannot get a secret at all.
    let (s, e) = t
        .admin(
            reqwest::Method::POST,
            &format!(
                "/admin/{tid}/v1.0/applications/{}/addPassword",
                a["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(s, 400, "{e}");

    let app = t.app(&[]).await;
    let b64 = |v: Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let assertion = format!(
        "{}.{}.c2ln",
        b64(json!({"alg": "RS256", "x5t": "AAAAAAAAAAAAAAAAAAAAAAAAAAA"})),
        b64(json!({"iss": app.client_id, "sub": app.client_id}))
    );
    let (s, _, body) = t
        .post_form(
            &format!("/{}/oauth2/token", app.tenant_id),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.client_id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
                ("resource", MTP),
            ],
        )
        .await;
    // An app without certificates: whatever the assertion names is an unknown key.
    assert_aad_error(s, &body, 401, "invalid_client", 700027);
}
