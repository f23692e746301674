//! Users, roles, device groups and delegated grants from `palisade admin …`, with the
//! Graph objects `-o json` prints, and what each change does to sign-in.

use crate::admin::{cli, cli_json};
use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn users_roles_device_groups_and_delegated_grants_from_the_cli() {
    let t = start().await;
    let tenant = cli_json(&t, &["tenant", "create", "Northwind"]).await;
    let tid = tenant["id"].as_str().unwrap().to_string();
    let domain = "northwind.onmicrosoft.com";

    // A public client: native redirect URIs by default.
    let app = cli_json(
        &t,
        &["-t", &tid, "app", "create", "Analyst CLI", "--public"],
    )
    .await;
    assert_eq!(app["isFallbackPublicClient"], true);
    assert_eq!(
        app["publicClient"]["redirectUris"],
        json!([
            "http://localhost",
            "http://127.0.0.1",
            "https://login.microsoftonline.com/common/oauth2/nativeclient"
        ])
    );
    let client_id = app["appId"].as_str().unwrap().to_string();
    let spa = cli_json(
        &t,
        &[
            "-t",
            &tid,
            "app",
            "create",
            "Web console",
            "--spa-redirect-uri",
            "https://console.northwind.example/auth",
        ],
    )
    .await;
    assert_eq!(
        spa["spa"]["redirectUris"],
        json!(["https://console.northwind.example/auth"])
    );
    let (ok, _, err) = cli(
        &t,
        &[
            "-t",
            &tid,
            "app",
            "create",
            "Bad",
            "--redirect-uri",
            "http://evil.example/cb",
        ],
    )
    .await;
    assert!(
        !ok && err.contains("http is only allowed for localhost"),
        "{err}"
    );

    // Delegated admin consent: an AllPrincipals oauth2PermissionGrant.
    let g = cli_json(
        &t,
        &[
            "-t",
            &tid,
            "grant",
            &client_id,
            "--delegated",
            "Incident.Read",
            "AdvancedHunting.Read",
        ],
    )
    .await;
    assert_eq!(g["type"], "Delegated");
    assert_eq!(g["oauth2PermissionGrant"]["consentType"], "AllPrincipals");
    assert_eq!(
        g["oauth2PermissionGrant"]["scope"],
        "Incident.Read AdvancedHunting.Read"
    );
    let (ok, _, err) = cli(
        &t,
        &[
            "-t",
            &tid,
            "grant",
            &client_id,
            "--delegated",
            "Incident.Delete",
        ],
    )
    .await;
    assert!(!ok && err.contains("not a delegated permission"), "{err}");

    // Device groups.
    cli_json(
        &t,
        &[
            "-t",
            &tid,
            "device-group",
            "create",
            "Finance",
            "--description",
            "finance laptops",
        ],
    )
    .await;
    cli_json(
        &t,
        &[
            "-t",
            &tid,
            "device",
            "set",
            "abc123",
            "--name",
            "ws-1.northwind.example",
            "--group",
            "finance",
        ],
    )
    .await;
    let devices = cli_json(&t, &["-t", &tid, "device", "list"]).await;
    assert_eq!(devices["value"][0]["rbacGroupName"], "Finance");

    // A user with a role and a device group; -o json prints the Graph user.
    let upn = format!("nina@{domain}");
    let (ok, _, err) = cli(
        &t,
        &[
            "-t",
            &tid,
            "user",
            "create",
            &upn,
            "--password",
            "Str0ng!pass",
            "--role",
            "Cloud Wizard",
        ],
    )
    .await;
    assert!(!ok && err.contains("not a directory role"), "{err}");
    let (ok, _, err) = cli(
        &t,
        &[
            "-t",
            &tid,
            "user",
            "create",
            &upn,
            "--password",
            "Str0ng!pass",
            "--device-group",
            "Nope",
        ],
    )
    .await;
    assert!(!ok && err.contains("no device group 'Nope'"), "{err}");
    let (ok, _, err) = cli(
        &t,
        &["-t", &tid, "user", "create", &upn, "--password", "weak"],
    )
    .await;
    assert!(!ok && err.contains("complexity"), "{err}");
    let u = cli_json(
        &t,
        &[
            "-t",
            &tid,
            "user",
            "create",
            &upn,
            "--password",
            "Str0ng!pass",
            "--name",
            "Nina Patel",
            "--role",
            "Security Operator",
            "--device-group",
            "Finance",
        ],
    )
    .await;
    assert_eq!(u["userPrincipalName"], upn);
    assert_eq!(u["displayName"], "Nina Patel");
    assert_eq!(u["accountEnabled"], true);
    assert!(uuid::Uuid::parse_str(u["id"].as_str().unwrap()).is_ok());
    assert_eq!(u["roles"], json!(["Security Operator"]));
    assert_eq!(u["deviceGroups"]["groups"][0]["name"], "Finance");
    assert!(
        u.get("passwordProfile").unwrap().is_null(),
        "the password is never echoed"
    );
    let listed = cli_json(&t, &["-t", &tid, "user", "list"]).await;
    assert_eq!(listed["value"].as_array().unwrap().len(), 1);
    let (ok, table, _) = cli(&t, &["-t", &tid, "user", "show", &upn]).await;
    assert!(
        ok && table.contains("Security Operator") && table.contains("Finance"),
        "{table}"
    );

    // Roles: assign, list, unassign.
    cli_json(&t, &["-t", &tid, "role", "assign", &upn, "security reader"]).await;
    let shown = cli_json(&t, &["-t", &tid, "user", "show", &upn]).await;
    let mut roles: Vec<&str> = shown["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    roles.sort();
    assert_eq!(roles, ["Security Operator", "Security Reader"]);
    cli_json(
        &t,
        &["-t", &tid, "role", "unassign", &upn, "Security Operator"],
    )
    .await;
    let shown = cli_json(&t, &["-t", &tid, "user", "show", &upn]).await;
    assert_eq!(shown["roles"], json!(["Security Reader"]));
    let defs = cli_json(&t, &["-t", &tid, "role", "list"]).await;
    assert_eq!(defs["value"].as_array().unwrap().len(), 9);
    cli_json(&t, &["-t", &tid, "user", "device-groups", &upn, "--all"]).await;
    let shown = cli_json(&t, &["-t", &tid, "user", "show", &upn]).await;
    assert_eq!(shown["deviceGroups"]["scope"], "all");

    // Sign-in follows the account: disable, enable, set-password, revoke-sessions, delete.
    let scope = format!("{DEFENDER}/.default offline_access");
    let (s, v) = t.ropc(&tid, &client_id, &upn, "Str0ng!pass", &scope).await;
    assert_eq!(s, 200, "{v}");
    cli_json(&t, &["-t", &tid, "user", "disable", &upn]).await;
    let (s, v) = t.ropc(&tid, &client_id, &upn, "Str0ng!pass", &scope).await;
    assert_aad_error(s, &v, 400, "invalid_grant", 50057);
    cli_json(&t, &["-t", &tid, "user", "enable", &upn]).await;
    cli_json(
        &t,
        &[
            "-t",
            &tid,
            "user",
            "set-password",
            &upn,
            "--password",
            "An0ther!pass",
            "--password-expires-days",
            "30",
        ],
    )
    .await;
    let (s, v) = t.ropc(&tid, &client_id, &upn, "Str0ng!pass", &scope).await;
    assert_aad_error(s, &v, 400, "invalid_grant", 50126);
    let (s, v) = t.ropc(&tid, &client_id, &upn, "An0ther!pass", &scope).await;
    assert_eq!(s, 200, "{v}");
    let rt = v["refresh_token"].as_str().unwrap().to_string();
    let r = cli_json(&t, &["-t", &tid, "user", "revoke-sessions", &upn]).await;
    assert_eq!(r["value"], true);
    let (s, _, v) = t
        .post_form(
            &format!("/{tid}/oauth2/v2.0/token"),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &client_id),
                ("refresh_token", &rt),
                ("scope", &scope),
            ],
        )
        .await;
    assert_aad_error(s, &v, 400, "invalid_grant", 50173);
    cli_json(&t, &["-t", &tid, "user", "delete", &upn]).await;
    let (s, v) = t.ropc(&tid, &client_id, &upn, "An0ther!pass", &scope).await;
    assert_aad_error(s, &v, 400, "invalid_grant", 50034);
    // The Graph API refuses unknown properties and answers 404 for users of other tenants.
    let (s, _) = t
        .admin(reqwest::Method::POST, &format!("/admin/{tid}/v1.0/users"), Some(json!({"userPrincipalName": upn, "passwordProfile": {"password": "Str0ng!pass"}, "surprise": 1})))
        .await;
    assert_eq!(s, 400);
    let (other, _) = t.tenant("Elsewhere").await;
    let (s, _) = t
        .admin(reqwest::Method::POST, &format!("/admin/{other}/v1.0/users"), Some(json!({"userPrincipalName": format!("x@{domain}"), "passwordProfile": {"password": "Str0ng!pass"}})))
        .await;
    assert_eq!(s, 400, "a domain of another tenant");
}
