//! The Parquet event store: `<root>/tenant=<tid>/table=<Table>/day=<yyyy-mm-dd>/part-*.parquet`.
//!
//! Column types follow [`arrow_type`]: `string`/`guid` → `Utf8`, `int` → `Int32`, `long` →
//! `Int64`, `real`/`decimal` → `Float64`, `bool` → `Boolean`, `datetime` →
//! `Timestamp(Nanosecond, "UTC")`, `timespan` → `Int64` nanoseconds, `dynamic` → `Utf8` JSON.
//! A table's day is its time column's ([`Schema::time_column`]: `Timestamp`, or `TimeGenerated`
//! for the Sentinel tables); tables without one (the TVM inventories, the exposure graph) are
//! stored under `day=static`. Every file ends with the hidden [`INGESTION_TIME`] column.
//! Files are written to a temporary name and renamed, so readers never see partial files.
//!
//! (About 900 lines: the layout, the day split, the part writer and the manifest-committed
//! compaction share their file-name and listing rules, so they stay in one module.)

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::datatypes::{SchemaRef, TimestampNanosecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use palisade_kql::value::{day_of, NANOS_PER_DAY};
use palisade_kql::{Catalog, Schema};

use crate::ingestion::{now_ns, seeded_ingestion, with_ingestion_time};
use crate::schema::INGESTION_TIME;

/// Event-store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The tenant id contains characters other than ASCII letters, digits, `-` and `_`.
    #[error("invalid tenant id '{0}'")]
    InvalidTenant(String),
    /// The table is not in the catalog.
    #[error("unknown table '{0}'")]
    UnknownTable(String),
    /// The batch does not fit the table's schema.
    #[error("schema mismatch for table '{table}': {message}")]
    Schema {
        /// Table name.
        table: String,
        /// What does not fit.
        message: String,
    },
    /// Filesystem error.
    #[error("event store I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Arrow error.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Parquet error.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Another compaction holds the table, or a listing raced one.
    #[error("event store busy: {0}")]
    Busy(String),
}

/// One stored Parquet file.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// Row count (recorded in the file name at write time).
    pub rows: u64,
    /// Whether its rows are in `Timestamp` order (recorded in the file name and in the
    /// Parquet footer's sorting columns).
    pub sorted: bool,
}

/// A directory of per-tenant, per-table, per-day Parquet files.
#[derive(Debug)]
pub struct EventStore {
    root: PathBuf,
    catalog: Catalog,
    seq: AtomicU64,
}

