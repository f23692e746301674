//! Demo incidents: attack scenarios turned into incidents with alerts, devices and
//! evidence drawn from the tenant's [`DemoEstate`].

use super::estate::{fnv, DemoDevice, DemoEstate, DemoFile, DemoUser, Rng};
use crate::model::{Alert, Device, Entity};
use palisade_store::{format_incident_time, IncidentCommentRow, NewIncident};
use time::{Duration, OffsetDateTime};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ev {
    User,
    Ip,
    Url,
    File,
    Process,
    MailBox,
    MailMessage,
    MailCluster,
    Registry,
}

struct AlertTemplate {
    title: &'static str,
    description: &'static str,
    category: &'static str,
    service_source: &'static str,
    detection_source: &'static str,
    mitre: &'static [&'static str],
    on_device: bool,
    evidence: &'static [Ev],
}

struct Scenario {
    name: &'static str,
    alerts: &'static [AlertTemplate],
}

const MDE: &str = "MicrosoftDefenderForEndpoint";
const MCAS: &str = "MicrosoftCloudAppSecurity";
const OATP: &str = "OfficeATP";
const MDI: &str = "AzureAdvancedThreatProtection";

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "Ransomware activity on one endpoint",
        alerts: &[
            AlertTemplate { title: "Ransomware behavior detected in the file system", description: "A process encrypted a large number of files and dropped ransom notes.", category: "Impact", service_source: MDE, detection_source: "WindowsDefenderAtp", mitre: &["T1486"], on_device: true, evidence: &[Ev::File, Ev::Process, Ev::User] },
            AlertTemplate { title: "File backups were deleted", description: "Volume shadow copies were deleted with vssadmin.", category: "Impact", service_source: MDE, detection_source: "WindowsDefenderAtp", mitre: &["T1490"], on_device: true, evidence: &[Ev::Process, Ev::User] },
        ],
    },
    Scenario {
        name: "Multi-stage incident involving Initial access & Credential access",
        alerts: &[
            AlertTemplate { title: "Email messages containing malicious URL removed after delivery", description: "Emails with a malicious URL were delivered and later removed by zero-hour auto purge.", category: "InitialAccess", service_source: OATP, detection_source: "OfficeATP", mitre: &["T1566.002"], on_device: false, evidence: &[Ev::MailMessage, Ev::MailBox, Ev::Url, Ev::MailCluster] },
            AlertTemplate { title: "Suspicious credential dump from NTDS.dit", description: "A process read the Active Directory database, a technique used to steal credentials.", category: "CredentialAccess", service_source: MDE, detection_source: "WindowsDefenderAtp", mitre: &["T1003.003"], on_device: true, evidence: &[Ev::File, Ev::Process, Ev::User] },
            AlertTemplate { title: "Suspected DCSync attack (replication of directory services)", description: "A replication request was initiated from a computer that is not a domain controller.", category: "CredentialAccess", service_source: MDI, detection_source: "AzureATP", mitre: &["T1003.006"], on_device: true, evidence: &[Ev::User, Ev::Ip] },
        ],
    },
    Scenario {
        name: "Suspicious PowerShell activity on one endpoint",
        alerts: &[
            AlertTemplate { title: "Suspicious PowerShell command line", description: "An encoded PowerShell command downloaded and ran content from the internet.", category: "Execution", service_source: MDE, detection_source: "WindowsDefenderAtp", mitre: &["T1059.001", "T1105"], on_device: true, evidence: &[Ev::Process, Ev::Url, Ev::User] },
        ],
    },
    Scenario {
        name: "Impossible travel activity involving one user",
        alerts: &[
            AlertTemplate { title: "Impossible travel activity", description: "The user signed in from two distant locations within a short time.", category: "InitialAccess", service_source: MCAS, detection_source: "MCAS", mitre: &["T1078"], on_device: false, evidence: &[Ev::User, Ev::Ip, Ev::Ip] },
        ],
    },
    Scenario {
        name: "Malware detected on one endpoint",
        alerts: &[
            AlertTemplate { title: "An active malware was detected", description: "Microsoft Defender Antivirus detected and quarantined malware.", category: "Malware", service_source: MDE, detection_source: "WindowsDefenderAv", mitre: &[], on_device: true, evidence: &[Ev::File, Ev::User] },
        ],
    },
    Scenario {
        name: "Phishing emails delivered to multiple mailboxes",
        alerts: &[
            AlertTemplate { title: "A potentially malicious URL click was detected", description: "A user clicked a URL that was later found to be malicious.", category: "InitialAccess", service_source: OATP, detection_source: "OfficeATP", mitre: &["T1566.002"], on_device: false, evidence: &[Ev::User, Ev::Url, Ev::MailMessage, Ev::MailBox] },
            AlertTemplate { title: "User accessed a link in ZAP-quarantined email", description: "A user opened a link in an email that was quarantined by zero-hour auto purge.", category: "InitialAccess", service_source: OATP, detection_source: "OfficeATP", mitre: &["T1204.001"], on_device: false, evidence: &[Ev::MailBox, Ev::Url] },
        ],
    },
    Scenario {
        name: "Suspected brute-force attack on one domain controller",
        alerts: &[
            AlertTemplate { title: "Suspected Brute Force attack (Kerberos, NTLM)", description: "Many authentication failures were followed by a successful sign-in.", category: "CredentialAccess", service_source: MDI, detection_source: "AzureATP", mitre: &["T1110"], on_device: true, evidence: &[Ev::User, Ev::Ip] },
        ],
    },
    Scenario {
        name: "Persistence via registry run key",
        alerts: &[
            AlertTemplate { title: "Anomaly detected in ASEP registry", description: "A new autostart entry points to an unsigned binary in a user-writable folder.", category: "Persistence", service_source: MDE, detection_source: "WindowsDefenderAtp", mitre: &["T1547.001"], on_device: true, evidence: &[Ev::Registry, Ev::File, Ev::Process] },
            AlertTemplate { title: "Hidden file attributes set on an executable", description: "An executable was hidden with attrib.exe.", category: "DefenseEvasion", service_source: MDE, detection_source: "WindowsDefenderAtp", mitre: &["T1564.001"], on_device: true, evidence: &[Ev::File, Ev::Process] },
        ],
    },
    Scenario {
        name: "Mass download by a single user",
        alerts: &[
            AlertTemplate { title: "Mass download by a single user", description: "A user downloaded an unusually large number of files from SharePoint in one session.", category: "Exfiltration", service_source: MCAS, detection_source: "MCAS", mitre: &["T1530"], on_device: false, evidence: &[Ev::User, Ev::Ip] },
            AlertTemplate { title: "Possible data exfiltration with rclone", description: "A cloud sync tool uploaded data to external storage.", category: "Exfiltration", service_source: MDE, detection_source: "WindowsDefenderAtp", mitre: &["T1567.002"], on_device: true, evidence: &[Ev::File, Ev::Process, Ev::Url] },
        ],
    },
    Scenario {
        name: "Potentially unwanted application detected",
        alerts: &[
            AlertTemplate { title: "'BrowserModifier' unwanted software was detected", description: "Potentially unwanted software was blocked.", category: "SuspiciousActivity", service_source: MDE, detection_source: "WindowsDefenderAv", mitre: &[], on_device: true, evidence: &[Ev::File] },
        ],
    },
];

