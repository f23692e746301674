//! The device authorization grant (identity.md §7.4): `POST …/devicecode` (v1 and v2
//! shapes) and polling the token endpoint with the device code.
//!
//! The user types the code at `/devicelogin` (see [`crate::web`]), signs in and consents.
//! Polling answers `authorization_pending` until then, `authorization_declined` if the user
//! cancelled, `expired_token` after 15 minutes, `bad_verification_code` for an unknown
//! code, and `slow_down` to a client polling faster than the interval, which then grows by
//! 5 seconds (RFC 8628 §3.5) [inferred: Entra documents the interval, Palisade enforces it].

use crate::client_auth::{app_not_found, authenticate, client_identity, find_client, usable_in};
use crate::error::{internal, AadError, ErrorCode};
use crate::grants::scopes_of_request;
use crate::request::{
    correlation_id, form_and_directory, tenant_of_segment, EndpointVersion, TokenRequest,
};
use crate::resource::{consent_required, evaluate_consent, resolve_scopes, Consent, ScopeRequest};
use crate::response::{opaque, token_json};
use crate::user_tokens::{issue_user_tokens, secret_hash, RefreshIssue, UserGrant};
use crate::Authority;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use palisade_store::DeviceCodeRow;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Device codes live 15 minutes.
pub const DEVICE_CODE_LIFETIME_SECS: i64 = 900;
/// The polling interval first announced.
pub const POLL_INTERVAL_SECS: i64 = 5;
/// The characters of user codes (no 0/O, 1/I).
const USER_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// User codes have 9 characters (32^9 ≈ 3.5 × 10^13 codes).
const USER_CODE_LEN: usize = 9;

/// The device-code request as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceRequest {
    /// The tenant segment of the devicecode call.
    pub tenant_segment: String,
    /// The scopes asked for.
    pub scopes: ScopeRequest,
    /// The endpoint version.
    pub version: EndpointVersion,
}

