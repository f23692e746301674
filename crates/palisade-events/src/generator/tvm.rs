//! Defender Vulnerability Management of the estate's devices: the software each device runs
//! (`DeviceTvmSoftwareInventory`, with its evidence on disk in `DeviceTvmSoftwareEvidenceBeta`),
//! the known vulnerabilities of that software (`DeviceTvmSoftwareVulnerabilities` and the CVE
//! knowledge base `DeviceTvmSoftwareVulnerabilitiesKB`), security configuration assessments
//! (and their KB), browser extensions (and their KB), certificates, hardware and firmware,
//! and gathered settings (and their KB).
//!
//! The inventories are snapshots: the undated tables are written once per tenant (under
//! `day=static`; a second seed leaves them as they are), the two dated ones
//! (`DeviceTvmSecureConfigurationAssessment`, `DeviceTvmInfoGathering`) an hour before `now`.
//! Device ids and names are the estate's, so every table joins `DeviceInfo` and the events;
//! a vulnerable software version is the one its `*KB` row lists as affected.

use serde_json::json;

use super::estate::{Estate, EstateDevice, Rng};
use super::family::{has_static_rows, FamilyRows};
use crate::columns::{RowBatch, Value};
use crate::store::{EventStore, StoreError};

use Value::{Bool as B, Json as J, Real as R, Str as S, Time as T};

/// The tables [`seed_tvm`] writes.
pub(super) const TVM_TABLES: &[&str] = &[
    "DeviceTvmSoftwareInventory",
    "DeviceTvmSoftwareEvidenceBeta",
    "DeviceTvmSoftwareVulnerabilities",
    "DeviceTvmSoftwareVulnerabilitiesKB",
    "DeviceTvmSecureConfigurationAssessment",
    "DeviceTvmSecureConfigurationAssessmentKB",
    "DeviceTvmBrowserExtensions",
    "DeviceTvmBrowserExtensionsKB",
    "DeviceTvmCertificateInfo",
    "DeviceTvmHardwareFirmware",
    "DeviceTvmInfoGathering",
    "DeviceTvmInfoGatheringKB",
];

/// A software product: platform prefix it runs on, vendor, name, vulnerable version, fixed
/// version, end-of-support status.
struct Software {
    platform: &'static str,
    vendor: &'static str,
    name: &'static str,
    vulnerable: &'static str,
    fixed: &'static str,
    path: &'static str,
}

const SOFTWARE: &[Software] = &[
    sw(
        "Windows10",
        "microsoft",
        "windows_10",
        "10.0.19045.3930",
        "10.0.19045.4046",
        "C:\\Windows\\System32\\ntoskrnl.exe",
    ),
    sw(
        "Windows11",
        "microsoft",
        "windows_11",
        "10.0.22631.3007",
        "10.0.22631.3155",
        "C:\\Windows\\System32\\ntoskrnl.exe",
    ),
    sw(
        "WindowsServer2019",
        "microsoft",
        "windows_server_2019",
        "10.0.17763.5329",
        "10.0.17763.5458",
        "C:\\Windows\\System32\\ntoskrnl.exe",
    ),
    sw(
        "Windows",
        "microsoft",
        "office",
        "16.0.16529.20154",
        "16.0.16731.20234",
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
    ),
    sw(
        "Windows",
        "microsoft",
        "edge_chromium",
        "119.0.2151.44",
        "120.0.2210.61",
        "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
    ),
    sw(
        "Windows",
        "google",
        "chrome",
        "119.0.6045.105",
        "120.0.6099.71",
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    ),
    sw(
        "Windows",
        "7-zip",
        "7-zip",
        "22.01",
        "23.01",
        "C:\\Program Files\\7-Zip\\7z.exe",
    ),
    sw(
        "Windows",
        "adobe",
        "acrobat_reader_dc",
        "23.003.20284",
        "23.006.20320",
        "C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe",
    ),
    sw(
        "Linux",
        "openbsd",
        "openssh",
        "8.9p1",
        "9.8p1",
        "/usr/sbin/sshd",
    ),
    sw(
        "Linux",
        "openssl",
        "openssl",
        "3.0.2",
        "3.0.13",
        "/usr/lib/x86_64-linux-gnu/libssl.so.3",
    ),
    sw(
        "macOS",
        "apple",
        "macos",
        "13.5.0",
        "13.6.1",
        "/System/Library/CoreServices/SystemVersion.plist",
    ),
    sw(
        "macOS",
        "google",
        "chrome",
        "119.0.6045.105",
        "120.0.6099.71",
        "/Applications/Google Chrome.app",
    ),
    sw(
        "macOS",
        "microsoft",
        "office",
        "16.78.0",
        "16.80.0",
        "/Applications/Microsoft Word.app",
    ),
];

