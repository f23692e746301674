//! The entities events refer to (devices, users, files, URLs, IPs) and the generator's
//! deterministic random numbers.

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
    /// A uniformly drawn string of `v`.
    pub(crate) fn pick_str(&mut self, v: &[&'static str]) -> &'static str {
        v[self.below(v.len() as u64) as usize]
    }
    pub(crate) fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(n);
        s
    }
    pub(crate) fn guid(&mut self) -> String {
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
}
