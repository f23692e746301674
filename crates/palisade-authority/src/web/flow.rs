//! The interactive flow: one authorize request or device login, kept in the store and
//! bound to the browser that started it, walked step by step (device confirmation →
//! account → password → consent) until it ends in a redirect to the app (or a device
//! code approved).

use crate::client_auth::{find_client, usable_in};
use crate::error::{internal, AadError, ErrorCode};
use crate::grants::code::{store_code, CodeGrant};
use crate::resource::{evaluate_consent, resolve_scopes, Consent, ResolvedResource, ScopeRequest};
use crate::web::cookies::csrf_token;
use crate::web::pages::{
    page, page_posting_to, AccountChoice, AdminApprovalPage, Branding, ConsentPage,
    DeviceConfirmPage, MessagePage, PasswordPage, PermissionLine, PickAccountPage, SignInPage,
};
use crate::web::respond::{error_page, redirect_to_app};
use crate::web::state::{Ctx, Flow, FlowKind, FlowRequest, SESSION_IDLE_SECS};
use crate::Authority;
use axum::http::StatusCode;
use axum::response::Response;
use palisade_directory::{Application, User};
use palisade_store::{SessionRow, TenantRow};

/// The branding of a flow's pages.
pub async fn branding(authority: &Authority, request: &FlowRequest) -> Branding {
    let app = authority
        .directory()
        .find_application_by_app_id(&request.client_id)
        .await
        .ok()
        .flatten();
    let tenant = authority
        .directory()
        .resolve_tenant(&request.tenant_segment)
        .await
        .ok()
        .flatten();
    Branding {
        tenant_name: tenant.map(|t| t.display_name),
        app_name: app.map(|a| a.display_name),
    }
}

/// The origin the flow's pages may post towards (the app's redirect URI).
pub fn app_origin(request: &FlowRequest) -> Option<String> {
    match &request.kind {
        FlowKind::AuthCode(a) => crate::web::pages::origin_of(&a.redirect_uri),
        FlowKind::AdminConsent(a) => crate::web::pages::origin_of(&a.redirect_uri),
        FlowKind::Device { .. } => None,
    }
}

/// Renders a page of the flow.
fn flow_page(flow: &Flow, t: &impl askama::Template) -> Response {
    page_posting_to(StatusCode::OK, t, app_origin(&flow.request).as_deref())
}

/// The sign-in (username) step.
pub async fn sign_in_page(
    ctx: &Ctx<'_>,
    flow: &Flow,
    login: &str,
    error: Option<(&str, u32)>,
) -> Response {
    let brand = branding(ctx.authority, &flow.request).await;
    let csrf = csrf_token(ctx.browser, &flow.row.id);
    flow_page(
        flow,
        &SignInPage {
            brand: &brand,
            flow: &flow.row.id,
            csrf: &csrf,
            login,
            error: error.map(|e| e.0),
            error_code: error.map(|e| e.1),
        },
    )
}

/// The password step.
pub async fn password_page(
    ctx: &Ctx<'_>,
    flow: &Flow,
    login: &str,
    error: Option<(&str, u32)>,
) -> Response {
    let brand = branding(ctx.authority, &flow.request).await;
    let csrf = csrf_token(ctx.browser, &flow.row.id);
    flow_page(
        flow,
        &PasswordPage {
            brand: &brand,
            flow: &flow.row.id,
            csrf: &csrf,
            login,
            error: error.map(|e| e.0),
            error_code: error.map(|e| e.1),
        },
    )
}

/// Whether a tenant segment admits a user of `tenant_id`.
fn segment_admits(segment: &str, tenant: Option<&TenantRow>, tenant_id: &str) -> bool {
    match tenant {
        Some(t) => t.id == tenant_id,
        None => ["common", "organizations"]
            .iter()
            .any(|a| segment.eq_ignore_ascii_case(a)),
    }
}

