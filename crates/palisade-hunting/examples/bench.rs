//! Benchmark: generates events into a Parquet store, then times corpus-style KQL queries next
//! to hand-written DataFusion SQL over the same Parquet files.
//!
//! ```text
//! cargo run --release -p palisade-hunting --example bench -- [EVENTS] [DIR]
//! python3 crates/palisade-hunting/benches/duckdb_bench.py DIR   # same SQL on DuckDB
//! ```
//! `EVENTS` defaults to 300000 (about 30% become DeviceProcessEvents rows); `DIR` defaults to
//! a temporary directory (kept, and printed, so the DuckDB script can reuse it).

use std::sync::Arc;
use std::time::Instant;

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use palisade_hunting::{seed_events, Estate, EventStore, HuntingEngine};

const TENANT: &str = "bench";

/// (name, KQL, equivalent SQL)
const QUERIES: &[(&str, &str, &str)] = &[
    (
        "filter+summarize",
        r#"DeviceProcessEvents | where FileName =~ "powershell.exe" | summarize c = count() by DeviceName | top 10 by c"#,
        r#"SELECT "DeviceName", count(*) AS c FROM dpe WHERE lower("FileName") = 'powershell.exe' GROUP BY "DeviceName" ORDER BY c DESC LIMIT 10"#,
    ),
    (
        "has filter+count",
        r#"DeviceProcessEvents | where ProcessCommandLine has "shadows" | count"#,
        r#"SELECT count(*) FROM dpe WHERE "ProcessCommandLine" ILIKE '%shadows%'"#,
    ),
    (
        "join network",
        r#"DeviceProcessEvents | where FileName =~ "powershell.exe" | summarize by DeviceId | join kind=inner (DeviceNetworkEvents | where RemotePort == 443) on DeviceId | summarize c = count()"#,
        r#"SELECT count(*) FROM (SELECT DISTINCT "DeviceId" FROM dpe WHERE lower("FileName") = 'powershell.exe') p JOIN dne n ON p."DeviceId" = n."DeviceId" WHERE n."RemotePort" = 443"#,
    ),
    (
        "arg_max",
        r#"DeviceProcessEvents | summarize arg_max(Timestamp, FileName, ProcessCommandLine) by DeviceId"#,
        r#"SELECT "DeviceId", max("Timestamp"), first_value("FileName" ORDER BY "Timestamp" DESC), first_value("ProcessCommandLine" ORDER BY "Timestamp" DESC) FROM dpe GROUP BY "DeviceId""#,
    ),
    (
        "make_set",
        r#"DeviceProcessEvents | summarize s = make_set(FileName) by DeviceId"#,
        r#"SELECT "DeviceId", array_agg(DISTINCT "FileName") FROM dpe GROUP BY "DeviceId""#,
    ),
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let events: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(300_000);
    let dir = match args.get(2) {
        Some(d) => std::path::PathBuf::from(d),
        None => tempfile::tempdir()?.keep(),
    };
    let store = EventStore::open(&dir)?;
    let now = chrono::Utc::now();
    let t = Instant::now();
    let written = seed_events(&store, TENANT, &Estate::sample(1), events, now, |_| {}).await?;
    println!(
        "seeded {written} rows in {:.1}s into {}",
        t.elapsed().as_secs_f64(),
        dir.display()
    );

    let engine = HuntingEngine::new(Arc::new(store));
    let ctx = SessionContext::new();
    let root = dir.join(format!("tenant={TENANT}"));
    for (name, table) in [
        ("dpe", "DeviceProcessEvents"),
        ("dne", "DeviceNetworkEvents"),
    ] {
        let path = root.join(format!("table={table}"));
        ctx.register_parquet(
            name,
            path.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await?;
    }
    println!(
        "{:<20} {:>10} {:>10} {:>8}",
        "query", "kql ms", "sql ms", "rows"
    );
    for (name, kql, sql) in QUERIES {
        // One warm-up run each, then the best of three.
        let mut best_kql = f64::MAX;
        let mut rows = 0;
        for _ in 0..4 {
            let t = Instant::now();
            let r = engine.run(TENANT, kql, now).await?;
            rows = r.rows.len();
            best_kql = best_kql.min(t.elapsed().as_secs_f64() * 1e3);
        }
        let mut best_sql = f64::MAX;
        for _ in 0..4 {
            let t = Instant::now();
            let _ = ctx.sql(sql).await?.collect().await?;
            best_sql = best_sql.min(t.elapsed().as_secs_f64() * 1e3);
        }
        println!("{name:<20} {best_kql:>10.1} {best_sql:>10.1} {rows:>8}");
    }
    Ok(())
}
