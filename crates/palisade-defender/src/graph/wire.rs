//! The Graph security resources on the wire (graph.md §2–§3): incidents and alerts rendered
//! from the one incident store, and the enum spellings both ways. Stored values keep the
//! Defender API's PascalCase; Graph reads and writes camelCase (input case-insensitive,
//! old determination names accepted, graph.md §2.2).
//!
//! [inferred] mappings, written down here:
//! - alert status `Active` (a Defender-only value) reads as `inProgress`; `Unknown` as
//!   `unknown`;
//! - Defender `serviceSource`/`detectionSource` names map to Graph's members by the table
//!   below; names outside it read as `unknown`;
//! - app-only comments record the application id as `createdByDisplayName` (Graph prints
//!   `API-App:<display name>`; the Defender API's `createdBy` has always been the app id
//!   here, and both views read the same comment).

use super::evidence::{evidence, member};
use super::Version;
use crate::model::{Alert, Classification, Determination, IncidentStatus, Severity};
use palisade_store::{format_incident_time, IncidentRow};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Graph `alertDetermination` members a client may set (CSDL names).
pub(crate) const DETERMINATIONS: &[&str] = &[
    "unknown",
    "malware",
    "securityTesting",
    "unwantedSoftware",
    "other",
    "multiStagedAttack",
    "compromisedAccount",
    "phishing",
    "maliciousUserActivity",
    "notMalicious",
    "notEnoughDataToValidate",
    "confirmedActivity",
    "lineOfBusinessApplication",
];

/// `(stored Defender name, Graph serviceSource)`; the first row of a Graph name is the one
/// a Graph filter or write stores.
const SERVICE_SOURCE_MAP: &[(&str, &str)] = &[
    (
        "MicrosoftDefenderForEndpoint",
        "microsoftDefenderForEndpoint",
    ),
    ("MicrosoftDefenderATP", "microsoftDefenderForEndpoint"),
    (
        "AzureAdvancedThreatProtection",
        "microsoftDefenderForIdentity",
    ),
    (
        "MicrosoftDefenderForIdentity",
        "microsoftDefenderForIdentity",
    ),
    ("MicrosoftCloudAppSecurity", "microsoftDefenderForCloudApps"),
    (
        "MicrosoftDefenderForCloudApps",
        "microsoftDefenderForCloudApps",
    ),
    ("OfficeATP", "microsoftDefenderForOffice365"),
    (
        "MicrosoftDefenderForOffice365",
        "microsoftDefenderForOffice365",
    ),
    ("Microsoft365Defender", "microsoft365Defender"),
    ("AzureAdIdentityProtection", "azureAdIdentityProtection"),
    ("MicrosoftAppGovernance", "microsoftAppGovernance"),
    ("DataLossPrevention", "dataLossPrevention"),
];

/// Graph `serviceSource` members (before `unknownFutureValue`).
pub(crate) const SERVICE_SOURCES: &[&str] = &[
    "unknown",
    "microsoftDefenderForEndpoint",
    "microsoftDefenderForIdentity",
    "microsoftDefenderForCloudApps",
    "microsoftDefenderForOffice365",
    "microsoft365Defender",
    "azureAdIdentityProtection",
    "microsoftAppGovernance",
    "dataLossPrevention",
];

const DETECTION_SOURCE_MAP: &[(&str, &str)] = &[
    ("WindowsDefenderAtp", "microsoftDefenderForEndpoint"),
    ("EDR", "microsoftDefenderForEndpoint"),
    ("WindowsDefenderAv", "antivirus"),
    ("WindowsDefenderSmartScreen", "smartScreen"),
    ("CustomerTI", "customTi"),
    ("OfficeATP", "microsoftDefenderForOffice365"),
    ("AutomatedInvestigation", "automatedInvestigation"),
    ("ThreatExperts", "microsoftThreatExperts"),
    ("CustomDetection", "customDetection"),
    ("AzureATP", "microsoftDefenderForIdentity"),
    ("MCAS", "cloudAppSecurity"),
    ("MTP", "microsoft365Defender"),
    ("AAD", "azureAdIdentityProtection"),
    ("Manual", "manual"),
    ("DLP", "microsoftDataLossPrevention"),
];

