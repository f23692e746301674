//! A token request as every grant receives it: the endpoint version, the tenant path
//! segment resolved, the parsed form, the headers and the caller's address.

use crate::error::{internal, AadError, ErrorCode};
use crate::form::Form;
use crate::Authority;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use palisade_directory::{AppDirectory, DirectorySnapshot};
use palisade_store::TenantRow;
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
    tenant_of_segment(&*app_directory(authority, segment, &[]).await?, segment)
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

/// The app-only directory in memory as of now for a request to tenant path segment
/// `segment` naming the applications `names` (AADSTS50000 if the store fails).
pub async fn app_directory(
    authority: &Authority,
    segment: &str,
    names: &[&str],
) -> Result<Arc<DirectorySnapshot>, AadError> {
    authority
        .directory()
        .app_directory(segment, names)
        .await
        .map_err(internal)
}

/// The applications a token request's form names, for [`app_directory`]: the client id
/// (form or HTTP Basic), the `resource`, and the resource of every prefixed `scope`.
pub fn names_in_request<'a>(form: Option<&'a Form>, basic: Option<&'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = basic.into_iter().collect();
    let Some(form) = form else {
        return names;
    };
    names.extend(form.get("client_id"));
    names.extend(form.get("resource"));
    for scope in form
        .get("scope")
        .into_iter()
        .flat_map(|s| s.split([' ', '+']))
    {
        if let Some((resource, _)) = scope.rsplit_once('/') {
            if !resource.is_empty() && !resource.ends_with(':') && !resource.ends_with('/') {
                names.push(resource);
            }
        }
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// Parses a token endpoint's form and reads the directory it needs: the form's error is
/// kept for after the tenant is resolved (an unknown tenant is reported first).
pub async fn form_and_directory(
    authority: &Authority,
    segment: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Result<Form, AadError>, Arc<DirectorySnapshot>), AadError> {
    let form = Form::parse(headers, body);
    let basic = crate::form::basic_credentials(headers).ok().flatten();
    let names = names_in_request(
        form.as_ref().ok(),
        basic.as_ref().map(|(id, _)| id.as_str()),
    );
    let directory = app_directory(authority, segment, &names).await?;
    Ok((form, directory))
}
