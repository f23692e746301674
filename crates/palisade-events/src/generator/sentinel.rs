//! The common Microsoft Sentinel tables of a connected workspace, seeded from the same estate
//! as the XDR tables, so joins across them find each other: `SigninLogs` and
//! `AADNonInteractiveUserSignInLogs` of the estate's users from its devices' addresses (their
//! `DeviceDetail` names the device), `AuditLogs` of the directory's apps initiated by those
//! users, `SecurityEvent` (logons 4624/4625, special logons 4672, process creation 4688) on
//! the estate's Windows devices by its users and files.
//!
//! Apart from the XDR generator: its own random stream and its own files, one sorted file
//! per table and day over the same window, keyed on `TimeGenerated`.

use chrono::{DateTime, Utc};
use palisade_kql::value::day_of;
use serde_json::json;

use super::estate::{Estate, Rng};
use super::family::DIRECTORY_APPS as APPS;
use super::{schema_error, WINDOW_NS};
use crate::columns::{Mismatch, RowBatch, Value};
use crate::store::{EventStore, StoreError};

use Value::{Bool as B, Int as I, Json as J, Str as S, Time as T};

/// The Sentinel tables [`seed_sentinel_tables`] writes, with each one's share of the rows (%).
pub const SEEDED_SENTINEL_TABLES: &[(&str, u64)] = &[
    ("SigninLogs", 35),
    ("AADNonInteractiveUserSignInLogs", 30),
    ("AuditLogs", 10),
    ("SecurityEvent", 25),
];

/// Seeds about `rows` rows over the 30-day window before `now` into the Sentinel tables of
/// `tenant_id` (`workspace_id` is their `TenantId`); returns the rows written.
pub fn seed_sentinel_tables(
    store: &EventStore,
    tenant_id: &str,
    workspace_id: &str,
    estate: &Estate,
    rows: u64,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    seed_sentinel_tables_only(store, tenant_id, workspace_id, estate, rows, now, None)
}

/// [`seed_sentinel_tables`] writing only the tables in `only` (all when `None`); the tables
/// written hold the rows a full seed gives them.
pub fn seed_sentinel_tables_only(
    store: &EventStore,
    tenant_id: &str,
    workspace_id: &str,
    estate: &Estate,
    rows: u64,
    now: DateTime<Utc>,
    only: Option<&[&str]>,
) -> Result<u64, StoreError> {
    let now = now.timestamp_nanos_opt().unwrap_or(0);
    let start = now - WINDOW_NS;
    let mut r = Rng::new(rows ^ 0x5e47_1e1e);
    let mut written = 0;
    let days = ((now - start) / palisade_kql::value::NANOS_PER_DAY + 1) as u64;
    for (table, share) in SEEDED_SENTINEL_TABLES {
        let schema = store
            .catalog()
            .table(table)
            .ok_or_else(|| StoreError::UnknownTable(table.to_string()))?
            .clone();
        let per_day = (rows * share / 100).div_ceil(days);
        let mut day_start = start;
        while day_start < now {
            let day = day_of(day_start);
            let day_end = (day_start - day_start.rem_euclid(palisade_kql::value::NANOS_PER_DAY)
                + palisade_kql::value::NANOS_PER_DAY)
                .min(now);
            let span = (day_end - day_start).max(1) as u64;
            let mut times: Vec<i64> = (0..per_day)
                .map(|_| day_start + r.below(span) as i64)
                .collect();
            times.sort_unstable();
            let mut batch = RowBatch::new(&schema, times.len());
            let mut g = SentinelGen {
                e: estate,
                r: &mut r,
                tenant_id,
                workspace_id,
            };
            for t in times {
                g.row(table, &mut batch, t).map_err(schema_error)?;
            }
            if !batch.is_empty() && only.is_none_or(|o| o.contains(table)) {
                let mut w = store.part_writer(tenant_id, table, &day)?;
                let b = batch.finish();
                written += b.num_rows() as u64;
                w.write(&b)?;
                w.commit()?;
            }
            day_start = day_end;
        }
    }
    Ok(written)
}

struct SentinelGen<'a> {
    e: &'a Estate,
    r: &'a mut Rng,
    tenant_id: &'a str,
    workspace_id: &'a str,
}