const INVESTIGATION_STATES: &[&str] = &[
    "unknown",
    "terminated",
    "successfullyRemediated",
    "benign",
    "failed",
    "partiallyRemediated",
    "running",
    "pendingApproval",
    "pendingResource",
    "queued",
    "innerFailure",
    "preexistingAlert",
    "unsupportedOs",
    "unsupportedAlertType",
    "suppressedAlert",
    "partiallyInvestigated",
    "terminatedByUser",
    "terminatedBySystem",
];

/// Graph `incidentStatus` of a stored status.
pub(crate) fn incident_status(stored: &str) -> &'static str {
    match IncidentStatus::parse(stored) {
        Some(IncidentStatus::Active) => "active",
        Some(IncidentStatus::InProgress) => "inProgress",
        Some(IncidentStatus::Resolved) => "resolved",
        Some(IncidentStatus::Redirected) => "redirected",
        None => "unknownFutureValue",
    }
}

/// Graph `alertSeverity` of a stored severity.
pub(crate) fn severity(stored: &str) -> &'static str {
    match Severity::parse(stored) {
        Some(Severity::Informational) => "informational",
        Some(Severity::Low) => "low",
        Some(Severity::Medium) => "medium",
        Some(Severity::High) => "high",
        Some(Severity::UnSpecified) | None => "unknown",
    }
}

/// Graph `alertClassification` of a stored classification.
pub(crate) fn classification(stored: &str) -> &'static str {
    match Classification::parse(stored) {
        Some(Classification::FalsePositive) => "falsePositive",
        Some(Classification::TruePositive) => "truePositive",
        Some(Classification::InformationalExpectedActivity) => "informationalExpectedActivity",
        Some(Classification::Unknown) | None => "unknown",
    }
}

/// Graph `alertDetermination` (CSDL names) of a stored determination.
pub(crate) fn determination(stored: &str) -> &'static str {
    use Determination as D;
    match Determination::parse(stored) {
        Some(D::NotAvailable) | None => "unknown",
        Some(D::Apt) => "apt",
        Some(D::Malware) => "malware",
        Some(D::SecurityPersonnel) => "securityPersonnel",
        Some(D::SecurityTesting) => "securityTesting",
        Some(D::UnwantedSoftware) => "unwantedSoftware",
        Some(D::Other) => "other",
        Some(D::MultiStagedAttack) => "multiStagedAttack",
        Some(D::MaliciousUserActivity) => "maliciousUserActivity",
        Some(D::CompromisedAccount) => "compromisedAccount",
        Some(D::Phishing) => "phishing",
        Some(D::LineOfBusinessApplication) => "lineOfBusinessApplication",
        Some(D::ConfirmedActivity) => "confirmedActivity",
        Some(D::Clean) => "notMalicious",
        Some(D::NoEnoughDataToValidate) => "notEnoughDataToValidate",
    }
}

/// Graph `alertStatus` of a stored alert status.
pub(crate) fn alert_status(stored: &str) -> &'static str {
    match stored.to_ascii_lowercase().as_str() {
        "new" => "new",
        "inprogress" | "active" => "inProgress",
        "resolved" => "resolved",
        _ => "unknown",
    }
}

/// The stored alert status of a Graph `alertStatus` (case-insensitive).
pub(crate) fn alert_status_from_graph(graph: &str) -> Option<&'static str> {
    match graph.to_ascii_lowercase().as_str() {
        "new" => Some("New"),
        "inprogress" => Some("InProgress"),
        "resolved" => Some("Resolved"),
        "unknown" => Some("Unknown"),
        _ => None,
    }
}

/// Graph `serviceSource` of a stored one.
pub(crate) fn service_source(stored: &str) -> &'static str {
    SERVICE_SOURCE_MAP
        .iter()
        .find(|(d, _)| d.eq_ignore_ascii_case(stored))
        .map(|(_, g)| *g)
        .unwrap_or_else(|| member(stored, SERVICE_SOURCES, "unknown"))
}

/// The stored name of a Graph `serviceSource`.
pub(crate) fn service_source_from_graph(graph: &str) -> Option<&'static str> {
    SERVICE_SOURCE_MAP
        .iter()
        .find(|(_, g)| g.eq_ignore_ascii_case(graph))
        .map(|(d, _)| *d)
}

fn detection_source(stored: &str) -> &'static str {
    DETECTION_SOURCE_MAP
        .iter()
        .find(|(d, _)| d.eq_ignore_ascii_case(stored))
        .map(|(_, g)| *g)
        .unwrap_or("unknown")
}

