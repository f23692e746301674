//! Admin API routes.

use crate::auth::is_admin_key;
use crate::graph::*;
use crate::state::{parse_json, AdminState, ApiResult, GraphJson, PathTenant};
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use palisade_directory::{ApplicationDefinition, NewApplication, SignInAudience, MTP_APP_ID};
use palisade_store::TenantRow;
use serde_json::{json, Value};

/// The challenge on the admin API's 401s and 400s (RFC 6750 §3): no error code when no key
/// was presented, `invalid_token` for a wrong one, `invalid_request` for a malformed request.
fn with_challenge(mut response: Response, error: Option<&str>) -> Response {
    let value = match error {
        Some(e) => format!("Bearer realm=\"palisade-admin\", error=\"{e}\""),
        None => "Bearer realm=\"palisade-admin\"".to_string(),
    };
    if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(axum::http::header::WWW_AUTHENTICATE, v);
    }
    response
}

async fn require_admin(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    let mut values = request
        .headers()
        .get_all(axum::http::header::AUTHORIZATION)
        .iter();
    let (first, second) = (values.next(), values.next());
    if second.is_some() {
        return with_challenge(
            GraphError::bad_request("The request carries more than one Authorization header.")
                .into_response(),
            Some("invalid_request"),
        );
    }
    let presented = first
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(key) if !key.is_empty() => match is_admin_key(state.directory.store(), key).await {
            Ok(true) => next.run(request).await,
            Ok(false) => with_challenge(
                GraphError::unauthorized().into_response(),
                Some("invalid_token"),
            ),
            Err(e) => {
                GraphError::from(palisade_directory::DirectoryError::Store(e)).into_response()
            }
        },
        _ => with_challenge(GraphError::unauthorized().into_response(), None),
    }
}

/// The Graph-shaped directory routes (relative to `…/v1.0`), without any authentication.
fn graph_routes() -> Router<AdminState> {
    Router::new()
        .route(
            "/applications",
            get(list_applications).post(create_application),
        )
        .route(
            "/applications/{id}",
            get(get_application)
                .delete(delete_application)
                .patch(patch_application),
        )
        .route(
            "/applications/{id}/addKey",
            post(crate::certificates::add_key),
        )
        .route(
            "/applications/{id}/removeKey",
            post(crate::certificates::remove_key),
        )
        .route("/applications/{id}/addPassword", post(add_password))
        .route("/applications/{id}/removePassword", post(remove_password))
        .route(
            "/servicePrincipals",
            get(list_service_principals).post(create_service_principal),
        )
        .route(
            "/servicePrincipals/{id}",
            get(get_service_principal).delete(delete_service_principal),
        )
        .route(
            "/servicePrincipals/{id}/appRoleAssignments",
            get(list_assignments).post(create_assignment),
        )
        .route(
            "/servicePrincipals/{id}/appRoleAssignments/{assignment}",
            delete(delete_assignment),
        )
        .merge(crate::users::graph_routes())
        .merge(crate::owners::routes())
}

/// The directory's Graph-shaped routes under `/admin/{tenant}/v1.0/…` with **no
/// authentication of their own**, for a front that has already authorized the caller for
/// that tenant (the Graph API at `/v1.0/applications`…, which checks Graph tokens and
/// directory permissions, then forwards here). Never serve this router directly.
/// Adds what only Graph's paths offer: `GET organization` and
/// `GET, POST servicePrincipals/{resource}/appRoleAssignedTo`.
pub fn directory_router(state: AdminState) -> Router {
    Router::new()
        .nest(
            "/admin/{tenant}/v1.0",
            graph_routes()
                .route("/organization", get(get_organization))
                .route(
                    "/servicePrincipals/{id}/appRoleAssignedTo",
                    get(list_assignments_to).post(create_assignment_to),
                ),
        )
        .with_state(state)
}

