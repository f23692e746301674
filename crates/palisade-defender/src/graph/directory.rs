//! The directory at Graph's own paths (`/v1.0|beta/applications`, `servicePrincipals`
//! with `appRoleAssignments`/`appRoleAssignedTo`, `oauth2PermissionGrants`, `users`,
//! `roleManagement/directory/…`, `organization`), authorized by **Graph tokens** with
//! Graph's directory permissions (graph.md §8.3, §9), then served by the admin API's
//! Graph-shaped handlers for the token's tenant (`palisade_admin::directory_router`, handed
//! in by the binary; this crate does not depend on the admin crate).
//!
//! Permissions (any one of a list; `Application.ReadWrite.OwnedBy` is not honoured since
//! Palisade records no app owners [inferred]):
//! - applications, servicePrincipals: read `Application.Read.All`,
//!   `Application.ReadWrite.All`, `Directory.Read.All`, `Directory.ReadWrite.All`; write
//!   `Application.ReadWrite.All`, `Directory.ReadWrite.All`;
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
//! - reads: those roles or Global Reader; `organization`: any user.
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
use palisade_directory::Directory;
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
                admins: Some(admins),
                write,
            })
        }
    };
    match segments.as_slice() {
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
    if !need.all.iter().all(has) || !need.any.iter().any(has) {
        return Err(denied());
    }
    if let (CallerKind::Delegated, Some(admins)) = (&caller.kind, need.admins) {
        let directory = Directory::new(app.state.store.clone(), app.state.clock.clone());
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
        if !ok {
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
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
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
            segments.last().copied().unwrap_or_default()
        ))),
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
