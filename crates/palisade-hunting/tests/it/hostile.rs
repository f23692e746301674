//! Hostile queries: every query that would grow past a limit ends in the typed error that
//! names the limit (the API's 400), never in a panic, an internal error or unbounded memory —
//! whichever operator grows it: `mv-expand`, `range`, string building, `make_list`/`make_set`,
//! joins, `summarize` with huge groups. And the engine answers normally afterwards.

use std::sync::Arc;

use palisade_events::{ingest_jsonl, EventStore};
use palisade_hunting::{HuntError, HuntingEngine, Limits};
use serde_json::json;

use crate::support::{now, rows};

/// An engine over a store holding 40 `DeviceProcessEvents` rows, with `memory` bytes a query.
async fn engine(memory: usize) -> (tempfile::TempDir, HuntingEngine) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let text: String = (0..40)
        .map(|i| {
            json!({"Timestamp": "2026-11-19T10:00:00Z", "DeviceName": format!("ws-{i}"),
                   "FileName": "cmd.exe", "ProcessCommandLine": format!("cmd /c echo {i}")})
            .to_string()
                + "\n"
        })
        .collect();
    let report = ingest_jsonl(
        &store,
        "t1",
        "DeviceProcessEvents",
        std::io::Cursor::new(text),
    )
    .await
    .unwrap();
    assert!(report.rejected.is_empty());
    let engine = HuntingEngine::new(Arc::new(store)).with_limits(Limits {
        memory_bytes: memory,
        ..Limits::default()
    });
    (dir, engine)
}

/// Runs `q`, which must fail with [`HuntError::TooLarge`]; returns its message.
async fn too_large(e: &HuntingEngine, q: &str) -> String {
    match e.run("t1", q, now()).await {
        Err(HuntError::TooLarge(m)) => m,
        other => panic!("expected the memory limit for\n{q}\ngot {other:?}"),
    }
}

/// After a refused query the engine still answers, and nothing stays reserved.
async fn still_answers(e: &HuntingEngine) {
    let r = rows(e, "DeviceProcessEvents | count").await;
    assert_eq!(r, vec![json!({"Count": 40})]);
}

#[tokio::test]
async fn mv_expand_of_a_huge_range_is_the_memory_limit_not_a_panic() {
    // Issue 13: this panicked inside Arrow ("byte array offset overflow" in `concat`).
    let (_d, e) = engine(1 << 30).await;
    let m = too_large(
        &e,
        "DeviceProcessEvents | mv-expand r = range(1, 100000000, 1) | count",
    )
    .await;
    assert!(m.contains("memory limit of 1 GiB"), "{m}");
    assert!(m.contains("kql_mv_items"), "{m}");
    still_answers(&e).await;
    // With `with_itemindex` too.
    let (_d, e) = engine(64 << 20).await;
    let m = too_large(
        &e,
        "DeviceProcessEvents | mv-expand with_itemindex=i r = range(1, 100000000, 1) | count",
    )
    .await;
    assert!(m.contains("memory limit of 64 MiB"), "{m}");
    // The parts of a `split()`, listed without JSON text, are charged the same way.
    let m = too_large(
        &e,
        r#"DeviceProcessEvents | extend a = split(strrep(strrep("x ", 1000), 1000), " ") | mv-expand a | count"#,
    )
    .await;
    assert!(m.contains("memory limit of 64 MiB"), "{m}");
    assert!(m.contains("kql_mv_split_parts"), "{m}");
    still_answers(&e).await;
}

#[tokio::test]
async fn range_function_truncates_at_kustos_documented_maximum() {
    // Kusto's own example: `range()` holds at most 2^20 values.
    let (_d, e) = engine(1 << 30).await;
    let r = rows(&e, "print r = range(1, 1000000000) | mv-expand r | count").await;
    assert_eq!(r, vec![json!({"Count": 1_048_576})]);
}

#[tokio::test]
async fn an_expansion_that_fits_runs() {
    let (_d, e) = engine(64 << 20).await;
    let r = rows(
        &e,
        "DeviceProcessEvents | mv-expand r = range(1, 500, 1) | summarize n = count(), s = sum(tolong(r))",
    )
    .await;
    assert_eq!(r, vec![json!({"n": 20_000, "s": 40 * 125_250})]);
}

