//! Benchmark: corpus-style KQL queries on Palisade next to the equivalent hand-written
//! DataFusion SQL and DuckDB SQL, on the same Parquet files, in one run.
//!
//! ```text
//! cargo run --release -p palisade-hunting --features bench --example bench -- [DPE_ROWS] [DIR]
//! ```
//! Generates `DeviceProcessEvents` and `DeviceNetworkEvents` (in the generator's 30:20 mix)
//! until about `DPE_ROWS` process events exist (default 10,000,000), compacts the store, then
//! runs each query on the three engines. A `DIR` that already holds data is reused as it is.
//! Set `DUCKDB_PYTHON` to a Python with the `duckdb` package (default `python3`); the DuckDB
//! side is required (`BENCH_NO_DUCKDB=1` skips it explicitly). `BENCH_STEPS=1` also times
//! every query's KQL under each cumulative [`Tuning`] step (untuned, then filter pushdown,
//! page index, bloom filters, sorted files, dynamic filters). `BENCH_ONLY=NAME` runs one query
//! (e.g. under `perf record`, with `BENCH_NO_DUCKDB=1`).
//! `BENCH_SQL_UTF8=1` makes the DataFusion SQL side read strings as `Utf8`, as the KQL engine does.
//!
//! Honesty rules, enforced here:
//! - **Same files.** The baselines read exactly the files the store's listing returns for
//!   the 30-day window (the visible files, not the replaced ones a compaction leaves until the
//!   next one), passed to them one by one, never a directory glob.
//! - **Same answers.** Before anything is timed, every query's result is compared between
//!   KQL, DataFusion SQL and DuckDB value for value (order-insensitively; a `top` query has a
//!   total order, so its ten rows are the same set); a mismatch prints both sides and fails
//!   the run instead of printing a ratio.
//! - **Same work.** The SQL applies the 30-day window Palisade applies to every scan; each
//!   engine runs one warm-up, then the best of three.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int32Type, Int64Type, TimestampNanosecondType, UInt64Type};
use datafusion::datasource::listing::{ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::execution::options::ReadOptions;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use palisade_events::{seed_tables, Estate, EventStore};
use palisade_hunting::{HuntingEngine, Limits, Tuning};
use serde_json::Value;

const TENANT: &str = "bench";

/// How a result column is compared.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Integer.
    I,
    /// String.
    S,
    /// Datetime, compared as nanoseconds since the epoch.
    T,
    /// A set of strings (`make_set` / `array_agg(DISTINCT)` / `list(DISTINCT)`).
    L,
}

/// One benchmark query: KQL, the equivalent DataFusion SQL and DuckDB SQL, and the kinds of
/// its result columns. `$SINCE` is the 30-day window's start.
struct Query {
    name: &'static str,
    kql: &'static str,
    datafusion: &'static str,
    duckdb: &'static str,
    kinds: &'static [Kind],
}

use Kind::*;