fn product_name(graph_service_source: &str) -> Value {
    match graph_service_source {
        "microsoftDefenderForEndpoint" => json!("Microsoft Defender for Endpoint"),
        "microsoftDefenderForIdentity" => json!("Microsoft Defender for Identity"),
        "microsoftDefenderForCloudApps" => json!("Microsoft Defender for Cloud Apps"),
        "microsoftDefenderForOffice365" => json!("Microsoft Defender for Office 365"),
        "microsoft365Defender" => json!("Microsoft Defender XDR"),
        _ => Value::Null,
    }
}

/// `https://security.microsoft.com/incident2/{id}/overview?tid={tenant}` (graph.md §1).
pub(crate) fn incident_web_url(tenant_id: &str, id: i64) -> String {
    format!("https://security.microsoft.com/incident2/{id}/overview?tid={tenant_id}")
}

/// A stored alert document whose JSON does not parse; the incident id says which.
#[derive(Debug, thiserror::Error)]
#[error("incident {incident_id}: stored alerts are not valid: {source}")]
pub(crate) struct BadAlerts {
    incident_id: i64,
    source: serde_json::Error,
}

/// The stored alert documents of an incident, kept as JSON so Graph-only keys (`comments`)
/// survive an update.
pub(crate) fn alert_documents(row: &IncidentRow) -> Result<Vec<Value>, BadAlerts> {
    serde_json::from_str(&row.alerts_json).map_err(|source| BadAlerts {
        incident_id: row.incident_id,
        source,
    })
}

/// A Graph `alertComment` list from the stored `comments` key of an alert document.
fn alert_comments(doc: &Value) -> Value {
    match doc.get("comments") {
        Some(Value::Array(items)) => Value::Array(items.clone()),
        _ => json!([]),
    }
}

/// Renders one stored alert document as a Graph alert.
pub(crate) fn alert(
    doc: &Value,
    tenant_id: &str,
    incident_id: i64,
) -> Result<Value, serde_json::Error> {
    let a = Alert::deserialize(doc)?;
    let service = service_source(&a.service_source);
    let provider_id = a.alert_id.get(2..).unwrap_or(&a.alert_id).to_string();
    let mut out = Map::new();
    out.insert("id".into(), json!(a.alert_id));
    out.insert("providerAlertId".into(), json!(provider_id));
    out.insert("incidentId".into(), json!(incident_id.to_string()));
    out.insert("status".into(), json!(alert_status(&a.status)));
    out.insert("severity".into(), json!(severity(&a.severity)));
    out.insert(
        "classification".into(),
        a.classification
            .as_deref()
            .map_or(Value::Null, |c| json!(classification(c))),
    );
    out.insert(
        "determination".into(),
        a.determination
            .as_deref()
            .map_or(Value::Null, |d| json!(determination(d))),
    );
    out.insert("serviceSource".into(), json!(service));
    out.insert(
        "detectionSource".into(),
        json!(detection_source(&a.detection_source)),
    );
    out.insert("productName".into(), product_name(service));
    out.insert("detectorId".into(), json!(a.detector_id));
    out.insert("tenantId".into(), json!(tenant_id));
    out.insert("title".into(), json!(a.title));
    out.insert("description".into(), json!(a.description));
    out.insert("recommendedActions".into(), json!(""));
    out.insert("category".into(), json!(a.category));
    out.insert("assignedTo".into(), json!(a.assigned_to));
    out.insert(
        "alertWebUrl".into(),
        json!(format!(
            "https://security.microsoft.com/alerts/{}?tid={tenant_id}",
            a.alert_id
        )),
    );
    out.insert(
        "incidentWebUrl".into(),
        json!(incident_web_url(tenant_id, incident_id)),
    );
    out.insert("actorDisplayName".into(), json!(a.actor_name));
    out.insert("threatDisplayName".into(), json!(a.threat_family_name));
    out.insert("threatFamilyName".into(), json!(a.threat_family_name));
    out.insert("mitreTechniques".into(), json!(a.mitre_techniques));
    out.insert("createdDateTime".into(), json!(a.creation_time));
    out.insert("lastUpdateDateTime".into(), json!(a.last_updated_time));
    out.insert("resolvedDateTime".into(), json!(a.resolved_time));
    out.insert("firstActivityDateTime".into(), json!(a.first_activity));
    out.insert("lastActivityDateTime".into(), json!(a.last_activity));
    out.insert(
        "investigationState".into(),
        json!(member(
            &a.investigation_state,
            INVESTIGATION_STATES,
            "unknown"
        )),
    );
    out.insert("alertPolicyId".into(), Value::Null);
    out.insert("categories".into(), json!([a.category]));
    out.insert("systemTags".into(), json!([]));
    out.insert("additionalData".into(), json!({}));
    out.insert("customDetails".into(), json!({}));
    out.insert("comments".into(), alert_comments(doc));
    out.insert("evidence".into(), Value::Array(evidence(&a)));
    Ok(Value::Object(out))
}

