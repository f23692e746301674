//! Global file profiles for the generated sample estate: the reference data behind
//! `invoke FileProfile()` (see [`crate::reference`]).
//!
//! Every file of an [`Estate`] gets a profile that reads like Microsoft's global file
//! intelligence: Windows binaries are signed by *Microsoft Windows* (root signer Microsoft,
//! prevalence in the hundreds of millions, first seen years ago); Microsoft and Google
//! applications are signed by their publishers; the attack files the generator plants
//! (`invoice_2291.docm`, `payload.ps1`, `update.dll`) are unsigned, seen a handful of times
//! globally and carry a detection name; `setup.exe` is a potentially unwanted application with
//! an invalid signature; the user documents are unsigned and rare. Values depend only on the
//! file and `now`, so seeding is deterministic; [`seed_file_profiles`] is idempotent (profiles
//! are keyed by SHA1).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, RecordBatch, StringBuilder, TimestampNanosecondBuilder,
};
use chrono::{DateTime, Utc};

use crate::generator::{Estate, EstateFile};
use crate::reference::{append_reference, ReferenceReport};
use crate::store::{EventStore, StoreError};
use palisade_kql::catalog::{reference_schema, FILE_PROFILE};

const NS_DAY: i64 = 86_400_000_000_000;

/// One file profile (the stored `FileProfile` columns).
#[derive(Debug, Clone, PartialEq)]
pub struct FileProfileRecord {
    /// SHA-1 (the key).
    pub sha1: String,
    /// SHA-256.
    pub sha256: String,
    /// MD5.
    pub md5: String,
    /// Size in bytes.
    pub file_size: i32,
    /// Instances observed globally.
    pub global_prevalence: i32,
    /// First observed globally (ns since the epoch).
    pub global_first_seen: i64,
    /// Last observed globally (ns since the epoch).
    pub global_last_seen: i64,
    /// Signer of the file.
    pub signer: String,
    /// Issuing certificate authority.
    pub issuer: String,
    /// Hash identifying the signer.
    pub signer_hash: String,
    /// Whether the signing certificate is valid.
    pub is_certificate_valid: bool,
    /// Whether the root signer is Microsoft and the file is built into Windows.
    pub is_root_signer_microsoft: bool,
    /// `SignedValid`, `SignedInvalid`, `Unsigned` or `Unknown`.
    pub signature_state: String,
    /// Whether the file is a Portable Executable.
    pub is_executable: bool,
    /// Detection name, empty if none.
    pub threat_name: String,
    /// Publishing organisation.
    pub publisher: String,
    /// Software product.
    pub software_name: String,
}

