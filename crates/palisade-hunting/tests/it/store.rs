//! The event store's compaction and the generator's table filter, checked through the engine:
//! compaction must never change what a query sees, even after a crash between its steps.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use palisade_events::{seed_tables, Estate, EventStore, StoreError};
use palisade_hunting::HuntingEngine;
use serde_json::Value;

const TENANT: &str = "t1";
const TABLES: &[&str] = &["DeviceProcessEvents", "DeviceNetworkEvents"];

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
}

/// Seeds the two tables three times, so every day holds three files per table.
async fn seeded() -> (tempfile::TempDir, Arc<EventStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    for n in [900, 1100, 1300] {
        seed_tables(
            &store,
            TENANT,
            &Estate::sample(7),
            n,
            now(),
            Some(TABLES),
            |_| {},
        )
        .await
        .unwrap();
    }
    (dir, Arc::new(store))
}

/// A fingerprint of everything stored: per table, the row count, distinct report ids, the
/// time range and a sum over a numeric column.
async fn fingerprint(store: &Arc<EventStore>) -> Vec<serde_json::Map<String, Value>> {
    let e = HuntingEngine::new(store.clone());
    let q = "union withsource=T DeviceProcessEvents, DeviceNetworkEvents \
             | summarize n = count(), ids = dcount(ReportId), first = min(Timestamp), \
               last = max(Timestamp), pids = sum(InitiatingProcessId), \
               devices = dcount(DeviceId) by T | sort by T asc";
    e.run(TENANT, q, now()).await.unwrap().rows
}

fn files(store: &EventStore, table: &str) -> Vec<PathBuf> {
    store
        .files(TENANT, table, "0000-00-00")
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect()
}

fn day_dirs(store: &EventStore, table: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(
        store
            .root()
            .join(format!("tenant={TENANT}"))
            .join(format!("table={table}")),
    )
    .unwrap()
    .map(|e| e.unwrap().path())
    .filter(|p| p.is_dir())
    .collect();
    v.sort();
    v
}

/// Data files in a day directory, visible or not.
fn parquet_on_disk(day: &Path) -> usize {
    std::fs::read_dir(day)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".parquet")
        })
        .count()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_filter_writes_only_the_chosen_tables() {
    let (_d, store) = seeded().await;
    let tenant_dir = store.root().join(format!("tenant={TENANT}"));
    let mut tables: Vec<String> = std::fs::read_dir(&tenant_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    tables.sort();
    assert_eq!(
        tables,
        ["table=DeviceNetworkEvents", "table=DeviceProcessEvents"]
    );
    let fp = fingerprint(&store).await;
    let n: i64 = fp.iter().map(|r| r["n"].as_i64().unwrap()).sum();
    assert_eq!(
        n,
        900 + 1100 + 1300,
        "every generated row is in the chosen tables"
    );
    // Roughly the full seed's 30:20 split between process and network events.
    let procs = fp
        .iter()
        .find(|r| r["T"] == "DeviceProcessEvents")
        .map(|r| r["n"].as_i64().unwrap())
        .unwrap() as f64;
    assert!((0.5..0.7).contains(&(procs / n as f64)), "{fp:?}");

    let err = seed_tables(
        &store,
        TENANT,
        &Estate::sample(7),
        10,
        now(),
        Some(&["NoSuchTable"]),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::UnknownTable(ref t) if t == "NoSuchTable"));
    let err = seed_tables(
        &store,
        TENANT,
        &Estate::sample(7),
        10,
        now(),
        Some(&["DeviceTvmSoftwareInventory"]),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("generator writes none"), "{err}");

    // Only snapshot tables: they are written and the event draws do not spin forever.
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path()).unwrap();
    let written = seed_tables(
        &store,
        TENANT,
        &Estate::sample(7),
        1_000,
        now(),
        Some(&["DeviceInfo"]),
        |_| {},
    )
    .await
    .unwrap();
    assert!(written > 0);
    assert_eq!(
        store
            .files(TENANT, "DeviceProcessEvents", "0000-00-00")
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_every_row_in_fewer_files() {
    let (_d, store) = seeded().await;
    let before = fingerprint(&store).await;
    let files_before = files(&store, "DeviceProcessEvents").len();
    let days = day_dirs(&store, "DeviceProcessEvents").len();
    assert!(
        files_before >= 2 * days,
        "{files_before} files over {days} days"
    );

    let r = store.compact_tenant(TENANT).unwrap();
    assert_eq!(
        r.files_after,
        2 * days as u64,
        "one file per day and table: {r:?}"
    );
    assert!(r.files_before > r.files_after);
    assert_eq!(r.rows, 3300);
    assert_eq!(files(&store, "DeviceProcessEvents").len(), days);
    assert_eq!(fingerprint(&store).await, before);

    // Compacting again changes nothing.
    let again = store.compact_tenant(TENANT).unwrap();
    assert_eq!(again.days_compacted, 0);
    assert_eq!(fingerprint(&store).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_after_compaction_stay_visible_and_compact_again() {
    let (_d, store) = seeded().await;
    store.compact_tenant(TENANT).unwrap();
    seed_tables(
        &store,
        TENANT,
        &Estate::sample(7),
        500,
        now(),
        Some(TABLES),
        |_| {},
    )
    .await
    .unwrap();
    let fp = fingerprint(&store).await;
    let n: i64 = fp.iter().map(|r| r["n"].as_i64().unwrap()).sum();
    assert_eq!(n, 3800);
    let r = store.compact(TENANT, "DeviceProcessEvents").unwrap();
    assert!(r.days_compacted > 0);
    assert_eq!(fingerprint(&store).await, fp);
    // Replaced files are deleted by the next compaction (the first keeps them, hidden, so a
    // concurrent listing sees either the new file or all old ones). Then one file and one
    // manifest per day are left on disk.
    store.compact(TENANT, "DeviceProcessEvents").unwrap();
    assert_eq!(fingerprint(&store).await, fp);
    for d in day_dirs(&store, "DeviceProcessEvents") {
        let data = parquet_on_disk(&d);
        assert_eq!(data, 1, "{}", d.display());
        let manifests = std::fs::read_dir(&d)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".replaces")
            })
            .count();
        assert_eq!(manifests, 1, "{}: {manifests} manifests", d.display());
    }
}