impl SentinelGen<'_> {
    fn row(&mut self, table: &str, w: &mut RowBatch, t: i64) -> Result<(), Mismatch> {
        w.set("TimeGenerated", T(t));
        w.set("Type", S(table));
        w.set("TenantId", S(self.workspace_id));
        match table {
            "SigninLogs" => self.sign_in(w, t, true),
            "AADNonInteractiveUserSignInLogs" => self.sign_in(w, t, false),
            "AuditLogs" => self.audit(w, t),
            _ => self.security_event(w),
        }
        w.end_row()
    }

    /// A sign-in of an estate user from an estate device.
    fn sign_in(&mut self, w: &mut RowBatch, t: i64, interactive: bool) {
        let user = self.r.pick(&self.e.users);
        let device = self.r.pick(&self.e.devices);
        let (app, app_id) = *self.r.pick(APPS);
        let (code, description) = *self.r.pick(&[
            ("0", ""),
            ("0", ""),
            ("0", ""),
            ("0", ""),
            ("0", ""),
            (
                "50126",
                "Error validating credentials due to invalid username or password.",
            ),
            ("50074", "Strong Authentication is required."),
        ]);
        let display = user.account_name.replace('.', " ");
        w.set("CreatedDateTime", T(t));
        w.set("Id", S(&self.r.guid()));
        w.set("CorrelationId", S(&self.r.guid()));
        w.set("OperationName", S("Sign-in activity"));
        w.set("OperationVersion", S("1.0"));
        w.set(
            "Category",
            S(if interactive {
                "SignInLogs"
            } else {
                "NonInteractiveUserSignInLogs"
            }),
        );
        w.set("SourceSystem", S("Azure AD"));
        w.set("Level", S("4"));
        w.set("AADTenantId", S(self.tenant_id));
        w.set("HomeTenantId", S(self.tenant_id));
        w.set("ResourceTenantId", S(self.tenant_id));
        w.set("UserPrincipalName", S(&user.upn));
        w.set("AlternateSignInName", S(&user.upn));
        w.set("UserId", S(&user.object_id));
        w.set("UserDisplayName", S(&display));
        w.set("Identity", S(&display));
        w.set("UserType", S("Member"));
        w.set("AppDisplayName", S(app));
        w.set("AppId", S(app_id));
        w.set("ResourceDisplayName", S("Microsoft Graph"));
        w.set("IPAddress", S(&device.ip));
        w.set("Location", S("US"));
        w.set("IsInteractive", B(interactive));
        w.set("IsRisky", B(code == "50126" && self.r.chance(0.2)));
        w.set("ResultType", S(code));
        w.set(
            "ResultSignature",
            S(if code == "0" { "SUCCESS" } else { "FAILURE" }),
        );
        w.set("ResultDescription", S(description));
        w.set(
            "ConditionalAccessStatus",
            S(if code == "0" { "success" } else { "notApplied" }),
        );
        w.set(
            "AuthenticationRequirement",
            S(self
                .r
                .pick_str(&["singleFactorAuthentication", "multiFactorAuthentication"])),
        );
        w.set(
            "ClientAppUsed",
            S(self
                .r
                .pick_str(&["Browser", "Mobile Apps and Desktop clients"])),
        );
        w.set("RiskLevelDuringSignIn", S("none"));
        w.set("RiskState", S("none"));
        w.set("RiskDetail", S("none"));
        w.set(
            "UserAgent",
            S("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0"),
        );
        w.set("SessionId", S(&self.r.guid()));
        w.set("UniqueTokenIdentifier", S(&self.r.hex(22)));
        w.set("DurationMs", I(0));
        let detail = json!({
            "deviceId": device.device_id,
            "displayName": device.name,
            "operatingSystem": device.os_platform,
            "browser": "Edge 120.0.0",
            "isCompliant": true,
            "isManaged": true,
            "trustType": "Azure AD joined",
        })
        .to_string();
        let location = json!({
            "city": "Seattle",
            "state": "Washington",
            "countryOrRegion": "US",
            "geoCoordinates": {"latitude": 47.6, "longitude": -122.3},
        })
        .to_string();
        let status = match code {
            "0" => json!({"errorCode": 0}),
            c => json!({"errorCode": c.parse::<i64>().unwrap_or(0), "failureReason": description}),
        }
        .to_string();
        // `dynamic` in SigninLogs; `string` (the same JSON text) in the non-interactive table.
        w.set("DeviceDetail", json_or_text(interactive, &detail));
        w.set("LocationDetails", json_or_text(interactive, &location));
        w.set("Status", json_or_text(interactive, &status));
    }

    /// A directory change to one of the apps (or a user), initiated by an estate user.
    fn audit(&mut self, w: &mut RowBatch, t: i64) {
        let actor = self.r.pick(&self.e.users);
        let (app, app_id) = *self.r.pick(APPS);
        let (operation, category, kind) = *self.r.pick(&[
            ("Add service principal", "ApplicationManagement", "Add"),
            ("Update application", "ApplicationManagement", "Update"),
            ("Consent to application", "ApplicationManagement", "Assign"),
            (
                "Add app role assignment to service principal",
                "ApplicationManagement",
                "Assign",
            ),
            (
                "Update application – Certificates and secrets management ",
                "ApplicationManagement",
                "Update",
            ),
            ("Reset user password", "UserManagement", "Update"),
            ("Add member to role", "RoleManagement", "Assign"),
        ]);
        let target = if category == "ApplicationManagement" {
            json!([{"displayName": app, "id": app_id, "type": "ServicePrincipal",
                    "modifiedProperties": []}])
        } else {
            let other = self.r.pick(&self.e.users);
            json!([{"userPrincipalName": other.upn, "id": other.object_id, "type": "User",
                    "modifiedProperties": []}])
        }
        .to_string();
        let device = self.r.pick(&self.e.devices);
        let initiated = json!({"user": {"userPrincipalName": actor.upn, "id": actor.object_id,
                                        "ipAddress": device.ip}})
        .to_string();
        w.set("ActivityDateTime", T(t));
        w.set("ActivityDisplayName", S(operation));
        w.set("OperationName", S(operation));
        w.set("OperationVersion", S("1.0"));
        w.set("AADOperationType", S(kind));
        w.set("AADTenantId", S(self.tenant_id));
        w.set("Category", S(category));
        w.set("LoggedByService", S("Core Directory"));
        w.set("Result", S("success"));
        w.set("ResultDescription", S(""));
        w.set("Id", S(&format!("Directory_{}", self.r.guid())));
        w.set("CorrelationId", S(&self.r.guid()));
        w.set("Identity", S(&actor.upn));
        w.set("InitiatedBy", J(&initiated));
        w.set("TargetResources", J(&target));
        w.set("AdditionalDetails", J("[]"));
        w.set("Level", S("4"));
        w.set("Location", S("US"));
        w.set("SourceSystem", S("Azure AD"));
        w.set("DurationMs", I(0));
        w.set("Resource", S("Microsoft.aadiam"));
        w.set("ResourceProvider", S("Microsoft.aadiam"));
    }

    /// A Windows Security log event on an estate Windows device.
    fn security_event(&mut self, w: &mut RowBatch) {
        let windows: Vec<_> = self
            .e
            .devices
            .iter()
            .filter(|d| d.os_platform.starts_with("Windows"))
            .collect();
        let device = match windows.as_slice() {
            [] => self.r.pick(&self.e.devices),
            list => *self.r.pick(list),
        };
        let user = self.r.pick(&self.e.users);
        let domain = user.domain.to_uppercase();
        let account = format!("{domain}\\{}", user.account_name);
        w.set("Computer", S(&device.name));
        w.set("SourceComputerId", S(&device.device_id));
        w.set("Account", S(&account));
        w.set("AccountName", S(&user.account_name));
        w.set("AccountDomain", S(&domain));
        w.set("AccountType", S("User"));
        w.set("SubjectUserSid", S(&user.sid));
        w.set("SubjectUserName", S(&user.account_name));
        w.set("SubjectDomainName", S(&domain));
        w.set("EventSourceName", S("Microsoft-Windows-Security-Auditing"));
        w.set("Channel", S("Security"));
        w.set("SourceSystem", S("OpsManager"));
        w.set("EventRecordId", S(&self.r.below(9_000_000).to_string()));
        let event = *self.r.pick(&[4624, 4624, 4624, 4625, 4672, 4688, 4688]);
        w.set("EventID", I(event));
        match event {
            4624 | 4625 => {
                let (logon, name) = *self.r.pick(&[
                    (2, "2 - Interactive"),
                    (3, "3 - Network"),
                    (10, "10 - RemoteInteractive"),
                ]);
                w.set(
                    "Activity",
                    S(if event == 4624 {
                        "4624 - An account was successfully logged on."
                    } else {
                        "4625 - An account failed to log on."
                    }),
                );
                w.set("TargetUserName", S(&user.account_name));
                w.set("TargetDomainName", S(&domain));
                w.set("TargetUserSid", S(&user.sid));
                w.set("TargetAccount", S(&account));
                w.set("LogonType", I(logon));
                w.set("LogonTypeName", S(name));
                w.set("LogonProcessName", S("User32"));
                w.set("AuthenticationPackageName", S("Negotiate"));
                w.set("IpAddress", S(&device.ip));
                w.set("IpPort", S("0"));
                w.set("WorkstationName", S(&device.name));
                if event == 4625 {
                    w.set("Status", S("0xc000006d"));
                    w.set("SubStatus", S("0xc000006a"));
                    w.set("FailureReason", S("%%2313"));
                }
            }
            4672 => {
                w.set(
                    "Activity",
                    S("4672 - Special privileges assigned to new logon."),
                );
                w.set(
                    "PrivilegeList",
                    S("SeSecurityPrivilege\n\t\t\tSeDebugPrivilege"),
                );
            }
            _ => {
                let f = self.r.pick(&self.e.files);
                let path = format!("{}\\{}", f.folder, f.name);
                w.set("Activity", S("4688 - A new process has been created."));
                w.set("NewProcessName", S(&path));
                w.set("Process", S(&f.name));
                w.set("CommandLine", S(&f.name));
                w.set("ParentProcessName", S("C:\\Windows\\explorer.exe"));
                w.set("TokenElevationType", S("%%1936"));
                w.set("FileHash", S(&f.sha256));
            }
        }
    }
}

/// JSON text as a `dynamic` value, or as plain text for a `string` column.
fn json_or_text(dynamic: bool, v: &str) -> Value<'_> {
    if dynamic {
        J(v)
    } else {
        S(v)
    }
}
