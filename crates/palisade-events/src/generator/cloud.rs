//! The estate's OAuth applications in Defender for Cloud Apps: `OAuthAppInfo` (a daily record
//! of each directory application: its service principal, permissions, consent and risk) and
//! the `CloudAppEvents` that name them by `OAuthAppId` (users consenting to an app, apps
//! reading mailboxes and files on the users' behalf). The applications are the directory's
//! ([`DIRECTORY_APPS`]), the same the Sentinel sign-ins and audit events name, and the users
//! are the estate's, so `OAuthAppInfo`, `CloudAppEvents`, `SigninLogs` and `AuditLogs` join.
//!
//! The main generator's `CloudAppEvents` stay as they are; these are extra rows in files of
//! their own.

use serde_json::json;

use super::estate::{Estate, Rng};
use super::family::{display_name, window_days, FamilyRows, DIRECTORY_APPS};
use crate::columns::{RowBatch, Value};
use crate::store::{EventStore, StoreError};

use Value::{Bool as B, Int as I, Json as J, Str as S, Time as T};

/// The tables [`seed_cloud`] writes.
pub(super) const CLOUD_TABLES: &[&str] = &["OAuthAppInfo", "CloudAppEvents"];

const DAY: i64 = 86_400_000_000_000;

/// What Defender for Cloud Apps knows of a directory application.
struct App {
    name: &'static str,
    app_id: &'static str,
    service_principal: String,
    /// Microsoft's own first-party apps are verified and external; the tenant's are internal.
    first_party: bool,
    permissions: &'static [(&'static str, &'static str)],
    privilege: &'static str,
}

/// The object id of the service principal of directory app `i` (`app_id`) in the tenant:
/// the same in `OAuthAppInfo` and the exposure graph.
pub(super) fn service_principal_id(i: usize, app_id: &str) -> String {
    Rng::new(
        app_id
            .bytes()
            .fold(i as u64, |h, b| h.wrapping_mul(0x100_0000_01b3) ^ b as u64),
    )
    .guid()
}

fn apps() -> Vec<App> {
    DIRECTORY_APPS
        .iter()
        .enumerate()
        .map(|(i, (name, app_id))| {
            let (permissions, privilege): (&[(&str, &str)], &str) = match i {
                0 => (
                    &[
                        ("Microsoft Threat Protection", "Incident.Read.All"),
                        ("Microsoft Threat Protection", "AdvancedHunting.Read.All"),
                    ],
                    "High",
                ),
                1 => (
                    &[("Microsoft Threat Protection", "Incident.Read")],
                    "Medium",
                ),
                3 => (
                    &[
                        ("Microsoft Graph", "Mail.Read"),
                        ("Microsoft Graph", "User.Read"),
                    ],
                    "High",
                ),
                5 => (&[("Microsoft Graph", "Files.ReadWrite.All")], "High"),
                _ => (&[("Microsoft Graph", "User.Read")], "Low"),
            };
            App {
                name,
                app_id,
                service_principal: service_principal_id(i, app_id),
                first_party: i >= 2,
                permissions,
                privilege,
            }
        })
        .collect()
}

