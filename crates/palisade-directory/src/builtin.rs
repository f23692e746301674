//! Built-in, Microsoft-owned resource applications present in every tenant.
//!
//! *Microsoft Threat Protection* is the Defender XDR API's resource app; its id, identifier
//! URIs, roles and scopes are those of `shared/spec/defender-api.md` §2–§3.
//! *WindowsDefenderATP* (Defender for Endpoint) is registered too because the Defender
//! docs' own samples request tokens for it (identity of the curl sample in
//! `api-partner-access`); its permission catalogue is not in our spec, so it defines no roles
//! yet and its tokens carry none [inferred].
//!
//! The Defender delegated scopes are of type `User` (a user may consent to them for
//! themselves) [inferred: the issue asks for user consent on the consent page; the docs
//! tell admins to grant consent, which Palisade supports too].

use crate::model::{AppRole, ApplicationDefinition, PermissionScope};

/// The Microsoft Threat Protection (Defender XDR API) app id.
pub const MTP_APP_ID: &str = "8ee8fdad-f234-4243-8f3b-15c294843740";
/// Its display name, as the portal's permission search finds it.
pub const MTP_DISPLAY_NAME: &str = "Microsoft Threat Protection";
/// The WindowsDefenderATP (Defender for Endpoint API) app id.
pub const MDE_APP_ID: &str = "fc780465-2017-40d4-a0c5-307022471b92";
/// The tenant that owns Microsoft's first-party apps (`appOwnerOrganizationId`).
pub const MICROSOFT_SERVICES_TENANT_ID: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

/// A built-in resource app.
#[derive(Debug, Clone)]
pub struct BuiltinApp {
    /// Fixed object id of the registration.
    pub object_id: &'static str,
    /// Client id.
    pub app_id: &'static str,
    /// Display name.
    pub display_name: &'static str,
    /// Identifier URIs.
    pub identifier_uris: &'static [&'static str],
    /// Roles and scopes.
    pub definition: ApplicationDefinition,
}

fn role(id: &str, value: &str, name: &str) -> AppRole {
    AppRole {
        id: id.into(),
        value: value.into(),
        display_name: name.into(),
        description: name.into(),
        allowed_member_types: vec!["Application".into()],
        is_enabled: true,
    }
}

fn scope(id: &str, value: &str, name: &str, description: &str) -> PermissionScope {
    PermissionScope {
        id: id.into(),
        value: value.into(),
        admin_consent_display_name: name.into(),
        admin_consent_description: format!(
            "Allows the app to {description} on behalf of the signed-in user."
        ),
        user_consent_display_name: Some(name.into()),
        user_consent_description: Some(format!("Allows the app to {description} on your behalf.")),
        kind: "User".into(),
        is_enabled: true,
    }
}

/// Every built-in resource app.
pub fn builtin_apps() -> Vec<BuiltinApp> {
    vec![
        BuiltinApp {
            object_id: "5c6e3d51-2bde-4c54-9d47-3d9a8f0d5c01",
            app_id: MTP_APP_ID,
            display_name: MTP_DISPLAY_NAME,
            identifier_uris: &[
                "https://api.security.microsoft.com",
                "https://security.microsoft.com/mtp",
            ],
            definition: ApplicationDefinition {
                app_roles: vec![
                    role(
                        "a9790345-4595-42e4-971a-ccdc79f19b7c",
                        "Incident.Read.All",
                        "Read all incidents",
                    ),
                    role(
                        "8d90f441-09cf-4fdc-ab45-e874fa3a28e8",
                        "Incident.ReadWrite.All",
                        "Read and write all incidents",
                    ),
                    role(
                        "7734e8e5-8dde-42fc-b5ae-6eafea078693",
                        "AdvancedHunting.Read.All",
                        "Run advanced queries",
                    ),
                    role(
                        "a7deff90-e2f5-4e4e-83a3-2c74e7002e28",
                        "CustomDetections.ReadWrite.All",
                        "Read and write all custom detection rules",
                    ),
                ],
                oauth2_permission_scopes: vec![
                    scope(
                        "12c153a4-4204-4224-aa3c-4626e2f47c2b",
                        "Incident.Read",
                        "Read incidents",
                        "read the Microsoft Defender XDR incidents you can see",
                    ),
                    scope(
                        "2af415cc-88cf-4146-a0c8-444c3a80d5db",
                        "Incident.ReadWrite",
                        "Read and write incidents",
                        "read and update the Microsoft Defender XDR incidents you can see",
                    ),
                    scope(
                        "15f11de4-5113-4268-a2d1-0bad43d781f9",
                        "AdvancedHunting.Read",
                        "Run advanced queries",
                        "run advanced hunting queries over the data you can see",
                    ),
                    scope(
                        "ddbb8d0c-c86b-4ece-bcb7-0f031a9cf103",
                        "CustomDetections.ReadWrite",
                        "Read and write custom detection rules",
                        "read and write custom detection rules",
                    ),
                ],
                ..Default::default()
            },
        },
        BuiltinApp {
            object_id: "5c6e3d51-2bde-4c54-9d47-3d9a8f0d5c02",
            app_id: MDE_APP_ID,
            display_name: "WindowsDefenderATP",
            identifier_uris: &[
                "https://securitycenter.onmicrosoft.com/windowsatpservice",
                "https://api.securitycenter.microsoft.com",
                "https://api.securitycenter.windows.com",
            ],
            definition: ApplicationDefinition::default(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtp_exposes_the_documented_permissions() {
        let apps = builtin_apps();
        let mtp = apps
            .iter()
            .find(|a| a.app_id == MTP_APP_ID)
            .expect("MTP is built in");
        let roles: Vec<_> = mtp
            .definition
            .app_roles
            .iter()
            .map(|r| r.value.as_str())
            .collect();
        assert_eq!(
            roles,
            [
                "Incident.Read.All",
                "Incident.ReadWrite.All",
                "AdvancedHunting.Read.All",
                "CustomDetections.ReadWrite.All"
            ]
        );
        assert_eq!(mtp.definition.oauth2_permission_scopes.len(), 4);
    }
}
