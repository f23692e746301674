//! The incident resource on the wire (spec §5): incident, alerts, devices, entities, and
//! the enumerations with their aliases.

use palisade_store::{format_incident_time, IncidentRow};
use serde::{Deserialize, Serialize};

/// Base of `@odata.context`.
pub const ODATA_METADATA: &str = "https://api.security.microsoft.com/api/$metadata";

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses a value case-insensitively, accepting documented aliases.
            pub fn parse(s: &str) -> Option<Self> {
                $(
                    if s.eq_ignore_ascii_case($text) $(|| s.eq_ignore_ascii_case($alias))* {
                        return Some($name::$variant);
                    }
                )+
                None
            }

            /// The canonical spellings, comma separated (for error messages).
            pub fn allowed() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// Incident `status`.
    IncidentStatus {
        /// `Active`.
        Active = "Active",
        /// `InProgress` (2024 docs).
        InProgress = "InProgress",
        /// `Resolved`.
        Resolved = "Resolved",
        /// `Redirected` (merged into another incident).
        Redirected = "Redirected",
    }
}

wire_enum! {
    /// Incident / alert `severity`.
    Severity {
        /// `UnSpecified`.
        UnSpecified = "UnSpecified" | "unknown",
        /// `Informational`.
        Informational = "Informational",
        /// `Low`.
        Low = "Low",
        /// `Medium`.
        Medium = "Medium",
        /// `High`.
        High = "High",
    }
}

wire_enum! {
    /// `classification`, old and 2024 sets.
    Classification {
        /// `Unknown` (unclassified).
        Unknown = "Unknown",
        /// `FalsePositive`.
        FalsePositive = "FalsePositive",
        /// `TruePositive`.
        TruePositive = "TruePositive",
        /// `InformationalExpectedActivity` (2024).
        InformationalExpectedActivity = "InformationalExpectedActivity",
    }
}

wire_enum! {
    /// `determination`, old and 2024 sets, emitted in the update-doc spelling with the
    /// incident-doc / Graph / integration spellings accepted as aliases.
    Determination {
        /// `NotAvailable` (nothing determined).
        NotAvailable = "NotAvailable" | "Unknown",
        /// `Apt` (old; no longer settable through the API since Aug 2022).
        Apt = "Apt",
        /// `Malware`.
        Malware = "Malware",
        /// `SecurityPersonnel` (old; no longer settable through the API since Aug 2022).
        SecurityPersonnel = "SecurityPersonnel",
        /// `SecurityTesting`.
        SecurityTesting = "SecurityTesting",
        /// `UnwantedSoftware`.
        UnwantedSoftware = "UnwantedSoftware",
        /// `Other`.
        Other = "Other",
        /// `MultiStagedAttack`.
        MultiStagedAttack = "MultiStagedAttack",
        /// `MaliciousUserActivity`.
        MaliciousUserActivity = "MaliciousUserActivity",
        /// `CompromisedAccount` (alias `CompromisedUser`).
        CompromisedAccount = "CompromisedAccount" | "CompromisedUser",
        /// `Phishing`.
        Phishing = "Phishing",
        /// `LineOfBusinessApplication`.
        LineOfBusinessApplication = "LineOfBusinessApplication",
        /// `ConfirmedActivity` (alias `ConfirmedUserActivity`).
        ConfirmedActivity = "ConfirmedActivity" | "ConfirmedUserActivity",
        /// `Clean` (alias `NotMalicious`).
        Clean = "Clean" | "NotMalicious",
        /// `NoEnoughDataToValidate` (alias `InsufficientData`).
        NoEnoughDataToValidate = "NoEnoughDataToValidate" | "InsufficientData" | "NotEnoughDataToValidate",
    }
}

impl Determination {
    /// Values no longer settable through the API (still returned for old incidents).
    pub fn is_retired(self) -> bool {
        matches!(self, Determination::Apt | Determination::SecurityPersonnel)
    }

