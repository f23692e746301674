//! The whole catalog and Sentinel in the unified portal, through the engine: every table of
//! the spec answers, the Sentinel tables and the workspace columns exist only for a connected
//! workspace, `TimeGenerated` follows the 48-hour rule and `ingestion_time()` is the store's.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use palisade_events::{ingest_jsonl, seed_sentinel_tables, seed_tables, Estate, EventStore};
use palisade_hunting::{DeviceScope, HuntError, HuntResult, HuntingEngine};
use palisade_kql::Catalog;
use serde_json::Value;

const WS: &str = "7f1b1c4e-0a2b-4c3d-9e8f-0123456789ab";

fn store() -> (tempfile::TempDir, Arc<EventStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    (dir, Arc::new(store))
}

async fn run(
    e: &HuntingEngine,
    tenant: &str,
    ws: Option<&str>,
    q: &str,
    now: DateTime<Utc>,
) -> Result<HuntResult, HuntError> {
    e.run_in_workspace(tenant, ws, &DeviceScope::All, q, None, now)
        .await
}

#[tokio::test]
async fn every_table_of_the_spec_answers_with_its_columns() {
    let (_d, store) = store();
    let e = HuntingEngine::new(store);
    let now = Utc::now();
    let unified = Catalog::stored().view(true);
    let mut tables = 0;
    for t in unified.table_names() {
        let want = unified.table(t).unwrap();
        let r = run(&e, "t1", Some(WS), &format!("{t} | take 1"), now)
            .await
            .unwrap_or_else(|err| panic!("{t}: {err}"));
        let have: Vec<(&str, &str)> = r
            .schema
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.ty.name()))
            .collect();
        let expected: Vec<(&str, &str)> = want
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.ty.name()))
            .collect();
        assert_eq!(have, expected, "{t}");
        tables += 1;
    }
    assert_eq!(tables, 66 + 20);
    // `getschema` of a table added by this revision.
    let r = run(
        &e,
        "t1",
        None,
        "ExposureGraphEdges | getschema | count",
        now,
    )
    .await
    .unwrap();
    assert_eq!(r.rows[0]["Count"], 11);
}

#[tokio::test]
async fn sentinel_tables_and_columns_need_a_connected_workspace() {
    let (_d, store) = store();
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    let estate = Estate::sample(3);
    seed_tables(&store, "t1", &estate, 2_000, now, None, |_| {})
        .await
        .unwrap();
    let n = seed_sentinel_tables(&store, "t1", WS, &estate, 3_000, now).unwrap();
    assert!(n >= 2_900, "{n}");
    let e = HuntingEngine::new(store);
    // Not connected: unknown table and unknown column, like any other unknown name.
    for q in [
        "SigninLogs | count",
        "DeviceProcessEvents | where TimeGenerated > ago(1d) | count",
    ] {
        let err = run(&e, "t1", None, q, now).await.unwrap_err();
        assert!(matches!(err, HuntError::Semantic { .. }), "{q}: {err:?}");
    }
    let unknown = run(&e, "t1", None, "NoSuchTable | count", now)
        .await
        .unwrap_err()
        .to_string();
    let sentinel = run(&e, "t1", None, "SigninLogs | count", now)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        sentinel.replace("SigninLogs", "X"),
        unknown.replace("NoSuchTable", "X"),
        "the same error as any unknown table"
    );
    // Connected: the tables answer, joined to the XDR tables by the estate's users.
    let q = "SigninLogs | where ResultType == '0' | summarize by UserId \
             | join kind=inner (IdentityLogonEvents | summarize by AccountObjectId) \
               on $left.UserId == $right.AccountObjectId | count";
    let r = run(&e, "t1", Some(WS), q, now).await.unwrap();
    assert!(r.rows[0]["Count"].as_i64().unwrap() > 0, "{:?}", r.rows);
    let q = "SecurityEvent | where EventID == 4624 | summarize by Computer \
             | join kind=inner (DeviceInfo | summarize by DeviceName) on $left.Computer == $right.DeviceName | count";
    let r = run(&e, "t1", Some(WS), q, now).await.unwrap();
    assert!(r.rows[0]["Count"].as_i64().unwrap() > 0);
    let q = "union SigninLogs, AADNonInteractiveUserSignInLogs, AuditLogs, SecurityEvent \
             | summarize n = count(), tid = take_any(TenantId) by Type | sort by Type asc";
    let r = run(&e, "t1", Some(WS), q, now).await.unwrap();
    let types: Vec<&str> = r.rows.iter().map(|x| x["Type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "AADNonInteractiveUserSignInLogs",
            "AuditLogs",
            "SecurityEvent",
            "SigninLogs"
        ]
    );
    // The XDR tables' workspace columns.
    let q = "DeviceProcessEvents | take 5 \
             | project TenantId, Type, SourceSystem, same = TimeGenerated == Timestamp";
    let r = run(&e, "t1", Some(WS), q, now).await.unwrap();
    assert_eq!(r.rows.len(), 5);
    for row in &r.rows {
        assert_eq!(row["TenantId"], WS);
        assert_eq!(row["Type"], "DeviceProcessEvents");
        assert_eq!(row["SourceSystem"], "");
        assert_eq!(row["same"], true, "seeded rows arrived on time");
    }
    // Tenant isolation: another tenant's workspace sees none of t1's rows.
    let r = run(&e, "t2", Some(WS), "SigninLogs | count", now)
        .await
        .unwrap();
    assert_eq!(r.rows[0]["Count"], 0);
}