const fn sw(
    platform: &'static str,
    vendor: &'static str,
    name: &'static str,
    vulnerable: &'static str,
    fixed: &'static str,
    path: &'static str,
) -> Software {
    Software {
        platform,
        vendor,
        name,
        vulnerable,
        fixed,
        path,
    }
}

/// A CVE of the knowledge base: id, CVSS, exploit available, severity, affected software
/// (vendor, name), recommended update, its id, description.
type Cve = (
    &'static str,
    &'static str,
    bool,
    &'static str,
    (&'static str, &'static str),
    &'static str,
    &'static str,
    &'static str,
);

const CVES: &[Cve] = &[
    (
        "CVE-2024-21338",
        "7.8",
        true,
        "High",
        ("microsoft", "windows_10"),
        "February 2024 Security Updates",
        "5034763",
        "Windows Kernel Elevation of Privilege Vulnerability",
    ),
    (
        "CVE-2024-21338",
        "7.8",
        true,
        "High",
        ("microsoft", "windows_11"),
        "February 2024 Security Updates",
        "5034765",
        "Windows Kernel Elevation of Privilege Vulnerability",
    ),
    (
        "CVE-2024-21338",
        "7.8",
        true,
        "High",
        ("microsoft", "windows_server_2019"),
        "February 2024 Security Updates",
        "5034768",
        "Windows Kernel Elevation of Privilege Vulnerability",
    ),
    (
        "CVE-2023-36884",
        "8.8",
        true,
        "High",
        ("microsoft", "office"),
        "Update Microsoft 365 Apps",
        "",
        "Office and Windows HTML Remote Code Execution Vulnerability",
    ),
    (
        "CVE-2023-6345",
        "9.6",
        true,
        "Critical",
        ("google", "chrome"),
        "Update Chrome to version 120.0.6099.71",
        "",
        "Integer overflow in Skia in Google Chrome",
    ),
    (
        "CVE-2023-6345",
        "9.6",
        true,
        "Critical",
        ("microsoft", "edge_chromium"),
        "Update Edge to version 120.0.2210.61",
        "",
        "Integer overflow in Skia in Chromium",
    ),
    (
        "CVE-2023-31102",
        "7.8",
        false,
        "High",
        ("7-zip", "7-zip"),
        "Update 7-Zip to version 23.01",
        "",
        "Integer underflow in Ppmd7.c in 7-Zip",
    ),
    (
        "CVE-2023-26369",
        "7.8",
        true,
        "High",
        ("adobe", "acrobat_reader_dc"),
        "Update Acrobat Reader DC",
        "",
        "Out-of-bounds write in Acrobat Reader",
    ),
    (
        "CVE-2024-6387",
        "8.1",
        true,
        "High",
        ("openbsd", "openssh"),
        "Update OpenSSH to version 9.8p1",
        "",
        "Signal handler race condition in sshd (regreSSHion)",
    ),
    (
        "CVE-2023-38408",
        "9.8",
        false,
        "Critical",
        ("openbsd", "openssh"),
        "Update OpenSSH to version 9.8p1",
        "",
        "PKCS#11 feature in ssh-agent remote code execution",
    ),
    (
        "CVE-2023-0286",
        "7.4",
        false,
        "High",
        ("openssl", "openssl"),
        "Update OpenSSL to version 3.0.13",
        "",
        "X.400 address type confusion in X.509 GeneralName",
    ),
    (
        "CVE-2023-41990",
        "7.8",
        true,
        "High",
        ("apple", "macos"),
        "Update macOS to version 13.6.1",
        "",
        "Processing a font file may lead to arbitrary code execution",
    ),
];

/// Security configurations: id, impact, name, category, subcategory.
const CONFIGS: &[(&str, f64, &str, &str, &str)] = &[
    (
        "scid-2000",
        9.0,
        "Turn on Microsoft Defender Antivirus",
        "Security controls",
        "Antivirus",
    ),
    (
        "scid-2001",
        8.0,
        "Turn on real-time protection",
        "Security controls",
        "Antivirus",
    ),
    (
        "scid-2010",
        6.0,
        "Update Microsoft Defender Antivirus definitions",
        "Security controls",
        "Antivirus",
    ),
    (
        "scid-91",
        5.0,
        "Set 'Minimum password length' to '14 or more characters'",
        "Accounts",
        "Password Policy",
    ),
    (
        "scid-2090",
        7.0,
        "Turn on Credential Guard",
        "Security controls",
        "Device Guard",
    ),
    (
        "scid-5090",
        3.0,
        "Disable SMBv1 client driver",
        "Network",
        "SMB",
    ),
];

