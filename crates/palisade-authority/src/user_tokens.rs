//! Tokens for a signed-in user (identity.md §9.3–9.5): the delegated access token (`scp`,
//! `upn`, `unique_name`, `name`, `oid`, pairwise `sub`, `amr`, `wids`, `appid`/`azp`,
//! `appidacr` 0 for public clients, `ipaddr`, never `roles`), the ID token (`openid`,
//! v1 or v2 by endpoint, with the request's `nonce`), the refresh token (opaque, stored
//! hashed, bound to user and client, 90 days sliding; 24 hours fixed for single-page
//! apps) and the response in the endpoint version's shape.
//!
//! Choices [inferred]: `sub` is the same pairwise value (per user and client app) in the
//! access and ID tokens; v1 user flows always return an ID token and a refresh token (as
//! ADAL expects); v2 returns them for `openid` and `offline_access`; the v2 `scope`
//! response lists the granted permissions prefixed with the resource as requested, plus
//! the OIDC scopes asked for.

use crate::client_auth::ClientAuthMethod;
use crate::error::{internal, AadError, ErrorCode};
use crate::request::EndpointVersion;
use crate::resource::{RequestedResource, ScopeRequest};
use crate::response::{opaque, token_json, LIFETIME_SECONDS};
use crate::Authority;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use palisade_directory::{Application, User};
use palisade_store::{RefreshTokenRow, TenantRow};
use rand::Rng;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// Refresh tokens live 90 days from their last use.
pub const REFRESH_LIFETIME_SECS: i64 = 90 * 86_400;
/// Single-page apps' refresh tokens end 24 hours after sign-in, however often used.
pub const SPA_REFRESH_LIFETIME_SECS: i64 = 86_400;
/// ID tokens live one hour.
pub const ID_TOKEN_LIFETIME_SECS: i64 = 3600;

/// How the response's refresh token comes about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshIssue {
    /// None (v2 without `offline_access`).
    None,
    /// A new one; `Some(end)` caps it (single-page apps).
    New(Option<i64>),
    /// In exchange for this refresh token (the refresh grant), keeping its cap.
    Exchange {
        /// The refresh token presented.
        used_id: String,
        /// Its hard end, if any.
        cap: Option<i64>,
    },
}

impl RefreshIssue {
    /// A new refresh token when the request earns one: always on v1, with
    /// `offline_access` on v2.
    pub fn for_request(version: EndpointVersion, oidc: &ScopeRequest, cap: Option<i64>) -> Self {
        if version == EndpointVersion::V1 || oidc.offline_access {
            RefreshIssue::New(cap)
        } else {
            RefreshIssue::None
        }
    }
}

/// Everything the tokens of one user sign-in are made from.
#[derive(Debug, Clone)]
pub struct UserGrant {
    /// The user's tenant.
    pub tenant: TenantRow,
    /// The user.
    pub user: User,
    /// The client app.
    pub client: Application,
    /// How the client authenticated.
    pub auth_method: ClientAuthMethod,
    /// The resource the access token is for.
    pub resource: RequestedResource,
    /// Its delegated scopes.
    pub scp: Vec<String>,
    /// The OIDC part of the request.
    pub oidc: ScopeRequest,
    /// The authorize request's `nonce`.
    pub nonce: Option<String>,
    /// The browser session (`sid`).
    pub session_id: Option<String>,
    /// When the user entered credentials (unix seconds).
    pub auth_time: i64,
    /// Authentication methods (`["pwd"]`).
    pub amr: Vec<String>,
    /// The caller's address.
    pub ip: Option<IpAddr>,
    /// The endpoint version (decides the ID token's and the response's shape).
    pub version: EndpointVersion,
    /// The request had `client_info=1`.
    pub client_info: bool,
    /// The refresh token to issue.
    pub refresh: RefreshIssue,
}

/// SHA-256 of a secret (codes, tokens, cookies) as stored.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The pairwise `sub` of a user for a client app.
pub fn pairwise_sub(tenant_id: &str, user_id: &str, client_app_id: &str) -> String {
    let digest = Sha256::digest(format!(
        "{tenant_id}|{user_id}|{}",
        client_app_id.to_lowercase()
    ));
    URL_SAFE_NO_PAD.encode(digest)[..43].to_string()
}

fn ip_claim(ip: Option<IpAddr>) -> Value {
    match ip {
        Some(IpAddr::V6(v6)) => json!(v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_else(|| v6.to_string())),
        Some(v4) => json!(v4.to_string()),
        None => Value::Null,
    }
}

