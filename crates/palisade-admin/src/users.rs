//! Admin routes of the user context: users, directory role assignments, delegated
//! permission grants (Graph-shaped) and Defender device groups (Palisade's own shape;
//! Graph has no such resource).

use crate::graph::{collection, entity, unix, GraphError};
use crate::state::{AdminState, ApiResult, GraphJson, PathTenant};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use palisade_directory::roles::{builtin_roles, find_role};
use palisade_directory::{ConsentType, DeviceGroupScope, NewUser, User, UserPatch};
use palisade_store::{DeviceGroupRow, DeviceRow, PermissionGrantRow, RoleAssignmentRow};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Graph-shaped routes, nested under `/admin/{tenant}/v1.0`.
pub(crate) fn graph_routes() -> Router<AdminState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route(
            "/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/users/{id}/revokeSignInSessions", post(revoke_sessions))
        .route(
            "/roleManagement/directory/roleDefinitions",
            get(list_role_definitions),
        )
        .route(
            "/roleManagement/directory/roleAssignments",
            get(list_role_assignments).post(create_role_assignment),
        )
        .route(
            "/roleManagement/directory/roleAssignments/{id}",
            axum::routing::delete(delete_role_assignment),
        )
        .route(
            "/oauth2PermissionGrants",
            get(list_grants).post(create_grant),
        )
        .route(
            "/oauth2PermissionGrants/{id}",
            get(get_grant).patch(update_grant).delete(delete_grant),
        )
}

/// Defender RBAC routes, nested under `/admin/{tenant}`.
pub(crate) fn defender_routes() -> Router<AdminState> {
    Router::new()
        .route(
            "/deviceGroups",
            get(list_device_groups).post(create_device_group),
        )
        .route(
            "/deviceGroups/{id}",
            axum::routing::delete(delete_device_group),
        )
        .route("/devices", get(list_devices))
        .route("/devices/{id}", put(put_device))
        .route(
            "/users/{id}/deviceGroups",
            get(get_user_device_groups).put(put_user_device_groups),
        )
}

// ----- users ---------------------------------------------------------------------------

