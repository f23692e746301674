//! Incidents and what they hold (alerts, devices, entities, comments), and the body of
//! an incident update.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::enums::{
    AlertStatus, Classification, Determination, EntityType, IncidentStatus, InvestigationState,
    Severity,
};
use super::{lenient_i64, null_default};

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

/// A page of `GET /api/incidents`.
#[derive(Debug, Deserialize)]
pub(crate) struct IncidentPage {
    #[serde(default, deserialize_with = "null_default")]
    pub value: Vec<Incident>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}
