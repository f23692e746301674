//! Defender XDR data models (camelCase JSON for incidents, PascalCase for hunting).
//!
//! Enums are open: a value this SDK does not know becomes `Unrecognized(String)` instead of
//! failing the whole response, and is sent back unchanged. Nullable fields are `Option`; a
//! missing or `null` array is read as empty.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

/// Defines an open string enum: known variants plus `Unrecognized(String)`.
/// Each variant lists its canonical spelling and any accepted aliases.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $canon:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this SDK does not know (kept verbatim).
            Unrecognized(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $canon, )+
                    $name::Unrecognized(s) => s.as_str(),
                }
            }

            /// Parses a wire value; exact spellings and aliases first, then
            /// case-insensitively; anything else is `Unrecognized`.
            pub fn parse(s: &str) -> Self {
                match s {
                    $( $canon $(| $alias)* => return $name::$variant, )+
                    _ => {}
                }
                $(
                    if s.eq_ignore_ascii_case($canon) $(|| s.eq_ignore_ascii_case($alias))* {
                        return $name::$variant;
                    }
                )+
                $name::Unrecognized(s.to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(s))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Ok(Self::parse(&s))
            }
        }
    };
}

open_enum! {
    /// Incident status (`InProgress` since the 2024 docs).
    IncidentStatus {
        /// Open.
        Active = "Active",
        /// Being worked on.
        InProgress = "InProgress",
        /// Closed.
        Resolved = "Resolved",
        /// Merged into another incident (`redirectIncidentId`).
        Redirected = "Redirected",
    }
}

open_enum! {
    /// Alert status.
    AlertStatus {
        /// New.
        New = "New",
        /// Active.
        Active = "Active",
        /// In progress.
        InProgress = "InProgress",
        /// Resolved.
        Resolved = "Resolved",
    }
}

open_enum! {
    /// Incident or alert severity.
    Severity {
        /// Not specified (note the capital S on the wire).
        UnSpecified = "UnSpecified" | "Unspecified",
        /// Informational.
        Informational = "Informational",
        /// Low.
        Low = "Low",
        /// Medium.
        Medium = "Medium",
        /// High.
        High = "High",
    }
}

open_enum! {
    /// Classification: the original set (`Unknown`, `FalsePositive`, `TruePositive`) and the
    /// 2024 set (adds `InformationalExpectedActivity`).
    Classification {
        /// Not classified.
        Unknown = "Unknown",
        /// False positive.
        FalsePositive = "FalsePositive",
        /// True positive.
        TruePositive = "TruePositive",
        /// Informational, expected activity (2024).
        InformationalExpectedActivity = "InformationalExpectedActivity",
    }
}

open_enum! {
    /// Determination: the original set and the 2024 per-classification set. Aliases used by
    /// the incident resource doc / Graph are accepted; the update-doc spelling is emitted.
    Determination {
        /// Not available (unclassified).
        NotAvailable = "NotAvailable",
        /// Advanced persistent threat (no longer settable since 2022).
        Apt = "Apt",
        /// Malware.
        Malware = "Malware",
        /// Security personnel (no longer settable since 2022).
        SecurityPersonnel = "SecurityPersonnel",
        /// Security testing.
        SecurityTesting = "SecurityTesting",
        /// Unwanted software.
        UnwantedSoftware = "UnwantedSoftware",
        /// Other (the literal value `Other`).
        Other = "Other",
        /// Multi-staged attack (TruePositive, 2024).
        MultiStagedAttack = "MultiStagedAttack",
        /// Malicious user activity (TruePositive, 2024).
        MaliciousUserActivity = "MaliciousUserActivity",
        /// Compromised account (TruePositive, 2024; Graph: `compromisedUser`).
        CompromisedAccount = "CompromisedAccount" | "CompromisedUser",
        /// Phishing (TruePositive, 2024).
        Phishing = "Phishing",
        /// Line-of-business application (InformationalExpectedActivity, 2024).
        LineOfBusinessApplication = "LineOfBusinessApplication",
        /// Confirmed activity (InformationalExpectedActivity, 2024; alias `ConfirmedUserActivity`).
        ConfirmedActivity = "ConfirmedActivity" | "ConfirmedUserActivity",
        /// Clean (FalsePositive, 2024).
        Clean = "Clean",
        /// Not enough data to validate (FalsePositive, 2024; alias `InsufficientData`).
        NoEnoughDataToValidate = "NoEnoughDataToValidate" | "InsufficientData",
        /// Not malicious (seen in third-party integrations).
        NotMalicious = "NotMalicious",
    }
}

