//! `grant_type=authorization_code` (identity.md §7.3): redeeming a code from the
//! authorize endpoint. A code lives 10 minutes, is spent by its first presentation
//! (whatever happens next; a replay is AADSTS54005), and is bound to its client, redirect
//! URI, tenant, scopes and PKCE challenge.

use crate::client_auth::{authenticate, client_identity, find_client};
use crate::error::{internal, AadError, ErrorCode};
use crate::grants::optional_scopes;
use crate::request::{EndpointVersion, TokenRequest};
use crate::resource::{
    consent_required, evaluate_consent, resolve_resource, resolve_scopes, Consent, ScopeRequest,
};
use crate::response::opaque;
use crate::user_tokens::{
    issue_user_tokens, secret_hash, RefreshIssue, UserGrant, SPA_REFRESH_LIFETIME_SECS,
};
use crate::Authority;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use palisade_store::{AuthorizationCodeRow, CodeRedemption};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long a code may be redeemed.
pub const CODE_LIFETIME_SECS: i64 = 600;

/// What a code grants, fixed at the authorize endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeGrant {
    /// The client's app id.
    pub client_id: String,
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// The redirect URI is a single-page app's (no secret, 24-hour refresh tokens).
    pub spa: bool,
    /// The scopes as requested.
    pub scopes: ScopeRequest,
    /// The delegated scopes granted on the first resource.
    pub scp: Vec<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// `S256` or `plain`.
    pub code_challenge_method: Option<String>,
    /// The authorize request's nonce.
    pub nonce: Option<String>,
    /// The browser session.
    pub session_id: Option<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Authentication methods.
    pub amr: Vec<String>,
    /// The authorize endpoint's version.
    pub version: EndpointVersion,
}

/// Stores a new code for `user_id` of `tenant_id`; returns the code.
pub async fn store_code(
    authority: &Authority,
    tenant_id: &str,
    user_id: &str,
    grant: &CodeGrant,
) -> Result<String, AadError> {
    let code = format!("1.{}", opaque(48));
    let now = authority.clock().now().unix_timestamp();
    authority
        .directory()
        .store()
        .insert_authorization_code(&AuthorizationCodeRow {
            code_hash: secret_hash(&code),
            tenant_id: tenant_id.into(),
            user_id: user_id.into(),
            grant_json: serde_json::to_string(grant).map_err(internal)?,
            created_at: now,
            expires_at: now + CODE_LIFETIME_SECS,
            redeemed_at: None,
        })
        .await
        .map_err(internal)?;
    Ok(code)
}

fn invalid_code() -> AadError {
    AadError::new(
        ErrorCode::InvalidGrant,
        "Provided grant is invalid or malformed. The authorization code is not valid.",
    )
}

/// PKCE verifier syntax (RFC 7636 §4.1): 43 to 128 unreserved characters.
fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn check_pkce(grant: &CodeGrant, verifier: Option<&str>) -> Result<(), AadError> {
    let Some(challenge) = &grant.code_challenge else {
        if verifier.is_some() {
            return Err(AadError::new(
                ErrorCode::PkceVerifierInvalid,
                "The code_verifier was sent, but the authorization request carried no code_challenge.",
            ));
        }
        return Ok(());
    };
    let verifier = verifier.ok_or_else(|| {
        AadError::new(
            ErrorCode::PkceVerifierInvalid,
            "The request body must contain the following parameter: 'code_verifier'.",
        )
    })?;
    if !verifier_well_formed(verifier) {
        return Err(AadError::new(
            ErrorCode::PkceVerifierInvalid,
            "The code_verifier is malformed: it must be 43 to 128 characters of [A-Z a-z 0-9 - . _ ~].",
        ));
    }
    let derived = match grant.code_challenge_method.as_deref() {
        Some("S256") => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        _ => verifier.to_string(),
    };
    if derived.as_bytes().ct_eq(challenge.as_bytes()).into() {
        Ok(())
    } else {
        Err(AadError::new(
            ErrorCode::PkceMismatch,
            "The code_verifier does not match the code_challenge supplied in the authorization request.",
        ))
    }
}

