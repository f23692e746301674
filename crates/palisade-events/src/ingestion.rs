//! Each stored row's ingestion time, the hidden [`INGESTION_TIME`] column: set on the rows of
//! a batch, drawn for seeded rows, read from the wall clock for ingested ones (the event store
//! has no injected clock: `palisade ingest` and the server both stamp rows as they arrive).

use arrow::array::{ArrayRef, RecordBatch};

use crate::schema::INGESTION_TIME;

/// `batch` (the catalog's columns, or the stored ones with the last column replaced) with
/// [`INGESTION_TIME`] set row by row by `at`.
pub(crate) fn with_ingestion_time(
    batch: &RecordBatch,
    at: impl Fn(usize) -> Option<i64>,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    use arrow::array::TimestampNanosecondArray;
    use arrow::datatypes::{Field, Schema as ArrowSchema};
    let n = batch.num_rows();
    let times: ArrayRef = std::sync::Arc::new(
        TimestampNanosecondArray::from_iter((0..n).map(at)).with_timezone("UTC"),
    );
    let mut fields: Vec<Field> = Vec::with_capacity(batch.num_columns() + 1);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns() + 1);
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if f.name() != INGESTION_TIME {
            fields.push(f.as_ref().clone());
            columns.push(c.clone());
        }
    }
    fields.push(Field::new(INGESTION_TIME, times.data_type().clone(), true));
    columns.push(times);
    RecordBatch::try_new(std::sync::Arc::new(ArrowSchema::new(fields)), columns)
}

/// The ingestion time of a seeded row with event time `t`: 15 s to 5 min later, drawn from `t`.
pub(crate) fn seeded_ingestion(t: i64) -> i64 {
    const S: i64 = 1_000_000_000;
    t + 15 * S + (t / 100).rem_euclid(286) * S
}

/// The wall clock, ns since the epoch.
pub(crate) fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}