    /// Whether this determination may accompany `classification`.
    ///
    /// Policy (spec §5.5/§8 conflict): the old rule "determination only with TruePositive"
    /// is kept for the old determinations, and the 2024 per-classification lists are
    /// applied for the new ones:
    /// - `TruePositive`: MultiStagedAttack, MaliciousUserActivity, CompromisedAccount,
    ///   Malware, Phishing, UnwantedSoftware, Other, and the old SecurityTesting, Apt,
    ///   SecurityPersonnel;
    /// - `InformationalExpectedActivity`: SecurityTesting, LineOfBusinessApplication,
    ///   ConfirmedActivity, Other;
    /// - `FalsePositive`: Clean, NoEnoughDataToValidate, Other;
    /// - `Unknown`: none.
    ///
    /// `NotAvailable` goes with every classification.
    pub fn allowed_with(self, classification: Classification) -> bool {
        use Determination as D;
        if self == D::NotAvailable {
            return true;
        }
        match classification {
            Classification::TruePositive => matches!(
                self,
                D::MultiStagedAttack
                    | D::MaliciousUserActivity
                    | D::CompromisedAccount
                    | D::Malware
                    | D::Phishing
                    | D::UnwantedSoftware
                    | D::Other
                    | D::SecurityTesting
                    | D::Apt
                    | D::SecurityPersonnel
            ),
            Classification::InformationalExpectedActivity => {
                matches!(
                    self,
                    D::SecurityTesting
                        | D::LineOfBusinessApplication
                        | D::ConfirmedActivity
                        | D::Other
                )
            }
            Classification::FalsePositive => {
                matches!(self, D::Clean | D::NoEnoughDataToValidate | D::Other)
            }
            Classification::Unknown => false,
        }
    }

    /// The determinations allowed with `classification`, comma separated.
    pub fn allowed_for(classification: Classification) -> String {
        Self::ALL
            .iter()
            .filter(|d| !d.is_retired() && d.allowed_with(classification))
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One comment on an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// Text.
    pub comment: String,
    /// Author.
    pub created_by: String,
    /// ISO-8601 UTC.
    pub created_time: String,
}

/// An alert (spec §5.2). Timestamps are ISO-8601 UTC strings with seven fractional digits.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `alertId`.
    pub alert_id: String,
    /// `incidentId` (filled from the parent incident when rendered).
    pub incident_id: Option<i64>,
    /// `serviceSource`.
    pub service_source: String,
    /// `creationTime`.
    pub creation_time: String,
    /// `lastUpdatedTime`.
    pub last_updated_time: String,
    /// `resolvedTime`.
    pub resolved_time: Option<String>,
    /// `firstActivity`.
    pub first_activity: String,
    /// `lastActivity`.
    pub last_activity: String,
    /// `title`.
    pub title: String,
    /// `description`.
    pub description: String,
    /// `category`.
    pub category: String,
    /// `status` (`New`, `Active`, `InProgress`, `Resolved`).
    pub status: String,
    /// `severity`.
    pub severity: String,
    /// `investigationId`.
    pub investigation_id: Option<i64>,
    /// `investigationState`.
    pub investigation_state: String,
    /// `classification`.
    pub classification: Option<String>,
    /// `determination`.
    pub determination: Option<String>,
    /// `detectionSource`.
    pub detection_source: String,
    /// `detectorId`.
    pub detector_id: String,
    /// `assignedTo`.
    pub assigned_to: Option<String>,
    /// `actorName`.
    pub actor_name: Option<String>,
    /// `threatFamilyName`.
    pub threat_family_name: Option<String>,
    /// `mitreTechniques`.
    pub mitre_techniques: Vec<String>,
    /// `devices`.
    pub devices: Vec<Device>,
    /// `entities`.
    pub entities: Vec<Entity>,
}

/// A device (spec §5.3).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// `mdatpDeviceId` (40 hex characters).
    pub mdatp_device_id: String,
    /// `aadDeviceId`.
    pub aad_device_id: Option<String>,
    /// `deviceDnsName`.
    pub device_dns_name: String,
    /// `osPlatform`.
    pub os_platform: String,
    /// `version`.
    pub version: String,
    /// `osProcessor`.
    pub os_processor: String,
    /// `osBuild`.
    pub os_build: i64,
    /// `healthStatus`.
    pub health_status: String,
    /// `riskScore`.
    pub risk_score: String,
    /// `rbacGroupName`.
    pub rbac_group_name: Option<String>,
    /// `rbacGroupId`.
    pub rbac_group_id: Option<i64>,
    /// `firstSeen`.
    pub first_seen: String,
    /// `tags`.
    pub tags: Vec<String>,
    /// `defenderAvStatus`.
    pub defender_av_status: String,
    /// `onboardingStatus`.
    pub onboarding_status: String,
    /// `vmMetadata`.
    pub vm_metadata: Option<serde_json::Value>,
}

