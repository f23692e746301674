//! Owners of applications and service principals at Graph's paths, the
//! `Application.ReadWrite.OwnedBy` permission (owned vs not-owned for every method, and
//! what an OwnedBy app creates becoming its own), delegated owners without an admin
//! role, and `palisade admin app owner …`.

use super::*;
use crate::admin::{cli, cli_json};
use serde_json::json;

const OWNED_BY: &str = "Application.ReadWrite.OwnedBy";
const OWNER_EXISTS: &str =
    "One or more added object references already exist for the following modified properties: 'owners'.";

fn reference(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

/// The owners' ids of an application or service principal, read with the admin key.
async fn owner_ids(t: &TestServer, tenant: &str, set: &str, id: &str) -> Vec<String> {
    let (s, v) = t
        .admin(
            reqwest::Method::GET,
            &format!("/admin/{tenant}/v1.0/{set}/{id}/owners"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

/// The service principal of `client_id` in the tenant.
async fn sp_of(t: &TestServer, tenant: &str, client_id: &str) -> String {
    let (s, v) = t
        .admin(
            reqwest::Method::GET,
            &format!("/admin/{tenant}/v1.0/servicePrincipals"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["appId"] == client_id)
        .map(|s| s["id"].as_str().unwrap().to_string())
        .expect("service principal")
}

async fn admin_add_owner(t: &TestServer, tenant: &str, set: &str, id: &str, owner: &str) {
    let (s, v) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{tenant}/v1.0/{set}/{id}/owners/$ref"),
            Some(reference(owner)),
        )
        .await;
    assert_eq!(s, 204, "{v}");
}

/// The permission matrix of `Application.ReadWrite.OwnedBy`: every method on an owned app
/// succeeds and on a not-owned app is 403; the lists show the whole tenant (documented);
/// what it creates is its own; it can neither make itself an owner of someone else's app
/// nor add or remove owners of its own.
#[tokio::test]
async fn owned_by_reaches_only_what_the_app_owns() {
    let t = start().await;
    let manager = graph_app(&t, &[OWNED_BY]).await;
    let tenant = manager.tenant_id.clone();
    let token = graph_token(&t, &manager).await;
    let me = decode(&token).1["oid"].as_str().unwrap().to_string();
    assert_eq!(me, sp_of(&t, &tenant, &manager.client_id).await);
    let owned = t.app_in(&tenant, "AzureADMyOrg", &[]).await;
    let other = t.app_in(&tenant, "AzureADMyOrg", &[]).await;
    admin_add_owner(&t, &tenant, "applications", &owned.object_id, &me).await;

    // The lists: the whole tenant.
    let (s, v) = get(&t, "/v1.0/applications", &token).await;
    assert_eq!(s, 200, "{v}");
    let ids: Vec<&str> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&owned.object_id.as_str()) && ids.contains(&other.object_id.as_str()));
    let (s, v) = get(&t, "/v1.0/servicePrincipals", &token).await;
    assert_eq!(s, 200, "{v}");

    // Every method: owned → done, not owned → 403.
    let key_id = uuid::Uuid::new_v4().to_string();
    let cases: [(reqwest::Method, &str, Option<Value>); 7] = [
        (reqwest::Method::GET, "", None),
        (
            reqwest::Method::PATCH,
            "",
            Some(json!({"displayName": "renamed by owner"})),
        ),
        (reqwest::Method::POST, "/addPassword", Some(json!({}))),
        (
            reqwest::Method::POST,
            "/removePassword",
            Some(json!({"keyId": key_id})),
        ),
        (
            reqwest::Method::POST,
            "/addKey",
            Some(
                json!({"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": "AAAA"}, "proof": "x.y.z"}),
            ),
        ),
        (
            reqwest::Method::POST,
            "/removeKey",
            Some(json!({"keyId": key_id, "proof": "x.y.z"})),
        ),
        (reqwest::Method::GET, "/owners", None),
    ];
    for (method, suffix, body) in &cases {
        let (s, h, v) = call(
            &t,
            method.clone(),
            &format!("/v1.0/applications/{}{suffix}", other.object_id),
            &token,
            body.clone(),
        )
        .await;
        assert_graph_error_directory(s, &h, &v);
        let (s, _, v) = call(
            &t,
            method.clone(),
            &format!("/v1.0/applications/{}{suffix}", owned.object_id),
            &token,
            body.clone(),
        )
        .await;
        // Owned: allowed through to the handler (removePassword of an unknown key is its
        // 404, addKey/removeKey with a bad proof its 400).
        assert_ne!(s, 403, "{method} {suffix}: {v}");
        assert!(s < 500, "{method} {suffix}: {v}");
        match (method.as_str(), *suffix) {
            ("GET", "") => assert_eq!(v["displayName"], "daemon", "{v}"),
            ("PATCH", "") => assert_eq!(s, 204, "{v}"),
            ("POST", "/addPassword") => assert!(v["secretText"].is_string(), "{v}"),
            ("GET", "/owners") => assert_eq!(v["value"][0]["id"], me.as_str(), "{v}"),
            _ => {}
        }
    }
    let (s, v) = get(
        &t,
        &format!("/v1.0/applications/{}", owned.object_id),
        &token,
    )
    .await;
    assert_eq!((s, &v["displayName"]), (200, &json!("renamed by owner")));
    // Not-owned and unknown apps are both 403 (no existence oracle).
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        &format!("/v1.0/applications/{}", uuid::Uuid::new_v4()),
        &token,
        None,
    )
    .await;
    assert_graph_error_directory(s, &h, &v);

    // Attacks on ownership itself: not on someone else's app, not even on its own.
    for (app, owner) in [
        (&other.object_id, &me),
        (
            &owned.object_id,
            &sp_of(&t, &tenant, &other.client_id).await,
        ),
    ] {
        let (s, h, v) = call(
            &t,
            reqwest::Method::POST,
            &format!("/v1.0/applications/{app}/owners/$ref"),
            &token,
            Some(reference(owner)),
        )
        .await;
        assert_graph_error_directory(s, &h, &v);
    }
    let (s, h, v) = call(
        &t,
        reqwest::Method::DELETE,
        &format!("/v1.0/applications/{}/owners/{me}/$ref", owned.object_id),
        &token,
        None,
    )
    .await;
    assert_graph_error_directory(s, &h, &v);
    assert!(owner_ids(&t, &tenant, "applications", &other.object_id)
        .await
        .is_empty());
    assert_eq!(
        owner_ids(&t, &tenant, "applications", &owned.object_id).await,
        vec![me.clone()]
    );
    // Other directory areas stay closed.
    for path in ["/v1.0/users", "/v1.0/oauth2PermissionGrants"] {
        let (s, h, v) = call(&t, reqwest::Method::GET, path, &token, None).await;
        assert_graph_error_directory(s, &h, &v);
    }

    // What it creates is its own: the app and its home service principal.
    let (s, _, created) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/applications",
        &token,
        Some(json!({"displayName": "made by the manager"})),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let new_id = created["id"].as_str().unwrap().to_string();
    let new_client = created["appId"].as_str().unwrap().to_string();
    assert_eq!(
        owner_ids(&t, &tenant, "applications", &new_id).await,
        vec![me.clone()]
    );
    let new_sp = sp_of(&t, &tenant, &new_client).await;
    assert_eq!(
        owner_ids(&t, &tenant, "servicePrincipals", &new_sp).await,
        vec![me.clone()]
    );
    let (s, _, v) = call(
        &t,
        reqwest::Method::POST,
        &format!("/v1.0/applications/{new_id}/addPassword"),
        &token,
        Some(json!({"passwordCredential": {"displayName": "own secret"}})),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // Service principals: owned ones only.
    let other_sp = sp_of(&t, &tenant, &other.client_id).await;
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let (s, h, v) = call(
            &t,
            method,
            &format!("/v1.0/servicePrincipals/{other_sp}"),
            &token,
            None,
        )
        .await;
        assert_graph_error_directory(s, &h, &v);
    }
    let (s, h, v) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/servicePrincipals",
        &token,
        Some(json!({"appId": other.client_id})),
    )
    .await;
    assert_graph_error_directory(s, &h, &v);
    let (s, v) = get(&t, &format!("/v1.0/servicePrincipals/{new_sp}"), &token).await;
    assert_eq!(s, 200, "{v}");
    let (s, _, v) = call(
        &t,
        reqwest::Method::DELETE,
        &format!("/v1.0/servicePrincipals/{new_sp}"),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let (s, _, sp) = call(
        &t,
        reqwest::Method::POST,
        "/v1.0/servicePrincipals",
        &token,
        Some(json!({"appId": new_client})),
    )
    .await;
    assert_eq!(s, 201, "{sp}");
    assert_eq!(
        owner_ids(&t, &tenant, "servicePrincipals", sp["id"].as_str().unwrap()).await,
        vec![me.clone()]
    );

    // DELETE: owned only; the other app is untouched.
    let (s, h, v) = call(
        &t,
        reqwest::Method::DELETE,
        &format!("/v1.0/applications/{}", other.object_id),
        &token,
        None,
    )
    .await;
    assert_graph_error_directory(s, &h, &v);
    for id in [&owned.object_id, &new_id] {
        let (s, _, v) = call(
            &t,
            reqwest::Method::DELETE,
            &format!("/v1.0/applications/{id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(s, 204, "{v}");
    }
    let (s, _) = t
        .admin(
            reqwest::Method::GET,
            &format!("/admin/{tenant}/v1.0/applications/{}", other.object_id),
            None,
        )
        .await;
    assert_eq!(s, 200);

    // Another tenant's OwnedBy app owns nothing here (its token reaches its own tenant).
    let stranger = graph_app(&t, &[OWNED_BY]).await;
    let stranger_token = graph_token(&t, &stranger).await;
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        &format!("/v1.0/applications/{}", other.object_id),
        &stranger_token,
        None,
    )
    .await;
    assert_graph_error_directory(s, &h, &v);
}

/// Owners at Graph's paths with `Application.ReadWrite.All` + `Directory.Read.All`: add
/// (users and service principals), list with `@odata.type`, duplicate, bad and unknown
/// references, another tenant's objects, remove, and cleanup when an owner is deleted.
#[tokio::test]
async fn owners_are_added_listed_and_removed_within_the_tenant() {
    let t = start().await;
    let admin = graph_app(&t, &["Application.ReadWrite.All", "Directory.Read.All"]).await;
    let tenant = admin.tenant_id.clone();
    let token = graph_token(&t, &admin).await;
    let ut = UserTenant {
        tenant_id: tenant.clone(),
        domain: admin.domain.clone(),
        client_id: String::new(),
    };
    let alice = t.user_in(&ut, "alice", &[], None).await;
    let target = t.app_in(&tenant, "AzureADMyOrg", &[]).await;
    let helper = t.app_in(&tenant, "AzureADMyOrg", &[]).await;
    let helper_sp = sp_of(&t, &tenant, &helper.client_id).await;
    let owners_url = format!("/v1.0/applications/{}/owners", target.object_id);
    let add = |id: String| {
        let t = &t;
        let token = &token;
        let url = format!("{owners_url}/$ref");
        async move { call(t, reqwest::Method::POST, &url, token, Some(reference(&id))).await }
    };

    let (s, _, v) = add(alice.id.clone()).await;
    assert_eq!(s, 204, "{v}");
    let (s, h, v) = add(alice.id.to_uppercase()).await;
    assert_graph_error(s, &h, &v, 400, "Request_BadRequest");
    assert_eq!(v["error"]["message"], OWNER_EXISTS);
    let (s, _, v) = add(helper_sp.clone()).await;
    assert_eq!(s, 204, "{v}");
    let (s, v) = get(&t, &owners_url, &token).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("#directoryObjects"));
    // Oldest first; owners added in the same second in either order.
    let of_type = |ty: &str| {
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["@odata.type"] == ty)
            .cloned()
            .unwrap_or_else(|| panic!("no {ty} in {v}"))
    };
    let user = of_type("#microsoft.graph.user");
    assert_eq!(user["id"], alice.id.as_str());
    assert_eq!(user["userPrincipalName"], alice.upn.as_str());
    let sp = of_type("#microsoft.graph.servicePrincipal");
    assert_eq!(sp["id"], helper_sp.as_str());
    assert_eq!(sp["appId"], helper.client_id.as_str());
    assert_eq!(v["value"].as_array().unwrap().len(), 2);

    // Bad references: 400; unknown objects: 404.
    for bad in [
        json!({"@odata.id": "not a url"}),
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/applications/{}", alice.id)}),
        json!({"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/not-a-guid"}),
        json!({"id": alice.id}),
    ] {
        let (s, h, v) = call(
            &t,
            reqwest::Method::POST,
            &format!("{owners_url}/$ref"),
            &token,
            Some(bad),
        )
        .await;
        assert_graph_error(s, &h, &v, 400, "Request_BadRequest");
    }
    let (s, h, v) = add(uuid::Uuid::new_v4().to_string()).await;
    assert_graph_error(s, &h, &v, 404, "Request_ResourceNotFound");

    // Another tenant's user and app: not found from here, and nothing stored.
    let foreign = graph_app(&t, &["Application.ReadWrite.All", "Directory.Read.All"]).await;
    let fut = UserTenant {
        tenant_id: foreign.tenant_id.clone(),
        domain: foreign.domain.clone(),
        client_id: String::new(),
    };
    let mallory = t.user_in(&fut, "mallory", &[], None).await;
    let (s, h, v) = add(mallory.id.clone()).await;
    assert_graph_error(s, &h, &v, 404, "Request_ResourceNotFound");
    let (s, h, v) = call(
        &t,
        reqwest::Method::POST,
        &format!("/v1.0/applications/{}/owners/$ref", foreign.object_id),
        &token,
        Some(reference(&alice.id)),
    )
    .await;
    assert_graph_error(s, &h, &v, 404, "Request_ResourceNotFound");
    let foreign_token = graph_token(&t, &foreign).await;
    let (s, h, v) = call(&t, reqwest::Method::GET, &owners_url, &foreign_token, None).await;
    assert_graph_error(s, &h, &v, 404, "Request_ResourceNotFound");
    assert_eq!(
        owner_ids(&t, &tenant, "applications", &target.object_id)
            .await
            .len(),
        2
    );

    // Without Directory.Read.All, Application.ReadWrite.All reads owners but cannot add.
    let narrow = t.app_in(&tenant, "AzureADMyOrg", &[]).await;
    grant(
        &t,
        &narrow,
        "Microsoft Graph",
        &["Application.ReadWrite.All"],
    )
    .await;
    let narrow_token = graph_token(&t, &narrow).await;
    let (s, v) = get(&t, &owners_url, &narrow_token).await;
    assert_eq!(s, 200, "{v}");
    let (s, h, v) = call(
        &t,
        reqwest::Method::POST,
        &format!("{owners_url}/$ref"),
        &narrow_token,
        Some(reference(&helper_sp)),
    )
    .await;
    assert_graph_error_directory(s, &h, &v);

    // Remove; twice is 404.
    let remove_url = format!("{owners_url}/{helper_sp}/$ref");
    let (s, _, v) = call(&t, reqwest::Method::DELETE, &remove_url, &token, None).await;
    assert_eq!(s, 204, "{v}");
    let (s, h, v) = call(&t, reqwest::Method::DELETE, &remove_url, &token, None).await;
    assert_graph_error(s, &h, &v, 404, "Request_ResourceNotFound");

    // Service principals have owners too; deleting the owner cleans up everywhere.
    let sp_owners = format!("/v1.0/servicePrincipals/{helper_sp}/owners");
    let (s, _, v) = call(
        &t,
        reqwest::Method::POST,
        &format!("{sp_owners}/$ref"),
        &token,
        Some(reference(&alice.id)),
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let (s, v) = get(&t, &sp_owners, &token).await;
    assert_eq!((s, v["value"].as_array().unwrap().len()), (200, 1));
    let (s, _) = t
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/{tenant}/v1.0/users/{}", alice.id),
            None,
        )
        .await;
    assert_eq!(s, 204);
    assert!(owner_ids(&t, &tenant, "applications", &target.object_id)
        .await
        .is_empty());
    assert!(owner_ids(&t, &tenant, "servicePrincipals", &helper_sp)
        .await
        .is_empty());
}

