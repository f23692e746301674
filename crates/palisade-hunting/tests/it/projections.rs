//! A column reassigned in consecutive projections (`extend s = s * 2 | extend s = s * 2`):
//! every step is evaluated, whatever DataFusion's optimiser merges or pushes down, and the
//! upstream behaviour the planner works around (`plan/unique.rs`), reproduced in pure
//! DataFusion.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::logical_expr::{col, lit, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::SessionContext;
use palisade_events::{ingest_jsonl, EventStore};
use palisade_hunting::HuntingEngine;
use serde_json::{json, Value};

use crate::support::rows;

fn engine() -> (tempfile::TempDir, HuntingEngine) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    (dir, HuntingEngine::new(Arc::new(store)))
}

#[tokio::test]
async fn a_column_reassigned_in_consecutive_steps_is_computed_at_every_step() {
    let (_d, e) = engine();
    let cases: &[(&str, Value)] = &[
        // The report's query: 1 → 2 → 4.
        (
            "print s = 1 | extend s = s * 2 | extend s = s * 2 | summarize m = max(s)",
            json!([{"m": 4}]),
        ),
        (
            "print s = 1 | extend s = s * 2 | extend s = s * 2 | extend s = s * 2",
            json!([{"s": 8}]),
        ),
        // `project` renames and recomputes.
        (
            "print s = 1 | project s = s * 2 | project s = s * 2 | project s = s * 2",
            json!([{"s": 8}]),
        ),
        (
            "print s = 1, t = 5 | project s = s * 2, t | project s = s * 2, t",
            json!([{"s": 4, "t": 5}]),
        ),
        // Two columns feeding each other.
        (
            "print a = 1, b = 10 | extend a = a + b | extend a = a + b",
            json!([{"a": 21, "b": 10}]),
        ),
        // `project-rename` between the steps.
        (
            "print a = 3 | project-rename c = a | extend c = c * 2 | project-rename d = c \
             | extend d = d * 2",
            json!([{"d": 12}]),
        ),
        (
            "print a = 3 | extend a = a * 2 | project-rename a2 = a | extend a = a2 * 2 \
             | project a = a * 2",
            json!([{"a": 24}]),
        ),
        // A filter between the steps is pushed below them, leaving them adjacent.
        (
            "print s = 1 | extend s = s * 2 | where s > 0 | extend s = s * 2 | where s > 1 \
             | extend s = s * 2",
            json!([{"s": 8}]),
        ),
        // Strings and datetimes.
        (
            "print s = 'a' | extend s = strcat(s, 'b') | extend s = strcat(s, 'b')",
            json!([{"s": "abb"}]),
        ),
        (
            "print t = datetime(2026-01-01) | extend t = t + 1d | extend t = t + 1d \
             | extend t = t + 1d",
            json!([{"t": "2026-01-04T00:00:00.0000000Z"}]),
        ),
        // Many rows, summarized after.
        (
            "datatable(s:long, k:string)[1, 'x', 2, 'x', 3, 'y'] | extend s = s * 2 \
             | extend s = s * 2 | summarize total = sum(s), top = max(s) by k | order by k asc",
            json!([{"k": "x", "total": 12, "top": 8}, {"k": "y", "total": 12, "top": 12}]),
        ),
        (
            "range i from 1 to 4 step 1 | extend i = i + 1 | extend i = i + 1 | where i > 3 \
             | summarize n = count(), m = min(i)",
            json!([{"n": 3, "m": 4}]),
        ),
    ];
    for (q, want) in cases {
        assert_eq!(&Value::Array(rows(&e, q).await), want, "{q}");
    }
}

#[tokio::test]
async fn stored_columns_reassigned_in_consecutive_steps() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let lines = [
        json!({"Timestamp": "2026-11-19T10:00:00Z", "DeviceName": "a", "ProcessId": 5}),
        json!({"Timestamp": "2026-11-19T11:00:00Z", "DeviceName": "b", "ProcessId": 7}),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    let report = ingest_jsonl(
        &store,
        "t1",
        "DeviceProcessEvents",
        std::io::Cursor::new(lines),
    )
    .await
    .unwrap();
    assert_eq!(report.accepted, 2);
    let e = HuntingEngine::new(Arc::new(store));
    let r = rows(
        &e,
        "DeviceProcessEvents | extend ProcessId = ProcessId * 2 | extend ProcessId = ProcessId * 2 \
         | extend DeviceName = strcat(DeviceName, '!') | extend DeviceName = strcat(DeviceName, '!') \
         | extend Timestamp = Timestamp + 1h | extend Timestamp = Timestamp + 1h \
         | summarize m = max(ProcessId), d = max(DeviceName), t = max(Timestamp)",
    )
    .await;
    assert_eq!(
        r,
        vec![json!({"m": 28, "d": "b!!", "t": "2026-11-19T13:00:00.0000000Z"})]
    );
}

/// `lit(1) AS i`, then `i * 2 AS i` twice, with `qualifier` on every alias when given.
fn doubled_twice(qualifiers: [Option<&str>; 3]) -> LogicalPlan {
    let [q0, q1, q2] = qualifiers;
    LogicalPlanBuilder::empty(true)
        .project(vec![lit(1i64).alias_qualified(q0, "i")])
        .unwrap()
        .project(vec![(col("i") * lit(2i64)).alias_qualified(q1, "i")])
        .unwrap()
        .project(vec![(col("i") * lit(2i64)).alias_qualified(q2, "i")])
        .unwrap()
        .build()
        .unwrap()
}

async fn single_value(plan: LogicalPlan) -> i64 {
    let batches: Vec<RecordBatch> = SessionContext::new()
        .execute_logical_plan(plan)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

/// The upstream behaviour, in DataFusion alone: `optimize_projections` drops one of two
/// identical consecutive projections (its `merge_consecutive_projections` fast path), so `1 → 2
/// → 4` yields 2. Fixed upstream by apache/datafusion#24686 (after 55.2): when this test fails
/// after an upgrade, DataFusion computes both steps itself and `plan/unique.rs` may go. The
/// same plan with a qualifier of its own on each projection's alias — what the planner does —
/// yields 4.
#[tokio::test]
async fn datafusion_drops_one_of_two_identical_consecutive_projections() {
    assert_eq!(
        single_value(doubled_twice([None, None, None])).await,
        2,
        "DataFusion no longer merges identical projections away: see plan/unique.rs"
    );
    assert_eq!(
        single_value(doubled_twice([Some("__p1"), Some("__p2"), Some("__p3")])).await,
        4
    );
}