/// True when `tenant` is a safe directory name (no path traversal).
pub fn valid_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 128
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl EventStore {
    /// Opens (creating if needed) a store at `root` for every table of the catalog
    /// ([`Catalog::stored`]: the XDR and the Sentinel tables).
    pub fn open(root: impl AsRef<Path>) -> Result<EventStore, StoreError> {
        Self::open_with_catalog(root, Catalog::stored())
    }

    /// Opens a store with a custom catalog.
    pub fn open_with_catalog(
        root: impl AsRef<Path>,
        catalog: Catalog,
    ) -> Result<EventStore, StoreError> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root)?;
        let root = root.canonicalize()?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Ok(EventStore {
            root,
            catalog,
            seq: AtomicU64::new(seed),
        })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The catalog the store validates against.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The catalog schema of `table`.
    fn schema(&self, table: &str) -> Result<&Schema, StoreError> {
        self.catalog
            .table(table)
            .ok_or_else(|| StoreError::UnknownTable(table.to_string()))
    }

    /// The Arrow schema of `table`'s files: its catalog columns, then [`INGESTION_TIME`].
    pub fn arrow_schema(&self, table: &str) -> Result<SchemaRef, StoreError> {
        Ok(crate::schema::stored_arrow_schema(self.schema(table)?))
    }

    fn table_dir(&self, tenant: &str, table: &str) -> Result<PathBuf, StoreError> {
        if !valid_tenant(tenant) {
            return Err(StoreError::InvalidTenant(tenant.to_string()));
        }
        if self.catalog.table(table).is_none() {
            return Err(StoreError::UnknownTable(table.to_string()));
        }
        Ok(self
            .root
            .join(format!("tenant={tenant}"))
            .join(format!("table={table}")))
    }

    /// Appends `batch` to `(tenant, table)`, ingested now. Columns are matched by name: missing
    /// columns are written as nulls, unknown columns or wrong types are an error. Returns rows
    /// written.
    pub fn append(
        &self,
        tenant: &str,
        table: &str,
        batch: &RecordBatch,
    ) -> Result<u64, StoreError> {
        self.append_at(tenant, table, batch, now_ns())
    }

    /// [`EventStore::append`] with the rows' ingestion time `ingested_ns` (ns since the epoch).
    pub fn append_at(
        &self,
        tenant: &str,
        table: &str,
        batch: &RecordBatch,
        ingested_ns: i64,
    ) -> Result<u64, StoreError> {
        let dir = self.table_dir(tenant, table)?;
        let n = batch.num_rows();
        for (day, part) in self.split_by_day(table, batch, ingested_ns)? {
            self.write_part(&dir.join(format!("day={day}")), &part)?;
        }
        Ok(n as u64)
    }

    /// `batch` conformed to `table`'s stored schema (see [`EventStore::append`]), its rows
    /// ingested at `ingested_ns` ([`INGESTION_TIME`]), split into its day partitions (the
    /// day of the table's time column, `Timestamp` or `TimeGenerated`; `static` for a table
    /// without one), in day order; a batch of one day is not copied. A null time is an
    /// error, and so is a batch that brings its own [`INGESTION_TIME`].
    pub(crate) fn split_by_day(
        &self,
        table: &str,
        batch: &RecordBatch,
        ingested_ns: i64,
    ) -> Result<Vec<(String, RecordBatch)>, StoreError> {
        let schema = self.arrow_schema(table)?;
        let time_column = self.schema(table)?.time_column();
        if batch.column_by_name(INGESTION_TIME).is_some() {
            return Err(StoreError::Schema {
                table: table.to_string(),
                message: format!("unknown column '{INGESTION_TIME}'"),
            });
        }
        let full = conform(batch, &schema, table)?;
        let n = full.num_rows();
        if n == 0 {
            return Ok(Vec::new());
        }
        let full = with_ingestion_time(&full, |_| Some(ingested_ns))?;
        let Some((name, ts)) = time_column.and_then(|c| full.column_by_name(c).map(|a| (c, a)))
        else {
            return Ok(vec![("static".into(), full)]);
        };
        let ts = ts.as_primitive::<TimestampNanosecondType>();
        if let Some(i) = (0..n).find(|&i| ts.is_null(i)) {
            return Err(StoreError::Schema {
                table: table.to_string(),
                message: format!("row {i}: {name} is null"),
            });
        }
        // Days are whole multiples of a day since the epoch: compare day numbers, format once.
        let day_number = |i: usize| ts.value(i).div_euclid(NANOS_PER_DAY);
        let first = day_number(0);
        if (1..n).all(|i| day_number(i) == first) {
            return Ok(vec![(day_of(ts.value(0)), full)]);
        }
        let mut days: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        for i in 0..n {
            days.entry(day_number(i)).or_default().push(i as u32);
        }
        days.into_values()
            .map(|rows| {
                let day = day_of(ts.value(rows[0] as usize));
                let idx = UInt32Array::from(rows);
                let cols: Vec<ArrayRef> = full
                    .columns()
                    .iter()
                    .map(|c| arrow::compute::take(c.as_ref(), &idx, None))
                    .collect::<Result<_, _>>()?;
                Ok((day, RecordBatch::try_new(schema.clone(), cols)?))
            })
            .collect()
    }

    /// Writes `part` as a new `part-<seq>-r<rows>.parquet` in `dir` (created if needed):
    /// under a temporary name first, then renamed, so readers never see a partial file.
    pub(crate) fn write_part(&self, dir: &Path, part: &RecordBatch) -> Result<(), StoreError> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut w = PartWriter::create(dir, seq, part.schema(), false, None)?;
        w.write(part)?;
        w.commit()?;
        Ok(())
    }

    /// A new data file of `(tenant, table)` in day partition `day` (`yyyy-mm-dd`) for seeding.
    /// The caller writes the rows in time order (the table's time column): the file is named
    /// and marked as sorted. Batches have the catalog's columns; each row's ingestion time is
    /// its event time plus a delivery delay of 15 s to 5 min drawn from that time (the
    /// writing time for undated tables): seeded data arrived on time.
    pub fn part_writer(
        &self,
        tenant: &str,
        table: &str,
        day: &str,
    ) -> Result<PartWriter, StoreError> {
        self.writer(tenant, table, day, true, None)
    }

    /// A new data file of `(tenant, table)` in day partition `day`, rows in any order (the
    /// writer of a JSON-lines ingest: one file per day instead of one per chunk).
    pub(crate) fn unsorted_part_writer(
        &self,
        tenant: &str,
        table: &str,
        day: &str,
    ) -> Result<PartWriter, StoreError> {
        self.writer(tenant, table, day, false, Some(COMPACT_ROW_GROUP))
    }

    /// The one way a data file of `(tenant, table)` in day partition `day` is started:
    /// `sorted` marks (and names) it as in `Timestamp` order; `rows` is its row-group size.
    fn writer(
        &self,
        tenant: &str,
        table: &str,
        day: &str,
        sorted: bool,
        rows: Option<usize>,
    ) -> Result<PartWriter, StoreError> {
        let dir = self.table_dir(tenant, table)?.join(format!("day={day}"));
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut w = PartWriter::create(&dir, seq, self.arrow_schema(table)?, sorted, rows)?;
        w.time_column = self.schema(table)?.time_column();
        Ok(w)
    }

    /// The files of `(tenant, table)` whose day partition is on or after `since_day`
    /// (`yyyy-mm-dd`; static tables are always included). Only the tenant's own directory is
    /// listed. Files replaced by a committed compaction are left out (see [`EventStore::compact`]).
    pub fn files(
        &self,
        tenant: &str,
        table: &str,
        since_day: &str,
    ) -> Result<Vec<StoredFile>, StoreError> {
        let dir = self.table_dir(tenant, table)?;
        let mut out = Vec::new();
        for (day, d) in day_dirs(&dir)? {
            if day == "static" || day.as_str() >= since_day {
                out.extend(visible_parts(&d)?.into_iter().map(|(_, f)| f));
            }
        }
        Ok(out)
    }

    /// Rewrites each day partition of `(tenant, table)` that holds more than one file into a
    /// single file (row groups of [`COMPACT_ROW_GROUP`] rows), so scans open a few large files
    /// instead of many small ones. Streaming: memory is bounded by one row group, not by the
    /// partition's size.
    ///
    /// Crash- and reader-safe: the new file `part-<seq>-r<rows>-m.parquet` is written under a
    /// temporary name, its manifest `part-<seq>.replaces` (the exact names it replaces) is
    /// written and made durable first, and only then is the file renamed into place; that
    /// rename is the commit point. Listings hide every file a committed manifest names.
    ///
    /// The replaced files are not deleted by the compaction that replaced them but by the next
    /// one of the table (its first step), so a listing that runs during a commit sees either
    /// the new file or every old one, never a mix (a directory listing is not a snapshot).
    /// Deletion goes depth first: a compacted file only after every file its manifest names,
    /// its manifest only after the file, so a crash at any point leaves every remaining
    /// replaced file hidden. A query whose listing predates a whole compaction may fail with
    /// a file-not-found error, never with wrong rows. Appends that land during a compaction
    /// are not in its manifest and stay visible. One compaction per table at a time (an
    /// exclusive lock file); a second one gets [`StoreError::Busy`].
    pub fn compact(&self, tenant: &str, table: &str) -> Result<CompactReport, StoreError> {
        let dir = self.table_dir(tenant, table)?;
        let mut report = CompactReport::default();
        if !dir.exists() {
            return Ok(report);
        }
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".compact.lock"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Busy(format!("{tenant}/{table}")))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        let schema = self.arrow_schema(table)?;
        let time_column = self.schema(table)?.time_column();
        for (_, d) in day_dirs(&dir)? {
            remove_uncommitted(&d)?;
            let listing = list_day(&d)?;
            listing.delete_replaced(&d)?;
            let parts = listing.visible;
            report.files_before += parts.len() as u64;
            if parts.len() <= 1 {
                report.files_after += parts.len() as u64;
                report.rows += parts.iter().map(|(_, f)| f.rows).sum::<u64>();
                continue;
            }
            // Sorted parts whose time ranges do not overlap stay sorted when they are
            // concatenated in time order (a seed's day files, appended a day apart); any
            // other mix makes an unsorted file.
            let time_index = time_column.and_then(|c| schema.index_of(c).ok());
            let (parts, sorted) = in_time_order(parts, time_index);
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            let tmp = d.join(format!(".part-{seq:020}-m.parquet.tmp"));
            let sort_column = sorted.then_some(time_index).flatten();
            let rows = {
                let mut w =
                    parquet_writer(&tmp, schema.clone(), Some(COMPACT_ROW_GROUP), sort_column)?;
                let mut rows = 0u64;
                for (_, f) in &parts {
                    let reader =
                        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&f.path)?)?
                            .with_batch_size(8192)
                            .build()?;
                    for batch in reader {
                        let batch = batch?;
                        rows += batch.num_rows() as u64;
                        // Files written before a catalog change are matched by column name
                        // (columns they lack become nulls).
                        let batch = conform(&batch, &schema, table)?;
                        w.write(&batch)?;
                    }
                }
                w.close()?;
                rows
            };
            std::fs::File::open(&tmp)?.sync_all()?;
            let manifest: String = parts.iter().map(|(name, _)| format!("{name}\n")).collect();
            let mtmp = d.join(format!(".part-{seq:020}.replaces.tmp"));
            {
                use std::io::Write;
                let mut m = std::fs::File::create(&mtmp)?;
                m.write_all(manifest.as_bytes())?;
                m.sync_all()?;
            }
            std::fs::rename(&mtmp, d.join(manifest_name(seq)))?;
            // The manifest's rename must be durable before the commit's: a data file without
            // its manifest would make every listing of the day refuse (Busy).
            std::fs::File::open(&d)?.sync_all()?;
            let name = PartName {
                seq,
                rows,
                compacted: true,
                sorted: sort_column.is_some(),
            }
            .file_name();
            std::fs::rename(&tmp, d.join(&name))?; // the commit point
            std::fs::File::open(&d)?.sync_all()?;
            report.days_compacted += 1;
            report.files_after += 1;
            report.rows += rows;
        }
        Ok(report)
    }

    /// [`EventStore::compact`] for every table the tenant has data in.
    pub fn compact_tenant(&self, tenant: &str) -> Result<CompactReport, StoreError> {
        if !valid_tenant(tenant) {
            return Err(StoreError::InvalidTenant(tenant.to_string()));
        }
        let mut total = CompactReport::default();
        let names: Vec<String> = self.catalog.table_names().map(str::to_string).collect();
        for table in names {
            let r = self.compact(tenant, &table)?;
            total.days_compacted += r.days_compacted;
            total.files_before += r.files_before;
            total.files_after += r.files_after;
            total.rows += r.rows;
        }
        Ok(total)
    }
}