/// The permission lines of the consent page.
fn permission_lines(resolved: &[(ResolvedResource, Vec<String>)]) -> Vec<PermissionLine> {
    let mut lines = Vec::new();
    for (r, scopes) in resolved {
        for s in scopes {
            let def = r
                .resource
                .app
                .definition
                .oauth2_permission_scopes
                .iter()
                .find(|p| &p.value == s);
            lines.push(PermissionLine {
                title: def
                    .and_then(|d| d.user_consent_display_name.clone())
                    .or_else(|| def.map(|d| d.admin_consent_display_name.clone()))
                    .unwrap_or_else(|| s.clone()),
                description: def
                    .and_then(|d| d.user_consent_description.clone())
                    .or_else(|| def.map(|d| d.admin_consent_description.clone()))
                    .unwrap_or_default(),
                detail: format!("{} ({})", s, r.resource.app.display_name),
            });
        }
    }
    lines
}

/// Where a flow stands for a user: every resource resolved, and what still needs consent.
pub struct ConsentView {
    /// Resources with their missing scopes.
    pub missing: Vec<(ResolvedResource, Vec<String>)>,
    /// Resources with every requested scope (for `prompt=consent`).
    pub requested: Vec<(ResolvedResource, Vec<String>)>,
    /// The first resource's granted scopes, once nothing is missing.
    pub first_granted: Option<Vec<String>>,
}

/// Evaluates the flow's scopes for a user.
pub async fn consent_view(
    authority: &Authority,
    tenant: &TenantRow,
    client: &Application,
    user: &User,
    scopes: &ScopeRequest,
) -> Result<ConsentView, AadError> {
    let resolved = resolve_scopes(authority, &tenant.id, &tenant.display_name, scopes).await?;
    let mut missing = Vec::new();
    let mut requested = Vec::new();
    let mut first_granted = None;
    for (i, r) in resolved.into_iter().enumerate() {
        let state = evaluate_consent(authority, &tenant.id, client, &user.id, &r).await?;
        let asked = if r.default {
            match &state {
                Consent::Granted(s) | Consent::Missing(s) => s.clone(),
            }
        } else {
            r.scopes.clone()
        };
        match state {
            Consent::Granted(s) => {
                if i == 0 {
                    first_granted = Some(s);
                }
            }
            Consent::Missing(m) => missing.push((r.clone(), m)),
        }
        requested.push((r, asked));
    }
    if !missing.is_empty() {
        first_granted = None;
    }
    Ok(ConsentView {
        missing,
        requested,
        first_granted,
    })
}