/// Normalises what a user typed: upper case, no spaces or dashes.
pub fn normalize_user_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `POST /{tenant}/oauth2/devicecode`.
pub async fn devicecode_v1(
    state: State<Authority>,
    tenant: Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    devicecode(state, tenant, headers, body, EndpointVersion::V1).await
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub async fn devicecode_v2(
    state: State<Authority>,
    tenant: Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    devicecode(state, tenant, headers, body, EndpointVersion::V2).await
}

async fn devicecode(
    State(authority): State<Authority>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
    version: EndpointVersion,
) -> Response {
    let correlation = correlation_id(&headers);
    let result = async {
        let (form, directory) = form_and_directory(&authority, &segment, &headers, &body).await?;
        let tenant = tenant_of_segment(&*directory, &segment)?;
        let form = form?;
        let request = TokenRequest {
            authority: &authority,
            tenant_segment: &segment,
            tenant,
            form,
            headers: &headers,
            version,
            client_ip: None,
            directory,
        };
        let (client_id, secret) = client_identity(&request.form, &headers)?;
        let scopes = scopes_of_request(&request)?;
        let app = find_client(&authority, &client_id, &request.tenant_name()).await?;
        if let Some(t) = &request.tenant {
            if !usable_in(&app, &t.id) {
                return Err(app_not_found(&client_id, &t.display_name));
            }
        }
        if !app.is_public_client {
            return Err(AadError::new(
                ErrorCode::MissingClientCredential,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. The device code \
                 flow needs a public client (enable 'Allow public client flows').",
            ));
        }
        authenticate(&request, &app, secret.as_deref(), false).await?;
        for r in &scopes.resources {
            if authority
                .directory()
                .find_resource(&r.resource)
                .await
                .map_err(internal)?
                .is_none()
            {
                return Err(AadError::new(
                    ErrorCode::ResourceNotFound,
                    format!("The resource principal named {} was not found.", r.resource),
                ));
            }
        }
        let now = authority.clock().now().unix_timestamp();
        let device_code = opaque(48);
        let user_code: String = (0..USER_CODE_LEN)
            .map(|_| {
                USER_CODE_ALPHABET[rand::rngs::OsRng.gen_range(0..USER_CODE_ALPHABET.len())] as char
            })
            .collect();
        let stored = DeviceRequest {
            tenant_segment: segment.clone(),
            scopes,
            version,
        };
        authority
            .directory()
            .store()
            .insert_device_code(&DeviceCodeRow {
                id: uuid::Uuid::new_v4().to_string(),
                device_code_hash: secret_hash(&device_code),
                user_code: user_code.clone(),
                client_id: app.app_id.clone(),
                request_json: serde_json::to_string(&stored).map_err(internal)?,
                interval_secs: POLL_INTERVAL_SECS,
                created_at: now,
                expires_at: now + DEVICE_CODE_LIFETIME_SECS,
                last_poll_ms: None,
                status: "pending".into(),
                tenant_id: None,
                user_id: None,
                auth_time: None,
            })
            .await
            .map_err(internal)?;
        let verification = format!(
            "{}://{}/devicelogin",
            authority.settings().scheme,
            crate::discovery::request_host(&headers)
        );
        let message = format!(
            "To sign in, use a web browser to open the page {verification} and enter the code {user_code} to authenticate."
        );
        Ok(match version {
            EndpointVersion::V2 => token_json(json!({
                "user_code": user_code,
                "device_code": device_code,
                "verification_uri": verification,
                "expires_in": DEVICE_CODE_LIFETIME_SECS,
                "interval": POLL_INTERVAL_SECS,
                "message": message,
            })),
            EndpointVersion::V1 => token_json(json!({
                "user_code": user_code,
                "device_code": device_code,
                "verification_url": verification,
                "expires_in": DEVICE_CODE_LIFETIME_SECS.to_string(),
                "interval": POLL_INTERVAL_SECS.to_string(),
                "message": message,
            })),
        })
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => e
            .with_context(correlation, authority.clock().now())
            .into_response(),
    }
}

fn polling_error(code: ErrorCode, message: &str) -> AadError {
    AadError::new(code, message)
}

/// Polls with a device code.
pub async fn poll(request: TokenRequest<'_>) -> Result<Response, AadError> {
    let authority = request.authority;
    let directory = authority.directory();
    let form = &request.form;
    let device_code = match form.get("device_code").or_else(|| form.get("code")) {
        Some(c) => c.to_string(),
        None => return Err(AadError::missing("device_code")),
    };
    let (client_id, secret) = client_identity(form, request.headers)?;
    let row = directory
        .store()
        .find_device_code(&secret_hash(&device_code))
        .await
        .map_err(internal)?
        .filter(|r| r.client_id.eq_ignore_ascii_case(&client_id))
        .ok_or_else(|| {
            polling_error(
                ErrorCode::BadVerificationCode,
                "The device code is not valid: it was not issued to this client, or never issued.",
            )
        })?;
    let now = authority.clock().now();
    let now_s = now.unix_timestamp();
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    if now_s >= row.expires_at {
        return Err(polling_error(
            ErrorCode::DeviceCodeExpired,
            "The device code has expired. Start the device code flow again.",
        ));
    }
    match row.status.as_str() {
        "declined" => {
            return Err(polling_error(
                ErrorCode::AuthorizationDeclined,
                "The end user denied the authorization request.",
            ))
        }
        "redeemed" => {
            return Err(polling_error(
                ErrorCode::DeviceCodeUsed,
                "The request was already authorized or declined: the device code was redeemed.",
            ))
        }
        "pending" => {
            let too_fast = row
                .last_poll_ms
                .is_some_and(|last| now_ms - last < row.interval_secs * 1000);
            let interval = if too_fast {
                row.interval_secs + 5
            } else {
                row.interval_secs
            };
            let recorded = directory
                .store()
                .record_device_poll(&row.id, row.last_poll_ms, now_ms, interval)
                .await
                .map_err(internal)?;
            return Err(if too_fast || !recorded {
                polling_error(
                    ErrorCode::SlowDown,
                    &format!(
                        "The client is polling too fast; wait {interval} seconds between requests."
                    ),
                )
            } else {
                polling_error(
                    ErrorCode::AuthorizationPending,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                )
            });
        }
        _ => {}
    }
    // Approved: spend it once.
    if !directory
        .store()
        .redeem_device_code(&row.id)
        .await
        .map_err(internal)?
    {
        return Err(polling_error(
            ErrorCode::DeviceCodeUsed,
            "The request was already authorized or declined.",
        ));
    }
    let stored: DeviceRequest = serde_json::from_str(&row.request_json).map_err(internal)?;
    let (Some(tenant_id), Some(user_id)) = (row.tenant_id.clone(), row.user_id.clone()) else {
        return Err(internal("approved device code without a user"));
    };
    let tenant = directory
        .store()
        .get_tenant(&tenant_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("device code of a deleted tenant"))?;
    let app = find_client(authority, &client_id, &tenant.display_name).await?;
    let auth_method = authenticate(&request, &app, secret.as_deref(), false).await?;
    let user = directory
        .active_user(&tenant.id, &user_id)
        .await
        .map_err(internal)?
        .ok_or_else(crate::user_tokens::revoked)?;
    let resolved =
        resolve_scopes(authority, &tenant.id, &tenant.display_name, &stored.scopes).await?;
    let first = resolved
        .first()
        .ok_or_else(|| internal("device code without a resource"))?;
    let scp = match evaluate_consent(authority, &tenant.id, &app, &user.id, first).await? {
        Consent::Granted(scp) => scp,
        Consent::Missing(_) => return Err(consent_required(&app, &user.user_principal_name)),
    };
    issue_user_tokens(
        authority,
        UserGrant {
            refresh: RefreshIssue::for_request(stored.version, &stored.scopes, None),
            tenant,
            user,
            client: app,
            auth_method,
            resource: first.resource.clone(),
            scp,
            oidc: stored.scopes.clone(),
            nonce: None,
            session_id: None,
            auth_time: row.auth_time.unwrap_or(now_s),
            amr: vec!["pwd".into()],
            ip: request.client_ip,
            version: request.version,
            client_info: form.get("client_info") == Some("1"),
        },
    )
    .await
}
