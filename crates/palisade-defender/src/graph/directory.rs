//! The directory at Graph's own paths (`/v1.0|beta/applications`, `servicePrincipals`
//! with `appRoleAssignments`/`appRoleAssignedTo`, `oauth2PermissionGrants`, `users`,
//! `roleManagement/directory/…`, `organization`), authorized by **Graph tokens** with
//! Graph's directory permissions (graph.md §8.3, §9), then served by the admin API's
//! Graph-shaped handlers for the token's tenant (`palisade_admin::directory_router`, handed
//! in by the binary; this crate does not depend on the admin crate).
//!
//! Permissions (any one of a list):
//! - applications, servicePrincipals: read `Application.Read.All`,
//!   `Application.ReadWrite.All`, `Directory.Read.All`, `Directory.ReadWrite.All`; write
//!   `Application.ReadWrite.All`, `Directory.ReadWrite.All`; or, for an app token,
//!   `Application.ReadWrite.OwnedBy` as [`owned_by`] allows;
//! - owners (`…/{id}/owners`, `…/owners/$ref`, `…/owners/{id}/$ref`): read as above;
//!   write `Application.ReadWrite.All` and `Directory.Read.All`, or
//!   `Directory.ReadWrite.All` (docs: "Application.ReadWrite.OwnedBy isn't sufficient to
//!   add another owner");
//! - app role assignments (POST/DELETE): `AppRoleAssignment.ReadWrite.All` **and** one of
//!   the application read permissions (docs; microsoft-graph-docs#12833);
//! - oauth2PermissionGrants: write `DelegatedPermissionGrant.ReadWrite.All`,
//!   `Directory.ReadWrite.All`; read also `Directory.Read.All`;
//! - users: write `User.ReadWrite.All`, `Directory.ReadWrite.All`; read also
//!   `User.Read.All`, `Directory.Read.All`;
//! - roleManagement: write `RoleManagement.ReadWrite.Directory`; read also
//!   `Directory.Read.All`;
//! - organization: `Organization.Read.All`, `Directory.Read.All`, `User.Read.All`
//!   (delegated: `User.Read`).
//!
//! Delegated calls also need a directory role of the signed-in user that may do the same
//! in Entra's portal (graph.md §9's role template ids; Entra's built-in roles reference):
//! - applications, servicePrincipals and their app role assignments: Global
//!   Administrator, Application Administrator, Cloud Application Administrator (app role
//!   assignments and oauth2PermissionGrants, which grant consent, also Privileged Role
//!   Administrator);
//! - users: Global Administrator, User Administrator;
//! - roleManagement: Global Administrator, Privileged Role Administrator;
//! - reads: those roles or Global Reader; `organization`: any user;
//! - an **owner** of an application or service principal (a user in its `owners`) may
//!   read, PATCH, delete it, manage its credentials and its owners with the delegated
//!   permission alone, without an admin role (Entra: "owners can manage all aspects of
//!   owned applications"); not its app role assignments, which grant consent.
//!
//! Refusals are Graph's `403 Authorization_RequestDenied`. Allowed calls are then counted
//! against Graph's directory limits (`QuotaConfig::directory_units`/`directory_writes`):
//! over them, `429 TooManyRequests` with `Retry-After`.

use super::error::GraphError;
use super::GraphApp;
use crate::auth::CallerKind;
use crate::gate::Refusal;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use palisade_directory::{Directory, DirectoryError, OwnedKind, OwnedRef};
use std::sync::Arc;
use tower::ServiceExt;

use palisade_directory::roles::{
    APPLICATION_ADMINISTRATOR, CLOUD_APPLICATION_ADMINISTRATOR, GLOBAL_ADMINISTRATOR,
    GLOBAL_READER, PRIVILEGED_ROLE_ADMINISTRATOR, USER_ADMINISTRATOR,
};

/// Who may write applications and service principals.
const APP_ADMINS: &[&str] = &[
    GLOBAL_ADMINISTRATOR,
    APPLICATION_ADMINISTRATOR,
    CLOUD_APPLICATION_ADMINISTRATOR,
];
/// Who may grant consent (app role assignments, oauth2PermissionGrants).
const CONSENT_ADMINS: &[&str] = &palisade_directory::roles::APP_CONSENT_ROLES;
const USER_ADMINS: &[&str] = &[GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR];
const ROLE_ADMINS: &[&str] = &[GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR];

