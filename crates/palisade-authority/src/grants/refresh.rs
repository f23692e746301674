//! `grant_type=refresh_token` (identity.md §7.6): a new access token and a new refresh
//! token for the same user and client. The refresh may target any resource the client
//! has consent for (the first one of `scope`); the presented token stays valid until its
//! own expiry, as in Entra [the spec: "old one is not revoked"]. Revoked tokens
//! (`revokeSignInSessions`, a password change, a disabled account) are AADSTS50173.

use crate::client_auth::{app_not_found, authenticate, client_identity, find_client, usable_in};
use crate::error::{internal, AadError, ErrorCode};
use crate::grants::scopes_of_request;
use crate::request::TokenRequest;
use crate::resource::{consent_required, evaluate_consent, resolve_scopes, Consent};
use crate::user_tokens::{issue_user_tokens, revoked, secret_hash, RefreshIssue, UserGrant};
use axum::response::Response;

fn invalid_token() -> AadError {
    AadError::new(
        ErrorCode::InvalidGrant,
        "Provided grant is invalid or malformed. The refresh token is not valid.",
    )
}

/// Exchanges a refresh token.
pub async fn issue(request: TokenRequest<'_>) -> Result<Response, AadError> {
    let authority = request.authority;
    let directory = authority.directory();
    let form = &request.form;
    let token = form.require("refresh_token")?;
    let (client_id, secret) = client_identity(form, request.headers)?;
    let scopes = scopes_of_request(&request)?;
    let now = authority.clock().now().unix_timestamp();
    let row = directory
        .store()
        .find_refresh_token(&secret_hash(token))
        .await
        .map_err(internal)?
        .ok_or_else(invalid_token)?;
    if row.revoked_at.is_some() {
        return Err(revoked());
    }
    if now >= row.expires_at {
        return Err(if row.max_expires_at.is_some_and(|m| now >= m) {
            AadError::new(
                ErrorCode::GrantExpired,
                "The refresh token has expired: single-page application refresh tokens end 24 hours after sign-in.",
            )
        } else {
            AadError::new(
                ErrorCode::RefreshTokenInactive,
                "The refresh token has expired due to inactivity. The token was issued and was inactive for 90 days.",
            )
        });
    }
    if !row.client_id.eq_ignore_ascii_case(&client_id) {
        return Err(AadError::new(
            ErrorCode::InvalidGrant,
            "Provided grant is invalid or malformed. The refresh token was issued to a different client.",
        ));
    }
    if let Some(t) = &request.tenant {
        if t.id != row.tenant_id {
            return Err(AadError::new(
                ErrorCode::InvalidGrant,
                "Provided grant is invalid or malformed. The refresh token was issued in another tenant.",
            ));
        }
    }
    let tenant = directory
        .store()
        .get_tenant(&row.tenant_id)
        .await
        .map_err(internal)?
        .ok_or_else(invalid_token)?;
    let app = find_client(authority, &client_id, &tenant.display_name).await?;
    if !usable_in(&app, &tenant.id) {
        return Err(app_not_found(&client_id, &tenant.display_name));
    }
    let auth_method = authenticate(
        &request,
        &app,
        secret.as_deref(),
        row.max_expires_at.is_some(),
    )
    .await?;
    let user = directory
        .active_user(&tenant.id, &row.user_id)
        .await
        .map_err(internal)?
        .ok_or_else(revoked)?;
    let resolved = resolve_scopes(authority, &tenant.id, &tenant.display_name, &scopes).await?;
    let first = resolved.first().ok_or_else(|| {
        AadError::new(
            ErrorCode::InvalidScope,
            "The provided value for the input parameter 'scope' is not valid: name the resource.",
        )
    })?;
    let scp = match evaluate_consent(authority, &tenant.id, &app, &user.id, first).await? {
        Consent::Granted(scp) => scp,
        Consent::Missing(_) => return Err(consent_required(&app, &user.user_principal_name)),
    };
    let amr: Vec<String> =
        serde_json::from_str(&row.amr_json).unwrap_or_else(|_| vec!["pwd".into()]);
    issue_user_tokens(
        authority,
        UserGrant {
            refresh: RefreshIssue::Exchange {
                used_id: row.id.clone(),
                cap: row.max_expires_at,
            },
            tenant,
            user,
            client: app,
            auth_method,
            resource: first.resource.clone(),
            scp,
            oidc: scopes,
            nonce: None,
            session_id: None,
            auth_time: row.auth_time,
            amr,
            ip: request.client_ip,
            version: request.version,
            client_info: form.get("client_info") == Some("1"),
        },
    )
    .await
}
