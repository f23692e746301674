//! Demo data: a consistent estate of devices, users, files and network indicators per
//! tenant ([`DemoEstate`], reusable by the hunting seeder) and incidents over the past 30
//! days built from it ([`seed_demo_incidents`]).
//!
//! Everything is derived deterministically from the tenant id and the demo index, and
//! every demo incident carries a demo key (`demo-0000`, …), so reseeding inserts only what
//! is missing and never duplicates or touches existing incidents (including user edits).

use crate::model::{Alert, Device, Entity};
use palisade_clock::SharedClock;
use palisade_store::{format_incident_time, IncidentCommentRow, NewIncident, Store, StoreError};
use time::{Duration, OffsetDateTime};

/// How many incidents the demo seeds by default.
pub const DEMO_INCIDENT_COUNT: usize = 240;

/// Errors from seeding.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The tenant does not exist.
    #[error("unknown tenant {0}")]
    UnknownTenant(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An alert document could not be serialised.
    #[error("demo document: {0}")]
    Json(#[from] serde_json::Error),
}

/// A demo device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoDevice {
    /// Short host name, e.g. `ws-finance-01`.
    pub name: String,
    /// FQDN.
    pub dns_name: String,
    /// MDE device id (40 hex characters).
    pub mdatp_device_id: String,
    /// Entra device id.
    pub aad_device_id: Option<String>,
    /// `Windows10`, `Windows11`, `WindowsServer2019`, …
    pub os_platform: String,
    /// OS version, e.g. `22H2`.
    pub os_version: String,
    /// OS build.
    pub os_build: i64,
    /// `x64`.
    pub os_processor: String,
    /// Device group.
    pub rbac_group_name: String,
    /// Device group id.
    pub rbac_group_id: i64,
    /// Internal IPv4 address.
    pub ip_address: String,
    /// Index into [`DemoEstate::users`] of the usual user.
    pub primary_user: usize,
}

/// A demo user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUser {
    /// SAM account name, e.g. `alice.wong`.
    pub account_name: String,
    /// Display name.
    pub display_name: String,
    /// UPN in the tenant's initial domain.
    pub user_principal_name: String,
    /// NetBIOS domain, e.g. `CONTOSO`.
    pub domain_name: String,
    /// On-premises SID.
    pub sid: String,
    /// Entra object id.
    pub aad_user_id: String,
}

/// A demo file (malware sample or tool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFile {
    /// File name.
    pub name: String,
    /// Folder.
    pub path: String,
    /// SHA-1 (hex).
    pub sha1: String,
    /// SHA-256 (hex).
    pub sha256: String,
    /// Threat family, if it is malware.
    pub threat_family: Option<String>,
}

/// The consistent set of names the demo data reuses: devices, users, analysts, files,
/// external IPs, URLs and sender addresses. Deterministic per tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoEstate {
    /// The tenant's domain (users' UPN suffix).
    pub domain: String,
    /// NetBIOS domain name.
    pub netbios_domain: String,
    /// Devices.
    pub devices: Vec<DemoDevice>,
    /// Users.
    pub users: Vec<DemoUser>,
    /// SOC analysts' UPNs (incident owners, comment authors).
    pub analysts: Vec<String>,
    /// Suspicious files.
    pub files: Vec<DemoFile>,
    /// External (attacker) IP addresses.
    pub external_ips: Vec<String>,
    /// Malicious URLs / domains.
    pub urls: Vec<String>,
    /// External sender addresses of phishing mail.
    pub senders: Vec<String>,
}

/// A small deterministic generator (splitmix64).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(len);
        s
    }

    fn guid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

const USERS: [(&str, &str); 12] = [
    ("alice.wong", "Alice Wong"),
    ("bob.smith", "Bob Smith"),
    ("carol.diaz", "Carol Diaz"),
    ("dan.okafor", "Dan Okafor"),
    ("erin.kim", "Erin Kim"),
    ("farid.haddad", "Farid Haddad"),
    ("grace.lee", "Grace Lee"),
    ("hiro.tanaka", "Hiro Tanaka"),
    ("ines.moreau", "Ines Moreau"),
    ("jonas.berg", "Jonas Berg"),
    ("svc.backup", "Backup Service"),
    ("admin.it", "IT Administrator"),
];

