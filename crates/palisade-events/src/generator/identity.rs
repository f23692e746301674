//! The identity tables of the estate beyond `IdentityLogonEvents` (which the main generator
//! writes): the directory's daily view of every user (`IdentityInfo`, and `IdentityAccountInfo`
//! with the user's Active Directory and Entra ID accounts linked under one identity), the
//! directory queries (`IdentityQueryEvents`) and changes (`IdentityDirectoryEvents`) seen by
//! Defender for Identity on the domain controller, and the sign-ins of the same users at a
//! third-party identity provider (`IdentityEvents`, Okta). The same users (object id, UPN,
//! SID), devices and domain controller as every other table, so joins find each other.

use serde_json::json;

use super::estate::{Estate, EstateUser, Rng};
use super::family::{display_name, window_days, FamilyRows, DIRECTORY_APPS, DOMAIN_CONTROLLER};
use crate::columns::{RowBatch, Value};
use crate::store::{EventStore, StoreError};

use Value::{Bool as B, Int as I, Json as J, Str as S, Time as T};

/// The tables [`seed_identity`] writes.
pub(super) const IDENTITY_TABLES: &[&str] = &[
    "IdentityInfo",
    "IdentityAccountInfo",
    "IdentityQueryEvents",
    "IdentityDirectoryEvents",
    "IdentityEvents",
];

const DEPARTMENTS: &[(&str, &str)] = &[
    ("Security Operations", "Security Analyst"),
    ("IT", "Systems Administrator"),
    ("Finance", "Accountant"),
    ("Sales", "Account Executive"),
    ("Engineering", "Software Engineer"),
    ("Human Resources", "HR Partner"),
];

/// The directory roles of the estate's first users (the others have none).
const ROLES: &[&str] = &[
    "Global Administrator",
    "Security Administrator",
    "Security Operator",
    "Security Reader",
];

/// Seeds about `rows` identity events (plus a daily snapshot of every user) for `tenant_id` over the window before `now` (ns);
/// returns the rows written.
pub(super) fn seed_identity(
    store: &EventStore,
    tenant_id: &str,
    estate: &Estate,
    rows: u64,
    now: i64,
    only: Option<&[&str]>,
) -> Result<u64, StoreError> {
    if estate.users.is_empty() || estate.devices.is_empty() {
        return Ok(0);
    }
    let mut r = Rng::new(rows ^ 0x1d_e7_17_75);
    let mut out = FamilyRows::new(store, tenant_id, IDENTITY_TABLES, only)?;
    let days = window_days(now);
    // Events per day (the daily snapshots come on top): at least a few, so every table of
    // the family has rows however small the seed.
    let per_day = (rows / days.len().max(1) as u64).max(10);
    for (from, to) in days {
        // The day's directory snapshot, taken as the day starts.
        for (i, u) in estate.users.iter().enumerate() {
            out.row("IdentityInfo", from, |w| {
                identity_info(w, &mut r, tenant_id, i, u, from)
            })?;
        }
        for (i, u) in estate.users.iter().enumerate() {
            for provider in ["ActiveDirectory", "AzureActiveDirectory"] {
                out.row("IdentityAccountInfo", from, |w| {
                    account_info(w, &mut r, tenant_id, i, u, provider, from)
                })?;
            }
        }
        let span = (to - from).max(1) as u64;
        let mut times: Vec<i64> = (0..per_day).map(|_| from + r.below(span) as i64).collect();
        times.sort_unstable();
        for t in times {
            let u = r.pick(&estate.users);
            let d = r.pick(&estate.devices);
            match r.below(10) {
                0..=4 => out.row("IdentityQueryEvents", t, |w| {
                    query(w, &mut r, estate, u, d, t)
                })?,
                5..=6 => out.row("IdentityDirectoryEvents", t, |w| {
                    directory(w, &mut r, estate, u, d, t)
                })?,
                _ => out.row("IdentityEvents", t, |w| okta(w, &mut r, u, d, t))?,
            }
        }
    }
    out.commit()
}