/// The admin API's routes, all behind the admin key check.
pub fn router(state: AdminState) -> Router {
    let graph = graph_routes();
    Router::new()
        .route("/admin/tenants", get(list_tenants).post(create_tenant))
        .route("/admin/tenants/{tenant}", get(get_tenant))
        .route("/admin/keys", get(list_keys))
        .route("/admin/keys/rotate", post(rotate_keys))
        .route("/admin/{tenant}/grants", post(create_grant))
        .nest("/admin/{tenant}/v1.0", graph)
        .nest(
            "/admin/{tenant}",
            crate::users::defender_routes().merge(crate::sentinel::routes()),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_admin,
        ))
        .with_state(state)
}

// ----- tenants ---------------------------------------------------------------------------

async fn list_tenants(State(s): State<AdminState>) -> ApiResult {
    let tenants = s.directory.list_tenants().await?;
    Ok(Json(collection(
        "organization",
        tenants.iter().map(tenant_json).collect(),
    ))
    .into_response())
}

async fn create_tenant(
    State(s): State<AdminState>,
    GraphJson(req): GraphJson<CreateTenant>,
) -> ApiResult {
    let t = s
        .directory
        .create_tenant(&req.display_name, req.domain.as_deref(), req.id.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(entity("organization", tenant_json(&t))),
    )
        .into_response())
}

async fn get_tenant(PathTenant(t): PathTenant) -> ApiResult {
    Ok(Json(entity("organization", tenant_json(&t))).into_response())
}

/// `GET …/organization`: the tenant, as Graph's one-item collection.
async fn get_organization(PathTenant(t): PathTenant) -> ApiResult {
    Ok(Json(collection("organization", vec![tenant_json(&t)])).into_response())
}

// ----- keys ------------------------------------------------------------------------------

fn keys_json(s: &AdminState) -> Value {
    let active = s.keys.active_kid();
    let published: Vec<String> = s.keys.published_keys().into_iter().map(|k| k.kid).collect();
    let keys: Vec<Value> = s
        .keys
        .all_keys()
        .into_iter()
        .map(|k| {
            json!({
                "kid": k.kid,
                "active": active.as_deref() == Some(k.kid.as_str()),
                "published": published.contains(&k.kid),
                "activatedDateTime": k.activated_at.map(unix),
                "retireDateTime": k.retire_at.map(unix),
            })
        })
        .collect();
    json!({ "value": keys })
}

async fn list_keys(State(s): State<AdminState>) -> ApiResult {
    s.keys
        .reload()
        .await
        .map_err(|e| GraphError::bad_request(e.to_string()))?;
    Ok(Json(keys_json(&s)).into_response())
}

async fn rotate_keys(State(s): State<AdminState>) -> ApiResult {
    s.keys.rotate().await.map_err(|e| {
        tracing::error!(error = %e, "key rotation failed");
        GraphError::bad_request("Key rotation failed.")
    })?;
    Ok(Json(keys_json(&s)).into_response())
}

// ----- applications ----------------------------------------------------------------------

async fn app_json(
    s: &AdminState,
    t: &TenantRow,
    app: &palisade_directory::Application,
) -> Result<Value, GraphError> {
    let passwords = s.directory.list_passwords(&t.id, &app.id).await?;
    let keys = s.directory.list_keys(&t.id, &app.id).await?;
    let mut v = application_json(app, &passwords, &t.initial_domain);
    v["keyCredentials"] = keys
        .iter()
        .map(crate::certificates::key_credential_json)
        .collect();
    Ok(v)
}

async fn list_applications(State(s): State<AdminState>, PathTenant(t): PathTenant) -> ApiResult {
    let mut out = Vec::new();
    for app in s.directory.list_applications(&t.id).await? {
        out.push(app_json(&s, &t, &app).await?);
    }
    Ok(Json(collection("applications", out)).into_response())
}