/// A user without an admin role who owns an app manages it (read, PATCH, credentials,
/// owners) with the delegated `Application.ReadWrite.All`; other apps stay refused, and
/// so do the app's role assignments (consent).
#[tokio::test]
async fn a_delegated_owner_manages_their_app_without_an_admin_role() {
    let t = start().await;
    let ut = t.user_tenant(&[]).await;
    let (s, g) = t
        .admin(
            reqwest::Method::POST,
            &format!("/admin/{}/grants", ut.tenant_id),
            Some(
                json!({"appId": ut.client_id, "resource": "Microsoft Graph", "type": "Delegated",
                        "permissions": ["Application.ReadWrite.All", "Directory.Read.All", "AppRoleAssignment.ReadWrite.All"]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let owner = t.user_in(&ut, "owner", &[], None).await;
    let colleague = t.user_in(&ut, "colleague", &[], None).await;
    let mine = t.app_in(&ut.tenant_id, "AzureADMyOrg", &[]).await;
    let theirs = t.app_in(&ut.tenant_id, "AzureADMyOrg", &[]).await;
    admin_add_owner(
        &t,
        &ut.tenant_id,
        "applications",
        &mine.object_id,
        &owner.id,
    )
    .await;
    let (s, v) = t
        .ropc(
            &ut.tenant_id,
            &ut.client_id,
            &owner.upn,
            &owner.password,
            &format!("{GRAPH}/.default"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let token = v["access_token"].as_str().unwrap().to_string();

    let (s, v) = get(
        &t,
        &format!("/v1.0/applications/{}", mine.object_id),
        &token,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, _, v) = call(
        &t,
        reqwest::Method::PATCH,
        &format!("/v1.0/applications/{}", mine.object_id),
        &token,
        Some(json!({"displayName": "renamed by its owner"})),
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let (s, _, pw) = call(
        &t,
        reqwest::Method::POST,
        &format!("/v1.0/applications/{}/addPassword", mine.object_id),
        &token,
        Some(json!({"passwordCredential": {"displayName": "owner's"}})),
    )
    .await;
    assert_eq!(s, 200, "{pw}");
    let (s, _, v) = call(
        &t,
        reqwest::Method::POST,
        &format!("/v1.0/applications/{}/removePassword", mine.object_id),
        &token,
        Some(json!({"keyId": pw["keyId"]})),
    )
    .await;
    assert_eq!(s, 204, "{v}");
    let (s, _, v) = call(
        &t,
        reqwest::Method::POST,
        &format!("/v1.0/applications/{}/owners/$ref", mine.object_id),
        &token,
        Some(reference(&colleague.id)),
    )
    .await;
    assert_eq!(s, 204, "{v}");

    // Not theirs: refused, and nothing changed.
    for (method, suffix, body) in [
        (reqwest::Method::GET, "", None),
        (
            reqwest::Method::PATCH,
            "",
            Some(json!({"displayName": "hijacked"})),
        ),
        (reqwest::Method::POST, "/addPassword", Some(json!({}))),
        (
            reqwest::Method::POST,
            "/owners/$ref",
            Some(reference(&owner.id)),
        ),
        (reqwest::Method::DELETE, "", None),
    ] {
        let (s, h, v) = call(
            &t,
            method,
            &format!("/v1.0/applications/{}{suffix}", theirs.object_id),
            &token,
            body,
        )
        .await;
        assert_graph_error_directory(s, &h, &v);
    }
    assert!(
        owner_ids(&t, &ut.tenant_id, "applications", &theirs.object_id)
            .await
            .is_empty()
    );
    // Consent stays an admin's: the owned app's service principal gets no app role.
    let sp = sp_of(&t, &ut.tenant_id, &mine.client_id).await;
    let (s, h, v) = call(
        &t,
        reqwest::Method::POST,
        &format!("/v1.0/servicePrincipals/{sp}/appRoleAssignments"),
        &token,
        Some(json!({"principalId": sp, "resourceId": sp, "appRoleId": uuid::Uuid::new_v4().to_string()})),
    )
    .await;
    assert_graph_error_directory(s, &h, &v);
    // Listing every app still needs a role.
    let (s, h, v) = call(&t, reqwest::Method::GET, "/v1.0/applications", &token, None).await;
    assert_graph_error_directory(s, &h, &v);
    // Removed as owner, the user loses the app.
    admin_remove_owner(&t, &ut.tenant_id, &mine.object_id, &owner.id).await;
    let (s, h, v) = call(
        &t,
        reqwest::Method::GET,
        &format!("/v1.0/applications/{}", mine.object_id),
        &token,
        None,
    )
    .await;
    assert_graph_error_directory(s, &h, &v);
}

async fn admin_remove_owner(t: &TestServer, tenant: &str, app: &str, owner: &str) {
    let (s, v) = t
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/{tenant}/v1.0/applications/{app}/owners/{owner}/$ref"),
            None,
        )
        .await;
    assert_eq!(s, 204, "{v}");
}

/// `palisade admin app owner add|list|remove` by app name and owner UPN, app name or id.
#[tokio::test]
async fn admin_cli_manages_application_owners() {
    let t = start().await;
    let tenant = cli_json(&t, &["tenant", "create", "Owners Inc"]).await;
    let tid = tenant["id"].as_str().unwrap().to_string();
    let domain = tenant["verifiedDomains"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let ut = UserTenant {
        tenant_id: tid.clone(),
        domain,
        client_id: String::new(),
    };
    let dana = t.user_in(&ut, "dana", &[], None).await;
    cli_json(&t, &["-t", &tid, "app", "create", "Payroll sync"]).await;
    let robot = cli_json(&t, &["-t", &tid, "app", "create", "Provisioning robot"]).await;
    let robot_sp = sp_of(&t, &tid, robot["appId"].as_str().unwrap()).await;

    cli_json(
        &t,
        &["-t", &tid, "app", "owner", "add", "Payroll sync", &dana.upn],
    )
    .await;
    cli_json(
        &t,
        &[
            "-t",
            &tid,
            "app",
            "owner",
            "add",
            "Payroll sync",
            "Provisioning robot",
        ],
    )
    .await;
    let list = cli_json(&t, &["-t", &tid, "app", "owner", "list", "Payroll sync"]).await;
    let mut ids: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = [dana.id.as_str(), robot_sp.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected, "{list}");
    let (ok, out, _) = cli(&t, &["-t", &tid, "app", "owner", "list", "Payroll sync"]).await;
    assert!(
        ok && out.contains(&dana.upn) && out.contains("servicePrincipal"),
        "{out}"
    );

    // Twice: Graph's message; an unknown owner: refused.
    let (ok, _, err) = cli(
        &t,
        &["-t", &tid, "app", "owner", "add", "Payroll sync", &dana.id],
    )
    .await;
    assert!(!ok && err.contains("already exist"), "{err}");
    let (ok, _, err) = cli(
        &t,
        &[
            "-t",
            &tid,
            "app",
            "owner",
            "add",
            "Payroll sync",
            "nobody@example.com",
        ],
    )
    .await;
    assert!(!ok, "{err}");

    cli_json(
        &t,
        &[
            "-t",
            &tid,
            "app",
            "owner",
            "remove",
            "Payroll sync",
            &dana.upn,
        ],
    )
    .await;
    let list = cli_json(&t, &["-t", &tid, "app", "owner", "list", "Payroll sync"]).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["value"][0]["id"], robot_sp.as_str());
}