open_enum! {
    /// Automated investigation state of an alert.
    InvestigationState {
        /// Unknown.
        Unknown = "Unknown",
        /// Terminated.
        Terminated = "Terminated",
        /// Successfully remediated.
        SuccessfullyRemediated = "SuccessfullyRemediated",
        /// Benign.
        Benign = "Benign",
        /// Failed.
        Failed = "Failed",
        /// Partially remediated.
        PartiallyRemediated = "PartiallyRemediated",
        /// Running.
        Running = "Running",
        /// Pending approval.
        PendingApproval = "PendingApproval",
        /// Pending resource.
        PendingResource = "PendingResource",
        /// Partially investigated.
        PartiallyInvestigated = "PartiallyInvestigated",
        /// Terminated by user.
        TerminatedByUser = "TerminatedByUser",
        /// Terminated by system.
        TerminatedBySystem = "TerminatedBySystem",
        /// Queued.
        Queued = "Queued",
        /// Inner failure.
        InnerFailure = "InnerFailure",
        /// Pre-existing alert.
        PreexistingAlert = "PreexistingAlert",
        /// Unsupported OS.
        UnsupportedOs = "UnsupportedOs",
        /// Unsupported alert type.
        UnsupportedAlertType = "UnsupportedAlertType",
        /// Suppressed alert.
        SuppressedAlert = "SuppressedAlert",
    }
}

open_enum! {
    /// Type of an alert entity.
    EntityType {
        /// User account.
        User = "User",
        /// IP address.
        Ip = "Ip",
        /// URL.
        Url = "Url",
        /// File.
        File = "File",
        /// Process.
        Process = "Process",
        /// Mailbox.
        MailBox = "MailBox",
        /// Mail message.
        MailMessage = "MailMessage",
        /// Mail cluster.
        MailCluster = "MailCluster",
        /// Registry key/value.
        Registry = "Registry",
        /// Security group.
        SecurityGroup = "SecurityGroup",
    }
}

/// Reads `null` as the type's default (empty vector).
fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads an optional integer sent as a number or a numeric string.
fn lenient_i64<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        N(i64),
        S(String),
    }
    Ok(match Option::<V>::deserialize(deserializer)? {
        None => None,
        Some(V::N(n)) => Some(n),
        Some(V::S(s)) if s.trim().is_empty() => None,
        Some(V::S(s)) => Some(s.trim().parse().map_err(serde::de::Error::custom)?),
    })
}

/// An incident (`GET /api/incidents[/{id}]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// Unique id.
    pub incident_id: i64,
    /// Set when merged into another incident (then `status` is `Redirected`).
    #[serde(default)]
    pub redirect_incident_id: Option<i64>,
    /// Name, e.g. "Ransomware activity".
    #[serde(default)]
    pub incident_name: Option<String>,
    /// Creation time (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub created_time: OffsetDateTime,
    /// Last backend update (use for incremental polling).
    #[serde(with = "time::serde::rfc3339")]
    pub last_update_time: OffsetDateTime,
    /// Owner, `None` when unassigned.
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// Classification.
    #[serde(default)]
    pub classification: Option<Classification>,
    /// Determination.
    #[serde(default)]
    pub determination: Option<Determination>,
    /// Detection source (in the schema table, not in the JSON examples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection_source: Option<String>,
    /// Status.
    pub status: IncidentStatus,
    /// Severity.
    pub severity: Severity,
    /// Custom tags.
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<String>,
    /// Comments.
    #[serde(default, deserialize_with = "null_default")]
    pub comments: Vec<Comment>,
    /// Alerts with their devices and entities.
    #[serde(default, deserialize_with = "null_default")]
    pub alerts: Vec<Alert>,
    /// Incident-level entities (seen empty in recorded responses; undocumented).
    #[serde(default, deserialize_with = "null_default")]
    pub entities: Vec<Entity>,
}

