//! Resources and scopes: which API a request names (identifier URI, client id or
//! `api://` form), the one resource of a client-credentials `.default` scope, and the
//! parsed scope list of user flows (OIDC scopes, then `{resource}/{permission}` or
//! `{resource}/.default`; an unprefixed scope names Microsoft Graph).

use crate::error::{internal, AadError, ErrorCode};
use crate::request::app_directory;
use crate::Authority;
use palisade_directory::{AppDirectory, Application};
use uuid::Uuid;

/// The resource a request names, and how it was named.
#[derive(Debug, Clone)]
pub struct RequestedResource {
    /// The resource app.
    pub app: Application,
    /// `aud` of v1 tokens: the identifier as named (client id when named by GUID).
    pub audience: String,
    /// The resource string as the client sent it.
    pub as_requested: String,
}

/// The resource a request names, provisioned in the tenant (AADSTS500011 otherwise).
pub async fn resolve_resource(
    authority: &Authority,
    tenant_id: &str,
    tenant_name: &str,
    resource: &str,
) -> Result<RequestedResource, AadError> {
    resource_in(
        &*app_directory(authority, tenant_id, &[resource]).await?,
        tenant_id,
        tenant_name,
        resource,
    )
}

/// [`resolve_resource`] in a directory already read.
pub fn resource_in(
    directory: &dyn AppDirectory,
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
    let app = directory.resource(resource).ok_or_else(not_found)?;
    if directory
        .service_principal_id(tenant_id, &app.app_id)
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
        app: app.clone(),
        audience,
        as_requested: resource.to_string(),
    })
}

/// The one resource of a v2 client-credentials `scope`.
pub fn resource_from_scope(scope: &str) -> Result<String, AadError> {
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

/// The OpenID Connect scopes (not permissions of any resource).
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Microsoft Graph: what an unprefixed scope names (identity.md §10).
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

/// The permissions a user-flow request asks of one resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResourceRequest {
    /// The resource as named (`https://api.security.microsoft.com`, a client id, …).
    pub resource: String,
    /// `{resource}/.default` (or v1's `resource=`): every consented scope, or the
    /// registration's required ones when nothing is consented yet.
    pub default: bool,
    /// Explicit permission values, as named.
    pub scopes: Vec<String>,
}

/// A user-flow scope request: OIDC scopes and the resources, in request order (tokens are
/// for the first resource; consent covers all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScopeRequest {
    /// `openid`: an ID token.
    pub openid: bool,
    /// `profile`.
    pub profile: bool,
    /// `email`.
    pub email: bool,
    /// `offline_access`: a refresh token.
    pub offline_access: bool,
    /// The resources.
    pub resources: Vec<ResourceRequest>,
}

impl ScopeRequest {
    /// Parses a v2 `scope` parameter.
    pub fn parse_v2(scope: &str) -> Result<Self, AadError> {
        let mut out = ScopeRequest::default();
        for s in scope.split([' ', '+']).filter(|s| !s.is_empty()) {
            match s {
                "openid" => out.openid = true,
                "profile" => out.profile = true,
                "email" => out.email = true,
                "offline_access" => out.offline_access = true,
                _ => {
                    let (resource, permission) = match s.rsplit_once('/') {
                        Some((r, p)) if !r.is_empty() && !p.is_empty() => (r.to_string(), p),
                        Some(_) => return Err(invalid_scope(scope)),
                        None => (GRAPH_RESOURCE.to_string(), s),
                    };
                    let key = palisade_directory::normalize_identifier_uri(&resource);
                    let pos = match out.resources.iter().position(|r| {
                        palisade_directory::normalize_identifier_uri(&r.resource) == key
                    }) {
                        Some(p) => p,
                        None => {
                            out.resources.push(ResourceRequest {
                                resource: resource.trim_end_matches('/').to_string(),
                                default: false,
                                scopes: Vec::new(),
                            });
                            out.resources.len() - 1
                        }
                    };
                    let entry = &mut out.resources[pos];
                    if permission == ".default" {
                        entry.default = true;
                    } else if !entry
                        .scopes
                        .iter()
                        .any(|x| x.eq_ignore_ascii_case(permission))
                    {
                        entry.scopes.push(permission.to_string());
                    }
                    if entry.default && !entry.scopes.is_empty() {
                        return Err(AadError::new(
                            ErrorCode::InvalidScope,
                            format!(
                                "The provided value for the input parameter 'scope' is not valid. The scope {scope} mixes \
                                 '{}/.default' with other scopes of the same resource.",
                                entry.resource
                            ),
                        ));
                    }
                }
            }
        }
        Ok(out)
    }

    /// A v1 request: `resource=` (≡ `.default`), with an ID token and a refresh token as
    /// v1 always returns them for user flows.
    pub fn v1(resource: &str) -> Self {
        ScopeRequest {
            openid: true,
            profile: true,
            email: false,
            offline_access: true,
            resources: vec![ResourceRequest {
                resource: resource.trim().trim_end_matches('/').to_string(),
                default: true,
                scopes: Vec::new(),
            }],
        }
    }