/// The account columns the Defender for Identity tables share.
fn account(w: &mut RowBatch, u: &EstateUser) {
    w.set("AccountName", S(&u.account_name));
    w.set("AccountDomain", S(&u.domain.to_lowercase()));
    w.set("AccountUpn", S(&u.upn));
    w.set("AccountSid", S(&u.sid));
    w.set("AccountObjectId", S(&u.object_id));
    w.set("AccountDisplayName", S(&display_name(&u.account_name)));
}

/// The distinguished name of a user in the on-premises directory.
fn distinguished_name(u: &EstateUser) -> String {
    format!(
        "CN={},OU=Users,DC={},DC=local",
        display_name(&u.account_name),
        u.domain.to_lowercase()
    )
}

fn identity_info(w: &mut RowBatch, r: &mut Rng, tenant: &str, i: usize, u: &EstateUser, t: i64) {
    let (department, title) = DEPARTMENTS[i % DEPARTMENTS.len()];
    let roles: Vec<&str> = ROLES.get(i).into_iter().copied().collect();
    let (given, surname) = u
        .account_name
        .split_once('.')
        .unwrap_or((u.account_name.as_str(), ""));
    w.set("Timestamp", T(t));
    w.set("ReportId", S(&r.guid()));
    w.set("AccountObjectId", S(&u.object_id));
    w.set("AccountUpn", S(&u.upn));
    w.set("OnPremSid", S(&u.sid));
    w.set("AccountDisplayName", S(&display_name(&u.account_name)));
    w.set("AccountName", S(&u.account_name));
    w.set("AccountDomain", S(&u.domain.to_lowercase()));
    w.set("CriticalityLevel", I(if roles.is_empty() { 0 } else { 4 }));
    w.set("Type", S("User"));
    w.set("DistinguishedName", S(&distinguished_name(u)));
    w.set("GivenName", S(given));
    w.set("Surname", S(surname));
    w.set("Department", S(department));
    w.set("JobTitle", S(title));
    w.set("EmailAddress", S(&u.upn));
    w.set("SipProxyAddress", S(&u.upn));
    w.set("City", S("Seattle"));
    w.set("Country", S("US"));
    w.set("IsAccountEnabled", B(true));
    w.set(
        "CreatedDateTime",
        T(1_672_531_200_000_000_000 + i as i64 * 86_400_000_000_000),
    );
    w.set("ChangeSource", S("AzureActiveDirectory"));
    w.set("CompanyName", S("Contoso"));
    w.set("EmployeeId", S(&format!("E{:05}", 1000 + i)));
    w.set("OtherMailAddresses", J("[]"));
    w.set("RiskLevel", S(if i % 13 == 7 { "Medium" } else { "Low" }));
    w.set("RiskStatus", S("None"));
    w.set(
        "Tags",
        J(if roles.is_empty() {
            "[]"
        } else {
            "[\"Sensitive\"]"
        }),
    );
    w.set("AssignedRoles", J(&json!(roles).to_string()));
    w.set("PrivilegedEntraPimRoles", J("[]"));
    w.set("TenantId", S(tenant));
    w.set("SourceSystem", S("AzureActiveDirectory"));
    w.set("TenantMembershipType", S("Member"));
    w.set("UserAccountControl", S("NormalAccount"));
    w.set("IdentityEnvironment", S("Hybrid"));
    w.set(
        "SourceProviders",
        J("[\"ActiveDirectory\",\"AzureActiveDirectory\"]"),
    );
    w.set(
        "GroupMembership",
        J(&json!(["Domain Users", format!("{department} Team")]).to_string()),
    );
}

