//! Throughput of the event store's writers: seeding and JSON-lines ingest.
//!
//! ```text
//! cargo run --release -p palisade-events --example store_bench -- seed ROWS DIR
//! cargo run --release -p palisade-events --example store_bench -- export DIR FILE
//! cargo run --release -p palisade-events --example store_bench -- ingest FILE DIR
//! cargo run --release -p palisade-events --example store_bench -- compare DIR_A DIR_B
//! ```
//! `seed` generates about ROWS `DeviceProcessEvents` + `DeviceNetworkEvents` rows (the bench
//! mix) into a new store; `export` writes a store's `DeviceProcessEvents` rows as JSON lines, the
//! way the advanced-hunting API returns rows; `ingest` loads such a file into a new store;
//! `compare` checks that two stores hold the same `DeviceProcessEvents` rows (as multisets).
//! Each step prints its rows per second; run it under `/usr/bin/time -v` for the peak RSS.
//! `STORE_BENCH_NOW=RFC3339` fixes the seed's clock, so two builds' stores can be compared
//! row for row.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, TimestampNanosecondType};
use palisade_events::{ingest_jsonl, seed_tables, Estate, EventStore, INGESTION_TIME};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const TENANT: &str = "bench";
const TABLE: &str = "DeviceProcessEvents";

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> Result<&str, Error> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| "usage: store_bench seed|export|ingest|compare ...".into())
    };
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    match arg(0)? {
        "seed" => {
            let rows: u64 = arg(1)?.parse()?;
            let store = EventStore::open(arg(2)?)?;
            let now = match std::env::var("STORE_BENCH_NOW") {
                Ok(at) => chrono::DateTime::parse_from_rfc3339(&at)?.with_timezone(&chrono::Utc),
                Err(_) => chrono::Utc::now(),
            };
            let t = Instant::now();
            let written = rt.block_on(seed_tables(
                &store,
                TENANT,
                &Estate::sample(1),
                rows,
                now,
                Some(&["DeviceProcessEvents", "DeviceNetworkEvents"]),
                |_| {},
            ))?;
            let secs = t.elapsed().as_secs_f64();
            std::fs::write(Path::new(arg(2)?).join("bench-now"), now.to_rfc3339())?;
            println!(
                "seeded {written} rows in {secs:.2}s: {:.0} rows/s",
                written as f64 / secs
            );
        }
        "export" => {
            let store = EventStore::open(arg(1)?)?;
            let mut out = BufWriter::new(std::fs::File::create(arg(2)?)?);
            let mut n = 0u64;
            for f in store.files(TENANT, TABLE, "0000-00-00")? {
                for batch in read(&f.path)? {
                    for r in 0..batch.num_rows() {
                        serde_json::to_writer(&mut out, &row_json(&batch, r))?;
                        out.write_all(b"\n")?;
                        n += 1;
                    }
                }
            }
            out.flush()?;
            println!("exported {n} rows");
        }
        "ingest" => {
            let file = std::fs::File::open(arg(1)?)?;
            let bytes = file.metadata()?.len();
            let store = EventStore::open(arg(2)?)?;
            let t = Instant::now();
            let report = rt.block_on(ingest_jsonl(
                &store,
                TENANT,
                TABLE,
                std::io::BufReader::with_capacity(1 << 20, file),
            ))?;
            let secs = t.elapsed().as_secs_f64();
            if !report.rejected.is_empty() {
                return Err(format!(
                    "{} rows rejected: {:?}",
                    report.rejected.len(),
                    &report.rejected[..1]
                )
                .into());
            }
            println!(
                "ingested {} rows ({:.0} MB of JSON) in {secs:.2}s: {:.0} rows/s",
                report.accepted,
                bytes as f64 / 1e6,
                report.accepted as f64 / secs
            );
        }
        "compare" => {
            let (a, b) = (digest(arg(1)?)?, digest(arg(2)?)?);
            let rows: usize = a.values().sum();
            if a != b {
                return Err(format!(
                    "the stores differ: {} vs {} distinct rows",
                    a.len(),
                    b.len()
                )
                .into());
            }
            println!("same {rows} rows");
        }
        other => return Err(format!("unknown step {other}").into()),
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<RecordBatch>, Error> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path)?)?.build()?;
    Ok(reader.collect::<Result<_, _>>()?)
}

/// Row `r` as the API's JSON object (nulls and the hidden ingestion time left out: the API
/// does not return it and ingest stamps its own).
fn row_json(b: &RecordBatch, r: usize) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    for (f, c) in b.schema().fields().iter().zip(b.columns()) {
        if c.is_null(r) || f.name() == INGESTION_TIME {
            continue;
        }
        let v = match c.data_type() {
            DataType::Utf8 => c.as_string::<i32>().value(r).into(),
            DataType::Int32 => c.as_primitive::<Int32Type>().value(r).into(),
            DataType::Int64 => c.as_primitive::<Int64Type>().value(r).into(),
            DataType::Float64 => c.as_primitive::<Float64Type>().value(r).into(),
            DataType::Boolean => c.as_boolean().value(r).into(),
            DataType::Timestamp(..) => palisade_kql::value::format_datetime(
                c.as_primitive::<TimestampNanosecondType>().value(r),
            )
            .into(),
            other => format!("unsupported {other}").into(),
        };
        m.insert(f.name().clone(), v);
    }
    m
}

/// Every `DeviceProcessEvents` row of the store at `dir`, as JSON text → count.
fn digest(dir: &str) -> Result<HashMap<String, usize>, Error> {
    let store = EventStore::open(dir)?;
    let mut rows = HashMap::new();
    for f in store.files(TENANT, TABLE, "0000-00-00")? {
        for batch in read(&f.path)? {
            for r in 0..batch.num_rows() {
                *rows
                    .entry(serde_json::to_string(&row_json(&batch, r))?)
                    .or_default() += 1;
            }
        }
    }
    Ok(rows)
}