/// A stable 64-bit value derived from a file hash (FNV-1a), for per-file variation.
fn spread(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A deterministic 40-hex signer hash for a signer name.
fn signer_hash(signer: &str) -> String {
    use sha1::Digest as _;
    sha1::Sha1::digest(signer.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The profile of one estate file as seen at `now_ns`.
pub fn file_profile(f: &EstateFile, now_ns: i64) -> FileProfileRecord {
    let v = spread(&f.sha1);
    let days_ago = |min: u64, span: u64| now_ns - (min + v % span) as i64 * NS_DAY;
    let signed = |signer: &str, issuer: &str, root_ms: bool, publisher: &str, product: &str| {
        (
            signer.to_string(),
            issuer.to_string(),
            signer_hash(signer),
            true,
            root_ms,
            "SignedValid",
            publisher.to_string(),
            product.to_string(),
        )
    };
    let unsigned = || {
        (
            String::new(),
            String::new(),
            String::new(),
            false,
            false,
            "Unsigned",
            String::new(),
            String::new(),
        )
    };
    let name = f.name.to_ascii_lowercase();
    let office = "Microsoft Office";
    // (signer, issuer, signer hash, cert valid, root MS, state, publisher, product), threat,
    // prevalence, first seen, executable, size.
    let (sig, threat, prevalence, first_seen, executable, size) = match name.as_str() {
        "invoice_2291.docm" => (
            unsigned(),
            "TrojanDownloader:O97M/Donoff.SS!MTB",
            3 + (v % 5) as i32,
            days_ago(9, 3),
            false,
            48_128,
        ),
        "payload.ps1" => (
            unsigned(),
            "Trojan:Win32/Wacatac.B!ml",
            1 + (v % 3) as i32,
            days_ago(8, 2),
            false,
            6_912,
        ),
        "update.dll" => (
            unsigned(),
            "Trojan:Win32/CobaltStrike.RPX!MTB",
            2 + (v % 9) as i32,
            days_ago(12, 4),
            true,
            301_568,
        ),
        "setup.exe" => (
            (
                "Setup Factory Runtime".to_string(),
                "Sectigo Public Code Signing CA R36".to_string(),
                signer_hash("Setup Factory Runtime"),
                false,
                false,
                "SignedInvalid",
                "Setup Factory".to_string(),
                "Setup Factory Installer".to_string(),
            ),
            "PUA:Win32/Presenoker",
            40 + (v % 200) as i32,
            days_ago(60, 120),
            true,
            1_843_200,
        ),
        "report.xlsx" | "notes.txt" => (unsigned(), "", 1, days_ago(20, 60), false, 24_576),
        "winword.exe" | "excel.exe" | "outlook.exe" => (
            signed(
                "Microsoft Corporation",
                "Microsoft Code Signing PCA 2011",
                false,
                "Microsoft Corporation",
                office,
            ),
            "",
            20_000_000 + (v % 30_000_000) as i32,
            days_ago(700, 900),
            true,
            2_000_000 + (v % 1_500_000) as i32,
        ),
        "msedge.exe" | "teams.exe" | "msmpeng.exe" => (
            signed(
                "Microsoft Corporation",
                "Microsoft Code Signing PCA 2011",
                false,
                "Microsoft Corporation",
                match name.as_str() {
                    "msedge.exe" => "Microsoft Edge",
                    "teams.exe" => "Microsoft Teams",
                    _ => "Microsoft Defender Antivirus",
                },
            ),
            "",
            50_000_000 + (v % 100_000_000) as i32,
            days_ago(300, 600),
            true,
            500_000 + (v % 3_000_000) as i32,
        ),
        "chrome.exe" => (
            signed(
                "Google LLC",
                "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1",
                false,
                "Google LLC",
                "Google Chrome",
            ),
            "",
            100_000_000 + (v % 200_000_000) as i32,
            days_ago(30, 60),
            true,
            2_500_000 + (v % 500_000) as i32,
        ),
        _ if f.folder.to_ascii_lowercase().starts_with("c:\\windows") => (
            signed(
                "Microsoft Windows",
                "Microsoft Windows Production PCA 2011",
                true,
                "Microsoft Corporation",
                "Microsoft Windows Operating System",
            ),
            "",
            200_000_000 + (v % 1_500_000_000) as i32,
            days_ago(1_500, 1_500),
            true,
            20_000 + (v % 1_000_000) as i32,
        ),
        _ => (
            unsigned(),
            "",
            10 + (v % 1000) as i32,
            days_ago(30, 300),
            true,
            100_000,
        ),
    };
    let (signer, issuer, signer_hash, valid, root_ms, state, publisher, product) = sig;
    FileProfileRecord {
        sha1: f.sha1.clone(),
        sha256: f.sha256.clone(),
        md5: f.md5.clone(),
        file_size: size,
        global_prevalence: prevalence,
        global_first_seen: first_seen,
        // Seen within the last hour (globally, files keep being observed).
        global_last_seen: now_ns - (v % 3_600) as i64 * 1_000_000_000,
        signer,
        issuer,
        signer_hash,
        is_certificate_valid: valid,
        is_root_signer_microsoft: root_ms,
        signature_state: state.to_string(),
        is_executable: executable,
        threat_name: threat.to_string(),
        publisher,
        software_name: product,
    }
}

/// The profiles as a batch of the `FileProfile` reference schema.
pub fn profiles_batch(profiles: &[FileProfileRecord]) -> Result<RecordBatch, StoreError> {
    let schema = reference_schema(FILE_PROFILE)
        .ok_or_else(|| StoreError::UnknownTable(FILE_PROFILE.into()))?;
    let strings = |f: &dyn Fn(&FileProfileRecord) -> &str| -> ArrayRef {
        let mut b = StringBuilder::new();
        for p in profiles {
            b.append_value(f(p));
        }
        Arc::new(b.finish())
    };
    let ints = |f: &dyn Fn(&FileProfileRecord) -> i32| -> ArrayRef {
        let mut b = Int32Builder::new();
        for p in profiles {
            b.append_value(f(p));
        }
        Arc::new(b.finish())
    };
    let times = |f: &dyn Fn(&FileProfileRecord) -> i64| -> ArrayRef {
        let mut b = TimestampNanosecondBuilder::new().with_timezone("UTC");
        for p in profiles {
            b.append_value(f(p));
        }
        Arc::new(b.finish())
    };
    let bools = |f: &dyn Fn(&FileProfileRecord) -> bool| -> ArrayRef {
        let mut b = BooleanBuilder::new();
        for p in profiles {
            b.append_value(f(p));
        }
        Arc::new(b.finish())
    };
    // In the order of `reference::FILE_PROFILE_COLUMNS`.
    let columns = vec![
        strings(&|p| &p.sha1),
        strings(&|p| &p.sha256),
        strings(&|p| &p.md5),
        ints(&|p| p.file_size),
        ints(&|p| p.global_prevalence),
        times(&|p| p.global_first_seen),
        times(&|p| p.global_last_seen),
        strings(&|p| &p.signer),
        strings(&|p| &p.issuer),
        strings(&|p| &p.signer_hash),
        bools(&|p| p.is_certificate_valid),
        bools(&|p| p.is_root_signer_microsoft),
        strings(&|p| &p.signature_state),
        bools(&|p| p.is_executable),
        strings(&|p| &p.threat_name),
        strings(&|p| &p.publisher),
        strings(&|p| &p.software_name),
    ];
    Ok(RecordBatch::try_new(
        crate::schema::arrow_schema(&schema),
        columns,
    )?)
}

/// Writes a profile for every file of `estate` to the store's `FileProfile` reference data.
/// Idempotent: files already profiled (by SHA1) are skipped, so re-seeding adds nothing.
pub fn seed_file_profiles(
    store: &EventStore,
    estate: &Estate,
    now: DateTime<Utc>,
) -> Result<ReferenceReport, StoreError> {
    let now_ns = now.timestamp_nanos_opt().unwrap_or(0);
    let profiles: Vec<FileProfileRecord> = estate
        .files
        .iter()
        .map(|f| file_profile(f, now_ns))
        .collect();
    append_reference(store, FILE_PROFILE, &profiles_batch(&profiles)?)
}
