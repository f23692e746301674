//! The event store's tests, one binary: the columnar generator and JSON-lines ingest, read back
//! straight from the Parquet files (the engine's tests query the same store through KQL).

mod compact;
mod generator;
mod ingest;

use arrow::array::RecordBatch;
use palisade_events::EventStore;

/// Every batch of every visible file of `(tenant, table)`.
pub fn batches(store: &EventStore, tenant: &str, table: &str) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for f in store.files(tenant, table, "0000-00-00").unwrap() {
        let file = std::fs::File::open(&f.path).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        out.extend(reader.map(Result::unwrap));
    }
    out
}

/// The fixed "now" of the tests.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
        .unwrap()
        .to_utc()
}
