//! `invoke FileProfile(x, y)`: hand-computed enrichment results over hand-made profiles, the
//! argument checks, the reference store (idempotent seeding, JSON-lines ingestion, shared by
//! all tenants) and Microsoft's documented example queries over seeded data.

use std::sync::Arc;

use palisade_events::profiles::{profiles_batch, FileProfileRecord};
use palisade_events::reference::{append_reference, reference_files};
use palisade_events::{
    ingest_reference_jsonl, seed_events, seed_file_profiles, Estate, EventStore, StoreError,
};
use palisade_hunting::{HuntError, HuntingEngine};
use palisade_kql::catalog::FILE_PROFILE;
use serde_json::{json, Value};

use crate::support::{now, rows};

const P1_SHA1: &str = "3395856ce81f2b7382dee72602f798b642f14140";
const P1_SHA256: &str = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
const P2_SHA1: &str = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3";
const P2_SHA256: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn profile(
    sha1: &str,
    sha256: &str,
    prevalence: i32,
    signer: &str,
    threat: &str,
) -> FileProfileRecord {
    FileProfileRecord {
        sha1: sha1.into(),
        sha256: sha256.into(),
        md5: "44d88612fea8a8f36de82e1278abb02f".into(),
        file_size: 68,
        global_prevalence: prevalence,
        global_first_seen: 1_577_836_800_000_000_000, // 2020-01-01
        global_last_seen: 1_763_640_000_000_000_000,
        signer: signer.into(),
        issuer: if signer.is_empty() { "" } else { "Test CA" }.into(),
        signer_hash: String::new(),
        is_certificate_valid: !signer.is_empty(),
        is_root_signer_microsoft: false,
        signature_state: if signer.is_empty() {
            "Unsigned"
        } else {
            "SignedValid"
        }
        .into(),
        is_executable: true,
        threat_name: threat.into(),
        publisher: String::new(),
        software_name: String::new(),
    }
}

/// An engine whose store holds two profiles: P1 (signed, prevalence 5000) and P2 (malware).
fn engine() -> (tempfile::TempDir, HuntingEngine) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let batch = profiles_batch(&[
        profile(P1_SHA1, P1_SHA256, 5000, "Contoso Ltd", ""),
        profile(P2_SHA1, P2_SHA256, 2, "", "Virus:DOS/EICAR_Test_File"),
    ])
    .unwrap();
    let r = append_reference(&store, FILE_PROFILE, &batch).unwrap();
    assert_eq!((r.written, r.skipped.len()), (2, 0));
    (dir, HuntingEngine::new(Arc::new(store)))
}

fn column(rows: &[Value], c: &str) -> Vec<Value> {
    rows.iter().map(|r| r[c].clone()).collect()
}