/// A comment on an incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// Text.
    #[serde(default)]
    pub comment: Option<String>,
    /// Author.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Time (the resource table calls it `createTime`; JSON uses `createdTime`).
    #[serde(default, alias = "createTime", with = "time::serde::rfc3339::option")]
    pub created_time: Option<OffsetDateTime>,
}

/// An alert of an incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Id (string; `da…`, `ca…`, `fa…` prefixes seen).
    pub alert_id: String,
    /// Parent incident.
    #[serde(default)]
    pub incident_id: Option<i64>,
    /// Producing service, e.g. `MicrosoftDefenderForEndpoint`.
    #[serde(default)]
    pub service_source: Option<String>,
    /// Creation time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub creation_time: Option<OffsetDateTime>,
    /// Last update time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_updated_time: Option<OffsetDateTime>,
    /// Resolution time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub resolved_time: Option<OffsetDateTime>,
    /// First activity.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub first_activity: Option<OffsetDateTime>,
    /// Last activity.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_activity: Option<OffsetDateTime>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Category, e.g. `Malware`.
    #[serde(default)]
    pub category: Option<String>,
    /// Status.
    #[serde(default)]
    pub status: Option<AlertStatus>,
    /// Severity.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Automated investigation id.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub investigation_id: Option<i64>,
    /// Automated investigation state.
    #[serde(default)]
    pub investigation_state: Option<InvestigationState>,
    /// Classification.
    #[serde(default)]
    pub classification: Option<Classification>,
    /// Determination.
    #[serde(default)]
    pub determination: Option<Determination>,
    /// Detection source, e.g. `WindowsDefenderAv`.
    #[serde(default)]
    pub detection_source: Option<String>,
    /// Detector id (observed, undocumented).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detector_id: Option<String>,
    /// Owner.
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// Activity group, e.g. `BORON`.
    #[serde(default)]
    pub actor_name: Option<String>,
    /// Threat family, e.g. `Mimikatz`.
    #[serde(default)]
    pub threat_family_name: Option<String>,
    /// MITRE technique ids.
    #[serde(default, deserialize_with = "null_default")]
    pub mitre_techniques: Vec<String>,
    /// Devices involved.
    #[serde(default, deserialize_with = "null_default")]
    pub devices: Vec<Device>,
    /// Entities involved.
    #[serde(default, deserialize_with = "null_default")]
    pub entities: Vec<Entity>,
}

/// A device of an alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// Defender for Endpoint device id (the doc table calls it `DeviceId`).
    #[serde(default, alias = "deviceId", alias = "DeviceId")]
    pub mdatp_device_id: Option<String>,
    /// Entra device id.
    #[serde(default)]
    pub aad_device_id: Option<String>,
    /// FQDN.
    #[serde(default)]
    pub device_dns_name: Option<String>,
    /// OS platform, e.g. `Windows10`.
    #[serde(default)]
    pub os_platform: Option<String>,
    /// OS version, e.g. `1909`.
    #[serde(default)]
    pub version: Option<String>,
    /// Processor, e.g. `x64`.
    #[serde(default)]
    pub os_processor: Option<String>,
    /// OS build number.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub os_build: Option<i64>,
    /// Health, e.g. `Active`.
    #[serde(default)]
    pub health_status: Option<String>,
    /// Risk score, e.g. `High`.
    #[serde(default)]
    pub risk_score: Option<String>,
    /// RBAC group name.
    #[serde(default)]
    pub rbac_group_name: Option<String>,
    /// RBAC group id.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub rbac_group_id: Option<i64>,
    /// First seen.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub first_seen: Option<OffsetDateTime>,
    /// Device tags.
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<String>,
    /// AV status, e.g. `Updated`.
    #[serde(default)]
    pub defender_av_status: Option<String>,
    /// Onboarding status, e.g. `Onboarded`.
    #[serde(default)]
    pub onboarding_status: Option<String>,
    /// VM metadata (`vmId`, `cloudProvider`, `resourceId`, `subscriptionId`).
    #[serde(default)]
    pub vm_metadata: Option<serde_json::Value>,
}

