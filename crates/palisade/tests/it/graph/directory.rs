//! The directory at Graph's paths with Graph tokens.

use super::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

/// Provisioning a tenant through Graph's directory paths with a Graph token: an app, its
/// secret, its service principal, a Graph app role assigned from the resource's side,
/// the new app's token and call; then removePassword; permissions and audiences refused.
#[tokio::test]
async fn directory_at_graph_paths_provisions_a_tenant_with_graph_tokens() {
    let t = start().await;
    let admin = graph_app(
        &t,
        &[
            "Application.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
            "Organization.Read.All",
            "User.ReadWrite.All",
        ],
    )
    .await;
    seed(&t, &admin.tenant_id, 2).await;
    let token = graph_token(&t, &admin).await;

    let (s, v) = get(&t, "/v1.0/organization", &token).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["value"][0]["id"], admin.tenant_id.as_str());

    let (s, _, app) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/applications",
        &token,
        Some(json!({"displayName": "siem connector"})),
    )
    .await;
    assert_eq!(s, 201, "{app}");
    let (object_id, client_id) = (
        app["id"].as_str().unwrap().to_string(),
        app["appId"].as_str().unwrap().to_string(),
    );
    let (s, _, pw) = call(
        &t,
        reqwest::Method::POST,
        &format!("/v1.0/applications/{object_id}/addPassword"),
        &token,
        Some(json!({"passwordCredential": {"displayName": "rotation 1"}})),
    )
    .await;
    assert_eq!(s, 200, "{pw}");
    let secret = pw["secretText"].as_str().unwrap().to_string();
    let (s, _, sp) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/servicePrincipals",
        &token,
        Some(json!({"appId": client_id})),
    )
    .await;
    // Palisade creates the home tenant's service principal with the app (Graph does not):
    // a second one is a conflict, so read it from the list.
    assert!(s == 201 || s == 409, "{sp}");
    let (_, sps) = get(&t, "/v1.0/servicePrincipals", &token).await;
    let sp = sps["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["appId"] == client_id.as_str())
        .expect("the app's service principal")
        .clone();
    let graph_sp = sps["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["appId"] == "00000003-0000-0000-c000-000000000000")
        .expect("Graph SP")
        .clone();
    let role = graph_sp["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == "SecurityIncident.Read.All")
        .unwrap()
        .clone();
    assert_eq!(role["id"], "45cc0394-e837-488b-a098-1918f48d186c");
    let (s, _, asg) = call(
        &t,
        reqwest::Method::POST,
        &format!(
            "/v1.0/servicePrincipals/{}/appRoleAssignedTo",
            graph_sp["id"].as_str().unwrap()
        ),
        &token,
        Some(
            json!({"principalId": sp["id"], "resourceId": graph_sp["id"], "appRoleId": role["id"]}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{asg}");
    assert_eq!(asg["resourceDisplayName"], "Microsoft Graph");

    // The new app signs in and reads incidents with the role it was given.
    let new_app = App {
        tenant_id: admin.tenant_id.clone(),
        domain: admin.domain.clone(),
        client_id: client_id.clone(),
        object_id: object_id.clone(),
        secret: secret.clone(),
        key_id: pw["keyId"].as_str().unwrap().into(),
    };
    let new_token = graph_token(&t, &new_app).await;
    assert_eq!(
        decode(&new_token).1["roles"],
        json!(["SecurityIncident.Read.All"])
    );
    let (s, v) = get(&t, "/v1.0/security/incidents", &new_token).await;
    assert_eq!(s, 200, "{v}");
    // … but it may not manage the directory.
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/v1.0/applications",
        &new_token,
        None,
    )
    .await;
    assert_graph_error_directory(s, &h, &v);

    // removePassword: the secret stops working.
    let (s, _, v) = call(
        &t,
        reqwest::Method::POST,
        &format!("/v1.0/applications/{object_id}/removePassword"),
        &token,
        Some(json!({"keyId": pw["keyId"]})),
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let (s, v) = t.v2_token(&new_app, &format!("{GRAPH}/.default")).await;
    assert_eq!(s, 401, "{v}");

    // Users through Graph.
    let upn = format!("analyst@{}", admin.domain);
    let (s, _, u) = call(&t, reqwest::Method::POST, "/v1.0/users", &token,
        Some(json!({"accountEnabled": true, "displayName": "Analyst", "mailNickname": "analyst", "userPrincipalName": upn,
                    "passwordProfile": {"password": "Str0ng-Passw0rd!", "forceChangePasswordNextSignIn": false}}))).await;
    assert_eq!(s, 201, "{u}");

    // Another tenant's objects are not reachable; the listing is the tenant's own.
    let other = graph_app(&t, &["Application.ReadWrite.All"]).await;
    let other_token = graph_token(&t, &other).await;
    let (s, _, v) = call(
        &t,
        reqwest::Method::GET,
        &format!("/v1.0/applications/{object_id}"),
        &other_token,
        None,
    )
    .await;
    assert_eq!(s, 404, "{v}");
    let (_, v) = get(&t, "/v1.0/applications", &other_token).await;
    assert!(v["value"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["appId"] != client_id.as_str()));
    let (s, _, v) = call(
        &t,
        reqwest::Method::DELETE,
        &format!("/v1.0/applications/{object_id}"),
        &other_token,
        None,
    )
    .await;
    assert_eq!(s, 404, "{v}");

    // Without the directory permission, and with a Defender token: refused.
    let reader = graph_app(&t, &["SecurityIncident.Read.All"]).await;
    let reader_token = graph_token(&t, &reader).await;
    let (s, h, v) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/applications",
        &reader_token,
        Some(json!({"displayName": "x"})),
    )
    .await;
    assert_graph_error_directory(s, &h, &v);
    // AppRoleAssignment.ReadWrite.All alone is not enough (needs an application read permission too).
    let assigner = graph_app(&t, &["AppRoleAssignment.ReadWrite.All"]).await;
    let assigner_token = graph_token(&t, &assigner).await;
    let (s, h, v) = call(
        &t,
        reqwest::Method::POST,
        &format!(
            "/v1.0/servicePrincipals/{}/appRoleAssignedTo",
            graph_sp["id"].as_str().unwrap()
        ),
        &assigner_token,
        Some(
            json!({"principalId": sp["id"], "resourceId": graph_sp["id"], "appRoleId": role["id"]}),
        ),
    )
    .await;
    assert_graph_error_directory(s, &h, &v);
    grant(
        &t,
        &admin,
        "https://api.security.microsoft.com",
        &["Incident.Read.All"],
    )
    .await;
    let (_, d) = t
        .v1_token(&admin, "https://api.security.microsoft.com")
        .await;
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/v1.0/applications",
        d["access_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn delegated_directory_calls_need_an_admin_role() {
    let t = start().await;
    let ut = t.user_tenant(&[]).await;
    let (s, g) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{}/grants", ut.tenant_id),
            Some(
                json!({"appId": ut.client_id, "resource": "Microsoft Graph", "type": "Delegated",
                        "permissions": ["Application.ReadWrite.All", "User.Read"]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let ga = t.user_in(&ut, "ga", &["Global Administrator"], None).await;
    let reader = t.user_in(&ut, "greader", &["Global Reader"], None).await;
    let plain = t.user_in(&ut, "plain", &[], None).await;
    let token = |u: TestUser| {
        let t = &t;
        let ut = &ut;
        async move {
            let (s, v) = t
                .ropc(
                    &ut.tenant_id,
                    &ut.client_id,
                    &u.upn,
                    &u.password,
                    &format!("{GRAPH}/.default"),
                )
                .await;
            assert_eq!(s, 200, "{v}");
            v["access_token"].as_str().unwrap().to_string()
        }
    };
    let (ga_t, reader_t, plain_t) = (token(ga).await, token(reader).await, token(plain).await);
    let (s, _, v) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/applications",
        &ga_t,
        Some(json!({"displayName": "by ga"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, h, v) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/applications",
        &reader_t,
        Some(json!({"displayName": "by reader"})),
    )
    .await;
    assert_graph_error_directory(s, &h, &v);
    let (s, v) = get(&t, "/v1.0/applications", &reader_t).await;
    assert_eq!(s, 200, "{v}");
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/v1.0/applications",
        &plain_t,
        None,
    )
    .await;
    assert_graph_error_directory(s, &h, &v);
    // Any signed-in user with User.Read reads the organization.
    let (s, v) = get(&t, "/v1.0/organization", &plain_t).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn directory_paths_without_a_handler_answer_in_graph_shape() {
    let t = start().await;
    let app = graph_app(&t, &["Application.ReadWrite.All"]).await;
    let token = graph_token(&t, &app).await;
    // addKey is the admin API's certificate handler behind a Graph token: without a
    // registered certificate to sign the proof, Graph's answer is to PATCH keyCredentials.
    let cert = crate::certificates::Cert::new(aws_lc_rs::rsa::KeySize::Rsa2048);
    let add_key = format!("/v1.0/applications/{}/addKey", app.object_id);
    let key_body = |key: &crate::certificates::Cert, proof: Option<&str>| {
        json!({"keyCredential": {"@odata.type": "microsoft.graph.keyCredential", "type": "AsymmetricX509Cert",
                                 "usage": "Verify", "key": STANDARD.encode(&key.der)},
               "passwordCredential": null, "proof": proof})
    };
    let (s, h, v) = call(
        &t,
        reqwest::Method::POST,
        &add_key,
        &token,
        Some(key_body(&cert, None)),
    )
    .await;
    assert_graph_error(s, &h, &v, 400, "Request_BadRequest");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("PATCH"),
        "{v}"
    );
    let (s, _, v) = call(
        &t,
        reqwest::Method::PATCH,
        &format!("/v1.0/applications/{}", app.object_id),
        &token,
        Some(json!({"keyCredentials": [{"key": cert.pem()}]})),
    )
    .await;
    assert_eq!(s, 204, "{v}");
    // (addKey with a proof signed by that certificate is tested through the admin paths in
    // certificates.rs; the same handler answers here.)
    let (s, a) = get(&t, &format!("/v1.0/applications/{}", app.object_id), &token).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["keyCredentials"].as_array().map(Vec::len), Some(1), "{a}");
    let (s, h, v) = call(
        &t,
        reqwest::Method::PUT,
        &format!("/v1.0/applications/{}", app.object_id),
        &token,
        Some(json!({})),
    )
    .await;
    assert_graph_error(s, &h, &v, 405, "Request_BadRequest");
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        &format!("/v1.0/applications/{}/owners/x/y", app.object_id),
        &token,
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 400, "BadRequest");
    // Without a permission the same paths are refused first.
    let other = graph_app(&t, &["SecurityIncident.Read.All"]).await;
    let (s, h, v) = call(
        &t,
        reqwest::Method::POST,
        &format!("/v1.0/applications/{}/addKey", app.object_id),
        &graph_token(&t, &other).await,
        Some(json!({})),
    )
    .await;
    assert_graph_error(s, &h, &v, 403, "Authorization_RequestDenied");
}
