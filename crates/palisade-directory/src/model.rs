//! Application registrations as Entra models them.

use serde::{Deserialize, Serialize};

/// Who may sign in to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInAudience {
    /// Single tenant: only the home tenant.
    AzureADMyOrg,
    /// Multi-tenant: any tenant whose admin consented.
    AzureADMultipleOrgs,
}

impl SignInAudience {
    /// The Graph spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AzureADMyOrg => "AzureADMyOrg",
            Self::AzureADMultipleOrgs => "AzureADMultipleOrgs",
        }
    }

    /// Parses the Graph spelling (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("AzureADMyOrg") {
            Some(Self::AzureADMyOrg)
        } else if s.eq_ignore_ascii_case("AzureADMultipleOrgs") {
            Some(Self::AzureADMultipleOrgs)
        } else {
            None
        }
    }
}

/// An application permission a resource app defines (`roles` claim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    /// Role id (GUID).
    pub id: String,
    /// Claim value, e.g. `Incident.Read.All`.
    pub value: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// `["Application"]` for application permissions.
    pub allowed_member_types: Vec<String>,
    /// Whether it can be granted.
    pub is_enabled: bool,
}

/// A delegated permission a resource app defines (`scp` claim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionScope {
    /// Scope id (GUID).
    pub id: String,
    /// Claim value, e.g. `Incident.Read`.
    pub value: String,
    /// Consent display name for admins.
    pub admin_consent_display_name: String,
    /// Consent description for admins.
    pub admin_consent_description: String,
    /// Consent display name for users (shown on the consent page).
    #[serde(default)]
    pub user_consent_display_name: Option<String>,
    /// Consent description for users.
    #[serde(default)]
    pub user_consent_description: Option<String>,
    /// `Admin` (only an administrator may consent) or `User`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether it can be granted.
    pub is_enabled: bool,
}

/// One permission an app asks for on a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    /// Role or scope id.
    pub id: String,
    /// `Role` (application) or `Scope` (delegated).
    #[serde(rename = "type")]
    pub kind: String,
}

/// The permissions an app asks for on one resource (`requiredResourceAccess`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    /// The resource's client id.
    pub resource_app_id: String,
    /// The permissions.
    pub resource_access: Vec<ResourceAccess>,
}

/// The parts of a registration kept as one JSON document in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationDefinition {
    /// Web redirect URIs.
    pub web_redirect_uris: Vec<String>,
    /// Public-client (mobile/desktop) redirect URIs.
    pub public_client_redirect_uris: Vec<String>,
    /// Single-page application redirect URIs.
    pub spa_redirect_uris: Vec<String>,
    /// Permissions the app asks for.
    pub required_resource_access: Vec<RequiredResourceAccess>,
    /// Application permissions this app exposes as a resource.
    pub app_roles: Vec<AppRole>,
    /// Delegated permissions this app exposes as a resource.
    pub oauth2_permission_scopes: Vec<PermissionScope>,
    /// `api.requestedAccessTokenVersion`: `None`/1 → v1 access tokens, 2 → v2.
    pub requested_access_token_version: Option<u8>,
}

/// An application registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Object id.
    pub id: String,
    /// Client id.
    pub app_id: String,
    /// Home tenant; `None` for built-in Microsoft apps.
    pub tenant_id: Option<String>,
    /// Display name.
    pub display_name: String,
    /// Who may sign in.
    pub sign_in_audience: SignInAudience,
    /// Public client (no credentials).
    pub is_public_client: bool,
    /// Identifier URIs (normalised).
    pub identifier_uris: Vec<String>,
    /// The rest of the registration.
    pub definition: ApplicationDefinition,
    /// Unix seconds.
    pub created_at: i64,
}

impl Application {
    /// The app role with this claim value (case-insensitive, as Entra's portal search).
    pub fn app_role_by_value(&self, value: &str) -> Option<&AppRole> {
        self.definition
            .app_roles
            .iter()
            .find(|r| r.value.eq_ignore_ascii_case(value))
    }

    /// The app role with this id.
    pub fn app_role_by_id(&self, id: &str) -> Option<&AppRole> {
        self.definition
            .app_roles
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// Access tokens for this resource use the v2 format.
    pub fn issues_v2_access_tokens(&self) -> bool {
        self.definition.requested_access_token_version == Some(2)
    }
}

/// Normalises an identifier URI for lookup: trimmed, without trailing slashes, lower case.
pub fn normalize_identifier_uri(uri: &str) -> String {
    uri.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_uris_normalise_case_and_trailing_slash() {
        assert_eq!(
            normalize_identifier_uri("https://API.security.microsoft.com/"),
            "https://api.security.microsoft.com"
        );
        assert_eq!(normalize_identifier_uri("api://x"), "api://x");
    }

    #[test]
    fn sign_in_audience_round_trips() {
        for a in [
            SignInAudience::AzureADMyOrg,
            SignInAudience::AzureADMultipleOrgs,
        ] {
            assert_eq!(SignInAudience::parse(a.as_str()), Some(a));
        }
        assert_eq!(SignInAudience::parse("PersonalMicrosoftAccount"), None);
    }
}
