//! Defender XDR data models (camelCase JSON for incidents, PascalCase for hunting).
//!
//! Enums are open: a value this SDK does not know becomes `Unrecognized(String)` instead of
//! failing the whole response, and is sent back unchanged. Nullable fields are `Option`; a
//! missing or `null` array is read as empty.
//!
//! `enums.rs` holds the open enums, `incident.rs` the incident tree (incidents, alerts,
//! devices, entities, comments) and its update, `hunting.rs` the hunting response.

mod enums;
mod hunting;
mod incident;

pub use enums::{
    AlertStatus, Classification, Determination, EntityType, IncidentStatus, InvestigationState,
    Severity,
};
pub use hunting::{Column, HuntingResponse};
pub(crate) use incident::IncidentPage;
pub use incident::{Alert, Comment, Device, Entity, Incident, IncidentUpdate};

use serde::{Deserialize, Deserializer};

/// Reads `null` as the type's default (empty vector).
pub(crate) fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads an optional integer sent as a number or a numeric string.
pub(crate) fn lenient_i64<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
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