const QUERIES: &[Query] = &[
    Query {
        name: "filter+summarize",
        kql: r#"DeviceProcessEvents | where FileName =~ "powershell.exe" | summarize c = count() by DeviceName | sort by c desc, DeviceName asc | take 10"#,
        datafusion: r#"SELECT "DeviceName", count(*) AS c FROM dpe WHERE "Timestamp" >= $SINCE AND lower("FileName") = 'powershell.exe' GROUP BY "DeviceName" ORDER BY c DESC, "DeviceName" ASC LIMIT 10"#,
        duckdb: r#"SELECT "DeviceName", count(*) AS c FROM dpe WHERE "Timestamp" >= $SINCE AND lower("FileName") = 'powershell.exe' GROUP BY "DeviceName" ORDER BY c DESC, "DeviceName" ASC LIMIT 10"#,
        kinds: &[S, I],
    },
    Query {
        name: "has filter+count",
        kql: r#"DeviceProcessEvents | where ProcessCommandLine has "shadows" | count"#,
        datafusion: r#"SELECT count(*) FROM dpe WHERE "Timestamp" >= $SINCE AND "ProcessCommandLine" ILIKE '%shadows%'"#,
        duckdb: r#"SELECT count(*) FROM dpe WHERE "Timestamp" >= $SINCE AND "ProcessCommandLine" ILIKE '%shadows%'"#,
        kinds: &[I],
    },
    Query {
        name: "bin(1h) summarize",
        kql: r#"DeviceProcessEvents | where InitiatingProcessFileName =~ "cmd.exe" | summarize c = count(), d = dcount(DeviceId) by bin(Timestamp, 1h)"#,
        datafusion: r#"SELECT date_bin(INTERVAL '1 hour', "Timestamp", TIMESTAMP '1970-01-01T00:00:00Z') AS t, count(*), count(DISTINCT "DeviceId") FROM dpe WHERE "Timestamp" >= $SINCE AND lower("InitiatingProcessFileName") = 'cmd.exe' GROUP BY 1"#,
        duckdb: r#"SELECT epoch_ns("Timestamp") // 3600000000000 * 3600000000000 AS t, count(*), count(DISTINCT "DeviceId") FROM dpe WHERE "Timestamp" >= $SINCE AND lower("InitiatingProcessFileName") = 'cmd.exe' GROUP BY 1"#,
        kinds: &[T, I, I],
    },
    Query {
        name: "join network",
        kql: r#"DeviceProcessEvents | where FileName =~ "powershell.exe" | summarize by DeviceId | join kind=inner (DeviceNetworkEvents | where RemotePort == 443) on DeviceId | summarize c = count()"#,
        datafusion: r#"SELECT count(*) FROM (SELECT DISTINCT "DeviceId" FROM dpe WHERE "Timestamp" >= $SINCE AND lower("FileName") = 'powershell.exe') p JOIN dne n ON p."DeviceId" = n."DeviceId" WHERE n."Timestamp" >= $SINCE AND n."RemotePort" = 443"#,
        duckdb: r#"SELECT count(*) FROM (SELECT DISTINCT "DeviceId" FROM dpe WHERE "Timestamp" >= $SINCE AND lower("FileName") = 'powershell.exe') p JOIN dne n ON p."DeviceId" = n."DeviceId" WHERE n."Timestamp" >= $SINCE AND n."RemotePort" = 443"#,
        kinds: &[I],
    },
    Query {
        name: "arg_max",
        kql: r#"DeviceProcessEvents | summarize arg_max(Timestamp, FileName, ProcessCommandLine) by DeviceId"#,
        datafusion: r#"SELECT "DeviceId", max("Timestamp"), first_value("FileName" ORDER BY "Timestamp" DESC), first_value("ProcessCommandLine" ORDER BY "Timestamp" DESC) FROM dpe WHERE "Timestamp" >= $SINCE GROUP BY "DeviceId""#,
        duckdb: r#"SELECT "DeviceId", epoch_ns(max("Timestamp")), arg_max("FileName", "Timestamp"), arg_max("ProcessCommandLine", "Timestamp") FROM dpe WHERE "Timestamp" >= $SINCE GROUP BY "DeviceId""#,
        kinds: &[S, T, S, S],
    },
    Query {
        name: "make_set",
        kql: r#"DeviceProcessEvents | summarize s = make_set(FileName) by DeviceId"#,
        datafusion: r#"SELECT "DeviceId", array_agg(DISTINCT "FileName") FROM dpe WHERE "Timestamp" >= $SINCE GROUP BY "DeviceId""#,
        duckdb: r#"SELECT "DeviceId", list(DISTINCT "FileName") FROM dpe WHERE "Timestamp" >= $SINCE GROUP BY "DeviceId""#,
        kinds: &[S, L],
    },
    Query {
        name: "union",
        kql: r#"union DeviceProcessEvents, DeviceNetworkEvents | where InitiatingProcessFileName =~ "powershell.exe" | summarize c = count() by DeviceName"#,
        datafusion: r#"SELECT "DeviceName", count(*) AS c FROM (SELECT "DeviceName", "InitiatingProcessFileName" FROM dpe WHERE "Timestamp" >= $SINCE UNION ALL SELECT "DeviceName", "InitiatingProcessFileName" FROM dne WHERE "Timestamp" >= $SINCE) u WHERE lower("InitiatingProcessFileName") = 'powershell.exe' GROUP BY "DeviceName""#,
        duckdb: r#"SELECT "DeviceName", count(*) AS c FROM (SELECT "DeviceName", "InitiatingProcessFileName" FROM dpe WHERE "Timestamp" >= $SINCE UNION ALL SELECT "DeviceName", "InitiatingProcessFileName" FROM dne WHERE "Timestamp" >= $SINCE) u WHERE lower("InitiatingProcessFileName") = 'powershell.exe' GROUP BY "DeviceName""#,
        kinds: &[S, I],
    },
    Query {
        name: "mv-expand",
        kql: r#"DeviceProcessEvents | where InitiatingProcessFileName =~ "cmd.exe" | extend Arg = split(ProcessCommandLine, " ") | mv-expand Arg to typeof(string) | summarize c = count() by Arg"#,
        datafusion: r#"SELECT a, count(*) AS c FROM (SELECT unnest(string_to_array("ProcessCommandLine", ' ')) AS a FROM dpe WHERE "Timestamp" >= $SINCE AND lower("InitiatingProcessFileName") = 'cmd.exe') x GROUP BY a"#,
        duckdb: r#"SELECT a, count(*) AS c FROM (SELECT unnest(string_split("ProcessCommandLine", ' ')) AS a FROM dpe WHERE "Timestamp" >= $SINCE AND lower("InitiatingProcessFileName") = 'cmd.exe') x GROUP BY a"#,
        kinds: &[S, I],
    },
    Query {
        name: "parse",
        kql: r#"DeviceProcessEvents | where ProcessCommandLine has "http" | parse ProcessCommandLine with * "http://" Host "/" Path | summarize c = count() by Host, Path"#,
        datafusion: r#"SELECT coalesce(regexp_match("ProcessCommandLine", '^.*?http://(.*?)/(.*)')[1], '') AS h, coalesce(regexp_match("ProcessCommandLine", '^.*?http://(.*?)/(.*)')[2], '') AS p, count(*) AS c FROM dpe WHERE "Timestamp" >= $SINCE AND "ProcessCommandLine" ILIKE '%http%' GROUP BY 1, 2"#,
        duckdb: r#"SELECT regexp_extract("ProcessCommandLine", '^.*?http://(.*?)/(.*)', 1) AS h, regexp_extract("ProcessCommandLine", '^.*?http://(.*?)/(.*)', 2) AS p, count(*) AS c FROM dpe WHERE "Timestamp" >= $SINCE AND "ProcessCommandLine" ILIKE '%http%' GROUP BY 1, 2"#,
        kinds: &[S, S, I],
    },
    Query {
        name: "join leftanti",
        kql: r#"DeviceProcessEvents | where FileName =~ "powershell.exe" | join kind=leftanti (DeviceNetworkEvents | where RemotePort == 443) on $left.ProcessId == $right.InitiatingProcessId | summarize c = count() by DeviceName"#,
        datafusion: r#"SELECT "DeviceName", count(*) AS c FROM (SELECT * FROM dpe WHERE "Timestamp" >= $SINCE AND lower("FileName") = 'powershell.exe') p LEFT ANTI JOIN (SELECT "InitiatingProcessId" FROM dne WHERE "Timestamp" >= $SINCE AND "RemotePort" = 443) n ON p."ProcessId" = n."InitiatingProcessId" GROUP BY "DeviceName""#,
        duckdb: r#"SELECT "DeviceName", count(*) AS c FROM (SELECT * FROM dpe WHERE "Timestamp" >= $SINCE AND lower("FileName") = 'powershell.exe') p ANTI JOIN (SELECT "InitiatingProcessId" FROM dne WHERE "Timestamp" >= $SINCE AND "RemotePort" = 443) n ON p."ProcessId" = n."InitiatingProcessId" GROUP BY "DeviceName""#,
        kinds: &[S, I],
    },
    // Two probes of the tuning steps beyond the ten: an IOC sweep for a hash the estate does
    // not hold (the bloom filters' case) and the latest events (a top-k on sorted files).
    Query {
        name: "ioc sweep",
        kql: r#"DeviceProcessEvents | where SHA256 == "7d2c1b0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c" | count"#,
        datafusion: r#"SELECT count(*) FROM dpe WHERE "Timestamp" >= $SINCE AND "SHA256" = '7d2c1b0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c'"#,
        duckdb: r#"SELECT count(*) FROM dpe WHERE "Timestamp" >= $SINCE AND "SHA256" = '7d2c1b0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c'"#,
        kinds: &[I],
    },
    Query {
        name: "latest 10",
        kql: r#"DeviceProcessEvents | top 10 by Timestamp desc | project Timestamp"#,
        datafusion: r#"SELECT "Timestamp" FROM dpe WHERE "Timestamp" >= $SINCE ORDER BY "Timestamp" DESC LIMIT 10"#,
        duckdb: r#"SELECT epoch_ns("Timestamp") FROM dpe WHERE "Timestamp" >= $SINCE ORDER BY "Timestamp" DESC LIMIT 10"#,
        kinds: &[T],
    },
];