fn account_info(
    w: &mut RowBatch,
    r: &mut Rng,
    tenant: &str,
    i: usize,
    u: &EstateUser,
    provider: &str,
    t: i64,
) {
    let (department, title) = DEPARTMENTS[i % DEPARTMENTS.len()];
    let entra = provider == "AzureActiveDirectory";
    let roles: Vec<&str> = ROLES.get(i).into_iter().copied().collect();
    w.set("Timestamp", T(t));
    w.set("ReportId", S(&r.guid()));
    // The account's id at its provider: the object id in Entra ID, the SID on premises.
    let id = if entra { &u.object_id } else { &u.sid };
    w.set("SourceProviderAccountId", S(id));
    w.set("AccountId", S(id));
    // One identity links both accounts: the Entra object id names it.
    w.set("IdentityId", S(&u.object_id));
    w.set("IsPrimary", B(entra));
    w.set("IdentityLinkType", S("Strong"));
    w.set("IdentityLinkReason", S("OnPremisesSecurityIdentifier"));
    w.set("IdentityLinkTime", T(t));
    w.set("IdentityLinkBy", S("System"));
    w.set("DisplayName", S(&display_name(&u.account_name)));
    w.set("AccountUpn", S(&u.upn));
    w.set("EmailAddress", S(&u.upn));
    w.set("CriticalityLevel", I(if roles.is_empty() { 0 } else { 4 }));
    w.set("DefenderRiskLevel", I(if i % 13 == 7 { 2 } else { 0 }));
    w.set("Type", S("User"));
    w.set("Department", S(department));
    w.set("JobTitle", S(title));
    w.set("City", S("Seattle"));
    w.set("Country", S("US"));
    w.set("Sid", S(&u.sid));
    w.set("AccountStatus", S("Enabled"));
    w.set("SourceProvider", S(provider));
    w.set(
        "SourceProviderInstanceId",
        S(if entra { tenant } else { &u.domain }),
    );
    w.set(
        "SourceProviderInstanceDisplayName",
        S(if entra { "Contoso" } else { &u.domain }),
    );
    w.set(
        "AuthenticationMethod",
        S(if entra { "Federated" } else { "Kerberos" }),
    );
    w.set(
        "EnrolledMfas",
        J(if entra {
            "[\"MicrosoftAuthenticator\"]"
        } else {
            "[]"
        }),
    );
    w.set(
        "LastPasswordChangeTime",
        T(t - (7 + i as i64 % 60) * 86_400_000_000_000),
    );
    w.set(
        "GroupMembership",
        J(&json!(["Domain Users", format!("{department} Team")]).to_string()),
    );
    w.set("AssignedRoles", J(&json!(roles).to_string()));
    w.set("EligibleRoles", J("[]"));
    w.set("TenantMembershipType", S("Member"));
    w.set("Tags", J("[]"));
    w.set("AdditionalFields", J("{}"));
    w.set("TenantId", S(tenant));
}

/// A directory query from an estate device to the domain controller (LDAP, SAMR, DNS).
fn query(
    w: &mut RowBatch,
    r: &mut Rng,
    e: &Estate,
    u: &EstateUser,
    d: &super::EstateDevice,
    t: i64,
) {
    let target = r.pick(&e.users);
    let (action, protocol, query_type, target_name, query): (_, _, _, String, String) =
        match r.below(4) {
            0 => (
                "LDAP query",
                "Ldap",
                "AllUsers",
                "".into(),
                "(&(objectCategory=person)(objectClass=user))".into(),
            ),
            1 => (
                "SAMR query",
                "Samr",
                "QueryUser",
                target.account_name.clone(),
                format!("QueryUser: {}", target.account_name),
            ),
            2 => (
                "LDAP query",
                "Ldap",
                "AllGroups",
                "Domain Admins".into(),
                "(&(objectClass=group)(cn=Domain Admins))".into(),
            ),
            _ => (
                "DNS query",
                "Dns",
                "A",
                DOMAIN_CONTROLLER.0.into(),
                DOMAIN_CONTROLLER.0.into(),
            ),
        };
    w.set("Timestamp", T(t));
    w.set("ActionType", S(action));
    w.set("Application", S("Active Directory"));
    w.set("QueryType", S(query_type));
    w.set("QueryTarget", S(&target_name));
    w.set("Query", S(&query));
    w.set("Protocol", S(protocol));
    account(w, u);
    w.set("DeviceName", S(&d.name));
    w.set("IPAddress", S(&d.ip));
    w.set("Port", I(49152 + r.below(10_000) as i64));
    w.set("DestinationDeviceName", S(DOMAIN_CONTROLLER.0));
    w.set("DestinationIPAddress", S(DOMAIN_CONTROLLER.1));
    w.set(
        "DestinationPort",
        I(match protocol {
            "Ldap" => 389,
            "Samr" => 445,
            _ => 53,
        }),
    );
    if protocol == "Samr" {
        w.set("TargetAccountUpn", S(&target.upn));
        w.set(
            "TargetAccountDisplayName",
            S(&display_name(&target.account_name)),
        );
    }
    w.set("Location", S("US"));
    w.set("ReportId", S(&r.guid()));
    w.set("AdditionalFields", J("{}"));
}