/// Browser extensions: browser, id, name, risk, vendor, a permission.
const EXTENSIONS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "chrome",
        "ghbmnnjooekpmoecnnnilnnbdlolhkhi",
        "Google Docs Offline",
        "Low",
        "Google",
        "storage",
    ),
    (
        "chrome",
        "cjpalhdlnbpafiamejdnhcphjbkeiagm",
        "uBlock Origin",
        "Medium",
        "Raymond Hill",
        "webRequest",
    ),
    (
        "edge",
        "kbfnbcaeplbcioakkpcpgfkobkghlhen",
        "Grammarly",
        "High",
        "Grammarly",
        "<all_urls>",
    ),
    (
        "edge",
        "hokifickgkhplphjiodbggjmoafhignh",
        "Microsoft Editor",
        "Low",
        "Microsoft",
        "activeTab",
    ),
];

/// Gathered settings: id, field, description.
const GATHERED: &[(&str, &str, &str)] = &[
    (
        "IG-1",
        "Tls10ClientEnabled",
        "Whether TLS 1.0 is enabled for clients",
    ),
    (
        "IG-2",
        "SmbSigningRequired",
        "Whether SMB signing is required",
    ),
    (
        "IG-3",
        "AsrConfigurationStates",
        "Attack surface reduction rules and their states",
    ),
];

const DAY: i64 = 86_400_000_000_000;