#[tokio::test]
async fn found_missing_empty_and_beyond_the_limit() {
    let (_d, e) = engine();
    // Ids: row 1 (P1, upper-case), row 2 empty, row 3 unknown, row 4 P2, row 5 P1 again.
    // Limit 3: rows 1, 3 and 4 are the first three rows with an id; row 5 is past the limit.
    let q = format!(
        "datatable(n:long, SHA1:string)[1, '{}', 2, '', 3, 'ffffffffffffffffffffffffffffffffffffffff', 4, '{P2_SHA1}', 5, '{P1_SHA1}'] \
         | invoke FileProfile(SHA1, 3)",
        P1_SHA1.to_uppercase()
    );
    let r = rows(&e, &q).await;
    assert_eq!(
        column(&r, "n"),
        vec![json!(1), json!(2), json!(3), json!(4), json!(5)]
    );
    assert_eq!(
        column(&r, "ProfileAvailability"),
        vec![
            json!("Available"),
            json!(""),
            json!("Missing"),
            json!("Available"),
            json!("")
        ]
    );
    assert_eq!(
        column(&r, "GlobalPrevalence"),
        vec![json!(5000), Value::Null, Value::Null, json!(2), Value::Null]
    );
    // The input's SHA1 is kept as it was; SHA256 comes from the profile.
    assert_eq!(column(&r, "SHA1")[0], json!(P1_SHA1.to_uppercase()));
    assert_eq!(
        column(&r, "SHA256"),
        vec![
            json!(P1_SHA256),
            json!(""),
            json!(""),
            json!(P2_SHA256),
            json!("")
        ]
    );
    assert_eq!(
        column(&r, "ThreatName"),
        vec![
            json!(""),
            json!(""),
            json!(""),
            json!("Virus:DOS/EICAR_Test_File"),
            json!("")
        ]
    );
    assert_eq!(
        column(&r, "IsCertificateValid"),
        vec![
            json!(true),
            Value::Null,
            Value::Null,
            json!(false),
            Value::Null
        ]
    );
    assert_eq!(
        column(&r, "GlobalFirstSeen")[0],
        json!("2020-01-01T00:00:00.0000000Z")
    );
    // The documented types: FileSize and GlobalPrevalence are int.
    let res = e.run("t1", &q, now()).await.unwrap();
    let ty = |c: &str| {
        crate::support::columns(&res)
            .into_iter()
            .find(|(n, _)| n == c)
            .map(|(_, t)| t)
            .unwrap()
    };
    assert_eq!(ty("FileSize"), "Int32");
    assert_eq!(ty("GlobalPrevalence"), "Int32");
    assert_eq!(ty("GlobalLastSeen"), "DateTime");
    assert_eq!(ty("IsExecutable"), "Boolean");
    // Columns the input already has are the input's.
    let r = rows(
        &e,
        &format!("datatable(SHA1:string, FileSize:long)['{P1_SHA1}', 123456789012] | invoke FileProfile()"),
    )
    .await;
    assert_eq!(r[0]["FileSize"], json!(123456789012i64));
    assert_eq!(r[0]["GlobalPrevalence"], json!(5000));
}

#[tokio::test]
async fn default_arguments_enrich_the_first_100_rows() {
    let (_d, e) = engine();
    // 102 rows: rows 1 and 102 hold P1, the others unknown ids. Default key SHA1, limit 100.
    let q = format!(
        "range i from 1 to 102 step 1 \
         | extend SHA1 = iff(i == 1 or i == 102, '{P1_SHA1}', strcat('x', i)) \
         | invoke FileProfile()"
    );
    let r = rows(&e, &q).await;
    assert_eq!(r.len(), 102);
    let avail = column(&r, "ProfileAvailability");
    assert_eq!(avail[0], json!("Available"));
    assert!(avail[1..100].iter().all(|v| v == "Missing"));
    assert_eq!(avail[100], json!(""));
    assert_eq!(avail[101], json!(""), "row 102 is past the default limit");
    assert_eq!(column(&r, "i")[101], json!(102), "input order is kept");
    // The same with the docs' string form of the key.
    let r = rows(&e, &format!("{q} | count")).await;
    assert_eq!(r[0]["Count"], json!(102));
    let r = rows(
        &e,
        &format!("datatable(SHA1:string)['{P2_SHA1}'] | invoke FileProfile(\"SHA1\", 500)"),
    )
    .await;
    assert_eq!(r[0]["ProfileAvailability"], json!("Available"));
}

#[tokio::test]
async fn initiating_process_sha256_as_key() {
    let (_d, e) = engine();
    for key in ["InitiatingProcessSHA256", "'InitiatingProcessSHA256'"] {
        let r = rows(
            &e,
            &format!(
                "datatable(InitiatingProcessSHA256:string)['{}', '{P1_SHA1}'] | invoke FileProfile({key}, 10)",
                P2_SHA256.to_uppercase()
            ),
        )
        .await;
        // Matched on SHA256 (case-insensitively); a SHA1 in a SHA256 column matches nothing.
        assert_eq!(
            column(&r, "ProfileAvailability"),
            vec![json!("Available"), json!("Missing")]
        );
        assert_eq!(column(&r, "SHA1"), vec![json!(P2_SHA1), json!("")]);
    }
    let r = rows(
        &e,
        &format!("datatable(InitiatingProcessSHA1:string)['{P1_SHA1}'] | invoke FileProfile(InitiatingProcessSHA1)"),
    )
    .await;
    assert_eq!(r[0]["SHA256"], json!(P1_SHA256));
}

