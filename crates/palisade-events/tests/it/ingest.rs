//! JSON-lines ingest: good rows stored, bad rows rejected with their line and reason.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int32Type, Int64Type, TimestampNanosecondType};
use palisade_events::{ingest_jsonl, ingest_reference_jsonl, EventStore};

use crate::batches;

#[tokio::test]
async fn values_of_every_type_are_decoded_into_their_columns() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let text = [
        r#"{"Timestamp": "2026-11-19T10:00:00.1234567Z", "DeviceName": "w\u00e9-1", "RemotePort": 443, "ReportId": 9007199254740993, "IsInitiatingProcessRemoteSession": true, "AdditionalFields": "{}"}"#,
        r#"{"Timestamp": "2026-11-19 11:00", "DeviceName": "plain", "RemotePort": null}"#,
        "",
        r#"{"Timestamp": "2026-11-18T10:00:00Z", "DeviceName": "repeat", "DeviceName": "last wins"}"#,
    ]
    .join("\n");
    let rep = ingest_jsonl(
        &store,
        "t1",
        "DeviceNetworkEvents",
        std::io::Cursor::new(text),
    )
    .await
    .unwrap();
    assert_eq!(
        (rep.accepted, rep.rejected.len()),
        (3, 0),
        "{:?}",
        rep.rejected
    );
    let mut rows = Vec::new();
    for b in batches(&store, "t1", "DeviceNetworkEvents") {
        let ts = b
            .column_by_name("Timestamp")
            .unwrap()
            .as_primitive::<TimestampNanosecondType>()
            .clone();
        let name = b
            .column_by_name("DeviceName")
            .unwrap()
            .as_string::<i32>()
            .clone();
        let port = b
            .column_by_name("RemotePort")
            .unwrap()
            .as_primitive::<Int32Type>()
            .clone();
        let rid = b
            .column_by_name("ReportId")
            .unwrap()
            .as_primitive::<Int64Type>()
            .clone();
        let extra = b
            .column_by_name("AdditionalFields")
            .unwrap()
            .as_string::<i32>()
            .clone();
        for i in 0..b.num_rows() {
            rows.push((
                palisade_kql::value::format_datetime(ts.value(i)),
                name.value(i).to_string(),
                (!port.is_null(i)).then(|| port.value(i)),
                (!rid.is_null(i)).then(|| rid.value(i)),
                (!extra.is_null(i)).then(|| extra.value(i).to_string()),
            ));
        }
    }
    rows.sort();
    assert_eq!(
        rows,
        vec![
            (
                "2026-11-18T10:00:00.0000000Z".into(),
                "last wins".into(),
                None,
                None,
                None
            ),
            (
                "2026-11-19T10:00:00.1234567Z".into(),
                "wé-1".into(),
                Some(443),
                Some(9007199254740993),
                Some("{}".into())
            ),
            (
                "2026-11-19T11:00:00.0000000Z".into(),
                "plain".into(),
                None,
                None,
                None
            ),
        ]
    );
    // A dynamic column takes any JSON value, kept as compact JSON text.
    let text = [
        r#"{"Timestamp": "2026-11-19T10:00:00Z", "AdditionalFields": {"a": [1, "x"], "b": null}}"#,
        r#"{"Timestamp": "2026-11-19T10:00:01Z", "AdditionalFields": "text"}"#,
        r#"{"Timestamp": "2026-11-19T10:00:02Z", "AdditionalFields": 1.5}"#,
    ]
    .join("\n");
    let rep = ingest_jsonl(
        &store,
        "t1",
        "IdentityLogonEvents",
        std::io::Cursor::new(text),
    )
    .await
    .unwrap();
    assert_eq!(
        (rep.accepted, rep.rejected.len()),
        (3, 0),
        "{:?}",
        rep.rejected
    );
    let mut dynamic: Vec<String> = batches(&store, "t1", "IdentityLogonEvents")
        .iter()
        .flat_map(|b| {
            let c = b
                .column_by_name("AdditionalFields")
                .unwrap()
                .as_string::<i32>()
                .clone();
            (0..c.len())
                .map(move |i| c.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    dynamic.sort();
    assert_eq!(
        dynamic,
        [r#""text""#, r#"1.5"#, r#"{"a":[1,"x"],"b":null}"#]
    );
}

#[tokio::test]
async fn bad_rows_are_rejected_with_their_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let text = [
        r#"{"Timestamp": "2026-11-19T10:00:00Z", "DeviceName": "ok"}"#,
        r#"{"Timestamp": "2026-11-19T10:00:00Z", "Bogus": 1}"#,
        r#"{"Timestamp": "2026-11-19T10:00:00Z", "RemotePort": "443"}"#,
        r#"{"Timestamp": "2026-11-19T10:00:00Z", "RemotePort": 4294967296}"#,
        r#"{"Timestamp": "yesterday"}"#,
        r#"{"Timestamp": "2026-11-19T10:00:00Z", "DeviceName": ["a"]}"#,
        r#"not json"#,
        r#"{"DeviceName": "no timestamp"}"#,
        r#"{"Timestamp": null}"#,
        r#"["an", "array"]"#,
        r#"{"Timestamp": "2026-11-19T10:00:00Z"} trailing"#,
    ]
    .join("\n");
    let rep = ingest_jsonl(
        &store,
        "t1",
        "DeviceNetworkEvents",
        std::io::Cursor::new(text),
    )
    .await
    .unwrap();
    assert_eq!(rep.accepted, 1);
    let got: Vec<(usize, &str)> = rep
        .rejected
        .iter()
        .map(|r| (r.line, r.message.as_str()))
        .collect();
    assert_eq!(got[0], (2, "unknown column 'Bogus'"));
    assert_eq!(
        got[1],
        (3, "column 'RemotePort': expected int, found \"443\"")
    );
    assert_eq!(
        got[2],
        (4, "column 'RemotePort': expected int, found 4294967296")
    );
    assert_eq!(
        got[3],
        (
            5,
            "column 'Timestamp': expected datetime, found \"yesterday\""
        )
    );
    assert_eq!(
        got[4],
        (6, "column 'DeviceName': expected string, found [\"a\"]")
    );
    assert_eq!(got[5].0, 7);
    assert!(got[5].1.starts_with("invalid JSON"), "{}", got[5].1);
    assert_eq!(got[6], (8, "missing Timestamp"));
    assert_eq!(got[7], (9, "missing Timestamp"));
    assert_eq!(got[8], (10, "expected a JSON object"));
    assert_eq!(got[9].0, 11);
    assert!(got[9].1.starts_with("invalid JSON"), "{}", got[9].1);
    assert_eq!(got.len(), 10);
}

#[tokio::test]
async fn many_chunks_keep_their_line_numbers_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    // More lines than one chunk, with a bad line every 10,000.
    let mut text = String::new();
    for i in 1..=50_000u32 {
        if i % 10_000 == 0 {
            text.push_str("{\"Timestamp\": 1}\n");
        } else {
            text.push_str(&format!(
                "{{\"Timestamp\": \"2026-11-19T10:00:00Z\", \"ReportId\": {i}}}\n"
            ));
        }
    }
    let rep = ingest_jsonl(
        &store,
        "t1",
        "DeviceNetworkEvents",
        std::io::Cursor::new(text),
    )
    .await
    .unwrap();
    assert_eq!(rep.accepted, 49_995);
    let lines: Vec<usize> = rep.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![10_000, 20_000, 30_000, 40_000, 50_000]);
    let mut ids: Vec<i64> = batches(&store, "t1", "DeviceNetworkEvents")
        .iter()
        .flat_map(|b| {
            let c = b
                .column_by_name("ReportId")
                .unwrap()
                .as_primitive::<Int64Type>()
                .clone();
            (0..c.len()).map(move |i| c.value(i)).collect::<Vec<_>>()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 49_995);
}

#[test]
fn reference_rows_need_a_sha1_and_are_not_stored_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let text = [
        r#"{"SHA1": "aa", "SHA256": "bb", "FileSize": 5}"#,
        r#"{"SHA1": "AA"}"#,
        r#"{"SHA1": ""}"#,
        r#"{"SHA256": "cc"}"#,
        r#"{"SHA1": "dd", "FileSize": "big"}"#,
    ]
    .join("\n");
    let rep = ingest_reference_jsonl(&store, "FileProfile", std::io::Cursor::new(text)).unwrap();
    assert_eq!(rep.accepted, 1);
    let got: Vec<(usize, &str)> = rep
        .rejected
        .iter()
        .map(|r| (r.line, r.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "duplicate profile: its SHA1 or SHA256 is already stored"),
            (3, "missing SHA1"),
            (4, "missing SHA1"),
            (5, "column 'FileSize': expected int, found \"big\""),
        ]
    );
}
