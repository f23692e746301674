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
/// The Microsoft Graph app id.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Its display name.
pub const GRAPH_DISPLAY_NAME: &str = "Microsoft Graph";
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

/// Microsoft Graph's permissions that Palisade serves (graph.md §9, from Microsoft's
/// devx-content provisioningInfo.json): `(value, app role id, delegated scope id, what it
/// allows)`. Every delegated one but `User.Read` needs admin consent.
pub const GRAPH_PERMISSIONS: &[(&str, Option<&str>, Option<&str>, &str)] = &[
    (
        "SecurityIncident.Read.All",
        Some("45cc0394-e837-488b-a098-1918f48d186c"),
        Some("b9abcc4f-94fc-4457-9141-d20ce80ec952"),
        "read all security incidents",
    ),
    (
        "SecurityIncident.ReadWrite.All",
        Some("34bf0e97-1971-4929-b999-9e2442d941d7"),
        Some("128ca929-1a19-45e6-a3b8-435ec44a36ba"),
        "read and update all security incidents",
    ),
    (
        "SecurityAlert.Read.All",
        Some("472e4a4d-bb4a-4026-98d1-0b0d74cb74a5"),
        Some("bc257fb8-46b4-4b15-8713-01e91bfbe4ea"),
        "read all security alerts",
    ),
    (
        "SecurityAlert.ReadWrite.All",
        Some("ed4fca05-be46-441f-9803-1873825f8fdb"),
        Some("471f2a7f-2a42-4d45-a2bf-594d0838070d"),
        "read and update all security alerts",
    ),
    (
        "ThreatHunting.Read.All",
        Some("dd98c7f5-2d42-42d3-a0e4-633161547251"),
        Some("b152eca8-ea73-4a48-8c98-1a6742673d99"),
        "run hunting queries",
    ),
    (
        "Application.ReadWrite.All",
        Some("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"),
        Some("bdfbf15f-ee85-4955-8675-146e8e5296b5"),
        "create, read, update and delete applications and service principals",
    ),
    (
        "Application.ReadWrite.OwnedBy",
        Some("18a4783c-866b-4cc7-a460-3d5e5662c884"),
        None,
        "manage the applications it owns",
    ),
    (
        "Application.Read.All",
        Some("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"),
        Some("c79f8feb-a9db-4090-85f9-90d820caa0eb"),
        "read all applications and service principals",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        Some("06b708a9-e830-4db3-a914-8e69da51d44f"),
        Some("84bccea3-f856-4a8a-967b-dbe0a3d53a64"),
        "manage app role assignments",
    ),
    (
        "DelegatedPermissionGrant.ReadWrite.All",
        Some("8e8e4742-1d95-4f68-9d56-6ee75648c72a"),
        Some("41ce6ca6-6826-4807-84f1-1c82854f7ee5"),
        "manage delegated permission grants",
    ),
    (
        "User.ReadWrite.All",
        Some("741f803b-c850-494e-b5df-cde7c675a1ca"),
        Some("204e0828-b5ca-4ad8-b9f3-f32a958e7cc4"),
        "read and write all users' full profiles",
    ),
    (
        "User.Read.All",
        Some("df021288-bdef-4463-88db-98f22de89214"),
        Some("a154be20-db9c-4678-8ab7-66f6cc099a59"),
        "read all users' full profiles",
    ),
    (
        "User.Read",
        None,
        Some("e1fe6dd8-ba31-4d61-89e7-88639da4683d"),
        "sign you in and read your profile",
    ),
    (
        "Directory.Read.All",
        Some("7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
        Some("06da0dbc-49e2-44d2-8312-53f166ab848a"),
        "read directory data",
    ),
    (
        "Directory.ReadWrite.All",
        Some("19dbc75e-c2e2-444c-a770-ec69d8559fc7"),
        Some("c5366453-9fb0-48a5-a156-24f0c49a4b84"),
        "read and write directory data",
    ),
    (
        "RoleManagement.ReadWrite.Directory",
        Some("9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8"),
        Some("d01b97e9-cbc0-49fe-810a-750afd5527a3"),
        "read and write the role management data of the directory",
    ),
    (
        "Organization.Read.All",
        Some("498476ce-e0fe-48b0-b801-37ba7e2685c6"),
        Some("4908d5b9-3fb2-4b1e-9336-1888b7937185"),
        "read organization information",
    ),
    (
        "SecurityEvents.Read.All",
        Some("bf394140-e372-4bf9-a898-299cfc7564e5"),
        Some("64733abd-851e-478a-bffb-e47a14b18235"),
        "read your organization's security events",
    ),
];

fn graph_definition() -> ApplicationDefinition {
    let mut def = ApplicationDefinition::default();
    for (value, role_id, scope_id, what) in GRAPH_PERMISSIONS {
        if let Some(id) = role_id {
            def.app_roles.push(AppRole {
                description: format!("Allows the app to {what} without a signed-in user."),
                ..role(id, value, value)
            });
        }
        if let Some(id) = scope_id {
            let mut s = scope(id, value, value, what);
            if *value != "User.Read" {
                s.kind = "Admin".into();
            }
            def.oauth2_permission_scopes.push(s);
        }
    }
    def
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
        BuiltinApp {
            object_id: "5c6e3d51-2bde-4c54-9d47-3d9a8f0d5c03",
            app_id: GRAPH_APP_ID,
            display_name: GRAPH_DISPLAY_NAME,
            identifier_uris: &[
                "https://graph.microsoft.com",
                "https://canary.graph.microsoft.com",
                "https://ags.windows.net",
            ],
            definition: graph_definition(),
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

    #[test]
    fn graph_carries_the_security_and_directory_permissions() {
        let apps = builtin_apps();
        let graph = apps
            .iter()
            .find(|a| a.app_id == GRAPH_APP_ID)
            .expect("Graph");
        let role = |v: &str| {
            graph
                .definition
                .app_roles
                .iter()
                .find(|r| r.value == v)
                .map(|r| r.id.clone())
        };
        assert_eq!(
            role("SecurityIncident.Read.All").as_deref(),
            Some("45cc0394-e837-488b-a098-1918f48d186c")
        );
        assert_eq!(
            role("ThreatHunting.Read.All").as_deref(),
            Some("dd98c7f5-2d42-42d3-a0e4-633161547251")
        );
        assert!(role("User.Read").is_none());
        let user_read = graph
            .definition
            .oauth2_permission_scopes
            .iter()
            .find(|s| s.value == "User.Read")
            .expect("User.Read");
        assert_eq!(user_read.kind, "User");
        assert!(graph
            .definition
            .oauth2_permission_scopes
            .iter()
            .filter(|s| s.value != "User.Read")
            .all(|s| s.kind == "Admin"));
    }
}
