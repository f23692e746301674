//! `scan`, `fork` and `facet`: the docs' examples with their documented answers, the scan
//! logic's edge cases (output modes, match ids, state references), and the errors.

use std::sync::Arc;

use palisade_events::EventStore;
use palisade_hunting::{HuntError, HuntingEngine};
use serde_json::{json, Value};

use crate::support::{now, rows};

fn engine() -> (tempfile::TempDir, HuntingEngine) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    (dir, HuntingEngine::new(Arc::new(store)))
}

/// The values of column `c` of each row.
fn col(rows: &[Value], c: &str) -> Vec<Value> {
    rows.iter().map(|r| r[c].clone()).collect()
}

#[tokio::test]
async fn scan_computes_the_docs_cumulative_sums() {
    let (_d, e) = engine();
    let r = rows(
        &e,
        "range x from 1 to 5 step 1\n\
         | scan declare (cumulative_x:long=0) with\n\
         (\n    step s1: true => cumulative_x = x + s1.cumulative_x;\n)",
    )
    .await;
    assert_eq!(
        col(&r, "x"),
        json!([1, 2, 3, 4, 5]).as_array().unwrap().clone()
    );
    assert_eq!(
        col(&r, "cumulative_x"),
        json!([1, 3, 6, 10, 15]).as_array().unwrap().clone()
    );
    // With a reset condition, on two columns.
    let r = rows(
        &e,
        "range x from 1 to 5 step 1\n| extend y = 2 * x\n\
         | scan declare (cumulative_x:long=0, cumulative_y:long=0) with\n(\n\
         step s1: true => cumulative_x = iff(s1.cumulative_x >= 10, x, x + s1.cumulative_x),\n\
                          cumulative_y = iff(s1.cumulative_y >= 10, y, y + s1.cumulative_y);\n)",
    )
    .await;
    assert_eq!(
        col(&r, "cumulative_x"),
        json!([1, 3, 6, 10, 5]).as_array().unwrap().clone()
    );
    assert_eq!(
        col(&r, "cumulative_y"),
        json!([2, 6, 12, 8, 18]).as_array().unwrap().clone()
    );
}