/// Seeds `tenant_id`'s OAuth app records (one per app and day) and about `rows` app
/// activities over the window before `now` (ns); returns the rows written.
pub(super) fn seed_cloud(
    store: &EventStore,
    tenant_id: &str,
    estate: &Estate,
    rows: u64,
    now: i64,
    only: Option<&[&str]>,
) -> Result<u64, StoreError> {
    if estate.users.is_empty() || estate.remote_ips.is_empty() {
        return Ok(0);
    }
    let apps = apps();
    let mut r = Rng::new(rows ^ 0xc10d_a995);
    let mut out = FamilyRows::new(store, tenant_id, CLOUD_TABLES, only)?;
    let days = window_days(now);
    let window_start = days.first().map_or(now, |d| d.0);
    // App activities per day (the daily app records come on top): at least a few.
    let per_day = (rows / days.len().max(1) as u64).max(4);
    for (from, to) in days {
        for (i, a) in apps.iter().enumerate() {
            out.row("OAuthAppInfo", from, |w| {
                app_info(w, &mut r, tenant_id, estate, a, i, from, window_start)
            })?;
        }
        let span = (to - from).max(1) as u64;
        let mut times: Vec<i64> = (0..per_day).map(|_| from + r.below(span) as i64).collect();
        times.sort_unstable();
        for t in times {
            let u = r.pick(&estate.users);
            let a = r.pick(&apps);
            let ip = r.pick(&estate.remote_ips).clone();
            let consent = r.chance(0.1);
            out.row("CloudAppEvents", t, |w| {
                let (action, object) = if consent {
                    ("Consent to application.", a.name.to_string())
                } else if a.permissions.iter().any(|p| p.1 == "Mail.Read") {
                    ("MailItemsAccessed", format!("{}/Inbox", u.upn))
                } else {
                    (
                        "FileAccessed",
                        format!(
                            "https://contoso.sharepoint.com/personal/{}/Documents/report.xlsx",
                            u.account_name
                        ),
                    )
                };
                w.set("Timestamp", T(t));
                w.set("ActionType", S(action));
                w.set(
                    "Application",
                    S(if consent {
                        "Microsoft Entra ID"
                    } else {
                        "Microsoft 365"
                    }),
                );
                w.set("ApplicationId", I(if consent { 12260 } else { 11161 }));
                w.set("AccountObjectId", S(&u.object_id));
                w.set("AccountId", S(&u.object_id));
                w.set("AccountDisplayName", S(&display_name(&u.account_name)));
                w.set("IsAdminOperation", B(consent && a.privilege == "High"));
                w.set("DeviceType", S("Desktop"));
                w.set("OSPlatform", S("Windows10"));
                w.set("IPAddress", S(&ip));
                w.set("IsAnonymousProxy", B(false));
                w.set("CountryCode", S("US"));
                w.set("City", S("Seattle"));
                w.set("Isp", S("Contoso ISP"));
                w.set("ActivityType", S(if consent { "Edit" } else { "Read" }));
                let objects = json!([
                    {"Type": "OAuth Application", "Name": a.name, "Id": a.app_id},
                    {"Type": "User", "Name": u.upn, "Id": u.object_id},
                ])
                .to_string();
                w.set("ActivityObjects", J(&objects));
                w.set("ObjectName", S(&object));
                w.set(
                    "ObjectType",
                    S(if consent { "OAuth Application" } else { "File" }),
                );
                w.set("ObjectId", S(a.app_id));
                w.set("ReportId", S(&r.guid()));
                w.set("AccountType", S("Regular"));
                w.set("IsExternalUser", B(false));
                w.set("IsImpersonated", B(false));
                let raw = json!({"Operation": action, "UserId": u.upn, "AppId": a.app_id,
                                 "ClientIP": ip})
                .to_string();
                w.set("RawEventData", J(&raw));
                w.set("AuditSource", S("Defender for Cloud Apps access control"));
                w.set("OAuthAppId", S(a.app_id));
            })?;
        }
    }
    out.commit()
}

#[allow(clippy::too_many_arguments)]
fn app_info(
    w: &mut RowBatch,
    r: &mut Rng,
    tenant: &str,
    estate: &Estate,
    a: &App,
    i: usize,
    t: i64,
    window_start: i64,
) {
    let users = estate.users.len() as i64;
    let permissions: Vec<_> = a
        .permissions
        .iter()
        .map(|(resource, name)| {
            json!({"PermissionValue": name, "TargetAppDisplayName": resource,
                   "PermissionType": if a.first_party { "Delegated" } else { "Application" },
                   "PrivilegeLevel": a.privilege, "UsageStatus": "InUse"})
        })
        .collect();
    w.set("ReportId", S(&r.guid()));
    w.set("Timestamp", T(t));
    w.set("OAuthAppId", S(a.app_id));
    w.set("ServicePrincipalId", S(&a.service_principal));
    w.set("AppName", S(a.name));
    w.set("AddedOnTime", T(window_start - (90 + 30 * i as i64) * DAY));
    w.set("LastModifiedTime", T(window_start - 10 * DAY));
    w.set("AppStatus", S("Enabled"));
    w.set(
        "VerifiedPublisher",
        J(&if a.first_party {
            json!({"displayName": "Microsoft Corporation", "verifiedPublisherId": "1234567",
                   "addedDateTime": "2020-01-01T00:00:00Z"})
        } else {
            json!({})
        }
        .to_string()),
    );
    w.set("PrivilegeLevel", S(a.privilege));
    w.set("Permissions", J(&json!(permissions).to_string()));
    w.set(
        "ConsentedUsersCount",
        I(if a.first_party { users } else { 1 + i as i64 }),
    );
    w.set(
        "IsAdminConsented",
        B(!a.first_party || a.privilege == "High"),
    );
    w.set(
        "AppOrigin",
        S(if a.first_party {
            "External"
        } else {
            "Internal"
        }),
    );
    w.set("LastUsedTime", T(t - DAY / 2));
    w.set(
        "AppOwnerTenantId",
        S(if a.first_party {
            "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
        } else {
            tenant
        }),
    );
    w.set(
        "RiskScore",
        I(match a.privilege {
            "High" => 7,
            "Medium" => 4,
            _ => 1,
        }),
    );
    w.set("AssignedRoles", J("[]"));
}