const APP_READ: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const APP_WRITE: &[&str] = &["Application.ReadWrite.All", "Directory.ReadWrite.All"];

/// What a directory request needs: all of `all`, and one of `any`; a delegated caller
/// also one of `admins` (or Global Reader for a read; `None`: any user).
struct Need {
    all: &'static [&'static str],
    any: &'static [&'static str],
    /// A second "one of" group (empty: none).
    also_any: &'static [&'static str],
    admins: Option<&'static [&'static str]>,
    write: bool,
}

/// The permission a request needs, from its method and the path after the version.
fn need(method: &Method, rest: &str) -> Option<Need> {
    let write = *method != Method::GET;
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let need = |admins: &'static [&'static str]| {
        move |all, any| {
            Some(Need {
                all,
                any,
                also_any: &[],
                admins: Some(admins),
                write,
            })
        }
    };
    match segments.as_slice() {
        ["applications" | "servicePrincipals", _, "owners", ..] if write => Some(Need {
            all: &[],
            any: APP_WRITE,
            also_any: &["Directory.Read.All", "Directory.ReadWrite.All"],
            admins: Some(APP_ADMINS),
            write,
        }),
        ["applications", ..] => need(APP_ADMINS)(&[], if write { APP_WRITE } else { APP_READ }),
        ["servicePrincipals", _, "appRoleAssignments" | "appRoleAssignedTo", ..] if write => {
            need(CONSENT_ADMINS)(&["AppRoleAssignment.ReadWrite.All"], APP_READ)
        }
        ["servicePrincipals", ..] => {
            need(APP_ADMINS)(&[], if write { APP_WRITE } else { APP_READ })
        }
        ["oauth2PermissionGrants", ..] => need(CONSENT_ADMINS)(
            &[],
            if write {
                &[
                    "DelegatedPermissionGrant.ReadWrite.All",
                    "Directory.ReadWrite.All",
                ]
            } else {
                &[
                    "DelegatedPermissionGrant.ReadWrite.All",
                    "Directory.Read.All",
                    "Directory.ReadWrite.All",
                ]
            },
        ),
        ["users", ..] => need(USER_ADMINS)(
            &[],
            if write {
                &["User.ReadWrite.All", "Directory.ReadWrite.All"]
            } else {
                &[
                    "User.Read.All",
                    "User.ReadWrite.All",
                    "Directory.Read.All",
                    "Directory.ReadWrite.All",
                ]
            },
        ),
        ["roleManagement", "directory", ..] => need(ROLE_ADMINS)(
            &[],
            if write {
                &["RoleManagement.ReadWrite.Directory"]
            } else {
                &[
                    "RoleManagement.ReadWrite.Directory",
                    "Directory.Read.All",
                    "Directory.ReadWrite.All",
                ]
            },
        ),
        ["organization"] if !write => Some(Need {
            all: &[],
            any: &[
                "Organization.Read.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
                "User.Read.All",
                "User.Read",
            ],
            also_any: &[],
            admins: None,
            write,
        }),
        _ => None,
    }
}

fn denied() -> GraphError {
    GraphError {
        status: StatusCode::FORBIDDEN,
        code: "Authorization_RequestDenied",
        message: "Insufficient privileges to complete the operation.".to_string(),
        retry_after: None,
        challenge: None,
    }
}

/// The application permission that reaches only what the calling app owns.
const OWNED_BY: &str = "Application.ReadWrite.OwnedBy";

/// The largest request or response body read here (a POST /servicePrincipals body, a
/// created object).
const MAX_BODY: usize = 1 << 20;

/// Whether `principal` (a user's or service principal's object id) owns the application
/// (object id or appId) or service principal `id` of `tenant`; an unknown object is owned
/// by no one.
async fn owns(
    directory: &Directory,
    tenant: &str,
    kind: OwnedKind,
    id: &str,
    principal: &str,
) -> Result<bool, GraphError> {
    match directory.owned(tenant, kind, id).await {
        Ok(target) => directory
            .is_owner(tenant, &target, principal)
            .await
            .map_err(GraphError::internal),
        Err(DirectoryError::NotFound(_)) => Ok(false),
        Err(e) => Err(GraphError::internal(e)),
    }
}