/// An interrupted compaction (committed, replaced files not yet deleted) followed by appends
/// and another compaction: the leftovers must stay hidden until they are deleted, even when
/// the file whose manifest hides them is itself replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacting_over_an_interrupted_compaction_never_double_counts() {
    let (d, store) = seeded().await;
    let backup = d.path().join("backup");
    let dirs = day_dirs(&store, "DeviceProcessEvents");
    for (i, dd) in dirs.iter().enumerate() {
        copy_dir(dd, &backup.join(i.to_string()));
    }
    store.compact(TENANT, "DeviceProcessEvents").unwrap();
    store.compact(TENANT, "DeviceProcessEvents").unwrap();
    // Put the replaced files back: the state a crash before their deletion leaves.
    for (i, dd) in dirs.iter().enumerate() {
        copy_dir(&backup.join(i.to_string()), dd);
    }
    seed_tables(
        &store,
        TENANT,
        &Estate::sample(7),
        400,
        now(),
        Some(TABLES),
        |_| {},
    )
    .await
    .unwrap();
    let fp = fingerprint(&store).await;
    let n: i64 = fp.iter().map(|r| r["n"].as_i64().unwrap()).sum();
    assert_eq!(n, 3300 + 400);
    for _ in 0..3 {
        store.compact(TENANT, "DeviceProcessEvents").unwrap();
        assert_eq!(fingerprint(&store).await, fp);
    }
    // And the leftovers are gone from disk.
    for dd in &dirs {
        let data = parquet_on_disk(dd);
        assert_eq!(data, 1, "{}", dd.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_commit_never_double_counts() {
    let (d, store) = seeded().await;
    let before = fingerprint(&store).await;
    // Keep the pre-compaction files, compact, then put them back: the state a crash between
    // the commit (rename) and the deletes would leave.
    let backup = d.path().join("backup");
    let dirs = day_dirs(&store, "DeviceProcessEvents");
    for (i, dd) in dirs.iter().enumerate() {
        copy_dir(dd, &backup.join(i.to_string()));
    }
    store.compact(TENANT, "DeviceProcessEvents").unwrap();
    for (i, dd) in dirs.iter().enumerate() {
        copy_dir(&backup.join(i.to_string()), dd);
    }
    assert_eq!(files(&store, "DeviceProcessEvents").len(), dirs.len());
    assert_eq!(fingerprint(&store).await, before);
    // The next compaction has nothing to merge; it deletes the leftovers.
    store.compact(TENANT, "DeviceProcessEvents").unwrap();
    assert_eq!(fingerprint(&store).await, before);
    for dd in &dirs {
        let data = parquet_on_disk(dd);
        assert_eq!(data, 1, "{}", dd.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncommitted_or_broken_compactions_are_handled() {
    let (_d, store) = seeded().await;
    let before = fingerprint(&store).await;
    let day = day_dirs(&store, "DeviceProcessEvents").remove(0);
    let victim = std::fs::read_dir(&day)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".parquet"))
        .unwrap();
    // A crash before the commit leaves a manifest with no data file: it hides nothing, and the
    // next compaction removes it.
    let orphan = day.join("part-00000000000000000001.replaces");
    std::fs::write(&orphan, format!("{victim}\n")).unwrap();
    assert_eq!(fingerprint(&store).await, before);
    store.compact(TENANT, "DeviceProcessEvents").unwrap();
    assert!(!orphan.exists());
    assert_eq!(fingerprint(&store).await, before);

    // A committed file whose manifest vanished: the listing refuses rather than guesses.
    let manifest = std::fs::read_dir(&day)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".replaces"))
        .unwrap();
    std::fs::remove_file(&manifest).unwrap();
    let err = store
        .files(TENANT, "DeviceProcessEvents", "0000-00-00")
        .unwrap_err();
    assert!(matches!(err, StoreError::Busy(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_compaction_per_table_at_a_time() {
    let (_d, store) = seeded().await;
    let table_dir = store
        .root()
        .join(format!("tenant={TENANT}"))
        .join("table=DeviceProcessEvents");
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(table_dir.join(".compact.lock"))
        .unwrap();
    held.lock().unwrap();
    let err = store.compact(TENANT, "DeviceProcessEvents").unwrap_err();
    assert!(matches!(err, StoreError::Busy(_)), "{err}");
    // Other tables are not blocked, and the lock is released with its file handle.
    store.compact(TENANT, "DeviceNetworkEvents").unwrap();
    drop(held);
    store.compact(TENANT, "DeviceProcessEvents").unwrap();
    assert!(store
        .compact("../escape", "DeviceProcessEvents")
        .is_err_and(|e| matches!(e, StoreError::InvalidTenant(_))));
}

/// A file written before a catalog change (fewer columns, in another order) is merged by
/// column name; the columns it lacks read as empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_matches_older_files_by_column_name() {
    use arrow::array::{RecordBatch, StringArray, TimestampNanosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    let (_d, store) = seeded().await;
    let day = day_dirs(&store, "DeviceProcessEvents").pop().unwrap();
    let day_name = day.file_name().unwrap().to_string_lossy().into_owned();
    let ts = chrono::NaiveDate::parse_from_str(day_name.trim_start_matches("day="), "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_nanos_opt()
        .unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("FileName", DataType::Utf8, true),
        Field::new(
            "Timestamp",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            true,
        ),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["old.exe", "old.exe"])),
            Arc::new(TimestampNanosecondArray::from(vec![ts, ts]).with_timezone("UTC")),
        ],
    )
    .unwrap();
    let file = std::fs::File::create(day.join("part-00000000000000000002-r2.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    let q = "DeviceProcessEvents | where FileName == 'old.exe' | summarize n = count(), d = countif(isempty(DeviceId))";
    let e = HuntingEngine::new(store.clone());
    let before = e.run(TENANT, q, now()).await.unwrap().rows;
    assert_eq!(before[0]["n"], 2, "{before:?}");
    store.compact(TENANT, "DeviceProcessEvents").unwrap();
    store.compact(TENANT, "DeviceProcessEvents").unwrap(); // deletes the replaced files
    assert_eq!(
        std::fs::read_dir(&day)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".parquet"))
            .count(),
        1
    );
    let after = e.run(TENANT, q, now()).await.unwrap().rows;
    assert_eq!(after, before);
    assert_eq!(after[0]["d"], 2, "the missing DeviceId reads as empty");
}