/// A result cell in a form all three engines can be compared in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Cell {
    Null,
    Int(i64),
    Str(String),
    Set(Vec<String>),
}

type Rows = Vec<Vec<Cell>>;

fn best_of<F: FnMut() -> Result<R, String>, R>(mut f: F) -> Result<f64, String> {
    let mut best = f64::MAX;
    f()?;
    for _ in 0..3 {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(best)
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
            let secs = t.elapsed().as_secs_f64();
            println!(
                "seeded {written} rows in {secs:.1}s ({:.0} rows/s)",
                written as f64 / secs
            );
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
    let since_day = since.format("%Y-%m-%d").to_string();
    let since_sql = format!("TIMESTAMP '{}'", since.format("%Y-%m-%dT%H:%M:%S%.fZ"));

    // Exactly the files a query of the store reads: the listing of the 30-day window.
    let mut listed: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut sizes = Vec::new();
    for (alias, table) in [
        ("dpe", "DeviceProcessEvents"),
        ("dne", "DeviceNetworkEvents"),
    ] {
        let files = store.files(TENANT, table, &since_day)?;
        sizes.push(format!(
            "{table}: {} rows, {} files, {:.0} MB",
            files.iter().map(|f| f.rows).sum::<u64>(),
            files.len(),
            files.iter().map(|f| f.bytes).sum::<u64>() as f64 / 1e6
        ));
        listed.insert(
            alias,
            files
                .iter()
                .map(|f| f.path.to_string_lossy().into_owned())
                .collect(),
        );
    }
    println!("store {}: {}", dir.display(), sizes.join("; "));

    let engine = HuntingEngine::new(store.clone()).with_limits(Limits {
        memory_bytes: 4 << 30,
        ..Limits::default()
    });
    // DataFusion SQL as a user gets it from `register_parquet` (default options, schema read
    // from the files), but over the listed files only; `BENCH_SQL_UTF8` as in the module docs.
    let mut sql_config = datafusion::prelude::SessionConfig::new();
    if std::env::var_os("BENCH_SQL_UTF8").is_some() {
        sql_config
            .options_mut()
            .execution
            .parquet
            .schema_force_view_types = false;
    }
    let ctx = SessionContext::new_with_config(sql_config);
    for (alias, files) in &listed {
        let urls = files
            .iter()
            .map(ListingTableUrl::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let options = ParquetReadOptions::default()
            .to_listing_options(&ctx.copied_config(), ctx.copied_table_options());
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .infer_schema(&ctx.state())
            .await?;
        ctx.register_table(*alias, Arc::new(ListingTable::try_new(config)?))?;
    }

    let duck = if std::env::var_os("BENCH_NO_DUCKDB").is_some() {
        None
    } else {
        Some(duckdb_run(&listed, &since_sql)?)
    };

    let rt = tokio::runtime::Handle::current();
    let mut table = Vec::new();
    let mut mismatches = 0;
    // `BENCH_ONLY=NAME` runs one query (for a profile; pair it with `BENCH_NO_DUCKDB=1`).
    let only = std::env::var("BENCH_ONLY").ok();
    for q in QUERIES
        .iter()
        .filter(|q| only.as_deref().is_none_or(|o| o == q.name))
    {
        let sql = q.datafusion.replace("$SINCE", &since_sql);
        let kql_rows = |rows: Vec<serde_json::Map<String, Value>>| -> Result<Rows, String> {
            rows.iter()
                .map(|r| {
                    r.values()
                        .zip(q.kinds)
                        .map(|(v, k)| json_cell(v, *k, true))
                        .collect()
                })
                .collect()
        };
        let run_kql = || -> Result<Rows, String> {
            let r = rt
                .block_on(engine.run(TENANT, q.kql, now))
                .map_err(|e| format!("{}: KQL: {e}", q.name))?;
            kql_rows(r.rows)
        };
        let run_sql = || -> Result<Rows, String> {
            let batches = rt
                .block_on(async { ctx.sql(&sql).await?.collect().await })
                .map_err(|e| format!("{}: SQL: {e}", q.name))?;
            arrow_rows(&batches, q.kinds)
        };
        // Answers first: the three engines must agree before anything is timed.
        let (kql, sql_rows) =
            tokio::task::block_in_place(|| Ok::<_, String>((run_kql()?, run_sql()?)))?;
        let mut sides = vec![
            ("KQL", sorted(kql.clone())),
            ("DataFusion SQL", sorted(sql_rows)),
        ];
        let duck_q = duck.as_ref().map(|d| &d[q.name]);
        if let Some(d) = duck_q {
            sides.push(("DuckDB", sorted(d.rows.clone())));
        }
        let mut agree = true;
        for (name, rows) in &sides[1..] {
            if *rows != sides[0].1 {
                agree = false;
                eprintln!(
                    "MISMATCH {}: KQL gave {} rows, {name} {} rows",
                    q.name,
                    sides[0].1.len(),
                    rows.len()
                );
                for (a, b) in sides[0].1.iter().zip(rows).filter(|(a, b)| a != b).take(5) {
                    eprintln!("  KQL: {a:?}\n  {name}: {b:?}");
                }
            }
        }
        if !agree {
            mismatches += 1;
            continue;
        }
        let kql_ms = tokio::task::block_in_place(|| best_of(run_kql))?;
        let sql_ms = tokio::task::block_in_place(|| best_of(run_sql))?;
        table.push((q.name, kql_ms, sql_ms, duck_q.map(|d| d.ms), kql.len()));
    }

    println!(
        "\n| query | KQL on Palisade (ms) | DataFusion SQL (ms) | DuckDB SQL (ms) | KQL / DataFusion SQL | KQL / DuckDB | rows |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, kql_ms, sql_ms, duck_ms, rows) in table {
        let (duck_ms, duck_ratio) = match duck_ms {
            Some(ms) => (format!("{ms:.1}"), format!("{:.2}", kql_ms / ms)),
            None => ("skipped".into(), "skipped".into()),
        };
        println!(
            "| {name} | {kql_ms:.1} | {sql_ms:.1} | {duck_ms} | {:.2} | {duck_ratio} | {rows} |",
            kql_ms / sql_ms
        );
    }
    if mismatches > 0 {
        return Err(format!("{mismatches} queries gave different answers on the engines").into());
    }

    // The tuning steps, cumulative, measured on the KQL side in the same run.
    if std::env::var_os("BENCH_STEPS").is_some() {
        let steps = Tuning::steps();
        let mut grid = Vec::new();
        for (step, tuning) in &steps {
            let engine = engine.clone().with_tuning(*tuning);
            let mut row = Vec::new();
            for q in QUERIES {
                let ms = tokio::task::block_in_place(|| {
                    best_of(|| {
                        rt.block_on(engine.run(TENANT, q.kql, now))
                            .map(|_| ())
                            .map_err(|e| format!("{} ({step}): KQL: {e}", q.name))
                    })
                })?;
                row.push(ms);
            }
            eprintln!("  step {step} measured");
            grid.push(row);
        }
        print!("\n| query (KQL, ms) |");
        for (step, _) in &steps {
            print!(" {step} |");
        }
        print!("\n|---|");
        for _ in &steps {
            print!("---|");
        }
        println!();
        for (i, q) in QUERIES.iter().enumerate() {
            print!("| {} |", q.name);
            for row in &grid {
                print!(" {:.1} |", row[i]);
            }
            println!();
        }
    }
    Ok(())
}

fn sorted(mut rows: Rows) -> Rows {
    rows.sort();
    rows
}

/// A JSON value (a KQL result cell, or a DuckDB one) as a [`Cell`] of `kind`. `kql_time`:
/// datetimes are KQL's ISO text (DuckDB returns nanoseconds).
fn json_cell(v: &Value, kind: Kind, kql_time: bool) -> Result<Cell, String> {
    Ok(match (v, kind) {
        (Value::Null, _) => Cell::Null,
        (Value::Number(n), I | T) => {
            Cell::Int(n.as_i64().ok_or_else(|| format!("not an integer: {n}"))?)
        }
        (Value::String(s), T) if kql_time => Cell::Int(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|e| format!("bad datetime {s}: {e}"))?
                .timestamp_nanos_opt()
                .ok_or("datetime out of range")?,
        ),
        (Value::String(s), S) => Cell::Str(s.clone()),
        (Value::Array(items), L) => {
            let mut set: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            set.sort();
            Cell::Set(set)
        }
        (other, kind) => return Err(format!("unexpected {other} for a {kind:?} column")),
    })
}

/// DataFusion's result batches as rows of [`Cell`]s.
fn arrow_rows(batches: &[RecordBatch], kinds: &[Kind]) -> Result<Rows, String> {
    let mut out = Vec::new();
    for b in batches {
        if b.num_columns() != kinds.len() {
            return Err(format!(
                "{} columns, expected {}",
                b.num_columns(),
                kinds.len()
            ));
        }
        for r in 0..b.num_rows() {
            out.push(
                b.columns()
                    .iter()
                    .map(|c| arrow_cell(c.as_ref(), r))
                    .collect::<Result<_, _>>()?,
            );
        }
    }
    Ok(out)
}

fn arrow_cell(a: &dyn Array, r: usize) -> Result<Cell, String> {
    if a.is_null(r) {
        return Ok(Cell::Null);
    }
    Ok(match a.data_type() {
        DataType::Int64 => Cell::Int(a.as_primitive::<Int64Type>().value(r)),
        DataType::Int32 => Cell::Int(a.as_primitive::<Int32Type>().value(r) as i64),
        DataType::UInt64 => Cell::Int(a.as_primitive::<UInt64Type>().value(r) as i64),
        DataType::Timestamp(_, _) => {
            let ns = arrow::compute::cast(
                &a.slice(r, 1),
                &DataType::Timestamp(arrow::datatypes::TimeUnit::Nanosecond, None),
            )
            .map_err(|e| e.to_string())?;
            Cell::Int(ns.as_primitive::<TimestampNanosecondType>().value(0))
        }
        DataType::Utf8 => Cell::Str(a.as_string::<i32>().value(r).to_string()),
        DataType::LargeUtf8 => Cell::Str(a.as_string::<i64>().value(r).to_string()),
        DataType::Utf8View => Cell::Str(a.as_string_view().value(r).to_string()),
        DataType::List(_) => {
            let items = a.as_list::<i32>().value(r);
            let mut set = (0..items.len())
                .map(|i| match arrow_cell(items.as_ref(), i)? {
                    Cell::Str(s) => Ok(s),
                    other => Ok(format!("{other:?}")),
                })
                .collect::<Result<Vec<_>, String>>()?;
            set.sort();
            Cell::Set(set)
        }
        other => return Err(format!("unexpected result type {other}")),
    })
}

/// One query's answer and best time on DuckDB.
struct DuckResult {
    ms: f64,
    rows: Rows,
}

/// Runs `benches/duckdb_bench.py` over the listed files: query name → its result.
fn duckdb_run(
    listed: &BTreeMap<&str, Vec<String>>,
    since_sql: &str,
) -> Result<BTreeMap<&'static str, DuckResult>, Box<dyn std::error::Error>> {
    let python = std::env::var("DUCKDB_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/duckdb_bench.py");
    // The files hold nanosecond UTC timestamps (DuckDB's TIMESTAMPTZ_NS).
    let since = format!(
        "{}::TIMESTAMPTZ_NS",
        since_sql.replacen("TIMESTAMP ", "", 1)
    );
    let input = serde_json::json!({
        "files": listed,
        "queries": QUERIES
            .iter()
            .map(|q| serde_json::json!({"name": q.name, "sql": q.duckdb.replace("$SINCE", &since)}))
            .collect::<Vec<_>>(),
    });
    let spec = tempfile::NamedTempFile::new()?;
    std::fs::write(spec.path(), serde_json::to_vec(&input)?)?;
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(spec.path())
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "duckdb (set BENCH_NO_DUCKDB=1 to skip it): {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let mut results = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line)?;
        let name = v["name"].as_str().unwrap_or_default();
        let q = QUERIES
            .iter()
            .find(|q| q.name == name)
            .ok_or_else(|| format!("duckdb: unknown query {name}"))?;
        let rows = v["rows"]
            .as_array()
            .ok_or("duckdb: rows missing")?
            .iter()
            .map(|row| {
                row.as_array()
                    .ok_or_else(|| "duckdb: a row is not an array".to_string())?
                    .iter()
                    .zip(q.kinds)
                    .map(|(c, k)| json_cell(c, *k, false))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ms = v["ms"].as_f64().ok_or("duckdb: time missing")?;
        results.insert(q.name, DuckResult { ms, rows });
    }
    if let Some(q) = QUERIES.iter().find(|q| !results.contains_key(q.name)) {
        return Err(format!("duckdb gave no answer for {}", q.name).into());
    }
    Ok(results)
}
