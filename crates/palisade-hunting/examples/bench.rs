//! Benchmark: corpus-style KQL queries on Palisade next to the equivalent hand-written
//! DataFusion SQL and DuckDB SQL, on the same Parquet files, in one run.
//!
//! ```text
//! cargo run --release -p palisade-hunting --example bench -- [DPE_ROWS] [DIR]
//! ```
//! Generates `DeviceProcessEvents` and `DeviceNetworkEvents` (in the generator's 30:20 mix)
//! until about `DPE_ROWS` process events exist (default 10,000,000), compacts the store, then
//! times each query: one warm-up run, then the best of three. A `DIR` that already holds
//! data is reused as it is. Set `DUCKDB_PYTHON` to a Python with the `duckdb` package
//! (default `python3`) to get the DuckDB column from `benches/duckdb_bench.py` on the same
//! files; without it that column says `n/a`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use palisade_hunting::{seed_tables, Estate, EventStore, HuntingEngine, Limits};

const TENANT: &str = "bench";

/// (name, KQL, equivalent SQL). `$SINCE` is the 30-day window's start, which Palisade applies
/// to every scan, so the SQL applies it too.
const QUERIES: &[(&str, &str, &str)] = &[
    (
        "filter+summarize",
        r#"DeviceProcessEvents | where FileName =~ "powershell.exe" | summarize c = count() by DeviceName | top 10 by c"#,
        r#"SELECT "DeviceName", count(*) AS c FROM dpe WHERE "Timestamp" >= $SINCE AND lower("FileName") = 'powershell.exe' GROUP BY "DeviceName" ORDER BY c DESC LIMIT 10"#,
    ),
    (
        "has filter+count",
        r#"DeviceProcessEvents | where ProcessCommandLine has "shadows" | count"#,
        r#"SELECT count(*) FROM dpe WHERE "Timestamp" >= $SINCE AND "ProcessCommandLine" ILIKE '%shadows%'"#,
    ),
    (
        "bin(1h) summarize",
        r#"DeviceProcessEvents | where InitiatingProcessFileName =~ "cmd.exe" | summarize c = count(), d = dcount(DeviceId) by bin(Timestamp, 1h)"#,
        r#"SELECT date_bin(INTERVAL '1 hour', "Timestamp", TIMESTAMP '1970-01-01T00:00:00Z') AS t, count(*), count(DISTINCT "DeviceId") FROM dpe WHERE "Timestamp" >= $SINCE AND lower("InitiatingProcessFileName") = 'cmd.exe' GROUP BY 1"#,
    ),
    (
        "join network",
        r#"DeviceProcessEvents | where FileName =~ "powershell.exe" | summarize by DeviceId | join kind=inner (DeviceNetworkEvents | where RemotePort == 443) on DeviceId | summarize c = count()"#,
        r#"SELECT count(*) FROM (SELECT DISTINCT "DeviceId" FROM dpe WHERE "Timestamp" >= $SINCE AND lower("FileName") = 'powershell.exe') p JOIN dne n ON p."DeviceId" = n."DeviceId" WHERE n."Timestamp" >= $SINCE AND n."RemotePort" = 443"#,
    ),
    (
        "arg_max",
        r#"DeviceProcessEvents | summarize arg_max(Timestamp, FileName, ProcessCommandLine) by DeviceId"#,
        r#"SELECT "DeviceId", max("Timestamp"), first_value("FileName" ORDER BY "Timestamp" DESC), first_value("ProcessCommandLine" ORDER BY "Timestamp" DESC) FROM dpe WHERE "Timestamp" >= $SINCE GROUP BY "DeviceId""#,
    ),
    (
        "make_set",
        r#"DeviceProcessEvents | summarize s = make_set(FileName) by DeviceId"#,
        r#"SELECT "DeviceId", array_agg(DISTINCT "FileName") FROM dpe WHERE "Timestamp" >= $SINCE GROUP BY "DeviceId""#,
    ),
];