async fn create_application(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    GraphJson(req): GraphJson<CreateApplication>,
) -> ApiResult {
    let display_name = req
        .display_name
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| GraphError::bad_request("Property 'displayName' is required."))?;
    let audience = match req.sign_in_audience.as_deref() {
        None => SignInAudience::AzureADMyOrg,
        Some(a) => sign_in_audience(a)?,
    };
    let api = req.api;
    let new = NewApplication {
        display_name,
        sign_in_audience: audience,
        is_public_client: req.is_fallback_public_client.unwrap_or(false),
        identifier_uris: req.identifier_uris.unwrap_or_default(),
        definition: ApplicationDefinition {
            web_redirect_uris: req.web.and_then(|w| w.redirect_uris).unwrap_or_default(),
            public_client_redirect_uris: req
                .public_client
                .and_then(|p| p.redirect_uris)
                .unwrap_or_default(),
            spa_redirect_uris: req.spa.and_then(|p| p.redirect_uris).unwrap_or_default(),
            required_resource_access: req.required_resource_access.unwrap_or_default(),
            app_roles: req.app_roles.unwrap_or_default(),
            requested_access_token_version: api
                .as_ref()
                .and_then(|a| a.requested_access_token_version),
            oauth2_permission_scopes: api
                .and_then(|a| a.oauth2_permission_scopes)
                .unwrap_or_default(),
        },
    };
    if let Some(v) = new.definition.requested_access_token_version {
        if v != 1 && v != 2 {
            return Err(GraphError::bad_request(
                "requestedAccessTokenVersion must be 1 or 2.",
            ));
        }
    }
    let app = s.directory.create_application(&t.id, new).await?;
    // As in Entra's portal, registering an app also creates its service principal at home.
    s.directory
        .ensure_service_principal(&t.id, &app.app_id)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(entity("applications", app_json(&s, &t, &app).await?)),
    )
        .into_response())
}

async fn get_application(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    let app = s.directory.get_application(&t.id, &id).await?;
    Ok(Json(entity("applications", app_json(&s, &t, &app).await?)).into_response())
}

/// `PATCH …/applications/{id}` body: the registration's properties, and `keyCredentials`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchApplication {
    /// `@odata.type`, which the Graph SDKs send on every object; accepted and ignored.
    #[serde(rename = "@odata.type", default)]
    _odata_type: Option<String>,
    display_name: Option<String>,
    sign_in_audience: Option<String>,
    is_fallback_public_client: Option<bool>,
    identifier_uris: Option<Vec<String>>,
    web: Option<RedirectUris>,
    spa: Option<RedirectUris>,
    public_client: Option<RedirectUris>,
    required_resource_access: Option<Vec<palisade_directory::RequiredResourceAccess>>,
    app_roles: Option<Vec<palisade_directory::AppRole>>,
    api: Option<ApiSettings>,
    key_credentials: Option<Vec<crate::certificates::KeyCredentialInput>>,
}

fn sign_in_audience(a: &str) -> Result<SignInAudience, GraphError> {
    SignInAudience::parse(a).ok_or_else(|| {
        GraphError::bad_request(format!(
            "signInAudience '{a}' is not supported; use AzureADMyOrg or AzureADMultipleOrgs."
        ))
    })
}

