//! Who is calling: the bearer token validated, its tenant present, and for delegated
//! tokens the signed-in user present and enabled, with their rights and device groups.
//! Shared by the Defender API and the Graph security API, which differ only in the
//! audiences they accept and in how they word a refusal.

use crate::access::{Authorized, Visibility};
use crate::auth::{bearer_token, CallerKind, TokenError, TokenValidator};
use crate::error::ApiError;
use crate::DefenderState;
use axum::http::HeaderMap;

/// Why a caller was not identified.
pub(crate) enum Refusal {
    /// The token itself was refused.
    Token(TokenError),
    /// The token's user is gone or disabled (a 401).
    User(&'static str),
    /// The check could not run (store or access source failure).
    Failed(ApiError),
}

/// Token → tenant → (delegated) the user exists and is enabled. No permission is checked.
pub(crate) async fn identify(
    state: &DefenderState,
    validator: &TokenValidator,
    headers: &HeaderMap,
) -> Result<Authorized, Refusal> {
    let token = bearer_token(headers).map_err(Refusal::Token)?;
    let caller = validator
        .validate(token, state.clock.now())
        .map_err(Refusal::Token)?;
    let tenant = state
        .store
        .get_tenant(&caller.tenant_id)
        .await
        .map_err(|e| Refusal::Failed(e.into()))?;
    if tenant.is_none() {
        return Err(Refusal::Token(TokenError::UnknownTenant));
    }
    if caller.kind != CallerKind::Delegated {
        return Ok(Authorized {
            caller,
            visibility: Visibility::All,
            rights: Vec::new(),
        });
    }
    let user_id = caller.object_id.clone().unwrap_or_default();
    let access = state
        .user_access
        .user_access(&caller.tenant_id, &user_id)
        .await
        .map_err(|e| Refusal::Failed(ApiError::internal(e)))?;
    let Some(access) = access else {
        return Err(Refusal::User(
            "The signed-in user does not exist in the tenant.",
        ));
    };
    if !access.enabled {
        return Err(Refusal::User("The signed-in user's account is disabled."));
    }
    Ok(Authorized {
        caller,
        visibility: Visibility::of(&access.devices),
        rights: access.rights,
    })
}