#[tokio::test]
async fn bad_arguments_are_bind_errors_with_positions() {
    let (_d, e) = engine();
    let t = "datatable(SHA1:string, FileName:string)['a', 'b']";
    let cases = [
        (
            format!("{t} | invoke FileProfile(FileName)"),
            72,
            "'FileName' must be one of SHA1, SHA256",
        ),
        (
            format!("{t} | invoke FileProfile(SHA1, 0)"),
            78,
            "record limit must be a constant from 1 to 1000",
        ),
        (
            format!("{t} | invoke FileProfile(SHA1, 1001)"),
            78,
            "from 1 to 1000",
        ),
        (
            format!("{t} | invoke FileProfile(SHA1, 5, 6)"),
            81,
            "at most 2 arguments",
        ),
        (
            format!("{t} | invoke FileProfile(SHA256)"),
            72,
            "the input has no 'SHA256' column",
        ),
        (
            format!("{t} | invoke FileProfile(tolower(SHA1))"),
            72,
            "first argument must be one of",
        ),
        (
            "datatable(x:string)['a'] | invoke FileProfile()".to_string(),
            35,
            "the input has no 'SHA1' column",
        ),
    ];
    for (q, column, text) in cases {
        match e.run("t1", &q, now()).await {
            Err(HuntError::Semantic {
                pos: Some(pos),
                message,
            }) => {
                assert_eq!((pos.line, pos.column), (1, column), "{q}: {message}");
                assert!(message.contains(text), "{q}: {message}");
            }
            other => panic!("{q}: expected a semantic error, got {other:?}"),
        }
    }
    // Other invoked functions stay unsupported by name.
    match e.run("t1", &format!("{t} | invoke Nope()"), now()).await {
        Err(HuntError::Unsupported { name, .. }) => assert_eq!(name, "Nope"),
        other => panic!("expected Nope to be unsupported, got {other:?}"),
    }
}

