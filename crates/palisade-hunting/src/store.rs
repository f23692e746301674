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
        if n == 0 {
            return Ok(0);
        }
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| match batch.column_by_name(f.name()) {
                Some(c) => c.clone(),
                None => arrow::array::new_null_array(f.data_type(), n),
            })
            .collect();
        let full = RecordBatch::try_new(schema.clone(), columns)?;
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
            let ddir = dir.join(format!("day={day}"));
            std::fs::create_dir_all(&ddir)?;
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            let name = format!("part-{seq:020}-r{}.parquet", part.num_rows());
            let tmp = ddir.join(format!(".{name}.tmp"));
            let file = std::fs::File::create(&tmp)?;
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build();
            let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
            w.write(&part)?;
            w.close()?;
            std::fs::rename(&tmp, ddir.join(name))?;
        }
        Ok(n as u64)
    }

    /// The files of `(tenant, table)` whose day partition is on or after `since_day`
    /// (`yyyy-mm-dd`; static tables are always included). Only the tenant's own directory is
    /// listed.
    pub fn files(
        &self,
        tenant: &str,
        table: &str,
        since_day: &str,
    ) -> Result<Vec<StoredFile>, StoreError> {
        let dir = self.table_dir(tenant, table)?;
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        let mut day_dirs: Vec<(String, PathBuf)> = Vec::new();
        for e in entries {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(day) = name.strip_prefix("day=") {
                if day == "static" || day >= since_day {
                    day_dirs.push((day.to_string(), e.path()));
                }
            }
        }
        day_dirs.sort();
        for (_, d) in day_dirs {
            let mut files: Vec<StoredFile> = Vec::new();
            for f in std::fs::read_dir(&d)? {
                let f = f?;
                let name = f.file_name().to_string_lossy().into_owned();
                if name.starts_with("part-") && name.ends_with(".parquet") {
                    let rows = name
                        .rsplit_once("-r")
                        .and_then(|(_, r)| r.strip_suffix(".parquet"))
                        .and_then(|r| r.parse().ok())
                        .unwrap_or(0);
                    files.push(StoredFile {
                        path: f.path(),
                        bytes: f.metadata()?.len(),
                        rows,
                    });
                }
            }
            files.sort_by(|a, b| a.path.cmp(&b.path));
            out.extend(files);
        }
        Ok(out)
    }
}

/// `yyyy-mm-dd` of a timestamp in nanoseconds (UTC).
pub fn day_of(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => "0000-00-00".into(),
    }
}
