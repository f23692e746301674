//! The token endpoints: `POST /{tenant}/oauth2/token` (v1) and
//! `POST /{tenant}/oauth2/v2.0/token` (v2), grant `client_credentials`.
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
use crate::Authority;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use palisade_directory::{Application, SecretCheck};
use rand::Rng;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// Which protocol version's endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointVersion {
    /// `/oauth2/token`.
    V1,
    /// `/oauth2/v2.0/token`.
    V2,
}

/// Token lifetime bounds in seconds (60 and 90 minutes).
pub const LIFETIME_SECONDS: (i64, i64) = (3600, 5400);

/// `POST /{tenant}/oauth2/token`.
pub async fn token_v1(
    state: State<Authority>,
    tenant: Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    token(state, tenant, headers, body, EndpointVersion::V1).await
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub async fn token_v2(
    state: State<Authority>,
    tenant: Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    token(state, tenant, headers, body, EndpointVersion::V2).await
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
    headers: HeaderMap,
    body: axum::body::Bytes,
    version: EndpointVersion,
) -> Response {
    let correlation = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok());
    let now = authority.clock().now();
    match issue(&authority, &tenant, &headers, &body, version).await {
        Ok(response) => response,
        Err(e) => e.with_context(correlation, now).into_response(),
    }
}

/// The request form, with duplicates refused.
struct Form(HashMap<String, String>);

impl Form {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, AadError> {
        let is_form = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
            .unwrap_or(false);
        if !is_form {
            return Ok(Self(HashMap::new()));
        }
        if !is_well_formed_form(body) {
            return Err(AadError::malformed(
                "The request body is not valid application/x-www-form-urlencoded.",
            ));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
            AadError::malformed("The request body is not valid application/x-www-form-urlencoded.")
        })?;
        let mut map = HashMap::new();
        for (k, v) in pairs {
            if map.insert(k.clone(), v).is_some() {
                return Err(AadError::malformed(&format!(
                    "The parameter '{k}' is given more than once."
                )));
            }
        }
        Ok(Self(map))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn require(&self, name: &str) -> Result<&str, AadError> {
        self.get(name).ok_or_else(|| AadError::missing(name))
    }
}

/// Whether a form body is strictly well formed: every `%` starts a two-digit hex escape and
/// every decoded value is UTF-8 (the lenient parser would silently replace both).
fn is_well_formed_form(body: &[u8]) -> bool {
    body.split(|b| *b == b'&').all(|pair| {
        let mut decoded = Vec::with_capacity(pair.len());
        let mut i = 0;
        while i < pair.len() {
            match pair[i] {
                b'%' => {
                    let hex = pair
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => decoded.push(b),
                        None => return false,
                    }
                    i += 3;
                }
                b'+' => {
                    decoded.push(b' ');
                    i += 1;
                }
                b => {
                    decoded.push(b);
                    i += 1;
                }
            }
        }
        std::str::from_utf8(&decoded).is_ok()
    })
}

/// Client id and secret from `Authorization: Basic` (RFC 6749 §2.3.1: both form-encoded).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, AadError> {
    let mut values = headers.get_all(axum::http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        // RFC 6750 §3.1 / RFC 6749 §5.2: a repeated parameter is invalid_request.
        return Err(AadError::malformed(
            "The request carries more than one Authorization header.",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| AadError::malformed("The Authorization header is not valid."))?;
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            AadError::malformed("The Basic authorization header is not valid base64.")
        })?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| AadError::malformed("The Basic authorization header has no ':'."))?;
    let unescape = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|mut v| v.pop())
            .map(|(_, v)| v)
            .unwrap_or_else(|| s.to_string())
    };
    Ok(Some((unescape(id), unescape(secret))))
}

/// The resource a request names, and how it was named.
struct RequestedResource {
    app: Application,
    audience: String,
    as_requested: String,
}

