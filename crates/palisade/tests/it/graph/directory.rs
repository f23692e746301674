//! The directory at Graph's paths with Graph tokens.

use super::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use palisade_clock::Clock;
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

/// Delegated directory writes follow Entra's admin roles, not only Global Administrator:
/// Application Administrator and Cloud Application Administrator write applications,
/// User Administrator writes users, Privileged Role Administrator assigns roles; each only
/// its own area, and every one reads its area.
#[tokio::test]
async fn delegated_directory_writes_follow_the_admin_roles() {
    let t = start().await;
    let ut = t.user_tenant(&[]).await;
    let (s, g) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{}/grants", ut.tenant_id),
            Some(
                json!({"appId": ut.client_id, "resource": "Microsoft Graph", "type": "Delegated",
                        "permissions": ["Application.ReadWrite.All", "User.ReadWrite.All",
                                        "RoleManagement.ReadWrite.Directory", "User.Read"]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let token = |alias: &'static str, role: &'static str| {
        let t = &t;
        let ut = &ut;
        async move {
            let roles: &[&str] = if role.is_empty() { &[] } else { &[role] };
            let u = t.user_in(ut, alias, roles, None).await;
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
    let app_admin = token("appadmin", "Application Administrator").await;
    let cloud_admin = token("cloudadmin", "Cloud Application Administrator").await;
    let user_admin = token("useradmin", "User Administrator").await;
    let role_admin = token("roleadmin", "Privileged Role Administrator").await;
    let sec_admin = token("secadmin", "Security Administrator").await;
    let new_app = |n: &str| json!({"displayName": n});
    let new_user = |alias: &str| {
        json!({"accountEnabled": true, "displayName": alias, "mailNickname": alias,
               "userPrincipalName": format!("{alias}@{}", ut.domain),
               "passwordProfile": {"password": "Str0ng-Passw0rd!", "forceChangePasswordNextSignIn": false}})
    };
    let post = |path: &'static str, bearer: String, body: Value| {
        let t = &t;
        async move { call(t, reqwest::Method::POST, path, &bearer, Some(body)).await }
    };
    // Applications: the two application admin roles, not the others.
    for (who, tok) in [("app admin", &app_admin), ("cloud app admin", &cloud_admin)] {
        let (s, _, v) = post("/v1.0/applications", tok.clone(), new_app(who)).await;
        assert_eq!(s, 201, "{who}: {v}");
    }
    for tok in [&user_admin, &role_admin, &sec_admin] {
        let (s, h, v) = post("/v1.0/applications", tok.clone(), new_app("refused")).await;
        assert_graph_error_directory(s, &h, &v);
    }
    // Users: User Administrator only.
    let (s, _, v) = post(
        "/v1.0/users",
        user_admin.clone(),
        new_user("made-by-useradmin"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let new_id = v["id"].as_str().unwrap().to_string();
    for tok in [&app_admin, &role_admin, &sec_admin] {
        let (s, h, v) = post("/v1.0/users", tok.clone(), new_user("refused")).await;
        assert_graph_error_directory(s, &h, &v);
    }
    // Role assignments: Privileged Role Administrator, not User Administrator.
    let assignment = json!({"roleDefinitionId": "5d6b6bb7-de71-4623-b4af-96380a352509",
                            "principalId": new_id, "directoryScopeId": "/"});
    let (s, h, v) = post(
        "/v1.0/roleManagement/directory/roleAssignments",
        user_admin.clone(),
        assignment.clone(),
    )
    .await;
    assert_graph_error_directory(s, &h, &v);
    let (s, _, v) = post(
        "/v1.0/roleManagement/directory/roleAssignments",
        role_admin.clone(),
        assignment,
    )
    .await;
    assert_eq!(s, 201, "{v}");
    // Each reads its own area; not another's.
    let (s, v) = get(&t, "/v1.0/applications", &cloud_admin).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["value"].as_array().unwrap().len(), 3, "{v}");
    let (s, v) = get(&t, "/v1.0/users", &user_admin).await;
    assert_eq!(s, 200, "{v}");
    let (s, h, v) = call(&t, reqwest::Method::GET, "/v1.0/users", &app_admin, None).await;
    assert_graph_error_directory(s, &h, &v);
}

#[tokio::test]
async fn directory_paths_without_a_handler_answer_in_graph_shape() {
    let t = start().await;
    let app = graph_app(&t, &["Application.ReadWrite.All"]).await;
    let token = graph_token(&t, &app).await;
    // addKey is the admin API's certificate handler behind a Graph token: without a
    // registered certificate to sign the proof, Graph's answer is to PATCH keyCredentials.
    // The proof's certificate ends in a whitespace byte, which once made reading it back
    // from the store fail ("Invalid proof: An internal error occurred").
    let cert = crate::certificates::Cert::ending_in_whitespace();
    let second = crate::certificates::Cert::new(aws_lc_rs::rsa::KeySize::Rsa2048);
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
    // Then addKey with a proof signed by that certificate adds the second one.
    let now = t.clock.now().unix_timestamp();
    let proof = cert.sign(
        &json!({"alg": "RS256", "x5t": cert.x5t()}),
        &json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": app.object_id, "nbf": now,
                "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string()}),
    );
    let (s, _, k) = call(
        &t,
        reqwest::Method::POST,
        &add_key,
        &token,
        Some(key_body(&second, Some(&proof))),
    )
    .await;
    assert_eq!(s, 200, "{k}");
    assert!(
        uuid::Uuid::parse_str(k["keyId"].as_str().unwrap_or_default()).is_ok(),
        "{k}"
    );
    let (s, a) = get(&t, &format!("/v1.0/applications/{}", app.object_id), &token).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["keyCredentials"].as_array().map(Vec::len), Some(2), "{a}");
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

/// PATCH of an application's properties through Graph's path: each property lands, a bad
/// value (or certificate) anywhere in the body changes nothing, identifier URIs stay
/// unique; `GET appRoleAssignedTo` lists who holds a resource's roles.
#[tokio::test]
async fn application_properties_patch_and_app_role_assigned_to() {
    let t = start().await;
    let admin = graph_app(&t, &["Application.ReadWrite.All"]).await;
    let token = graph_token(&t, &admin).await;
    let create = |name: &str, uri: Option<String>| {
        let mut body = json!({"displayName": name});
        if let Some(u) = uri {
            body["identifierUris"] = json!([u]);
        }
        body
    };
    let (s, _, a) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/applications",
        &token,
        Some(create("Before", None)),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let path = format!("/v1.0/applications/{id}");
    let taken = format!("api://taken-{}", uuid::Uuid::new_v4());
    let (s, _, other) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/applications",
        &token,
        Some(create("Other", Some(taken.clone()))),
    )
    .await;
    assert_eq!(s, 201, "{other}");
    let own_uri = format!("api://own-{}", uuid::Uuid::new_v4());
    let patch = json!({
        "@odata.type": "#microsoft.graph.application",
        "displayName": "After",
        "signInAudience": "AzureADMultipleOrgs",
        "identifierUris": [own_uri],
        "web": {"redirectUris": ["https://app.example.com/signin-oidc"]},
        "publicClient": {"redirectUris": ["http://localhost"]},
        "spa": {"redirectUris": ["https://spa.example.com/"]},
        "requiredResourceAccess": [{"resourceAppId": "00000003-0000-0000-c000-000000000000",
            "resourceAccess": [{"id": "45cc0394-e837-488b-a098-1918f48d186c", "type": "Role"}]}],
        "api": {"requestedAccessTokenVersion": 2},
    });
    let (s, _, v) = call(&t, reqwest::Method::PATCH, &path, &token, Some(patch)).await;
    assert_eq!(s, 204, "{v}");
    let (s, got) = get(&t, &path, &token).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["displayName"], "After");
    assert_eq!(got["signInAudience"], "AzureADMultipleOrgs");
    assert_eq!(got["identifierUris"], json!([own_uri]));
    assert_eq!(
        got["web"]["redirectUris"],
        json!(["https://app.example.com/signin-oidc"])
    );
    assert_eq!(
        got["publicClient"]["redirectUris"],
        json!(["http://localhost"])
    );
    assert_eq!(
        got["spa"]["redirectUris"],
        json!(["https://spa.example.com/"])
    );
    assert_eq!(
        got["requiredResourceAccess"][0]["resourceAccess"][0]["type"],
        "Role"
    );
    assert_eq!(got["api"]["requestedAccessTokenVersion"], 2);
    assert_eq!(got["appId"], a["appId"], "ids never change");

    // All or nothing: a bad part refuses the whole body, and nothing changes.
    let not_a_cert = STANDARD.encode(b"not a certificate");
    for (bad, status, code) in [
        (
            json!({"displayName": "X", "web": {"redirectUris": ["http://evil.example.com/cb"]}}),
            400,
            "Request_BadRequest",
        ),
        (
            json!({"displayName": "X", "keyCredentials": [{"key": not_a_cert}]}),
            400,
            "Request_BadRequest",
        ),
        (
            json!({"displayName": "X", "identifierUris": [taken.clone()]}),
            409,
            "Request_MultipleObjectsWithSameKeyValue",
        ),
        (
            json!({"displayName": "X", "signInAudience": "Mars"}),
            400,
            "Request_BadRequest",
        ),
        (json!({"displayName": "   "}), 400, "Request_BadRequest"),
        (
            json!({"displayName": "X", "api": {"requestedAccessTokenVersion": 3}}),
            400,
            "Request_BadRequest",
        ),
        (
            json!({"displayName": "X", "notAProperty": 1}),
            400,
            "Request_BadRequest",
        ),
    ] {
        let (s, h, v) = call(&t, reqwest::Method::PATCH, &path, &token, Some(bad.clone())).await;
        assert_graph_error(s, &h, &v, status, code);
        let (_, now) = get(&t, &path, &token).await;
        assert_eq!(now["displayName"], "After", "{bad}");
        assert_eq!(now["identifierUris"], json!([own_uri]), "{bad}");
        assert_eq!(now["web"], got["web"], "{bad}");
        assert_eq!(now["keyCredentials"], json!([]), "{bad}");
    }
    // Built-in Microsoft apps are not the tenant's to change.
    let (s, h, v) = call(
        &t,
        reqwest::Method::PATCH,
        "/v1.0/applications/00000003-0000-0000-c000-000000000000",
        &token,
        Some(json!({"displayName": "Mine"})),
    )
    .await;
    assert!(s == 400 || s == 404, "{v}");
    assert!(h.contains_key("request-id"));

    // appRoleAssignedTo: the admin app holds Application.ReadWrite.All on Microsoft Graph.
    let (_, sps) = get(&t, "/v1.0/servicePrincipals", &token).await;
    let sp_of = |app_id: &str| {
        sps["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["appId"] == app_id)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let graph_sp = sp_of("00000003-0000-0000-c000-000000000000");
    let admin_sp = sp_of(&admin.client_id);
    let (s, v) = get(
        &t,
        &format!("/v1.0/servicePrincipals/{graph_sp}/appRoleAssignedTo"),
        &token,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["@odata.context"].as_str().unwrap().ends_with(&format!(
            "#servicePrincipals('{graph_sp}')/appRoleAssignedTo"
        )),
        "{v}"
    );
    let held: Vec<&Value> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["principalId"] == admin_sp.as_str())
        .collect();
    assert_eq!(held.len(), 1, "{v}");
    assert_eq!(held[0]["appRoleId"], "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9");
    assert_eq!(held[0]["resourceId"], graph_sp.as_str());
    // A service principal nobody was assigned to lists nothing; an unknown one is a 404.
    let (s, v) = get(
        &t,
        &format!("/v1.0/servicePrincipals/{admin_sp}/appRoleAssignedTo"),
        &token,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["value"], json!([]));
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        &format!(
            "/v1.0/servicePrincipals/{}/appRoleAssignedTo",
            uuid::Uuid::new_v4()
        ),
        &token,
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 404, "Request_ResourceNotFound");
    // Another tenant's service principal is not found either.
    let other_tenant = graph_app(&t, &["Application.Read.All"]).await;
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        &format!("/v1.0/servicePrincipals/{graph_sp}/appRoleAssignedTo"),
        &graph_token(&t, &other_tenant).await,
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 404, "Request_ResourceNotFound");
}

/// Graph's directory throttling: writes and resource units per app and tenant (a GET of
/// applications costs 2 units), answered 429 with `Retry-After` in Graph's envelope, and
/// a refused call counts nothing.
#[tokio::test]
async fn directory_paths_are_throttled() {
    let t = start_with_quotas(palisade_defender::QuotaConfig {
        directory_units: vec![palisade_defender::QuotaLimit::per_minute(8)],
        directory_writes: vec![palisade_defender::QuotaLimit::per_minute(3)],
        ..palisade_defender::QuotaConfig::default()
    })
    .await;
    let app = graph_app(&t, &["Application.ReadWrite.All"]).await;
    let token = graph_token(&t, &app).await;
    for n in 0..3 {
        let (s, _, v) = call(
            &t,
            reqwest::Method::POST,
            "/v1.0/applications",
            &token,
            Some(json!({"displayName": format!("app {n}")})),
        )
        .await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, h, v) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/applications",
        &token,
        Some(json!({"displayName": "one too many"})),
    )
    .await;
    assert_graph_error(s, &h, &v, 429, "TooManyRequests");
    let retry: i64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Reads go on until the units run out: 3 used, a list of applications costs 2, of
    // service principals 1.
    let (s, v) = get(&t, "/v1.0/applications", &token).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["value"].as_array().unwrap().len(),
        4,
        "the refused write created nothing"
    );
    let (s, v) = get(&t, "/v1.0/servicePrincipals", &token).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = get(&t, "/v1.0/applications", &token).await;
    assert_eq!(s, 200, "{v}");
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        "/v1.0/servicePrincipals",
        &token,
        None,
    )
    .await;
    assert_graph_error(s, &h, &v, 429, "TooManyRequests");
    // Another app of another tenant has its own counters; the security API its own.
    let other = graph_app(&t, &["Application.ReadWrite.All"]).await;
    let (s, v) = get(&t, "/v1.0/applications", &graph_token(&t, &other).await).await;
    assert_eq!(s, 200, "{v}");
    t.clock.advance(time::Duration::minutes(1));
    let (s, _, v) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/applications",
        &token,
        Some(json!({"displayName": "next window"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
}
