//! The generator writes sorted, day-partitioned files directly, deterministically.

use std::collections::BTreeSet;

use arrow::array::{Array, AsArray};
use arrow::datatypes::TimestampNanosecondType;
use palisade_events::{seed_events, seed_tables, Estate, EventStore, GENERATED_TABLES};

use crate::{batches, now};

fn timestamps(store: &EventStore, table: &str) -> Vec<Vec<i64>> {
    store
        .files("t1", table, "0000-00-00")
        .unwrap()
        .iter()
        .map(|f| {
            let file = std::fs::File::open(&f.path).unwrap();
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .unwrap()
                    .build()
                    .unwrap();
            reader
                .flat_map(|b| {
                    let b = b.unwrap();
                    let ts = b
                        .column_by_name("Timestamp")
                        .unwrap()
                        .as_primitive::<TimestampNanosecondType>()
                        .clone();
                    (0..ts.len()).map(move |i| ts.value(i)).collect::<Vec<_>>()
                })
                .collect()
        })
        .collect()
}

/// The footer names `Timestamp` as the sort column of every row group, and each
/// equality-searched column the table has carries a bloom filter that answers for the values
/// written and (with a 1 % false-positive rate) not for others.
fn footer_declares_order_and_blooms(path: &std::path::Path, table: &str) {
    use parquet::file::properties::ReaderProperties;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let file = std::fs::File::open(path).unwrap();
    let props = ReaderProperties::builder()
        .set_read_bloom_filter(true)
        .build();
    let reader = SerializedFileReader::new_with_options(
        file,
        parquet::file::serialized_reader::ReadOptionsBuilder::new()
            .with_reader_properties(props)
            .build(),
    )
    .unwrap();
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    let ts = (0..schema.num_columns())
        .find(|i| schema.column(*i).name() == "Timestamp")
        .unwrap();
    for g in 0..meta.num_row_groups() {
        let sorting = meta
            .row_group(g)
            .sorting_columns()
            .cloned()
            .unwrap_or_default();
        assert_eq!(sorting.len(), 1, "{table}");
        assert_eq!(sorting[0].column_idx as usize, ts, "{table}");
        assert!(!sorting[0].descending);
        let rg = reader.get_row_group(g).unwrap();
        for name in palisade_events::BLOOM_FILTER_COLUMNS {
            let Some(i) = (0..schema.num_columns()).find(|i| schema.column(*i).name() == *name)
            else {
                continue;
            };
            let bloom = rg
                .get_column_bloom_filter(i)
                .unwrap_or_else(|| panic!("{table}.{name}: no bloom filter"));
            // Every value written is in the filter; of 100 values never written, few are.
            for v in column_strings(path, name) {
                assert!(bloom.check(v.as_str()), "{table}.{name}: {v} missing");
            }
            let false_positives = (0..100)
                .filter(|k| bloom.check(format!("absent-{k}").as_str()))
                .count();
            assert!(false_positives < 10, "{table}.{name}: {false_positives}");
        }
    }
}

/// The non-null values of string column `name` in the file at `path`.
fn column_strings(path: &std::path::Path, name: &str) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for b in reader {
        let b = b.unwrap();
        let c = b.column_by_name(name).unwrap().as_string::<i32>().clone();
        out.extend(
            (0..c.len())
                .filter(|i| c.is_valid(*i))
                .map(|i| c.value(i).to_string()),
        );
    }
    out
}