const INVESTIGATION_STATES: [&str; 6] = [
    "SuccessfullyRemediated",
    "Benign",
    "Running",
    "PendingApproval",
    "PartiallyRemediated",
    "UnsupportedAlertType",
];
const SEVERITIES: [&str; 4] = ["Informational", "Low", "Medium", "High"];
const TAGS: [&str; 7] = [
    "Demo",
    "Ransomware",
    "Phishing",
    "VIP",
    "Pen test",
    "Needs review",
    "Escalated",
];

pub(super) struct Ctx<'a> {
    pub(super) estate: &'a DemoEstate,
    pub(super) now: OffsetDateTime,
}

fn product(service_source: &str) -> &'static str {
    match service_source {
        MCAS => "Microsoft Defender for Cloud Apps",
        OATP => "Microsoft Defender for Office 365",
        MDI => "Microsoft Defender for Identity",
        _ => "Microsoft Defender for Endpoint",
    }
}

fn alert_id(rng: &mut Rng, service_source: &str, created: OffsetDateTime) -> String {
    match service_source {
        MCAS => format!("ca{}", rng.guid().to_ascii_uppercase()),
        OATP => format!("fa{}", rng.guid()),
        MDI => format!("aa{}", rng.guid()),
        _ => {
            let ticks = (created.unix_timestamp_nanos() / 100) as i64 + 621_355_968_000_000_000;
            format!("da{ticks}_{}", 100_000_000 + rng.next() % 900_000_000)
        }
    }
}

