//! Admin consent (identity.md §8): a customer tenant's administrator grants a (partner's
//! multi-tenant) app everything it asks for, for the whole organization.
//!
//! Entry points, all walking the same stored flow (sign-in → admin consent page):
//! - v1 `GET /{tenant}/adminconsent?client_id&redirect_uri&state` (`tenant` may be
//!   `common`): success `?admin_consent=True&tenant={tid}&state=…`, cancel
//!   `?error=permission_denied&error_description=The admin canceled the request&state=…`;
//! - v2 `GET /{tenant}/v2.0/adminconsent?client_id&scope&redirect_uri&state` (`tenant` not
//!   `common`; `scope` required, `{resource}/.default` = every permission the registration
//!   requires): success `?admin_consent=True&tenant={tid}&scope=…&state=…`, cancel
//!   `?error=access_denied&error_description=AADSTS65004: …&state=…`;
//! - the Defender partner link `/common/oauth2/authorize?prompt=consent&client_id&
//!   response_type=code&sso_reload=true` (or `prompt=admin_consent`): v1 authorize without
//!   `resource` is admin consent; it answers like the v1 endpoint [inferred: Entra would go
//!   on to issue a code for its legacy default resource, which Palisade does not have].
//!
//! Errors shown on the page (never redirected): unknown app or single-tenant app in a
//! foreign tenant (AADSTS700016), unregistered redirect URI (AADSTS50011), `common` on v2.
//! A signed-in user without an admin-consent role gets the admin-approval page
//! (AADSTS90094). `redirect_uri` defaults to the app's first registered one.
//! [inferred] v2 dynamic scopes (delegated only) are refused: only `.default` (static)
//! consent is implemented.

use crate::client_auth::{app_not_found, find_client, usable_in};
use crate::error::{internal, AadError, ErrorCode};
use crate::form::Form;
use crate::request::{resolve_segment, EndpointVersion};
use crate::resource::ScopeRequest;
use crate::web::cookies::browser_id;
use crate::web::pages::{
    page_posting_to, AdminApprovalPage, AdminConsentPage, Branding, PermissionLine,
};
use crate::web::respond::error_page;
use crate::web::state::{AdminConsentRequest, AdminConsentStyle, Ctx, Flow, FlowKind, FlowRequest};
use crate::web::{begin, params, with_browser_cookie};
use crate::Authority;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use palisade_directory::{Application, RequiredPermission, User};
use palisade_store::TenantRow;

/// `GET /{tenant}/adminconsent`.
pub async fn adminconsent_v1(
    state: State<Authority>,
    segment: Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    entry(state, segment, method, uri, headers, EndpointVersion::V1).await
}

/// `GET /{tenant}/v2.0/adminconsent`.
pub async fn adminconsent_v2(
    state: State<Authority>,
    segment: Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    entry(state, segment, method, uri, headers, EndpointVersion::V2).await
}

async fn entry(
    State(authority): State<Authority>,
    Path(segment): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    version: EndpointVersion,
) -> Response {
    let (browser, new_browser) = browser_id(&headers);
    let r = async {
        let form = params(&method, &uri, &headers, &[])?;
        start(&authority, &segment, &form, &headers, &browser, version).await
    }
    .await;
    let r = r.unwrap_or_else(|e| error_page(&authority, &Branding::default(), &e));
    with_browser_cookie(r, &authority, &browser, new_browser)
}

/// Starts an admin consent flow (from the endpoints, or from v1 authorize's partner link).
pub(crate) async fn start(
    authority: &Authority,
    segment: &str,
    form: &Form,
    headers: &HeaderMap,
    browser: &str,
    version: EndpointVersion,
) -> Result<Response, AadError> {
    let tenant = resolve_segment(authority, segment).await?;
    if segment.eq_ignore_ascii_case("consumers")
        || (version == EndpointVersion::V2 && segment.eq_ignore_ascii_case("common"))
    {
        return Err(AadError::malformed(
            "Admin consent on the v2 endpoint needs a tenant (id or domain) or /organizations, not /common or /consumers.",
        ));
    }
    let client_id = form.require("client_id")?;
    let tenant_name = tenant
        .as_ref()
        .map(|t| t.display_name.clone())
        .unwrap_or_else(|| segment.to_string());
    let app = find_client(authority, client_id, &tenant_name).await?;
    if let Some(t) = &tenant {
        if !usable_in(&app, &t.id) {
            return Err(app_not_found(client_id, &t.display_name));
        }
    }
    let redirect_uri = match form.get("redirect_uri") {
        Some(u) => u.to_string(),
        None => app
            .default_redirect_uri()
            .map(str::to_string)
            .ok_or_else(|| AadError::missing("redirect_uri"))?,
    };
    if app.redirect_kind(&redirect_uri).is_none() {
        return Err(AadError::new(
            ErrorCode::RedirectUriMismatch,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the \
                 application '{}'.",
                app.app_id
            ),
        ));
    }
    let style = match version {
        EndpointVersion::V1 => AdminConsentStyle::V1,
        EndpointVersion::V2 => AdminConsentStyle::V2 {
            scope: form.get("scope").unwrap_or_default().to_string(),
        },
    };
    let request = AdminConsentRequest {
        redirect_uri,
        state: form.get("state").map(str::to_string),
        style,
    };
    // From here on, errors go back to the app.
    if let AdminConsentStyle::V2 { scope } = &request.style {
        let fail = |e: AadError| {
            Ok(crate::web::respond::redirect_to_app(
                &request.redirect(),
                &e.with_context(None, authority.clock().now()),
            ))
        };
        if scope.is_empty() {
            return fail(AadError::missing("scope"));
        }
        let parsed = match ScopeRequest::parse_v2(scope) {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        if !parsed.resources.iter().all(|r| r.default) || parsed.resources.is_empty() {
            return fail(AadError::new(
                ErrorCode::InvalidScope,
                "Admin consent needs the static '{resource}/.default' scope (every permission of the app registration).",
            ));
        }
    }
    let flow_request = FlowRequest {
        kind: FlowKind::AdminConsent(request),
        version,
        tenant_segment: segment.to_string(),
        client_id: app.app_id.clone(),
        scopes: ScopeRequest::default(),
        prompt: form.get("prompt").map(str::to_string),
        login_hint: form.get("login_hint").map(str::to_string),
        fresh_sign_in: false,
        account_chosen: false,
        consented: false,
        device_confirmed: false,
        session_id: None,
        auth_time: None,
        user_tenant_id: None,
    };
    begin(authority, headers, browser, flow_request).await
}

