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
use crate::form::Form;
use crate::Authority;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use palisade_directory::{AppDirectory, DirectorySnapshot};
use palisade_store::TenantRow;
use rand::Rng;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use uuid::Uuid;

/// Which protocol version's endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EndpointVersion {
    /// `/oauth2/token`.
    V1,
    /// `/oauth2/v2.0/token`.
    V2,
}

/// Token lifetime bounds in seconds (60 and 90 minutes).
pub const LIFETIME_SECONDS: (i64, i64) = (3600, 5400);

/// The tenant aliases (no tenant of their own).
pub const ALIASES: [&str; 3] = ["common", "organizations", "consumers"];

/// The caller's IP address, when the server knows it (the `ipaddr` claim).
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// A parsed token request, as every grant receives it.
pub struct TokenRequest<'a> {
    /// The token service.
    pub authority: &'a Authority,
    /// The tenant path segment as sent.
    pub tenant_segment: &'a str,
    /// The tenant it names; `None` for `common`, `organizations`, `consumers`.
    pub tenant: Option<TenantRow>,
    /// The form.
    pub form: Form,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The endpoint version.
    pub version: EndpointVersion,
    /// The caller's address.
    pub client_ip: Option<IpAddr>,
    /// The app-only directory in memory, as of this request (read once per request).
    pub directory: Arc<DirectorySnapshot>,
}

impl TokenRequest<'_> {
    /// The tenant, or AADSTS9001023 on an alias.
    pub fn specific_tenant(&self) -> Result<&TenantRow, AadError> {
        self.tenant.as_ref().ok_or_else(grant_not_on_common)
    }

    /// Whether the segment is `common` or `consumers` (`organizations` is allowed where
    /// `common` is not).
    pub fn is_common_or_consumers(&self) -> bool {
        ["common", "consumers"]
            .iter()
            .any(|a| self.tenant_segment.eq_ignore_ascii_case(a))
    }

    /// The tenant's display name for messages (the segment for aliases).
    pub fn tenant_name(&self) -> String {
        self.tenant
            .as_ref()
            .map(|t| t.display_name.clone())
            .unwrap_or_else(|| self.tenant_segment.to_string())
    }
}

/// AADSTS9001023: the grant is not allowed on `/common` or `/consumers`.
pub fn grant_not_on_common() -> AadError {
    AadError::new(
        ErrorCode::GrantNotOnCommon,
        "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or \
         tenant-specific endpoint.",
    )
}

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

/// The client's `client-request-id`, echoed as the correlation id of errors.
pub fn correlation_id(headers: &HeaderMap) -> Option<Uuid> {
    headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
}

/// Resolves a tenant path segment: `None` for an alias, AADSTS90002 for an unknown one.
pub async fn resolve_segment(
    authority: &Authority,
    segment: &str,
) -> Result<Option<TenantRow>, AadError> {
    tenant_of_segment(&*app_directory(authority).await?, segment)
}

/// [`resolve_segment`] in a directory already read.
pub fn tenant_of_segment(
    directory: &dyn AppDirectory,
    segment: &str,
) -> Result<Option<TenantRow>, AadError> {
    if ALIASES.iter().any(|a| segment.eq_ignore_ascii_case(a)) {
        return Ok(None);
    }
    directory
        .tenant(segment)
        .cloned()
        .map(Some)
        .ok_or_else(|| AadError::tenant_not_found(segment))
}

/// The app-only directory in memory as of now (AADSTS50000 if the store fails).
pub async fn app_directory(authority: &Authority) -> Result<Arc<DirectorySnapshot>, AadError> {
    authority
        .directory()
        .app_directory()
        .await
        .map_err(internal)
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
        let directory = app_directory(&authority).await?;
        let tenant_row = tenant_of_segment(&*directory, &tenant)?;
        let form = Form::parse(&headers, &body)?;
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

/// Logs an internal failure and returns the opaque AADSTS50000 error.
pub fn internal<E: std::fmt::Display>(e: E) -> AadError {
    tracing::error!(error = %e, "token service failure");
    AadError::new(
        ErrorCode::ServerError,
        "An internal error occurred. Retry the request.",
    )
}

/// `len` random bytes, base64url (opaque claim values, codes, tokens).
pub fn opaque(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill(bytes.as_mut_slice());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JSON token response with Entra's no-store headers.
pub fn token_json(body: impl serde::Serialize) -> Response {
    let mut response = axum::Json(body).into_response();
    let h = response.headers_mut();
    h.insert(
        "cache-control",
        HeaderValue::from_static("no-store, no-cache"),
    );
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    h.insert("expires", HeaderValue::from_static("-1"));
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
