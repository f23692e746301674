//! Reference datasets: global data that is no tenant's, read by enrichment functions.
//!
//! Microsoft's `FileProfile()` enriches rows with *global* file intelligence (prevalence,
//! signer, detections), not with the tenant's own events. Palisade keeps such data in a
//! reference area of the [`EventStore`]:
//!
//! ```text
//! <root>/reference/<Name>/part-*.parquet      e.g. <root>/reference/FileProfile/part-…-r46.parquet
//! ```
//!
//! It lives beside, never inside, the `tenant=<tid>` directories: tenant scans still list only
//! the caller's `tenant=` folder, and no tenant's events are ever written here. Every tenant's
//! queries read the same reference data, as every Defender tenant sees the same global file
//! profiles.
//!
//! `FileProfile` rows are keyed by `SHA1`: [`append_reference`] skips a profile whose SHA1 (or
//! non-empty SHA256) is already stored, compared case-insensitively, so re-seeding or
//! re-ingesting never duplicates profiles (the first stored profile of a file wins). Writers are
//! serialised by a lock file, across threads and processes; files are written to a temporary
//! name and renamed, so readers never see partial files.

use std::collections::HashSet;
use std::path::PathBuf;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use palisade_kql::catalog::reference_schema;

use crate::store::{EventStore, StoreError, StoredFile};

/// Outcome of [`append_reference`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReferenceReport {
    /// Profiles written.
    pub written: u64,
    /// Batch row indexes skipped because their key was already stored (or repeated earlier in
    /// the batch).
    pub skipped: Vec<usize>,
}

/// The directory of reference dataset `name`: `<root>/reference/<name>`.
pub fn reference_dir(store: &EventStore, name: &str) -> Result<PathBuf, StoreError> {
    if reference_schema(name).is_none() {
        return Err(StoreError::UnknownTable(name.to_string()));
    }
    Ok(store.root().join("reference").join(name))
}

/// The Parquet files of reference dataset `name`, sorted by path.
pub fn reference_files(store: &EventStore, name: &str) -> Result<Vec<StoredFile>, StoreError> {
    let dir = reference_dir(store, name)?;
    Ok(crate::store::visible_parts(&dir)?
        .into_iter()
        .map(|(_, f)| f)
        .collect())
}

/// Appends `batch` to reference dataset `name`. Columns are matched by name (missing ones are
/// written as nulls; unknown columns or wrong types are an error); every row needs a non-empty
/// `SHA1`. Rows whose SHA1 or non-empty SHA256 is already stored, or repeated earlier in the
/// batch, are skipped.
pub fn append_reference(
    store: &EventStore,
    name: &str,
    batch: &RecordBatch,
) -> Result<ReferenceReport, StoreError> {
    let dir = reference_dir(store, name)?;
    let schema = reference_schema(name).ok_or_else(|| StoreError::UnknownTable(name.into()))?;
    let arrow_schema = crate::schema::arrow_schema(&schema);
    let mismatch = |message: String| StoreError::Schema {
        table: name.to_string(),
        message,
    };
    let full = crate::store::conform(batch, &arrow_schema, name)?;
    let n = full.num_rows();
    let text = |col: &str| -> Result<arrow::array::StringArray, StoreError> {
        full.column_by_name(col)
            .map(|c| c.as_string::<i32>().clone())
            .ok_or_else(|| mismatch(format!("missing column '{col}'")))
    };
    let (sha1, sha256) = (text("SHA1")?, text("SHA256")?);
    for i in 0..n {
        if sha1.is_null(i) || sha1.value(i).is_empty() {
            return Err(mismatch(format!("row {i}: SHA1 is empty")));
        }
    }

    // Writers are serialised (the duplicate check reads, then writes) by an exclusive lock on
    // a file in the dataset's folder: it covers threads of this process and other processes
    // (`palisade ingest --reference` next to a running server) alike, and is released when
    // the handle drops.
    std::fs::create_dir_all(&dir)?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".write.lock"))?;
    lock.lock()?;
    let (mut known1, mut known256) = stored_keys(store, name)?;
    let mut keep: Vec<u32> = Vec::new();
    let mut skipped = Vec::new();
    for i in 0..n {
        let k1 = sha1.value(i).to_ascii_lowercase();
        let k256 = if sha256.is_null(i) {
            String::new()
        } else {
            sha256.value(i).to_ascii_lowercase()
        };
        if known1.contains(&k1) || (!k256.is_empty() && known256.contains(&k256)) {
            skipped.push(i);
            continue;
        }
        known1.insert(k1);
        if !k256.is_empty() {
            known256.insert(k256);
        }
        keep.push(i as u32);
    }
    let report = ReferenceReport {
        written: keep.len() as u64,
        skipped,
    };
    if keep.is_empty() {
        return Ok(report);
    }
    let idx = UInt32Array::from(keep);
    let cols: Vec<ArrayRef> = full
        .columns()
        .iter()
        .map(|c| arrow::compute::take(c.as_ref(), &idx, None))
        .collect::<Result<_, _>>()?;
    let part = RecordBatch::try_new(arrow_schema.clone(), cols)?;
    store.write_part(&dir, &part)?;
    Ok(report)
}

/// The lower-cased SHA1 and SHA256 keys already stored in dataset `name`.
fn stored_keys(
    store: &EventStore,
    name: &str,
) -> Result<(HashSet<String>, HashSet<String>), StoreError> {
    let (mut k1, mut k256) = (HashSet::new(), HashSet::new());
    for f in reference_files(store, name)? {
        let file = std::fs::File::open(&f.path)?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
        let wanted: Vec<usize> = builder
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, fld)| fld.name() == "SHA1" || fld.name() == "SHA256")
            .map(|(i, _)| i)
            .collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
        for batch in builder.with_projection(mask).build()? {
            let batch = batch?;
            for (col, set) in [("SHA1", &mut k1), ("SHA256", &mut k256)] {
                if let Some(a) = batch.column_by_name(col) {
                    let a = a.as_string::<i32>();
                    for i in 0..a.len() {
                        if !a.is_null(i) && !a.value(i).is_empty() {
                            set.insert(a.value(i).to_ascii_lowercase());
                        }
                    }
                }
            }
        }
    }
    Ok((k1, k256))
}