async fn resolve_resource(
    authority: &Authority,
    tenant_id: &str,
    tenant_name: &str,
    resource: &str,
) -> Result<RequestedResource, AadError> {
    let not_found = || {
        AadError::new(
            ErrorCode::ResourceNotFound,
            format!(
                "The resource principal named {resource} was not found in the tenant named {tenant_name}. This can happen if the application \
                 has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent \
                 your authentication request to the wrong tenant."
            ),
        )
    };
    let app = authority
        .directory()
        .find_resource(resource)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    if authority
        .directory()
        .find_service_principal(tenant_id, &app.app_id)
        .await
        .map_err(internal)?
        .is_none()
    {
        return Err(not_found());
    }
    let trimmed = resource.trim().trim_end_matches('/');
    let by_guid = Uuid::parse_str(trimmed.strip_prefix("api://").unwrap_or(trimmed)).is_ok();
    let audience = if by_guid {
        app.app_id.clone()
    } else {
        let wanted = palisade_directory::normalize_identifier_uri(resource);
        palisade_directory::builtin_apps()
            .iter()
            .find(|b| b.app_id == app.app_id)
            .and_then(|b| {
                b.identifier_uris
                    .iter()
                    .find(|u| palisade_directory::normalize_identifier_uri(u) == wanted)
            })
            .map(|u| u.to_string())
            .unwrap_or(wanted)
    };
    Ok(RequestedResource {
        app,
        audience,
        as_requested: resource.to_string(),
    })
}

/// The one resource of a v2 client-credentials `scope`.
fn resource_from_scope(scope: &str) -> Result<String, AadError> {
    let scopes: Vec<&str> = scope.split([' ', '+']).filter(|s| !s.is_empty()).collect();
    let mut resources: Vec<String> = Vec::new();
    for s in &scopes {
        if matches!(*s, "openid" | "profile" | "email" | "offline_access") {
            continue;
        }
        let Some(resource) = s.strip_suffix("/.default") else {
            return Err(AadError::new(
                ErrorCode::ScopeNotDefault,
                format!(
                    "The provided value for scope {s} is not valid. Client credential flows must have a scope value with /.default \
                     suffixed to the resource identifier (application ID URI)."
                ),
            ));
        };
        let resource = resource.to_string();
        if !resources.iter().any(|r| {
            palisade_directory::normalize_identifier_uri(r)
                == palisade_directory::normalize_identifier_uri(&resource)
        }) {
            resources.push(resource);
        }
    }
    match resources.len() {
        1 => Ok(resources.remove(0)),
        0 => Err(AadError::new(
            ErrorCode::InvalidScope,
            format!("The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."),
        )),
        _ => Err(AadError::new(
            ErrorCode::MultipleResources,
            format!(
                "The provided value for the input parameter scope is not valid because it contains more than one resource. \
                 Scope {scope} is not valid."
            ),
        )),
    }
}

fn internal<E: std::fmt::Display>(e: E) -> AadError {
    tracing::error!(error = %e, "token endpoint failure");
    AadError::new(
        ErrorCode::ServerError,
        "An internal error occurred. Retry the request.",
    )
}

fn opaque(len: usize) -> String {
    let bytes: Vec<u8> = (0..len).map(|_| rand::thread_rng().gen()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Serialize)]
struct V2Response {
    token_type: &'static str,
    expires_in: i64,
    ext_expires_in: i64,
    access_token: String,
}

#[derive(Serialize)]
struct V1Response {
    token_type: &'static str,
    expires_in: String,
    ext_expires_in: String,
    expires_on: String,
    not_before: String,
    resource: String,
    access_token: String,
}