    /// The OIDC scopes requested, space-separated (for the v2 response's `scope`).
    pub fn oidc_scopes(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.openid {
            v.push("openid");
        }
        if self.profile {
            v.push("profile");
        }
        if self.email {
            v.push("email");
        }
        v
    }
}

fn invalid_scope(scope: &str) -> AadError {
    AadError::new(
        ErrorCode::InvalidScope,
        format!("The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."),
    )
}

/// A resource of a user-flow request, resolved in a tenant, with its explicit scopes in
/// their canonical spelling.
#[derive(Debug, Clone)]
pub struct ResolvedResource {
    /// The resource and its audience.
    pub resource: RequestedResource,
    /// `.default`.
    pub default: bool,
    /// Explicit scopes, canonical.
    pub scopes: Vec<String>,
}

/// Resolves each resource of `request` in the tenant: unknown resources are AADSTS500011,
/// unknown permissions AADSTS70011.
pub async fn resolve_scopes(
    authority: &Authority,
    tenant_id: &str,
    tenant_name: &str,
    request: &ScopeRequest,
) -> Result<Vec<ResolvedResource>, AadError> {
    let mut out = Vec::new();
    for r in &request.resources {
        let resource = resolve_resource(authority, tenant_id, tenant_name, &r.resource).await?;
        let scopes = palisade_directory::Directory::canonical_scopes(&resource.app, &r.scopes)
            .map_err(|_| {
                AadError::new(
                    ErrorCode::InvalidScope,
                    format!(
                        "The provided value for the input parameter 'scope' is not valid. One or more scopes in '{}' are not \
                         compatible with each other or do not exist on the resource {}.",
                        r.scopes.join(" "),
                        r.resource
                    ),
                )
            })?;
        out.push(ResolvedResource {
            resource,
            default: r.default,
            scopes,
        });
    }
    Ok(out)
}

/// Where consent stands for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consent {
    /// Consented: the scopes the token carries (every consented scope of the resource).
    Granted(Vec<String>),
    /// These scopes still need consent.
    Missing(Vec<String>),
}

/// Evaluates consent of `user_id` for `client` on one resolved resource.
pub async fn evaluate_consent(
    authority: &Authority,
    tenant_id: &str,
    client: &Application,
    user_id: &str,
    r: &ResolvedResource,
) -> Result<Consent, AadError> {
    let consented = authority
        .directory()
        .consented_scopes(tenant_id, &client.app_id, &r.resource.app, user_id)
        .await
        .map_err(internal)?;
    if r.default {
        if !consented.is_empty() {
            return Ok(Consent::Granted(consented));
        }
        let required = palisade_directory::Directory::required_scopes(client, &r.resource.app);
        if required.is_empty() {
            return Err(AadError::new(
                ErrorCode::ResourceNotRequired,
                format!(
                    "Invalid resource. The client has requested access to a resource which isn't listed in the requested permissions \
                     in the client's application registration. Client app ID: {}({}). Resource value from request: {}.",
                    client.app_id, client.display_name, r.resource.as_requested
                ),
            ));
        }
        return Ok(Consent::Missing(required));
    }
    let missing: Vec<String> = r
        .scopes
        .iter()
        .filter(|s| !consented.contains(s))
        .cloned()
        .collect();
    Ok(if missing.is_empty() {
        Consent::Granted(consented)
    } else {
        Consent::Missing(missing)
    })
}

/// The AADSTS65001 of a token request that needs consent it cannot ask for.
pub fn consent_required(client: &Application, user_upn: &str) -> AadError {
    AadError::new(
        ErrorCode::ConsentRequired,
        format!(
            "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive \
             authorization request for this user and resource. (user {user_upn})",
            client.app_id, client.display_name
        ),
    )
}

#[cfg(test)]
mod scope_tests {
    use super::*;

    #[test]
    fn v2_scopes_group_by_resource() {
        let r = ScopeRequest::parse_v2(
            "openid profile offline_access https://api.security.microsoft.com/Incident.Read https://api.security.microsoft.com/AdvancedHunting.Read User.Read",
        )
        .unwrap();
        assert!(r.openid && r.profile && r.offline_access && !r.email);
        assert_eq!(r.resources.len(), 2);
        assert_eq!(
            r.resources[0].resource,
            "https://api.security.microsoft.com"
        );
        assert_eq!(
            r.resources[0].scopes,
            ["Incident.Read", "AdvancedHunting.Read"]
        );
        assert_eq!(r.resources[1].resource, GRAPH_RESOURCE);
        let d = ScopeRequest::parse_v2("https://security.microsoft.com/mtp//.default").unwrap();
        assert!(d.resources[0].default);
        assert_eq!(
            d.resources[0].resource,
            "https://security.microsoft.com/mtp"
        );
        assert_eq!(
            ScopeRequest::parse_v2("https://x/.default https://x/Read")
                .unwrap_err()
                .code,
            ErrorCode::InvalidScope
        );
        assert!(ScopeRequest::parse_v2("/Read").is_err());
        assert!(ScopeRequest::parse_v2("openid")
            .unwrap()
            .resources
            .is_empty());
    }
}

#[cfg(test)]
mod cc_scope_tests {
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
}