/// Redeems a code.
pub async fn issue(request: TokenRequest<'_>) -> Result<Response, AadError> {
    let authority = request.authority;
    let directory = authority.directory();
    let form = &request.form;
    let code = form.require("code")?;
    let (client_id, secret) = client_identity(form, request.headers)?;
    let redirect_uri = form.get("redirect_uri");
    if request.version == EndpointVersion::V2 && redirect_uri.is_none() {
        return Err(AadError::missing("redirect_uri"));
    }
    let requested = optional_scopes(&request)?;
    let now = authority.clock().now().unix_timestamp();
    let row = match directory
        .store()
        .redeem_authorization_code(&secret_hash(code), now)
        .await
        .map_err(internal)?
    {
        CodeRedemption::First(row) => row,
        CodeRedemption::Replayed(_) => {
            return Err(AadError::new(
                ErrorCode::CodeRedeemed,
                "The provided authorization code was already redeemed. Retry with a new valid code or use an existing refresh token.",
            ))
        }
        CodeRedemption::Unknown => return Err(invalid_code()),
    };
    if now >= row.expires_at {
        return Err(AadError::new(
            ErrorCode::GrantExpired,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request.",
        ));
    }
    if let Some(t) = &request.tenant {
        if t.id != row.tenant_id {
            return Err(AadError::new(
                ErrorCode::CodeOtherTenant,
                "Provided Authorization Code is intended to use against other tenant, thus rejected.",
            ));
        }
    }
    let grant: CodeGrant = serde_json::from_str(&row.grant_json).map_err(internal)?;
    if !grant.client_id.eq_ignore_ascii_case(&client_id) {
        return Err(AadError::new(
            ErrorCode::InvalidGrant,
            "Provided grant is invalid or malformed. The authorization code was issued to another client.",
        ));
    }
    if let Some(uri) = redirect_uri {
        if uri != grant.redirect_uri {
            return Err(AadError::new(
                ErrorCode::RedirectUriMismatch,
                format!(
                    "The redirect URI '{uri}' specified in the request does not match the redirect URI the authorization code was issued to."
                ),
            ));
        }
    }
    let tenant = directory
        .store()
        .get_tenant(&row.tenant_id)
        .await
        .map_err(internal)?
        .ok_or_else(invalid_code)?;
    let app = find_client(authority, &client_id, &tenant.display_name).await?;
    let auth_method = authenticate(&request, &app, secret.as_deref(), grant.spa).await?;
    check_pkce(&grant, form.get("code_verifier"))?;
    let user = directory
        .active_user(&tenant.id, &row.user_id)
        .await
        .map_err(internal)?
        .ok_or_else(crate::user_tokens::revoked)?;

    // The token's resource: the redemption may name one (v2 `scope`, v1 `resource`), which
    // must then be consented; otherwise the authorize request's first resource.
    let (oidc, resource, scp) = match requested {
        Some(req) => {
            let resolved =
                resolve_scopes(authority, &tenant.id, &tenant.display_name, &req).await?;
            let first = resolved.first().cloned().ok_or_else(invalid_code)?;
            let scp = match evaluate_consent(authority, &tenant.id, &app, &user.id, &first).await? {
                Consent::Granted(scp) => scp,
                Consent::Missing(_) => {
                    return Err(consent_required(&app, &user.user_principal_name))
                }
            };
            let mut oidc = grant.scopes.clone();
            oidc.openid |= req.openid;
            oidc.offline_access |= req.offline_access;
            (oidc, first.resource, scp)
        }
        None => {
            let first = grant.scopes.resources.first().ok_or_else(invalid_code)?;
            let resource =
                resolve_resource(authority, &tenant.id, &tenant.display_name, &first.resource)
                    .await?;
            (grant.scopes.clone(), resource, grant.scp.clone())
        }
    };
    let cap = grant.spa.then_some(now + SPA_REFRESH_LIFETIME_SECS);
    issue_user_tokens(
        authority,
        UserGrant {
            refresh: RefreshIssue::for_request(request.version, &oidc, cap),
            tenant,
            user,
            client: app,
            auth_method,
            resource,
            scp,
            oidc,
            nonce: grant.nonce,
            session_id: grant.session_id,
            auth_time: grant.auth_time,
            amr: grant.amr,
            ip: request.client_ip,
            version: request.version,
            client_info: form.get("client_info") == Some("1"),
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(challenge: Option<&str>, method: Option<&str>) -> CodeGrant {
        CodeGrant {
            client_id: "c".into(),
            redirect_uri: "http://localhost".into(),
            spa: false,
            scopes: ScopeRequest::default(),
            scp: vec![],
            code_challenge: challenge.map(String::from),
            code_challenge_method: method.map(String::from),
            nonce: None,
            session_id: None,
            auth_time: 0,
            amr: vec![],
            version: EndpointVersion::V2,
        }
    }

    #[test]
    fn pkce_follows_rfc_7636() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_pkce(&grant(Some(challenge), Some("S256")), Some(verifier)).is_ok());
        assert_eq!(
            check_pkce(
                &grant(Some(challenge), Some("S256")),
                Some(&verifier.replace('d', "e"))
            )
            .unwrap_err()
            .code,
            ErrorCode::PkceMismatch
        );
        assert_eq!(
            check_pkce(&grant(Some(challenge), Some("S256")), None)
                .unwrap_err()
                .code,
            ErrorCode::PkceVerifierInvalid
        );
        assert_eq!(
            check_pkce(&grant(Some(challenge), Some("S256")), Some("short"))
                .unwrap_err()
                .code,
            ErrorCode::PkceVerifierInvalid
        );
        assert!(check_pkce(&grant(Some(verifier), Some("plain")), Some(verifier)).is_ok());
        assert!(check_pkce(&grant(Some(verifier), None), Some(verifier)).is_ok());
        assert!(check_pkce(&grant(None, None), None).is_ok());
        assert!(check_pkce(&grant(None, None), Some(verifier)).is_err());
    }
}
