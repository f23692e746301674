//! Home realm discovery: `GET /common/userrealm/{upn}?api-version=1.0` (and 2.0), which
//! MSAL calls before a username/password sign-in to learn whether the domain is managed
//! (password checked here) or federated. Palisade's domains are all managed; any other
//! domain is `Unknown`.
//!
//! MSAL Python builds this URL from the authority's host name without its port
//! (`https://{host}/common/userrealm/…`), so against a server on another port it asks
//! port 443; `serve --host login.microsoftonline.com` on 443 needs nothing else.

use crate::Authority;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;

/// `GET /{tenant}/userrealm/{upn}`.
pub async fn user_realm(
    State(authority): State<Authority>,
    Path((_tenant, upn)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    let tenant = if domain.contains('.') {
        authority
            .directory()
            .resolve_tenant(domain)
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let v2 = q.get("api-version").is_some_and(|v| v.starts_with('2'));
    let body = match (v2, &tenant) {
        (false, Some(_)) => json!({
            "ver": "1.0",
            "account_type": "Managed",
            "domain_name": domain.to_lowercase(),
            "cloud_instance_name": "microsoftonline.com",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        }),
        (false, None) => json!({
            "ver": "1.0",
            "account_type": "Unknown",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        }),
        (true, Some(t)) => json!({
            "NameSpaceType": "Managed",
            "Login": upn,
            "DomainName": domain.to_lowercase(),
            "FederationBrandName": t.display_name,
            "TenantBrandingInfo": null,
            "cloud_instance_name": "microsoftonline.com",
        }),
        (true, None) => json!({
            "NameSpaceType": "Unknown",
            "Login": upn,
            "DomainName": domain.to_lowercase(),
            "TenantBrandingInfo": null,
            "cloud_instance_name": "microsoftonline.com",
        }),
    };
    crate::response::token_json(body).into_response()
}