/// What `Application.ReadWrite.OwnedBy` lets an app (its service principal `sp`) do, when
/// it holds no broader permission for the request. Microsoft's permissions reference: "the
/// same operations as Application.ReadWrite.All but only on applications and service
/// principals that the calling app is an owner of", except that it "allows an app to call
/// GET /applications and GET /servicePrincipals endpoints to list all applications and
/// service principals in the tenant"; and "Application.ReadWrite.OwnedBy isn't sufficient
/// to add another owner" (application-post-owners). So:
/// - `GET /applications`, `GET /servicePrincipals`: the whole tenant's list;
/// - `POST /applications`: allowed, and the caller's service principal becomes the new
///   app's owner ("Manage apps that this app creates or owns");
/// - `POST /servicePrincipals`: only for an app it owns, and it becomes the new service
///   principal's owner too [inferred: as for applications];
/// - `GET`/`PATCH`/`DELETE /applications/{id}`, `addPassword`, `removePassword`, `addKey`,
///   `removeKey`, `GET …/owners`, `GET`/`DELETE /servicePrincipals/{id}`: only on objects
///   it owns (an unknown object is not owned: 403, not 404 [inferred]);
/// - anything else, owners' `$ref` writes included: 403 `Authorization_RequestDenied`.
///
/// Returns the request (its body re-attached when read) and what the call creates.
async fn owned_by(
    directory: &Directory,
    tenant: &str,
    sp: &str,
    segments: &[String],
    request: Request,
) -> Result<(Request, Option<OwnedKind>), GraphError> {
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method().clone();
    let (kind, id) = match (method.as_str(), segments.as_slice()) {
        ("GET", ["applications" | "servicePrincipals"]) => return Ok((request, None)),
        ("POST", ["applications"]) => return Ok((request, Some(OwnedKind::Application))),
        ("POST", ["servicePrincipals"]) => {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(Body::new(body), MAX_BODY)
                .await
                .map_err(|_| GraphError::bad_request("The request body could not be read."))?;
            let app_id = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("appId").and_then(|a| a.as_str()).map(str::to_string))
                .ok_or_else(|| GraphError::bad_request("Property 'appId' is required."))?;
            if !owns(directory, tenant, OwnedKind::Application, &app_id, sp).await? {
                return Err(denied());
            }
            let request = Request::from_parts(parts, Body::from(bytes));
            return Ok((request, Some(OwnedKind::ServicePrincipal)));
        }
        ("GET" | "PATCH" | "DELETE", ["applications", id])
        | (
            "POST",
            ["applications", id, "addPassword" | "removePassword" | "addKey" | "removeKey"],
        )
        | ("GET", ["applications", id, "owners"]) => (OwnedKind::Application, *id),
        ("GET" | "DELETE", ["servicePrincipals", id])
        | ("GET", ["servicePrincipals", id, "owners"]) => (OwnedKind::ServicePrincipal, *id),
        _ => return Err(denied()),
    };
    if owns(directory, tenant, kind, id, sp).await? {
        Ok((request, None))
    } else {
        Err(denied())
    }
}