pub(crate) fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "userPrincipalName": u.user_principal_name,
        "displayName": u.display_name,
        "mail": null,
        "accountEnabled": u.account_enabled,
        "createdDateTime": unix(u.created_at),
        "lastPasswordChangeDateTime": u.password_changed_at.map(unix),
        "passwordProfile": null,
        // Palisade extension: when the password expires (Graph has only forceChange…).
        "passwordExpirationDateTime": u.password_expires_at.map(unix),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PasswordProfile {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    password: Option<String>,
    force_change_password_next_sign_in: Option<bool>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    password_expiration_date_time: Option<OffsetDateTime>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateUser {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    user_principal_name: Option<String>,
    display_name: Option<String>,
    account_enabled: Option<bool>,
    mail_nickname: Option<String>,
    password_profile: Option<PasswordProfile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchUser {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    display_name: Option<String>,
    account_enabled: Option<bool>,
    password_profile: Option<PasswordProfile>,
}

fn expiry(s: &AdminState, p: &PasswordProfile) -> Option<i64> {
    if p.force_change_password_next_sign_in == Some(true) {
        Some(s.directory.clock().now().unix_timestamp())
    } else {
        p.password_expiration_date_time.map(|t| t.unix_timestamp())
    }
}

async fn list_users(State(s): State<AdminState>, PathTenant(t): PathTenant) -> ApiResult {
    let users = s.directory.list_users(&t.id).await?;
    Ok(Json(collection("users", users.iter().map(user_json).collect())).into_response())
}

async fn create_user(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    GraphJson(req): GraphJson<CreateUser>,
) -> ApiResult {
    let _ = req.mail_nickname;
    let upn = req
        .user_principal_name
        .ok_or_else(|| GraphError::bad_request("Property 'userPrincipalName' is required."))?;
    let profile = req
        .password_profile
        .ok_or_else(|| GraphError::bad_request("Property 'passwordProfile' is required."))?;
    let expires = expiry(&s, &profile);
    let password = profile.password.ok_or_else(|| {
        GraphError::bad_request("Property 'passwordProfile.password' is required.")
    })?;
    let u = s
        .directory
        .create_user(
            &t.id,
            NewUser {
                user_principal_name: upn,
                display_name: req.display_name,
                password,
                account_enabled: req.account_enabled.unwrap_or(true),
                password_expires_at: expires,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(entity("users", user_json(&u)))).into_response())
}

async fn get_user(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    let u = s.directory.get_user(&t.id, &id).await?;
    Ok(Json(entity("users", user_json(&u))).into_response())
}

async fn update_user(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    GraphJson(req): GraphJson<PatchUser>,
) -> ApiResult {
    let password = match req.password_profile {
        Some(p) => {
            let expires = expiry(&s, &p);
            let pw = p.password.ok_or_else(|| {
                GraphError::bad_request("Property 'passwordProfile.password' is required.")
            })?;
            Some((pw, expires))
        }
        None => None,
    };
    s.directory
        .update_user(
            &t.id,
            &id,
            UserPatch {
                display_name: req.display_name,
                account_enabled: req.account_enabled,
                password,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_user(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    s.directory.delete_user(&t.id, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn revoke_sessions(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    s.directory.revoke_sign_in_sessions(&t.id, &id).await?;
    Ok(Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean",
        "value": true
    }))
    .into_response())
}

// ----- directory roles -----------------------------------------------------------------

async fn list_role_definitions() -> ApiResult {
    let defs: Vec<Value> = builtin_roles()
        .iter()
        .map(|r| {
            json!({
                "id": r.template_id,
                "templateId": r.template_id,
                "displayName": r.display_name,
                "description": r.description,
                "isBuiltIn": true,
                "isEnabled": true,
                // Palisade extension: what the role allows in Defender XDR.
                "defenderRights": r.defender_rights.iter().map(|x| x.display_name()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(collection("roleManagement/directory/roleDefinitions", defs)).into_response())
}

fn assignment_json(a: &RoleAssignmentRow) -> Value {
    json!({
        "id": a.id,
        "principalId": a.principal_id,
        "roleDefinitionId": a.role_template_id,
        "directoryScopeId": "/",
        "createdDateTime": unix(a.created_at),
        "roleDefinitionDisplayName": find_role(&a.role_template_id).map(|r| r.display_name),
    })
}

/// `$filter=principalId eq '<id>'` (the one filter the CLI and scripts need).
fn principal_filter(q: &HashMap<String, String>) -> Result<Option<String>, GraphError> {
    let Some(f) = q.get("$filter") else {
        return Ok(None);
    };
    let value = f
        .trim()
        .strip_prefix("principalId eq ")
        .map(|v| v.trim().trim_matches('\''))
        .filter(|v| !v.is_empty() && !v.contains('\''))
        .ok_or_else(|| {
            GraphError::bad_request("Only $filter=principalId eq '<id>' is supported here.")
        })?;
    Ok(Some(value.to_string()))
}

async fn list_role_assignments(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let principal = principal_filter(&q)?;
    let list = s
        .directory
        .role_assignments(&t.id, principal.as_deref())
        .await?;
    Ok(Json(collection(
        "roleManagement/directory/roleAssignments",
        list.iter().map(assignment_json).collect(),
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateRoleAssignment {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    principal_id: String,
    role_definition_id: String,
    directory_scope_id: Option<String>,
}

async fn create_role_assignment(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    GraphJson(req): GraphJson<CreateRoleAssignment>,
) -> ApiResult {
    if req.directory_scope_id.as_deref().is_some_and(|d| d != "/") {
        return Err(GraphError::bad_request(
            "Only the tenant-wide directoryScopeId '/' is supported.",
        ));
    }
    let (a, _) = s
        .directory
        .assign_role(&t.id, &req.principal_id, &req.role_definition_id)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(entity(
            "roleManagement/directory/roleAssignments",
            assignment_json(&a),
        )),
    )
        .into_response())
}

async fn delete_role_assignment(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    s.directory.remove_role_assignment(&t.id, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----- oauth2PermissionGrants -----------------------------------------------------------

pub(crate) fn grant_json(g: &PermissionGrantRow) -> Value {
    json!({
        "id": g.id,
        "clientId": g.client_id,
        "consentType": g.consent_type,
        "principalId": g.principal_id,
        "resourceId": g.resource_id,
        "scope": g.scope,
    })
}

async fn list_grants(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let client = match q.get("$filter") {
        None => None,
        Some(f) => Some(
            f.trim()
                .strip_prefix("clientId eq ")
                .map(|v| v.trim().trim_matches('\'').to_string())
                .filter(|v| !v.is_empty() && !v.contains('\''))
                .ok_or_else(|| {
                    GraphError::bad_request("Only $filter=clientId eq '<id>' is supported here.")
                })?,
        ),
    };
    let list = s
        .directory
        .list_permission_grants(&t.id, client.as_deref())
        .await?;
    Ok(Json(collection(
        "oauth2PermissionGrants",
        list.iter().map(grant_json).collect(),
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreatePermissionGrant {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    client_id: String,
    consent_type: String,
    principal_id: Option<String>,
    resource_id: String,
    scope: String,
}

async fn create_grant(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    GraphJson(req): GraphJson<CreatePermissionGrant>,
) -> ApiResult {
    let g = s
        .directory
        .create_permission_grant(
            &t.id,
            &req.client_id,
            &req.consent_type,
            req.principal_id.as_deref(),
            &req.resource_id,
            &req.scope,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(entity("oauth2PermissionGrants", grant_json(&g))),
    )
        .into_response())
}

async fn get_grant(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    let g = s.directory.get_permission_grant(&t.id, &id).await?;
    Ok(Json(entity("oauth2PermissionGrants", grant_json(&g))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchPermissionGrant {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    scope: String,
}

async fn update_grant(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    GraphJson(req): GraphJson<PatchPermissionGrant>,
) -> ApiResult {
    s.directory
        .update_permission_grant(&t.id, &id, &req.scope)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_grant(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    s.directory.delete_permission_grant(&t.id, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /admin/{tenant}/grants` with `"type": "Delegated"`: admin consent for delegated
/// scopes (an `AllPrincipals` grant) in one step.
pub(crate) async fn grant_delegated(
    s: &AdminState,
    tenant_id: &str,
    app: &str,
    resource: &str,
    scopes: &[String],
) -> Result<Value, GraphError> {
    let g = s
        .directory
        .grant_delegated(tenant_id, app, resource, scopes, ConsentType::AllPrincipals)
        .await?;
    let resource_sp = s
        .directory
        .get_service_principal(tenant_id, &g.resource_id)
        .await?;
    let resource_app = s
        .directory
        .find_application_by_app_id(&resource_sp.app_id)
        .await?;
    Ok(json!({
        "tenantId": tenant_id,
        "type": "Delegated",
        "clientServicePrincipalId": g.client_id,
        "resourceServicePrincipalId": g.resource_id,
        "resourceAppId": resource_sp.app_id,
        "resourceDisplayName": resource_app.map(|a| a.display_name),
        "oauth2PermissionGrant": grant_json(&g),
        "granted": g.scope.split(' ').map(|v| json!({"value": v})).collect::<Vec<_>>(),
    }))
}

// ----- device groups -------------------------------------------------------------------

fn group_json(g: &DeviceGroupRow) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "createdDateTime": unix(g.created_at),
    })
}

fn device_json(d: &DeviceRow, groups: &[DeviceGroupRow]) -> Value {
    json!({
        "id": d.device_id,
        "computerDnsName": d.device_name,
        "rbacGroupId": d.group_id,
        "rbacGroupName": d.group_id.and_then(|g| groups.iter().find(|x| x.id == g)).map(|g| g.name.clone()),
        "createdDateTime": unix(d.created_at),
    })
}

async fn list_device_groups(State(s): State<AdminState>, PathTenant(t): PathTenant) -> ApiResult {
    let groups = s.directory.list_device_groups(&t.id).await?;
    Ok(Json(json!({"value": groups.iter().map(group_json).collect::<Vec<_>>()})).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateDeviceGroup {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    name: String,
    description: Option<String>,
    id: Option<i64>,
}

async fn create_device_group(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    GraphJson(req): GraphJson<CreateDeviceGroup>,
) -> ApiResult {
    let g = s
        .directory
        .create_device_group(
            &t.id,
            &req.name,
            req.description.as_deref().unwrap_or(""),
            req.id,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(group_json(&g))).into_response())
}

async fn delete_device_group(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    s.directory.delete_device_group(&t.id, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_devices(State(s): State<AdminState>, PathTenant(t): PathTenant) -> ApiResult {
    let groups = s.directory.list_device_groups(&t.id).await?;
    let devices = s.directory.list_devices(&t.id).await?;
    Ok(Json(json!({
        "value": devices.iter().map(|d| device_json(d, &groups)).collect::<Vec<_>>()
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PutDevice {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    computer_dns_name: String,
    device_group: Option<String>,
}

async fn put_device(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    GraphJson(req): GraphJson<PutDevice>,
) -> ApiResult {
    let d = s
        .directory
        .register_device(
            &t.id,
            &id,
            &req.computer_dns_name,
            req.device_group.as_deref(),
        )
        .await?;
    let groups = s.directory.list_device_groups(&t.id).await?;
    Ok(Json(device_json(&d, &groups)).into_response())
}

pub(crate) fn scope_json(scope: &DeviceGroupScope, groups: &[DeviceGroupRow]) -> Value {
    match scope {
        DeviceGroupScope::All => json!({"scope": "all", "groups": []}),
        DeviceGroupScope::Groups(ids) => json!({
            "scope": "groups",
            "groups": ids.iter().map(|id| {
                let name = groups.iter().find(|g| g.id == *id).map(|g| g.name.clone());
                json!({"id": id, "name": name})
            }).collect::<Vec<_>>(),
        }),
    }
}

async fn get_user_device_groups(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    let scope = s.directory.user_device_groups(&t.id, &id).await?;
    let groups = s.directory.list_device_groups(&t.id).await?;
    Ok(Json(scope_json(&scope, &groups)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PutUserDeviceGroups {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    scope: String,
    #[serde(default)]
    groups: Vec<String>,
}

async fn put_user_device_groups(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    GraphJson(req): GraphJson<PutUserDeviceGroups>,
) -> ApiResult {
    let groups =
        match req.scope.as_str() {
            "all" if req.groups.is_empty() => None,
            "groups" => Some(req.groups.as_slice()),
            _ => return Err(GraphError::bad_request(
                "scope must be 'all' (without groups) or 'groups' (with the group names or ids).",
            )),
        };
    let scope = s
        .directory
        .set_user_device_groups(&t.id, &id, groups)
        .await?;
    let all = s.directory.list_device_groups(&t.id).await?;
    Ok(Json(scope_json(&scope, &all)).into_response())
}