/// `batch` with the columns of `schema`, matched by name: missing columns become nulls; an
/// unknown column or a wrong type is a [`StoreError::Schema`] naming `table`.
pub(crate) fn conform(
    batch: &RecordBatch,
    schema: &SchemaRef,
    table: &str,
) -> Result<RecordBatch, StoreError> {
    let mismatch = |message: String| StoreError::Schema {
        table: table.to_string(),
        message,
    };
    for f in batch.schema().fields() {
        match schema.field_with_name(f.name()) {
            Ok(target) if target.data_type() == f.data_type() => {}
            Ok(target) => {
                return Err(mismatch(format!(
                    "column '{}' has type {}, expected {}",
                    f.name(),
                    f.data_type(),
                    target.data_type()
                )))
            }
            Err(_) => return Err(mismatch(format!("unknown column '{}'", f.name()))),
        }
    }
    let n = batch.num_rows();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(c) => c.clone(),
            None => arrow::array::new_null_array(f.data_type(), n),
        })
        .collect();
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Row-group size of compacted files.
pub const COMPACT_ROW_GROUP: usize = 128 * 1024;

/// What a compaction did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Day partitions rewritten.
    pub days_compacted: u64,
    /// Visible files before.
    pub files_before: u64,
    /// Visible files after.
    pub files_after: u64,
    /// Rows in the visible files (unchanged by compaction).
    pub rows: u64,
}