const DEVICES: [(&str, &str, &str, i64, &str); 12] = [
    (
        "ws-finance-01",
        "Windows11",
        "23H2",
        22631,
        "Finance workstations",
    ),
    (
        "ws-finance-02",
        "Windows11",
        "23H2",
        22631,
        "Finance workstations",
    ),
    ("ws-hr-01", "Windows10", "22H2", 19045, "HR workstations"),
    (
        "ws-eng-01",
        "Windows11",
        "22H2",
        22621,
        "Engineering workstations",
    ),
    (
        "ws-eng-02",
        "Windows11",
        "22H2",
        22621,
        "Engineering workstations",
    ),
    (
        "ws-sales-01",
        "Windows10",
        "22H2",
        19045,
        "Sales workstations",
    ),
    (
        "lt-exec-01",
        "Windows11",
        "23H2",
        22631,
        "Executive laptops",
    ),
    (
        "lt-exec-02",
        "Windows11",
        "23H2",
        22631,
        "Executive laptops",
    ),
    (
        "srv-dc-01",
        "WindowsServer2022",
        "21H2",
        20348,
        "Tier 0 servers",
    ),
    ("srv-file-01", "WindowsServer2019", "1809", 17763, "Servers"),
    ("srv-sql-01", "WindowsServer2019", "1809", 17763, "Servers"),
    ("srv-web-01", "WindowsServer2016", "1607", 14393, "Servers"),
];

const FILES: [(&str, &str, Option<&str>); 8] = [
    (
        "invoice_0423.exe",
        "C:\\Users\\Public\\Downloads",
        Some("Emotet"),
    ),
    ("mimikatz.exe", "C:\\Windows\\Temp", Some("Mimikatz")),
    ("svchosts.exe", "C:\\ProgramData\\Microsoft", Some("Qakbot")),
    (
        "update_helper.dll",
        "C:\\Users\\Public",
        Some("CobaltStrike"),
    ),
    ("locker.exe", "C:\\Windows\\Temp", Some("LockBit")),
    ("toolbar_setup.exe", "C:\\Users\\Public\\Downloads", None),
    (
        "payroll_q3.xlsm",
        "C:\\Users\\Public\\Documents",
        Some("Dridex"),
    ),
    ("rclone.exe", "C:\\ProgramData", None),
];