/// Seeds the vulnerability-management snapshot of `tenant_id`'s devices at `now` (ns);
/// returns the rows written.
pub(super) fn seed_tvm(
    store: &EventStore,
    tenant_id: &str,
    estate: &Estate,
    now: i64,
    only: Option<&[&str]>,
) -> Result<u64, StoreError> {
    let mut skip = Vec::new();
    for t in TVM_TABLES {
        if store
            .catalog()
            .table(t)
            .is_some_and(|s| s.time_column().is_none())
            && has_static_rows(store, tenant_id, t)?
        {
            skip.push(*t);
        }
    }
    let tables: Vec<&'static str> = TVM_TABLES
        .iter()
        .copied()
        .filter(|t| !skip.contains(t))
        .collect();
    let mut out = FamilyRows::new(store, tenant_id, &tables, only)?;
    let mut row = |table: &'static str,
                   t: i64,
                   fill: &mut dyn FnMut(&mut RowBatch)|
     -> Result<(), StoreError> {
        if skip.contains(&table) {
            return Ok(());
        }
        out.row(table, t, |w| fill(w))
    };
    let mut r = Rng::new(estate.devices.len() as u64 ^ 0x7e_11);
    let t = now - 3_600_000_000_000;
    for d in &estate.devices {
        // Software: the device's OS and the products of its platform family; a third of
        // the devices are up to date.
        let patched = r.chance(0.33);
        for s in SOFTWARE
            .iter()
            .filter(|s| d.os_platform.starts_with(s.platform))
        {
            let version = if patched { s.fixed } else { s.vulnerable };
            row("DeviceTvmSoftwareInventory", t, &mut |w| {
                device(w, d);
                w.set("SoftwareVendor", S(s.vendor));
                w.set("SoftwareName", S(s.name));
                w.set("SoftwareVersion", S(version));
                w.set("EndOfSupportStatus", S(""));
                w.set(
                    "ProductCodeCpe",
                    S(&format!(
                        "cpe:2.3:a:{}:{}:{version}:*:*:*:*:*:*:*",
                        s.vendor, s.name
                    )),
                );
            })?;
            row("DeviceTvmSoftwareEvidenceBeta", t, &mut |w| {
                w.set("DeviceId", S(&d.device_id));
                w.set("SoftwareVendor", S(s.vendor));
                w.set("SoftwareName", S(s.name));
                w.set("SoftwareVersion", S(version));
                w.set("RegistryPaths", J("[]"));
                w.set("DiskPaths", J(&json!([s.path]).to_string()));
                w.set("LastSeenTime", S(&palisade_kql::value::day_of(t)));
            })?;
            if patched {
                continue;
            }
            for c in CVES.iter().filter(|c| c.4 == (s.vendor, s.name)) {
                row("DeviceTvmSoftwareVulnerabilities", t, &mut |w| {
                    device(w, d);
                    w.set("SoftwareVendor", S(s.vendor));
                    w.set("SoftwareName", S(s.name));
                    w.set("SoftwareVersion", S(version));
                    w.set("CveId", S(c.0));
                    w.set("VulnerabilitySeverityLevel", S(c.3));
                    w.set("RecommendedSecurityUpdate", S(c.5));
                    w.set("RecommendedSecurityUpdateId", S(c.6));
                    w.set(
                        "CveTags",
                        J(if c.2 { "[\"ExploitAvailable\"]" } else { "[]" }),
                    );
                })?;
            }
        }
        let windows = d.os_platform.starts_with("Windows");
        if windows {
            for (id, impact, _, category, sub) in CONFIGS {
                let compliant = r.chance(0.7);
                row("DeviceTvmSecureConfigurationAssessment", t, &mut |w| {
                    w.set("DeviceId", S(&d.device_id));
                    w.set("DeviceName", S(&d.name));
                    w.set("OSPlatform", S(&d.os_platform));
                    w.set("Timestamp", T(t));
                    w.set("ConfigurationId", S(id));
                    w.set("ConfigurationCategory", S(category));
                    w.set("ConfigurationSubcategory", S(sub));
                    w.set("ConfigurationImpact", R(*impact));
                    w.set("IsCompliant", B(compliant));
                    w.set("IsApplicable", B(true));
                    w.set("Context", J("[]"));
                    w.set("IsExpectedUserImpact", B(*impact < 5.0));
                })?;
            }
            for (browser, id, name, risk, vendor, _) in EXTENSIONS {
                if !r.chance(0.5) {
                    continue;
                }
                let installed = t - (10 + r.below(300) as i64) * DAY;
                row("DeviceTvmBrowserExtensions", t, &mut |w| {
                    w.set("DeviceId", S(&d.device_id));
                    w.set("BrowserName", S(browser));
                    w.set("ExtensionId", S(id));
                    w.set("ExtensionName", S(name));
                    w.set("ExtensionDescription", S(name));
                    w.set("ExtensionVersion", S("1.0.0"));
                    w.set("ExtensionRisk", S(risk));
                    w.set("ExtensionVendor", S(vendor));
                    w.set("IsActivated", S("true"));
                    w.set("InstallationTime", T(installed));
                })?;
            }
        }
        let thumbprint = r.hex(40).to_uppercase();
        let serial = r.hex(32).to_uppercase();
        let expires = t + (r.below(400) as i64 - 30) * DAY;
        row("DeviceTvmCertificateInfo", t, &mut |w| {
            w.set("DeviceId", S(&d.device_id));
            w.set("Thumbprint", S(&thumbprint));
            w.set("Path", S("LocalMachine\\My"));
            w.set("SerialNumber", S(&serial));
            w.set("IssuedTo", J(&json!({"CommonName": d.name}).to_string()));
            w.set(
                "IssuedBy",
                J(
                    &json!({"CommonName": "Contoso Issuing CA 01", "Organization": "Contoso"})
                        .to_string(),
                ),
            );
            w.set("FriendlyName", S(&d.name));
            w.set("SignatureAlgorithm", S("sha256RSA"));
            w.set("KeySize", S("2048"));
            w.set("ExpirationDate", S(&palisade_kql::value::day_of(expires)));
            w.set(
                "IssueDate",
                S(&palisade_kql::value::day_of(expires - 365 * DAY)),
            );
            w.set("SubjectType", S("End entity"));
            w.set("KeyUsage", S("DigitalSignature, KeyEncipherment"));
            w.set("ExtendedKeyUsage", S("Client Authentication"));
        })?;
        for (kind, maker, name, family, version) in [
            ("Bios", "Dell Inc.", "Latitude 7420 BIOS", "", "1.18.0"),
            (
                "Processor",
                "Intel",
                "Intel(R) Core(TM) i7-1185G7",
                "Tiger Lake",
                "11",
            ),
        ] {
            row("DeviceTvmHardwareFirmware", t, &mut |w| {
                w.set("DeviceId", S(&d.device_id));
                w.set("DeviceName", S(&d.name));
                w.set("ComponentType", S(kind));
                w.set("Manufacturer", S(maker));
                w.set("ComponentName", S(name));
                w.set("ComponentFamily", S(family));
                w.set("ComponentVersion", S(version));
                w.set("AdditionalFields", J("{}"));
            })?;
        }
        let fields = json!({
            "Tls10ClientEnabled": if r.chance(0.3) { "true" } else { "false" },
            "SmbSigningRequired": if windows { "true" } else { "" },
            "AsrConfigurationStates": {"BlockOfficeChildProcess": if r.chance(0.5) { "Block" } else { "Audit" }},
        })
        .to_string();
        row("DeviceTvmInfoGathering", t, &mut |w| {
            w.set("Timestamp", T(t));
            w.set("LastSeenTime", T(t - 1_800_000_000_000));
            w.set("DeviceId", S(&d.device_id));
            w.set("DeviceName", S(&d.name));
            w.set("OSPlatform", S(&d.os_platform));
            w.set("AdditionalFields", J(&fields));
        })?;
    }
    // The knowledge bases.
    for c in CVES {
        let published = t - (60 + 17 * c.0.len() as i64) * DAY;
        row("DeviceTvmSoftwareVulnerabilitiesKB", t, &mut |w| {
            let (vendor, name) = c.4;
            let affected = SOFTWARE
                .iter()
                .filter(|s| (s.vendor, s.name) == (vendor, name))
                .map(|s| {
                    json!({"SoftwareVendor": vendor, "SoftwareName": name,
                                 "VulnerableVersion": s.vulnerable})
                })
                .collect::<Vec<_>>();
            w.set("CveId", S(c.0));
            w.set("CvssScore", S(c.1));
            w.set("IsExploitAvailable", B(c.2));
            w.set("VulnerabilitySeverityLevel", S(c.3));
            w.set("LastModifiedTime", T(published + 20 * DAY));
            w.set("PublishedDate", T(published));
            w.set("VulnerabilityDescription", S(c.7));
            w.set("AffectedSoftware", J(&json!(affected).to_string()));
        })?;
    }
    for (id, impact, name, category, sub) in CONFIGS {
        row("DeviceTvmSecureConfigurationAssessmentKB", t, &mut |w| {
            w.set("ConfigurationId", S(id));
            w.set("ConfigurationImpact", R(*impact));
            w.set("ConfigurationName", S(name));
            w.set("ConfigurationDescription", S(name));
            w.set(
                "RiskDescription",
                S(&format!("Devices that do not {}", name.to_lowercase())),
            );
            w.set("ConfigurationCategory", S(category));
            w.set("ConfigurationSubcategory", S(sub));
            w.set(
                "ConfigurationBenchmarks",
                J("[{\"benchmarkName\":\"CIS\"}]"),
            );
            w.set("Tags", J("[]"));
            w.set("RemediationOptions", S(name));
        })?;
    }
    for (browser, id, name, risk, _, permission) in EXTENSIONS {
        row("DeviceTvmBrowserExtensionsKB", t, &mut |w| {
            w.set("BrowserName", S(browser));
            w.set("ExtensionId", S(id));
            w.set("ExtensionName", S(name));
            w.set("ExtensionDescription", S(name));
            w.set("ExtensionVersion", J("[\"1.0.0\"]"));
            w.set("ExtensionRisk", S(risk));
            w.set("PermissionId", S(permission));
            w.set("PermissionName", S(permission));
            w.set("PermissionDescription", S(permission));
            w.set("PermissionRisk", S(risk));
            w.set("IsPermissionRequired", S("true"));
        })?;
    }
    for (id, field, description) in GATHERED {
        row("DeviceTvmInfoGatheringKB", t, &mut |w| {
            w.set("IgId", S(id));
            w.set("FieldName", S(field));
            w.set("Description", S(description));
            w.set("Categories", J("[\"tls\",\"smb\",\"asr\"]"));
            w.set("DataStructure", S("String"));
        })?;
    }
    out.commit()
}

/// The device columns of the inventory tables.
fn device(w: &mut RowBatch, d: &EstateDevice) {
    let (version, arch) = match d.os_platform.as_str() {
        "Linux" => ("22.04", "x64"),
        "macOS" => ("13", "arm64"),
        _ => ("22H2", "x64"),
    };
    w.set("DeviceId", S(&d.device_id));
    w.set("DeviceName", S(&d.name));
    w.set("OSPlatform", S(&d.os_platform));
    w.set("OSVersion", S(version));
    w.set("OSArchitecture", S(arch));
}