/// `parts` reordered by time when they are all sorted and their `Timestamp` ranges (from the
/// footers' statistics) follow one another without overlap; then `true`. Otherwise `parts`
/// as they were and `false`.
fn in_time_order(
    parts: Vec<(String, StoredFile)>,
    ts_column: Option<usize>,
) -> (Vec<(String, StoredFile)>, bool) {
    let Some(ts) = ts_column else {
        return (parts, false);
    };
    if !parts.iter().all(|(_, f)| f.sorted) {
        return (parts, false);
    }
    let mut ranged = Vec::with_capacity(parts.len());
    for (name, f) in parts.iter() {
        match time_range(&f.path, ts) {
            Some(r) => ranged.push((r, name.clone(), f.clone())),
            None => return (parts, false),
        }
    }
    ranged.sort_by_key(|(r, ..)| *r);
    if ranged.windows(2).any(|w| w[0].0 .1 > w[1].0 .0) {
        return (parts, false);
    }
    (ranged.into_iter().map(|(_, n, f)| (n, f)).collect(), true)
}

/// The smallest and largest value of leaf column `column` (an `INT64` timestamp) in the
/// Parquet file at `path`, from its row groups' statistics.
fn time_range(path: &Path, column: usize) -> Option<(i64, i64)> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::file::statistics::Statistics;
    let reader = SerializedFileReader::new(std::fs::File::open(path).ok()?).ok()?;
    let mut range: Option<(i64, i64)> = None;
    for g in reader.metadata().row_groups() {
        let Some(Statistics::Int64(st)) = g.columns().get(column)?.statistics() else {
            return None;
        };
        let (lo, hi) = (*st.min_opt()?, *st.max_opt()?);
        range = Some(match range {
            None => (lo, hi),
            Some((a, b)) => (a.min(lo), b.max(hi)),
        });
    }
    range
}

