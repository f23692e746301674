//! Metadata documents: OpenID configuration (v1 and v2), JWKS, instance discovery.
//!
//! Endpoint URLs point at the host the client used (its `Host` header) and echo the tenant
//! segment it used, as Entra's do; issuers are Entra's own (identity.md §3).

use crate::error::{AadError, ErrorCode};
use crate::Authority;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The Microsoft consumer (MSA) tenant.
pub const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

const ALIASES: [&str; 3] = ["common", "organizations", "consumers"];

/// The request's host, if it is a plausible host name (never echo arbitrary bytes).
pub(crate) fn request_host(headers: &HeaderMap) -> String {
    headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost")
        .to_ascii_lowercase()
}

fn metadata(body: Value) -> Response {
    let mut response = axum::Json(body).into_response();
    let h = response.headers_mut();
    h.insert(
        "cache-control",
        HeaderValue::from_static("max-age=86400, private"),
    );
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, OPTIONS"),
    );
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn error(authority: &Authority, e: AadError) -> Response {
    e.with_context(None, authority.clock().now())
        .into_response()
}

/// The concrete tenant id of a path segment, or the issuer template for an alias.
async fn tenant_for_issuer(
    authority: &Authority,
    tenant: &str,
) -> Result<Option<String>, AadError> {
    if ALIASES.iter().any(|a| tenant.eq_ignore_ascii_case(a)) {
        return Ok(if tenant.eq_ignore_ascii_case("consumers") {
            Some(CONSUMERS_TENANT_ID.into())
        } else {
            None
        });
    }
    match authority.directory().resolve_tenant(tenant).await {
        Ok(Some(t)) => Ok(Some(t.id)),
        Ok(None) => Err(AadError::tenant_not_found(tenant)),
        Err(e) => {
            tracing::error!(error = %e, "discovery failure");
            Err(AadError::new(
                ErrorCode::ServerError,
                "An internal error occurred.",
            ))
        }
    }
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_configuration_v2(
    State(a): State<Authority>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tid = match tenant_for_issuer(&a, &tenant).await {
        Ok(t) => t,
        Err(e) => return error(&a, e),
    };
    let base = format!(
        "{}://{}/{}",
        a.settings().scheme,
        request_host(&headers),
        tenant
    );
    let issuer = format!(
        "https://login.microsoftonline.com/{}/v2.0",
        tid.as_deref().unwrap_or("{tenantid}")
    );
    metadata(json!({
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "claims_supported": ["sub","iss","cloud_instance_name","cloud_instance_host_name","cloud_graph_host_name","msgraph_host","aud","exp","iat","auth_time","acr","nonce","preferred_username","name","tid","ver","at_hash","c_hash","email"],
        "kerberos_endpoint": format!("{base}/kerberos"),
        "tenant_region_scope": if tid.is_some() { json!("WW") } else { Value::Null },
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }))
}

/// `GET /{tenant}/.well-known/openid-configuration`.
pub async fn openid_configuration_v1(
    State(a): State<Authority>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tid = match tenant_for_issuer(&a, &tenant).await {
        Ok(t) => t,
        Err(e) => return error(&a, e),
    };
    let base = format!(
        "{}://{}/{}",
        a.settings().scheme,
        request_host(&headers),
        tenant
    );
    let issuer = format!(
        "https://sts.windows.net/{}/",
        tid.as_deref().unwrap_or("{tenantid}")
    );
    metadata(json!({
        "token_endpoint": format!("{base}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": issuer,
        "microsoft_multi_refresh_token": true,
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/oauth2/logout"),
        "claims_supported": ["sub","iss","cloud_instance_name","cloud_instance_host_name","cloud_graph_host_name","msgraph_host","aud","exp","iat","auth_time","acr","amr","nonce","email","given_name","family_name","nickname"],
        "check_session_iframe": format!("{base}/oauth2/checksession"),
        "userinfo_endpoint": format!("{base}/openid/userinfo"),
        "kerberos_endpoint": format!("{base}/kerberos"),
        "tenant_region_scope": if tid.is_some() { json!("WW") } else { Value::Null },
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }))
}

fn jwks(a: &Authority, with_issuer: bool) -> Response {
    let keys: Vec<Value> = a
        .keys()
        .published_keys()
        .into_iter()
        .map(|k| {
            let mut v = json!({"kty": "RSA", "use": "sig", "kid": k.kid, "x5t": k.kid, "n": k.n, "e": k.e, "x5c": [k.x5c]});
            if with_issuer {
                v["issuer"] = json!("https://login.microsoftonline.com/{tenantid}/v2.0");
            }
            v
        })
        .collect();
    metadata(json!({ "keys": keys }))
}

async fn jwks_for(a: Authority, tenant: &str, with_issuer: bool) -> Response {
    match tenant_for_issuer(&a, tenant).await {
        Ok(_) => jwks(&a, with_issuer),
        Err(e) => error(&a, e),
    }
}

/// `GET /{tenant}/discovery/keys`.
pub async fn jwks_v1(State(a): State<Authority>, Path(tenant): Path<String>) -> Response {
    jwks_for(a, &tenant, false).await
}

/// `GET /{tenant}/discovery/v2.0/keys`.
pub async fn jwks_v2(State(a): State<Authority>, Path(tenant): Path<String>) -> Response {
    jwks_for(a, &tenant, true).await
}

/// `GET /discovery/keys`.
pub async fn jwks_v1_common(State(a): State<Authority>) -> Response {
    jwks(&a, false)
}

/// `GET /discovery/v2.0/keys`.
pub async fn jwks_v2_common(State(a): State<Authority>) -> Response {
    jwks(&a, true)
}

/// Microsoft's public clouds as instance discovery lists them.
fn microsoft_clouds() -> Vec<Value> {
    vec![
        json!({"preferred_network":"login.microsoftonline.com","preferred_cache":"login.windows.net",
               "aliases":["login.microsoftonline.com","login.windows.net","login.microsoft.com","sts.windows.net"]}),
        json!({"preferred_network":"login.partner.microsoftonline.cn","preferred_cache":"login.partner.microsoftonline.cn",
               "aliases":["login.partner.microsoftonline.cn","login.chinacloudapi.cn"]}),
        json!({"preferred_network":"login.microsoftonline.de","preferred_cache":"login.microsoftonline.de","aliases":["login.microsoftonline.de"]}),
        json!({"preferred_network":"login.microsoftonline.us","preferred_cache":"login.microsoftonline.us",
               "aliases":["login.microsoftonline.us","login.usgovcloudapi.net"]}),
        json!({"preferred_network":"login-us.microsoftonline.com","preferred_cache":"login-us.microsoftonline.com",
               "aliases":["login-us.microsoftonline.com"]}),
    ]
}

/// `GET /common/discovery/instance?api-version=1.1&authorization_endpoint=…`: MSAL's
/// authority validation. Palisade's own host names are valid instances (each its own
/// cloud, listed first), and so are Microsoft's, for clients pointed at Palisade by a
/// hosts-file entry.
pub async fn instance_discovery(
    State(a): State<Authority>,
    Path(_tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(endpoint) = q.get("authorization_endpoint") else {
        return error(
            &a,
            AadError::new(
                ErrorCode::MalformedDiscovery,
                "The 'authorization_endpoint' parameter is required.",
            ),
        );
    };
    let parsed = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .and_then(|rest| rest.split_once('/'))
        .map(|(host, path)| {
            (
                host.to_ascii_lowercase(),
                path.split('/').next().unwrap_or("common").to_string(),
            )
        });
    let Some((host, tenant)) = parsed else {
        return error(
            &a,
            AadError::new(
                ErrorCode::MalformedDiscovery,
                "Malformed instance discovery request.",
            ),
        );
    };
    let own = request_host(&headers);
    let ours = host == own
        || a.settings()
            .known_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host));
    let clouds = microsoft_clouds();
    let microsoft = clouds.iter().any(|c| {
        c["aliases"]
            .as_array()
            .is_some_and(|al| al.iter().any(|x| x.as_str() == Some(host.as_str())))
    });
    if !ours && !microsoft {
        return error(
            &a,
            AadError::new(
                ErrorCode::UnknownInstance,
                format!(
                    "Unknown or invalid instance. The authority host '{host}' is not served here."
                ),
            ),
        );
    }
    let mut metadata_entries = Vec::new();
    if ours {
        metadata_entries
            .push(json!({"preferred_network": host, "preferred_cache": host, "aliases": [host]}));
    }
    metadata_entries.extend(clouds);
    metadata(json!({
        "tenant_discovery_endpoint": format!("https://{host}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": q.get("api-version").map(String::as_str).unwrap_or("1.1"),
        "metadata": metadata_entries,
    }))
}