#[tokio::test]
async fn time_generated_and_ingestion_time_follow_the_store() {
    let (_d, store) = store();
    let now = Utc::now();
    let on_time = now - Duration::hours(1);
    let late = now - Duration::days(3);
    let line = |id: i64, t: DateTime<Utc>| {
        format!(
            "{{\"Timestamp\":\"{}\",\"DeviceId\":\"d{id}\",\"DeviceName\":\"h{id}\",\"ReportId\":{id}}}\n",
            t.to_rfc3339()
        )
    };
    let text = format!("{}{}", line(1, on_time), line(2, late));
    let before = Utc::now();
    let rep = ingest_jsonl(&store, "t1", "DeviceEvents", std::io::Cursor::new(text))
        .await
        .unwrap();
    let after = Utc::now();
    assert_eq!(rep.accepted, 2);
    let e = HuntingEngine::new(store.clone());
    let q = "DeviceEvents | extend it = ingestion_time() | sort by ReportId asc \
             | project ReportId, Timestamp, TimeGenerated, it";
    let r = run(&e, "t1", Some(WS), q, now + Duration::minutes(1))
        .await
        .unwrap();
    let time = |v: &Value| {
        DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .to_utc()
    };
    let within = |t: DateTime<Utc>| {
        t >= before - Duration::milliseconds(1) && t <= after + Duration::milliseconds(1)
    };
    let (a, b) = (&r.rows[0], &r.rows[1]);
    assert!(within(time(&a["it"])), "{a:?}");
    assert!(within(time(&b["it"])), "{b:?}");
    assert_eq!(
        a["TimeGenerated"], a["Timestamp"],
        "on time: the event time"
    );
    assert_eq!(
        b["TimeGenerated"], b["it"],
        "3 days late: the ingestion time"
    );
    assert_ne!(b["TimeGenerated"], b["Timestamp"]);
    // ingestion_time() in `where`, after `extend`, without a connected workspace.
    let q = "DeviceEvents | extend x = 1 | where ingestion_time() > ago(1h) | count";
    let r = run(&e, "t1", None, q, now + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(r.rows[0]["Count"], 2);
    // After summarize there is no row ingestion time: null, not an error.
    let q =
        "DeviceEvents | summarize n = count() | extend it = ingestion_time() | project none = isnull(it)";
    let r = run(&e, "t1", None, q, now).await.unwrap();
    assert_eq!(r.rows[0]["none"], true, "{:?}", r.rows);
    // distinct ignores the hidden column.
    let q = "DeviceEvents | extend it = ingestion_time() | distinct DeviceId | count";
    let r = run(&e, "t1", None, q, now).await.unwrap();
    assert_eq!(r.rows[0]["Count"], 2);
    // The hidden column cannot be written by an ingest.
    let bad = format!(
        "{{\"Timestamp\":\"{}\",\"$IngestionTime\":\"2020-01-01T00:00:00Z\"}}\n",
        now.to_rfc3339()
    );
    let rep = ingest_jsonl(&store, "t1", "DeviceEvents", std::io::Cursor::new(bad))
        .await
        .unwrap();
    assert_eq!(rep.accepted, 0);
    assert_eq!(rep.rejected.len(), 1);
}

#[tokio::test]
async fn sentinel_tables_are_ingested_on_time_generated() {
    let (_d, store) = store();
    let now = Utc::now();
    let text = format!(
        "{{\"TimeGenerated\":\"{}\",\"UserPrincipalName\":\"a@contoso.com\",\"ResultType\":\"0\"}}\n\
         {{\"UserPrincipalName\":\"no time\"}}\n",
        (now - Duration::hours(2)).to_rfc3339()
    );
    let rep = ingest_jsonl(&store, "t1", "SigninLogs", std::io::Cursor::new(text))
        .await
        .unwrap();
    assert_eq!(rep.accepted, 1);
    assert_eq!(
        rep.rejected.len(),
        1,
        "a row without TimeGenerated is refused"
    );
    let e = HuntingEngine::new(store);
    let r = run(
        &e,
        "t1",
        Some(WS),
        "SigninLogs | where TimeGenerated > ago(1d) | project UserPrincipalName",
        now,
    )
    .await
    .unwrap();
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0]["UserPrincipalName"], "a@contoso.com");
}