/// An entity of an alert; fields not applicable to its `entity_type` are `None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    /// Entity type.
    #[serde(default)]
    pub entity_type: Option<EntityType>,
    /// File SHA-1.
    #[serde(default)]
    pub sha1: Option<String>,
    /// File SHA-256.
    #[serde(default)]
    pub sha256: Option<String>,
    /// File name.
    #[serde(default)]
    pub file_name: Option<String>,
    /// File path.
    #[serde(default)]
    pub file_path: Option<String>,
    /// Process id.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub process_id: Option<i64>,
    /// Process command line.
    #[serde(default)]
    pub process_command_line: Option<String>,
    /// Process creation time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub process_creation_time: Option<OffsetDateTime>,
    /// Parent process id.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub parent_process_id: Option<i64>,
    /// Parent process creation time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub parent_process_creation_time: Option<OffsetDateTime>,
    /// IP address.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Account name.
    #[serde(default)]
    pub account_name: Option<String>,
    /// Domain name.
    #[serde(default)]
    pub domain_name: Option<String>,
    /// User SID.
    #[serde(default)]
    pub user_sid: Option<String>,
    /// Entra user object id.
    #[serde(default)]
    pub aad_user_id: Option<String>,
    /// UPN.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// Mailbox display name.
    #[serde(default)]
    pub mailbox_display_name: Option<String>,
    /// Mailbox address.
    #[serde(default)]
    pub mailbox_address: Option<String>,
    /// Mail cluster grouping, e.g. `Subject;P2SenderDomain;ContentType`.
    #[serde(default)]
    pub cluster_by: Option<String>,
    /// Sender.
    #[serde(default)]
    pub sender: Option<String>,
    /// Recipient.
    #[serde(default)]
    pub recipient: Option<String>,
    /// Subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// Delivery action, e.g. `Delivered`.
    #[serde(default)]
    pub delivery_action: Option<String>,
    /// Security group id.
    #[serde(default)]
    pub security_group_id: Option<String>,
    /// Security group name.
    #[serde(default)]
    pub security_group_name: Option<String>,
    /// Registry hive.
    #[serde(default)]
    pub registry_hive: Option<String>,
    /// Registry key.
    #[serde(default)]
    pub registry_key: Option<String>,
    /// Registry value type.
    #[serde(default)]
    pub registry_value_type: Option<String>,
    /// Registry value.
    #[serde(default)]
    pub registry_value: Option<String>,
    /// Related device id.
    #[serde(default)]
    pub device_id: Option<String>,
}

/// The body of `PATCH /api/incidents/{id}`: only set fields are sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentUpdate {
    /// New status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<IncidentStatus>,
    /// New owner (`""` unassigns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    /// New classification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    /// New determination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub determination: Option<Determination>,
    /// The complete new tag list (replaces the old one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// A comment to append.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl IncidentUpdate {
    /// An empty update.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the status.
    pub fn status(mut self, status: IncidentStatus) -> Self {
        self.status = Some(status);
        self
    }
    /// Sets the owner.
    pub fn assigned_to(mut self, owner: impl Into<String>) -> Self {
        self.assigned_to = Some(owner.into());
        self
    }
    /// Sets the classification.
    pub fn classification(mut self, c: Classification) -> Self {
        self.classification = Some(c);
        self
    }
    /// Sets the determination.
    pub fn determination(mut self, d: Determination) -> Self {
        self.determination = Some(d);
        self
    }
    /// Replaces the tags.
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = Some(tags.into_iter().map(Into::into).collect());
        self
    }
    /// Appends a comment.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }
}

/// One output column of a hunting query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name.
    #[serde(rename = "Name")]
    pub name: String,
    /// .NET-style type name (`DateTime`, `String`, `Int64`, …).
    #[serde(rename = "Type")]
    pub r#type: String,
}

/// Response of `POST /api/advancedhunting/run`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HuntingResponse {
    /// Execution statistics (`ExecutionTime`, `resource_usage`, `dataset_statistics`).
    #[serde(rename = "Stats", default)]
    pub stats: serde_json::Value,
    /// Output columns in order.
    #[serde(rename = "Schema", default, deserialize_with = "null_default")]
    pub schema: Vec<Column>,
    /// One object per row, keyed by column name.
    #[serde(rename = "Results", default, deserialize_with = "null_default")]
    pub results: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// A page of `GET /api/incidents`.
