//! The token endpoints: `POST /{tenant}/oauth2/token` (v1) and
//! `POST /{tenant}/oauth2/v2.0/token` (v2). This module parses the request and hands it
//! to the grant named by `grant_type` (see [`crate::grants`]).
//!
//! Choices where the spec is silent or marked [inferred]:
//! - Access-token format follows the resource (identity.md §9.1): v1 for the Defender
//!   resources and for apps without `requestedAccessTokenVersion: 2`, whichever endpoint.
//! - `aud` is the resource as named: its client id when requested by GUID or `api://GUID`,
//!   otherwise the identifier URI as registered (without trailing slash).
//! - Lifetime is uniformly random in 60–90 minutes (Entra's documented default).
//! - A body that is not `application/x-www-form-urlencoded` is read as empty, so it fails
//!   with AADSTS900144 for `grant_type`, as Entra does.
//! - Duplicate parameters and undecodable bodies are AADSTS9002313.
//! - Unknown parameters (MSAL telemetry, `client_info`, `claims`, …) are ignored.

use crate::error::{AadError, ErrorCode};
use crate::request::{
    correlation_id, form_and_directory, tenant_of_segment, ClientIp, EndpointVersion, TokenRequest,
};
use crate::Authority;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

/// `POST /{tenant}/oauth2/token`.
pub async fn token_v1(
    state: State<Authority>,
    tenant: Path<String>,
    ip: ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    token(state, tenant, ip, headers, body, EndpointVersion::V1).await
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn token_v2(
    state: State<Authority>,
    tenant: Path<String>,
    ip: ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    token(state, tenant, ip, headers, body, EndpointVersion::V2).await
}

/// Any other method on a token endpoint.
pub async fn method_not_allowed(
    State(authority): State<Authority>,
    method: axum::http::Method,
) -> Response {
    AadError::new(
        ErrorCode::PostOnly,
        format!("The endpoint only accepts POST, OPTIONS requests. Received a {method} request."),
    )
    .with_context(None, authority.clock().now())
    .into_response()
}

async fn token(
    State(authority): State<Authority>,
    Path(tenant): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
    version: EndpointVersion,
) -> Response {
    let correlation = correlation_id(&headers);
    let result = async {
        let (form, directory) = form_and_directory(&authority, &tenant, &headers, &body).await?;
        let tenant_row = tenant_of_segment(&*directory, &tenant)?;
        let form = form?;
        let request = TokenRequest {
            authority: &authority,
            tenant_segment: &tenant,
            tenant: tenant_row,
            form,
            headers: &headers,
            version,
            client_ip: ip,
            directory,
        };
        let grant_type = request.form.require("grant_type")?.to_string();
        match grant_type.as_str() {
            "client_credentials" => crate::grants::client_credentials::issue(request).await,
            "password" => crate::grants::password::issue(request).await,
            "authorization_code" => crate::grants::code::issue(request).await,
            "refresh_token" => crate::grants::refresh::issue(request).await,
            "urn:ietf:params:oauth:grant-type:device_code" | "device_code" => {
                crate::grants::device::poll(request).await
            }
            other => Err(AadError::new(
                ErrorCode::UnsupportedGrantType,
                format!("The app requested an unsupported grant type '{other}'."),
            )),
        }
    }
    .await;
    match result {
        Ok(response) => response,
        Err(e) => e
            .with_context(correlation, authority.clock().now())
            .into_response(),
    }
}