#[tokio::test]
async fn scan_fills_forward_in_the_sorted_order() {
    let (_d, e) = engine();
    // The rows are given out of order: `sort by Ts asc` decides what the steps see.
    let q = "let Events = datatable (Ts: timespan, Event: string) [\n\
        6m, 'C', 0m, 'A', 1m, '', 2m, 'B', 3m, '', 4m, '', 8m, '', 11m, 'D', 12m, ''];\n\
        Events\n| sort by Ts asc\n\
        | scan declare (Event_filled: string=\"\") with\n(\n\
            step s1: true => Event_filled = iff(isempty(Event), s1.Event_filled, Event);\n)";
    let r = rows(&e, q).await;
    assert_eq!(
        col(&r, "Ts"),
        json!([
            "00:00:00", "00:01:00", "00:02:00", "00:03:00", "00:04:00", "00:06:00", "00:08:00",
            "00:11:00", "00:12:00"
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    assert_eq!(
        col(&r, "Event_filled"),
        json!(["A", "A", "B", "B", "B", "C", "C", "D", "D"])
            .as_array()
            .unwrap()
            .clone()
    );
}

#[tokio::test]
async fn scan_tags_sessions_with_match_ids() {
    let (_d, e) = engine();
    let q = "let Events = datatable (Ts: timespan, Event: string) [\n\
        0m, 'A', 1m, 'A', 2m, 'B', 3m, 'D', 32m, 'B', 36m, 'C', 38m, 'D', 41m, 'E', 75m, 'A'];\n\
        Events\n| sort by Ts asc\n\
        | scan with_match_id=session_id declare (sessionStart: timespan) with\n(\n\
            step inSession: true => sessionStart = iff(isnull(inSession.sessionStart), Ts, inSession.sessionStart);\n\
            step endSession output=none: Ts - inSession.sessionStart > 30m;\n)";
    let r = rows(&e, q).await;
    assert_eq!(r.len(), 9);
    assert_eq!(
        col(&r, "sessionStart"),
        json!([
            "00:00:00", "00:00:00", "00:00:00", "00:00:00", "00:32:00", "00:32:00", "00:32:00",
            "00:32:00", "01:15:00"
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    assert_eq!(
        col(&r, "session_id"),
        json!([0, 0, 0, 0, 1, 1, 1, 1, 2])
            .as_array()
            .unwrap()
            .clone()
    );
    let r = e.run("t1", q, now()).await.unwrap();
    let names: Vec<&str> = r.schema.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Ts", "Event", "sessionStart", "session_id"]);
}

#[tokio::test]
async fn scan_finds_the_events_between_start_and_stop() {
    let (_d, e) = engine();
    let q = "let Events = datatable (Ts: timespan, Event: string) [\n\
        0m, 'A', 1m, 'Start', 2m, 'B', 3m, 'D', 4m, 'Stop', 6m, 'C', 8m, 'Start', 11m, 'E', 12m, 'Stop'];\n\
        Events\n| sort by Ts asc\n\
        | scan with_match_id=m_id with\n(\n\
            step s1: Event == 'Start';\n\
            step s2: Event != 'Start' and Event != 'Stop' and Ts - s1.Ts <= 5m;\n\
            step s3: Event == 'Stop' and Ts - s1.Ts <= 5m;\n)";
    let r = rows(&e, q).await;
    assert_eq!(
        r,
        vec![
            json!({"Ts": "00:01:00", "Event": "Start", "m_id": 0}),
            json!({"Ts": "00:02:00", "Event": "B", "m_id": 0}),
            json!({"Ts": "00:03:00", "Event": "D", "m_id": 0}),
            json!({"Ts": "00:04:00", "Event": "Stop", "m_id": 0}),
            json!({"Ts": "00:08:00", "Event": "Start", "m_id": 1}),
            json!({"Ts": "00:11:00", "Event": "E", "m_id": 1}),
            json!({"Ts": "00:12:00", "Event": "Stop", "m_id": 1}),
        ]
    );
}

#[tokio::test]
async fn scan_output_modes_and_a_row_matching_two_steps() {
    let (_d, e) = engine();
    let t = "datatable(i:long, ev:string)[1, 'a', 2, 'a', 3, 'a', 4, 'b', 5, 'a', 6, 'a', 7, 'b']\
             | sort by i asc";
    // output=last: only the last of each run of 'a' matches, at its own place.
    let r = rows(
        &e,
        &format!(
            "{t} | scan with_match_id=m with (step s1 output=last: ev == 'a'; step s2: ev == 'b';)"
        ),
    )
    .await;
    assert_eq!(
        r,
        vec![
            json!({"i": 3, "ev": "a", "m": 0}),
            json!({"i": 4, "ev": "b", "m": 0}),
            json!({"i": 6, "ev": "a", "m": 1}),
            json!({"i": 7, "ev": "b", "m": 1}),
        ]
    );
    // A row can match two steps: it is output once per match, the later step first.
    let r = rows(
        &e,
        &format!(
            "{t} | scan declare (step_no:long) with (step s1: ev == 'a' => step_no = 1; \
             step s2: ev == 'a' and i - s1.i == 1 => step_no = 2;)"
        ),
    )
    .await;
    let pairs: Vec<(i64, i64)> = r
        .iter()
        .map(|x| (x["i"].as_i64().unwrap(), x["step_no"].as_i64().unwrap()))
        .collect();
    // Row 2 moves the sequence of row 1 to s2 (check 1) and starts a new one in s1; row 3
    // likewise; row 5 repeats s1 in the sequence row 3 started; row 6 moves that to s2.
    assert_eq!(
        pairs,
        [
            (1, 1),
            (2, 2),
            (2, 1),
            (3, 2),
            (3, 1),
            (5, 1),
            (6, 2),
            (6, 1)
        ]
    );
}

#[tokio::test]
async fn scan_runs_on_stored_events_and_reports_its_errors() {
    let (_d, e) = engine();
    let bad = [
        (
            "print x = 1 | scan declare (x:long) with (step s: true;)",
            "already a column",
        ),
        (
            "print x = 1 | scan with (step s: true; step s: false;)",
            "used twice",
        ),
        ("print x = 1 | scan with (step s: x;)", "must be bool"),
        (
            "print x = 1 | scan declare (y:string) with (step s: true => y = 1;)",
            "cannot assign",
        ),
        (
            "print x = 1 | scan with (step s: true => z = 1;)",
            "not a declared column",
        ),
        ("print x = 1 | scan with (step s: s.nope > 1;)", "nope"),
    ];
    for (q, want) in bad {
        match e.run("t1", q, now()).await {
            Err(err @ HuntError::Semantic { .. }) => {
                assert!(err.to_string().contains(want), "{q}: {err}")
            }
            other => panic!("{q}: {other:?}"),
        }
    }
    let many: String = (0..65).map(|i| format!("step s{i}: true; ")).collect();
    match e
        .run("t1", &format!("print x = 1 | scan with ({many})"), now())
        .await
    {
        Err(err) => assert!(err.to_string().contains("more than 64 steps"), "{err}"),
        other => panic!("{other:?}"),
    }
    // A scan over no rows has no rows and its declared columns.
    let r = e
        .run(
            "t1",
            "DeviceProcessEvents | where false | scan declare (n:long = 0) with (step s: true => n = s.n + 1;)",
            now(),
        )
        .await
        .unwrap();
    assert!(r.rows.is_empty());
    assert_eq!(r.schema.columns.last().map(|c| c.name.as_str()), Some("n"));
}

#[tokio::test]
async fn fork_returns_its_first_branch_and_says_how_many_tables_there_are() {
    let (_d, e) = engine();
    let t = "datatable(state:string, deaths:long, injuries:long)\
             ['FLORIDA', 2, 0, 'FLORIDA', 0, 3, 'TEXAS', 5, 5, 'FLORIDA', 1, 1]";
    let q = format!(
        "{t} | where state == 'FLORIDA' | fork\n\
         StormsWithDeaths = (where deaths > 1 | project deaths)\n\
         (where injuries > 1 | as StormsWithInjuries)"
    );
    let r = e.run("t1", &q, now()).await.unwrap();
    assert_eq!(r.rows.len(), 1);
    assert_eq!(Value::Object(r.rows[0].clone()), json!({"deaths": 2}));
    assert!(
        r.stats.notes.iter().any(|n| n.contains("2 result tables")),
        "{:?}",
        r.stats.notes
    );
    // The second branch, run first, answers its own rows.
    let q2 = format!("{t} | where state == 'FLORIDA' | fork (where injuries > 1) (take 1)");
    let r = rows(&e, &q2).await;
    assert_eq!(
        r,
        vec![json!({"state": "FLORIDA", "deaths": 0, "injuries": 3})]
    );
    // fork ends a query statement: nothing may follow it, and it may not be nested.
    for q in [
        format!("{t} | fork (take 1) (take 2) | count"),
        format!("let f = {t} | fork (take 1); f"),
        format!("{t} | join (print x = 1 | fork (take 1)) on $left.deaths == $right.x"),
    ] {
        match e.run("t1", &q, now()).await {
            Err(err @ HuntError::Semantic { .. }) => {
                assert!(err.to_string().contains("last operator"), "{q}: {err}")
            }
            other => panic!("{q}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn facet_counts_each_column_after_its_with_table() {
    let (_d, e) = engine();
    let t = "datatable(State:string, EventType:string, n:long)\
             ['ALASKA', 'Heavy Snow', 1, 'ALABAMA', 'Heavy Rain', 2, 'ALASKA', 'Heavy Snow', 3]";
    // With `with`, the first table is the with table.
    let q = format!("{t} | facet by State, EventType with (where n > 1 | project State, n)");
    let r = e.run("t1", &q, now()).await.unwrap();
    let rows: Vec<Value> = r.rows.into_iter().map(Value::Object).collect();
    assert_eq!(
        rows,
        vec![
            json!({"State": "ALABAMA", "n": 2}),
            json!({"State": "ALASKA", "n": 3})
        ]
    );
    assert!(r.stats.notes.iter().any(|n| n.contains("3 result tables")));
    // Without it, the first table is the first column's counts, named count_<column>.
    let q = format!("{t} | facet by State | sort by State asc");
    match e.run("t1", &q, now()).await {
        Err(err @ HuntError::Semantic { .. }) => {
            assert!(err.to_string().contains("last operator"), "{err}")
        }
        other => panic!("{other:?}"),
    }
    let r = e
        .run("t1", &format!("{t} | facet by State"), now())
        .await
        .unwrap();
    let mut got: Vec<Value> = r.rows.into_iter().map(Value::Object).collect();
    got.sort_by_key(|v| v["State"].as_str().unwrap_or_default().to_string());
    assert_eq!(
        got,
        vec![
            json!({"State": "ALABAMA", "count_State": 1}),
            json!({"State": "ALASKA", "count_State": 2})
        ]
    );
    match e.run("t1", &format!("{t} | facet by Nope"), now()).await {
        Err(err) => assert!(err.to_string().contains("Nope"), "{err}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn scan_inside_partition_runs_per_partition() {
    let (_d, e) = engine();
    // The docs' session length per user: one row per login/logout pair.
    let q = "let LogsEvents = datatable(Timestamp:datetime, userID:int, EventType:string)\n[\n\
        datetime(2024-05-28 08:15:23), 1, 'login',\n\
        datetime(2024-05-28 08:30:15), 2, 'login',\n\
        datetime(2024-05-28 09:10:27), 3, 'login',\n\
        datetime(2024-05-28 12:30:45), 1, 'logout',\n\
        datetime(2024-05-28 11:45:32), 2, 'logout',\n\
        datetime(2024-05-28 13:25:19), 3, 'logout'\n];\n\
        LogsEvents\n| sort by userID, Timestamp\n\
        | partition hint.strategy=native by userID (\n\
            sort by Timestamp asc\n\
            | scan declare (start: datetime, end: datetime, sessionDuration: timespan) with (\n\
                step s1 output=none: EventType == 'login' => start = Timestamp;\n\
                step s2 output=all: EventType == 'logout' => start = s1.start, end = Timestamp, sessionDuration = Timestamp - s1.start;\n\
            )\n)\n\
        | project start, end, userID, sessionDuration | sort by userID asc";
    let r = rows(&e, q).await;
    assert_eq!(
        r,
        vec![
            json!({"start": "2024-05-28T08:15:23.0000000Z", "end": "2024-05-28T12:30:45.0000000Z", "userID": 1, "sessionDuration": "04:15:22"}),
            json!({"start": "2024-05-28T08:30:15.0000000Z", "end": "2024-05-28T11:45:32.0000000Z", "userID": 2, "sessionDuration": "03:15:17"}),
            json!({"start": "2024-05-28T09:10:27.0000000Z", "end": "2024-05-28T13:25:19.0000000Z", "userID": 3, "sessionDuration": "04:14:52"}),
        ]
    );
    // Match ids count per partition; other operators inside are rejected by name.
    let t = "datatable(k:string, i:long)['a', 1, 'b', 2, 'a', 3, 'b', 4]";
    let r = rows(
        &e,
        &format!("{t} | partition by k (sort by i asc | scan with_match_id=m with (step s: true;)) | sort by i asc"),
    )
    .await;
    assert_eq!(
        col(&r, "m"),
        json!([0, 0, 0, 0]).as_array().unwrap().clone()
    );
    match e
        .run(
            "t1",
            &format!("{t} | partition by k (scan with (step s: true;) | take 1)"),
            now(),
        )
        .await
    {
        Err(HuntError::Unsupported { name, .. }) => {
            assert!(name.contains("inside partition"), "{name}")
        }
        other => panic!("{other:?}"),
    }
}