fn best_of<F: FnMut() -> R, R>(mut f: F) -> (f64, R) {
    let mut best = f64::MAX;
    let mut last = f();
    for _ in 0..3 {
        let t = Instant::now();
        last = f();
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
    }
    (best, last)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dpe_rows: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let dir = match args.get(2) {
        Some(d) => std::path::PathBuf::from(d),
        None => tempfile::tempdir()?.keep(),
    };
    let store = Arc::new(EventStore::open(&dir)?);
    // The data's "now": recorded with the data so a reused directory stays in the window.
    let now_file = dir.join("bench-now");
    let now = match std::fs::read_to_string(&now_file) {
        Ok(s) => chrono::DateTime::parse_from_rfc3339(s.trim())?.to_utc(),
        Err(_) => {
            let now = chrono::Utc::now();
            let t = Instant::now();
            let total = dpe_rows * 5 / 3;
            let written = seed_tables(
                &store,
                TENANT,
                &Estate::sample(1),
                total,
                now,
                Some(&["DeviceProcessEvents", "DeviceNetworkEvents"]),
                |n| {
                    if n % 2_000_000 < 100_000 {
                        eprintln!("  {n} rows");
                    }
                },
            )
            .await?;
            println!("seeded {written} rows in {:.1}s", t.elapsed().as_secs_f64());
            let t = Instant::now();
            let r = store.compact_tenant(TENANT)?;
            println!(
                "compacted {} -> {} files in {:.1}s",
                r.files_before,
                r.files_after,
                t.elapsed().as_secs_f64()
            );
            std::fs::write(&now_file, now.to_rfc3339())?;
            now
        }
    };
    let since = now - chrono::Duration::days(30);
    let since_sql = format!("TIMESTAMP '{}'", since.format("%Y-%m-%dT%H:%M:%S%.fZ"));
    let mut sizes = Vec::new();
    for table in ["DeviceProcessEvents", "DeviceNetworkEvents"] {
        let files = store.files(TENANT, table, "0000-00-00")?;
        sizes.push(format!(
            "{table}: {} rows, {} files, {:.0} MB",
            files.iter().map(|f| f.rows).sum::<u64>(),
            files.len(),
            files.iter().map(|f| f.bytes).sum::<u64>() as f64 / 1e6
        ));
    }
    println!("store {}: {}", dir.display(), sizes.join("; "));

    let engine = HuntingEngine::new(store.clone()).with_limits(Limits {
        memory_bytes: 4 << 30,
        ..Limits::default()
    });
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
            ParquetReadOptions::default().file_extension(".parquet"),
        )
        .await?;
    }

    let duck = duckdb_times(&dir, &since_sql);
    println!(
        "\n| query | KQL on Palisade (ms) | DataFusion SQL (ms) | DuckDB SQL (ms) | KQL / DataFusion SQL | KQL / DuckDB | rows |"
    );
    println!("|---|---|---|---|---|---|---|");
    let rt = tokio::runtime::Handle::current();
    for (name, kql, sql) in QUERIES {
        let sql = sql.replace("$SINCE", &since_sql);
        let (kql_ms, rows) = tokio::task::block_in_place(|| {
            best_of(|| {
                rt.block_on(engine.run(TENANT, kql, now))
                    .map(|r| r.rows.len())
            })
        });
        let rows = rows?;
        let (sql_ms, sql_rows) = tokio::task::block_in_place(|| {
            best_of(|| {
                rt.block_on(async { ctx.sql(&sql).await?.collect().await })
                    .map(|b| b.iter().map(|b| b.num_rows()).sum::<usize>())
            })
        });
        let sql_rows = sql_rows?;
        if rows != sql_rows {
            eprintln!("warning: {name}: KQL returned {rows} rows, SQL {sql_rows}");
        }
        let (duck_ms, duck_ratio) = match duck.get(*name) {
            Some(ms) => (format!("{ms:.1}"), format!("{:.2}", kql_ms / ms)),
            None => ("n/a".into(), "n/a".into()),
        };
        println!(
            "| {name} | {kql_ms:.1} | {sql_ms:.1} | {duck_ms} | {:.2} | {duck_ratio} | {rows} |",
            kql_ms / sql_ms
        );
    }
    Ok(())
}

/// Runs `benches/duckdb_bench.py` on the same files; query name → best time in ms.
fn duckdb_times(dir: &std::path::Path, since_sql: &str) -> HashMap<String, f64> {
    let python = std::env::var("DUCKDB_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/duckdb_bench.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(dir)
        .arg(TENANT)
        .arg(since_sql)
        .output();
    let mut times = HashMap::new();
    match out {
        Ok(o) if o.status.success() => {
            for line in String::from_utf8_lossy(&o.stdout).lines() {
                let mut parts = line.split('\t');
                if let (Some(name), Some(ms)) = (parts.next(), parts.next()) {
                    if let Ok(ms) = ms.parse() {
                        times.insert(name.to_string(), ms);
                    }
                }
            }
        }
        Ok(o) => eprintln!("duckdb: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => eprintln!("duckdb: {e}"),
    }
    times
}
