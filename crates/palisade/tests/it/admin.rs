//! The admin API (Graph-shaped) and the `palisade admin …` CLI against the real server.

use crate::common::*;
use serde_json::{json, Value};

pub async fn cli(t: &TestServer, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env("XDG_CONFIG_HOME", crate::common::isolated_config())
        .arg("admin")
        .args(["--server", &t.server.base_url])
        .args([
            "--ca-file",
            t.server.ca_path.as_ref().unwrap().to_str().unwrap(),
        ])
        .args(["--data-dir", t.dir.path().join("nowhere").to_str().unwrap()])
        .env("PALISADE_ADMIN_KEY", &t.admin_key)
        .env_remove("PALISADE_TENANT")
        .args(args)
        .output()
        .await
        .expect("run palisade");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub async fn cli_json(t: &TestServer, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let (ok, out, err) = cli(t, &all).await;
    assert!(ok, "palisade {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test]
async fn the_whole_admin_flow_from_the_cli() {
    let t = start().await;
    let tenant = cli_json(&t, &["tenant", "create", "Fabrikam"]).await;
    let tid = tenant["id"].as_str().unwrap().to_string();
    assert_eq!(
        tenant["verifiedDomains"][0]["name"],
        "fabrikam.onmicrosoft.com"
    );

    // With exactly one tenant, --tenant may be omitted.
    let app = cli_json(&t, &["app", "create", "SOAR connector"]).await;
    let client_id = app["appId"].as_str().unwrap().to_string();
    assert_eq!(app["signInAudience"], "AzureADMyOrg");

    let secret = cli_json(
        &t,
        &[
            "secret",
            "add",
            "SOAR connector",
            "--name",
            "ci",
            "--days",
            "30",
        ],
    )
    .await;
    let secret_text = secret["secretText"].as_str().unwrap().to_string();
    assert!(secret_text.len() >= 43, "{secret_text}");
    assert_eq!(secret["hint"], &secret_text[..3]);

    let (ok, granted, err) = cli(
        &t,
        &[
            "grant",
            &client_id,
            "Incident.Read.All",
            "AdvancedHunting.Read.All",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        granted.contains("Granted admin consent")
            && granted.contains("Incident.Read.All")
            && granted.contains("Microsoft Threat Protection"),
        "{granted}"
    );

    // The secret works at the token endpoint and the roles are there.
    let (s, _, body) = t
        .post_form(
            "/fabrikam.onmicrosoft.com/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &secret_text),
                ("resource", "https://api.security.microsoft.com"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        decode(body["access_token"].as_str().unwrap()).1["roles"],
        json!(["AdvancedHunting.Read.All", "Incident.Read.All"])
    );

    // Listing never shows secret values.
    let (ok, listed, _) = cli(&t, &["secret", "list", &client_id]).await;
    assert!(
        ok && listed.contains(secret["keyId"].as_str().unwrap()) && !listed.contains(&secret_text),
        "{listed}"
    );
    let shown = cli_json(&t, &["app", "show", &client_id]).await;
    assert_eq!(
        shown["requiredResourceAccess"][0]["resourceAppId"],
        "8ee8fdad-f234-4243-8f3b-15c294843740"
    );
    assert!(shown["passwordCredentials"][0]["secretText"].is_null());
    let (ok, table, _) = cli(&t, &["app", "list"]).await;
    assert!(
        ok && table.contains("SOAR connector") && table.contains(&client_id),
        "{table}"
    );

    // A second tenant: now --tenant is required.
    cli_json(&t, &["tenant", "create", "Second"]).await;
    let (ok, _, err) = cli(&t, &["app", "list"]).await;
    assert!(!ok && err.contains("--tenant"), "{err}");
    let tenants = cli_json(&t, &["tenant", "list"]).await;
    assert_eq!(tenants["value"].as_array().unwrap().len(), 2);

    // Unknown permission: a clear error, nothing granted.
    let (ok, _, err) = cli(
        &t,
        &["--tenant", &tid, "grant", &client_id, "Incident.Delete.All"],
    )
    .await;
    assert!(
        !ok && err.contains("Incident.Delete.All") && err.contains("Incident.ReadWrite.All"),
        "{err}"
    );

    // Remove the secret: it stops working.
    cli_json(
        &t,
        &[
            "--tenant",
            &tid,
            "secret",
            "remove",
            &client_id,
            secret["keyId"].as_str().unwrap(),
        ],
    )
    .await;
    let (s, _, body) = t
        .post_form(
            &format!("/{tid}/oauth2/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &secret_text),
                ("resource", "https://api.security.microsoft.com"),
            ],
        )
        .await;
    assert_aad_error(s, &body, 401, "invalid_client", 7000215);

    // Key rotation from the CLI.
    let keys = cli_json(&t, &["keys", "rotate"]).await;
    assert_eq!(keys["value"].as_array().unwrap().len(), 2);

    // Delete the app: it is gone from the token endpoint too.
    cli_json(&t, &["--tenant", &tid, "app", "delete", &client_id]).await;
    let (s, _, body) = t
        .post_form(
            &format!("/{tid}/oauth2/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", "x"),
                ("resource", "https://api.security.microsoft.com"),
            ],
        )
        .await;
    assert_aad_error(s, &body, 400, "unauthorized_client", 700016);

    // A wrong admin key is refused.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env("XDG_CONFIG_HOME", crate::common::isolated_config())
        .args([
            "admin",
            "--server",
            &t.server.base_url,
            "--ca-file",
            t.server.ca_path.as_ref().unwrap().to_str().unwrap(),
        ])
        .args(["--admin-key", "pal_admin_wrong", "tenant", "list"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("InvalidAuthenticationToken"));
}

#[tokio::test]
async fn admin_api_requires_the_key_and_refuses_bad_input_without_side_effects() {
    let t = start().await;
    let (tid, _) = t.tenant("Contoso").await;
    // No key, wrong key, wrong scheme.
    for auth in [
        None,
        Some("Bearer nope"),
        Some(&*format!("Basic {}", t.admin_key)),
    ] {
        let mut req = t.http.get(t.url("/admin/tenants"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    }
    let apps = format!("/admin/{tid}/v1.0/applications");
    let bad_bodies = [
        json!({"displayName": "x", "unknownProperty": 1}),
        json!({"displayname": "wrong case"}),
        json!({"signInAudience": "AzureADMyOrg"}),
        json!({"displayName": "x", "signInAudience": "PersonalMicrosoftAccount"}),
        json!({"displayName": "x", "identifierUris": ["ftp://nope"]}),
        json!({"displayName": "x", "api": {"requestedAccessTokenVersion": 3}}),
    ];
    for body in bad_bodies {
        let (s, e) = t
            .admin(reqwest::Method::POST, &apps, Some(body.clone()))
            .await;
        assert_eq!(s, 400, "{body} -> {e}");
        assert_eq!(e["error"]["code"], "Request_BadRequest");
        assert!(e["error"]["innerError"]["request-id"].is_string());
    }
    let resp = t
        .http
        .post(t.url(&apps))
        .bearer_auth(&t.admin_key)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = t
        .http
        .post(t.url(&apps))
        .bearer_auth(&t.admin_key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (_, listed) = t.admin(reqwest::Method::GET, &apps, None).await;
    assert_eq!(
        listed["value"],
        json!([]),
        "no failed create left anything behind"
    );
    assert_eq!(
        listed["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#applications"
    );

    // Identifier URIs are unique across tenants.
    let (other, _) = t.tenant("Other").await;
    let body = json!({"displayName": "api", "identifierUris": ["api://payments"]});
    assert_eq!(
        t.admin(reqwest::Method::POST, &apps, Some(body.clone()))
            .await
            .0,
        201
    );
    let (s, e) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{other}/v1.0/applications"),
            Some(body),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    // A tenant's objects are invisible from another tenant's path.
    let (_, listed) = t.admin(reqwest::Method::GET, &apps, None).await;
    let app_id = listed["value"][0]["id"].as_str().unwrap().to_string();
    let (s, _) = t
        .admin(
            reqwest::Method::GET,
            &format!("/admin/{other}/v1.0/applications/{app_id}"),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = t
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/{other}/v1.0/applications/{app_id}"),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = t
        .admin(
            reqwest::Method::GET,
            &format!("/admin/{tid}/v1.0/applications/{app_id}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "still there after the foreign delete attempt");
    // Unknown tenants are 404.
    let (s, _) = t
        .admin(
            reqwest::Method::GET,
            "/admin/nope.onmicrosoft.com/v1.0/applications",
            None,
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn graph_shaped_service_principals_and_app_role_assignments() {
    let t = start().await;
    let (a, _) = t.tenant("Home").await;
    let (b, _) = t.tenant("Customer").await;
    let (_, app) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{a}/v1.0/applications"),
            Some(json!({"displayName": "mssp", "signInAudience": "AzureADMultipleOrgs"})),
        )
        .await;
    let client_id = app["appId"].as_str().unwrap();
    // Provision in the customer tenant, Graph style.
    let (s, sp) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{b}/v1.0/servicePrincipals"),
            Some(json!({"appId": client_id})),
        )
        .await;
    assert_eq!(s, 201, "{sp}");
    assert_eq!(sp["appOwnerOrganizationId"], a.as_str());
    let (s, _) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{b}/v1.0/servicePrincipals"),
            Some(json!({"appId": client_id})),
        )
        .await;
    assert_eq!(s, 409, "one service principal per app per tenant");
    let (_, sps) = t
        .admin(
            reqwest::Method::GET,
            &format!("/admin/{b}/v1.0/servicePrincipals"),
            None,
        )
        .await;
    let mtp = sps["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["displayName"] == "Microsoft Threat Protection")
        .unwrap()
        .clone();
    assert_eq!(mtp["appRoles"].as_array().unwrap().len(), 4);
    let role = mtp["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == "Incident.ReadWrite.All")
        .unwrap();
    assert_eq!(role["id"], "8d90f441-09cf-4fdc-ab45-e874fa3a28e8");

    let path = format!(
        "/admin/{b}/v1.0/servicePrincipals/{}/appRoleAssignments",
        sp["id"].as_str().unwrap()
    );
    let (s, asg) = t
        .admin(
            reqwest::Method::POST,
            &path,
            Some(
                json!({"principalId": sp["id"], "resourceId": mtp["id"], "appRoleId": role["id"]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{asg}");
    assert_eq!(asg["resourceDisplayName"], "Microsoft Threat Protection");
    assert_eq!(asg["principalDisplayName"], "mssp");
    let (s, e) = t
        .admin(reqwest::Method::POST, &path, Some(json!({"principalId": sp["id"], "resourceId": mtp["id"], "appRoleId": "00000000-0000-0000-0000-000000000000"})))
        .await;
    assert_eq!(s, 400, "{e}");

    // The assignment shows in a token for tenant B.
    let (_, secret) = t
        .admin(
            reqwest::Method::POST,
            &format!(
                "/admin/{a}/v1.0/applications/{}/addPassword",
                app["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    let (s, _, tok) = t
        .post_form(
            &format!("/{b}/oauth2/v2.0/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret["secretText"].as_str().unwrap()),
                ("scope", "https://security.microsoft.com/mtp/.default"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(
        decode(tok["access_token"].as_str().unwrap()).1["roles"],
        json!(["Incident.ReadWrite.All"])
    );

    // Revoking the assignment removes the role; deleting the principal removes access.
    let (_, list) = t.admin(reqwest::Method::GET, &path, None).await;
    let asg_id = list["value"][0]["id"].as_str().unwrap();
    assert_eq!(
        t.admin(reqwest::Method::DELETE, &format!("{path}/{asg_id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        t.admin(
            reqwest::Method::DELETE,
            &format!(
                "/admin/{b}/v1.0/servicePrincipals/{}",
                sp["id"].as_str().unwrap()
            ),
            None
        )
        .await
        .0,
        204
    );
    let (s, _, e) = t
        .post_form(
            &format!("/{b}/oauth2/v2.0/token"),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret["secretText"].as_str().unwrap()),
                ("scope", "https://security.microsoft.com/mtp/.default"),
            ],
        )
        .await;
    assert_aad_error(s, &e, 400, "unauthorized_client", 700016);
    // Built-in principals cannot be deleted.
    assert_eq!(
        t.admin(
            reqwest::Method::DELETE,
            &format!(
                "/admin/{b}/v1.0/servicePrincipals/{}",
                mtp["id"].as_str().unwrap()
            ),
            None
        )
        .await
        .0,
        400
    );
}