/// The distinct MDE device ids the alerts name, lower case (what device-group scoping of
/// incidents reads).
pub fn device_ids(alerts: &[Alert]) -> Vec<String> {
    let mut ids: Vec<String> = alerts
        .iter()
        .flat_map(|a| a.devices.iter())
        .map(|d| d.mdatp_device_id.to_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// An entity (spec §5.4): every key is always present, `null` where not applicable.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    /// `entityType`: `User`, `Ip`, `Url`, `File`, `Process`, `MailBox`, `MailMessage`,
    /// `MailCluster`, `Registry`, `SecurityGroup`.
    pub entity_type: String,
    /// `sha1`.
    pub sha1: Option<String>,
    /// `sha256`.
    pub sha256: Option<String>,
    /// `fileName`.
    pub file_name: Option<String>,
    /// `filePath`.
    pub file_path: Option<String>,
    /// `processId`.
    pub process_id: Option<i64>,
    /// `processCommandLine`.
    pub process_command_line: Option<String>,
    /// `processCreationTime`.
    pub process_creation_time: Option<String>,
    /// `parentProcessId`.
    pub parent_process_id: Option<i64>,
    /// `parentProcessCreationTime`.
    pub parent_process_creation_time: Option<String>,
    /// `ipAddress`.
    pub ip_address: Option<String>,
    /// `url`.
    pub url: Option<String>,
    /// `registryKey`.
    pub registry_key: Option<String>,
    /// `registryHive`.
    pub registry_hive: Option<String>,
    /// `registryValueType`.
    pub registry_value_type: Option<String>,
    /// `registryValue`.
    pub registry_value: Option<String>,
    /// `accountName`.
    pub account_name: Option<String>,
    /// `domainName`.
    pub domain_name: Option<String>,
    /// `userSid`.
    pub user_sid: Option<String>,
    /// `aadUserId`.
    pub aad_user_id: Option<String>,
    /// `userPrincipalName`.
    pub user_principal_name: Option<String>,
    /// `mailboxDisplayName`.
    pub mailbox_display_name: Option<String>,
    /// `mailboxAddress`.
    pub mailbox_address: Option<String>,
    /// `clusterBy`.
    pub cluster_by: Option<String>,
    /// `sender`.
    pub sender: Option<String>,
    /// `recipient`.
    pub recipient: Option<String>,
    /// `subject`.
    pub subject: Option<String>,
    /// `deliveryAction`.
    pub delivery_action: Option<String>,
    /// `securityGroupId`.
    pub security_group_id: Option<String>,
    /// `securityGroupName`.
    pub security_group_name: Option<String>,
    /// `deviceId`.
    pub device_id: Option<String>,
}

/// An incident as the API returns it (spec §5.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// `incidentId`.
    pub incident_id: i64,
    /// `redirectIncidentId`.
    pub redirect_incident_id: Option<i64>,
    /// `incidentName`.
    pub incident_name: String,
    /// `createdTime`.
    pub created_time: String,
    /// `lastUpdateTime`.
    pub last_update_time: String,
    /// `assignedTo`.
    pub assigned_to: Option<String>,
    /// `classification`.
    pub classification: String,
    /// `determination`.
    pub determination: String,
    /// `detectionSource`.
    pub detection_source: Option<String>,
    /// `status`.
    pub status: String,
    /// `severity`.
    pub severity: String,
    /// `tags`.
    pub tags: Vec<String>,
    /// `comments`.
    pub comments: Vec<Comment>,
    /// `alerts`.
    pub alerts: Vec<Alert>,
    /// `entities` (incident level; empty, as in recorded responses).
    pub entities: Vec<Entity>,
}

/// Why a stored incident could not be rendered.
#[derive(Debug, thiserror::Error)]
#[error("stored alerts of incident {incident_id} are unreadable: {source}")]
pub struct RenderError {
    /// The incident.
    pub incident_id: i64,
    /// The JSON error.
    #[source]
    pub source: serde_json::Error,
}