#[tokio::test]
async fn one_sorted_file_per_table_and_day_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let mut seen = Vec::new();
    let written = seed_events(&store, "t1", &Estate::sample(3), 20_000, now(), |n| {
        seen.push(n)
    })
    .await
    .unwrap();
    // About the requested rows (the row mix of emails and alerts is drawn).
    assert!((19_000..=21_000).contains(&written), "{written}");
    assert_eq!(seen.last().copied(), Some(written));
    let mut total = 0;
    let now_ns = now().timestamp_nanos_opt().unwrap();
    for table in GENERATED_TABLES {
        let files = store.files("t1", table, "0000-00-00").unwrap();
        let days: BTreeSet<_> = files
            .iter()
            .map(|f| f.path.parent().unwrap().to_path_buf())
            .collect();
        assert_eq!(days.len(), files.len(), "{table}: one file per day");
        for (i, (f, ts)) in files.iter().zip(timestamps(&store, table)).enumerate() {
            assert!(
                f.path.to_string_lossy().ends_with("-s.parquet") && f.sorted,
                "{table}: a sorted file"
            );
            if i == 0 {
                // One file per table: every value of every bloom column is read back.
                footer_declares_order_and_blooms(&f.path, table);
            }
            assert!(
                ts.windows(2).all(|w| w[0] <= w[1]),
                "{table}: in time order"
            );
            assert!(ts
                .iter()
                .all(|t| *t <= now_ns && *t > now_ns - 30 * 86_400_000_000_000));
            assert_eq!(f.rows, ts.len() as u64);
            total += ts.len() as u64;
        }
    }
    assert_eq!(total, written);
}

#[tokio::test]
async fn seeding_is_deterministic_and_filters_tables() {
    let seed = |only: Option<&'static [&'static str]>| async move {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(dir.path()).unwrap();
        let n = seed_tables(&store, "t1", &Estate::sample(3), 5_000, now(), only, |_| {})
            .await
            .unwrap();
        (dir, store, n)
    };
    let (_a, a, na) = seed(Some(&["DeviceProcessEvents", "DeviceNetworkEvents"])).await;
    let (_b, b, nb) = seed(Some(&["DeviceProcessEvents", "DeviceNetworkEvents"])).await;
    assert_eq!(
        (na, nb),
        (5_000, 5_000),
        "single-row kinds: exactly the rows asked for"
    );
    for t in ["DeviceProcessEvents", "DeviceNetworkEvents"] {
        assert_eq!(batches(&a, "t1", t), batches(&b, "t1", t), "{t}");
    }
    assert!(a
        .files("t1", "DeviceFileEvents", "0000-00-00")
        .unwrap()
        .is_empty());
    // 30:20 mix of process and network events.
    let rows = |t| {
        batches(&a, "t1", t)
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>()
    };
    let (p, n) = (rows("DeviceProcessEvents"), rows("DeviceNetworkEvents"));
    assert!((2_800..3_200).contains(&p) && p + n == 5_000, "{p} {n}");
    // Only snapshot tables: one snapshot per device and day, for the days the budget allows
    // (5,000 / 50 / 25 devices = 4), and then it stops.
    let (_c, c, nc) = seed(Some(&["DeviceInfo"])).await;
    assert_eq!(nc, 4 * Estate::sample(3).devices.len() as u64);
    let files = c.files("t1", "DeviceInfo", "0000-00-00").unwrap();
    assert_eq!(files.len(), 4);
    assert!(files.iter().all(|f| f.rows == 25));
}

#[tokio::test]
async fn generated_rows_are_consistent_with_the_estate() {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let estate = Estate::sample(3);
    seed_tables(
        &store,
        "t1",
        &estate,
        3_000,
        now(),
        Some(&["DeviceProcessEvents"]),
        |_| {},
    )
    .await
    .unwrap();
    let devices: BTreeSet<&str> = estate
        .devices
        .iter()
        .map(|d| d.device_id.as_str())
        .collect();
    let hashes: BTreeSet<&str> = estate.files.iter().map(|f| f.sha1.as_str()).collect();
    for b in batches(&store, "t1", "DeviceProcessEvents") {
        let col = |n: &str| b.column_by_name(n).unwrap().as_string::<i32>().clone();
        let (dev, sha1, cmd) = (col("DeviceId"), col("SHA1"), col("ProcessCommandLine"));
        for i in 0..b.num_rows() {
            assert!(devices.contains(dev.value(i)));
            assert!(hashes.contains(sha1.value(i)));
            assert!(!cmd.value(i).is_empty());
        }
        // Columns the generator does not set stay null.
        assert_eq!(
            b.column_by_name("AppGuardContainerId")
                .unwrap()
                .null_count(),
            b.num_rows()
        );
    }
}