/// A change to the directory by an estate user (password, group membership, account state).
fn directory(
    w: &mut RowBatch,
    r: &mut Rng,
    e: &Estate,
    u: &EstateUser,
    d: &super::EstateDevice,
    t: i64,
) {
    let target = r.pick(&e.users);
    let (action, fields) = match r.below(4) {
        0 => (
            "Account Password changed",
            json!({"TARGET_OBJECT.USER": target.account_name}),
        ),
        1 => (
            "Group Membership changed",
            json!({"TO.GROUP": "Remote Desktop Users", "TARGET_OBJECT.USER": target.account_name}),
        ),
        2 => (
            "Account Disabled changed",
            json!({"FROM Account Disabled": "False", "TO Account Disabled": "True"}),
        ),
        _ => (
            "Account Password expired",
            json!({"TARGET_OBJECT.USER": target.account_name}),
        ),
    };
    w.set("Timestamp", T(t));
    w.set("ActionType", S(action));
    w.set("Application", S("Active Directory"));
    w.set("TargetAccountUpn", S(&target.upn));
    w.set(
        "TargetAccountDisplayName",
        S(&display_name(&target.account_name)),
    );
    w.set("DestinationDeviceName", S(DOMAIN_CONTROLLER.0));
    w.set("DestinationIPAddress", S(DOMAIN_CONTROLLER.1));
    w.set("DestinationPort", I(445));
    w.set("Protocol", S("Samr"));
    account(w, u);
    w.set("DeviceName", S(&d.name));
    w.set("IPAddress", S(&d.ip));
    w.set("Port", I(49152 + r.below(10_000) as i64));
    w.set("Location", S("US"));
    w.set("ISP", S("Contoso"));
    w.set("ReportId", S(&r.guid()));
    w.set("AdditionalFields", J(&fields.to_string()));
}

/// A sign-in of an estate user at the third-party identity provider (Okta), federated to
/// one of the directory's applications.
fn okta(w: &mut RowBatch, r: &mut Rng, u: &EstateUser, d: &super::EstateDevice, t: i64) {
    let failed = r.chance(0.08);
    let (app, _) = *r.pick(DIRECTORY_APPS);
    let session = r.hex(24);
    w.set("Timestamp", T(t));
    w.set("ReportId", S(&r.guid()));
    // Okta's user ids: `00u` and 17 characters, here drawn from the Entra object id.
    let okta_id: String = u.object_id.chars().filter(|c| *c != '-').take(17).collect();
    w.set("AccountId", S(&format!("00u{okta_id}")));
    w.set("AccountType", S("User"));
    w.set("AccountDisplayName", S(&display_name(&u.account_name)));
    w.set("AccountUpn", S(&u.upn));
    w.set("ActionType", S("user.session.start"));
    w.set(
        "ActionResult",
        S(if failed { "FAILURE" } else { "SUCCESS" }),
    );
    w.set(
        "ActionFailureReason",
        S(if failed { "INVALID_CREDENTIALS" } else { "" }),
    );
    w.set("IPAddress", S(&d.ip));
    w.set(
        "UserAgent",
        S("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
    );
    w.set(
        "TargetObjects",
        J(&json!([{"type": "AppInstance", "displayName": app}]).to_string()),
    );
    w.set("Application", S("Okta"));
    w.set("ApplicationInstanceId", S("contoso.okta.com"));
    w.set("ApplicationEventId", S(&r.hex(20)));
    w.set("ApplicationSessionId", S(&session));
    w.set(
        "RawEventData",
        J(&json!({"eventType": "user.session.start", "actor": {"alternateId": u.upn},
                   "client": {"ipAddress": d.ip}, "outcome": {"result": if failed { "FAILURE" } else { "SUCCESS" }}})
        .to_string()),
    );
    w.set("AdditionalFields", J("{}"));
}