impl Incident {
    /// Renders a stored incident.
    pub fn from_row(row: &IncidentRow) -> Result<Self, RenderError> {
        let mut alerts: Vec<Alert> =
            serde_json::from_str(&row.alerts_json).map_err(|source| RenderError {
                incident_id: row.incident_id,
                source,
            })?;
        for a in &mut alerts {
            a.incident_id = Some(row.incident_id);
        }
        Ok(Self {
            incident_id: row.incident_id,
            redirect_incident_id: row.redirect_incident_id,
            incident_name: row.incident_name.clone(),
            created_time: format_incident_time(row.created_time),
            last_update_time: format_incident_time(row.last_update_time),
            assigned_to: row.assigned_to.clone(),
            classification: row.classification.clone(),
            determination: row.determination.clone(),
            detection_source: row.detection_source.clone(),
            status: row.status.clone(),
            severity: row.severity.clone(),
            tags: row.tags.clone(),
            comments: row
                .comments
                .iter()
                .map(|c| Comment {
                    comment: c.comment.clone(),
                    created_by: c.created_by.clone(),
                    created_time: format_incident_time(c.created_time),
                })
                .collect(),
            alerts,
            entities: Vec::new(),
        })
    }
}

/// `{"@odata.context": "…#Incidents/$entity", …incident}`.
#[derive(Debug, Serialize)]
pub struct IncidentEntity<'a> {
    /// The context URL.
    #[serde(rename = "@odata.context")]
    pub context: String,
    /// The incident's properties, inline.
    #[serde(flatten)]
    pub incident: &'a Incident,
}

impl<'a> IncidentEntity<'a> {
    /// Wraps an incident.
    pub fn new(incident: &'a Incident) -> Self {
        Self {
            context: format!("{ODATA_METADATA}#Incidents/$entity"),
            incident,
        }
    }
}

/// `{"@odata.context": "…#Incidents", "value": […], "@odata.nextLink"?: …}`.
#[derive(Debug, Serialize)]
pub struct IncidentCollection {
    /// The context URL.
    #[serde(rename = "@odata.context")]
    pub context: String,
    /// The page.
    pub value: Vec<Incident>,
    /// The next page, when more remain.
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_aliases() {
        assert_eq!(
            IncidentStatus::parse("inprogress"),
            Some(IncidentStatus::InProgress)
        );
        assert_eq!(IncidentStatus::parse("Closed"), None);
        assert_eq!(
            Determination::parse("CompromisedUser"),
            Some(Determination::CompromisedAccount)
        );
        assert_eq!(
            Determination::parse("confirmedUserActivity"),
            Some(Determination::ConfirmedActivity)
        );
        assert_eq!(
            Determination::parse("InsufficientData"),
            Some(Determination::NoEnoughDataToValidate)
        );
        assert_eq!(
            Determination::parse("multiStagedAttack").map(|d| d.as_str()),
            Some("MultiStagedAttack")
        );
        assert_eq!(
            Classification::parse("informationalExpectedActivity"),
            Some(Classification::InformationalExpectedActivity)
        );
        assert_eq!(Severity::parse("high"), Some(Severity::High));
    }

    #[test]
    fn determination_matrix() {
        use Classification as C;
        use Determination as D;
        assert!(D::Malware.allowed_with(C::TruePositive));
        assert!(!D::Malware.allowed_with(C::FalsePositive));
        assert!(D::NoEnoughDataToValidate.allowed_with(C::FalsePositive));
        assert!(D::SecurityTesting.allowed_with(C::InformationalExpectedActivity));
        assert!(D::SecurityTesting.allowed_with(C::TruePositive));
        assert!(!D::Clean.allowed_with(C::Unknown));
        assert!(D::NotAvailable.allowed_with(C::Unknown));
        assert_eq!(
            D::allowed_for(C::FalsePositive),
            "NotAvailable, Other, Clean, NoEnoughDataToValidate"
        );
    }

    #[test]
    fn entity_serialises_every_key() {
        let e = Entity {
            entity_type: "Ip".into(),
            ip_address: Some("10.0.0.1".into()),
            ..Default::default()
        };
        let v = serde_json::to_value(&e).expect("json");
        let obj = v.as_object().expect("object");
        assert_eq!(obj.len(), 31);
        assert!(obj["sha1"].is_null());
        assert_eq!(obj["ipAddress"], "10.0.0.1");
    }
}