fn lines(permissions: &[RequiredPermission]) -> Vec<PermissionLine> {
    permissions
        .iter()
        .map(|p| match p {
            RequiredPermission::Application { resource, role } => PermissionLine {
                title: role.display_name.clone(),
                description: role.description.clone(),
                detail: format!(
                    "{} ({}, application permission)",
                    role.value, resource.display_name
                ),
            },
            RequiredPermission::Delegated { resource, scope } => PermissionLine {
                title: scope.admin_consent_display_name.clone(),
                description: scope.admin_consent_description.clone(),
                detail: format!(
                    "{} ({}, delegated permission)",
                    scope.value, resource.display_name
                ),
            },
        })
        .collect()
}

/// The admin consent step of a signed-in flow: the approval page for a non-admin, the
/// consent page, or (once accepted) the success redirect.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn step(
    ctx: &Ctx<'_>,
    flow: &Flow,
    request: &AdminConsentRequest,
    tenant: &TenantRow,
    user: &User,
    client: &Application,
    brand: &Branding,
    csrf: &str,
) -> Result<Response, AadError> {
    let authority = ctx.authority;
    let directory = authority.directory();
    if flow.request.consented {
        directory
            .store()
            .delete_flow(&flow.row.id)
            .await
            .map_err(internal)?;
        return Ok(request.success(&tenant.id));
    }
    let permissions = directory
        .required_permissions(client)
        .await
        .map_err(internal)?;
    let lines = lines(&permissions);
    flow.save(authority).await?;
    let origin = crate::web::pages::origin_of(&request.redirect_uri);
    if !directory
        .may_grant_admin_consent(&tenant.id, &user.id)
        .await
        .map_err(internal)?
    {
        return Ok(page_posting_to(
            StatusCode::OK,
            &AdminApprovalPage {
                brand,
                flow: &flow.row.id,
                csrf,
                upn: &user.user_principal_name,
                permissions: &lines,
            },
            origin.as_deref(),
        ));
    }
    let publisher = match &client.tenant_id {
        Some(t) if *t == tenant.id => format!("Registered in {}", tenant.display_name),
        Some(t) => match directory.store().get_tenant(t).await.map_err(internal)? {
            Some(home) => format!(
                "Published by {} ({}) — publisher not verified",
                home.display_name, home.initial_domain
            ),
            None => "Publisher not verified".into(),
        },
        None => "Microsoft".into(),
    };
    Ok(page_posting_to(
        StatusCode::OK,
        &AdminConsentPage {
            brand,
            flow: &flow.row.id,
            csrf,
            upn: &user.user_principal_name,
            publisher: &publisher,
            organization: &tenant.display_name,
            permissions: &lines,
        },
        origin.as_deref(),
    ))
}

/// The administrator accepted: checks the role again and grants everything the app asks
/// for in the administrator's tenant.
pub(crate) async fn accept(
    authority: &Authority,
    flow: &mut Flow,
    tenant_id: &str,
    user_id: &str,
) -> Result<(), AadError> {
    let directory = authority.directory();
    if !directory
        .may_grant_admin_consent(tenant_id, user_id)
        .await
        .map_err(internal)?
    {
        return Err(AadError::new(
            ErrorCode::AdminConsentRequired,
            "Need admin approval: only a Global Administrator, Privileged Role Administrator, Cloud Application Administrator \
             or Application Administrator can grant consent for the organization.",
        ));
    }
    directory
        .grant_admin_consent(tenant_id, &flow.request.client_id)
        .await
        .map_err(|e| match e {
            palisade_directory::DirectoryError::Invalid(m)
            | palisade_directory::DirectoryError::NotFound(m) => {
                AadError::new(ErrorCode::ApplicationNotFound, m)
            }
            other => internal(other),
        })?;
    flow.request.consented = true;
    flow.save(authority).await
}