/// Whether a delegated caller without an admin role may still make this call because the
/// signed-in user owns its application or service principal: the object itself, its
/// credentials and its owners; never its app role assignments.
async fn delegated_owner(
    directory: &Directory,
    caller: &crate::auth::Caller,
    segments: &[String],
) -> Result<bool, GraphError> {
    let Some(user) = caller.object_id.as_deref() else {
        return Ok(false);
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (kind, id) = match segments.as_slice() {
        ["applications", id]
        | ["applications", id, "addPassword" | "removePassword" | "addKey" | "removeKey"]
        | ["applications", id, "owners", ..] => (OwnedKind::Application, *id),
        ["servicePrincipals", id] | ["servicePrincipals", id, "owners", ..] => {
            (OwnedKind::ServicePrincipal, *id)
        }
        _ => return Ok(false),
    };
    owns(directory, &caller.tenant_id, kind, id, user).await
}

/// Makes `owner` (the OwnedBy app's service principal) an owner of the object a `201`
/// response created. If that fails, the object is deleted again and the call fails: an
/// OwnedBy app never leaves behind an object it cannot manage.
async fn own_created(
    directory: &Directory,
    tenant: &str,
    kind: OwnedKind,
    owner: &str,
    response: Response,
) -> Result<Response, GraphError> {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(GraphError::internal)?;
    let created = serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default();
    let field = |name: &str| {
        created
            .get(name)
            .and_then(|i| i.as_str())
            .map(str::to_string)
    };
    let id = field("id")
        .ok_or_else(|| GraphError::internal("a created directory object without an id"))?;
    let mut targets = vec![OwnedRef {
        kind,
        id: id.to_ascii_lowercase(),
    }];
    // Palisade also creates a new app's home service principal (as the portal does; Graph
    // leaves that to the caller, who would then own it): the creator owns that too.
    if let (OwnedKind::Application, Some(app_id)) = (kind, field("appId")) {
        if let Ok(Some(sp)) = directory.find_service_principal(tenant, &app_id).await {
            targets.push(OwnedRef {
                kind: OwnedKind::ServicePrincipal,
                id: sp.id,
            });
        }
    }
    let mut failed = None;
    for target in &targets {
        if let Err(e) = directory.add_owner(tenant, target, owner).await {
            failed = Some(e);
            break;
        }
    }
    if let Some(e) = failed {
        let undone = match kind {
            OwnedKind::Application => directory.delete_application(tenant, &id).await,
            OwnedKind::ServicePrincipal => directory
                .store()
                .delete_service_principal(tenant, &id)
                .await
                .map(|_| ())
                .map_err(DirectoryError::from),
        };
        if let Err(u) = undone {
            tracing::error!(error = %u, "could not delete an object created without its owner");
        }
        return Err(GraphError::internal(e));
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

pub(crate) struct DirectoryFront {
    pub(crate) app: Arc<GraphApp>,
    pub(crate) inner: Router,
}

/// Authorizes a Graph directory request and forwards it to the admin handlers of the
/// token's tenant.
pub(crate) async fn forward(
    State(front): State<Arc<DirectoryFront>>,
    request: Request,
) -> Response {
    match authorize_and_forward(&front, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn authorize_and_forward(
    front: &DirectoryFront,
    request: Request,
) -> Result<Response, GraphError> {
    let app = &front.app;
    let host = &app.state.authority_host;
    let auth = match crate::gate::identify(&app.state, &app.validator, request.headers()).await {
        Ok(a) => a,
        Err(Refusal::Token(e)) => return Err(GraphError::token(&e, host)),
        Err(Refusal::User(m)) => return Err(GraphError::unauthorized(m, host)),
        Err(Refusal::Failed(e)) => return Err(e.into()),
    };
    let path = request.uri().path().to_string();
    let rest = path
        .strip_prefix("/v1.0")
        .or_else(|| path.strip_prefix("/beta"))
        .unwrap_or(&path)
        .to_string();
    let need = need(request.method(), &rest).ok_or_else(|| {
        GraphError::bad_request(format!(
            "Resource not found for the segment '{}'.",
            rest.trim_matches('/')
        ))
    })?;
    let caller = &auth.caller;
    let held: &[String] = match caller.kind {
        CallerKind::Application => &caller.roles,
        CallerKind::Delegated => &caller.scopes,
    };
    let has = |p: &&str| held.iter().any(|h| h == p);
    let segments: Vec<String> = rest
        .trim_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let directory = Directory::new(app.state.store.clone(), app.state.clock.clone());
    let granted = need.all.iter().all(has)
        && need.any.iter().any(has)
        && (need.also_any.is_empty() || need.also_any.iter().any(has));
    // What an OwnedBy app creates becomes its own; and its POST /servicePrincipals body.
    let mut creates = None;
    let mut request = request;
    if !granted {
        if caller.kind != CallerKind::Application || !has(&OWNED_BY) {
            return Err(denied());
        }
        let sp = caller.object_id.clone().ok_or_else(denied)?;
        let (r, created) = owned_by(&directory, &caller.tenant_id, &sp, &segments, request).await?;
        request = r;
        creates = created;
    }
    if let (CallerKind::Delegated, Some(admins)) = (&caller.kind, need.admins) {
        let roles = directory
            .user_role_ids(
                &caller.tenant_id,
                caller.object_id.as_deref().unwrap_or_default(),
            )
            .await
            .map_err(GraphError::internal)?;
        let ok = roles.iter().any(|r| {
            admins.iter().any(|a| a.eq_ignore_ascii_case(r))
                || (!need.write && r.eq_ignore_ascii_case(GLOBAL_READER))
        });
        if !ok && !delegated_owner(&directory, caller, &segments).await? {
            return Err(denied());
        }
    }
    // Graph's directory throttling (graph.md §6): resource units per app and tenant, and
    // writes; a GET of applications, users or oauth2PermissionGrants costs 2 units.
    let write = *request.method() != Method::GET;
    let units = match rest.trim_matches('/').split('/').next() {
        Some("applications" | "users" | "oauth2PermissionGrants") if !write => 2,
        _ => 1,
    };
    app.quotas
        .check_directory(
            &caller.tenant_id,
            &caller.app_id,
            units,
            write,
            app.state.clock.now(),
        )
        .map_err(|q| GraphError::too_many_requests(q.retry_after_secs))?;
    // addKey/removeKey/PATCH keyCredentials are the admin API's certificate handlers
    // (palisade-admin's certificates.rs), reached like every other directory path.
    let (parts, body) = request.into_parts();
    let target = match parts.uri.query() {
        Some(q) => format!("/admin/{}/v1.0{rest}?{q}", caller.tenant_id),
        None => format!("/admin/{}/v1.0{rest}", caller.tenant_id),
    };
    let uri = target
        .parse::<Uri>()
        .map_err(|_| GraphError::bad_request("The request URI is invalid."))?;
    // A fresh request: only method, URI, headers (without the token) and body pass; the
    // outer router's extensions (its path parameters) must not reach the inner one.
    let mut inner = Request::new(Body::new(body));
    *inner.method_mut() = parts.method;
    *inner.uri_mut() = uri;
    *inner.headers_mut() = parts.headers;
    inner
        .headers_mut()
        .remove(axum::http::header::AUTHORIZATION);
    let response = match front.inner.clone().oneshot(inner).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    // The admin handlers answer every error in Graph's shape; an empty 404/405 means the
    // inner router has no such path or method.
    let empty = response
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .is_some_and(|v| v == "0")
        || response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_none();
    match response.status() {
        StatusCode::NOT_FOUND if empty => Err(GraphError::bad_request(format!(
            "Resource not found for the segment '{}'.",
            segments.last().map(String::as_str).unwrap_or_default()
        ))),
        StatusCode::CREATED => match (creates, caller.object_id.as_deref()) {
            (Some(kind), Some(owner)) => {
                own_created(&directory, &caller.tenant_id, kind, owner, response).await
            }
            _ => Ok(response),
        },
        StatusCode::METHOD_NOT_ALLOWED if empty => Err(GraphError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "Request_BadRequest",
            message: "The HTTP method is not supported on this resource.".to_string(),
            retry_after: None,
            challenge: None,
        }),
        _ => Ok(response),
    }
}

/// The directory routes at both versions.
pub(crate) fn routes(front: Arc<DirectoryFront>) -> Router {
    let mut router = Router::new();
    for v in ["/v1.0", "/beta"] {
        for set in [
            "applications",
            "servicePrincipals",
            "users",
            "oauth2PermissionGrants",
        ] {
            router = router
                .route(&format!("{v}/{set}"), axum::routing::any(forward))
                .route(&format!("{v}/{set}/{{*rest}}"), axum::routing::any(forward));
        }
        router = router
            .route(&format!("{v}/organization"), axum::routing::any(forward))
            .route(
                &format!("{v}/roleManagement/{{*rest}}"),
                axum::routing::any(forward),
            );
    }
    router.with_state(front)
}