#[tokio::test]
async fn range_operator_over_the_limit_names_it_at_its_position() {
    let (_d, e) = engine(1 << 30).await;
    match e
        .run("t1", "range x from 1 to 10000000000 step 1", now())
        .await
    {
        Err(HuntError::Semantic {
            pos: Some(pos),
            message,
        }) => {
            assert_eq!((pos.line, pos.column), (1, 14), "{message}");
            assert!(message.contains("1000000 rows"), "{message}");
            assert!(message.contains("10000000000"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match e
        .run(
            "t1",
            "let n = 1;\nrange t from 0.5 to 1e300 step 0.5",
            now(),
        )
        .await
    {
        Err(HuntError::Semantic {
            pos: Some(pos),
            message,
        }) => {
            assert_eq!((pos.line, pos.column), (2, 14), "{message}");
            assert!(message.contains("2e300 rows"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn string_building_stops_at_the_value_limit() {
    let (_d, e) = engine(1 << 30).await;
    // 1024^3 bytes, built by nested strrep: refused before it is built.
    let m = too_large(
        &e,
        r#"print s = strrep(strrep(strrep("x", 1024), 1024), 1024) | project n = strlen(s)"#,
    )
    .await;
    assert!(m.contains("64 MiB"), "{m}");
    // strcat of a value with itself, again and again, doubles it each time.
    let mut q = String::from(r#"DeviceProcessEvents | extend s0 = strrep("abcdefgh", 1024)"#);
    for i in 1..=14 {
        q.push_str(&format!(" | extend s{i} = strcat(s{}, s{})", i - 1, i - 1));
    }
    q.push_str(" | summarize max(strlen(s14))");
    let m = too_large(&e, &q).await;
    assert!(
        m.contains("memory limit") && m.contains("kql_concat"),
        "{m}"
    );
    // A value just under the limit is fine.
    let r = rows(
        &e,
        r#"print s = strrep(strrep("abcdefgh", 1024), 1024) | project n = strlen(s)"#,
    )
    .await;
    assert_eq!(r, vec![json!({"n": 8 << 20})]);
    still_answers(&e).await;
}

#[tokio::test]
async fn make_list_and_make_set_are_bounded() {
    let (_d, e) = engine(1 << 30).await;
    // 40 rows of 2 MiB each: an 80 MiB list.
    let m = too_large(
        &e,
        r#"DeviceProcessEvents | extend s = strcat(DeviceName, strrep(strrep("abcdefgh", 1024), 256)) | summarize make_list(s)"#,
    )
    .await;
    assert!(m.contains("make_list") && m.contains("64 MiB"), "{m}");
    let m = too_large(
        &e,
        r#"DeviceProcessEvents | extend s = strcat(DeviceName, strrep(strrep("abcdefgh", 1024), 256)) | summarize make_set(s)"#,
    )
    .await;
    assert!(m.contains("make_set"), "{m}");
    // Under a small pool the same aggregate is refused by the pool (its size is counted).
    let (_d, small) = engine(16 << 20).await;
    too_large(
        &small,
        r#"DeviceProcessEvents | extend s = strcat(DeviceName, strrep(strrep("abcdefgh", 1024), 64)) | summarize make_list(s)"#,
    )
    .await;
    still_answers(&e).await;
}

#[tokio::test]
async fn joins_and_huge_groups_stop_at_the_pool() {
    let (_d, e) = engine(32 << 20).await;
    // Every row matches every row, and the join's build side alone is larger than the pool.
    too_large(
        &e,
        r#"range x from 1 to 200000 step 1 | extend k = 1, s = strrep("x", 200) | join kind=inner (range y from 1 to 200000 step 1 | extend k = 1, t = strrep("y", 200)) on k | summarize max(strlen(strcat(s, t)))"#,
    )
    .await;
    still_answers(&e).await;
    // 300,000 groups with text keys in an 8 MiB pool: the aggregation spills or stops, but
    // never holds more than the pool.
    let (_d, e) = engine(8 << 20).await;
    let q = "range x from 1 to 300000 step 1 | summarize c = count() by s = strcat('key-', tostring(x)) | count";
    match e.run("t1", q, now()).await {
        Ok(r) => {
            assert_eq!(r.rows[0]["Count"], json!(300_000));
            assert!(r.stats.peak_memory_bytes <= 8 << 20, "{:?}", r.stats);
        }
        Err(HuntError::TooLarge(m)) => assert!(m.contains("8 MiB"), "{m}"),
        Err(other) => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn series_over_a_million_bins_per_group_stop_at_the_pool() {
    let (_d, e) = engine(64 << 20).await;
    // 40 series of 2^20 one-second bins (Kusto's maximum), with their time axes.
    let m = too_large(
        &e,
        "DeviceProcessEvents | make-series c = count() default = 0 on Timestamp from datetime(2026-01-01) to datetime(2026-11-20) step 1s by DeviceName",
    )
    .await;
    assert!(m.contains("memory limit of 64 MiB"), "{m}");
    still_answers(&e).await;
}