/// Mints the tokens and writes the response.
pub async fn issue_user_tokens(
    authority: &Authority,
    g: UserGrant,
) -> Result<axum::response::Response, AadError> {
    let wids = authority
        .directory()
        .user_role_ids(&g.tenant.id, &g.user.id)
        .await
        .map_err(internal)?;
    let now = authority.clock().now().unix_timestamp();
    let lifetime = rand::thread_rng().gen_range(LIFETIME_SECONDS.0..=LIFETIME_SECONDS.1);
    let exp = now + lifetime;
    let tid = &g.tenant.id;
    let sub = pairwise_sub(tid, &g.user.id, &g.client.app_id);
    let v1_issuer = format!("https://sts.windows.net/{tid}/");
    let v2_issuer = format!("https://login.microsoftonline.com/{tid}/v2.0");
    let scp = g.scp.join(" ");

    // Access token.
    let v2_token = g.resource.app.issues_v2_access_tokens();
    let mut at = Map::new();
    if v2_token {
        at.insert("aud".into(), json!(g.resource.app.app_id));
        at.insert("iss".into(), json!(v2_issuer));
    } else {
        at.insert("aud".into(), json!(g.resource.audience));
        at.insert("iss".into(), json!(v1_issuer));
    }
    at.insert("iat".into(), json!(now));
    at.insert("nbf".into(), json!(now));
    at.insert("exp".into(), json!(exp));
    if !v2_token {
        at.insert("acr".into(), json!("1"));
    }
    at.insert("aio".into(), json!(opaque(48)));
    if v2_token {
        at.insert("azp".into(), json!(g.client.app_id));
        at.insert("azpacr".into(), json!(g.auth_method.acr()));
    } else {
        at.insert("amr".into(), json!(g.amr));
        at.insert("appid".into(), json!(g.client.app_id));
        at.insert("appidacr".into(), json!(g.auth_method.acr()));
        if let Some(ip) = g.ip {
            at.insert("ipaddr".into(), ip_claim(Some(ip)));
        }
    }
    at.insert("idtyp".into(), json!("user"));
    at.insert("name".into(), json!(g.user.display_name));
    at.insert("oid".into(), json!(g.user.id));
    if v2_token {
        at.insert(
            "preferred_username".into(),
            json!(g.user.user_principal_name),
        );
    }
    at.insert("rh".into(), json!(format!("0.{}.", opaque(40))));
    at.insert("scp".into(), json!(scp));
    if let Some(sid) = &g.session_id {
        at.insert("sid".into(), json!(sid));
    }
    at.insert("sub".into(), json!(sub));
    at.insert("tid".into(), json!(tid));
    if !v2_token {
        at.insert("unique_name".into(), json!(g.user.user_principal_name));
        at.insert("upn".into(), json!(g.user.user_principal_name));
    }
    at.insert("uti".into(), json!(opaque(16)));
    at.insert("ver".into(), json!(if v2_token { "2.0" } else { "1.0" }));
    if !wids.is_empty() {
        at.insert("wids".into(), json!(wids));
    }
    let access_token = authority
        .keys()
        .sign(!v2_token, &Value::Object(at))
        .map_err(internal)?;

    // ID token.
    let want_id_token = g.version == EndpointVersion::V1 || g.oidc.openid;
    let id_token = if want_id_token {
        let mut id = Map::new();
        id.insert("aud".into(), json!(g.client.app_id));
        match g.version {
            EndpointVersion::V1 => {
                id.insert(
                    "iss".into(),
                    json!(format!("https://sts.windows.net/{tid}/")),
                );
            }
            EndpointVersion::V2 => {
                id.insert(
                    "iss".into(),
                    json!(format!("https://login.microsoftonline.com/{tid}/v2.0")),
                );
            }
        }
        id.insert("iat".into(), json!(now));
        id.insert("nbf".into(), json!(now));
        id.insert("exp".into(), json!(now + ID_TOKEN_LIFETIME_SECS));
        id.insert("auth_time".into(), json!(g.auth_time));
        if g.version == EndpointVersion::V1 {
            id.insert("amr".into(), json!(g.amr));
            if let Some(ip) = g.ip {
                id.insert("ipaddr".into(), ip_claim(Some(ip)));
            }
        } else {
            id.insert("aio".into(), json!(opaque(48)));
        }
        id.insert("name".into(), json!(g.user.display_name));
        if let Some(n) = &g.nonce {
            id.insert("nonce".into(), json!(n));
        }
        id.insert("oid".into(), json!(g.user.id));
        if g.version == EndpointVersion::V2 {
            id.insert(
                "preferred_username".into(),
                json!(g.user.user_principal_name),
            );
            id.insert("rh".into(), json!(format!("0.{}.", opaque(40))));
        }
        if let Some(sid) = &g.session_id {
            id.insert("sid".into(), json!(sid));
        }
        id.insert("sub".into(), json!(sub));
        id.insert("tid".into(), json!(tid));
        if g.version == EndpointVersion::V1 {
            id.insert("unique_name".into(), json!(g.user.user_principal_name));
            id.insert("upn".into(), json!(g.user.user_principal_name));
        } else {
            id.insert("uti".into(), json!(opaque(16)));
        }
        id.insert(
            "ver".into(),
            json!(match g.version {
                EndpointVersion::V1 => "1.0",
                EndpointVersion::V2 => "2.0",
            }),
        );
        Some(
            authority
                .keys()
                .sign(g.version == EndpointVersion::V1, &Value::Object(id))
                .map_err(internal)?,
        )
    } else {
        None
    };

    // Refresh token.
    let refresh_token = if g.refresh != RefreshIssue::None {
        let token = opaque(64);
        let cap = match &g.refresh {
            RefreshIssue::New(cap) => *cap,
            RefreshIssue::Exchange { cap, .. } => *cap,
            RefreshIssue::None => None,
        };
        let expires_at = match cap {
            Some(c) => c.min(now + REFRESH_LIFETIME_SECS),
            None => now + REFRESH_LIFETIME_SECS,
        };
        let row = RefreshTokenRow {
            id: uuid::Uuid::new_v4().to_string(),
            token_hash: secret_hash(&token),
            tenant_id: tid.clone(),
            user_id: g.user.id.clone(),
            client_id: g.client.app_id.clone(),
            auth_time: g.auth_time,
            amr_json: serde_json::to_string(&g.amr).map_err(internal)?,
            issued_at: now,
            expires_at,
            max_expires_at: cap,
            revoked_at: None,
        };
        let store = authority.directory().store();
        match &g.refresh {
            RefreshIssue::Exchange { used_id, .. } => {
                if !store
                    .exchange_refresh_token(used_id, &row)
                    .await
                    .map_err(internal)?
                {
                    return Err(revoked());
                }
            }
            _ => store.insert_refresh_token(&row).await.map_err(internal)?,
        }
        Some(token)
    } else {
        None
    };

    // Response.
    let mut body = Map::new();
    body.insert("token_type".into(), json!("Bearer"));
    match g.version {
        EndpointVersion::V2 => {
            let mut scope: Vec<String> = g
                .scp
                .iter()
                .map(|s| format!("{}/{s}", g.resource.as_requested.trim_end_matches('/')))
                .collect();
            scope.extend(g.oidc.oidc_scopes().iter().map(|s| s.to_string()));
            body.insert("scope".into(), json!(scope.join(" ")));
            body.insert("expires_in".into(), json!(lifetime));
            body.insert("ext_expires_in".into(), json!(lifetime));
        }
        EndpointVersion::V1 => {
            body.insert("scope".into(), json!(scp));
            body.insert("expires_in".into(), json!(lifetime.to_string()));
            body.insert("ext_expires_in".into(), json!(lifetime.to_string()));
            body.insert("expires_on".into(), json!(exp.to_string()));
            body.insert("not_before".into(), json!(now.to_string()));
            body.insert("resource".into(), json!(g.resource.as_requested));
        }
    }
    body.insert("access_token".into(), json!(access_token));
    if let Some(rt) = refresh_token {
        body.insert("refresh_token".into(), json!(rt));
    }
    if let Some(id) = id_token {
        body.insert("id_token".into(), json!(id));
    }
    if g.client_info && g.version == EndpointVersion::V2 {
        let info = json!({"uid": g.user.id, "utid": tid}).to_string();
        body.insert("client_info".into(), json!(URL_SAFE_NO_PAD.encode(info)));
    }
    Ok(token_json(Value::Object(body)))
}

/// AADSTS50173: the grant was revoked.
pub fn revoked() -> AadError {
    AadError::new(
        ErrorCode::GrantRevoked,
        "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or \
         reset their password, the account was disabled, or its sessions were revoked.",
    )
}
