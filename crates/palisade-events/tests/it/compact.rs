//! Compaction keeps a day's `Timestamp` order when its sorted files follow one another in
//! time, and says "unsorted" when they overlap.

use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, RecordBatch, TimestampNanosecondArray};
use arrow::datatypes::DataType;
use palisade_events::EventStore;

use crate::batches;

const TABLE: &str = "DeviceProcessEvents";
const DAY: &str = "2026-11-19";
const DAY_NS: i64 = 1_795_046_400_000_000_000; // 2026-11-19T00:00:00Z

/// A batch of `TABLE` whose rows have these timestamps (every other column null).
fn rows(store: &EventStore, ts: &[i64]) -> RecordBatch {
    let schema = store.arrow_schema(TABLE).unwrap();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(..) if f.name() == "Timestamp" => Arc::new(
                TimestampNanosecondArray::from(ts.to_vec()).with_timezone_opt(
                    match f.data_type() {
                        DataType::Timestamp(_, tz) => tz.clone(),
                        _ => None,
                    },
                ),
            ) as ArrayRef,
            t => new_null_array(t, ts.len()),
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

fn write(store: &EventStore, ts: &[i64]) {
    let mut w = store.part_writer("t1", TABLE, DAY).unwrap();
    w.write(&rows(store, ts)).unwrap();
    assert_eq!(w.commit().unwrap(), ts.len() as u64);
}

fn all_timestamps(store: &EventStore) -> Vec<i64> {
    batches(store, "t1", TABLE)
        .iter()
        .flat_map(|b| {
            let c = b
                .column_by_name("Timestamp")
                .unwrap()
                .as_any()
                .downcast_ref::<TimestampNanosecondArray>()
                .unwrap()
                .clone();
            c.values().to_vec()
        })
        .collect()
}

#[test]
fn sorted_files_that_follow_each_other_compact_into_a_sorted_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let t = |h: i64| DAY_NS + h * 3_600_000_000_000;
    // Written out of time order, but each sorted and the ranges disjoint.
    write(&store, &[t(10), t(11), t(12)]);
    write(&store, &[t(1), t(2), t(3)]);
    let r = store.compact("t1", TABLE).unwrap();
    assert_eq!((r.files_before, r.files_after, r.rows), (2, 1, 6));
    let files = store.files("t1", TABLE, "0000-00-00").unwrap();
    assert_eq!(files.len(), 1);
    assert!(files[0].sorted, "{}", files[0].path.display());
    assert!(files[0].path.to_string_lossy().ends_with("-ms.parquet"));
    assert_eq!(
        all_timestamps(&store),
        vec![t(1), t(2), t(3), t(10), t(11), t(12)]
    );
}

#[test]
fn overlapping_sorted_files_compact_into_an_unsorted_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let t = |h: i64| DAY_NS + h * 3_600_000_000_000;
    write(&store, &[t(1), t(5), t(9)]);
    write(&store, &[t(2), t(6), t(10)]);
    store.compact("t1", TABLE).unwrap();
    let files = store.files("t1", TABLE, "0000-00-00").unwrap();
    assert_eq!(files.len(), 1);
    assert!(!files[0].sorted);
    assert!(files[0].path.to_string_lossy().ends_with("-m.parquet"));
    let mut ts = all_timestamps(&store);
    assert_eq!(ts.len(), 6);
    ts.sort();
    assert_eq!(ts, vec![t(1), t(2), t(5), t(6), t(9), t(10)]);
}
