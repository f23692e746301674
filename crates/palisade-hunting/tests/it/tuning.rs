//! Every tuning step of the Parquet reader (filter pushdown, page index, bloom filters, the
//! declared `Timestamp` order, dynamic filters) gives the answers the untuned reader gives,
//! on sorted generated files mixed with unsorted ingested ones.

use std::sync::Arc;

use palisade_events::{ingest_jsonl, seed_events, Estate, EventStore};
use palisade_hunting::{HuntingEngine, Tuning};
use serde_json::Value;

use crate::support::now;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tuning_step_gives_the_untuned_answers() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    seed_events(&store, "t1", &Estate::sample(5), 6000, now(), |_| {})
        .await
        .unwrap();
    // Unsorted rows beside the sorted files: the newest and the oldest process events of the
    // window (the generator writes the 29.5 days before `now`, `now` excluded), out of order,
    // so a wrongly declared order would misplace them.
    let newest = now().to_rfc3339();
    let oldest = (now() - chrono::Duration::hours(29 * 24 + 20)).to_rfc3339();
    let lines = format!(
        "{{\"Timestamp\":\"{newest}\",\"DeviceId\":\"dev-x\",\"DeviceName\":\"x\",\"FileName\":\"late.exe\",\"SHA256\":\"feed\"}}\n\
         {{\"Timestamp\":\"{oldest}\",\"DeviceId\":\"dev-x\",\"DeviceName\":\"x\",\"FileName\":\"early.exe\",\"SHA256\":\"beef\"}}\n"
    );
    let rep = ingest_jsonl(
        &store,
        "t1",
        "DeviceProcessEvents",
        std::io::Cursor::new(lines),
    )
    .await
    .unwrap();
    assert_eq!(rep.accepted, 2);
    let store = Arc::new(store);
    let untuned = HuntingEngine::new(store.clone()).with_tuning(Tuning::untuned());
    let hash = untuned
        .run("t1", "DeviceProcessEvents | where FileName != 'late.exe' and FileName != 'early.exe' | take 1 | project SHA256", now())
        .await
        .unwrap()
        .rows[0]["SHA256"]
        .as_str()
        .unwrap()
        .to_string();
    let queries = [
        "DeviceProcessEvents | top 5 by Timestamp desc | project Timestamp, FileName".to_string(),
        "DeviceProcessEvents | sort by Timestamp asc | take 3 | project Timestamp, FileName".into(),
        "DeviceNetworkEvents | top 5 by Timestamp desc | project Timestamp, RemoteIP".into(),
        format!("DeviceProcessEvents | where SHA256 == '{hash}' | count"),
        "DeviceProcessEvents | where SHA256 == 'feed' | project FileName".into(),
        "DeviceProcessEvents | where SHA256 == 'no such hash' | count".into(),
        "DeviceProcessEvents | where Timestamp > ago(2h) | summarize c = count() by FileName".into(),
        "DeviceProcessEvents | summarize c = count(), d = dcount(DeviceId) by bin(Timestamp, 1d)".into(),
        "DeviceProcessEvents | where FileName =~ 'powershell.exe' | summarize by DeviceId | join kind=inner (DeviceNetworkEvents | where RemotePort == 443) on DeviceId | summarize c = count()".into(),
        "DeviceProcessEvents | join kind=leftanti (DeviceNetworkEvents) on DeviceId | count".into(),
    ];
    let answer = |e: HuntingEngine, q: String| async move {
        let r = e.run("t1", &q, now()).await.unwrap();
        let mut rows: Vec<String> = r
            .rows
            .iter()
            .map(|r| Value::Object(r.clone()).to_string())
            .collect();
        if !q.contains("top ") && !q.contains("sort by") {
            rows.sort();
        }
        rows
    };
    let mut expected = Vec::new();
    for q in &queries {
        let rows = answer(untuned.clone(), q.clone()).await;
        assert!(!rows.is_empty(), "{q}: no rows");
        expected.push(rows);
    }
    // The ingested rows are the newest and the oldest, and the IOC sweeps find what exists.
    assert!(expected[0][0].contains("late.exe"), "{:?}", expected[0]);
    assert!(expected[1][0].contains("early.exe"), "{:?}", expected[1]);
    assert_ne!(expected[3], vec![r#"{"Count":0}"#.to_string()]);
    assert_eq!(expected[4], vec![r#"{"FileName":"late.exe"}"#.to_string()]);
    assert_eq!(expected[5], vec![r#"{"Count":0}"#.to_string()]);
    for (step, tuning) in Tuning::steps()
        .into_iter()
        .chain([("default", Tuning::default())])
    {
        let e = HuntingEngine::new(store.clone()).with_tuning(tuning);
        for (q, want) in queries.iter().zip(&expected) {
            assert_eq!(&answer(e.clone(), q.clone()).await, want, "{step}: {q}");
        }
    }
}

/// String equality reaches the scan as `col = 'x'` (so the reader prunes on it) only where
/// that keeps Kusto's answer: a missing string is stored as null and reads as "".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_filters_keep_the_empty_string_of_missing_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let ts = now().to_rfc3339();
    let row = |hash: Option<&str>| match hash {
        Some(h) => format!(
            "{{\"Timestamp\":\"{ts}\",\"DeviceId\":\"d\",\"FileName\":\"f\",\"SHA256\":\"{h}\"}}\n"
        ),
        None => format!("{{\"Timestamp\":\"{ts}\",\"DeviceId\":\"d\",\"FileName\":\"f\"}}\n"),
    };
    let lines: String = [Some("feed"), Some("beef"), Some("cafe"), None, None]
        .into_iter()
        .map(row)
        .collect();
    let rep = ingest_jsonl(
        &store,
        "t1",
        "DeviceProcessEvents",
        std::io::Cursor::new(lines),
    )
    .await
    .unwrap();
    assert_eq!(rep.accepted, 5);
    let store = Arc::new(store);
    let cases = [
        ("SHA256 == 'feed'", 1),
        ("'feed' == SHA256", 1),
        ("SHA256 == ''", 2),
        ("isempty(SHA256)", 2),
        ("SHA256 in ('feed', 'beef')", 2),
        ("SHA256 in ('feed', '')", 3),
        ("SHA256 != 'feed'", 4),
        ("not(SHA256 == 'feed')", 4),
        ("SHA256 !in ('feed', 'beef')", 3),
        ("SHA256 == 'feed' or SHA256 == ''", 3),
        ("SHA256 == 'feed' or FileName == 'f'", 5),
        ("SHA256 == 'feed' and FileName == 'f'", 1),
        ("SHA256 == 'nothing'", 0),
    ];
    for tuning in [Tuning::untuned(), Tuning::default()] {
        let e = HuntingEngine::new(store.clone()).with_tuning(tuning);
        for (filter, want) in cases {
            let q = format!("DeviceProcessEvents | where {filter} | count");
            let r = e.run("t1", &q, now()).await.unwrap();
            assert_eq!(r.rows[0]["Count"], want, "{tuning:?}: {q}");
        }
    }
}

/// The engine keeps Parquet footers and file statistics across queries; what a query sees
/// still follows the store: new files after an ingest, the compacted files after a compaction,
/// and only its own tenant's files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_file_metadata_follows_ingest_compaction_and_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EventStore::open(dir.path()).unwrap());
    let engine = HuntingEngine::new(store.clone());
    let ts = now().to_rfc3339();
    let ingest = |tenant: &'static str, hashes: &'static [&'static str]| {
        let store = store.clone();
        let ts = ts.clone();
        async move {
            let lines: String = hashes
                .iter()
                .map(|h| {
                    format!("{{\"Timestamp\":\"{ts}\",\"DeviceId\":\"d\",\"SHA256\":\"{h}\"}}\n")
                })
                .collect();
            let rep = ingest_jsonl(
                &store,
                tenant,
                "DeviceProcessEvents",
                std::io::Cursor::new(lines),
            )
            .await
            .unwrap();
            assert_eq!(rep.accepted, hashes.len() as u64);
        }
    };
    let count = |tenant: &'static str, filter: &'static str| {
        let engine = engine.clone();
        async move {
            let q = format!("DeviceProcessEvents | where {filter} | count");
            engine.run(tenant, &q, now()).await.unwrap().rows[0]["Count"].clone()
        }
    };
    ingest("t1", &["aa", "bb"]).await;
    ingest("t2", &["aa", "aa", "aa"]).await;
    for _ in 0..2 {
        assert_eq!(count("t1", "true").await, 2);
        assert_eq!(count("t1", "SHA256 == 'aa'").await, 1);
        assert_eq!(count("t2", "SHA256 == 'aa'").await, 3);
    }
    ingest("t1", &["aa", "cc"]).await;
    assert_eq!(count("t1", "true").await, 4);
    assert_eq!(count("t1", "SHA256 == 'aa'").await, 2);
    assert_eq!(count("t1", "SHA256 == 'cc'").await, 1);
    store.compact_tenant("t1").unwrap();
    assert_eq!(count("t1", "true").await, 4);
    assert_eq!(count("t1", "SHA256 == 'aa'").await, 2);
    assert_eq!(count("t2", "true").await, 3);
}