/// A parsed data-file name: `part-<seq>-r<rows>[-<flags>].parquet`. Flags: `m`, a compacted
/// file whose manifest is `part-<seq>.replaces`; `s`, rows sorted by `Timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PartName {
    seq: u64,
    rows: u64,
    compacted: bool,
    sorted: bool,
}

impl PartName {
    fn parse(name: &str) -> Option<PartName> {
        let stem = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
        let mut it = stem.split('-');
        let seq = it.next()?.parse().ok()?;
        let rows = it.next()?.strip_prefix('r')?.parse().ok()?;
        let flags = it.next().unwrap_or("");
        if it.next().is_some() || !flags.chars().all(|c| c == 'm' || c == 's') {
            return None;
        }
        Some(PartName {
            seq,
            rows,
            compacted: flags.contains('m'),
            sorted: flags.contains('s'),
        })
    }

    fn file_name(&self) -> String {
        let flags = match (self.compacted, self.sorted) {
            (false, false) => "",
            (true, false) => "-m",
            (false, true) => "-s",
            (true, true) => "-ms",
        };
        format!("part-{:020}-r{}{flags}.parquet", self.seq, self.rows)
    }
}

/// A new data file being written: batches go to a temporary name in the day's directory,
/// [`PartWriter::commit`] renames it into place (readers never see a partial file).
pub struct PartWriter {
    dir: PathBuf,
    tmp: PathBuf,
    writer: ArrowWriter<std::fs::File>,
    seq: u64,
    rows: u64,
    sorted: bool,
    /// The table's time column, from which seeded rows' ingestion times are drawn.
    time_column: Option<&'static str>,
    /// Whether the file has the [`INGESTION_TIME`] column (tables do, reference data not).
    hidden: bool,
}

impl std::fmt::Debug for PartWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PartWriter({})", self.tmp.display())
    }
}

impl PartWriter {
    fn create(
        dir: &Path,
        seq: u64,
        schema: SchemaRef,
        sorted: bool,
        row_group: Option<usize>,
    ) -> Result<PartWriter, StoreError> {
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".part-{seq:020}.parquet.tmp"));
        let sort_column = sorted
            .then(|| {
                ["Timestamp", "TimeGenerated"]
                    .iter()
                    .find_map(|c| schema.index_of(c).ok())
            })
            .flatten();
        let hidden = schema.field_with_name(INGESTION_TIME).is_ok();
        let writer = parquet_writer(&tmp, schema, row_group, sort_column)?;
        Ok(PartWriter {
            hidden,
            dir: dir.to_path_buf(),
            tmp,
            writer,
            seq,
            rows: 0,
            sorted: sort_column.is_some(),
            time_column: None,
        })
    }

    /// Appends `batch`: the table's stored columns, or its catalog columns, in which case each
    /// row's ingestion time is drawn as [`EventStore::part_writer`] says.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        if self.hidden && batch.column_by_name(INGESTION_TIME).is_none() {
            let times = self
                .time_column
                .and_then(|c| batch.column_by_name(c))
                .map(|a| a.as_primitive::<TimestampNanosecondType>().clone());
            let now = now_ns();
            let batch = with_ingestion_time(batch, |i| match &times {
                Some(t) if t.is_valid(i) => Some(seeded_ingestion(t.value(i))),
                _ => Some(now),
            })?;
            self.writer.write(&batch)?;
            self.rows += batch.num_rows() as u64;
            return Ok(());
        }
        self.writer.write(batch)?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Finishes the file and renames it into place; returns its rows (an empty file is
    /// removed instead).
    pub fn commit(self) -> Result<u64, StoreError> {
        self.writer.close()?;
        if self.rows == 0 {
            remove_if_exists(&self.tmp)?;
            return Ok(0);
        }
        let name = PartName {
            seq: self.seq,
            rows: self.rows,
            compacted: false,
            sorted: self.sorted,
        };
        std::fs::rename(&self.tmp, self.dir.join(name.file_name()))?;
        Ok(self.rows)
    }
}

