//! Client-credentials tokens from the v1 and v2 endpoints, verified against the published
//! keys, against the real server over HTTPS.

use crate::common::*;
use palisade_clock::Clock;
use serde_json::{json, Value};
use time::Duration;

const MTP: &str = "https://api.security.microsoft.com";
const MTP_APP_ID: &str = "8ee8fdad-f234-4243-8f3b-15c294843740";

#[tokio::test]
async fn v1_token_has_the_documented_shape_and_verifies_against_jwks() {
    let t = start().await;
    let app = t
        .app(&["Incident.Read.All", "AdvancedHunting.Read.All"])
        .await;
    let now = t.clock.now().unix_timestamp();
    let (s, headers, body) = t
        .post_form(
            &format!("/{}/oauth2/token", app.tenant_id),
            &[
                ("resource", MTP),
                ("client_id", &app.client_id),
                ("client_secret", &app.secret),
                ("grant_type", "client_credentials"),
                ("x-client-SKU", "MSAL.Python"),
                ("client_info", "1"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store, no-cache");
    assert_eq!(headers["pragma"], "no-cache");
    // v1: numbers are strings.
    for k in ["expires_in", "ext_expires_in", "expires_on", "not_before"] {
        assert!(body[k].is_string(), "{k} must be a string: {body}");
    }
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["resource"], MTP);
    assert!(body.get("refresh_token").is_none());
    let expires_in: i64 = body["expires_in"].as_str().unwrap().parse().unwrap();
    assert!((3600..=5400).contains(&expires_in), "{expires_in}");
    assert_eq!(
        body["not_before"].as_str().unwrap().parse::<i64>().unwrap(),
        now
    );
    assert_eq!(
        body["expires_on"].as_str().unwrap().parse::<i64>().unwrap(),
        now + expires_in
    );

    let token = body["access_token"].as_str().unwrap();
    let (header, claims) = decode(token);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], header["x5t"]);
    let tid = &app.tenant_id;
    assert_eq!(claims["aud"], MTP);
    assert_eq!(claims["iss"], format!("https://sts.windows.net/{tid}/"));
    assert_eq!(claims["idp"], claims["iss"]);
    assert_eq!(claims["tid"], tid.as_str());
    assert_eq!(claims["appid"], app.client_id.as_str());
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(
        claims["roles"],
        json!(["AdvancedHunting.Read.All", "Incident.Read.All"])
    );
    assert_eq!(claims["sub"], claims["oid"]);
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["nbf"], now);
    assert_eq!(claims["exp"], now + expires_in);
    assert!(claims["uti"].is_string() && claims["aio"].is_string() && claims["rh"].is_string());
    assert!(claims.get("scp").is_none() && claims.get("azp").is_none());

    // The oid is the app's service principal in this tenant.
    let (_, sps) = t
        .admin(
            reqwest::Method::GET,
            &format!("/admin/{tid}/v1.0/servicePrincipals"),
            None,
        )
        .await;
    let sp = sps["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["appId"] == app.client_id.as_str())
        .unwrap();
    assert_eq!(claims["oid"], sp["id"]);

    for jwks_path in [
        format!("/{tid}/discovery/keys"),
        "/common/discovery/keys".into(),
        format!("/{}/discovery/v2.0/keys", app.domain),
    ] {
        let jwks = t.jwks(&jwks_path).await;
        verify_with_jwks(token, &jwks).unwrap_or_else(|e| panic!("{jwks_path}: {e}"));
    }
    // A flipped payload byte fails verification: the check above is real.
    let jwks = t.jwks("/common/discovery/keys").await;
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    let mut claims2 = claims.clone();
    claims2["roles"] = json!(["Incident.ReadWrite.All"]);
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        claims2.to_string(),
    );
    assert!(verify_with_jwks(&parts.join("."), &jwks).is_err());
}