/// Moves the flow forward as far as it can go without the user, and answers with the
/// next page or the redirect to the app.
pub async fn advance(ctx: &Ctx<'_>, mut flow: Flow) -> Result<Response, AadError> {
    let authority = ctx.authority;
    let directory = authority.directory();
    let now = authority.clock().now().unix_timestamp();
    let brand = branding(authority, &flow.request).await;
    let csrf = csrf_token(ctx.browser, &flow.row.id);
    let redirect = match &flow.request.kind {
        FlowKind::AuthCode(a) => Some(a.redirect(flow.request.version)),
        FlowKind::AdminConsent(a) => Some(a.redirect()),
        FlowKind::Device { .. } => None,
    };

    // A device login needs a code still waiting, and the user's confirmation.
    if let FlowKind::Device { user_code, .. } = &flow.request.kind {
        let row = directory
            .store()
            .find_device_code_by_user_code(user_code)
            .await
            .map_err(internal)?;
        if !row.is_some_and(|r| r.status == "pending" && r.expires_at > now) {
            return Ok(page(
                StatusCode::OK,
                &MessagePage {
                    brand: &brand,
                    title: "That code has expired",
                    message: "The code is no longer valid: it expired or was already used. Start again on your device to get a new code.",
                },
            ));
        }
        if !flow.request.device_confirmed {
            return Ok(page(
                StatusCode::OK,
                &DeviceConfirmPage {
                    brand: &brand,
                    flow: &flow.row.id,
                    csrf: &csrf,
                },
            ));
        }
    }

    let prompt = flow.request.prompt.clone().unwrap_or_default();
    let segment_tenant = directory
        .resolve_tenant(&flow.request.tenant_segment)
        .await
        .map_err(internal)?;

    // Who is signing in: the user who entered credentials in this flow, else the
    // session's (unless a fresh sign-in is required).
    let mut user: Option<(TenantRow, User)> = None;
    if let (Some(user_id), Some(tenant_id)) = (
        flow.row.user_id.clone(),
        flow.request.user_tenant_id.clone(),
    ) {
        let tenant = directory
            .store()
            .get_tenant(&tenant_id)
            .await
            .map_err(internal)?;
        let active = directory
            .active_user(&tenant_id, &user_id)
            .await
            .map_err(internal)?;
        if let (Some(t), Some(u)) = (tenant, active) {
            user = Some((t, u));
        }
    }
    if user.is_none() && prompt != "login" {
        if let Some(session) = ctx.session().await? {
            let hint_ok = match flow.request.login_hint.as_deref() {
                None => true,
                Some(h) => h
                    .trim()
                    .eq_ignore_ascii_case(&user_upn(authority, &session).await),
            };
            if hint_ok
                && segment_admits(
                    &flow.request.tenant_segment,
                    segment_tenant.as_ref(),
                    &session.tenant_id,
                )
            {
                if let (Some(t), Some(u)) = (
                    directory
                        .store()
                        .get_tenant(&session.tenant_id)
                        .await
                        .map_err(internal)?,
                    directory
                        .active_user(&session.tenant_id, &session.user_id)
                        .await
                        .map_err(internal)?,
                ) {
                    if prompt == "select_account" && !flow.request.account_chosen {
                        return Ok(flow_page(
                            &flow,
                            &PickAccountPage {
                                brand: &brand,
                                flow: &flow.row.id,
                                csrf: &csrf,
                                account: &AccountChoice {
                                    name: u.display_name.clone(),
                                    upn: u.user_principal_name.clone(),
                                },
                            },
                        ));
                    }
                    flow.request.session_id = Some(session.id.clone());
                    flow.request.auth_time = Some(session.auth_time);
                    user = Some((t, u));
                }
            }
        }
    }
    let Some((tenant, user)) = user else {
        if prompt == "none" {
            if let Some(r) = &redirect {
                return Ok(redirect_to_app(
                    r,
                    &AadError::new(
                        ErrorCode::LoginRequired,
                        "The user could not be signed in silently: there is no usable session (prompt=none). Send an interactive request.",
                    )
                    .with_context(None, authority.clock().now()),
                ));
            }
        }
        let hint = flow.request.login_hint.clone().unwrap_or_default();
        return Ok(sign_in_page(ctx, &flow, &hint, None).await);
    };

    // The app must be usable in the user's tenant.
    let Ok(client) = find_client(authority, &flow.request.client_id, &tenant.display_name).await
    else {
        return Ok(error_page(
            authority,
            &brand,
            &crate::client_auth::app_not_found(&flow.request.client_id, &tenant.display_name),
        ));
    };
    if !usable_in(&client, &tenant.id) {
        let e = crate::client_auth::app_not_found(&client.app_id, &tenant.display_name);
        return Ok(match &redirect {
            Some(r) => redirect_to_app(r, &e.with_context(None, authority.clock().now())),
            None => error_page(authority, &brand, &e),
        });
    }

    if let FlowKind::AdminConsent(request) = &flow.request.kind {
        return crate::web::admin_consent::step(
            ctx, &flow, request, &tenant, &user, &client, &brand, &csrf,
        )
        .await;
    }

    // Consent.
    let view = match consent_view(authority, &tenant, &client, &user, &flow.request.scopes).await {
        Ok(v) => v,
        Err(e) => {
            return Ok(match &redirect {
                Some(r) => redirect_to_app(r, &e.with_context(None, authority.clock().now())),
                None => error_page(authority, &brand, &e),
            })
        }
    };
    let wants_prompt = prompt == "consent" || prompt == "admin_consent";
    if (!view.missing.is_empty() || wants_prompt) && !flow.request.consented {
        if prompt == "none" {
            if let Some(r) = &redirect {
                let e = crate::resource::consent_required(&client, &user.user_principal_name);
                return Ok(redirect_to_app(
                    r,
                    &e.with_context(None, authority.clock().now()),
                ));
            }
        }
        let asked = if wants_prompt {
            &view.requested
        } else {
            &view.missing
        };
        let mut can_consent = true;
        let mut is_admin = false;
        for (r, scopes) in asked {
            let (can, admin) = directory
                .consent_rights(&tenant.id, &user.id, &r.resource.app, scopes)
                .await
                .map_err(internal)?;
            can_consent &= can;
            is_admin = admin;
        }
        let lines = permission_lines(asked);
        flow.save(authority).await?;
        if !can_consent {
            return Ok(flow_page(
                &flow,
                &AdminApprovalPage {
                    brand: &brand,
                    flow: &flow.row.id,
                    csrf: &csrf,
                    upn: &user.user_principal_name,
                    permissions: &lines,
                },
            ));
        }
        let publisher = match &client.tenant_id {
            Some(t) if *t == tenant.id => format!("Registered in {}", tenant.display_name),
            _ => "Publisher not verified: registered in another organization".to_string(),
        };
        return Ok(flow_page(
            &flow,
            &ConsentPage {
                brand: &brand,
                flow: &flow.row.id,
                csrf: &csrf,
                upn: &user.user_principal_name,
                publisher: &publisher,
                permissions: &lines,
                offer_org_consent: is_admin,
                offline: flow.request.scopes.offline_access,
            },
        ));
    }
    let view = if view.first_granted.is_none() {
        // Consent was just given: evaluate again.
        consent_view(authority, &tenant, &client, &user, &flow.request.scopes).await?
    } else {
        view
    };
    let Some(scp) = view.first_granted else {
        let e = crate::resource::consent_required(&client, &user.user_principal_name);
        return Ok(match &redirect {
            Some(r) => redirect_to_app(r, &e.with_context(None, authority.clock().now())),
            None => error_page(authority, &brand, &e),
        });
    };

    // Done.
    let auth_time = flow.request.auth_time.unwrap_or(now);
    let store = directory.store();
    store.delete_flow(&flow.row.id).await.map_err(internal)?;
    if let Some(sid) = &flow.request.session_id {
        store
            .touch_session(sid, now, now + SESSION_IDLE_SECS, Some(&client.app_id))
            .await
            .map_err(internal)?;
    }
    match flow.request.kind {
        FlowKind::AuthCode(a) => {
            let grant = CodeGrant {
                client_id: client.app_id.clone(),
                redirect_uri: a.redirect_uri.clone(),
                spa: a.spa,
                scopes: flow.request.scopes.clone(),
                scp,
                code_challenge: a.code_challenge.clone(),
                code_challenge_method: a.code_challenge_method.clone(),
                nonce: a.nonce.clone(),
                session_id: flow.request.session_id.clone(),
                auth_time,
                amr: vec!["pwd".into()],
                version: flow.request.version,
            };
            let code = store_code(authority, &tenant.id, &user.id, &grant).await?;
            let r = a.redirect(flow.request.version);
            Ok(r.success(&code, flow.request.session_id.as_deref()))
        }
        FlowKind::AdminConsent(_) => Err(internal("an admin consent flow reached the code step")),
        FlowKind::Device { device_code_id, .. } => {
            store
                .decide_device_code(
                    &device_code_id,
                    "approved",
                    Some(&tenant.id),
                    Some(&user.id),
                    Some(auth_time),
                )
                .await
                .map_err(internal)?;
            let message = format!(
                "You have signed in to the {} application on your device. You may now close this window.",
                client.display_name
            );
            Ok(page(
                StatusCode::OK,
                &MessagePage {
                    brand: &brand,
                    title: &client.display_name,
                    message: &message,
                },
            ))
        }
    }
}

async fn user_upn(authority: &Authority, session: &SessionRow) -> String {
    authority
        .directory()
        .store()
        .get_user(&session.tenant_id, &session.user_id)
        .await
        .ok()
        .flatten()
        .map(|u| u.user_principal_name)
        .unwrap_or_default()
}