impl DemoEstate {
    /// The estate of a tenant whose initial domain is `domain` (e.g.
    /// `contoso.onmicrosoft.com`). Same inputs, same estate.
    pub fn for_tenant(tenant_id: &str, domain: &str) -> Self {
        let mut rng = Rng::new(fnv(tenant_id) ^ 0x5EED_E57A_7E00_0001);
        let domain = domain.to_ascii_lowercase();
        let netbios_domain = domain
            .split('.')
            .next()
            .unwrap_or("CONTOSO")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(15)
            .collect::<String>()
            .to_ascii_uppercase();
        let domain_sid = format!(
            "S-1-5-21-{}-{}-{}",
            1_000_000_000 + rng.next() % 1_000_000_000,
            1_000_000_000 + rng.next() % 1_000_000_000,
            1_000_000_000 + rng.next() % 1_000_000_000
        );
        let users: Vec<DemoUser> = USERS
            .iter()
            .enumerate()
            .map(|(i, (account, display))| DemoUser {
                account_name: account.to_string(),
                display_name: display.to_string(),
                user_principal_name: format!("{account}@{domain}"),
                domain_name: netbios_domain.clone(),
                sid: format!("{domain_sid}-{}", 1104 + i),
                aad_user_id: rng.guid(),
            })
            .collect();
        let devices = DEVICES
            .iter()
            .enumerate()
            .map(|(i, (name, platform, version, build, group))| DemoDevice {
                name: name.to_string(),
                dns_name: format!("{name}.{}", domain),
                mdatp_device_id: rng.hex(40),
                aad_device_id: if platform.starts_with("WindowsServer") {
                    None
                } else {
                    Some(rng.guid())
                },
                os_platform: platform.to_string(),
                os_version: version.to_string(),
                os_build: *build,
                os_processor: "x64".to_string(),
                rbac_group_name: group.to_string(),
                rbac_group_id: 100 + (fnv(group) % 900) as i64,
                ip_address: format!("10.{}.{}.{}", 10 + i / 4, 1 + i % 4, 20 + i),
                primary_user: i % 10,
            })
            .collect();
        let files = FILES
            .iter()
            .map(|(name, path, family)| DemoFile {
                name: name.to_string(),
                path: path.to_string(),
                sha1: rng.hex(40),
                sha256: rng.hex(64),
                threat_family: family.map(str::to_string),
            })
            .collect();
        Self {
            analysts: ["soc.analyst1", "soc.analyst2", "secops.lead"]
                .iter()
                .map(|a| format!("{a}@{domain}"))
                .collect(),
            external_ips: [
                "62.216.203.204",
                "185.220.101.47",
                "45.137.21.9",
                "103.75.190.12",
                "91.240.118.172",
                "198.51.100.23",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            urls: [
                "down.esales360.cn",
                "https://login-micros0ft-support.com/auth",
                "http://invoice-portal.biz/view?id=8812",
                "https://cdn-update-check.net/payload.bin",
                "https://sharepoint-docs-review.info/s/quarterly",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            senders: [
                "billing@invoice-portal.biz",
                "it-support@micros0ft-support.com",
                "ceo.office@gmai1.com",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            domain,
            netbios_domain,
            devices,
            users,
            files,
        }
    }
}

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

struct Ctx<'a> {
    estate: &'a DemoEstate,
    now: OffsetDateTime,
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
fn demo_incident(
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

/// Seeds `count` demo incidents (use at least [`DEMO_INCIDENT_COUNT`] for a realistic
/// picture) spread over the 30 days before the clock's now, in one transaction. Demo
/// incidents already present (by demo key) are left alone, so reseeding never duplicates
/// or overwrites anything. Returns how many were inserted.
pub async fn seed_demo_incidents(
    store: &Store,
    tenant_id: &str,
    clock: &SharedClock,
    count: usize,
) -> Result<usize, SeedError> {
    let tenant = store
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| SeedError::UnknownTenant(tenant_id.to_string()))?;
    let estate = DemoEstate::for_tenant(&tenant.id, &tenant.initial_domain);
    let ctx = Ctx {
        estate: &estate,
        now: clock.now(),
    };
    // Oldest first, so a fresh tenant's incident ids grow with creation time.
    let incidents = (0..count)
        .rev()
        .map(|i| demo_incident(&tenant.id, &ctx, i, count))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(store
        .insert_incidents_if_absent(&tenant.id, &incidents)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estate_is_deterministic_and_tenant_specific() {
        let a = DemoEstate::for_tenant(
            "11111111-1111-1111-1111-111111111111",
            "contoso.onmicrosoft.com",
        );
        let b = DemoEstate::for_tenant(
            "11111111-1111-1111-1111-111111111111",
            "contoso.onmicrosoft.com",
        );
        let c = DemoEstate::for_tenant(
            "22222222-2222-2222-2222-222222222222",
            "fabrikam.onmicrosoft.com",
        );
        assert_eq!(a, b);
        assert_ne!(a.devices[0].mdatp_device_id, c.devices[0].mdatp_device_id);
        assert_eq!(a.netbios_domain, "CONTOSO");
        assert_eq!(a.devices[0].mdatp_device_id.len(), 40);
        assert_eq!(
            a.users[0].user_principal_name,
            "alice.wong@contoso.onmicrosoft.com"
        );
        assert!(a.devices.iter().all(|d| d.primary_user < a.users.len()));
    }
}