/// Renders a stored incident as a Graph incident; with `alerts`, its `alerts` expanded.
pub(crate) fn incident(
    row: &IncidentRow,
    version: Version,
    with_alerts: bool,
) -> Result<Value, String> {
    let id = row.incident_id;
    let mut out = Map::new();
    out.insert("id".into(), json!(id.to_string()));
    out.insert("tenantId".into(), json!(row.tenant_id));
    out.insert("status".into(), json!(incident_status(&row.status)));
    out.insert(
        "incidentWebUrl".into(),
        json!(incident_web_url(&row.tenant_id, id)),
    );
    out.insert(
        "redirectIncidentId".into(),
        json!(row.redirect_incident_id.map(|r| r.to_string())),
    );
    out.insert("displayName".into(), json!(row.incident_name));
    out.insert(
        "createdDateTime".into(),
        json!(format_incident_time(row.created_time)),
    );
    out.insert(
        "lastUpdateDateTime".into(),
        json!(format_incident_time(row.last_update_time)),
    );
    out.insert("assignedTo".into(), json!(row.assigned_to));
    out.insert(
        "classification".into(),
        json!(classification(&row.classification)),
    );
    out.insert(
        "determination".into(),
        json!(determination(&row.determination)),
    );
    out.insert("severity".into(), json!(severity(&row.severity)));
    out.insert("customTags".into(), json!(row.tags));
    out.insert("systemTags".into(), json!(row.system_tags));
    out.insert("description".into(), json!(row.description));
    out.insert("summary".into(), json!(row.summary));
    out.insert("resolvingComment".into(), json!(row.resolving_comment));
    out.insert("lastModifiedBy".into(), json!(row.last_modified_by));
    out.insert("priorityScore".into(), json!(row.priority_score));
    if version == Version::Beta {
        out.insert("recommendedActions".into(), Value::Null);
        out.insert("recommendedHuntingQueries".into(), json!([]));
    }
    out.insert(
        "comments".into(),
        Value::Array(
            row.comments
                .iter()
                .map(|c| {
                    json!({
                        "comment": c.comment,
                        "createdByDisplayName": c.created_by,
                        "createdDateTime": format_incident_time(c.created_time),
                    })
                })
                .collect(),
        ),
    );
    if with_alerts {
        let docs = alert_documents(row).map_err(|e| e.to_string())?;
        let alerts = docs
            .iter()
            .map(|d| alert(d, &row.tenant_id, id))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("incident {id}: {e}"))?;
        out.insert("alerts".into(), Value::Array(alerts));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_map_both_ways() {
        for d in Determination::ALL {
            let g = determination(d.as_str());
            assert_eq!(Determination::parse(g), Some(*d), "{d} -> {g}");
        }
        assert_eq!(determination("Clean"), "notMalicious");
        assert_eq!(
            Determination::parse("notEnoughDataToValidate"),
            Some(Determination::NoEnoughDataToValidate)
        );
        assert_eq!(Determination::parse("clean"), Some(Determination::Clean));
        for s in IncidentStatus::ALL {
            assert_eq!(IncidentStatus::parse(incident_status(s.as_str())), Some(*s));
        }
        for s in Severity::ALL {
            assert_eq!(Severity::parse(severity(s.as_str())), Some(*s));
        }
        for c in Classification::ALL {
            assert_eq!(Classification::parse(classification(c.as_str())), Some(*c));
        }
        assert_eq!(alert_status("Active"), "inProgress");
        assert_eq!(alert_status_from_graph("INPROGRESS"), Some("InProgress"));
        assert_eq!(alert_status_from_graph("active"), None);
        assert_eq!(service_source("OfficeATP"), "microsoftDefenderForOffice365");
        assert_eq!(
            service_source_from_graph("microsoftDefenderForCloudApps"),
            Some("MicrosoftCloudAppSecurity")
        );
        assert_eq!(service_source("SomethingNew"), "unknown");
    }
}