/// `PATCH …/applications/{id}` → 204. Every property is checked (certificates included)
/// before anything is stored; then the properties, then `keyCredentials`.
async fn patch_application(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    GraphJson(req): GraphJson<PatchApplication>,
) -> ApiResult {
    let app = s.directory.get_application(&t.id, &id).await?;
    let keys = match req.key_credentials {
        Some(entries) => {
            let existing = s.directory.list_keys(&t.id, &app.id).await?;
            Some(crate::certificates::key_credentials_patch(
                entries, &existing,
            )?)
        }
        None => None,
    };
    let public = req
        .is_fallback_public_client
        .unwrap_or(app.is_public_client);
    let adds_key = keys.as_ref().is_some_and(|k| {
        k.iter()
            .any(|e| matches!(e, palisade_directory::KeyCredentialPatch::Add(_)))
    });
    if public && adds_key {
        return Err(GraphError::bad_request(
            "a public client application cannot have certificate credentials",
        ));
    }
    let api = req.api;
    let patch = palisade_directory::ApplicationPatch {
        display_name: req.display_name,
        sign_in_audience: req
            .sign_in_audience
            .as_deref()
            .map(sign_in_audience)
            .transpose()?,
        is_public_client: req.is_fallback_public_client,
        identifier_uris: req.identifier_uris,
        web_redirect_uris: req.web.and_then(|w| w.redirect_uris),
        public_client_redirect_uris: req.public_client.and_then(|p| p.redirect_uris),
        spa_redirect_uris: req.spa.and_then(|p| p.redirect_uris),
        required_resource_access: req.required_resource_access,
        app_roles: req.app_roles,
        requested_access_token_version: api.as_ref().and_then(|a| a.requested_access_token_version),
        oauth2_permission_scopes: api.and_then(|a| a.oauth2_permission_scopes),
    };
    s.directory
        .update_application(&t.id, &app.id, patch)
        .await?;
    if let Some(keys) = keys {
        s.directory.replace_keys(&t.id, &app.id, keys).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_application(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    s.directory.delete_application(&t.id, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn add_password(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req: AddPassword = if body.is_empty() {
        AddPassword::default()
    } else {
        parse_json(&headers, &body)?
    };
    let input = req.password_credential.unwrap_or_default();
    let (cred, secret) = s
        .directory
        .add_password(
            &t.id,
            &id,
            input.display_name,
            input.start_date_time,
            input.end_date_time,
        )
        .await?;
    let mut v = password_json(&cred, Some(&secret));
    v["@odata.context"] =
        json!("https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.passwordCredential");
    Ok(Json(v).into_response())
}

async fn remove_password(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    GraphJson(req): GraphJson<RemovePassword>,
) -> ApiResult {
    s.directory.remove_password(&t.id, &id, &req.key_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----- service principals ----------------------------------------------------------------

async fn sp_json(
    s: &AdminState,
    sp: &palisade_store::ServicePrincipalRow,
) -> Result<Value, GraphError> {
    let app = s.directory.find_application_by_app_id(&sp.app_id).await?;
    Ok(service_principal_json(sp, app.as_ref()))
}

async fn list_service_principals(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
) -> ApiResult {
    let mut out = Vec::new();
    for sp in s
        .directory
        .store()
        .list_service_principals(&t.id)
        .await
        .map_err(palisade_directory::DirectoryError::from)?
    {
        out.push(sp_json(&s, &sp).await?);
    }
    Ok(Json(collection("servicePrincipals", out)).into_response())
}

async fn create_service_principal(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    GraphJson(req): GraphJson<CreateServicePrincipal>,
) -> ApiResult {
    let sp = s
        .directory
        .create_service_principal(&t.id, &req.app_id)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(entity("servicePrincipals", sp_json(&s, &sp).await?)),
    )
        .into_response())
}

async fn get_service_principal(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    let sp = s.directory.get_service_principal(&t.id, &id).await?;
    Ok(Json(entity("servicePrincipals", sp_json(&s, &sp).await?)).into_response())
}

async fn delete_service_principal(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    let sp = s.directory.get_service_principal(&t.id, &id).await?;
    if palisade_directory::builtin_apps()
        .iter()
        .any(|b| b.app_id == sp.app_id)
    {
        return Err(GraphError::bad_request(
            "Built-in Microsoft service principals cannot be deleted.",
        ));
    }
    s.directory
        .store()
        .delete_service_principal(&t.id, &sp.id)
        .await
        .map_err(palisade_directory::DirectoryError::from)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn assignment_value(
    s: &AdminState,
    t: &TenantRow,
    a: &palisade_store::AppRoleAssignmentRow,
) -> Result<Value, GraphError> {
    let name = |id: String| {
        let s = s.clone();
        let tid = t.id.clone();
        async move {
            let sp = s.directory.get_service_principal(&tid, &id).await.ok()?;
            s.directory
                .find_application_by_app_id(&sp.app_id)
                .await
                .ok()
                .flatten()
                .map(|a| a.display_name)
        }
    };
    let p = name(a.principal_id.clone()).await;
    let r = name(a.resource_id.clone()).await;
    Ok(assignment_json(a, p.as_deref(), r.as_deref()))
}

async fn list_assignments(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    let mut out = Vec::new();
    for a in s.directory.list_app_role_assignments(&t.id, &id).await? {
        out.push(assignment_value(&s, &t, &a).await?);
    }
    Ok(Json(collection("appRoleAssignments", out)).into_response())
}

/// `GET servicePrincipals/{resource}/appRoleAssignedTo`: who holds the resource's app
/// roles.
async fn list_assignments_to(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    let mut out = Vec::new();
    for a in s.directory.list_app_role_assignments_to(&t.id, &id).await? {
        out.push(assignment_value(&s, &t, &a).await?);
    }
    let context = format!("servicePrincipals('{id}')/appRoleAssignedTo");
    Ok(Json(collection(&context, out)).into_response())
}

/// `POST servicePrincipals/{resource}/appRoleAssignedTo`: the same assignment, addressed
/// from the resource's side (Graph's preferred form).
async fn create_assignment_to(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    GraphJson(req): GraphJson<CreateAssignment>,
) -> ApiResult {
    if !req.resource_id.eq_ignore_ascii_case(&id) {
        return Err(GraphError::bad_request(
            "resourceId must be the service principal in the request path.",
        ));
    }
    assign(&s, &t, &req).await
}

async fn create_assignment(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id)): Path<(String, String)>,
    GraphJson(req): GraphJson<CreateAssignment>,
) -> ApiResult {
    if !req.principal_id.eq_ignore_ascii_case(&id) {
        return Err(GraphError::bad_request(
            "principalId must be the service principal in the request path.",
        ));
    }
    assign(&s, &t, &req).await
}

async fn assign(s: &AdminState, t: &TenantRow, req: &CreateAssignment) -> ApiResult {
    let a = s
        .directory
        .assign_app_role(&t.id, &req.principal_id, &req.resource_id, &req.app_role_id)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(entity(
            "appRoleAssignments",
            assignment_value(s, t, &a).await?,
        )),
    )
        .into_response())
}

async fn delete_assignment(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    Path((_, id, assignment)): Path<(String, String, String)>,
) -> ApiResult {
    if s.directory
        .store()
        .delete_app_role_assignment(&t.id, &id, &assignment)
        .await
        .map_err(palisade_directory::DirectoryError::from)?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(GraphError::not_found(format!(
            "Resource '{assignment}' does not exist."
        )))
    }
}

