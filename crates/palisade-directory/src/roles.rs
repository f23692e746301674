//! Directory roles (Entra built-in role templates, with their real template ids, which go
//! into the `wids` claim) and what each allows in Microsoft Defender XDR.
//!
//! "If you can do it in the portal you can do it in the API": a delegated call needs the
//! token's scope *and* one of the user's rights here. The mapping follows Defender XDR's
//! Entra-role access [inferred from the Defender docs' role tables]: every security-reading
//! role may *view data* (read incidents, run advanced hunting); Global Administrator,
//! Security Administrator and Security Operator may also *manage incidents* (update them).
//! Adding a role is one entry in [`builtin_roles`].

/// A right in Microsoft Defender XDR that a directory role grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DefenderRight {
    /// Read incidents and run advanced hunting.
    ViewData,
    /// Update incidents.
    ManageIncidents,
}

impl DefenderRight {
    /// The name shown in errors and by `whoami`.
    pub fn display_name(self) -> &'static str {
        match self {
            DefenderRight::ViewData => "View data",
            DefenderRight::ManageIncidents => "Manage incidents",
        }
    }

    /// The roles that grant this right, by display name.
    pub fn granted_by(self) -> Vec<&'static str> {
        builtin_roles()
            .iter()
            .filter(|r| r.defender_rights.contains(&self))
            .map(|r| r.display_name)
            .collect()
    }
}

/// A built-in directory role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRole {
    /// Role template id (`roleDefinitionId`, the value in `wids`).
    pub template_id: &'static str,
    /// Display name.
    pub display_name: &'static str,
    /// Description.
    pub description: &'static str,
    /// What it allows in Defender XDR.
    pub defender_rights: &'static [DefenderRight],
}

/// Global Administrator's template id.
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
/// Security Administrator's template id.
pub const SECURITY_ADMINISTRATOR: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";
/// Security Operator's template id.
pub const SECURITY_OPERATOR: &str = "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f";
/// Security Reader's template id.
pub const SECURITY_READER: &str = "5d6b6bb7-de71-4623-b4af-96380a352509";
/// Global Reader's template id.
pub const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
/// Privileged Role Administrator's template id.
pub const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
/// Cloud Application Administrator's template id.
pub const CLOUD_APPLICATION_ADMINISTRATOR: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
/// Application Administrator's template id.
pub const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
/// User Administrator's template id.
pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";

/// The roles that may grant tenant-wide admin consent to application permissions (app
/// roles): Entra's Global Administrator, Privileged Role Administrator, Cloud Application
/// Administrator and Application Administrator.
pub const APP_CONSENT_ROLES: [&str; 4] = [
    GLOBAL_ADMINISTRATOR,
    PRIVILEGED_ROLE_ADMINISTRATOR,
    CLOUD_APPLICATION_ADMINISTRATOR,
    APPLICATION_ADMINISTRATOR,
];

const READ: &[DefenderRight] = &[DefenderRight::ViewData];
const MANAGE: &[DefenderRight] = &[DefenderRight::ViewData, DefenderRight::ManageIncidents];

/// The role catalogue.
pub fn builtin_roles() -> &'static [DirectoryRole] {
    &[
        DirectoryRole {
            template_id: GLOBAL_ADMINISTRATOR,
            display_name: "Global Administrator",
            description: "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
            defender_rights: MANAGE,
        },
        DirectoryRole {
            template_id: SECURITY_ADMINISTRATOR,
            display_name: "Security Administrator",
            description: "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.",
            defender_rights: MANAGE,
        },
        DirectoryRole {
            template_id: SECURITY_OPERATOR,
            display_name: "Security Operator",
            description: "Creates and manages security events.",
            defender_rights: MANAGE,
        },
        DirectoryRole {
            template_id: SECURITY_READER,
            display_name: "Security Reader",
            description: "Can read security information and reports in Microsoft Entra ID and Office 365.",
            defender_rights: READ,
        },
        DirectoryRole {
            template_id: GLOBAL_READER,
            display_name: "Global Reader",
            description: "Can read everything that a Global Administrator can, but not update anything.",
            defender_rights: READ,
        },
        DirectoryRole {
            template_id: PRIVILEGED_ROLE_ADMINISTRATOR,
            display_name: "Privileged Role Administrator",
            description: "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
            defender_rights: &[],
        },
        DirectoryRole {
            template_id: CLOUD_APPLICATION_ADMINISTRATOR,
            display_name: "Cloud Application Administrator",
            description: "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.",
            defender_rights: &[],
        },
        DirectoryRole {
            template_id: APPLICATION_ADMINISTRATOR,
            display_name: "Application Administrator",
            description: "Can create and manage all aspects of app registrations and enterprise apps.",
            defender_rights: &[],
        },
        DirectoryRole {
            template_id: USER_ADMINISTRATOR,
            display_name: "User Administrator",
            description: "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
            defender_rights: &[],
        },
    ]
}

/// A role by template id or display name (case-insensitive; spaces optional, so
/// `SecurityReader` and `security reader` both work).
pub fn find_role(name_or_id: &str) -> Option<&'static DirectoryRole> {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
            .collect::<String>()
            .to_lowercase()
    };
    let wanted = squash(name_or_id);
    builtin_roles().iter().find(|r| {
        r.template_id.eq_ignore_ascii_case(name_or_id.trim()) || squash(r.display_name) == wanted
    })
}

/// The Defender rights of a set of role template ids.
pub fn defender_rights<'a>(template_ids: impl IntoIterator<Item = &'a str>) -> Vec<DefenderRight> {
    let mut rights: Vec<DefenderRight> = template_ids
        .into_iter()
        .filter_map(|id| {
            builtin_roles()
                .iter()
                .find(|r| r.template_id.eq_ignore_ascii_case(id))
        })
        .flat_map(|r| r.defender_rights.iter().copied())
        .collect();
    rights.sort();
    rights.dedup();
    rights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_resolve_by_name_or_id_and_grant_the_documented_rights() {
        assert_eq!(
            find_role("security operator").unwrap().template_id,
            SECURITY_OPERATOR
        );
        assert_eq!(
            find_role("SecurityReader").unwrap().template_id,
            SECURITY_READER
        );
        assert_eq!(
            find_role(&GLOBAL_READER.to_uppercase())
                .unwrap()
                .display_name,
            "Global Reader"
        );
        assert!(find_role("Helpdesk Administrator").is_none());
        assert_eq!(
            defender_rights([SECURITY_READER]),
            [DefenderRight::ViewData]
        );
        assert_eq!(
            defender_rights([GLOBAL_READER, SECURITY_OPERATOR]),
            [DefenderRight::ViewData, DefenderRight::ManageIncidents]
        );
        assert!(defender_rights(["00000000-0000-0000-0000-000000000000"]).is_empty());
        assert_eq!(
            DefenderRight::ManageIncidents.granted_by(),
            [
                "Global Administrator",
                "Security Administrator",
                "Security Operator"
            ]
        );
    }
}