/// Columns hunting queries search for equality (an IOC sweep: `where SHA256 == "…"`,
/// `where DeviceId in (…)`): each file keeps a bloom filter of them (1 % false positives,
/// folded to the row group's distinct values), so a file or row group that cannot hold the
/// value is skipped without reading its data.
pub const BLOOM_FILTER_COLUMNS: &[&str] = &[
    "DeviceId",
    "SHA1",
    "SHA256",
    "MD5",
    "InitiatingProcessSHA1",
    "InitiatingProcessSHA256",
    "InitiatingProcessMD5",
    "RemoteIP",
    "AccountSid",
    "AccountObjectId",
    "NetworkMessageId",
    "AlertId",
];

/// A Snappy-compressed Parquet writer to a new file at `path` (row groups of `row_group` rows,
/// or the writer's default), with bloom filters on the schema's [`BLOOM_FILTER_COLUMNS`] and,
/// when `sorted_by` names a column, that sort order declared in the footer.
fn parquet_writer(
    path: &Path,
    schema: SchemaRef,
    row_group: Option<usize>,
    sorted_by: Option<usize>,
) -> Result<ArrowWriter<std::fs::File>, StoreError> {
    let mut props = WriterProperties::builder().set_compression(Compression::SNAPPY);
    if let Some(n) = row_group {
        props = props.set_max_row_group_row_count(Some(n));
    }
    if let Some(column) = sorted_by {
        props = props.set_sorting_columns(Some(vec![parquet::file::metadata::SortingColumn {
            column_idx: column as i32,
            descending: false,
            nulls_first: false,
        }]));
    }
    for name in BLOOM_FILTER_COLUMNS {
        if schema.field_with_name(name).is_ok() {
            let column = parquet::schema::types::ColumnPath::from(*name);
            props = props
                .set_column_bloom_filter_enabled(column.clone(), true)
                .set_column_bloom_filter_fpp(column.clone(), 0.01);
            if let Some(n) = row_group {
                // Sized for a full row group (then folded to the values met), not for the
                // writer's default of a million.
                props = props.set_column_bloom_filter_max_ndv(column, n as u64);
            }
        }
    }
    let file = std::fs::File::create(path)?;
    Ok(ArrowWriter::try_new(file, schema, Some(props.build()))?)
}

fn manifest_name(seq: u64) -> String {
    format!("part-{seq:020}.replaces")
}