fn device_doc(d: &DemoDevice, ctx: &Ctx<'_>, risk: &str) -> Device {
    Device {
        mdatp_device_id: d.mdatp_device_id.clone(),
        aad_device_id: d.aad_device_id.clone(),
        device_dns_name: d.dns_name.clone(),
        os_platform: d.os_platform.clone(),
        version: d.os_version.clone(),
        os_processor: d.os_processor.clone(),
        os_build: d.os_build,
        health_status: "Active".to_string(),
        risk_score: risk.to_string(),
        rbac_group_name: Some(d.rbac_group_name.clone()),
        rbac_group_id: Some(d.rbac_group_id),
        first_seen: format_incident_time(ctx.now - Duration::days(200 + (d.rbac_group_id % 200))),
        tags: Vec::new(),
        defender_av_status: "Updated".to_string(),
        onboarding_status: "Onboarded".to_string(),
        vm_metadata: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn evidence(
    rng: &mut Rng,
    ev: Ev,
    ctx: &Ctx<'_>,
    user: &DemoUser,
    device: Option<&DemoDevice>,
    file: &DemoFile,
    url: &str,
    at: OffsetDateTime,
) -> Entity {
    let estate = ctx.estate;
    let device_id = device.map(|d| d.mdatp_device_id.clone());
    let base = Entity {
        device_id: device_id.clone(),
        ..Default::default()
    };
    match ev {
        Ev::User => Entity {
            entity_type: "User".into(),
            account_name: Some(user.account_name.clone()),
            domain_name: Some(user.domain_name.clone()),
            user_sid: Some(user.sid.clone()),
            aad_user_id: Some(user.aad_user_id.clone()),
            user_principal_name: Some(user.user_principal_name.clone()),
            ..base
        },
        Ev::Ip => Entity {
            entity_type: "Ip".into(),
            ip_address: Some(rng.pick(&estate.external_ips).clone()),
            ..base
        },
        Ev::Url => Entity {
            entity_type: "Url".into(),
            url: Some(url.to_string()),
            ..base
        },
        Ev::File => Entity {
            entity_type: "File".into(),
            sha1: Some(file.sha1.clone()),
            sha256: Some(file.sha256.clone()),
            file_name: Some(file.name.clone()),
            file_path: Some(file.path.clone()),
            ..base
        },
        Ev::Process => {
            let pid = 1000 + (rng.next() % 30000) as i64;
            Entity {
                entity_type: "Process".into(),
                sha1: Some(file.sha1.clone()),
                sha256: Some(file.sha256.clone()),
                file_name: Some(file.name.clone()),
                file_path: Some(file.path.clone()),
                process_id: Some(pid),
                process_command_line: Some(format!(
                    "\"{}\" {}",
                    file.name,
                    rng.pick(&["-enc SQBFAFgA", "/silent", "--quiet", "copy remote:backup"])
                )),
                process_creation_time: Some(format_incident_time(at - Duration::seconds(30))),
                parent_process_id: Some(pid - 1 - (rng.next() % 900) as i64),
                parent_process_creation_time: Some(format_incident_time(at - Duration::minutes(5))),
                account_name: Some(user.account_name.clone()),
                domain_name: Some(user.domain_name.clone()),
                user_sid: Some(user.sid.clone()),
                ..base
            }
        }
        Ev::MailBox => Entity {
            entity_type: "MailBox".into(),
            user_principal_name: Some(user.user_principal_name.clone()),
            mailbox_display_name: Some(user.display_name.clone()),
            mailbox_address: Some(user.user_principal_name.clone()),
            ..base
        },
        Ev::MailMessage => Entity {
            entity_type: "MailMessage".into(),
            user_principal_name: Some(user.user_principal_name.clone()),
            mailbox_address: Some(user.user_principal_name.clone()),
            sender: Some(rng.pick(&estate.senders).clone()),
            recipient: Some(user.user_principal_name.clone()),
            subject: Some(
                rng.pick(&[
                    "Invoice overdue - action required",
                    "Your password expires today",
                    "Quarterly bonus review",
                    "Shared document: Q3 results",
                ])
                .to_string(),
            ),
            delivery_action: Some(rng.pick(&["Delivered", "Junked", "Blocked"]).to_string()),
            ..base
        },
        Ev::MailCluster => Entity {
            entity_type: "MailCluster".into(),
            cluster_by: Some("Subject;P2SenderDomain;ContentType".into()),
            ..base
        },
        Ev::Registry => Entity {
            entity_type: "Registry".into(),
            registry_hive: Some("HKEY_CURRENT_USER".into()),
            registry_key: Some("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run".into()),
            registry_value_type: Some("String".into()),
            registry_value: Some(format!("{}\\{}", file.path, file.name)),
            ..base
        },
    }
}

/// The demo incident number `index` of a tenant (deterministic apart from `now`).
pub(super) fn demo_incident(
    tenant_id: &str,
    ctx: &Ctx<'_>,
    index: usize,
    count: usize,
) -> Result<NewIncident, serde_json::Error> {
    let estate = ctx.estate;
    let mut rng =
        Rng::new(fnv(tenant_id) ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDE30);
    let span = Duration::days(30) - Duration::hours(2);
    let step = span / count.max(1) as f64;
    let created = ctx.now
        - Duration::minutes(5)
        - step * index as f64
        - Duration::seconds((rng.next() % 1800) as i64)
        - Duration::nanoseconds((rng.next() % 1_000_000_000) as i64);
    let created = created.max(ctx.now - Duration::days(30) + Duration::minutes(1));
    let age = ctx.now - created;
    let scenario = rng.pick(SCENARIOS);
    let severity = match rng.below(10) {
        0 => "Informational",
        1 | 2 => "Low",
        3..=5 => "Medium",
        _ => "High",
    };
    // Older incidents are more likely to be closed.
    let resolved_chance = 20 + (age.whole_days().clamp(0, 30) as u64) * 2;
    let status = if rng.chance(resolved_chance) {
        "Resolved"
    } else if rng.chance(30) {
        "InProgress"
    } else {
        "Active"
    };
    let (classification, determination) = if status == "Resolved" {
        *rng.pick(&[
            ("TruePositive", "Malware"),
            ("TruePositive", "MultiStagedAttack"),
            ("TruePositive", "Phishing"),
            ("TruePositive", "CompromisedAccount"),
            ("TruePositive", "UnwantedSoftware"),
            ("TruePositive", "Other"),
            ("FalsePositive", "Clean"),
            ("FalsePositive", "NoEnoughDataToValidate"),
            ("InformationalExpectedActivity", "SecurityTesting"),
            ("InformationalExpectedActivity", "LineOfBusinessApplication"),
        ])
    } else if rng.chance(20) {
        ("TruePositive", "NotAvailable")
    } else {
        ("Unknown", "NotAvailable")
    };
    let assigned_to = if status != "Active" || rng.chance(40) {
        Some(rng.pick(&estate.analysts).clone())
    } else {
        None
    };
    let mut tags = Vec::new();
    for _ in 0..rng.below(3) {
        let t = rng.pick(&TAGS).to_string();
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    let device_idx = rng.below(estate.devices.len());
    let device = &estate.devices[device_idx];
    let user = &estate.users[if rng.chance(70) {
        device.primary_user
    } else {
        rng.below(estate.users.len())
    }];
    let file = rng.pick(&estate.files).clone();
    let url = rng.pick(&estate.urls).clone();
    let alert_status = match status {
        "Resolved" => "Resolved",
        "InProgress" => "InProgress",
        _ => "New",
    };
    let sev_rank = SEVERITIES.iter().position(|s| *s == severity).unwrap_or(2);
    let mut alerts = Vec::new();
    let mut last_update = created;
    for (n, t) in scenario.alerts.iter().enumerate() {
        // Later alerts of a chain may be missing: always keep the first.
        if n > 0 && rng.chance(25) {
            continue;
        }
        let first_activity = created - Duration::minutes(10 + (rng.next() % 120) as i64)
            + Duration::minutes(n as i64 * 7);
        let last_activity = first_activity + Duration::minutes((rng.next() % 45) as i64);
        let a_created = created + Duration::minutes(n as i64 * 9);
        let a_updated = (a_created + Duration::minutes((rng.next() % 600) as i64)).min(ctx.now);
        last_update = last_update.max(a_updated);
        let resolved_time = (status == "Resolved").then(|| format_incident_time(a_updated));
        let alert_sev = SEVERITIES[sev_rank.saturating_sub(rng.below(2))];
        let alert_device = if t.on_device {
            // Identity alerts happen on the domain controller.
            Some(if t.service_source == MDI {
                estate
                    .devices
                    .iter()
                    .find(|d| d.name.starts_with("srv-dc"))
                    .unwrap_or(device)
            } else {
                device
            })
        } else {
            None
        };
        let entities = t
            .evidence
            .iter()
            .map(|ev| {
                evidence(
                    &mut rng,
                    *ev,
                    ctx,
                    user,
                    alert_device,
                    &file,
                    &url,
                    a_created,
                )
            })
            .collect();
        let is_mde = t.service_source == MDE;
        alerts.push(Alert {
            alert_id: alert_id(&mut rng, t.service_source, a_created),
            incident_id: None,
            service_source: t.service_source.to_string(),
            creation_time: format_incident_time(a_created),
            last_updated_time: format_incident_time(a_updated),
            resolved_time,
            first_activity: format_incident_time(first_activity),
            last_activity: format_incident_time(last_activity),
            title: t.title.to_string(),
            description: t.description.to_string(),
            category: t.category.to_string(),
            status: alert_status.to_string(),
            severity: alert_sev.to_string(),
            investigation_id: is_mde.then(|| 1000 + (rng.next() % 90_000) as i64),
            investigation_state: if is_mde {
                rng.pick(&INVESTIGATION_STATES).to_string()
            } else {
                "UnsupportedAlertType".to_string()
            },
            classification: (status == "Resolved").then(|| classification.to_string()),
            determination: (status == "Resolved").then(|| determination.to_string()),
            detection_source: t.detection_source.to_string(),
            detector_id: rng.guid(),
            assigned_to: if is_mde && rng.chance(30) {
                Some("Automation".to_string())
            } else {
                assigned_to.clone()
            },
            actor_name: (t.category == "CredentialAccess" && rng.chance(30))
                .then(|| "BORON".to_string()),
            threat_family_name: if t.evidence.contains(&Ev::File) {
                file.threat_family.clone()
            } else {
                None
            },
            mitre_techniques: t.mitre.iter().map(|m| m.to_string()).collect(),
            devices: alert_device
                .map(|d| {
                    vec![device_doc(
                        d,
                        ctx,
                        if severity == "High" { "High" } else { "Medium" },
                    )]
                })
                .unwrap_or_default(),
            entities,
        });
    }
    let mut comments = Vec::new();
    if status != "Active" {
        if let Some(owner) = &assigned_to {
            comments.push(IncidentCommentRow {
                comment: match status {
                    "Resolved" => format!("Closed as {classification} / {determination}."),
                    _ => "Triage started; collecting evidence.".to_string(),
                },
                created_by: owner.clone(),
                created_time: last_update,
            });
        }
    }
    let detection_source = alerts
        .first()
        .map(|a| product(&a.service_source).to_string());
    Ok(NewIncident {
        incident_name: scenario.name.to_string(),
        created_time: created,
        last_update_time: last_update,
        status: status.to_string(),
        severity: severity.to_string(),
        assigned_to,
        classification: classification.to_string(),
        determination: determination.to_string(),
        detection_source,
        redirect_incident_id: None,
        tags,
        comments,
        alerts_json: serde_json::to_string(&alerts)?,
        demo_key: Some(format!("demo-{index:04}")),
        device_ids: crate::model::device_ids(&alerts),
    })
}