async fn issue(
    authority: &Authority,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
    version: EndpointVersion,
) -> Result<Response, AadError> {
    let directory = authority.directory();
    let is_alias = ["common", "organizations", "consumers"]
        .iter()
        .any(|a| tenant.eq_ignore_ascii_case(a));
    let tenant_row = if is_alias {
        None
    } else {
        Some(
            directory
                .resolve_tenant(tenant)
                .await
                .map_err(internal)?
                .ok_or_else(|| AadError::tenant_not_found(tenant))?,
        )
    };

    let form = Form::parse(headers, body)?;
    let grant_type = form.require("grant_type")?;
    if grant_type != "client_credentials" {
        return Err(AadError::new(
            ErrorCode::UnsupportedGrantType,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }
    let Some(tenant_row) = tenant_row else {
        return Err(AadError::new(
            ErrorCode::GrantNotOnCommon,
            "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
        ));
    };

    // Client identification: form fields and/or Basic, which must agree.
    let basic = basic_credentials(headers)?;
    let form_client_id = form.get("client_id");
    let client_id = match (&basic, form_client_id) {
        (Some((id, _)), Some(f)) if !id.eq_ignore_ascii_case(f) => {
            return Err(AadError::malformed(
                "The client_id in the body differs from the one in the Authorization header.",
            ))
        }
        (Some((id, _)), _) => id.clone(),
        (None, Some(f)) => f.to_string(),
        (None, None) => return Err(AadError::missing("client_id")),
    };
    let presented_secret = match (&basic, form.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(AadError::malformed(
                "The client secret was given both in the body and in the Authorization header.",
            ))
        }
        (Some((_, s)), None) => Some(s.clone()),
        (None, s) => s.map(str::to_string),
    };

    // The requested resource.
    let resource_param = form.get("resource");
    let resource_name = match version {
        EndpointVersion::V1 => resource_param
            .ok_or_else(|| AadError::missing("resource"))?
            .to_string(),
        EndpointVersion::V2 => {
            if resource_param.is_some() {
                return Err(AadError::new(
                    ErrorCode::ResourceNotSupported,
                    "The 'resource' request parameter is not supported.",
                ));
            }
            resource_from_scope(form.require("scope")?)?
        }
    };

    // The client, in this tenant.
    let app_not_found = || {
        AadError::new(
            ErrorCode::ApplicationNotFound,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has \
                 not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your \
                 authentication request to the wrong tenant.",
                tenant_row.display_name
            ),
        )
    };
    if Uuid::parse_str(&client_id).is_err() {
        return Err(app_not_found());
    }
    let app = directory
        .find_application_by_app_id(&client_id)
        .await
        .map_err(internal)?
        .ok_or_else(app_not_found)?;
    let client_sp = directory
        .find_service_principal(&tenant_row.id, &app.app_id)
        .await
        .map_err(internal)?
        .ok_or_else(app_not_found)?;
    if app.tenant_id.is_none() {
        return Err(app_not_found());
    }

    // Client authentication.
    if form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some() {
        if app.is_public_client {
            return Err(AadError::new(
                ErrorCode::PublicClientWithCredential,
                "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            ));
        }
        return Err(AadError::new(
            ErrorCode::ClientAssertionInvalid,
            format!("Client assertion failed signature validation: application '{}' has no certificate credential.", app.app_id),
        ));
    }
    if app.is_public_client {
        return Err(AadError::new(
            ErrorCode::PublicClientWithCredential,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        ));
    }
    let secret = presented_secret.ok_or_else(|| {
        AadError::new(
            ErrorCode::MissingClientCredential,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    })?;
    match directory.check_client_secret(&app, &secret).await.map_err(internal)? {
        SecretCheck::Valid(_) => {}
        SecretCheck::Expired(_) => {
            return Err(AadError::new(
                ErrorCode::ClientSecretExpired,
                format!(
                    "The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for your app: \
                     https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
                    app.app_id
                ),
            ))
        }
        SecretCheck::Invalid => {
            return Err(AadError::new(
                ErrorCode::InvalidClientSecret,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the \
                     client secret ID, for a secret added to app '{}'.",
                    app.app_id
                ),
            ))
        }
    }

    let resource = resolve_resource(
        authority,
        &tenant_row.id,
        &tenant_row.display_name,
        &resource_name,
    )
    .await?;
    let roles = directory
        .granted_roles(&tenant_row.id, &client_sp.id, &resource.app)
        .await
        .map_err(internal)?;

    // Mint.
    let now = authority.clock().now().unix_timestamp();
    let lifetime = rand::thread_rng().gen_range(LIFETIME_SECONDS.0..=LIFETIME_SECONDS.1);
    let exp = now + lifetime;
    let tid = &tenant_row.id;
    let v2_token = resource.app.issues_v2_access_tokens();
    let mut claims = Map::new();
    if v2_token {
        claims.insert("aud".into(), json!(resource.app.app_id));
        claims.insert(
            "iss".into(),
            json!(format!("https://login.microsoftonline.com/{tid}/v2.0")),
        );
    } else {
        claims.insert("aud".into(), json!(resource.audience));
        claims.insert(
            "iss".into(),
            json!(format!("https://sts.windows.net/{tid}/")),
        );
    }
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("exp".into(), json!(exp));
    claims.insert("aio".into(), json!(opaque(48)));
    if v2_token {
        claims.insert("azp".into(), json!(app.app_id));
        claims.insert("azpacr".into(), json!("1"));
    } else {
        claims.insert("appid".into(), json!(app.app_id));
        claims.insert("appidacr".into(), json!("1"));
        claims.insert(
            "idp".into(),
            json!(format!("https://sts.windows.net/{tid}/")),
        );
    }
    claims.insert("idtyp".into(), json!("app"));
    claims.insert("oid".into(), json!(client_sp.id));
    claims.insert("rh".into(), json!(format!("0.{}.", opaque(40))));
    if !roles.is_empty() {
        claims.insert("roles".into(), json!(roles));
    }
    claims.insert("sub".into(), json!(client_sp.id));
    claims.insert("tid".into(), json!(tid));
    claims.insert("uti".into(), json!(opaque(16)));
    claims.insert("ver".into(), json!(if v2_token { "2.0" } else { "1.0" }));
    let access_token = authority
        .keys()
        .sign(!v2_token, &Value::Object(claims))
        .map_err(internal)?;

    let mut response = match version {
        EndpointVersion::V2 => axum::Json(V2Response {
            token_type: "Bearer",
            expires_in: lifetime,
            ext_expires_in: lifetime,
            access_token,
        })
        .into_response(),
        EndpointVersion::V1 => axum::Json(V1Response {
            token_type: "Bearer",
            expires_in: lifetime.to_string(),
            ext_expires_in: lifetime.to_string(),
            expires_on: exp.to_string(),
            not_before: now.to_string(),
            resource: resource.as_requested,
            access_token,
        })
        .into_response(),
    };
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
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_must_be_default_and_single_resource() {
        assert_eq!(
            resource_from_scope("https://api.security.microsoft.com/.default").unwrap(),
            "https://api.security.microsoft.com"
        );
        assert_eq!(
            resource_from_scope("https://api.security.microsoft.com/.default openid https://api.security.microsoft.com//.default").unwrap(),
            "https://api.security.microsoft.com"
        );
        assert_eq!(
            resource_from_scope("https://x/Incident.Read")
                .unwrap_err()
                .code,
            ErrorCode::ScopeNotDefault
        );
        assert_eq!(
            resource_from_scope("https://a/.default https://b/.default")
                .unwrap_err()
                .code,
            ErrorCode::MultipleResources
        );
        assert_eq!(
            resource_from_scope("openid").unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }

    #[test]
    fn malformed_forms_are_detected() {
        assert!(is_well_formed_form(b"a=b&c=d%20e+f"));
        assert!(is_well_formed_form(b""));
        assert!(!is_well_formed_form(b"a=%zz"));
        assert!(!is_well_formed_form(b"a=%4"));
        assert!(!is_well_formed_form(b"a=%ff%fe"));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let v = STANDARD.encode("abc:s%2Bcret~x");
        h.insert(
            "authorization",
            HeaderValue::from_str(&format!("Basic {v}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&h).unwrap(),
            Some(("abc".into(), "s+cret~x".into()))
        );
        h.insert("authorization", HeaderValue::from_static("Basic !!!"));
        assert!(basic_credentials(&h).is_err());
    }
}