#[tokio::test]
async fn v2_token_via_basic_auth_uses_integers_and_stays_v1_for_defender() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", app.client_id, app.secret),
    );
    let resp = t
        .http
        .post(t.url(&format!("/{}/oauth2/v2.0/token", app.domain)))
        .header("authorization", format!("Basic {basic}"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "https://api.security.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["expires_in"].is_i64() && body["ext_expires_in"].is_i64(),
        "{body}"
    );
    assert!(body.get("resource").is_none() && body.get("expires_on").is_none());
    let (header, claims) = decode(body["access_token"].as_str().unwrap());
    assert_eq!(header["x5t"], header["kid"]);
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["aud"], MTP);
    assert_eq!(
        claims["tid"],
        app.tenant_id.as_str(),
        "a domain path resolves to the tenant GUID"
    );
    verify_with_jwks(
        body["access_token"].as_str().unwrap(),
        &t.jwks("/discovery/v2.0/keys").await,
    )
    .unwrap();
}

#[tokio::test]
async fn every_accepted_form_of_the_defender_resource_works() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    for (resource, aud) in [
        ("https://api.security.microsoft.com", MTP),
        ("https://api.security.microsoft.com/", MTP),
        ("HTTPS://API.SECURITY.MICROSOFT.COM", MTP),
        (
            "https://security.microsoft.com/mtp",
            "https://security.microsoft.com/mtp",
        ),
        (
            "https://security.microsoft.com/mtp/",
            "https://security.microsoft.com/mtp",
        ),
        (MTP_APP_ID, MTP_APP_ID),
        (&format!("api://{MTP_APP_ID}"), MTP_APP_ID),
    ] {
        let (s, v1) = t.v1_token(&app, resource).await;
        assert_eq!(s, 200, "v1 {resource}: {v1}");
        assert_eq!(v1["resource"], resource);
        assert_eq!(
            decode(v1["access_token"].as_str().unwrap()).1["aud"],
            aud,
            "v1 {resource}"
        );
        let scope = format!("{resource}/.default");
        let (s, v2) = t.v2_token(&app, &scope).await;
        assert_eq!(s, 200, "v2 {scope}: {v2}");
        let claims = decode(v2["access_token"].as_str().unwrap()).1;
        assert_eq!(claims["aud"], aud, "v2 {scope}");
        assert_eq!(claims["roles"], json!(["Incident.Read.All"]));
    }
    // Trailing-slash resources need a double slash before .default; it is accepted.
    let (s, v) = t
        .v2_token(&app, "https://security.microsoft.com/mtp//.default")
        .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn an_app_without_grants_gets_a_token_without_roles() {
    let t = start().await;
    let app = t.app(&[]).await;
    let (s, v) = t.v1_token(&app, MTP).await;
    assert_eq!(s, 200, "{v}");
    let claims = decode(v["access_token"].as_str().unwrap()).1;
    assert!(
        claims.get("roles").is_none(),
        "roles omitted when nothing is granted: {claims}"
    );
    // The Defender for Endpoint resource of the docs' curl sample exists too.
    let (s, v) = t
        .v2_token(
            &app,
            "https://securitycenter.onmicrosoft.com/windowsatpservice/.default",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        decode(v["access_token"].as_str().unwrap()).1["aud"],
        "https://securitycenter.onmicrosoft.com/windowsatpservice"
    );
}