fn remove_if_exists(p: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The `day=` directories of a table directory, sorted by day.
fn day_dirs(table_dir: &Path) -> Result<Vec<(String, PathBuf)>, StoreError> {
    let entries = match std::fs::read_dir(table_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(day) = name.strip_prefix("day=") {
            out.push((day.to_string(), e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The data files of one day directory that no committed compaction replaced, in write order,
/// with their names.
pub(crate) fn visible_parts(day_dir: &Path) -> Result<Vec<(String, StoredFile)>, StoreError> {
    Ok(list_day(day_dir)?.visible)
}

/// One listing of a day directory.
struct DayListing {
    /// The files no committed compaction replaced, in write order, with their names.
    visible: Vec<(String, StoredFile)>,
    /// The names each committed compacted file present replaces (its manifest).
    manifests: HashMap<String, Vec<String>>,
    /// Present files that a committed compaction replaced.
    replaced: Vec<String>,
}

impl DayListing {
    /// Deletes the replaced files, depth first: a compacted file only after every file its
    /// manifest names, and its manifest only after it. Call with the table's compaction lock.
    fn delete_replaced(&self, day_dir: &Path) -> Result<(), StoreError> {
        let mut done = HashSet::new();
        for name in &self.replaced {
            self.delete(day_dir, name, &mut done)?;
        }
        Ok(())
    }

    fn delete(
        &self,
        day_dir: &Path,
        name: &str,
        done: &mut HashSet<String>,
    ) -> Result<(), StoreError> {
        if !done.insert(name.to_string()) {
            return Ok(());
        }
        for inner in self.manifests.get(name).into_iter().flatten() {
            self.delete(day_dir, inner, done)?;
        }
        remove_if_exists(&day_dir.join(name))?;
        if let Some(p) = PartName::parse(name).filter(|p| p.compacted) {
            remove_if_exists(&day_dir.join(manifest_name(p.seq)))?;
        }
        Ok(())
    }
}

/// Lists one day directory: what is visible and what committed compactions replaced.
fn list_day(day_dir: &Path) -> Result<DayListing, StoreError> {
    let mut parts: Vec<(PartName, String, PathBuf, u64)> = Vec::new();
    let entries = match std::fs::read_dir(day_dir) {
        Ok(e) => e,
        // The whole day was removed between listing the table and listing the day.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(DayListing {
                visible: Vec::new(),
                manifests: HashMap::new(),
                replaced: Vec::new(),
            })
        }
        Err(e) => return Err(e.into()),
    };
    for e in entries {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(p) = PartName::parse(&name) {
            let bytes = match e.metadata() {
                Ok(m) => m.len(),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err.into()),
            };
            parts.push((p, name, e.path(), bytes));
        }
    }
    // Names hidden by committed compactions. A compacted file whose manifest is gone was
    // itself replaced (its manifest is deleted only after it), so some other manifest must
    // hide it; if none does, the listing raced a compaction and is refused rather than guessed.
    let mut manifests: HashMap<String, Vec<String>> = HashMap::new();
    let mut unread: Vec<String> = Vec::new();
    for (p, name, _, _) in parts.iter().filter(|(p, ..)| p.compacted) {
        match std::fs::read_to_string(day_dir.join(manifest_name(p.seq))) {
            Ok(text) => {
                manifests.insert(name.clone(), text.lines().map(str::to_string).collect());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => unread.push(name.clone()),
            Err(e) => return Err(e.into()),
        }
    }
    let hidden: HashSet<&String> = manifests.values().flatten().collect();
    if let Some(name) = unread.iter().find(|n| !hidden.contains(*n)) {
        return Err(StoreError::Busy(format!(
            "{}: manifest of {name} is missing (a compaction is in progress; retry)",
            day_dir.display()
        )));
    }
    let (replaced, visible): (Vec<_>, Vec<_>) = parts
        .into_iter()
        .partition(|(_, name, ..)| hidden.contains(name));
    let replaced = replaced.into_iter().map(|(_, name, ..)| name).collect();
    let mut visible: Vec<(String, StoredFile)> = visible
        .into_iter()
        .map(|(p, name, path, bytes)| {
            (
                name,
                StoredFile {
                    path,
                    bytes,
                    rows: p.rows,
                    sorted: p.sorted,
                },
            )
        })
        .collect();
    visible.sort_by(|a, b| a.1.path.cmp(&b.1.path));
    drop(hidden);
    Ok(DayListing {
        visible,
        manifests,
        replaced,
    })
}

/// Removes what a compaction that never committed left (a crash mid-compaction): its
/// temporary files and a manifest whose compacted file does not exist. A manifest is only
/// deleted after its file (see [`DayListing::delete_replaced`]), so such a manifest names
/// files that are still visible. Call with the table's compaction lock: only compactions write
/// these names (an append's own temporary file is left alone).
fn remove_uncommitted(day_dir: &Path) -> Result<(), StoreError> {
    let names: Vec<String> = std::fs::read_dir(day_dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    for name in &names {
        let compaction_tmp = name.starts_with(".part-")
            && (name.ends_with("-m.parquet.tmp") || name.ends_with(".replaces.tmp"));
        let orphan = name
            .strip_prefix("part-")
            .and_then(|s| s.strip_suffix(".replaces"))
            .is_some_and(|seq| {
                let data_prefix = format!("part-{seq}-");
                !names.iter().any(|n| n.starts_with(&data_prefix))
            });
        if compaction_tmp || orphan {
            remove_if_exists(&day_dir.join(name))?;
        }
    }
    Ok(())
}
