//! `grant_type=password` (ROPC, identity.md §7.5): a user's credentials sent by the
//! client. Not on `/common` or `/consumers` (AADSTS9001023); on `/organizations` the home
//! tenant comes from the UPN's domain. Failures count towards smart lockout like the
//! sign-in page's; the token needs consent already in place (AADSTS65001 otherwise).

use crate::client_auth::{app_not_found, authenticate, client_identity, find_client, usable_in};
use crate::error::{internal, AadError, ErrorCode};
use crate::grants::scopes_of_request;
use crate::request::{grant_not_on_common, TokenRequest};
use crate::resource::{consent_required, evaluate_consent, resolve_scopes, Consent};
use crate::signin::sign_in_error;
use crate::user_tokens::{issue_user_tokens, RefreshIssue, UserGrant};
use axum::response::Response;
use palisade_directory::SignInFailure;

/// Issues user tokens for a username and password.
pub async fn issue(request: TokenRequest<'_>) -> Result<Response, AadError> {
    if request.is_common_or_consumers() {
        return Err(grant_not_on_common());
    }
    let authority = request.authority;
    let directory = authority.directory();
    let form = &request.form;
    let (client_id, secret) = client_identity(form, request.headers)?;
    let username = form.require("username")?.trim().to_string();
    let password = form.require("password")?.to_string();
    let scopes = scopes_of_request(&request)?;

    let tenant = match &request.tenant {
        Some(t) => t.clone(),
        None => {
            let domain = username.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
            match directory.resolve_tenant(domain).await.map_err(internal)? {
                Some(t) if !domain.is_empty() => t,
                _ => {
                    return Err(sign_in_error(
                        &SignInFailure::UnknownUser,
                        &username,
                        request.tenant_segment,
                    ))
                }
            }
        }
    };
    let app = find_client(authority, &client_id, &tenant.display_name).await?;
    if !usable_in(&app, &tenant.id) {
        return Err(app_not_found(&client_id, &tenant.display_name));
    }
    let auth_method = authenticate(&request, &app, secret.as_deref(), false).await?;

    let user = match directory
        .verify_user_password(&tenant.id, &username, &password)
        .await
        .map_err(internal)?
    {
        Ok(u) => u,
        Err(f) => return Err(sign_in_error(&f, &username, &tenant.display_name)),
    };

    let resolved = resolve_scopes(authority, &tenant.id, &tenant.display_name, &scopes).await?;
    let first = resolved.first().ok_or_else(|| {
        AadError::new(
            ErrorCode::InvalidScope,
            "The provided value for the input parameter 'scope' is not valid: name the resource, e.g. \
             https://api.security.microsoft.com/.default.",
        )
    })?;
    let scp = match evaluate_consent(authority, &tenant.id, &app, &user.id, first).await? {
        Consent::Granted(scp) => scp,
        Consent::Missing(_) => return Err(consent_required(&app, &user.user_principal_name)),
    };
    let now = authority.clock().now().unix_timestamp();
    issue_user_tokens(
        authority,
        UserGrant {
            refresh: RefreshIssue::for_request(request.version, &scopes, None),
            tenant,
            user,
            client: app,
            auth_method,
            resource: first.resource.clone(),
            scp,
            oidc: scopes,
            nonce: None,
            session_id: None,
            auth_time: now,
            amr: vec!["pwd".into()],
            ip: request.client_ip,
            version: request.version,
            client_info: form.get("client_info") == Some("1"),
        },
    )
    .await
}
