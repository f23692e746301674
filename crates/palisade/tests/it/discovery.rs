//! OpenID configuration, JWKS and instance discovery documents.

use crate::common::*;
use serde_json::Value;

async fn get(t: &TestServer, path: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = t.http.get(t.url(path)).send().await.unwrap();
    let s = resp.status().as_u16();
    let h = resp.headers().clone();
    (s, h, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn openid_configuration_v2_and_v1() {
    let t = start().await;
    let (tid, domain) = t.tenant("Contoso").await;
    let base = &t.server.base_url;

    let (s, h, v2) = get(
        &t,
        &format!("/{domain}/v2.0/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(h["cache-control"], "max-age=86400, private");
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(
        v2["issuer"],
        format!("https://login.microsoftonline.com/{tid}/v2.0"),
        "issuer is the GUID even by domain"
    );
    assert_eq!(
        v2["token_endpoint"],
        format!("{base}/{domain}/oauth2/v2.0/token"),
        "endpoints echo the segment used"
    );
    assert_eq!(
        v2["jwks_uri"],
        format!("{base}/{domain}/discovery/v2.0/keys")
    );
    assert_eq!(
        v2["token_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic"
        ])
    );
    assert_eq!(
        v2["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(v2["tenant_region_scope"], "WW");
    for key in [
        "authorization_endpoint",
        "device_authorization_endpoint",
        "end_session_endpoint",
        "userinfo_endpoint",
        "claims_supported",
        "msgraph_host",
    ] {
        assert!(!v2[key].is_null(), "{key}");
    }
    // The jwks_uri it names works.
    let jwks_path = v2["jwks_uri"]
        .as_str()
        .unwrap()
        .strip_prefix(base.as_str())
        .unwrap()
        .to_string();
    let (s, _, jwks) = get(&t, &jwks_path).await;
    assert_eq!(s, 200);
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], key["x5t"]);
    assert_eq!(key["e"], "AQAB");
    assert_eq!(
        key["issuer"],
        "https://login.microsoftonline.com/{tenantid}/v2.0"
    );
    // 2048-bit modulus.
    let n = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        key["n"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(n.len(), 256);
    // kid = base64url SHA-1 of the x5c certificate.
    let der = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        key["x5c"][0].as_str().unwrap(),
    )
    .unwrap();
    use sha1::Digest;
    let thumb = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        sha1::Sha1::digest(&der),
    );
    assert_eq!(key["kid"], thumb.as_str());

    let (_, _, common) = get(&t, "/common/v2.0/.well-known/openid-configuration").await;
    assert_eq!(
        common["issuer"],
        "https://login.microsoftonline.com/{tenantid}/v2.0"
    );
    assert!(common["tenant_region_scope"].is_null());
    let (_, _, consumers) = get(&t, "/consumers/v2.0/.well-known/openid-configuration").await;
    assert_eq!(
        consumers["issuer"],
        "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
    );

    let (s, _, v1) = get(&t, &format!("/{tid}/.well-known/openid-configuration")).await;
    assert_eq!(s, 200);
    assert_eq!(v1["issuer"], format!("https://sts.windows.net/{tid}/"));
    assert_eq!(v1["token_endpoint"], format!("{base}/{tid}/oauth2/token"));
    assert_eq!(v1["jwks_uri"], format!("{base}/{tid}/discovery/keys"));
    assert_eq!(v1["microsoft_multi_refresh_token"], true);
    assert_eq!(v1["scopes_supported"], serde_json::json!(["openid"]));
    let (_, _, keys_v1) = get(&t, &format!("/{tid}/discovery/keys")).await;
    assert!(
        keys_v1["keys"][0].get("issuer").is_none(),
        "v1 keys carry no issuer"
    );
    let (_, _, common_v1) = get(&t, "/common/.well-known/openid-configuration").await;
    assert_eq!(common_v1["issuer"], "https://sts.windows.net/{tenantid}/");

    // Unknown tenants are AADSTS90002.
    let (s, _, e) = get(
        &t,
        "/nope.onmicrosoft.com/v2.0/.well-known/openid-configuration",
    )
    .await;
    assert_aad_error(s, &e, 400, "invalid_request", 90002);
    let (s, _, e) = get(&t, "/nope.onmicrosoft.com/discovery/keys").await;
    assert_aad_error(s, &e, 400, "invalid_request", 90002);
}

#[tokio::test]
async fn instance_discovery_validates_authorities() {
    let t = start().await;
    let port = t.server.addr.port();
    let ours = format!("localhost:{port}");
    let (s, _, v) = get(
        &t,
        &format!("/common/discovery/instance?api-version=1.1&authorization_endpoint=https://{ours}/contoso.onmicrosoft.com/oauth2/v2.0/authorize"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["api-version"], "1.1");
    assert_eq!(
        v["tenant_discovery_endpoint"],
        format!("https://{ours}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration")
    );
    assert_eq!(v["metadata"][0]["preferred_network"], ours.as_str());
    assert_eq!(v["metadata"][0]["aliases"], serde_json::json!([ours]));
    assert!(v["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["preferred_cache"] == "login.windows.net"));

    // A configured host name (server certificate name) is valid too; an unknown one is not.
    let (s, _, _) = get(&t, "/common/discovery/instance?api-version=1.1&authorization_endpoint=https://palisade.test/common/oauth2/authorize").await;
    assert_eq!(s, 200);
    let (s, _, e) = get(&t, "/common/discovery/instance?api-version=1.1&authorization_endpoint=https://evil.example.com/common/oauth2/v2.0/authorize").await;
    assert_aad_error(s, &e, 400, "invalid_instance", 50049);
    let (s, _, e) = get(&t, "/common/discovery/instance?api-version=1.1").await;
    assert_aad_error(s, &e, 400, "invalid_request", 50050);
}