#[tokio::test]
async fn secret_expiry_follows_the_clock() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    let end = (t.clock.now() + Duration::hours(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (s, short) = t
        .admin(
            reqwest::Method::POST,
            &format!(
                "/admin/{}/v1.0/applications/{}/addPassword",
                app.tenant_id, app.object_id
            ),
            Some(json!({"passwordCredential": {"displayName": "short", "endDateTime": end}})),
        )
        .await;
    assert_eq!(s, 200);
    let short_app = crate::common::App {
        secret: short["secretText"].as_str().unwrap().into(),
        ..app
    };
    assert_eq!(t.v1_token(&short_app, MTP).await.0, 200);
    t.clock.advance(Duration::hours(2) + Duration::seconds(1));
    let (s, body) = t.v1_token(&short_app, MTP).await;
    assert_aad_error(s, &body, 401, "invalid_client", 7000222);
    // The token's own times follow the injected clock too.
    let (s, _, body) = t
        .post_form(
            &format!("/{}/oauth2/token", short_app.tenant_id),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &short_app.client_id),
                ("client_secret", "x"),
                ("resource", MTP),
            ],
        )
        .await;
    assert_aad_error(s, &body, 401, "invalid_client", 7000215);
    assert_eq!(
        body["timestamp"],
        palisade_authority::error::format_timestamp(t.clock.now()),
        "error timestamps use the injected clock"
    );
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid_until_they_expire() {
    let t = start().await;
    let app = t.app(&["Incident.Read.All"]).await;
    let old = t.v1_token(&app, MTP).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let old_kid = decode(&old).0["kid"].as_str().unwrap().to_string();

    let (s, keys) = t
        .admin(reqwest::Method::POST, "/admin/keys/rotate", None)
        .await;
    assert_eq!(s, 200, "{keys}");
    let new = t.v1_token(&app, MTP).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let new_kid = decode(&new).0["kid"].as_str().unwrap().to_string();
    assert_ne!(old_kid, new_kid, "new tokens are signed with the new key");

    let jwks = t.jwks("/common/discovery/keys").await;
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "both keys are published during rotation"
    );
    verify_with_jwks(&old, &jwks).unwrap();
    verify_with_jwks(&new, &jwks).unwrap();

    // After the longest token lifetime plus skew the old key is no longer published.
    t.clock.advance(Duration::minutes(96));
    let jwks = t.jwks("/common/discovery/keys").await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [new_kid.as_str()]);
    assert!(verify_with_jwks(&old, &jwks).is_err());
    verify_with_jwks(&new, &jwks).unwrap();
    // The signing key survives a restart of the key manager (it lives in the store).
    let (_, listed) = t.admin(reqwest::Method::GET, "/admin/keys", None).await;
    let active: Vec<&Value> = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["active"] == true)
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["kid"], new_kid.as_str());
}

#[tokio::test]
async fn tokens_carry_only_the_tenant_they_were_issued_in() {
    let t = start().await;
    let (a, _) = t.tenant("Alpha").await;
    let (b, _) = t.tenant("Beta").await;
    let (c, _) = t.tenant("Gamma").await;
    let partner = t
        .app_in(&a, "AzureADMultipleOrgs", &["Incident.Read.All"])
        .await;
    // Admin consent in B (different roles), none in C.
    let (s, g) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{b}/grants"),
            Some(json!({"appId": partner.client_id, "permissions": ["AdvancedHunting.Read.All"]})),
        )
        .await;
    assert_eq!(s, 201, "{g}");

    let in_a = decode(
        t.v1_token(&partner, MTP).await.1["access_token"]
            .as_str()
            .unwrap(),
    )
    .1;
    let for_b = crate::common::App {
        tenant_id: b.clone(),
        ..partner
    };
    let in_b = decode(
        t.v1_token(&for_b, MTP).await.1["access_token"]
            .as_str()
            .unwrap(),
    )
    .1;
    assert_eq!(in_a["tid"], a.as_str());
    assert_eq!(in_a["iss"], format!("https://sts.windows.net/{a}/"));
    assert_eq!(in_a["roles"], json!(["Incident.Read.All"]));
    assert_eq!(in_b["tid"], b.as_str());
    assert_eq!(in_b["iss"], format!("https://sts.windows.net/{b}/"));
    assert_eq!(in_b["idp"], format!("https://sts.windows.net/{b}/"));
    assert_eq!(
        in_b["roles"],
        json!(["AdvancedHunting.Read.All"]),
        "roles are per tenant"
    );
    assert_ne!(in_a["oid"], in_b["oid"], "one service principal per tenant");
    assert_eq!(in_a["appid"], in_b["appid"]);
    for claims in [&in_a, &in_b] {
        let text = claims.to_string();
        let other = if claims["tid"] == a.as_str() { &b } else { &a };
        assert!(
            !text.contains(other.as_str()),
            "a token names no other tenant: {text}"
        );
    }
    // No consent in C: the app does not exist there.
    let for_c = crate::common::App {
        tenant_id: c.clone(),
        ..for_b
    };
    let (s, body) = t.v1_token(&for_c, MTP).await;
    assert_aad_error(s, &body, 400, "unauthorized_client", 700016);

    // A single-tenant app cannot be used (or provisioned) outside its home tenant.
    let home = t.app_in(&a, "AzureADMyOrg", &["Incident.Read.All"]).await;
    let (s, body) = t
        .v1_token(
            &crate::common::App {
                tenant_id: b.clone(),
                ..home
            },
            MTP,
        )
        .await;
    assert_aad_error(s, &body, 400, "unauthorized_client", 700016);
}
