//! The Parquet event store: `<root>/tenant=<tid>/table=<Table>/day=<yyyy-mm-dd>/part-*.parquet`.
//!
//! Column types follow [`arrow_type`]: `string`/`guid` → `Utf8`, `int` → `Int32`, `long` →
//! `Int64`, `real`/`decimal` → `Float64`, `bool` → `Boolean`, `datetime` →
//! `Timestamp(Nanosecond, "UTC")`, `timespan` → `Int64` nanoseconds, `dynamic` → `Utf8` JSON.
//! Tables without a `Timestamp` column (the TVM inventories) are stored under `day=static`.
//! Files are written to a temporary name and renamed, so readers never see partial files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::datatypes::{Field, Schema as ArrowSchema, SchemaRef, TimestampNanosecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::catalog::{Catalog, Schema};
use crate::exec::udf::arrow_type;

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
    /// Opens (creating if needed) a store at `root` for the Defender catalog.
    pub fn open(root: impl AsRef<Path>) -> Result<EventStore, StoreError> {
        Self::open_with_catalog(root, Catalog::defender())
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

    /// The Arrow schema of a catalog schema (see the module docs for the type mapping).
    pub fn arrow_schema_of(schema: &Schema) -> SchemaRef {
        Arc::new(ArrowSchema::new(
            schema
                .columns
                .iter()
                .map(|c| Field::new(&c.name, arrow_type(c.ty), true))
                .collect::<Vec<_>>(),
        ))
    }

    /// The Arrow schema of `table`.
    pub fn arrow_schema(&self, table: &str) -> Result<SchemaRef, StoreError> {
        let s = self
            .catalog
            .table(table)
            .ok_or_else(|| StoreError::UnknownTable(table.to_string()))?;
        Ok(Self::arrow_schema_of(s))
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

    /// Appends `batch` to `(tenant, table)`. Columns are matched by name: missing columns are
    /// written as nulls, unknown columns or wrong types are an error. Returns rows written.
    pub fn append(
        &self,
        tenant: &str,
        table: &str,
        batch: &RecordBatch,
    ) -> Result<u64, StoreError> {
        let dir = self.table_dir(tenant, table)?;
        let schema = self.arrow_schema(table)?;
        let mismatch = |message: String| StoreError::Schema {
            table: table.to_string(),
            message,
        };
        let full = conform(batch, &schema, table)?;
        let n = full.num_rows();
        if n == 0 {
            return Ok(0);
        }
        // Group rows by day.
        let mut days: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        match full.column_by_name("Timestamp") {
            Some(ts) => {
                let ts = ts.as_primitive::<TimestampNanosecondType>();
                for i in 0..n {
                    if ts.is_null(i) {
                        return Err(mismatch(format!("row {i}: Timestamp is null")));
                    }
                    let day = day_of(ts.value(i));
                    days.entry(day).or_default().push(i as u32);
                }
            }
            None => {
                days.insert("static".into(), (0..n as u32).collect());
            }
        }
        for (day, rows) in days {
            let idx = UInt32Array::from(rows);
            let cols: Vec<ArrayRef> = full
                .columns()
                .iter()
                .map(|c| arrow::compute::take(c.as_ref(), &idx, None))
                .collect::<Result<_, _>>()?;
            let part = RecordBatch::try_new(schema.clone(), cols)?;
            self.write_part(&dir.join(format!("day={day}")), &part)?;
        }
        Ok(n as u64)
    }

    /// Writes `part` as a new `part-<seq>-r<rows>.parquet` in `dir` (created if needed):
    /// under a temporary name first, then renamed, so readers never see a partial file.
    pub(crate) fn write_part(&self, dir: &Path, part: &RecordBatch) -> Result<(), StoreError> {
        std::fs::create_dir_all(dir)?;
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let name = format!("part-{seq:020}-r{}.parquet", part.num_rows());
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = std::fs::File::create(&tmp)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let mut w = ArrowWriter::try_new(file, part.schema(), Some(props))?;
        w.write(part)?;
        w.close()?;
        std::fs::rename(&tmp, dir.join(name))?;
        Ok(())
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
    /// written and synced first, and only then is the file renamed into place; that rename is
    /// the commit point. Listings hide every file a committed manifest names, so a reader never
    /// sees a row twice or misses one, even if the process dies before the replaced files are
    /// deleted. A query that listed the old files just before they were deleted fails with a
    /// file-not-found error rather than returning wrong rows. Appends that land during a
    /// compaction are not in its manifest and stay visible. One compaction per table at a time
    /// (an exclusive lock file); a second one gets [`StoreError::Busy`].
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
        for (_, d) in day_dirs(&dir)? {
            remove_orphan_manifests(&d)?;
            let parts = visible_parts(&d)?;
            report.files_before += parts.len() as u64;
            if parts.len() <= 1 {
                report.files_after += parts.len() as u64;
                report.rows += parts.iter().map(|(_, f)| f.rows).sum::<u64>();
                continue;
            }
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            let tmp = d.join(format!(".part-{seq:020}-m.parquet.tmp"));
            let rows = {
                let file = std::fs::File::create(&tmp)?;
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_size(COMPACT_ROW_GROUP)
                    .build();
                let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
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
            std::fs::rename(&mtmp, d.join(format!("part-{seq:020}.replaces")))?;
            let name = format!("part-{seq:020}-r{rows}-m.parquet");
            std::fs::rename(&tmp, d.join(&name))?; // the commit point
            std::fs::File::open(&d)?.sync_all()?;
            for (old, _) in &parts {
                remove_if_exists(&d.join(old))?;
                if let Some(p) = PartName::parse(old) {
                    if p.compacted {
                        remove_if_exists(&d.join(manifest_name(p.seq)))?;
                    }
                }
            }
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

/// A parsed data-file name: `part-<seq>-r<rows>.parquet`, or `part-<seq>-r<rows>-m.parquet`
/// for a compacted file whose manifest is `part-<seq>.replaces`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PartName {
    seq: u64,
    rows: u64,
    compacted: bool,
}

impl PartName {
    fn parse(name: &str) -> Option<PartName> {
        let stem = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
        let mut it = stem.split('-');
        let seq = it.next()?.parse().ok()?;
        let rows = it.next()?.strip_prefix('r')?.parse().ok()?;
        let compacted = match it.next() {
            None => false,
            Some("m") => true,
            Some(_) => return None,
        };
        if it.next().is_some() {
            return None;
        }
        Some(PartName {
            seq,
            rows,
            compacted,
        })
    }
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
    let mut parts: Vec<(PartName, String, PathBuf, u64)> = Vec::new();
    let entries = match std::fs::read_dir(day_dir) {
        Ok(e) => e,
        // The whole day was removed between listing the table and listing the day.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
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
    let mut hidden: std::collections::HashSet<String> = Default::default();
    let mut unread: Vec<String> = Vec::new();
    for (p, name, _, _) in parts.iter().filter(|(p, ..)| p.compacted) {
        match std::fs::read_to_string(day_dir.join(manifest_name(p.seq))) {
            Ok(text) => hidden.extend(text.lines().map(str::to_string)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => unread.push(name.clone()),
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(name) = unread.iter().find(|n| !hidden.contains(*n)) {
        return Err(StoreError::Busy(format!(
            "{}: manifest of {name} is missing (a compaction is in progress; retry)",
            day_dir.display()
        )));
    }
    let mut out: Vec<(String, StoredFile)> = parts
        .into_iter()
        .filter(|(_, name, ..)| !hidden.contains(name))
        .map(|(p, name, path, bytes)| {
            (
                name,
                StoredFile {
                    path,
                    bytes,
                    rows: p.rows,
                },
            )
        })
        .collect();
    out.sort_by(|a, b| a.1.path.cmp(&b.1.path));
    Ok(out)
}

/// Removes manifests whose compacted file never got committed (a crash mid-compaction).
fn remove_orphan_manifests(day_dir: &Path) -> Result<(), StoreError> {
    let names: Vec<String> = std::fs::read_dir(day_dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    for name in &names {
        let Some(seq) = name
            .strip_prefix("part-")
            .and_then(|s| s.strip_suffix(".replaces"))
        else {
            continue;
        };
        let data_prefix = format!("part-{seq}-");
        if !names.iter().any(|n| n.starts_with(&data_prefix)) {
            remove_if_exists(&day_dir.join(name))?;
        }
    }
    Ok(())
}

/// `yyyy-mm-dd` of a timestamp in nanoseconds (UTC).
pub fn day_of(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => "0000-00-00".into(),
    }
}