async fn create_grant(
    State(s): State<AdminState>,
    PathTenant(t): PathTenant,
    GraphJson(req): GraphJson<CreateGrant>,
) -> ApiResult {
    let resource = req.resource.unwrap_or_else(|| MTP_APP_ID.to_string());
    match req.kind.as_deref() {
        None | Some("Application") => {}
        Some("Delegated") => {
            let v =
                crate::users::grant_delegated(&s, &t.id, &req.app_id, &resource, &req.permissions)
                    .await?;
            return Ok((StatusCode::CREATED, Json(v)).into_response());
        }
        Some(other) => {
            return Err(GraphError::bad_request(format!(
                "type '{other}' is not supported: use Application or Delegated."
            )))
        }
    }
    let outcome = s
        .directory
        .grant_permissions(&t.id, &req.app_id, &resource, &req.permissions)
        .await?;
    let resource_app = s
        .directory
        .find_application_by_app_id(&outcome.resource_service_principal.app_id)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "tenantId": t.id,
            "type": "Application",
            "clientServicePrincipalId": outcome.client_service_principal.id,
            "resourceServicePrincipalId": outcome.resource_service_principal.id,
            "resourceAppId": outcome.resource_service_principal.app_id,
            "resourceDisplayName": resource_app.map(|a| a.display_name),
            "granted": outcome.granted.iter().map(|(value, a)| json!({"value": value, "appRoleId": a.app_role_id, "assignmentId": a.id})).collect::<Vec<_>>(),
        })),
    )
        .into_response())
}
