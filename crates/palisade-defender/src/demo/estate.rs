//! The demo estate: devices, users, files and network indicators derived
//! deterministically from the tenant id.

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
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub(super) fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(len);
        s
    }

    pub(super) fn guid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }
}

pub(super) fn fnv(s: &str) -> u64 {
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