#[derive(Debug, Deserialize)]
pub(crate) struct IncidentPage {
    #[serde(default, deserialize_with = "null_default")]
    pub value: Vec<Incident>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shape of the Microsoft docs' list-incidents example, with the observed extra fields.
    pub(crate) const DOC_INCIDENT: &str = r#"{
        "incidentId": 924565,
        "redirectIncidentId": null,
        "incidentName": "Ransomware activity",
        "createdTime": "2020-09-06T14:46:57.0733333Z",
        "lastUpdateTime": "2020-09-06T14:46:57.29Z",
        "assignedTo": null,
        "classification": "Unknown",
        "determination": "NotAvailable",
        "status": "Active",
        "severity": "UnSpecified",
        "tags": [],
        "comments": [{"comment": "test comment for docs", "createdBy": "secop123@contoso.com", "createdTime": "2021-01-26T01:00:37.8404534Z"}],
        "alerts": [{
            "alertId": "da637349914833441527_393341063",
            "incidentId": 924565,
            "serviceSource": "MicrosoftDefenderATP",
            "creationTime": "2020-09-06T14:46:55.7182276Z",
            "lastUpdatedTime": "2020-09-06T14:46:57.2433333Z",
            "resolvedTime": null,
            "firstActivity": "2020-09-04T05:22:59Z",
            "lastActivity": "2020-09-04T05:22:59Z",
            "title": "Ransomware behavior detected in the file system",
            "description": "Malware and unwanted software are undesirable applications...",
            "category": "Impact",
            "status": "Active",
            "severity": "Informational",
            "investigationId": null,
            "investigationState": "UnsupportedOs",
            "classification": null,
            "determination": null,
            "detectionSource": "WindowsDefenderAv",
            "detectorId": "7f1c3609-a3ff-40e2-995b-c01770161d68",
            "assignedTo": "Automation",
            "actorName": null,
            "threatFamilyName": null,
            "mitreTechniques": ["T1564.001"],
            "devices": [{
                "mdatpDeviceId": "7beac84d4f6fc0ac24b77e6a9cbf3f0a2fb2d06f",
                "aadDeviceId": null,
                "deviceDnsName": "xxx1.contoso.com",
                "osPlatform": "WindowsServer2016",
                "version": "1607",
                "osProcessor": "x64",
                "osBuild": 14393,
                "healthStatus": "Active",
                "riskScore": "High",
                "rbacGroupName": "WDATP-Ring0",
                "rbacGroupId": 45,
                "firstSeen": "2020-02-06T14:16:01.9330135Z",
                "tags": [],
                "defenderAvStatus": "Updated",
                "onboardingStatus": "Onboarded",
                "vmMetadata": null
            }],
            "entities": [{
                "entityType": "User",
                "sha1": null, "sha256": null, "fileName": null, "filePath": null,
                "processId": null, "processCommandLine": null, "processCreationTime": null,
                "parentProcessId": null, "parentProcessCreationTime": null,
                "ipAddress": null, "url": null, "registryKey": null, "registryHive": null,
                "registryValueType": null, "registryValue": null,
                "accountName": "admin2", "domainName": "contoso.com",
                "userSid": "S-1-5-21-1721254763-462695806-1538882281-4156657",
                "aadUserId": "44e8c3f4-76ef-4b7b-9b88-a7a2e0a2b1c3",
                "userPrincipalName": "admin2@contoso.com",
                "mailboxDisplayName": null, "mailboxAddress": null, "clusterBy": null,
                "sender": null, "recipient": null, "subject": null, "deliveryAction": null,
                "securityGroupId": null, "securityGroupName": null, "deviceId": null
            }, {
                "entityType": "Process",
                "sha1": "5de839186691aa96ee2ca6d74f0a38fb8d1bd6dd",
                "fileName": "notepad.exe",
                "filePath": "C:\\Windows\\System32",
                "processId": 3276,
                "processCommandLine": "notepad.exe c:\\temp\\file.txt",
                "processCreationTime": "2020-07-18T03:25:38.5269993Z",
                "parentProcessId": "8604",
                "parentProcessCreationTime": "2020-07-18T03:25:38.5269993Z"
            }, {
                "entityType": "SomethingNew"
            }]
        }],
        "entities": []
    }"#;

    #[test]
    fn deserializes_doc_incident() {
        let inc: Incident = serde_json::from_str(DOC_INCIDENT).expect("incident");
        assert_eq!(inc.incident_id, 924565);
        assert_eq!(inc.status, IncidentStatus::Active);
        assert_eq!(inc.severity, Severity::UnSpecified);
        assert_eq!(inc.classification, Some(Classification::Unknown));
        assert_eq!(inc.determination, Some(Determination::NotAvailable));
        assert_eq!(inc.created_time.nanosecond(), 73_333_300);
        assert_eq!(
            inc.comments[0].created_by.as_deref(),
            Some("secop123@contoso.com")
        );
        let alert = &inc.alerts[0];
        assert_eq!(
            alert.investigation_state,
            Some(InvestigationState::UnsupportedOs)
        );
        assert_eq!(alert.classification, None);
        assert_eq!(alert.devices[0].os_build, Some(14393));
        assert_eq!(alert.entities[0].entity_type, Some(EntityType::User));
        assert_eq!(alert.entities[1].parent_process_id, Some(8604));
        assert_eq!(
            alert.entities[2].entity_type,
            Some(EntityType::Unrecognized("SomethingNew".into()))
        );
        // Round trip keeps the data.
        let back: Incident =
            serde_json::from_value(serde_json::to_value(&inc).expect("ser")).expect("de");
        assert_eq!(back, inc);
    }

    #[test]
    fn enums_accept_aliases_and_unknown_values() {
        assert_eq!(
            Determination::parse("CompromisedUser"),
            Determination::CompromisedAccount
        );
        assert_eq!(
            Determination::parse("InsufficientData").as_str(),
            "NoEnoughDataToValidate"
        );
        assert_eq!(Determination::parse("Other"), Determination::Other);
        assert_eq!(Severity::parse("unspecified"), Severity::UnSpecified);
        let s: IncidentStatus = serde_json::from_str(r#""Snoozed""#).expect("open enum");
        assert_eq!(s, IncidentStatus::Unrecognized("Snoozed".into()));
        assert_eq!(serde_json::to_string(&s).expect("ser"), r#""Snoozed""#);
        assert_eq!(
            Classification::parse("InformationalExpectedActivity"),
            Classification::InformationalExpectedActivity
        );
    }

    #[test]
    fn update_sends_only_set_fields() {
        let u = IncidentUpdate::new()
            .status(IncidentStatus::Resolved)
            .classification(Classification::TruePositive)
            .determination(Determination::Malware)
            .tags(["a", "b"])
            .comment("pen testing");
        let v = serde_json::to_value(&u).expect("ser");
        assert_eq!(
            v,
            serde_json::json!({"status":"Resolved","classification":"TruePositive",
                "determination":"Malware","tags":["a","b"],"comment":"pen testing"})
        );
        let v = serde_json::to_value(IncidentUpdate::new().assigned_to("")).expect("ser");
        assert_eq!(v, serde_json::json!({"assignedTo":""}));
    }

    #[test]
    fn hunting_response_shape() {
        let body = r#"{"Stats":{"ExecutionTime":4.621215,"resource_usage":{"cpu":{"total cpu":"00:00:19.0625000"}}},
            "Schema":[{"Name":"Timestamp","Type":"DateTime"},{"Name":"FileName","Type":"String"}],
            "Results":[{"Timestamp":"2020-08-30T06:38:35.7664356Z","FileName":"conhost.exe"}]}"#;
        let r: HuntingResponse = serde_json::from_str(body).expect("hunting");
        assert_eq!(r.schema[0].name, "Timestamp");
        assert_eq!(r.schema[0].r#type, "DateTime");
        assert_eq!(r.results[0]["FileName"], "conhost.exe");
        assert_eq!(r.stats["ExecutionTime"], 4.621215);
    }

    #[test]
    fn page_with_and_without_next_link() {
        let p: IncidentPage = serde_json::from_str(
            r#"{"@odata.context":"x","value":[],"@odata.nextLink":"https://h/api/incidents?$skip=100"}"#,
        )
        .expect("page");
        assert!(p.value.is_empty());
        assert!(p.next_link.is_some());
        let p: IncidentPage = serde_json::from_str(r#"{"value":null}"#).expect("page");
        assert!(p.next_link.is_none());
    }
}