#[tokio::test]
async fn reference_store_is_global_idempotent_and_ingestible() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let estate = Estate::sample(3);
    let first = seed_file_profiles(&store, &estate, now()).unwrap();
    assert_eq!(first.written, estate.files.len() as u64);
    let again = seed_file_profiles(&store, &estate, now()).unwrap();
    assert_eq!(
        (again.written, again.skipped.len()),
        (0, estate.files.len())
    );
    let files = reference_files(&store, FILE_PROFILE).unwrap();
    assert_eq!(files.len(), 1, "re-seeding wrote nothing");
    let rel = files[0].path.strip_prefix(store.root()).unwrap();
    assert!(rel.starts_with("reference/FileProfile"), "{rel:?}");
    assert!(!rel.to_string_lossy().contains("tenant="));

    // JSON lines: one good profile, then a duplicate, a row without SHA1, a wrong type.
    let text = format!(
        "{}\n{}\n{}\n{}\n",
        json!({"SHA1": P1_SHA1, "SHA256": P1_SHA256, "GlobalPrevalence": 7, "GlobalFirstSeen": "2021-05-01T00:00:00Z", "ThreatName": "Test:Win32/Ingested"}),
        json!({"SHA1": P1_SHA1.to_uppercase(), "GlobalPrevalence": 8}),
        json!({"SHA256": P2_SHA256}),
        json!({"SHA1": P2_SHA1, "FileSize": "big"}),
    );
    let report = ingest_reference_jsonl(&store, FILE_PROFILE, text.as_bytes()).unwrap();
    assert_eq!(report.accepted, 1);
    let lines: Vec<usize> = report.rejected.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 3, 4]);
    assert!(report.rejected[0].message.contains("duplicate"));
    assert!(report.rejected[1].message.contains("missing SHA1"));
    assert!(report.rejected[2].message.contains("FileSize"));
    assert!(matches!(
        ingest_reference_jsonl(&store, "NoSuchReference", "".as_bytes()),
        Err(StoreError::UnknownTable(n)) if n == "NoSuchReference"
    ));
    // A path-like name is not a dataset either.
    assert!(matches!(
        ingest_reference_jsonl(
            &store,
            "../tenant=t1/table=DeviceProcessEvents",
            "".as_bytes()
        ),
        Err(StoreError::UnknownTable(_))
    ));

    // Every tenant sees the same (global) profiles.
    let engine = HuntingEngine::new(Arc::new(store));
    let q = format!(
        "datatable(SHA1:string)['{P1_SHA1}', '{}'] | invoke FileProfile() | project GlobalPrevalence, ThreatName, SignatureState",
        estate.files[0].sha1
    );
    for tenant in ["tenant-a", "tenant-b"] {
        let r = engine.run(tenant, &q, now()).await.unwrap();
        assert_eq!(r.rows[0]["GlobalPrevalence"], json!(7));
        assert_eq!(r.rows[0]["ThreatName"], json!("Test:Win32/Ingested"));
        assert_eq!(
            r.rows[1]["SignatureState"],
            json!("SignedValid"),
            "explorer.exe"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_examples_run_on_seeded_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let estate = Estate::sample(11);
    seed_events(&store, "tenant-a", &estate, 6000, now(), |_| {})
        .await
        .unwrap();
    seed_file_profiles(&store, &estate, now()).unwrap();
    let engine = HuntingEngine::new(Arc::new(store));
    // "Project only the SHA1 column and enrich it".
    let r = engine
        .run(
            "tenant-a",
            "DeviceFileEvents\n| where isnotempty(SHA1) and Timestamp > ago(1d)\n| take 10\n| project SHA1\n| invoke FileProfile()",
            now(),
        )
        .await
        .unwrap();
    assert!(!r.rows.is_empty() && r.rows.len() <= 10);
    assert_eq!(
        r.schema.columns.len(),
        18,
        "SHA1 plus the 17 other profile columns"
    );
    for row in &r.rows {
        let known = estate.files.iter().find(|f| row["SHA1"] == f.sha1.as_str());
        match known {
            Some(f) => {
                assert_eq!(row["ProfileAvailability"], "Available");
                assert_eq!(row["SHA256"], f.sha256.as_str());
                assert!(row["GlobalPrevalence"].as_i64().unwrap() > 0);
            }
            None => assert_eq!(row["ProfileAvailability"], "Missing"),
        }
    }
    // "Enrich the first 500 records and list low-prevalence files".
    let r = engine
        .run(
            "tenant-a",
            "DeviceFileEvents\n| where ActionType == \"FileCreated\" and Timestamp > ago(1d)\n| project CreatedOn = Timestamp, FileName, FolderPath, SHA1\n| invoke FileProfile(\"SHA1\", 500)\n| where GlobalPrevalence < 15",
            now(),
        )
        .await
        .unwrap();
    for row in &r.rows {
        assert!(row["GlobalPrevalence"].as_i64().unwrap() < 15);
        let name = row["FileName"].as_str().unwrap();
        assert!(
            [
                "invoice_2291.docm",
                "payload.ps1",
                "update.dll",
                "report.xlsx",
                "notes.txt"
            ]
            .contains(&name),
            "{name} is not a rare file"
        );
    }
    // Over the whole window the rare files do show up.
    let r = engine
        .run(
            "tenant-a",
            "DeviceFileEvents | project FileName, SHA1 | invoke FileProfile(SHA1, 1000) | where GlobalPrevalence < 15 | summarize by FileName",
            now(),
        )
        .await
        .unwrap();
    assert!(!r.rows.is_empty());
}
